"""A large cache entry kept as shards, so that a run rewrites only the shards whose entries changed.

protoc's record (226 MB on googleapis) and the memo (50 MB) each change by a
few entries on a leaf change; writing either whole took longer than the rest
of the run's writing. Entries go to one of up to `SHARDS` files by a hash of
their key (fewer for fewer entries, `PER_SHARD`); each shard carries a random
id, and an index written last names the id of every shard it vouches for. A
shard whose id is not the index's (written by a run killed before its index)
is left out on load, so a reader never combines entries of two runs. Shards
are compared by identity: an entry a run kept as the very object it loaded
needs no rewriting.

An entry may also have a body kept apart (`bodies`): protoc's record keeps
each proto's descriptor and outputs (225 of its 231 MB on googleapis) in a
second file per shard, under the same id, which a run reads only when it asks
for a body of that shard. A leaf change asks for a handful.
"""

from __future__ import annotations

import marshal
import os
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from scaffold.core import seams
from scaffold.layout import CACHE_DIR
from scaffold.record import cache

SHARDS = 64
"""The most files a cache entry is kept in (googleapis: 7,245 protos in protoc's record, 17,000 memo values)."""
PER_SHARD = 64
"""The fewest entries a shard holds (`save` takes entries // PER_SHARD shards, 1 to `SHARDS`), so fewer than twice
as many: route_guide's 58 memo values went to 37 files, each a file made by `new` and read by every later run."""
INDEX = "index"

Stored = dict[int, tuple[str, dict[str, Any]]]
"""Shard -> (the id it was read with, its entries as read)."""


def load(
    root: Path,
    name: str,
    key: object,
    decode: Callable[..., Any] = lambda value: value,
    bodies: bool = False,
) -> tuple[dict[str, Any], Stored] | None:
    """The entries kept under `name`, each `decode`d (and, per shard, the id and the entries read), or None
    when its index is missing, unreadable or made for another `key`. With `bodies`, `decode` takes an
    entry and a function that reads the entry's body, from its shard's body file, when first called; a
    shard whose body file is not of the same write (a run killed between the two) is left out."""
    try:
        stored_key, ids = marshal.loads(cache.read(root, f"{name}/{INDEX}") or b"")
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
        if bodies:
            kept = Bodies(root, f"{name}/{shard:02d}{_BODY}", expected)
            if not kept.of_this_write():
                continue
            decoded = _decoded(found, decode, kept)
        else:
            decoded = _decoded(found, decode)
        if decoded is not None:
            entries.update(decoded)
            stored[shard] = (expected, decoded)
    return entries, stored


def _decoded(found: dict[str, Any], decode: Callable[..., Any], bodies: Bodies | None = None) -> dict[str, Any] | None:
    """A shard's entries, `decode`d (with how to read each one's body, given `bodies`); None when one is of
    another shape (the shard is left out, as a corrupt one)."""
    try:
        if bodies is None:
            return {entry_key: decode(value) for entry_key, value in found.items()}
        return {entry_key: decode(value, bodies.reader(entry_key)) for entry_key, value in found.items()}
    except Exception:  # noqa: BLE001 - crafted or corrupt: a cache to ignore, never a traceback
        return None


_BODY = ".body"


class Broken(Exception):
    """A body file that is not as the write its entries came from left it (`Bodies`)."""


class Bodies:
    """The bodies of one shard's entries: the file begins with the shard's id and a newline, so that a load
    checks that it is of the same write as the entries by reading that much; the rest is read when the
    first body is asked for.

    A run reads the record under the project's lock (`scaffold.record.lock`), so no other run rewrites it
    meanwhile; a body file found changed or broken all the same raises `Broken`, and the run goes on
    without the record (`scaffold.api.regenerate`): a cache costs time, never the run."""

    def __init__(self, root: Path, path: str, shard_id: str) -> None:
        self._root, self._path, self._id = root, path, shard_id
        self._read: dict[str, Any] | None = None

    def of_this_write(self) -> bool:
        return cache.read(self._root, self._path, limit=len(self._id) + 1) == f"{self._id}\n".encode()

    def reader(self, entry_key: str) -> Callable[[Callable[[Any], Any]], Any]:
        """How to read the body of `entry_key`, checked by a function that raises ValueError on a body
        unlike its entry (then `Broken`, as for a file changed or unreadable)."""
        return lambda check: self.body(entry_key, check)

    def body(self, entry_key: str, check: Callable[[Any], Any]) -> Any:
        if self._read is None:
            self._read = self._load()
        try:
            return check(self._read[entry_key])
        except (KeyError, ValueError):
            raise self._changed() from None

    def _load(self) -> dict[str, Any]:
        content = cache.read(self._root, self._path) or b""
        head = f"{self._id}\n".encode()
        try:
            found = marshal.loads(content[len(head) :]) if content.startswith(head) else None
        except Exception:  # noqa: BLE001 - truncated or corrupt
            found = None
        if not isinstance(found, dict):
            raise self._changed()
        return found

    def _changed(self) -> Broken:
        return Broken(f"{self._root / CACHE_DIR / self._path}: not as the record's index says")


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
    body: Callable[[Any], Any] | None = None,
    per_shard: int = PER_SHARD,
) -> None:
    """Keep `entries` under `name`, from `per_shard` to fewer than twice as many to a shard: each shard whose
    entries are not those `stored` (the same keys, the very objects), `encode`d for marshal, with each
    entry's `body` in the shard's body file, written first (see `load`); then the index that names them all;
    then the shards it no longer names are taken away (a kill before leaves files no index names, which
    `load` never reads)."""
    count = max(1, min(SHARDS, len(entries) // per_shard))
    shards: dict[int, dict[str, Any]] = {}
    for entry_key, value in entries.items():
        shards.setdefault(zlib.crc32(entry_key.encode()) % count, {})[entry_key] = value
    ids = {}
    rewritten = {}
    for shard, values in sorted(shards.items()):
        before = stored.get(shard)
        if before is not None and _same(before[1], values):
            ids[shard] = before[0]
        else:
            ids[shard] = os.urandom(8).hex()
            rewritten[shard] = dict(sorted(values.items()))
    # Every body is read before any body file is replaced: with another count of shards, an entry's body may
    # be in a file this write replaces before it gets to the entry.
    bodies = {shard: {k: body(v) for k, v in values.items()} for shard, values in rewritten.items()} if body else {}
    for shard, values in rewritten.items():
        encoded = {entry_key: encode(value) for entry_key, value in values.items()}
        if body is not None:
            content = f"{ids[shard]}\n".encode() + marshal.dumps(bodies.pop(shard))
            cache.write(root, f"{name}/{shard:02d}{_BODY}", content)
            seams.at(seams.SHARD_WRITTEN, f"{name}/{shard:02d}{_BODY}")
        cache.write(root, f"{name}/{shard:02d}", marshal.dumps((ids[shard], encoded)))
        seams.at(seams.SHARD_WRITTEN, f"{name}/{shard:02d}")
    index: Any = (key, ids)
    cache.write(root, f"{name}/{INDEX}", marshal.dumps(index))
    for leaf in cache.names(root, name):
        number, dot, rest = leaf.partition(".")
        numbered = len(number) == 2 and number.isascii() and number.isdigit()
        if numbered and int(number) not in ids and f"{dot}{rest}" in ("", _BODY):
            cache.remove(root, f"{name}/{leaf}")


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
