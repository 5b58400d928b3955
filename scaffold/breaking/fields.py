"""buf's rules on the fields two sides share (extensions too, paired by number): type, wire and JSON
compatibility, name, JSON name, cardinality, oneof, and the options that change generated code.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator

from google.protobuf import descriptor_pb2

from scaffold.breaking import features
from scaffold.breaking.protosource import Enum, Field, Location, Side
from scaffold.breaking.rulebook import (
    _FEATURES,
    _FIELD,
    RULES,
    Break,
    Rule,
    _break,
    _enum_name,
    _fields,
    _first,
    _subject,
)
from scaffold.core.text import lines as text_lines


def _field_rule(rule: str, categories: str, purpose: str) -> Callable[[Callable[..., Iterator[Break]]], None]:
    """A rule over every pair of fields (and extensions) the two sides share."""

    def register(check: Callable[[Field, Field, Side, Side], Iterator[Break]]) -> None:
        def over_pairs(current: Side, previous: Side) -> Iterator[Break]:
            for field, old in _fields(current, previous):
                yield from check(field, old, current, previous)

        RULES[rule] = Rule(rule, tuple(categories.split()), purpose, over_pairs)

    return register


def _type_name(kind: int, field: Field) -> str:
    if kind == _FIELD.TYPE_GROUP and field.file.syntax != "proto2":
        return "message (delimited encoding)"
    return _enum_name(_FIELD.Type, kind).removeprefix("TYPE_").lower()


def _type_place(field: Field, kind: int) -> Location | None:
    named = kind in (_FIELD.TYPE_MESSAGE, _FIELD.TYPE_ENUM, _FIELD.TYPE_GROUP)
    return _type_name_place(field) if named else field.at(5)


def _type_name_place(field: Field) -> Location | None:
    """A group's type is placed at its name by protoc, at the `group` keyword by buf's compiler: the keyword."""
    return _keyword_before(field, field.at(6), r"\bgroup\s+$") if field.type == _FIELD.TYPE_GROUP else field.at(6)


def _keyword_before(field: Field, place: Location | None, keyword: str) -> Location | None:
    """`place` moved back to the keyword that precedes it on its line, when the side has the source."""
    if place is None or field.file.text is None:
        return place
    lines = text_lines(field.file.text)
    before = lines[place.line - 1][: place.col - 1] if place.line <= len(lines) else ""
    found = re.search(keyword, before)
    return Location(place.file, place.line, found.start() + 1) if found else place


def _changed_type(rule: str, field: Field, old: Field, kind: int, old_kind: int, note: str = "") -> Break:
    text = f"{field.description} changed type from {_type_name(old_kind, old)} to {_type_name(kind, field)}{note}"
    return _break(rule, text, _subject(field), _type_place(field, kind), _type_place(old, old_kind), field.file.name)


def _changed_type_name(rule: str, field: Field, old: Field) -> Break:
    text = f"{field.description} changed type from {old.type_name.lstrip('.')} to {field.type_name.lstrip('.')}"
    return _break(rule, text, _subject(field), _type_name_place(field), _type_name_place(old), field.file.name)


@_field_rule("FIELD_SAME_TYPE", "CSR FILE PACKAGE", "a field keeps its type")
def _field_same_type(field: Field, old: Field, current: Side, previous: Side) -> Iterator[Break]:
    kind, old_kind = field.kind_in(current), old.kind_in(previous)
    if kind != old_kind:
        yield _changed_type("FIELD_SAME_TYPE", field, old, kind, old_kind)
    elif field.type in (_FIELD.TYPE_ENUM, _FIELD.TYPE_GROUP, _FIELD.TYPE_MESSAGE) and field.type_name != old.type_name:
        yield _changed_type_name("FIELD_SAME_TYPE", field, old)


# Types that read each other's bytes on the wire (protobuf's "updating a message type" rules).
_WIRE_GROUPS: dict[int, int] = {
    **dict.fromkeys(
        (_FIELD.TYPE_INT32, _FIELD.TYPE_INT64, _FIELD.TYPE_UINT32, _FIELD.TYPE_UINT64, _FIELD.TYPE_BOOL), 1
    ),
    **dict.fromkeys((_FIELD.TYPE_SINT32, _FIELD.TYPE_SINT64), 2),
    _FIELD.TYPE_STRING: 3,
    _FIELD.TYPE_BYTES: 4,
    **dict.fromkeys((_FIELD.TYPE_FIXED32, _FIELD.TYPE_SFIXED32), 5),
    **dict.fromkeys((_FIELD.TYPE_FIXED64, _FIELD.TYPE_SFIXED64), 6),
    _FIELD.TYPE_DOUBLE: 7,
    _FIELD.TYPE_FLOAT: 8,
    _FIELD.TYPE_GROUP: 9,
    _FIELD.TYPE_MESSAGE: 10,
    _FIELD.TYPE_ENUM: 11,
}
# ... and that JSON also reads alike: the intersection of both.
_WIRE_JSON_GROUPS: dict[int, int] = {
    **dict.fromkeys((_FIELD.TYPE_INT32, _FIELD.TYPE_UINT32), 1),
    **dict.fromkeys((_FIELD.TYPE_INT64, _FIELD.TYPE_UINT64), 2),
    **dict.fromkeys((_FIELD.TYPE_FIXED32, _FIELD.TYPE_SFIXED32), 3),
    **dict.fromkeys((_FIELD.TYPE_FIXED64, _FIELD.TYPE_SFIXED64), 4),
    _FIELD.TYPE_BOOL: 5,
    _FIELD.TYPE_SINT32: 6,
    _FIELD.TYPE_SINT64: 7,
    _FIELD.TYPE_STRING: 8,
    _FIELD.TYPE_BYTES: 9,
    _FIELD.TYPE_DOUBLE: 10,
    _FIELD.TYPE_FLOAT: 11,
    _FIELD.TYPE_GROUP: 12,
    _FIELD.TYPE_MESSAGE: 13,
    _FIELD.TYPE_ENUM: 14,
}
_WIRE_NOTE = " (not wire compatible)"
_WIRE_JSON_NOTE = " (not wire or JSON compatible)"


def _compatible_named(rule: str, field: Field, old: Field, kind: int, current: Side, previous: Side) -> Iterator[Break]:
    """Same group: a message or group must stay the same type; an enum may become another of the same name
    that still has every old value with its number."""
    if field.type_name == old.type_name:
        return
    if kind in (_FIELD.TYPE_MESSAGE, _FIELD.TYPE_GROUP):
        yield _changed_type_name(rule, field, old)
    elif kind == _FIELD.TYPE_ENUM:
        now_enum = current.types.get(field.type_name.lstrip("."))
        old_enum = previous.types.get(old.type_name.lstrip("."))
        if not isinstance(now_enum, Enum) or not isinstance(old_enum, Enum) or now_enum.name != old_enum.name:
            yield _changed_type_name(rule, field, old)
            return
        now_values = {v.name: v.number for v in now_enum.values}
        if any(now_values.get(v.name) != v.number for v in old_enum.values):
            yield _changed_type_name(rule, field, old)


@_field_rule("FIELD_WIRE_COMPATIBLE_TYPE", "WIRE", "a field's type stays wire compatible")
def _field_wire_compatible_type(field: Field, old: Field, current: Side, previous: Side) -> Iterator[Break]:
    kind, old_kind = field.kind_in(current), old.kind_in(previous)
    if _WIRE_GROUPS[kind] != _WIRE_GROUPS[old_kind]:
        if (old_kind, kind) == (_FIELD.TYPE_STRING, _FIELD.TYPE_BYTES):
            return
        note = _WIRE_NOTE
        if (old_kind, kind) == (_FIELD.TYPE_BYTES, _FIELD.TYPE_STRING):
            note = " (bytes read as string only when they are valid UTF-8)"
        yield _changed_type("FIELD_WIRE_COMPATIBLE_TYPE", field, old, kind, old_kind, note)
        return
    yield from _compatible_named("FIELD_WIRE_COMPATIBLE_TYPE", field, old, field.type, current, previous)


@_field_rule("FIELD_WIRE_JSON_COMPATIBLE_TYPE", "CSR WIRE_JSON", "a field's type stays wire and JSON compatible")
def _field_wire_json_compatible_type(field: Field, old: Field, current: Side, previous: Side) -> Iterator[Break]:
    kind, old_kind = field.kind_in(current), old.kind_in(previous)
    if _WIRE_JSON_GROUPS[kind] != _WIRE_JSON_GROUPS[old_kind]:
        yield _changed_type("FIELD_WIRE_JSON_COMPATIBLE_TYPE", field, old, kind, old_kind, _WIRE_JSON_NOTE)
        return
    yield from _compatible_named("FIELD_WIRE_JSON_COMPATIBLE_TYPE", field, old, kind, current, previous)


def _cardinality_rule(rule: str, categories: str, purpose: str, groups: dict[str, int] | None) -> None:
    def check(field: Field, old: Field, current: Side, previous: Side) -> Iterator[Break]:
        if field.in_map_entry and old.in_map_entry:
            return  # generated entries; presence there means nothing
        now, before = field.cardinality(current), old.cardinality(previous)
        same = now == before if groups is None else groups[now] == groups[before]
        if not same:
            text = f"{field.description} changed cardinality from {before} to {now}"
            yield _break(rule, text, _subject(field), field.location, old.location, field.file.name)

    _field_rule(rule, categories, purpose)(check)


_EXPLICIT, _IMPLICIT = "optional with explicit presence", "optional with implicit presence"
_cardinality_rule("FIELD_SAME_CARDINALITY", "FILE PACKAGE", "a field keeps its cardinality", None)
_cardinality_rule(
    "FIELD_WIRE_COMPATIBLE_CARDINALITY",
    "WIRE",
    "a field's cardinality stays wire compatible",
    {_EXPLICIT: 1, _IMPLICIT: 1, "required": 2, "repeated": 3, "map": 3},
)
_cardinality_rule(
    "FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY",
    "CSR WIRE_JSON",
    "a field's cardinality stays wire and JSON compatible",
    {_EXPLICIT: 1, _IMPLICIT: 1, "required": 2, "repeated": 3, "map": 4},
)


@_field_rule("FIELD_SAME_NAME", "CSR FILE PACKAGE WIRE_JSON", "a field keeps its name")
def _field_same_name(field: Field, old: Field, current: Side, previous: Side) -> Iterator[Break]:
    before, now = (old.full_name, field.full_name) if old.extendee else (old.name, field.name)
    if before != now:
        text = f"{field.description.split(' ', 2)[0]} {field.number} changed name from {before!r} to {now!r}"
        yield _break("FIELD_SAME_NAME", text, _subject(field), field.at(1), old.at(1), field.file.name)


@_field_rule("FIELD_SAME_JSON_NAME", "CSR FILE PACKAGE WIRE_JSON", "a field keeps its JSON name")
def _field_same_json_name(field: Field, old: Field, current: Side, previous: Side) -> Iterator[Break]:
    if old.extendee:
        return
    if old.proto.json_name != field.proto.json_name:
        text = f"{field.description} changed JSON name from {old.proto.json_name!r} to {field.proto.json_name!r}"
        yield _break(
            "FIELD_SAME_JSON_NAME",
            text,
            _subject(field),
            _first(field.at(10), field.location),
            _first(old.at(10), old.location),
            field.file.name,
        )


@_field_rule("FIELD_SAME_ONEOF", "CSR FILE PACKAGE WIRE_JSON WIRE", "a field stays in (or out of) its oneof")
def _field_same_oneof(field: Field, old: Field, current: Side, previous: Side) -> Iterator[Break]:
    if old.extendee:
        return
    before, now = old.real_oneof, field.real_oneof
    if before is None and now is None:
        return
    if before is not None and now is not None:
        if before.name != now.name:
            text = f"{field.description} moved from oneof {before.name} to oneof {now.name}"
            yield _break("FIELD_SAME_ONEOF", text, _subject(field), field.location, old.location, field.file.name)
        return
    text = f"{field.description} moved {'into' if now is not None else 'out of'} a oneof"
    yield _break("FIELD_SAME_ONEOF", text, _subject(field), field.location, old.location, field.file.name)


@_field_rule("FIELD_SAME_JSTYPE", "FILE PACKAGE", "a 64-bit integer field keeps its jstype")
def _field_same_jstype(field: Field, old: Field, current: Side, previous: Side) -> Iterator[Break]:
    wide = (_FIELD.TYPE_INT64, _FIELD.TYPE_SINT64, _FIELD.TYPE_UINT64, _FIELD.TYPE_FIXED64, _FIELD.TYPE_SFIXED64)
    if field.type not in wide or old.type not in wide:
        return
    if field.options.jstype != old.options.jstype:
        names = functools.partial(_enum_name, descriptor_pb2.FieldOptions.JSType)
        text = f"{field.description} changed jstype from {names(old.options.jstype)} to {names(field.options.jstype)}"
        yield _break(
            "FIELD_SAME_JSTYPE",
            text,
            _subject(field),
            _first(field.at(8, 6), field.location),
            _first(old.at(8, 6), old.location),
            field.file.name,
        )


def _cpp_string_type(field: Field) -> tuple[str, bool]:
    """(C++ string type, is it STRING_PIECE): from `ctype`, else in an editions file from the `(pb.cpp)`
    feature set on the field or inherited, else the edition's default (VIEW from 2024)."""
    options = descriptor_pb2.FieldOptions
    if field.options.HasField("ctype"):
        ctype = field.options.ctype
        if ctype == options.CORD:
            return "CORD", False
        if ctype == options.STRING_PIECE:
            return "STRING", True
    if field.file.syntax == "editions":
        chosen = field.language_feature(features.CPP, 2)
        if chosen is None:
            return ("VIEW" if field.file.proto.edition >= descriptor_pb2.EDITION_2024 else "STRING"), False
        return features.CPP_STRING_TYPES.get(chosen, "STRING"), False
    return "STRING", False


