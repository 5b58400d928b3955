"""Stage: check everything, then change all of it or none of it.

Changes are a transaction under `.scaffold/txn/`: nothing is written unless
all of it may be (`scaffold.record.validate`); new contents are staged on
the same filesystem, a journal lists the paths with the hash of what each
will hold (`scaffold.record.journal`, which also rolls back a run that died
half-way), and each target is kept as a backup before the staged file is
swapped in (`scaffold.record.swap`). A failure restores every backup. Files
whose bytes do not change are never touched, so their mtimes stay and
reloaders stay calm. This module runs the transaction from start to commit,
creates a new project's tree, and keeps the last run's backups so that
`scaffold gen --abort` can put them back.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from scaffold.core import seams
from scaffold.core.errors import Diagnostic, ScaffoldError, fail
from scaffold.core.paths import problem as path_problem
from scaffold.core.progress import ProgressCallback
from scaffold.layout import CACHE_DIR, JOURNAL, STATE_DIR, TXN_DIR
from scaffold.record import cache, journal, lock
from scaffold.record.fileops import exists, read, sha256, write, write_new_tree
from scaffold.record.swap import UNREAD, Changed, commit_one
from scaffold.record.validate import checking, refuse_links, refuse_non_files


def _nothing() -> None:
    pass


def create_tree(
    root: Path,
    files: Mapping[str, bytes],
    progress: ProgressCallback | None = None,
    settle: Callable[[], None] = _nothing,
) -> None:
    """A new directory appears complete or not at all: staged beside it, then renamed.

    The staged tree holds the project's lock from before its first file, and the lock goes with it
    through the rename: a run that finds the project the moment it appears waits while `settle` writes
    what follows it (the caches, the stamp). A tree a killed run left beside the directory is known by
    its name, its mark and its lock being free, and taken away by the next `new` of the same directory
    (`sweep_staged`).
    """
    with checking(files, root) as checked:
        made: list[Path] = []  # the directories made to hold it, outermost first
        staging = None
        try:
            _make_parents(root.absolute().parent, made)
            sweep_staged(root)
            try:
                staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(root), dir=root.parent))
            except OSError as error:  # said of the directory asked for, not of a name the user never gave
                raise OSError(error.errno, error.strerror, str(root)) from None
            staging.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would otherwise become the project's mode
            with lock.held(staging):
                cache.write(staging, _STAGED_MARK, b"")  # once the lock is held: a run alive before is not swept
                write_new_tree(staging, files, progress)
                checked()
                seams.at(seams.STAGED)
                _rename_into_place(staging, root)
                cache.remove(root, _STAGED_MARK)  # a kill before this leaves it in the project's cache: harmless
                settle()
        except BaseException:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            for parent in reversed(made):  # the directories it made to hold the project, as they were: missing
                try:
                    parent.rmdir()
                except OSError:
                    break
            raise


def _make_parents(directory: Path, made: list[Path]) -> None:
    """Make `directory` and the directories above it that are missing, each added to `made` once made (a
    failure half-way leaves `made` naming exactly those)."""
    missing = []
    while not directory.exists() and directory != directory.parent:
        missing.append(directory)
        directory = directory.parent
    for each in reversed(missing):
        try:
            each.mkdir()
        except FileExistsError:
            if each.is_dir():  # made meanwhile by another run: theirs, not taken away
                continue
            raise
        made.append(each)


_STAGED_MARK = "staged"
"""A cache file of a tree being staged for a new project, made once its lock is held."""


def sweep_staged(root: Path) -> None:
    """Take away the trees that `new`s of `root` killed before their rename left beside it: each one named
    as `create_tree` names them, marked as one, whose lock no run holds. A directory of the user's is not
    one of them (whatever its name, it holds no mark), nor is a tree whose run is alive (it holds the lock
    before it makes the mark). One killed before its mark (a moment after its directory was made) is left."""
    staged_name = re.compile(re.escape(_staging_prefix(root)) + r"[a-z0-9_]{8}")  # mkdtemp's suffix
    with contextlib.suppress(OSError):
        for entry in os.scandir(root.parent):
            if not staged_name.fullmatch(entry.name) or not entry.is_dir(follow_symlinks=False):
                continue
            staged = Path(entry.path)
            with lock.if_abandoned(staged) as abandoned:
                if abandoned and _is_file(staged / CACHE_DIR / _STAGED_MARK):
                    shutil.rmtree(staged, ignore_errors=True)


def _is_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _staging_prefix(root: Path) -> str:
    """`.NAME.scaffold-`, which mkdtemp ends with 8 characters; a digest of NAME where that would not fit
    in a file name (255 bytes): a directory's own name may be long enough to take them all."""
    name = root.name if len(os.fsencode(root.name)) <= _NAME_MAX - 32 else _digest(root.name)
    return f".{name}.scaffold-"


