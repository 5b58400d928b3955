"""Results of earlier runs, kept between runs by key, so a run recomputes only what its change touched.

Each user keys an entry by everything the value is computed from (a
render by its templates and the context they read: `scaffold.generation.renders`; a
proto's service comments by its source info: `scaffold.generation.summary`), so a kept
value is reused only where it would come out the same. What a run used is
what the next run keeps: the memo follows the project as it is now, not
every past one. Kept in `.scaffold/cache/` (see `scaffold.record.cache`): deleting
it makes the next run slower, never different.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from msgspec import Struct, field

from scaffold import __version__
from scaffold.record import cache, shards

NAME = "memo"
"""A directory of shards (`scaffold.record.shards`): a leaf change rewrites the few whose entries it changed."""
_FORMAT = 2


class Memo(Struct):
    """The previous run's values (`kept`), and those this run used, which are what the next run keeps."""

    kept: Mapping[str, Any] = field(default_factory=dict)
    used: dict[str, Any] = field(default_factory=dict)
    stored: shards.Stored = field(default_factory=dict)
    """What the shards held when read (see `scaffold.record.shards.save`)."""

    def get(self, key: str) -> Any:
        """The value kept under `key`; None when there is none."""
        value = self.kept.get(key)
        if value is not None:
            self.used[key] = value
        return value

    def put(self, key: str, value: Any) -> None:
        self.used[key] = value

    def forget(self, keys: frozenset[str]) -> None:
        """Keep none of `keys` for the next run (what was computed from inputs that changed meanwhile)."""
        for key in keys:
            del self.used[key]


def load(root: Path) -> Memo:
    """What the last run kept; nothing when there is nothing this run can trust."""
    loaded = shards.load(root, NAME, (_FORMAT, __version__))
    if loaded is None:
        return Memo()
    kept, stored = loaded
    return Memo(kept, stored=stored)


def save(root: Path, memo: Memo) -> None:
    """Keep what this run used."""
    if memo.used != memo.kept:
        shards.save(root, NAME, (_FORMAT, __version__), memo.used, memo.stored)
    for earlier in ("renders.marshal", "memo.marshal"):  # where earlier versions kept it, in one file
        cache.remove(root, earlier)
