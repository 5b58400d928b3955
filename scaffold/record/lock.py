"""One writer per project at a time.

Two runs that overlap (a `gen` in a terminal while `watch` regenerates, or a
pre-commit hook) would each plan from what the other is about to replace,
and the second would take the first one's half-done transaction for a dead
run's and roll it back. So every run that reads a project to write it holds
an exclusive `flock` on `.scaffold/cache/lock` from before it reads until
after it writes. The kernel drops the lock when the process dies, however it
dies, so a killed run never leaves the project locked. A second run waits for
the first to end (a regeneration takes seconds) and gives up with a clear
message after `WAIT_SECONDS`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scaffold.core.errors import fail
from scaffold.layout import CACHE_DIR, LOCK_FILE, STATE_DIR
from scaffold.record import cache

WAIT_SECONDS = 60.0
_POLL_SECONDS = 0.05
_MADE_AGAIN = 3
"""Times the lock's directories are made again when they go as they are made: a holder takes them away
once (`released`), while a file where `.scaffold/` goes would fail every time."""


@contextmanager
def held(root: Path, wait_seconds: float = WAIT_SECONDS, required: bool = True) -> Iterator[None]:
    """Hold the project's lock for the duration of the block.

    A run that only reads (`check`, `diff`) takes it too, so that it never
    judges a tree half-written by another run; where it cannot be taken at
    all (a read-only checkout), such a run goes on without it.
    """
    path = root / LOCK_FILE
    refuse_links(root)
    deadline = time.monotonic() + wait_seconds
    taken_away = 0  # times the directories went as this run made them
    while True:
        try:
            cache.directory(root)
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as error:
            if error.errno in (errno.ENOENT, errno.ENOTDIR) and taken_away < _MADE_AGAIN:
                taken_away += 1  # the holder took them away (`released`), once: made again, not spun on
                time.sleep(_POLL_SECONDS)
                continue
            if not required:
                yield
                return
            raise fail(str(path), f"cannot take the project's lock: {error.strerror}") from None
        try:
            _acquire(descriptor, path, root, deadline)
        except BaseException:
            os.close(descriptor)
            raise
        if _still_named(descriptor, path):
            break
        os.close(descriptor)  # a `new` that failed took the file away (`released`): the lock is the new file's
    try:
        yield
    finally:
        os.close(descriptor)  # releases the lock


@contextmanager
def if_abandoned(root: Path) -> Iterator[bool]:
    """Whether `root` holds a lock file that no run holds (its run died: the kernel let the lock go),
    holding it meanwhile so that no other run judges the same; False without one. For the trees a
    killed `new` staged (`scaffold.record.write.sweep_staged`)."""
    try:
        descriptor = os.open(root / LOCK_FILE, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False  # its run is alive
        else:
            yield True
    finally:
        os.close(descriptor)


def released(root: Path) -> None:
    """Take away the lock file and the directories `held` makes for it, where a `new` into a directory
    that holds no project fails (or finds a killed one's files) and leaves the directory as it was.
    Called while the lock is held: a run waiting for it finds the file gone once it has it
    (`_still_named`), and takes the lock afresh."""
    with contextlib.suppress(OSError):  # a directory that holds more than the run made is left, and what is above it
        cache.unmade(root, os.path.basename(LOCK_FILE))


def _still_named(descriptor: int, path: Path) -> bool:
    """Whether `path` still names the file `descriptor` locked."""
    try:
        named = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    locked = os.fstat(descriptor)
    return (named.st_dev, named.st_ino) == (locked.st_dev, locked.st_ino)


def refuse_links(root: Path) -> None:
    """Refuse a link at `.scaffold/`, `.scaffold/cache/` or the lock: scaffold's record and the lock that
    guards it are not written through one (a link below the cache is only a cache lost: `scaffold.record.cache`)."""
    for part in (root / STATE_DIR, root / CACHE_DIR, root / LOCK_FILE):
        if part.is_symlink():
            raise fail(str(part), "is a symbolic link; scaffold does not write through links")


def _acquire(descriptor: int, path: Path, root: Path, deadline: float) -> None:
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                raise fail(str(path), f"cannot take the lock: {error.strerror}") from None
        if time.monotonic() >= deadline:
            message = f"another scaffold run{_holder(descriptor)} is writing this project; try again when it has ended"
            raise fail(str(root), message)
        time.sleep(_POLL_SECONDS)
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)


def _holder(descriptor: int) -> str:
    try:
        pid = os.pread(descriptor, 32, 0).decode().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""
