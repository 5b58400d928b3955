"""Answers about the installed distributions, kept in the user's cache between runs.

Which distribution ships a `.proto` (`scaffold.generation.providers`) is read from the file list of every
installed distribution. Importing `importlib.metadata` and scanning took each run that compiles a
`google/...` proto about 27 ms, as much as all of its planning on a tree of 70 protos (issue 30). An
answer is kept with a digest of everything such a scan can read: every entry of the import path and,
in each, every distribution's metadata directory with the status (times, size, inode) of each file in
it (and the status of an entry that is a file: a zip, an egg), and the code that asks. Installing,
upgrading or removing a distribution adds, removes or replaces those, so the digest differs and the
question is asked of `importlib.metadata` again. One file per interpreter and import path, replaced
when the digest changes, so the cache does not grow with every install. An answer found while
something was installed is not kept; a cache that cannot be read or written costs time only.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
from collections.abc import Callable
from typing import TypeVar, cast

from scaffold import user_cache
from scaffold.generation.stamps import status_of

_FORMAT = 1
_METADATA = (".dist-info", ".egg-info")
"""How `importlib.metadata` finds a distribution in an import path entry (any letter case), besides the
`EGG-INFO` directory of an egg."""

Answer = TypeVar("Answer")


def remembered(question: str, answer: Callable[[], Answer], valid: Callable[[object], bool]) -> Answer:
    """`answer()`, or what it gave last time in this environment; `valid` tells a kept answer of the
    expected shape (a cache file is the user's to delete or damage)."""
    code = getattr(getattr(answer, "__code__", None), "co_filename", "")
    environment = _environment(code)
    place = hashlib.sha256(_encoded(repr((sys.prefix, sys.path)))).hexdigest()[:32]
    path = os.path.join(user_cache("installed"), f"{place}.marshal")
    known = _load(path, environment)
    if question in known and valid(known[question]):
        return cast(Answer, known[question])  # of the shape `valid` checked
    found = answer()
    if _environment(code) == environment:  # nothing was installed while it was asked
        _store(path, environment, {**known, question: found})
    return found


def _environment(code: str) -> str:
    """The digest of what an answer of `code` (the file of the function that answers) can depend on."""
    digest = hashlib.sha256(_encoded(f"{_FORMAT}\0{sys.prefix}\0{sys.version}"))
    read = [__file__, code]  # the code that asks and answers: a checkout's edits count
    for entry in sys.path:
        where = entry or "."
        digest.update(_encoded(f"\0{entry}"))
        if not os.path.isdir(where):
            read.append(where)  # a zip, an egg, or nothing: by its own status
            continue  # a directory by what it holds (the working directory's own times change often)
        for name in _names(where):
            if name.lower().endswith(_METADATA) or name.lower() == "egg-info":
                metadata = os.path.join(where, name)
                read += [metadata, *(os.path.join(metadata, file) for file in _names(metadata))]
    for path, status in status_of(read).items():
        digest.update(_encoded(f"\0{path}\0{status}"))
    return digest.hexdigest()


def _encoded(text: str) -> bytes:
    """`text` as bytes, a path's undecodable bytes included (a directory named in another encoding)."""
    return text.encode("utf-8", "surrogateescape")


def _names(directory: str) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except OSError:  # not a directory (an `.egg-info` file), or gone: its own status covers it
        return []


def _load(path: str, environment: str) -> dict[str, object]:
    """The answers kept for `environment`; none when the file is of another environment, or damaged."""
    try:
        with open(path, "rb") as file:
            kept, known = marshal.load(file)
    except Exception:  # noqa: BLE001 - missing, damaged or crafted: asked again, and replaced
        return {}
    return known if kept == environment and isinstance(known, dict) else {}


def _store(path: str, environment: str, known: dict[str, object]) -> None:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        staged = f"{path}.{os.getpid()}.tmp"
        with open(staged, "wb") as file:
            marshal.dump((environment, known), file)
        os.replace(staged, path)
    except (OSError, ValueError):  # ValueError: a value marshal cannot write, which no caller passes
        pass
