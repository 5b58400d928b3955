"""Requests built from protovalidate's rules: one that keeps every rule, one that breaks one.

With `validate = true` a request that breaks a rule never reaches its method, so
the generated client and tests cannot send the empty message they send
otherwise: they send one made here from the request's `buf.validate` rules (a
string of `min_len: 3` gets "aaa", an `email` "user@example.com", an int32 of
`gt: 0, lte: 100` gets 1, a required message its own valid fields), and the
tests send one that breaks a single rule of one field, to see it refused.

The rules are read from the protos' descriptors in a pool of their own, where
`buf/validate/validate.proto` (compiled with the protos) defines them. Only rules
whose meaning is known here are met: a CEL expression, a regular expression
Python's `re` cannot check, a rule on a timestamp's value, ... leave the message
without a sample (`Unbuildable`, naming the rule), and the template says so.
"""

from __future__ import annotations

import json
import keyword
from collections.abc import Iterable
from typing import Any

from google.protobuf import descriptor, descriptor_pb2, descriptor_pool, message, message_factory
from msgspec import Struct

from scaffold.generation.rulevalues import (
    UNSET,
    WELL_KNOWN,
    ZERO,
    Enum,
    Unbuildable,
    arguments,
    broken_scalar,
    refuse_keywords,
    scalar,
    statement,
)

_STRING_RULES = {"const", "len", "min_len", "max_len", "len_bytes", "min_bytes", "max_bytes", "prefix", "suffix"}
_STRING_RULES |= {"contains", "not_contains", "in", "not_in", "pattern", "example", *WELL_KNOWN}
_BYTES_RULES = {"const", "len", "min_len", "max_len", "prefix", "suffix", "contains", "in", "not_in", "example"}
_NUMBER_RULES = {"const", "lt", "lte", "gt", "gte", "in", "not_in", "finite", "example"}
_ENUM_RULES = {"const", "defined_only", "in", "not_in", "example"}
_REPEATED_RULES = {"min_items", "max_items", "unique", "items"}
_MAP_RULES = {"min_pairs", "max_pairs", "keys", "values"}
_FIELD_RULES = {"required", "ignore"}
_KINDS = {
    value: name.removeprefix("TYPE_").lower()
    for name, value in vars(descriptor.FieldDescriptor).items()
    if name.startswith("TYPE_") and name not in ("TYPE_MESSAGE", "TYPE_GROUP")
}
"""The rules each scalar type takes, by name (`TYPE_SINT32`: `sint32`)."""
"""What a field's rules may hold besides its type's: anything else (a CEL expression) is not known here."""
_IGNORE_ALWAYS = 3


class Sample(Struct, frozen=True):
    """Two requests of a message, as field values: one that keeps every rule, one that breaks one."""

    valid_values: dict[str, Any] | None
    """A request that keeps every rule; None when one is `unbuildable`."""
    invalid_values: dict[str, Any] | None = None
    """A request that breaks one rule of one field (`broken`); None when no field's rule can be broken alone."""
    broken: str = ""
    unbuildable: str = ""
    """The rule no request could be built for (`rules.v1.Item.code: string.pattern`)."""

    @property
    def valid(self) -> str | None:
        """The valid request's constructor arguments on one line; None when there is none."""
        return None if self.valid_values is None else arguments(self.valid_values)

    @property
    def invalid(self) -> str | None:
        return None if self.invalid_values is None else arguments(self.invalid_values)

    def statement(self, python_type: str, which: str, indent: int, head: str, tail: str = "") -> str:
        """The line(s) `head` + the `which` ("valid" or "invalid") request's constructor call + `tail`, as
        `ruff format` lays them out (the templates write them whole, indentation included)."""
        values = self.valid_values if which == "valid" else self.invalid_values
        if values is None:
            raise ValueError(f"no {which} request: {self.unbuildable or 'no rule can be broken alone'}")
        return statement(python_type, values, indent, head, tail)


