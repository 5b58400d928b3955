"""buf's rules on what files, messages and enums declare: file options, syntax and package; a message's
descriptor accessor, JSON format and required fields; an enum's type and its values' names.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator

from scaffold.breaking.protosource import Enum, File, Message, Side
from scaffold.breaking.rulebook import (
    _FEATURES,
    _FIELD,
    RULES,
    Break,
    Rule,
    _break,
    _enum_name,
    _enums,
    _files,
    _first,
    _messages,
    _rule,
    _subject,
)

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
            if before is None or set(before) <= set(values):
                continue  # buf's rule: every old name of the number stays (a new alias beside them breaks nothing)
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
