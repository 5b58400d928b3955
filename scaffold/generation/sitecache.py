"""Answers about the installed distributions, kept in the user's cache between runs.

Which distribution ships a `.proto` (`scaffold.generation.providers`) is read from the file list of every
installed distribution. Importing `importlib.metadata` and scanning took each run that compiles a
`google/...` proto about 27 ms, as much as all of its planning on a tree of 70 protos (issue 30). An
answer is kept under a digest of everything such a scan can read: every entry of the import path and,
in each, every distribution's metadata directory with the status (times, size, inode) of each file in
it (and the status of an entry that is a file: a zip, an egg). Installing, upgrading or removing a
distribution adds, removes or replaces those, so it is a new digest, and the
question is asked of `importlib.metadata` again. An answer found while something was installed is not
kept. A cache that cannot be read or written costs time only.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
from collections.abc import Callable
from typing import TypeVar, cast

from scaffold import __version__, user_cache

_FORMAT = 1
_METADATA = (".dist-info", ".egg-info", "EGG-INFO")
"""How `importlib.metadata` finds a distribution in an import path entry (an egg holds `EGG-INFO`)."""

Answer = TypeVar("Answer")


def remembered(question: str, answer: Callable[[], Answer], valid: Callable[[object], bool]) -> Answer:
    """`answer()`, or what it gave last time in this environment; `valid` tells a kept answer of the
    expected shape (a cache file is the user's to delete or damage)."""
    environment = _environment()
    path = os.path.join(user_cache("installed"), f"{environment}.marshal")
    known = _load(path)
    if question in known and valid(known[question]):
        return cast(Answer, known[question])  # of the shape `valid` checked
    found = answer()
    if _environment() == environment:  # nothing was installed while it was asked
        _store(path, {**known, question: found})
    return found


def _environment() -> str:
    digest = hashlib.sha256(f"{_FORMAT}\0{__version__}\0{sys.prefix}\0{sys.version}".encode())
    for entry in sys.path:
        where = entry or "."  # a directory by what it holds (the working directory's own times change often)
        digest.update(f"\0{entry}\0{None if os.path.isdir(where) else _status(where)}".encode())
        for name in _names(where):
            if name.endswith(_METADATA):
                metadata = os.path.join(where, name)
                digest.update(f"\0{name}\0{_status(metadata)}".encode())
                for file in _names(metadata):
                    digest.update(f"\0{file}\0{_status(os.path.join(metadata, file))}".encode())
    return digest.hexdigest()


def _names(directory: str) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except OSError:  # not a directory (a zip, an `.egg-info` file), or gone: its own status covers it
        return []


def _status(path: str) -> tuple[int, int, int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_mtime_ns, found.st_ctime_ns, found.st_size, found.st_ino)


def _load(path: str) -> dict[str, object]:
    try:
        with open(path, "rb") as file:
            known = marshal.load(file)
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    return known if isinstance(known, dict) else {}


def _store(path: str, known: dict[str, object]) -> None:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        staged = f"{path}.{os.getpid()}.tmp"
        with open(staged, "wb") as file:
            marshal.dump(known, file)
        os.replace(staged, path)
    except (OSError, ValueError):  # ValueError: a value marshal cannot write, which no caller passes
        pass
