"""A child process that goes when its parent goes, even when the parent is killed without a chance to stop it.

`dev`'s server and a large run's compile workers are children that would otherwise outlive a
SIGKILL of scaffold: a server holding its port, a worker holding the project's lock. Linux ends
them through the parent-death signal; elsewhere this does nothing.
"""

from __future__ import annotations

import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent(signal_number: int = signal.SIGTERM) -> None:  # pragma: no cover - runs in the child
    """Ask the kernel to send `signal_number` to this (child) process when its parent dies."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal_number)
    except (OSError, AttributeError):
        pass
