"""Fewer garbage collections while a run holds its tree in memory.

A run on googleapis makes millions of small objects (the protoc record, the
memo, the model, the plan) and keeps nearly all of them to its end. Python's
collector, which looks at the youngest objects after every 700 allocations and
at all of them every hundred such looks, walked that heap again and again:
0.45 s of a 3.5 s leaf change, and it found almost nothing to free (the run's
peak memory was the same with the collector off). While a run lasts, the
youngest generation is collected after 100,000 allocations instead (mypy
raises the same threshold for the same reason); reference counting frees
everything else as it goes, and the thresholds are restored after the run.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNGEST = 100_000
"""Allocations (less deallocations) between two collections of the youngest generation during a run."""


_lock = threading.Lock()
_running = 0
_before = (0, 0, 0)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """The youngest generation collected less often while any run lasts (runs in several threads share one
    change: the first sets it, the last one to end puts the process's own thresholds back)."""
    global _running, _before
    with _lock:
        if not _running:
            _before = gc.get_threshold()
            if _before[0]:  # 0 turns automatic collection off: a process that chose that keeps it
                gc.set_threshold(max(YOUNGEST, _before[0]), *_before[1:])
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if not _running:
                gc.set_threshold(*_before)
