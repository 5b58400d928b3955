"""The lines of the manifest this version of scaffold wrote last, for the next run to write again as they are.

A leaf change rewrites googleapis' manifest with all but a line or two as they
were: 43,000 file entries and 1,739 service records, whose formatting was a tenth
of the run. A line is taken again only where its entry is the same (a file's
owner and hash; a service record equal to the one read from that line), and only
from a manifest that is byte for byte the one a run of this version wrote: its
hash is kept in `.scaffold/cache/` once the run is over. A manifest edited,
restored from git, written by another version, or by a run that did not finish
has another hash, and every line is formatted again. Every line of such a
manifest is the one `scaffold.record.state.render` makes of what it holds, so
taking it again writes the same bytes, and the manifest of an incremental run is
still the one a clean run writes.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import marshal
import os
from collections.abc import Mapping
from typing import Protocol

from msgspec import Struct

from scaffold import __version__
from scaffold.core.model import Service
from scaffold.record import cache

NAME = "manifest.marshal"
_FORMAT = 1


class Lines(Struct, frozen=True):
    """The lines of a manifest by entry, each without the comma that follows it."""

    files: Mapping[str, tuple[tuple[str, str | None], str]]
    """Path -> ((owner, sha256), its line)."""
    servicer: Mapping[Service, str]
    """A service record, as read -> its line."""


def remember(root: str | os.PathLike[str], manifest: bytes) -> None:
    """Keep the hash of the manifest a run leaves, once it is on disk; quiet (a cache)."""
    digest = hashlib.sha256(manifest).hexdigest()
    cache.write(root, NAME, marshal.dumps((_FORMAT, _writer(), digest)))


@functools.cache
def _writer() -> str:
    """What decides a line's text: scaffold's version and the source of the modules that write records and
    define what they hold (an editable install changes them without a new version); the version alone
    where a source is not a file of its own."""
    digest = hashlib.sha256(__version__.encode())
    for module in _WRITERS:
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.origin or not os.path.isfile(spec.origin):
            return __version__
        with open(spec.origin, "rb") as source:
            digest.update(source.read())
    return digest.hexdigest()


_WRITERS = ("scaffold.record.state", "scaffold.core.model", "scaffold.core.imports")


class Recorded(Protocol):
    """A file's entry in the manifest (`scaffold.record.state.FileRecord`)."""

    @property
    def owner(self) -> str: ...

    @property
    def sha256(self) -> str | None: ...


def lines_of(
    root: str | os.PathLike[str], text: str, files: Mapping[str, Recorded], servicer: tuple[Service, ...]
) -> Lines | None:
    """The lines of `text`, the manifest read at `root` (holding `files` and `servicer`, in their order),
    when it is the one this version wrote last; None otherwise."""
    try:
        form, version, digest = marshal.loads(cache.read(root, NAME) or b"")
    except Exception:  # noqa: BLE001 - missing, truncated or crafted: nothing is taken again
        return None
    if (form, version) != (_FORMAT, _writer()) or digest != hashlib.sha256(text.encode()).hexdigest():
        return None
    rows = text.split("\n")
    file_lines = _section(rows, ' "files": {', " }", len(files))
    service_lines = _section(rows, ' "servicer": [', " ]", len(servicer))
    if file_lines is None or service_lines is None or not all(map(_names, files, file_lines)):
        return None
    entries = (((record.owner, record.sha256), line) for record, line in zip(files.values(), file_lines, strict=True))
    try:
        return Lines(dict(zip(files, entries, strict=True)), dict(zip(servicer, service_lines, strict=True)))
    except TypeError:  # a record holding a list where a name goes (a crafted cache vouching for it): not taken
        return None


def _section(rows: list[str], opening: str, closing: str, count: int) -> list[str] | None:
    """The `count` lines between `opening` and `closing` (none when the section is absent or empty), commas
    cut off; None when they are not there as `state.render` writes them (a key given twice, a line more)."""
    if not count:
        return []
    try:
        start = rows.index(opening) + 1
    except ValueError:
        return None
    found = [row.removesuffix(",") for row in rows[start : start + count]]
    end = rows[start + count].removesuffix(",") if start + count < len(rows) else ""
    return found if len(found) == count and end == closing and all(row.startswith("  ") for row in found) else None


def _names(path: str, line: str) -> bool:
    """Whether `line` is the entry of `path`: its key, as `json.dumps` writes it (the plain form, which
    nearly every path takes, without calling it)."""
    plain = path.isascii() and path.isprintable() and '"' not in path and "\\" not in path
    return line.startswith(f'  "{path}": ' if plain else f"  {json.dumps(path)}: ")
