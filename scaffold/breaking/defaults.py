"""buf's rule on fields' default values (proto2, editions): compared by value across types."""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator

from scaffold.breaking.fields import _field_rule, _keyword_before
from scaffold.breaking.protosource import Enum, Field, Location, Side
from scaffold.breaking.rulebook import _FIELD, Break, _break, _first, _subject

# Defaults: compared by value across types (buf's leniency: FIELD_SAME_TYPE reports a type change).


def _default(field: Field, side: Side) -> tuple[str, object]:
    """(class, value): class is "text" for string and bytes, "float" for float32, "number" for the rest."""
    raw, given = field.proto.default_value, field.proto.HasField("default_value")
    kind = field.type
    if kind in (_FIELD.TYPE_STRING, _FIELD.TYPE_BYTES):
        if kind == _FIELD.TYPE_BYTES:
            return "text", _unescape(raw) if given else b""
        return "text", raw.encode() if given else b""
    if kind == _FIELD.TYPE_BOOL:
        return "number", int(raw == "true")
    if kind == _FIELD.TYPE_ENUM:
        enum = side.types.get(field.type_name.lstrip("."))
        if given and isinstance(enum, Enum):
            number = next((v.number for v in enum.values if v.name == raw), 0)
        else:
            number = enum.values[0].number if isinstance(enum, Enum) and enum.values else 0
        return "number", number
    if kind in (_FIELD.TYPE_FLOAT, _FIELD.TYPE_DOUBLE):
        value = float(raw) if given else 0.0
        if kind == _FIELD.TYPE_FLOAT:
            return "float", _float32(value)
        return "number", value
    return "number", int(raw) if given else 0


def _float32(value: float) -> float:
    if math.isnan(value) or math.isinf(value):
        return value
    return float(struct.unpack("f", struct.pack("f", value))[0])


def _unescape(text: str) -> bytes:
    """protoc's C escaping of a bytes default, undone."""
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


def _same_default(before: tuple[str, object], now: tuple[str, object]) -> bool:
    (before_class, a), (now_class, b) = before, now
    if "text" in (before_class, now_class):
        return before_class == now_class and a == b
    if "float" in (before_class, now_class):
        a, b = _float32(float(a)), _float32(float(b))  # type: ignore[arg-type]  # numbers here
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _is_zero(value: tuple[str, object]) -> bool:
    return not value[1]


def _shown_default(value: tuple[str, object]) -> str:
    return repr(value[1])


def _default_place(field: Field) -> Location | None:
    """protoc places a default at its value, buf's compiler at the `default` keyword: the keyword."""
    return _keyword_before(field, field.at(7), r"\bdefault\s*=\s*$")


@_field_rule("FIELD_SAME_DEFAULT", "CSR FILE PACKAGE WIRE_JSON WIRE", "a field keeps its default value")
def _field_same_default(field: Field, old: Field, current: Side, previous: Side) -> Iterator[Break]:
    def defaultable(f: Field, side: Side) -> bool:
        return f.proto.label != _FIELD.LABEL_REPEATED and f.type not in (_FIELD.TYPE_MESSAGE, _FIELD.TYPE_GROUP)

    if not defaultable(field, current) or not defaultable(old, previous):
        return
    before, now = _default(old, previous), _default(field, current)
    if _is_zero(before) and _is_zero(now):
        return
    if not _same_default(before, now):
        text = f"{field.description} changed default from {_shown_default(before)} to {_shown_default(now)}"
        yield _break(
            "FIELD_SAME_DEFAULT",
            text,
            _subject(field),
            _first(_default_place(field), field.location),
            _first(_default_place(old), old.location),
            field.file.name,
        )
