"""buf's rules on deletions: files, packages, services, RPCs, messages, enums, oneofs, fields and enum
values that the old side had, and the reserved and extension ranges it kept.

Each finding is located in the current proto at the closest enclosing element
that survived, else only by file.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

from scaffold.breaking.protosource import ENUM_MAX, Element, Enum, File, Location, Message, Side
from scaffold.breaking.rulebook import (
    RULES,
    Break,
    Rule,
    Subject,
    _break,
    _collapsed,
    _enums,
    _files,
    _in_ranges,
    _messages,
    _missing,
    _range_text,
    _rule,
    _services,
    _subject,
)

# Deletions.


def _where_deleted(nested_name: str, current: dict[str, Message]) -> Location | None:
    """buf's place for an element gone: the closest enclosing message of `current` still there."""
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
                    _where_deleted(name, messages),
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
        if not now and what != "service":
            continue  # as buf: a package left with no message (enum, extension) is not compared for them
        messages = {m.nested_name: m for file in now_packages[package] for m in file.all_messages()}
        for old in old_files:
            for name, element in sorted(members(old).items()):
                if name in now:
                    continue
                file = current.files.get(old.name)
                # buf looks for a deleted message's closest enclosing message anywhere in the package, for an
                # enum's or an extension's in the file it was in (and places a service at its file)
                inside = (
                    messages if what == "message" else {m.nested_name: m for m in file.all_messages()} if file else {}
                )
                here = _where_deleted(name, inside) if what != "service" else None
                shown = f"{package}.{name}" if package else name
                message = f"{what} {shown} was deleted from package {package or '(none)'}"
                placed = here.file if here else file.name if file else None
                yield _break(rule, message, _subject(element), here, element.location, placed)


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
