"""The rulebook of `scaffold breaking`: what a rule is and finds, the registry, and how elements pair up.

A rule (`Rule`) checks two `protosource.Side`s and yields `Break`s, each
about a `Subject` (for finding the user's code it touches). Rules register
themselves in `RULES` by buf's IDs (`scaffold.breaking.rules` loads them
all). Pairing is buf's: messages, enums and services by full name across all
checked files, fields by number, RPCs by name, extensions by extendee and
number; the FILE rules pair files by name. Numbered ranges (reserved,
extension) are compared with the helpers at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from google.protobuf import descriptor_pb2

from scaffold.breaking.protosource import (
    Element,
    Enum,
    EnumValue,
    Field,
    File,
    Location,
    Message,
    Method,
    Service,
    Side,
)

_FIELD = descriptor_pb2.FieldDescriptorProto
_FEATURES = descriptor_pb2.FeatureSet


@dataclass(frozen=True)
class Subject:
    """What a break is about, for finding the user's code it touches: a message, enum, service, RPC or file."""

    kind: str
    name: str
    member: str = ""


@dataclass(frozen=True)
class Break:
    rule: str
    message: str
    location: Location | None
    file: str | None
    """The current file, when the break has no place of its own in it (buf prints it at 1:1)."""
    against: Location | None
    against_file: str | None
    subject: Subject


@dataclass(frozen=True)
class Rule:
    id: str
    categories: tuple[str, ...]
    purpose: str
    check: Callable[[Side, Side], Iterator[Break]]


RULES: dict[str, Rule] = {}


def _rule(rule_id: str, categories: str, purpose: str) -> Callable[[Callable[..., Iterator[Break]]], None]:
    def register(check: Callable[..., Iterator[Break]]) -> None:
        RULES[rule_id] = Rule(rule_id, tuple(categories.split()), purpose, check)

    return register


def _break(
    rule: str,
    message: str,
    subject: Subject,
    here: Location | None,
    before: Location | None,
    file: str | None,
    against_file: str | None = None,
) -> Break:
    return Break(
        rule,
        message,
        here,
        here.file if here else file,
        before,
        before.file if before else against_file,
        subject,
    )


def _enum_name(wrapper: Any, value: int) -> str:
    return str(wrapper.Name(value))


def _first(*locations: Location | None) -> Location | None:
    return next((location for location in locations if location is not None), None)


def _subject(element: Element) -> Subject:
    if isinstance(element, Method):
        return Subject("rpc", element.service.full_name, element.name)
    if isinstance(element, Service):
        return Subject("service", element.full_name)
    if isinstance(element, Field):
        if element.message is not None:
            return Subject("message", element.message.full_name, element.name)
        return Subject("file", element.file.name)
    if isinstance(element, (Message, Enum)):
        return Subject(element.kind, element.full_name)
    if isinstance(element, EnumValue):
        return Subject("enum", element.enum.full_name, element.name)
    return Subject("file", element.file.name)


# Pairing: every element of the old side with its counterpart, when it has one.


def _unchanged(current: Side, previous: Side) -> frozenset[str]:
    """The files whose descriptors are the same on both sides, source info aside (a comment moves lines).

    Every rule compares an element with its counterpart, and all an element's meaning comes from its own
    file (features, map entries, nested types), so a pair from one unchanged file breaks nothing and is not
    visited: after a change to one proto of googleapis, the rules look at that file's elements only. The
    one dependency across files, the default of an enum field without one (the enum's first value), is
    kept (`_fields`).
    """
    key = ("unchanged", previous)
    if key not in current.memo:
        same = frozenset(
            name
            for name, file in current.files.items()
            if name in previous.files and _same_descriptor(file.proto, previous.files[name].proto)
        )
        current.memo[key] = same
    found: frozenset[str] = current.memo[key]
    return found


_COMPARED: tuple[str, ...] = (
    "package",
    "dependency",
    "public_dependency",
    "weak_dependency",
    "message_type",
    "enum_type",
)
_COMPARED += ("service", "extension", "options", "syntax", "edition")


def _same_descriptor(a: descriptor_pb2.FileDescriptorProto, b: descriptor_pb2.FileDescriptorProto) -> bool:
    return all(getattr(a, name) == getattr(b, name) for name in _COMPARED)


def _files(current: Side, previous: Side) -> Iterator[tuple[File, File]]:
    unchanged = _unchanged(current, previous)
    for name, old in previous.files.items():
        if name in current.files and name not in unchanged:
            yield current.files[name], old


_Named = TypeVar("_Named", Message, Enum, Service)


def _by_name(
    current: dict[str, _Named], previous: dict[str, _Named], unchanged: frozenset[str]
) -> Iterator[tuple[_Named, _Named]]:
    for name, old in sorted(previous.items()):
        now = current.get(name)
        if now is not None and not (now.file.name == old.file.name and old.file.name in unchanged):
            yield now, old


def _messages(current: Side, previous: Side) -> Iterator[tuple[Message, Message]]:
    yield from _by_name(current.messages, previous.messages, _unchanged(current, previous))


def _enums(current: Side, previous: Side) -> Iterator[tuple[Enum, Enum]]:
    yield from _by_name(current.enums, previous.enums, _unchanged(current, previous))


def _services(current: Side, previous: Side) -> Iterator[tuple[Service, Service]]:
    yield from _by_name(current.services, previous.services, _unchanged(current, previous))


def _methods(current: Side, previous: Side) -> Iterator[tuple[Method, Method]]:
    for service, old in _services(current, previous):
        now = {m.name: m for m in service.methods}
        for method in old.methods:
            if method.name in now:
                yield now[method.name], method


def _fields(current: Side, previous: Side) -> list[tuple[Field, Field]]:
    """Every field (and extension) of the old side with its counterpart: paired once, for all field rules.

    Fields of unchanged files are left out (`_unchanged`) except enum fields, whose implicit default is
    their enum's first value, wherever that enum is declared.
    """
    key = ("fields", previous)
    if key not in current.memo:
        current.memo[key] = list(_field_pairs(current, previous))
    pairs: list[tuple[Field, Field]] = current.memo[key]
    return pairs


def _field_pairs(current: Side, previous: Side) -> Iterator[tuple[Field, Field]]:
    unchanged = _unchanged(current, previous)
    for name, old in sorted(previous.messages.items()):
        message = current.messages.get(name)
        if message is None:
            continue
        same = message.file.name == old.file.name and old.file.name in unchanged
        now = {f.number: f for f in message.fields}
        for field in old.fields:
            if field.number in now and (not same or field.type == _FIELD.TYPE_ENUM):
                yield now[field.number], field
    now_extensions = current.extensions
    for key, extension in sorted(previous.extensions.items()):
        found = now_extensions.get(key)
        if found is None:
            continue
        same = found.file.name == extension.file.name and extension.file.name in unchanged
        if not same or extension.type == _FIELD.TYPE_ENUM:
            yield found, extension


# Ranges.


def _in_ranges(number: int, ranges: list[tuple[int, int]]) -> bool:
    return any(start <= number <= end for start, end in ranges)


def _collapsed(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _missing(start: int, end: int, covered: list[tuple[int, int]]) -> list[tuple[int, int]]:
    gaps = []
    for low, high in covered:
        if high < start or low > end:
            continue
        if low > start:
            gaps.append((start, low - 1))
        start = high + 1
        if start > end:
            return gaps
    return [*gaps, (start, end)]


def _range_text(start: int, end: int, maximum: int) -> str:
    if start == end:
        return str(start)
    return f"{start} to {'max' if end >= maximum else end}"
