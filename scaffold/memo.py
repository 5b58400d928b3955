"""Results of earlier runs, kept between runs by key, so a run recomputes only what its change touched.

Each user keys an entry by everything the value is computed from (a
per-service render by its templates and context: `scaffold.renders`; a
proto's service comments by its source info: `scaffold.describe`), so a kept
value is reused only where it would come out the same. What a run used is
what the next run keeps: the memo follows the project as it is now, not
every past one. Kept in `.scaffold/cache/` (see `scaffold.cache`): deleting
it makes the next run slower, never different.
"""

from __future__ import annotations

import marshal
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffold import __version__, cache
from scaffold.layout import CACHE_DIR

NAME = "memo.marshal"
_FORMAT = 1


@dataclass
class Memo:
    """The previous run's values (`kept`), and those this run used, which are what the next run keeps."""

    kept: Mapping[str, Any] = field(default_factory=dict)
    used: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        """The value kept under `key`; None when there is none."""
        value = self.kept.get(key)
        if value is not None:
            self.used[key] = value
        return value

    def put(self, key: str, value: Any) -> None:
        self.used[key] = value


def load(root: Path) -> Memo:
    """What the last run kept; nothing when there is nothing this run can trust."""
    try:
        form, version, kept = marshal.loads((root / CACHE_DIR / NAME).read_bytes())
    except Exception:  # noqa: BLE001 - missing, truncated, or not marshal: compute everything
        return Memo()
    return Memo(kept) if (form, version) == (_FORMAT, __version__) and isinstance(kept, dict) else Memo()


def save(root: Path, memo: Memo) -> None:
    """Keep what this run used."""
    if memo.used != memo.kept:
        cache.write(root, NAME, marshal.dumps((_FORMAT, __version__, memo.used)))
    cache.remove(root, "renders.marshal")  # where the per-service renders alone were kept before