_NAME_MAX = 255


def _digest(name: str) -> str:
    return hashlib.sha256(os.fsencode(name)).hexdigest()[:16]


def _rename_into_place(staging: Path, root: Path) -> None:
    """The staged project becomes `root`; refused, located at `root`, where a second run (or the user)
    made it meanwhile: the rename replaces no directory that holds anything."""
    try:
        os.rename(staging, root)
    except OSError as error:
        if error.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
            raise fail(
                str(root), "was made by another run (or by hand) while this one wrote; nothing was written"
            ) from None
        raise


def apply(
    root: Path,
    changes: Mapping[str, bytes | None],
    expected: Mapping[str, bytes | None] | None = None,
    users_text: Collection[str] = (),
    progress: ProgressCallback | None = None,
    undo: bool = False,
    users: Collection[str] = (),
    first: Collection[str] = (),
    order: Sequence[str] = (),
) -> None:
    """Write (bytes) or delete (None) every path in `changes`, all or nothing.

    `expected` is what the plan read at each path (None: no file). Every
    file is compared with it right before its swap; a difference means the
    user saved it meanwhile, and raises `Changed` with the tree as it was.
    With `undo`, the transaction's backups are kept as the record `undo_last`
    puts back (`scaffold gen --abort`). What it writes to `users` (the user's
    files) is also kept until it commits: a rollback merges an edit made
    after the swap onto the old file (`journal.rollback`). The caller holds
    the project's lock (`scaffold.record.lock`). The paths the user's code moves into (`first`) are swapped
    in with the new files, before the ones it leaves (`swap_order`); `order`, every path of `changes`,
    overrides that (`undo_last` takes a run back in its own swaps' order undone).
    """
    with checking(changes, root, users_text) as checked:
        users = frozenset(users)
        refuse_links(root, [*changes, f"{TXN_DIR}/{JOURNAL}", *([f"{UNDO_DIR}/{_UNDO_RECORD}"] if undo else [])])
        refuse_non_files(root, changes)
        if not changes:
            return
        expected = expected if expected is not None else {}
        txn = root / TXN_DIR
        staged = txn / "new"
        paths = list(order) if order else swap_order(root, changes, expected, first)
        assert sorted(paths) == sorted(changes), "an order names every path it swaps, once"
        created = journal.missing_dirs(
            root, [f"{TXN_DIR}/{JOURNAL}", *(path for path in paths if changes[path] is not None)]
        )
        try:
            for path in paths:
                content = changes[path]
                if content is not None:
                    write(staged / path, content)
                    if path in users:
                        write(txn / journal.WROTE / path, content)
            checked()
            begun = journal.begin(root, changes, paths, created)
            for done, path in enumerate(paths, 1):
                seams.at(seams.BEFORE_SWAP, path)
                commit_one(root, path, changes[path] is not None, expected.get(path, UNREAD))
                seams.at(seams.AFTER_SWAP, path)
                if progress:
                    progress(done, len(paths))
        except BaseException:
            journal.rollback(root)
            journal.remove_empty_dirs(root, created)  # also where the journal naming them was not written yet
            raise
    os.unlink(txn / JOURNAL)  # the commit point: from here on, a run that finds the transaction only clears it
    if undo:
        _keep_for_undo(root, begun)
    else:
        shutil.rmtree(txn)
    for path in paths:
        if changes[path] is None:
            _prune_empty_dirs((root / path).parent, root)