@_field_rule("FIELD_SAME_CPP_STRING_TYPE", "FILE PACKAGE", "a string or bytes field keeps its C++ string type")
def _field_same_cpp_string_type(field: Field, old: Field, current: Side, previous: Side) -> Iterator[Break]:
    if field.in_map_entry and old.in_map_entry:
        return
    texts = (_FIELD.TYPE_STRING, _FIELD.TYPE_BYTES)
    if field.type not in texts or old.type not in texts:
        return
    (before, old_piece), (now, piece) = _cpp_string_type(old), _cpp_string_type(field)
    if (before, old_piece) != (now, piece) and not (old_piece and now == "STRING" and not piece):
        shown = ("STRING_PIECE" if old_piece else before, "STRING_PIECE" if piece else now)
        text = f"{field.description} changed C++ string type from {shown[0]} to {shown[1]}"
        yield _break(
            "FIELD_SAME_CPP_STRING_TYPE",
            text,
            _subject(field),
            _first(field.at(8, 1), field.at(8, 21, features.CPP, 2), field.location),
            _first(old.at(8, 1), old.at(8, 21, features.CPP, 2), old.location),
            field.file.name,
        )


def _java_utf8(field: Field) -> int:
    """What Java validates: VERIFY where `java_string_check_utf8` or the `(pb.java)` feature says so, else
    the field's UTF-8 validation."""
    default = field.feature("utf8_validation")
    file_options = field.file.options
    if field.file.syntax != "editions" or file_options.HasField("java_string_check_utf8"):
        return _FEATURES.VERIFY if file_options.java_string_check_utf8 else default
    return _FEATURES.VERIFY if field.language_feature(features.JAVA, 2) == features.JAVA_VERIFY else default


