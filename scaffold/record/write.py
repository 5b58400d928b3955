"""Stage: check everything, then change all of it or none of it.

Every .py must compile and every .pyi parse, protoc's own output included:
protoc exits 0 on code that does not compile. Warnings count as errors so
that nothing written ever fails under `python -W error`.

Changes are a transaction under `.scaffold/txn/`: new contents are staged on
the same filesystem, a journal lists the paths with the hash of what each
will hold, and each target is kept as a backup (a hard link) before the
staged file is renamed over it. A failure restores every backup; a run that
died half-way (no chance to restore) is rolled back by the next run before
it reads anything, but only where a file still holds what the dead run wrote:
an edit made since is kept. Files whose bytes do not change are never
touched, so their mtimes stay and reloaders stay calm.
"""

from __future__ import annotations

import ast
import concurrent.futures
import errno
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Collection, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from scaffold.core import seams
from scaffold.core.errors import Diagnostic, ScaffoldError, fail
from scaffold.core.paths import problem as path_problem
from scaffold.core.progress import ProgressCallback
from scaffold.layout import BACKUP_SUFFIX, CONFIG_FILE, STATE_DIR, TXN_DIR
from scaffold.layout import JOURNAL as _JOURNAL


def validate(files: Mapping[str, bytes | None], root: Path, users_text: Collection[str] = ()) -> None:
    """Raise with a located diagnostic for every path or module that must not be written.

    `users_text` are paths whose content is the result of merging into the
    user's file: the user's code, possibly with conflict markers, not
    scaffold's output, so it is not compiled.
    """
    problems = []
    to_check: dict[tuple[bytes, bool], str] = {}  # each distinct content once: state copies repeat files
    for path, content in sorted(files.items()):
        why = path_problem(path)  # an alias (`a//b`) or a NUL byte is refused too, not only a way out
        if why is not None:
            problems.append(Diagnostic(repr(path), f"{why}; refusing to write it (nothing was written)"))
            continue
        if content is not None and path.endswith((".py", ".pyi")) and path not in users_text:
            to_check.setdefault((content, path.endswith(".pyi")), str(root / path))
    problems += [p for p in _check_all(to_check) if p is not None]
    if problems:
        raise ScaffoldError(problems)


_PARALLEL_FROM = 64  # below this many modules, starting worker processes costs more than it saves


