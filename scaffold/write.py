"""Stage: check everything, then write all of it or none of it.

Every .py must compile and every .pyi parse, protoc's own output included:
protoc exits 0 on code that does not compile. Warnings count as errors so
that nothing written ever fails under `python -W error`. Files are written
to a staging directory on the same filesystem first and moved into place
with `os.replace`; a file whose bytes are unchanged is not touched, so its
mtime stays and reloaders stay calm.
"""

from __future__ import annotations

import ast
import os
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from scaffold.errors import Diagnostic, ScaffoldError


@dataclass(frozen=True)
class WriteReport:
    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]


def validate(files: Mapping[str, bytes], root: Path) -> None:
    """Raise with a located diagnostic for every path or module that must not be written."""
    problems = []
    for path, content in sorted(files.items()):
        pure = PurePosixPath(path)
        if pure.is_absolute() or ".." in pure.parts:
            problems.append(Diagnostic(path, "refusing to write outside the project"))
            continue
        if path.endswith((".py", ".pyi")):
            problem = _check_python(content, str(root / path), path.endswith(".pyi"))
            if problem:
                problems.append(problem)
    if problems:
        raise ScaffoldError(problems)


def _check_python(content: bytes, display: str, stub: bool) -> Diagnostic | None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            if stub:
                ast.parse(content, display)
            else:
                compile(content, display, "exec", dont_inherit=True)
        except SyntaxError as error:
            return Diagnostic(
                display, f"generated code does not compile: {error.msg}", error.lineno or 1, error.offset or 1
            )
        except Warning as warning:
            return Diagnostic(display, f"generated code warns when compiled: {warning}", 1, 1)
    return None


def write_tree(root: Path, files: Mapping[str, bytes]) -> WriteReport:
    """Write `files` under `root` all or nothing; unchanged files are left alone."""
    validate(files, root)
    created, updated, unchanged = [], [], []
    for path, content in sorted(files.items()):
        target = root / path
        if not target.exists():
            created.append(path)
        elif target.read_bytes() != content:
            updated.append(path)
        else:
            unchanged.append(path)
    changed = [*created, *updated]
    if not root.exists():
        _write_new_tree(root, {path: files[path] for path in changed})
    elif changed:
        _replace_files(root, {path: files[path] for path in changed})
    return WriteReport(tuple(created), tuple(updated), tuple(unchanged))


def _write_new_tree(root: Path, files: Mapping[str, bytes]) -> None:
    """A new directory appears complete or not at all: staged beside it, then renamed."""
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.scaffold-", dir=root.parent))
    try:
        staging.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would otherwise become the project's mode
        _stage(staging, files)
        os.rename(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _replace_files(root: Path, files: Mapping[str, bytes]) -> None:
    staging = Path(tempfile.mkdtemp(prefix=".scaffold-staging-", dir=root))
    try:
        _stage(staging, files)
        for path in files:
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / path, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _stage(staging: Path, files: Mapping[str, bytes]) -> None:
    for path, content in files.items():
        target = staging / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
