"""The fields of scaffold's records, whichever way a record is declared.

Most are `msgspec.Struct`s: Python 3.11 builds a dataclass by generating and
compiling each of its methods, about 1.4 ms per frozen class at import, while a
Struct is made in C in microseconds (issue 30). The records of the paths that
answer before the pipeline loads (the config, diagnostics, `call`: importing
msgspec would cost them more than their dataclasses do) stay dataclasses, as do
those of the commands beside the pipeline (`breaking`, `watch`) and the three
that compare without a field they cache (`compare=False`, which a Struct cannot say).
"""

from __future__ import annotations

import dataclasses

from msgspec import Struct


def field_names(kind: type) -> tuple[str, ...] | None:
    """The names of the fields of `kind`, in declaration order; None for a class that is not a record.
    Looked up once per class: the manifest of a large tree asks for 300,000 values' fields."""
    if kind not in _NAMES:
        if issubclass(kind, Struct):
            _NAMES[kind] = kind.__struct_fields__
        elif dataclasses.is_dataclass(kind):
            _NAMES[kind] = tuple(field.name for field in dataclasses.fields(kind))
        else:
            _NAMES[kind] = None
    return _NAMES[kind]


_NAMES: dict[type, tuple[str, ...] | None] = {}
