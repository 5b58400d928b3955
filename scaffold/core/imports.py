"""Import statements exactly as ruff's isort writes them, for every module scaffold renders.

Generated files must pass `ruff check` (I001) as written, so the order and
wrapping of their imports follow ruff's rules; `tests/test_units.py` holds
this module to real ruff on generated projects, so a ruff release that sorts
differently fails there first.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from msgspec import Struct


class Import(Struct, frozen=True, order=True):
    """`from <package> import <module> [as <alias>]` for one generated module."""

    package: str
    module: str
    alias: str

    def __str__(self) -> str:
        suffix = f" as {self.alias}" if self.alias != self.module else ""
        return f"from {self.package} import {self.module}{suffix}"


class ImportLines(Struct, frozen=True):
    """Import statements in isort's order: the protobuf runtime, then the project's own modules."""

    third_party: tuple[str, ...]
    first_party: tuple[str, ...]


LINE_LIMIT = 88


def import_lines(imports: Iterable[Import], first_party_package: str) -> ImportLines:
    """The statements ruff's isort writes for `imports`, wrapped the way ruff format wraps them.

    Per package, the names imported without an alias share one statement and
    each aliased name gets its own (ruff's default `combine-as-imports = false`);
    statements are ordered by package, then by their first name, with ruff's
    keys: natural order, case-insensitive, CONSTANTS before Classes before modules.
    """
    statements: dict[tuple[str, str], list[Import]] = {}
    for item in set(imports):
        statements.setdefault((item.package, "" if item.alias == item.module else item.alias), []).append(item)
    keyed = []
    for (package, alias), items in statements.items():
        items.sort(key=lambda item: member_key(item.module))
        names = [item.module if not alias else f"{item.module} as {alias}" for item in items]
        keyed.append(((_natural_key(package), member_key(items[0].module), alias), package, names))
    third_party: list[str] = []
    first_party: list[str] = []
    for _, package, names in sorted(keyed):
        line = f"from {package} import {', '.join(names)}"
        if len(line) > LINE_LIMIT:
            line = f"from {package} import (\n" + "".join(f"    {name},\n" for name in names) + ")"
        own = package == first_party_package or package.startswith(first_party_package + ".")
        (first_party if own else third_party).append(line)
    return ImportLines(tuple(third_party), tuple(first_party))


_DIGITS = re.compile(r"(\d+)")


@functools.lru_cache(maxsize=65536)  # the same package and module names, in every module of a large tree
def _natural_key(text: str) -> tuple[tuple[int, int], ...]:
    """Natural order (`v2` before `v10`): a run of digits compares as its number,
    and against other characters as a digit would (by code point), as ruff does."""
    key: list[tuple[int, int]] = []
    for index, chunk in enumerate(_DIGITS.split(text)):
        if index % 2:
            key.append((ord("0"), int(chunk)))
        else:
            key.extend((ord(char), 0) for char in chunk)
    return tuple(key)


@functools.lru_cache(maxsize=65536)
def member_key(name: str) -> tuple[int, tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    kind = 0 if len(name) > 1 and name.isupper() else 1 if name[:1].isupper() else 2
    return kind, _natural_key(name.lower()), _natural_key(name)