def _check_all(modules: Mapping[tuple[bytes, bool], str]) -> list[Diagnostic | None]:
    """Compile every module; a large batch is spread over the machine's cores.

    Compiling is most of a large tree's validation time and is pure CPU, so
    forked workers (which inherit everything already imported) divide it.
    """
    jobs = [(content, display, stub) for (content, stub), display in modules.items()]
    workers = min(os.cpu_count() or 1, 8)
    if len(jobs) < _PARALLEL_FROM or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [_check_python(*job) for job in jobs]
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        return list(pool.map(_check_job, jobs, chunksize=max(1, len(jobs) // (workers * 4))))


def _check_job(job: tuple[bytes, str, bool]) -> Diagnostic | None:
    return _check_python(*job)


def _check_python(content: bytes, display: str, stub: bool) -> Diagnostic | None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            if stub:
                ast.parse(content, display)
            else:
                compile(content, display, "exec", dont_inherit=True)
        except SyntaxError as error:
            message = f"generated code does not compile: {error.msg}"
            return Diagnostic(display, message, error.lineno or 1, error.offset or 1)
        except Warning as warning:
            return Diagnostic(display, f"generated code warns when compiled: {warning}", 1, 1)
    return None


def create_tree(root: Path, files: Mapping[str, bytes], progress: ProgressCallback | None = None) -> None:
    """A new directory appears complete or not at all: staged beside it, then renamed."""
    validate(files, root)
    created = [parent for parent in root.absolute().parents if not parent.exists()]  # deepest first
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.scaffold-", dir=root.parent))
    try:
        staging.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would otherwise become the project's mode
        for done, (path, content) in enumerate(files.items(), 1):
            _write(staging / path, content)
            if progress:
                progress(done, len(files))
        os.rename(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for parent in created:  # the directories it made to hold the project, as they were: missing
            try:
                parent.rmdir()
            except OSError:
                break
        raise


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


def apply(
    root: Path,
    changes: Mapping[str, bytes | None],
    expected: Mapping[str, bytes | None] | None = None,
    users_text: Collection[str] = (),
    progress: ProgressCallback | None = None,
    undo: bool = False,
) -> None:
    """Write (bytes) or delete (None) every path in `changes`, all or nothing.

    `expected` is what the plan read at each path (None: no file). Every
    file is compared with it right before its swap; a difference means the
    user saved it meanwhile, and raises `Changed` with the tree as it was.
    With `undo`, the transaction's backups are kept as the record `undo_last`
    puts back (`scaffold gen --abort`). The caller holds the project's lock
    (`scaffold.record.lock`).
    """
    validate(changes, root, users_text)
    _refuse_links(root, [*changes, f"{TXN_DIR}/{_JOURNAL}", *([f"{UNDO_DIR}/{_UNDO_RECORD}"] if undo else [])])
    _refuse_non_files(root, changes)
    if not changes:
        return
    expected = expected if expected is not None else {}
    txn = root / TXN_DIR
    staged = txn / "new"
    # The project's files first, scaffold's record of them last.
    paths = sorted(changes, key=lambda path: (path.startswith(f"{STATE_DIR}/"), path))
    created = _missing_dirs(root, [f"{TXN_DIR}/{_JOURNAL}", *(path for path in paths if changes[path] is not None)])
    try:
        for path in paths:
            content = changes[path]
            if content is not None:
                _write(staged / path, content)
        journal: dict[str, Any] = {
            "paths": {path: {"existed": _exists(root / path), "new": _hash(changes[path])} for path in paths},
            "dirs": created,
        }
        _write_atomically(txn / _JOURNAL, json.dumps(journal).encode())
        for done, path in enumerate(paths, 1):
            seams.at(seams.BEFORE_SWAP, path)
            _commit_one(root, path, changes[path] is not None, expected.get(path, UNREAD))
            seams.at(seams.AFTER_SWAP, path)
            if progress:
                progress(done, len(paths))
    except BaseException:
        rollback(root)
        _remove_empty_dirs(root, created)  # also where the journal naming them was not written yet
        raise
    os.unlink(txn / _JOURNAL)  # the commit point: from here on, a run that finds the transaction only clears it
    if undo:
        _keep_for_undo(root, journal)
    else:
        shutil.rmtree(txn)
    for path in paths:
        if changes[path] is None:
            _prune_empty_dirs((root / path).parent, root)


UNDO_DIR = f"{STATE_DIR}/undo"
"""The last writing run's backups and what it wrote, for `scaffold gen --abort` (ignored by git)."""
_UNDO_RECORD = "undo.json"


def _keep_for_undo(root: Path, journal: dict[str, Any]) -> None:
    """Turn the committed transaction into the undo record, in place of the previous one.

    Its backups (`old/`) are what the run replaced, as hard links: keeping
    them costs a rename, not a copy. The record is not named like a journal
    until it stands at `UNDO_DIR`, so a run killed half-way through this
    leaves a transaction without one, which the next run only clears.
    """
    txn, undo = root / TXN_DIR, root / UNDO_DIR
    try:
        for leftover in ("new", "gone"):  # staged files, and what exchanges took out: copies of `old/`
            shutil.rmtree(txn / leftover, ignore_errors=True)
        _write(txn / _UNDO_RECORD, json.dumps(journal).encode())
        _write(txn / ".gitignore", b"*\n")
        shutil.rmtree(undo, ignore_errors=True)
        os.rename(txn, undo)
    except OSError:  # the run is committed; without its undo record, `--abort` only says there is none
        shutil.rmtree(txn, ignore_errors=True)


def undo_last(root: Path) -> list[str]:
    """Put back what the last writing run changed, all or nothing; the paths put back.

    Only where every file still holds what that run wrote: a file edited
    since holds work the undo would lose, so the undo stops and names each
    one (exit 1), changing nothing. The caller holds the project's lock.
    """
    undo = root / UNDO_DIR
    if undo.is_symlink():
        raise fail(str(undo), "is a symbolic link; scaffold does not write through links")
    record = _journal(undo, _UNDO_RECORD)
    if not record:
        message = "nothing to undo: no `scaffold gen` changed this project since it was made or last undone"
        raise fail(str(root), message)
    for path in record:  # a file on disk like any other: its paths are checked before they are used
        why = path_problem(path) or (
            "is inside scaffold's transaction" if path.startswith((f"{TXN_DIR}/", f"{UNDO_DIR}/")) else None
        )
        if why:
            raise fail(str(undo / _UNDO_RECORD), f"names {path!r}, which {why}; nothing was put back")
    current = {path: _read(root / path) if _exists(root / path) else None for path in record}
    edited = [path for path, entry in record.items() if _hash(current[path]) != entry["new"]]
    if edited:
        message = "changed since the last run; nothing was put back (undo your edits first, or keep this run)"
        raise ScaffoldError([Diagnostic(str(root / path), message) for path in sorted(edited)], exit_code=1)
    changes: dict[str, bytes | None] = {}
    for path, entry in record.items():
        old = _read(undo / "old" / path) if entry["existed"] else None
        if entry["existed"] and old is None:
            raise fail(str(undo / "old" / path), "is missing: the undo record is incomplete; nothing was put back")
        changes[path] = old
    try:
        apply(root, changes, current, users_text=set(changes))
    except Changed as changed:
        raise fail(
            str(root / changed.path), "changed while scaffold was putting it back; nothing was put back"
        ) from None
    shutil.rmtree(undo)
    return sorted(changes)


def _hash(content: bytes | None) -> str | None:
    return None if content is None else hashlib.sha256(content).hexdigest()


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _refuse_links(root: Path, paths: Collection[str]) -> None:
    """Refuse to write through a symbolic link inside the project.

    Following one would let a regeneration change files outside the project
    (or replace the link with a file the user did not expect), so any link
    on the way to a path scaffold writes (its own `.scaffold/txn/` included)
    is an error before anything changes.
    """
    links: set[Path] = set()
    for path in paths:
        current = root
        for part in PurePosixPath(path).parts:
            current = current / part
            if current.is_symlink():
                links.add(current)
                break
    if links:
        raise ScaffoldError(
            [
                Diagnostic(str(link), "is a symbolic link; scaffold does not write through links")
                for link in sorted(links)
            ]
        )


def _refuse_non_files(root: Path, paths: Collection[str]) -> None:
    """A directory where a file goes (or a file where a directory goes) is the user's: say so before writing."""
    problems = []
    directories: set[PurePosixPath] = set()  # each directory on the way is looked at once, not once per file
    for path in sorted(paths):
        target = root / path
        if target.is_dir():
            problems.append(
                Diagnostic(str(target), "is a directory; scaffold writes a file here (nothing was changed)")
            )
        for parent in PurePosixPath(path).parents:
            if parent == PurePosixPath(".") or parent in directories:
                continue
            directories.add(parent)
            if (root / parent).is_file():
                message = f"is a file; scaffold writes {path} below it (nothing was changed)"
                problems.append(Diagnostic(str(root / parent), message))
    if problems:
        raise ScaffoldError(sorted(set(problems), key=str))


def _commit_one(root: Path, path: str, write: bool, expected: object) -> None:
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
    if _exists(target):
        backup.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(target, backup, follow_symlinks=False)
        except OSError:
            shutil.copy2(target, backup, follow_symlinks=False)
        if expected is not UNREAD and _read(backup) != expected:
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
    elif _exists(target):
        gone = txn / "gone" / path
        gone.parent.mkdir(parents=True, exist_ok=True)
        os.rename(target, gone)  # moved, not unlinked: what it held at that instant can still be compared
        if expected is not UNREAD and _read(gone) != expected:
            _put_back(gone, target)
            raise Changed(path)
    if expected is not UNREAD and _exists(backup) and _read(backup) != expected:
        raise Changed(path)


def _check_displaced(displaced: Path, target: Path, expected: object, path: str) -> None:
    """After an exchange, `displaced` holds what `target` held at that instant: if that is not what the
    plan read (an editor's rename-save or an in-place save since the last comparison), it goes back."""
    if expected is not UNREAD and _read(displaced) != expected:
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
            if _exists(name):
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
    if _exists(target) and _exchange(source, target):
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


def recover(root: Path) -> tuple[Diagnostic, ...]:
    """Roll back a transaction an earlier run left behind; what it did, as notes (none: there was none)."""
    txn = root / TXN_DIR
    if not _exists(txn):
        return ()
    if txn.is_symlink():
        raise fail(str(txn), "is a symbolic link; scaffold does not write through links")
    return (Diagnostic(str(root), "rolled back a run that was interrupted", severity="note"), *rollback(root))


def rollback(root: Path) -> list[Diagnostic]:
    """Put back every path of the journal that still holds what the transaction wrote.

    A file that holds anything else was changed after the transaction wrote
    it (the user went on editing after a killed run): it is kept as it is,
    and reported. A journal that cannot be read was never completed (it is
    written atomically, before the first swap), so nothing was swapped in.
    """
    txn = root / TXN_DIR
    notes = []
    failed = []
    for path, entry in _journal(txn).items():
        target, backup = root / path, txn / "old" / path
        try:
            current = _read(target) if _exists(target) else None
            ours = _hash(current) == entry["new"]  # what this transaction wrote, or a delete that went through
            if _exists(backup):
                if ours:
                    os.replace(backup, target)
                elif current != _read(backup):
                    message = "changed after the interrupted run; kept as it is"
                    notes.append(Diagnostic(str(target), message, severity="note"))
            elif not entry["existed"] and ours and current is not None:
                target.unlink()  # created by this transaction
        except OSError as error:
            failed.append(
                Diagnostic(str(target), f"could not be put back ({error.strerror}); the next run tries again")
            )
    if failed:  # the transaction stays, with its backups, for the next run
        raise ScaffoldError(failed)
    created = _created_dirs(txn)
    shutil.rmtree(txn, ignore_errors=True)
    _remove_empty_dirs(root, created)
    return notes


def interrupted_new(root: Path) -> bool:
    """Whether a transaction left in `root` is a `scaffold new`'s: one that created the project's config
    (every other run reads the config before it writes, so it was there before)."""
    entry = _journal(root / TXN_DIR).get(CONFIG_FILE)
    return entry is not None and not entry["existed"]


def _missing_dirs(root: Path, paths: Collection[str]) -> list[str]:
    """The directories on the way to `paths` that do not exist yet: the ones a transaction writing them creates."""
    missing: list[str] = []
    seen: set[PurePosixPath] = set()
    for path in paths:
        for parent in PurePosixPath(path).parents:
            if parent == PurePosixPath(".") or parent in seen:
                break
            seen.add(parent)
            if not (root / parent).is_dir():
                missing.append(parent.as_posix())
    return sorted(missing)


def _created_dirs(txn: Path) -> list[str]:
    """The directories the journal in `txn` says its transaction created, each checked as any path read
    from disk (a crafted journal names no directory outside the project)."""
    try:
        dirs = json.loads((txn / _JOURNAL).read_bytes()).get("dirs", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [d for d in dirs if path_problem(d) is None] if isinstance(dirs, list) else []


def _remove_empty_dirs(root: Path, dirs: Collection[str]) -> None:
    """Remove each of `dirs` that is empty, deepest first: a rolled-back transaction leaves the tree's
    directories as it found them (a killed `scaffold new` leaves the output directory empty again, so a
    second `new` does not find it "not empty"). One that holds anything, a file saved since, stays."""
    for directory in sorted(dirs, key=lambda d: d.count("/"), reverse=True):
        target = root / directory
        if not target.is_symlink():
            try:
                target.rmdir()
            except OSError:
                pass


def _journal(txn: Path, name: str = _JOURNAL) -> dict[str, dict[str, Any]]:
    try:
        paths = json.loads((txn / name).read_bytes())["paths"]
        return {p: {"existed": bool(e["existed"]), "new": e["new"]} for p, e in paths.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def _write_atomically(path: Path, content: bytes) -> None:
    """`path` appears whole or not at all, and survives a power cut once this returns."""
    temporary = path.with_name(path.name + ".tmp")
    _write(temporary, content, sync=True)
    os.replace(temporary, path)


def _write(path: Path, content: bytes, sync: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:
        file.write(content)
        if sync:
            file.flush()
            os.fsync(file.fileno())


def _prune_empty_dirs(directory: Path, root: Path) -> None:
    while directory != root and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
