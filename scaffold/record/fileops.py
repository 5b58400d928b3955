"""The file primitives the write stage's modules share.

The stage (`scaffold.record.write`), the swap of one file
(`scaffold.record.swap`) and the journal that rolls a run back
(`scaffold.record.journal`) all read a file that may be missing, ask whether
anything (a broken link included) is at a path, and write bytes, some of
them synced to disk: each of those is said once, here.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from scaffold.core.progress import ProgressCallback


def sha256(content: bytes | None) -> str | None:
    """The hash the journal records of what a path holds (None: no file)."""
    return None if content is None else hashlib.sha256(content).hexdigest()


def exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def write_atomically(path: Path, content: bytes) -> None:
    """`path` appears whole or not at all, and survives a power cut once this returns."""
    temporary = path.with_name(path.name + ".tmp")
    write(temporary, content, sync=True)
    os.replace(temporary, path)


def write(path: Path, content: bytes, sync: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:
        file.write(content)
        if sync:
            file.flush()
            os.fsync(file.fileno())


def write_new_tree(directory: Path, files: Mapping[str, bytes], progress: ProgressCallback | None) -> None:
    """Every file of `files` (relative `/`-separated paths) into `directory`, a new, empty one; `progress`
    is told how many are written. Each directory is made once: asking for a file's parents anew made
    googleapis' 45,000 files cost a `mkdir` each (and an exception each, for the ones there)."""
    made: set[str] = set()
    base = os.fspath(directory)
    for done, (path, content) in enumerate(files.items(), 1):
        full = os.path.join(base, path)
        parent = os.path.dirname(full)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        with open(full, "wb") as file:
            file.write(content)
        if progress:
            progress(done, len(files))
