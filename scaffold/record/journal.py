"""The journal of a transaction, and the rollback of one a run left behind.

Before its first swap, a transaction (`scaffold.record.write`) writes a
journal under `.scaffold/txn/`: each path with the hash of what it will hold,
and the directories it creates. A failure rolls back from it at once; a run
that died half-way (no chance to restore) is rolled back by the next run
before it reads anything, but only where a file still holds what the dead
run wrote: an edit made since is kept. This is its own module because
reading a journal back, unlike writing one, must trust nothing it reads.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Collection, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from scaffold.core.errors import Diagnostic, ScaffoldError, fail
from scaffold.core.paths import problem as path_problem
from scaffold.core.text import lines as text_lines
from scaffold.layout import BACKUP_SUFFIX, JOURNAL, TXN_DIR
from scaffold.record.fileops import exists, read, sha256, write_atomically


def begin(root: Path, changes: Mapping[str, bytes | None], paths: Collection[str], dirs: list[str]) -> dict[str, Any]:
    """Write the journal of a transaction about to swap `paths` in, creating `dirs`; the journal.

    It appears whole or not at all, before the first swap: a journal that
    cannot be read names nothing that was swapped in.
    """
    journal: dict[str, Any] = {
        "paths": {path: {"existed": exists(root / path), "new": sha256(changes[path])} for path in paths},
        "dirs": dirs,
    }
    write_atomically(root / TXN_DIR / JOURNAL, json.dumps(journal).encode())
    return journal


Restored = list[tuple[str, bytes | None, bytes | None]]
"""What a rollback put back where it kept other files as the user changed them: (path, what the run had
written there, what is there again)."""


def recover(root: Path, restored: Restored | None = None) -> tuple[Diagnostic, ...]:
    """Roll back a transaction an earlier run left behind; what it did, as notes (none: there was none).
    With `restored`, it gets what the rollback put back beside a file it kept as the user changed it."""
    txn = root / TXN_DIR
    if not os.path.lexists(txn):  # the common case: nothing to roll back
        return ()
    if txn.is_symlink():
        raise fail(str(txn), "is a symbolic link; scaffold does not write through links")
    return (Diagnostic(str(root), "rolled back a run that was interrupted", severity="note"), *rollback(root, restored))


def rollback(root: Path, restored: Restored | None = None) -> list[Diagnostic]:
    """Put back every path of the journal that still holds what the transaction wrote.

    A file that holds anything else was changed after the transaction wrote
    it (the user went on editing after a killed run). Where the run kept what
    it wrote there (`WROTE`: the user's files), the user's edits are merged
    onto what the file held before the run, as if the run had never been; where
    that merge is not clean, or nothing was kept, the file is kept as it is,
    and reported. A journal that cannot be read was never completed (it is
    written atomically, before the first swap), so nothing was swapped in.

    Such a kept file may hold what the run wrote (a class it added) and read
    what the rollback takes out of the modules beside it: `restored` gets what
    was put back, for the caller to find those reads (`scaffold.generation.gone`).
    """
    txn = root / TXN_DIR
    notes = []
    failed = []
    put_back: Restored = []
    kept_any = False
    for path, entry in reversed(entries(txn).items()):  # the swaps' order undone: old homes back first
        target, backup = root / path, txn / "old" / path
        try:
            current = read(target) if exists(target) else None
            ours = sha256(current) == entry["new"]  # what this transaction wrote, or a delete that went through
            if exists(backup):
                if ours:
                    put_back.append((path, current, read(backup)))
                    os.replace(backup, target)
                elif (
                    current != (before := read(backup))
                    and not target.is_symlink()
                    and (merged := _edits_onto(before, current, txn / WROTE / path, entry["new"], path))
                ):
                    write_atomically(target, merged)  # the run taken back, what the user did since kept
                    os.chmod(target, os.stat(backup).st_mode)  # the file's own mode, as the old inode had it
                    message = "changed after the interrupted run; your edits kept, onto what it held before that run"
                    notes.append(Diagnostic(str(target), message, severity="note"))
                elif current != before:
                    kept_any = True
                    message = "changed after the interrupted run; kept as it is"
                    if before is not None and not _holds_every_line(current, before):
                        # the run had swapped in its version, which the user then edited: what the file held
                        # before the run (lines the run was moving elsewhere, say) is kept beside it
                        kept = _free_name(target)
                        os.replace(backup, kept)
                        message += f", and what it held before that run as {kept.name}"
                    notes.append(Diagnostic(str(target), message, severity="note"))
            elif not entry["existed"] and ours and current is not None:
                put_back.append((path, current, None))
                target.unlink()  # created by this transaction
        except OSError as error:
            failed.append(
                Diagnostic(str(target), f"could not be put back ({error.strerror}); the next run tries again")
            )
    if failed:  # the transaction stays, with its backups, for the next run
        raise ScaffoldError(failed)
    if restored is not None and kept_any:
        restored += put_back
    created = _created_dirs(txn)
    shutil.rmtree(txn, ignore_errors=True)
    remove_empty_dirs(root, created)
    return notes


WROTE = "wrote"
"""Under the transaction: a copy of what it writes to each of the user's files (`scaffold.record.write`)."""


def _edits_onto(before: bytes | None, current: bytes | None, wrote: Path, digest: str, path: str) -> bytes | None:
    """`before` with what the user changed in `current` since the run wrote `wrote` there; None where that
    cannot be told (no copy of it, or not that one) or does not merge cleanly, every line of the user's kept."""
    written = read(wrote) if exists(wrote) else None
    if before is None or current is None or written is None or sha256(written) != digest:
        return None
    from scaffold.generation.merge import merge  # the 3-way merge of the user's files, text only

    try:
        merged = merge(written, current, before, path.endswith(".py"))
    except UnicodeDecodeError:
        return None
    return merged.content if not merged.conflicts and not merged.kept else None


def _holds_every_line(current: bytes | None, before: bytes) -> bool:
    """Whether `current` still has every line of `before`, as many times (an edit appended to it, say)."""
    if current is None:
        return False
    have = Counter(text_lines(current.decode("utf-8", errors="replace")))
    return not Counter(text_lines(before.decode("utf-8", errors="replace"))) - have


def _free_name(target: Path) -> Path:
    """`NAME.mine`, or `NAME.mine.1`, ...: the first that is not taken (numbered as a run's backups are)."""
    candidate = target.with_name(target.name + BACKUP_SUFFIX)
    number = 1
    while os.path.lexists(candidate):
        candidate = target.with_name(f"{target.name}{BACKUP_SUFFIX}.{number}")
        number += 1
    return candidate


def missing_dirs(root: Path, paths: Collection[str]) -> list[str]:
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
        dirs = json.loads((txn / JOURNAL).read_bytes()).get("dirs", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [d for d in dirs if path_problem(d) is None] if isinstance(dirs, list) else []


def remove_empty_dirs(root: Path, dirs: Collection[str]) -> None:
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


def entries(txn: Path, name: str = JOURNAL) -> dict[str, dict[str, Any]]:
    """The paths a journal (or the undo record) in `txn` names, each as `existed` and `new`; none where it
    cannot be read."""
    try:
        paths = json.loads((txn / name).read_bytes())["paths"]
        return {p: {"existed": bool(e["existed"]), "new": e["new"]} for p, e in paths.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
