"""Stage: check everything, then change all of it or none of it.

Every .py must compile and every .pyi parse, protoc's own output included:
protoc exits 0 on code that does not compile. Warnings count as errors so
that nothing written ever fails under `python -W error`.

Changes are a transaction under `.scaffold/txn/`: new contents are staged on
the same filesystem, a journal lists the paths, and each target is kept as a
backup (a hard link) before the staged file is renamed over it. A failure
restores every backup; a run that died half-way (no chance to restore) is
rolled back by the next run before it reads anything. Files whose bytes do
not change are never touched, so their mtimes stay and reloaders stay calm.
"""

from __future__ import annotations

import ast
import concurrent.futures
import json
import multiprocessing
import os
import shutil
import tempfile
import warnings
from collections.abc import Collection, Mapping
from pathlib import Path, PurePosixPath

from scaffold.errors import Diagnostic, ScaffoldError
from scaffold.progress import ProgressCallback

TXN_DIR = ".scaffold/txn"
_JOURNAL = "journal.json"


def validate(files: Mapping[str, bytes | None], root: Path, users_text: Collection[str] = ()) -> None:
    """Raise with a located diagnostic for every path or module that must not be written.

    `users_text` are paths whose content is the result of merging into the
    user's file: the user's code, possibly with conflict markers, not
    scaffold's output, so it is not compiled.
    """
    problems = []
    to_check: dict[tuple[bytes, bool], str] = {}  # each distinct content once: state copies repeat files
    for path, content in sorted(files.items()):
        pure = PurePosixPath(path)
        if pure.is_absolute() or ".." in pure.parts:
            problems.append(Diagnostic(path, "refusing to write outside the project"))
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
        raise


def apply(
    root: Path,
    changes: Mapping[str, bytes | None],
    users_text: Collection[str] = (),
    progress: ProgressCallback | None = None,
) -> None:
    """Write (bytes) or delete (None) every path in `changes`, all or nothing."""
    validate(changes, root, users_text)
    _refuse_links(root, changes)
    recover(root)
    if not changes:
        return
    txn = root / TXN_DIR
    staged, backups = txn / "new", txn / "old"
    # The project's files first, scaffold's record of them last.
    paths = sorted(changes, key=lambda path: (path.startswith(".scaffold/"), path))
    try:
        for path in paths:
            content = changes[path]
            if content is not None:
                _write(staged / path, content)
        journal = {"paths": {path: (root / path).exists() or (root / path).is_symlink() for path in paths}}
        _write(txn / _JOURNAL, json.dumps(journal).encode(), sync=True)
        for done, path in enumerate(paths, 1):
            _commit_one(root / path, staged / path, backups / path, changes[path] is not None)
            if progress:
                progress(done, len(paths))
    except BaseException:
        rollback(root)
        raise
    shutil.rmtree(txn)
    for path in paths:
        if changes[path] is None:
            _prune_empty_dirs((root / path).parent, root)


def _refuse_links(root: Path, paths: Collection[str]) -> None:
    """Refuse to write through a symbolic link inside the project.

    Following one would let a regeneration change files outside the project
    (or replace the link with a file the user did not expect), so any link
    on the way to a path scaffold writes is an error before anything changes.
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


def _commit_one(target: Path, staged: Path, backup: Path, write: bool) -> None:
    """Keep the old file as a backup, then swap the new one in with one rename.

    The backup is a hard link (a copy where links are not supported), so the
    target never disappears, not even for a moment: a reader or a reloading
    server sees the old bytes or the new ones.
    """
    if target.exists() or target.is_symlink():
        backup.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(target, backup, follow_symlinks=False)
        except OSError:
            shutil.copy2(target, backup, follow_symlinks=False)
    if write:
        target.parent.mkdir(parents=True, exist_ok=True)
        _replace(staged, target)
    else:
        target.unlink()


def _replace(source: Path, target: Path) -> None:
    """The one primitive that changes the project tree (tests inject failures here)."""
    os.replace(source, target)


def recover(root: Path) -> bool:
    """Roll back a transaction an earlier run left behind; True if there was one."""
    txn = root / TXN_DIR
    if not txn.exists():
        return False
    if (txn / _JOURNAL).is_file():
        rollback(root)
    shutil.rmtree(txn, ignore_errors=True)
    return True


def rollback(root: Path) -> None:
    """Put every path of the journal back as it was before the transaction."""
    txn = root / TXN_DIR
    journal_path = txn / _JOURNAL
    if journal_path.is_file():
        existed: dict[str, bool] = json.loads(journal_path.read_text())["paths"]
        for path, was_there in existed.items():
            target, backup, staged = root / path, txn / "old" / path, txn / "new" / path
            if backup.exists() or backup.is_symlink():
                os.replace(backup, target)
            elif not was_there and target.exists() and not staged.exists():
                target.unlink()  # created by this transaction
    shutil.rmtree(txn, ignore_errors=True)


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
