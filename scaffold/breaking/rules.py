"""buf's breaking-change rules, over two `protosource.Side`s.

Rule IDs, categories and what each rule flags are buf's (1.75), so that a
team can move between `buf breaking` and `scaffold breaking` without
relearning anything; the differential test holds the two to the same
findings. Pairing is buf's too: messages, enums and services are paired by
full name across all checked files (so moving a message to another file of
its package keeps its fields compared), fields by number, RPCs by name,
extensions by extendee and number; the FILE rules pair files by name.

Each finding is located in the current proto when the element (or the
closest enclosing one that survived) still exists there, else only by file;
`against` is its place in the old proto. The wording of the messages is ours.
"""

from __future__ import annotations

import functools
import math
import operator
import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from google.protobuf import descriptor_pb2

from scaffold.breaking.protosource import (
    ENUM_MAX,
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
from scaffold.core.text import lines as text_lines

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


# Deletions.


def _where_deleted(file: File, nested_name: str, current: dict[str, Message]) -> Location | None:
    """buf's place for an element gone from a file: the closest enclosing message that is still there."""
    parts = nested_name.split(".")
    for end in range(len(parts) - 1, 0, -1):
        message = current.get(".".join(parts[:end]))
        if message is not None:
            return message.location
    return None


def _deleted_from_files(
    rule: str, what: str, current: Side, previous: Side, members: Callable[[File], dict[str, Element]]
) -> Iterator[Break]:
    for file, old in _files(current, previous):
        now = members(file)
        messages = {m.nested_name: m for m in file.all_messages()}
        for name, element in sorted(members(old).items()):
            if name not in now:
                yield _break(
                    rule,
                    f"{what} {old.prefixed(name)} was deleted from {file.name}",
                    _subject(element),
                    _where_deleted(file, name, messages),
                    element.location,
                    file.name,
                )


_MEMBERS: dict[str, Callable[[File], dict[str, Element]]] = {
    "enum": lambda f: {e.nested_name: e for e in f.all_enums()},
    "extension": lambda f: {x.nested_name: x for x in f.all_extensions()},
    "message": lambda f: {m.nested_name: m for m in f.all_messages()},
    "service": lambda f: {s.name: s for s in f.services},
}
"""What a file holds of each kind, by the name buf pairs it with (nested names; services by name)."""

for _what, _categories in (("enum", "CSR FILE"), ("extension", "FILE"), ("message", "CSR FILE")):
    _id = f"{_what.upper()}_NO_DELETE"
    RULES[_id] = Rule(
        _id,
        tuple(_categories.split()),
        f"an {_what} is not deleted from its file" if _what[0] in "ae" else f"a {_what} is not deleted from its file",
        functools.partial(_deleted_from_files, _id, _what, members=_MEMBERS[_what]),
    )


@_rule("SERVICE_NO_DELETE", "FILE", "a service is not deleted from its file")
def _service_no_delete(current: Side, previous: Side) -> Iterator[Break]:
    for file, old in _files(current, previous):
        now = {s.name for s in file.services}
        for service in old.services:
            if service.name not in now:
                message = f"service {service.full_name} was deleted from {file.name}"
                yield _break("SERVICE_NO_DELETE", message, _subject(service), None, service.location, file.name)


@_rule("FILE_NO_DELETE", "CSR FILE", "a file is not deleted")
def _file_no_delete(current: Side, previous: Side) -> Iterator[Break]:
    for name, old in previous.files.items():
        if name not in current.files:
            yield _break("FILE_NO_DELETE", f"file {name} was deleted", _subject(old), None, None, None, name)


def _deleted_from_packages(
    rule: str, what: str, current: Side, previous: Side, members: Callable[[File], dict[str, Element]]
) -> Iterator[Break]:
    now_packages, old_packages = current.packages, previous.packages
    for package, old_files in sorted(old_packages.items()):
        if package not in now_packages:
            continue
        now = {name for file in now_packages[package] for name in members(file)}
        for old in old_files:
            for name, element in sorted(members(old).items()):
                if name in now:
                    continue
                file = current.files.get(old.name)
                here = None
                if file is not None and what != "service":
                    here = _where_deleted(file, name, {m.nested_name: m for m in file.all_messages()})
                shown = f"{package}.{name}" if package else name
                message = f"{what} {shown} was deleted from package {package or '(none)'}"
                yield _break(rule, message, _subject(element), here, element.location, file.name if file else None)


for _what, _members in _MEMBERS.items():
    _id = f"PACKAGE_{_what.upper()}_NO_DELETE"
    RULES[_id] = Rule(
        _id,
        ("PACKAGE",),
        f"an {_what} is not deleted from its package"
        if _what[0] in "ae"
        else f"a {_what} is not deleted from its package",
        functools.partial(_deleted_from_packages, _id, _what, members=_members),
    )


@_rule("PACKAGE_NO_DELETE", "PACKAGE", "a package keeps at least one file")
def _package_no_delete(current: Side, previous: Side) -> Iterator[Break]:
    now = current.packages
    for package, files in sorted(previous.packages.items()):
        if package not in now:
            first = min(file.name for file in files)
            message = f"package {package or '(none)'} was deleted"
            yield _break("PACKAGE_NO_DELETE", message, Subject("file", first), None, None, None, first)


@_rule("RPC_NO_DELETE", "FILE PACKAGE", "an RPC is not deleted from its service")
def _rpc_no_delete(current: Side, previous: Side) -> Iterator[Break]:
    for service, old in _services(current, previous):
        now = {m.name for m in service.methods}
        for method in old.methods:
            if method.name not in now:
                message = f"RPC {method.name} was deleted from service {old.full_name}"
                yield _break(
                    "RPC_NO_DELETE", message, _subject(method), service.location, old.location, service.file.name
                )


@_rule("ONEOF_NO_DELETE", "CSR FILE PACKAGE", "a oneof is not deleted from its message")
def _oneof_no_delete(current: Side, previous: Side) -> Iterator[Break]:
    for message, old in _messages(current, previous):
        now = {o.name for o in message.oneofs}
        for oneof in old.oneofs:
            if oneof.name not in now and not oneof.synthetic:
                text = f"oneof {oneof.name} was deleted from message {message.full_name}"
                yield _break(
                    "ONEOF_NO_DELETE", text, _subject(message), message.location, old.location, message.file.name
                )


def _field_deleted(rule: str, current: Side, previous: Side, unless: str = "") -> Iterator[Break]:
    for message, old in _messages(current, previous):
        now = {f.number for f in message.fields}
        for field in old.fields:
            if field.number in now:
                continue
            if unless == "number" and _in_ranges(field.number, message.reserved_ranges):
                continue
            if unless == "name" and field.name in message.reserved_names:
                continue
            suffix = {
                "number": f" without reserving number {field.number}",
                "name": f" without reserving name {field.name!r}",
            }
            text = f"{field.description} was deleted{suffix.get(unless, '')}"
            yield _break(rule, text, _subject(field), message.location, old.location, message.file.name)


_DELETIONS = (
    ("", "", "CSR FILE PACKAGE", "is not deleted"),
    ("_UNLESS_NAME_RESERVED", "name", "CSR WIRE_JSON", "is deleted only with its name reserved"),
    ("_UNLESS_NUMBER_RESERVED", "number", "CSR WIRE_JSON WIRE", "is deleted only with its number reserved"),
)
for _suffix, _unless, _categories, _purpose in _DELETIONS:
    RULES[f"FIELD_NO_DELETE{_suffix}"] = Rule(
        f"FIELD_NO_DELETE{_suffix}",
        tuple(_categories.split()),
        f"a field {_purpose}",
        functools.partial(_field_deleted, f"FIELD_NO_DELETE{_suffix}", unless=_unless),
    )


def _enum_value_deleted(rule: str, current: Side, previous: Side, unless: str = "") -> Iterator[Break]:
    for enum, old in _enums(current, previous):
        now = enum.by_number()
        for number, names in sorted(old.by_number().items()):
            if number in now:
                continue
            if unless == "number" and _in_ranges(number, enum.reserved_ranges):
                continue
            if unless == "name" and all(name in enum.reserved_names for name in names):
                continue
            listed = ", ".join(sorted(names))
            suffix = {"number": f" without reserving number {number}", "name": f" without reserving {listed}"}
            text = f"value {number} ({listed}) was deleted from enum {enum.full_name}{suffix.get(unless, '')}"
            yield _break(rule, text, _subject(enum), enum.location, old.location, old.file.name)


for _suffix, _unless, _categories, _purpose in _DELETIONS:
    RULES[f"ENUM_VALUE_NO_DELETE{_suffix}"] = Rule(
        f"ENUM_VALUE_NO_DELETE{_suffix}",
        tuple(_categories.split()),
        f"an enum value {_purpose}",
        functools.partial(_enum_value_deleted, f"ENUM_VALUE_NO_DELETE{_suffix}", unless=_unless),
    )


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


def _ranges_kept(
    rule: str,
    what: str,
    element: Message | Enum,
    old: Message | Enum,
    before: list[tuple[int, int]],
    now: list[tuple[int, int]],
) -> Iterator[Break]:
    maximum = element.max_number if isinstance(element, Message) else ENUM_MAX
    covered = _collapsed(now)
    for start, end in before:
        gaps = _missing(start, end, covered)
        if gaps:
            lost = ", ".join(_range_text(low, high, maximum) for low, high in gaps)
            text = f"{what} range {_range_text(start, end, maximum)} of {element.kind} {element.full_name} lost {lost}"
            yield _break(rule, text, _subject(element), element.location, old.location, element.file.name)


@_rule("EXTENSION_MESSAGE_NO_DELETE", "CSR FILE PACKAGE", "a message keeps its extension ranges")
def _extension_message_no_delete(current: Side, previous: Side) -> Iterator[Break]:
    for message, old in _messages(current, previous):
        yield from _ranges_kept(
            "EXTENSION_MESSAGE_NO_DELETE", "extension", message, old, old.extension_ranges, message.extension_ranges
        )


def _reserved_kept(rule: str, element: Message | Enum, old: Message | Enum) -> Iterator[Break]:
    yield from _ranges_kept(rule, "reserved", element, old, old.reserved_ranges, element.reserved_ranges)
    for name in sorted(set(old.reserved_names) - set(element.reserved_names)):
        text = f"reserved name {name!r} was taken out of {element.kind} {element.full_name}"
        yield _break(rule, text, _subject(element), element.location, old.location, element.file.name)


@_rule("RESERVED_ENUM_NO_DELETE", "CSR FILE PACKAGE WIRE_JSON WIRE", "an enum keeps its reserved numbers and names")
def _reserved_enum_no_delete(current: Side, previous: Side) -> Iterator[Break]:
    for enum, old in _enums(current, previous):
        yield from _reserved_kept("RESERVED_ENUM_NO_DELETE", enum, old)


@_rule(
    "RESERVED_MESSAGE_NO_DELETE", "CSR FILE PACKAGE WIRE_JSON WIRE", "a message keeps its reserved numbers and names"
)
def _reserved_message_no_delete(current: Side, previous: Side) -> Iterator[Break]:
    for message, old in _messages(current, previous):
        yield from _reserved_kept("RESERVED_MESSAGE_NO_DELETE", message, old)


# Files.


def _file_option(rule: str, what: str, number: int, value: Callable[[File], object]) -> None:
    def check(current: Side, previous: Side) -> Iterator[Break]:
        for file, old in _files(current, previous):
            before, now = value(old), value(file)
            if before != now:
                text = f"{what} of {file.name} changed from {before!r} to {now!r}"
                yield _break(rule, text, _subject(file), file.at(8, number), old.at(8, number), file.name)

    RULES[rule] = Rule(rule, ("FILE", "PACKAGE"), f"a file keeps its {what}", check)


for _rule_id, _option, _number in (
    ("FILE_SAME_CC_ENABLE_ARENAS", "cc_enable_arenas", 31),
    ("FILE_SAME_CC_GENERIC_SERVICES", "cc_generic_services", 16),
    ("FILE_SAME_CSHARP_NAMESPACE", "csharp_namespace", 37),
    ("FILE_SAME_GO_PACKAGE", "go_package", 11),
    ("FILE_SAME_JAVA_GENERIC_SERVICES", "java_generic_services", 17),
    ("FILE_SAME_JAVA_MULTIPLE_FILES", "java_multiple_files", 10),
    ("FILE_SAME_JAVA_OUTER_CLASSNAME", "java_outer_classname", 8),
    ("FILE_SAME_JAVA_PACKAGE", "java_package", 1),
    ("FILE_SAME_OBJC_CLASS_PREFIX", "objc_class_prefix", 36),
    ("FILE_SAME_OPTIMIZE_FOR", "optimize_for", 9),
    ("FILE_SAME_PHP_CLASS_PREFIX", "php_class_prefix", 40),
    ("FILE_SAME_PHP_METADATA_NAMESPACE", "php_metadata_namespace", 44),
    ("FILE_SAME_PHP_NAMESPACE", "php_namespace", 41),
    ("FILE_SAME_PY_GENERIC_SERVICES", "py_generic_services", 18),
    ("FILE_SAME_RUBY_PACKAGE", "ruby_package", 45),
    ("FILE_SAME_SWIFT_PREFIX", "swift_prefix", 39),
):
    _file_option(_rule_id, f"option {_option}", _number, operator.attrgetter(f"options.{_option}"))


@_rule("FILE_SAME_SYNTAX", "CSR FILE PACKAGE", "a file keeps its syntax")
def _file_same_syntax(current: Side, previous: Side) -> Iterator[Break]:
    for file, old in _files(current, previous):
        if file.syntax != old.syntax:
            text = f"syntax of {file.name} changed from {old.syntax} to {file.syntax}"
            yield _break("FILE_SAME_SYNTAX", text, _subject(file), file.at(12), old.at(12), file.name)


@_rule("FILE_SAME_PACKAGE", "CSR FILE PACKAGE WIRE_JSON WIRE", "a file keeps its package")
def _file_same_package(current: Side, previous: Side) -> Iterator[Break]:
    for file, old in _files(current, previous):
        if file.package != old.package:
            text = f"package of {file.name} changed from {old.package or '(none)'} to {file.package or '(none)'}"
            yield _break("FILE_SAME_PACKAGE", text, _subject(file), file.at(2), old.at(2), file.name)


# Messages and enums.


@_rule(
    "MESSAGE_NO_REMOVE_STANDARD_DESCRIPTOR_ACCESSOR",
    "CSR FILE PACKAGE",
    "a message does not turn on no_standard_descriptor_accessor",
)
def _message_no_remove_accessor(current: Side, previous: Side) -> Iterator[Break]:
    for message, old in _messages(current, previous):
        if not old.options.no_standard_descriptor_accessor and message.options.no_standard_descriptor_accessor:
            text = f"message {message.full_name} turned on option no_standard_descriptor_accessor"
            yield _break(
                "MESSAGE_NO_REMOVE_STANDARD_DESCRIPTOR_ACCESSOR",
                text,
                _subject(message),
                message.at(7, 2),
                old.at(7, 2),
                message.file.name,
            )


@_rule("MESSAGE_SAME_JSON_FORMAT", "CSR FILE PACKAGE WIRE_JSON", "a message that supported JSON keeps supporting it")
def _message_same_json_format(current: Side, previous: Side) -> Iterator[Break]:
    for message, old in _messages(current, previous):
        yield from _json_format("MESSAGE_SAME_JSON_FORMAT", message, old)


@_rule("ENUM_SAME_JSON_FORMAT", "CSR FILE PACKAGE WIRE_JSON", "an enum that supported JSON keeps supporting it")
def _enum_same_json_format(current: Side, previous: Side) -> Iterator[Break]:
    for enum, old in _enums(current, previous):
        yield from _json_format("ENUM_SAME_JSON_FORMAT", enum, old)


def _json_format(rule: str, element: Message | Enum, old: Message | Enum) -> Iterator[Break]:
    before, now = old.feature("json_format"), element.feature("json_format")
    if before == _FEATURES.ALLOW and now != _FEATURES.ALLOW:
        text = f"{element.kind} {element.full_name} no longer supports JSON (json_format {_enum_name(_FEATURES.JsonFormat, now)})"
        yield _break(
            rule,
            text,
            _subject(element),
            _first(element.feature_location("json_format"), element.location),
            _first(old.feature_location("json_format"), old.location),
            element.file.name,
        )


@_rule("ENUM_SAME_TYPE", "FILE PACKAGE", "an enum stays open or closed")
def _enum_same_type(current: Side, previous: Side) -> Iterator[Break]:
    for enum, old in _enums(current, previous):
        if enum.closed != old.closed:
            states = ("closed", "open") if old.closed else ("open", "closed")
            text = f"enum {enum.full_name} changed from {states[0]} to {states[1]}"
            yield _break(
                "ENUM_SAME_TYPE",
                text,
                _subject(enum),
                _first(enum.feature_location("enum_type"), enum.location),
                _first(old.feature_location("enum_type"), old.location),
                enum.file.name,
            )


@_rule("ENUM_VALUE_SAME_NAME", "CSR FILE PACKAGE WIRE_JSON", "an enum number keeps its name")
def _enum_value_same_name(current: Side, previous: Side) -> Iterator[Break]:
    for enum, old in _enums(current, previous):
        old_numbers = old.by_number()
        for number, values in sorted(enum.by_number().items()):
            before = old_numbers.get(number)
            if before is None or set(values) <= set(before):
                continue
            text = (
                f"value {number} of enum {enum.full_name} changed name from "
                f"{', '.join(sorted(before))} to {', '.join(sorted(values))}"
            )
            for name, value in sorted(values.items()):
                old_value = before.get(name)
                yield _break(
                    "ENUM_VALUE_SAME_NAME",
                    text,
                    _subject(value),
                    value.at(2),
                    old_value.at(2) if old_value else None,
                    enum.file.name,
                )


@_rule(
    "MESSAGE_SAME_REQUIRED_FIELDS",
    "CSR FILE PACKAGE WIRE_JSON WIRE",
    "a message neither gains nor loses required fields",
)
def _message_same_required_fields(current: Side, previous: Side) -> Iterator[Break]:
    for message, old in _messages(current, previous):
        before = {f.number: f for f in old.fields if f.proto.label == _FIELD.LABEL_REQUIRED}
        now = {f.number: f for f in message.fields if f.proto.label == _FIELD.LABEL_REQUIRED}
        for number in sorted(set(before) - set(now)):
            text = f"required {before[number].description} is gone: old senders still send it, old readers demand it"
            yield _break(
                "MESSAGE_SAME_REQUIRED_FIELDS",
                text,
                _subject(message),
                message.location,
                old.location,
                message.file.name,
            )
        for number in sorted(set(now) - set(before)):
            text = f"required {now[number].description} was added: old senders do not send it"
            yield _break(
                "MESSAGE_SAME_REQUIRED_FIELDS", text, _subject(message), now[number].location, None, message.file.name
            )


# Fields.


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
    """(C++ string type, is it STRING_PIECE): from `ctype`; (pb.cpp) features are not read (see the README)."""
    options = descriptor_pb2.FieldOptions
    if field.options.HasField("ctype"):
        ctype = field.options.ctype
        if ctype == options.CORD:
            return "CORD", False
        if ctype == options.STRING_PIECE:
            return "STRING", True
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
            _first(field.at(8, 1), field.location),
            _first(old.at(8, 1), old.location),
            field.file.name,
        )