def swap_order(
    root: Path, changes: Mapping[str, bytes | None], expected: Mapping[str, object], first: Collection[str] = ()
) -> list[str]:
    """The order a transaction swaps `changes` in: whatever moment a kill lands, the lines a run moves
    (a layout switch, a `root_package` move, a module rendered where another leaves) are in a file of the
    project, not only in the journal under `.scaffold/` (a rollback goes the other way round).

    So the new files and the paths the user's code moves into (`first`) come first, then the files
    rewritten, then the ones removed, each group in path order; scaffold's record of them comes last.
    A path is new where the plan read no file there (`expected`); one it did not read is looked at.
    (A file where a directory is to be, or the reverse, never gets here: `validate.refuse_non_files`.)
    """
    state, first = f"{STATE_DIR}/", frozenset(first)

    def rank(path: str) -> tuple[bool, int, str]:
        if changes[path] is None:
            group = 2
        elif path in first:
            group = 0
        else:
            read = expected.get(path, UNREAD)
            group = int(os.path.lexists(root / path) if read is UNREAD else read is not None)
        return path.startswith(state), group, path

    return sorted(changes, key=rank)


UNDO_DIR = f"{STATE_DIR}/undo"
"""The last writing run's backups and what it wrote, for `scaffold gen --abort` (ignored by git)."""
_UNDO_RECORD = "undo.json"


def _keep_for_undo(root: Path, begun: dict[str, Any]) -> None:
    """Turn the committed transaction into the undo record, in place of the previous one.

    Its backups (`old/`) are what the run replaced, as hard links: keeping
    them costs a rename, not a copy. The record is not named like a journal
    until it stands at `UNDO_DIR`, so a run killed half-way through this
    leaves a transaction without one, which the next run only clears.
    """
    txn, undo = root / TXN_DIR, root / UNDO_DIR
    try:
        for leftover in ("new", "gone", journal.WROTE):  # staged, taken out by exchanges, kept to merge onto
            shutil.rmtree(txn / leftover, ignore_errors=True)
        write(txn / _UNDO_RECORD, json.dumps(begun).encode())
        write(txn / ".gitignore", b"*\n")
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
    record = journal.entries(undo, _UNDO_RECORD)
    if not record:
        message = "nothing to undo: no `scaffold gen` changed this project since it was made or last undone"
        raise fail(str(root), message)
    for path in record:  # a file on disk like any other: its paths are checked before they are used
        why = path_problem(path) or (
            "is inside scaffold's transaction" if path.startswith((f"{TXN_DIR}/", f"{UNDO_DIR}/")) else None
        )
        if why:
            raise fail(str(undo / _UNDO_RECORD), f"names {path!r}, which {why}; nothing was put back")
    current = {path: read(root / path) if exists(root / path) else None for path in record}
    edited = [path for path, entry in record.items() if sha256(current[path]) != entry["new"]]
    if edited:
        message = "changed since the last run; nothing was put back (undo your edits first, or keep this run)"
        raise ScaffoldError([Diagnostic(str(root / path), message) for path in sorted(edited)], exit_code=1)
    changes: dict[str, bytes | None] = {}
    for path, entry in record.items():
        old = read(undo / "old" / path) if entry["existed"] else None
        if entry["existed"] and old is None:
            raise fail(str(undo / "old" / path), "is missing: the undo record is incomplete; nothing was put back")
        changes[path] = old
    try:
        apply(root, changes, current, users_text=set(changes), order=_undoing(list(record)))
    except Changed as changed:
        raise fail(
            str(root / changed.path), "changed while scaffold was putting it back; nothing was put back"
        ) from None
    shutil.rmtree(undo)
    return sorted(changes)


def _undoing(swapped: list[str]) -> list[str]:
    """The order that takes back a run which swapped its paths in as `swapped` lists them: its project files
    backwards, so each moment of the undo is one the run went through (the lines it moved were in a file of
    the project at each), then scaffold's record."""
    state = f"{STATE_DIR}/"
    return [p for p in reversed(swapped) if not p.startswith(state)] + [p for p in swapped if p.startswith(state)]


def _prune_empty_dirs(directory: Path, root: Path) -> None:
    while directory != root and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
