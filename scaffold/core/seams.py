"""Named moments of a run where a test can make a fault happen.

A kill, an editor's save or a second run can land at any moment of a
regeneration; to test what each leaves behind, the moment must be hit every
time, not by chance. The write stage calls `at(moment, path)` at the moments
that matter (after planning, before each file is swapped in, between its last
comparison and its swap, and after it), and
so does the save of a sharded cache (after each shard, before its index); when
the environment variable `SCAFFOLD_SEAM` names a function (`module:function`,
importable from `sys.path`), it is called there with the same arguments and
may do anything: `os._exit`, write a file, start another `scaffold`. Unset (as
for every user), `at` costs a dictionary lookup.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable

ENVIRONMENT = "SCAFFOLD_SEAM"
PLANNED = "planned"
"""Everything is read and merged; nothing is written yet."""
BEFORE_SWAP = "before-swap"
SWAPPING = "swapping"
"""A file is compared with what the plan read, for the last time; its swap (or removal) is next."""
AFTER_SWAP = "after-swap"
STAGED = "staged"
"""A new project's tree is written beside its directory (`scaffold.record.write.create_tree`); its rename is next."""
SHARD_WRITTEN = "shard-written"
"""One of a cache's changed shards is written, the index that names it is not yet (see `scaffold.record.shards`)."""

_hook: Callable[[str, str], object] | None = None
_loaded_for: str | None = None


def at(moment: str, path: str = "") -> None:
    """Call the configured hook, if any, at `moment` (about `path`, relative to the project)."""
    global _hook, _loaded_for
    spec = os.environ.get(ENVIRONMENT)
    if not spec:
        return
    if spec != _loaded_for:
        module, _, name = spec.partition(":")
        _hook, _loaded_for = getattr(importlib.import_module(module), name), spec
    assert _hook is not None
    _hook(moment, path)