def _java_utf8(field: Field) -> int:
    default = field.feature("utf8_validation")
    file_options = field.file.options
    if field.file.syntax != "editions" or file_options.HasField("java_string_check_utf8"):
        return _FEATURES.VERIFY if file_options.java_string_check_utf8 else default
    return default


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
            _first(field.file.at(8, 27), field.location),
            _first(old.file.at(8, 27), old.location),
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


# RPCs.


def _rpc_rule(rule: str, purpose: str) -> Callable[[Callable[[Method, Method], Iterator[Break]]], None]:
    def register(check: Callable[[Method, Method], Iterator[Break]]) -> None:
        def over_pairs(current: Side, previous: Side) -> Iterator[Break]:
            for method, old in _methods(current, previous):
                yield from check(method, old)

        RULES[rule] = Rule(rule, ("CSR", "FILE", "PACKAGE", "WIRE_JSON", "WIRE"), purpose, over_pairs)

    return register


def _rpc(method: Method) -> str:
    return f"RPC {method.service.full_name}.{method.name}"


@_rpc_rule("RPC_SAME_CLIENT_STREAMING", "an RPC keeps its client streaming")
def _rpc_same_client_streaming(method: Method, old: Method) -> Iterator[Break]:
    if method.proto.client_streaming != old.proto.client_streaming:
        how = "now streams" if method.proto.client_streaming else "no longer streams"
        text = f"{_rpc(method)} {how} its requests"
        yield _break(
            "RPC_SAME_CLIENT_STREAMING", text, _subject(method), method.location, old.location, method.file.name
        )