@_field_rule("FIELD_SAME_JAVA_UTF8_VALIDATION", "FILE PACKAGE", "a string field keeps its Java UTF-8 validation")
def _field_same_java_utf8(field: Field, old: Field, current: Side, previous: Side) -> Iterator[Break]:
    if field.type != _FIELD.TYPE_STRING or old.type != _FIELD.TYPE_STRING:
        return
    before, now = _java_utf8(old), _java_utf8(field)
    if before != now:
        names = functools.partial(_enum_name, _FEATURES.Utf8Validation)
        text = f"{field.description} changed Java UTF-8 validation from {names(before)} to {names(now)}"
        yield _break(
            "FIELD_SAME_JAVA_UTF8_VALIDATION",
            text,
            _subject(field),
            _first(field.file.at(8, 27), field.at(8, 21, features.JAVA, 2), field.location),
            _first(old.file.at(8, 27), old.at(8, 21, features.JAVA, 2), old.location),
            field.file.name,
        )


@_field_rule("FIELD_SAME_UTF8_VALIDATION", "FILE PACKAGE", "a string field keeps its UTF-8 validation")
def _field_same_utf8(field: Field, old: Field, current: Side, previous: Side) -> Iterator[Break]:
    if field.type != _FIELD.TYPE_STRING or old.type != _FIELD.TYPE_STRING:
        return
    before, now = old.feature("utf8_validation"), field.feature("utf8_validation")
    if before != now:
        names = functools.partial(_enum_name, _FEATURES.Utf8Validation)
        text = f"{field.description} changed UTF-8 validation from {names(before)} to {names(now)}"
        yield _break(
            "FIELD_SAME_UTF8_VALIDATION",
            text,
            _subject(field),
            _first(field.feature_location("utf8_validation"), field.location),
            _first(old.feature_location("utf8_validation"), old.location),
            field.file.name,
        )
