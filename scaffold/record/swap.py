"""The swap of one file into the project tree, and the check that nobody saved it meanwhile.

A transaction (`scaffold.record.write`) swaps its files in one by one; this
module is that one step: keep the old file as a backup (a hard link), compare
it with what the plan read, and put the staged file in its place with one
rename, or, where the system can, one exchange (`renameat2`), so that an
editor's save landing in between is caught and put back, never overwritten.
It is its own module because it is the one place that touches the system
call, and the one place tests inject failures (`_replace`, `_exchange`).
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from scaffold.core import seams
from scaffold.layout import BACKUP_SUFFIX, TXN_DIR
from scaffold.record.fileops import exists, read


class Changed(Exception):
    """A file was changed by someone else between the plan that read it and the swap that replaces it.

    Raised before the swap (or, when the change landed during the swap
    itself, after it, so that the rollback brings the change back); the
    caller plans again from what is on disk now.
    """

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


UNREAD = object()
"""`expected` for a path the plan did not read: not checked before its swap."""


def commit_one(root: Path, path: str, write: bool, expected: object) -> None:
    """Keep the old file as a backup, check it is what the plan read, then swap the new one in with one rename.

    The backup is a hard link (a copy where links are not supported), so the
    target never disappears, not even for a moment: a reader or a reloading
    server sees the old bytes or the new ones. Being the same inode as the
    file at the moment of the link, it is also what is compared with
    `expected`: a save that lands after that (an editor writing in place)
    lands in the backup too, and is caught by the second comparison, after
    the swap, which the rollback then undoes. A save that replaces the file
    (an editor's rename-save) after the first comparison is another inode:
    the swap is an exchange (`_replace`) and a removal a rename into the
    transaction, so what they take out of the tree is exactly what stood
    there at that instant, compared, and put back if the plan did not read it.
    """
    txn = root / TXN_DIR
    target, staged, backup = root / path, txn / "new" / path, txn / "old" / path
    if exists(target):
        backup.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(target, backup, follow_symlinks=False)
        except OSError:
            shutil.copy2(target, backup, follow_symlinks=False)
        if expected is not UNREAD and read(backup) != expected:
            raise Changed(path)
        if write:
            _keep_mode(backup, staged)
    elif expected is not UNREAD and expected is not None:
        raise Changed(path)  # deleted since the plan read it
    seams.at(seams.SWAPPING, path)
    if write:
        target.parent.mkdir(parents=True, exist_ok=True)
        if _replace(staged, target):
            _check_displaced(staged, target, expected, path)
    elif exists(target):
        gone = txn / "gone" / path
        gone.parent.mkdir(parents=True, exist_ok=True)
        os.rename(target, gone)  # moved, not unlinked: what it held at that instant can still be compared
        if expected is not UNREAD and read(gone) != expected:
            _put_back(gone, target)
            raise Changed(path)
    if expected is not UNREAD and exists(backup) and read(backup) != expected:
        raise Changed(path)


def _check_displaced(displaced: Path, target: Path, expected: object, path: str) -> None:
    """After an exchange, `displaced` holds what `target` held at that instant: if that is not what the
    plan read (an editor's rename-save or an in-place save since the last comparison), it goes back."""
    if expected is not UNREAD and read(displaced) != expected:
        if not _exchange(displaced, target):
            os.replace(displaced, target)
        raise Changed(path)


def _put_back(displaced: Path, target: Path) -> None:
    """`displaced` back at `target`; where something newer stands there already (never replaced), beside
    it as `NAME.mine`, `NAME.mine.1`, ..., as any copy of the user's that scaffold keeps."""
    beside = (target.with_name(f"{target.name}{BACKUP_SUFFIX}" + (f".{n}" if n else "")) for n in range(1000))
    for name in (target, *beside):
        try:
            os.link(displaced, name)
        except FileExistsError:
            continue
        except OSError:  # no hard links here: a rename, which replaces only in the instant after the look
            if exists(name):
                continue
            os.rename(displaced, name)
            return
        os.unlink(displaced)
        return


def _keep_mode(old: Path, new: Path) -> None:
    """The new content keeps the permissions the user gave the file (755 stays 755, 444 stays 444)."""
    mode = os.stat(old, follow_symlinks=False).st_mode
    if not os.path.islink(old):
        os.chmod(new, mode & 0o7777)


def _replace(source: Path, target: Path) -> bool:
    """The one primitive that swaps a file into the project tree (tests inject failures here).

    A plain rename replaces whatever is at `target` at that instant: an
    editor's rename-save landing after the last comparison would be replaced
    unseen. So where the system can, the two paths are exchanged in one step
    (True): `source` then holds what `target` held, which the caller compares
    and puts back if it is not what the plan read. Elsewhere (not Linux, or a
    filesystem that refuses the exchange) it is the plain rename (False):
    a save in place is still caught by the comparison after the swap, a
    rename-save in the instant between the comparison and the rename is not.
    """
    if exists(target) and _exchange(source, target):
        return True
    os.replace(source, target)
    return False


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100
_SYS_RENAMEAT2 = {"x86_64": 316, "aarch64": 276, "armv7l": 382, "ppc64le": 357, "s390x": 347, "riscv64": 276}
_renameat2: Any = None  # the C function once looked up; False: this system has none


def _exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths atomically (`renameat2(RENAME_EXCHANGE)`); False where that is not supported."""
    global _renameat2
    if _renameat2 is None:
        _renameat2 = _find_renameat2()
    if _renameat2 is False:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    import ctypes  # here, not at the top: only a run that writes pays for loading it

    error = ctypes.get_errno()
    if error in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOENT):
        return False  # this filesystem (or kernel) cannot exchange, or `second` is gone: the plain rename
    raise OSError(error, os.strerror(error), str(second))


def _find_renameat2() -> Any:
    """libc's `renameat2` (glibc 2.28+), else the raw system call on a known architecture, else False."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    if hasattr(libc, "renameat2"):
        function = libc.renameat2
        function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        return function
    number = _SYS_RENAMEAT2.get(os.uname().machine)
    if number is None or not hasattr(libc, "syscall"):
        return False
    syscall = libc.syscall
    syscall.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return lambda *arguments: syscall(number, *arguments)
