"""`.scaffold/cache/`: what makes the next run fast, never what makes it right.

Everything here can be deleted at any time (the next run is slower, not
different), so writing is atomic and quiet: a cache that cannot be written
only costs time. The directory ignores itself in git, like `__pycache__`.

Every file below `.scaffold/` that is not part of a transaction (the memo,
protoc's record and their shards, the hashes, the no-op stamp, the compiled
revision of `breaking`, the lock) is written here, and this module never
follows a link below the project: each directory on the way is opened
without following one (`O_NOFOLLOW`, then relative to the opened directory),
so a link swapped in between two steps is not followed either. An entry
behind a link is treated as missing: not read, not written. The lock refuses
a link at `.scaffold/` or `.scaffold/cache/` itself (`scaffold.record.lock`), as the
write stage refuses one on the way to any file it writes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time

from scaffold.layout import CACHE_DIR

_IGNORE = "# scaffold's cache: safe to delete, never worth committing\n*\n"
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def directory(root: str | os.PathLike[str]) -> str:
    """The cache directory of the project at `root`, made (with its .gitignore) if missing; OSError if it cannot
    be, or if a link is on the way. A file where it goes is a cache gone wrong: it is replaced."""
    try:
        descriptor = _open(root, CACHE_DIR, create=True)
    except NotADirectoryError:
        _remove_if_file(os.path.join(root, CACHE_DIR))
        descriptor = _open(root, CACHE_DIR, create=True)
    try:
        created = os.open(".gitignore", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=descriptor)
    except FileExistsError:
        pass
    else:
        with os.fdopen(created, "w", encoding="utf-8") as file:
            file.write(_IGNORE)
    finally:
        os.close(descriptor)
    return os.path.join(root, CACHE_DIR)


def unmade(root: str | os.PathLike[str], lock: str) -> None:
    """Take away the file `lock` in the cache directory, and the cache directory and `.scaffold/` where
    that leaves them as `directory` made them (the cache holding its .gitignore as written, nothing
    more); OSError where anything more is there. Each directory is opened without following a link, so
    nothing is taken away outside the project."""
    state = _open(root, os.path.dirname(CACHE_DIR), create=False)
    try:
        made = os.open(os.path.basename(CACHE_DIR), _DIRECTORY, dir_fd=state)
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock, dir_fd=made)
            if os.listdir(made) != [".gitignore"]:
                raise OSError(errno.ENOTEMPTY, "holds more than scaffold made", CACHE_DIR)
            with open(os.open(".gitignore", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=made)) as file:
                if file.read() != _IGNORE:
                    raise OSError(errno.ENOTEMPTY, "holds a .gitignore of someone else's", CACHE_DIR)
            os.unlink(".gitignore", dir_fd=made)
        finally:
            os.close(made)
        os.rmdir(os.path.basename(CACHE_DIR), dir_fd=state)
    finally:
        os.close(state)
    os.rmdir(os.path.join(root, os.path.dirname(CACHE_DIR)))  # a link put there instead is not removed


def write(root: str | os.PathLike[str], name: str, content: bytes) -> None:
    """Replace `name` in the cache of the project at `root` with `content`, all at once or not at all."""
    try:
        directory(root)
        folder, leaf = os.path.split(f"{CACHE_DIR}/{name}")
        descriptor = _open(root, folder, create=True)
        try:
            staged = f".{leaf}.{os.urandom(6).hex()}.tmp"
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            with os.fdopen(os.open(staged, flags, 0o644, dir_fd=descriptor), "wb") as file:
                file.write(content)
            try:
                os.replace(staged, leaf, src_dir_fd=descriptor, dst_dir_fd=descriptor)
            except OSError:
                os.unlink(staged, dir_fd=descriptor)
                raise
        finally:
            os.close(descriptor)
    except OSError:
        pass


def read(root: str | os.PathLike[str], name: str, limit: int = -1) -> bytes | None:
    """The bytes of `name` in the cache (its first `limit` bytes, if given); None where it is missing,
    unreadable or behind a link."""
    folder, leaf = os.path.split(f"{CACHE_DIR}/{name}")
    try:
        descriptor = _open(root, folder, create=False)
        try:
            with os.fdopen(os.open(leaf, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=descriptor), "rb") as file:
                return file.read(limit)
        finally:
            os.close(descriptor)
    except OSError:
        return None


def names(root: str | os.PathLike[str], folder: str) -> list[str]:
    """The names in the cache's `folder`; none where it is missing, unreadable or behind a link."""
    try:
        descriptor = _open(root, f"{CACHE_DIR}/{folder}", create=False)
        try:
            return os.listdir(descriptor)
        finally:
            os.close(descriptor)
    except OSError:
        return []


def remove(root: str | os.PathLike[str], name: str) -> None:
    """Remove `name` from the cache, if it is there (what an older version kept under another name)."""
    folder, leaf = os.path.split(f"{CACHE_DIR}/{name}")
    try:
        descriptor = _open(root, folder, create=False)
        try:
            os.unlink(leaf, dir_fd=descriptor)
        finally:
            os.close(descriptor)
    except OSError:
        pass


STALE_SECONDS = 600
"""How old a temporary of `write` must be before `sweep` takes it away: a write takes milliseconds, so one
this old is a killed run's, never one a live run is writing."""

_HEX = frozenset("0123456789abcdef")


def sweep(root: str | os.PathLike[str]) -> None:
    """Take away the temporaries that writes killed half-way left in the cache and its folders (a kill
    between a staged file's write and its rename: each run would otherwise leave up to a shard's size
    behind, for ever). Only names `write` stages under, older than `STALE_SECONDS`; never through a link."""
    with contextlib.suppress(OSError):
        descriptor = _open(root, CACHE_DIR, create=False)
        try:
            _sweep(descriptor, time.time() - STALE_SECONDS, folders=True)
        finally:
            os.close(descriptor)


def _sweep(descriptor: int, before: float, folders: bool) -> None:
    with os.scandir(descriptor) as entries:
        listed = list(entries)
    for entry in listed:
        with contextlib.suppress(OSError):
            if folders and entry.is_dir(follow_symlinks=False):
                inner = os.open(entry.name, _DIRECTORY, dir_fd=descriptor)
                try:
                    _sweep(inner, before, folders=False)
                finally:
                    os.close(inner)
            elif _staged_name(entry.name) and entry.is_file(follow_symlinks=False) and _older(entry, before):
                os.unlink(entry.name, dir_fd=descriptor)


def _older(entry: os.DirEntry[str], before: float) -> bool:
    return entry.stat(follow_symlinks=False).st_mtime < before


def _staged_name(name: str) -> bool:
    """Whether `name` is one `write` stages a file under: `.LEAF.` and 12 hex digits, then `.tmp`."""
    return (
        len(name) > 18 and name[0] == "." and name.endswith(".tmp") and name[-17] == "." and _HEX >= set(name[-16:-4])
    )


def _open(root: str | os.PathLike[str], relative: str, create: bool) -> int:
    """A descriptor of the directory `root/relative`, each component below `root` opened without following a
    link (made first, with `create`); OSError where one is a link, a file, or missing."""
    descriptor = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in relative.split("/"):
            if create:
                try:
                    os.mkdir(part, 0o777, dir_fd=descriptor)
                except FileExistsError:
                    pass
            inner = os.open(part, _DIRECTORY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = inner
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _remove_if_file(path: str) -> None:
    """Remove a regular file where the cache directory goes (never a link, nor anything else)."""
    try:
        if stat.S_ISREG(os.lstat(path).st_mode):
            os.unlink(path)
    except OSError:
        pass
