"""A large cache entry kept as shards, so that a run rewrites only the shards whose entries changed.

protoc's record (226 MB on googleapis) and the memo (50 MB) each change by a
few entries on a leaf change; writing either whole took longer than the rest
of the run's writing. Entries go to one of `SHARDS` files by a hash of their
key; each shard carries a random id, and an index written last names the id
of every shard it vouches for. A shard whose id is not the index's (written
by a run killed before its index) is left out on load, so a reader never
combines entries of two runs. Shards are compared by identity: an entry a
run kept as the very object it loaded needs no rewriting.
"""

from __future__ import annotations

import marshal
import os
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from scaffold.core import seams
from scaffold.record import cache

SHARDS = 64
_INDEX = "index"

Stored = dict[int, tuple[str, dict[str, Any]]]
"""Shard -> (the id it was read with, its entries as read)."""


def load(
    root: Path, name: str, key: object, decode: Callable[[Any], Any] = lambda value: value
) -> tuple[dict[str, Any], Stored] | None:
    """The entries kept under `name`, each `decode`d (and, per shard, the id and the entries read), or None
    when its index is missing, unreadable or made for another `key`."""
    try:
        stored_key, ids = marshal.loads(cache.read(root, f"{name}/{_INDEX}") or b"")
    except Exception:  # noqa: BLE001 - missing, truncated, or from another Python
        return None
    if stored_key != key or not _is_index(ids):
        return None
    entries: dict[str, Any] = {}
    stored: Stored = {}
    for shard, expected in ids.items():
        shard_id, found = _read(root, f"{name}/{shard:02d}")
        if shard_id != expected:  # missing, or not the one the index names: left out
            continue
        decoded = _decoded(found, decode)
        if decoded is not None:
            entries.update(decoded)
            stored[shard] = (expected, decoded)
    return entries, stored


def _decoded(found: dict[str, Any], decode: Callable[[Any], Any]) -> dict[str, Any] | None:
    """A shard's entries, `decode`d; None when one is of another shape (the shard is left out, as a corrupt one)."""
    try:
        return {entry_key: decode(value) for entry_key, value in found.items()}
    except Exception:  # noqa: BLE001 - crafted or corrupt: a cache to ignore, never a traceback
        return None


def _is_index(ids: object) -> bool:
    """Whether `ids` is what `save` writes as an index: shard number -> shard id. A cache of any other shape
    (crafted, or written by another tool) is a cache to ignore, never a traceback."""
    return isinstance(ids, dict) and all(
        type(shard) is int and 0 <= shard < SHARDS and isinstance(expected, str) for shard, expected in ids.items()
    )


def save(
    root: Path,
    name: str,
    key: object,
    entries: Mapping[str, Any],
    stored: Stored,
    encode: Callable[[Any], Any] = lambda value: value,
) -> None:
    """Keep `entries` under `name`: each shard whose entries are not those `stored` (the same keys, the
    very objects), `encode`d for marshal; then the index that names them all."""
    shards: dict[int, dict[str, Any]] = {}
    for entry_key, value in entries.items():
        shards.setdefault(zlib.crc32(entry_key.encode()) % SHARDS, {})[entry_key] = value
    ids = {}
    for shard, values in sorted(shards.items()):
        before = stored.get(shard)
        if before is not None and _same(before[1], values):
            ids[shard] = before[0]
            continue
        ids[shard] = os.urandom(8).hex()
        encoded = {entry_key: encode(value) for entry_key, value in sorted(values.items())}
        cache.write(root, f"{name}/{shard:02d}", marshal.dumps((ids[shard], encoded)))
        seams.at(seams.SHARD_WRITTEN, f"{name}/{shard:02d}")
    index: Any = (key, ids)
    cache.write(root, f"{name}/{_INDEX}", marshal.dumps(index))


def _same(before: Mapping[str, Any], now: Mapping[str, Any]) -> bool:
    return before.keys() == now.keys() and all(now[entry_key] is value for entry_key, value in before.items())


def _read(root: Path, name: str) -> tuple[str | None, dict[str, Any]]:
    try:
        shard_id, found = marshal.loads(cache.read(root, name) or b"")
    except Exception:  # noqa: BLE001 - missing or truncated
        return None, {}
    if not isinstance(found, dict) or not all(isinstance(entry_key, str) for entry_key in found):
        return None, {}
    return shard_id, found
