"""What scaffold's own child processes share: how many may run at once, and going with the parent.

A large run's protoc children (`scaffold.generation.sharding`) and compile workers
(`scaffold.record.validate`) count the cores this process may use, which in a container is its
share, not the host's count. `dev`'s server and the compile workers would otherwise outlive a
SIGKILL of scaffold, a server holding its port, a worker holding the project's lock: Linux ends
them through the parent-death signal; elsewhere that does nothing.
"""

from __future__ import annotations

import os
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent(signal_number: int = signal.SIGTERM) -> None:  # pragma: no cover - runs in the child
    """Ask the kernel to send `signal_number` to this (child) process when its parent dies."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal_number)
    except (OSError, AttributeError):
        pass


def usable_cores() -> int:
    """The cores this process may run on (its affinity where the platform says, else the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
