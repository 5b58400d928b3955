"""The merge bases of the user's files, read only where a run needs one.

A regeneration needs a base's bytes only to merge a file whose render
changed; to see that a render did not change, the base's hash is enough.
Reading all of `.scaffold/base/` up front cost googleapis' leaf change a
second for 5,000 files it then compared and dropped. So the recorded bases
are read on first use, their hashes come from their status
(`scaffold.record.hashes`), and a run's own bases (rebuilt for a lost record, moved
by a layout switch, cut for a stub added back) lie over them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from scaffold.record.hashes import Hashes


class Bases(Mapping[str, bytes]):
    """Project path -> merge base: `overrides` first, then the file under `directory` (if it exists)."""

    def __init__(
        self,
        directory: Path | None,
        recorded: Iterable[str] = (),
        hashes: Hashes | None = None,
        overrides: Mapping[str, bytes] | None = None,
    ) -> None:
        self._directory = directory
        self._recorded = frozenset(recorded) if directory is not None else frozenset()
        self._hashes = hashes or Hashes()
        self._overrides = dict(overrides or {})
        self._read: dict[str, bytes | None] = {}

    def with_overrides(self, overrides: Mapping[str, bytes]) -> Bases:
        """These bases with `overrides` in place of (or besides) their own; the reads made so far are shared."""
        layered = Bases(self._directory, self._recorded, self._hashes, self._overrides | dict(overrides))
        layered._read = self._read
        return layered

    def __getitem__(self, path: str) -> bytes:
        if path in self._overrides:
            return self._overrides[path]
        content = self._file(path)
        if content is None:
            raise KeyError(path)
        return content

    def __contains__(self, path: object) -> bool:
        if path in self._overrides:
            return True
        return isinstance(path, str) and path in self._recorded and self._exists(path)

    def __iter__(self) -> Iterator[str]:
        yield from self._overrides
        yield from (p for p in sorted(self._recorded) if p not in self._overrides and self._exists(p))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def sha256(self, path: str) -> str | None:
        """The hash of `path`'s base (None: it has none), from the base file's status where that vouches for it."""
        if path in self._overrides:
            return hashlib.sha256(self._overrides[path]).hexdigest()
        if path not in self._recorded or self._directory is None:
            return None
        if path in self._read:
            content = self._read[path]
            return None if content is None else hashlib.sha256(content).hexdigest()
        try:
            return self._hashes.sha256(os.path.join(self._directory, path))
        except OSError:
            return None

    def _exists(self, path: str) -> bool:
        return self._read.get(path) is not None or (
            path not in self._read and self._directory is not None and os.path.isfile(self._directory / path)
        )

    def _file(self, path: str) -> bytes | None:
        if path not in self._recorded or self._directory is None:
            return None
        if path not in self._read:
            try:
                self._read[path] = (self._directory / path).read_bytes()
            except OSError:
                self._read[path] = None
        return self._read[path]


def layered(bases: Mapping[str, bytes], overrides: Mapping[str, bytes]) -> Mapping[str, bytes]:
    """`bases` with `overrides` over them, read no sooner than before."""
    if isinstance(bases, Bases):
        return bases.with_overrides(overrides)
    return {**bases, **overrides}


def sha256_of(bases: Mapping[str, bytes], path: str) -> str | None:
    """The hash of `path`'s base in `bases` (None: it has none), without reading it where its status vouches."""
    if isinstance(bases, Bases):
        return bases.sha256(path)
    base = bases.get(path)
    return None if base is None else hashlib.sha256(base).hexdigest()