def samples(files: Iterable[descriptor_pb2.FileDescriptorProto], message_names: Iterable[str]) -> dict[str, Sample]:
    """A sample of each message of `message_names` that has rules (itself or the messages it holds)."""
    files = list(files)
    builder = _Builder(files)
    found = {}
    for name in dict.fromkeys(message_names):
        message = builder.pool.FindMessageTypeByName(name)
        if not builder.has_rules(message, frozenset()):
            continue
        try:
            valid = builder.valid_message(message, frozenset())
            invalid, broken = builder.invalid_message(message, valid)
            refuse_keywords(valid)  # the broken request differs from it in one field, never such a one
            found[name] = Sample(valid, invalid if broken else None, broken)
        except Unbuildable as error:
            found[name] = Sample(None, unbuildable=str(error))
    return found


class _Builder:
    def __init__(self, files: list[descriptor_pb2.FileDescriptorProto]) -> None:
        self.pool = descriptor_pool.DescriptorPool()  # its own: the rules' classes never meet the default pool
        classes = message_factory.GetMessages(files, pool=self.pool)
        self._field_options = classes["google.protobuf.FieldOptions"]
        self._message_options = classes["google.protobuf.MessageOptions"]
        self._oneof_options = classes["google.protobuf.OneofOptions"]
        self._field_rule: Any = self.pool.FindExtensionByName("buf.validate.field")
        self._message_rule: Any = self.pool.FindExtensionByName("buf.validate.message")
        self._oneof_rule: Any = self.pool.FindExtensionByName("buf.validate.oneof")
        self._rules: dict[str, Any] = {}
        self._with_rules: dict[str, bool] = {}

    def rules(self, field: descriptor.FieldDescriptor) -> Any:
        """The field's `buf.validate.field` rules; None when it has none."""
        if field.full_name not in self._rules:
            self._rules[field.full_name] = _extension(self._field_options, field.GetOptions(), self._field_rule)
        return self._rules[field.full_name]

    def has_rules(self, message: descriptor.Descriptor, seen: frozenset[str]) -> bool:
        """Whether `message`, or a message it holds, has rules (each message's answer kept: schemas share types)."""
        if message.full_name in seen:
            return False
        known = self._with_rules.get(message.full_name)
        if known is None:
            known = self._message_rules(message) is not None or any(self._oneof_required(o) for o in message.oneofs)
            for field in message.fields:
                if known:
                    break
                held = field.message_type
                known = self.rules(field) is not None or (
                    held is not None and self.has_rules(held, seen | {message.full_name})
                )
            self._with_rules[message.full_name] = known
        return known

    def _message_rules(self, message: descriptor.Descriptor) -> Any:
        rules = _extension(self._message_options, message.GetOptions(), self._message_rule)
        return rules if rules is not None and rules.ListFields() else None

    def _oneof_required(self, oneof: descriptor.OneofDescriptor) -> bool:
        rules = _extension(self._oneof_options, oneof.GetOptions(), self._oneof_rule)
        return rules is not None and bool(rules.required)

    def valid_message(self, message: descriptor.Descriptor, seen: frozenset[str]) -> dict[str, Any]:
        if message.full_name in seen:
            raise Unbuildable(f"{message.full_name} (a required field holds its own message)")
        if self._message_rules(message) is not None:
            raise Unbuildable(f"{message.full_name}'s message rules (buf.validate.message)")
        forced = {
            next((f.name for f in oneof.fields if not self._ignored(f)), "")
            for oneof in message.oneofs
            if self._oneof_required(oneof)
        }
        values = {}
        for field in message.fields:
            value = self.valid_field(field, seen | {message.full_name}, force=field.name in forced)
            if value is not UNSET:
                values[field.name] = value
        return values

    def _ignored(self, field: descriptor.FieldDescriptor) -> bool:
        rules = self.rules(field)
        return rules is not None and rules.ignore == _IGNORE_ALWAYS

    def valid_field(self, field: descriptor.FieldDescriptor, seen: frozenset[str], force: bool = False) -> Any:
        rules = self.rules(field)
        if self._ignored(field):
            return UNSET
        required = force or field.is_required or (rules is not None and rules.required)
        if not required and not field.is_repeated and (field.has_presence or rules is None):
            return UNSET  # checked only when set (whatever its rules say), or it has no rules
        _refuse_unknown(field, rules)
        if _is_map(field):
            return self._valid_map(field, rules, seen)
        if field.is_repeated:
            return self._valid_repeated(field, rules, seen, required)
        if field.message_type is not None:  # required, here
            if rules is not None and rules.WhichOneof("type") is not None:
                raise Unbuildable(f"{field.full_name}: {rules.WhichOneof('type')} rules")
            return self.valid_message(field.message_type, seen)
        return scalar(field, _type_rules(field, rules), nonzero=required, index=0)

    def _valid_repeated(
        self, field: descriptor.FieldDescriptor, rules: Any, seen: frozenset[str], required: bool
    ) -> Any:
        repeated = _checked(rules, "repeated", _REPEATED_RULES, field) if rules is not None else None
        count = max(repeated.min_items if repeated is not None else 0, 1 if required else 0)
        if count == 0:
            return UNSET
        if repeated is not None and repeated.HasField("max_items") and repeated.max_items < count:
            raise Unbuildable(f"{field.full_name}: repeated.max_items below min_items")
        items = repeated.items if repeated is not None and repeated.HasField("items") else None
        if field.message_type is not None:
            if items is not None and items.ListFields():
                raise Unbuildable(f"{field.full_name}: repeated.items on messages")
            made = [self.valid_message(field.message_type, seen) for _ in range(count)]
        else:
            made = [scalar(field, _type_rules(field, items), nonzero=False, index=i) for i in range(count)]
        if repeated is not None and repeated.unique and len({json.dumps(v, default=str) for v in made}) < count:
            raise Unbuildable(f"{field.full_name}: repeated.unique")
        return made

    def _valid_map(self, field: descriptor.FieldDescriptor, rules: Any, seen: frozenset[str]) -> Any:
        pairs = _checked(rules, "map", _MAP_RULES, field) if rules is not None else None
        count = max(pairs.min_pairs if pairs is not None else 0, 1 if rules is not None and rules.required else 0)
        if count == 0:
            return UNSET
        entry = field.message_type
        assert entry is not None  # a map's field holds its entry message
        key_field, value_field = entry.fields_by_name["key"], entry.fields_by_name["value"]
        key_rules = pairs.keys if pairs is not None and pairs.HasField("keys") else None
        value_rules = pairs.values if pairs is not None and pairs.HasField("values") else None
        made = {}
        if value_field.message_type is not None or value_field.enum_type is not None:
            raise Unbuildable(f"{field.full_name}: a map of {'messages' if value_field.message_type else 'enums'}")
        for index in range(count):
            key = scalar(key_field, _type_rules(key_field, key_rules), nonzero=False, index=index)
            made[key] = scalar(value_field, _type_rules(value_field, value_rules), nonzero=False, index=0)
        if len(made) < count:
            raise Unbuildable(f"{field.full_name}: map keys that differ")
        return made

    def invalid_message(self, message: descriptor.Descriptor, valid: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """`valid` with one field's value breaking one of its rules, and that field's name; ({}, "") if none can."""
        for field in message.fields:
            rules = self.rules(field)
            if rules is None or rules.ignore != 0 or _in_real_oneof(field) or keyword.iskeyword(field.name):
                continue
            broken = self._invalid_field(field, rules, valid.get(field.name, UNSET))
            if broken is not UNSET:
                changed = dict(valid)
                if broken is None:
                    changed.pop(field.name, None)
                else:
                    changed[field.name] = broken
                return changed, field.name
        return {}, ""

    def _invalid_field(self, field: descriptor.FieldDescriptor, rules: Any, value: Any) -> Any:
        """A value of `field` that breaks a rule (None: left unset), or UNSET when none is known."""
        if rules.required and value is not UNSET and not field.is_required:  # that one must be sent
            if field.has_presence or field.is_repeated:
                return None
            return _zero(field)  # without presence, required means not the zero value
        kind = rules.WhichOneof("type")
        if _is_map(field) or kind is None:
            return UNSET
        if kind == "repeated":
            repeated = rules.repeated
            if repeated.min_items > 0 and isinstance(value, list):
                return value[: repeated.min_items - 1] or None
            return UNSET
        if field.is_repeated or field.message_type is not None:
            return UNSET
        if value is UNSET:  # a field with presence, left unset: set, it is checked
            try:
                value = scalar(field, _type_rules(field, rules), nonzero=False, index=0)
            except Unbuildable:
                return UNSET
        return broken_scalar(field, getattr(rules, kind), kind, value)


def _extension(options_class: Any, options: message.Message, extension: Any) -> Any:
    """The value of `extension` in `options`, read through the rules' own pool; None when unset."""
    parsed = options_class.FromString(options.SerializeToString())
    return parsed.Extensions[extension] if parsed.HasExtension(extension) else None


def _refuse_unknown(field: descriptor.FieldDescriptor, rules: Any) -> None:
    """Unbuildable when the field's rules hold more than its type's rules, `required` and `ignore`."""
    if rules is None:
        return
    kind = rules.WhichOneof("type")
    for rule, _ in rules.ListFields():
        if rule.name != kind and rule.name not in _FIELD_RULES:
            raise Unbuildable(f"{field.full_name}: its {rule.name} rules")


def _in_real_oneof(field: descriptor.FieldDescriptor) -> bool:
    """In a oneof of the proto's, not the one protoc makes for a proto3 `optional` field (`_name`)."""
    oneof = field.containing_oneof
    return oneof is not None and not (len(oneof.fields) == 1 and oneof.name == f"_{field.name}")


def _zero(field: descriptor.FieldDescriptor) -> Any:
    """The zero value of a scalar field, as a constructor takes it."""
    if field.type == descriptor.FieldDescriptor.TYPE_BYTES:
        return b""
    if field.enum_type is not None:
        zero = next((value.name for value in field.enum_type.values if value.number == 0), None)
        return UNSET if zero is None else Enum(zero)
    return ZERO.get(field.cpp_type, UNSET)


def _is_map(field: descriptor.FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _checked(rules: Any, kind: str, known: set[str], field: descriptor.FieldDescriptor) -> Any:
    """`rules`' `kind` rules, once each rule set is one this module knows."""
    chosen = rules.WhichOneof("type")
    if chosen is None:
        return None
    if chosen != kind:
        raise Unbuildable(f"{field.full_name}: {chosen} rules")
    typed = getattr(rules, kind)
    for rule, _ in typed.ListFields():
        if rule.is_extension or rule.name not in known:
            raise Unbuildable(f"{field.full_name}: {kind}.{rule.name}")
    return typed


def _type_rules(field: descriptor.FieldDescriptor, rules: Any) -> Any:
    """The field's rules of its type (`StringRules`, `Int32Rules`, ...); None when it has none."""
    if rules is None:
        return None
    _refuse_unknown(field, rules)
    kind = rules.WhichOneof("type")
    if kind is None:
        return None
    if kind != _KINDS.get(field.type):  # protovalidate refuses to compile such rules
        raise Unbuildable(f"{field.full_name}: {kind} rules on a field of another type")
    known = _STRING_RULES if kind == "string" else _BYTES_RULES if kind == "bytes" else _NUMBER_RULES
    known = _ENUM_RULES if kind == "enum" else {"const", "example"} if kind == "bool" else known
    return _checked(rules, kind, known, field)