@_rpc_rule("RPC_SAME_SERVER_STREAMING", "an RPC keeps its server streaming")
def _rpc_same_server_streaming(method: Method, old: Method) -> Iterator[Break]:
    if method.proto.server_streaming != old.proto.server_streaming:
        how = "now streams" if method.proto.server_streaming else "no longer streams"
        text = f"{_rpc(method)} {how} its responses"
        yield _break(
            "RPC_SAME_SERVER_STREAMING", text, _subject(method), method.location, old.location, method.file.name
        )


@_rpc_rule("RPC_SAME_REQUEST_TYPE", "an RPC keeps its request type")
def _rpc_same_request_type(method: Method, old: Method) -> Iterator[Break]:
    if method.proto.input_type != old.proto.input_type:
        text = f"{_rpc(method)} changed request type from {old.proto.input_type.lstrip('.')} to {method.proto.input_type.lstrip('.')}"
        yield _break("RPC_SAME_REQUEST_TYPE", text, _subject(method), method.at(2), old.at(2), method.file.name)


@_rpc_rule("RPC_SAME_RESPONSE_TYPE", "an RPC keeps its response type")
def _rpc_same_response_type(method: Method, old: Method) -> Iterator[Break]:
    if method.proto.output_type != old.proto.output_type:
        text = f"{_rpc(method)} changed response type from {old.proto.output_type.lstrip('.')} to {method.proto.output_type.lstrip('.')}"
        yield _break("RPC_SAME_RESPONSE_TYPE", text, _subject(method), method.at(3), old.at(3), method.file.name)


@_rpc_rule("RPC_SAME_IDEMPOTENCY_LEVEL", "an RPC keeps its idempotency_level")
def _rpc_same_idempotency_level(method: Method, old: Method) -> Iterator[Break]:
    before, now = old.options.idempotency_level, method.options.idempotency_level
    if before != now:
        names = functools.partial(_enum_name, descriptor_pb2.MethodOptions.IdempotencyLevel)
        text = f"{_rpc(method)} changed idempotency_level from {names(before)} to {names(now)}"
        yield _break(
            "RPC_SAME_IDEMPOTENCY_LEVEL", text, _subject(method), method.at(4, 34), old.at(4, 34), method.file.name
        )


def find(current: Side, previous: Side, rules: tuple[str, ...]) -> list[Break]:
    """Every break the named rules find, in a stable order (by place, then rule)."""
    found = [b for rule in rules for b in RULES[rule].check(current, previous)]
    return sorted(found, key=_order)


def _order(item: Break) -> tuple[object, ...]:
    return (
        item.file or item.against_file or "",
        item.location.line if item.location else 0,
        item.location.col if item.location else 0,
        item.rule,
        item.message,
    )
