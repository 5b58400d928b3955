"""How messages travel over HTTP: protobuf's binary or JSON form, framed or not, maybe gzipped.

A JSON body is checked against the message's descriptor before protobuf parses it, so a
wrong one is answered with the field at fault (`$.location.latitude: expected an
integer`), which protobuf's own error does not say. JSON follows protobuf's JSON mapping
(`json_format`): field names in lowerCamelCase or as in the proto, 64-bit integers as
strings or numbers, enums by name or number, bytes in base64.

scaffold rewrites this module on every `scaffold gen`: do not edit it.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import zlib
from collections.abc import Iterator
from typing import Any

from google.protobuf import descriptor, json_format, message

FieldDescriptor = descriptor.FieldDescriptor
# Messages whose JSON form is not an object of their fields (protobuf's JSON mapping).
_SPECIAL_JSON = frozenset(
    {
        "google.protobuf.Any",
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
        "google.protobuf.ListValue",
        "google.protobuf.Struct",
        "google.protobuf.Timestamp",
        "google.protobuf.Value",
    }
    | {
        f"google.protobuf.{kind}Value"
        for kind in (
            "Bool",
            "Bytes",
            "Double",
            "Float",
            "Int32",
            "Int64",
            "String",
            "UInt32",
            "UInt64",
        )
    }
)
_INTEGERS = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
_FLOATS = (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE)
_FLAG_COMPRESSED = 0x01


class BadMessage(Exception):
    """A request body that is not a message of the method's input type; the text says where."""


def decode_json(
    data: bytes, cls: type[message.Message], ignore_unknown: bool = False
) -> message.Message:
    return from_json(loads(data or b"{}"), cls, ignore_unknown)


def loads(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadMessage(f"$: not JSON: {error}") from None


def from_json(
    value: Any, cls: type[message.Message], ignore_unknown: bool = False
) -> message.Message:
    """The message `value` (parsed JSON) is, checked first so that an error names the field."""
    problem = json_problem(value, cls.DESCRIPTOR, "$", ignore_unknown)
    if problem:
        raise BadMessage(problem)
    try:
        return json_format.ParseDict(value, cls(), ignore_unknown_fields=ignore_unknown)
    except json_format.ParseError as error:  # what the check above does not look at
        raise BadMessage(f"$: {error}") from None


def encode_json(answer: message.Message) -> bytes:
    return json.dumps(json_format.MessageToDict(answer), separators=(",", ":")).encode()


def decode_binary(data: bytes, cls: type[message.Message]) -> message.Message:
    try:
        return cls.FromString(data)
    except message.DecodeError as error:
        raise BadMessage(
            f"not a {cls.DESCRIPTOR.full_name} in protobuf's binary form: {error}"
        ) from None


def json_problem(
    value: Any, message_type: Any, path: str, ignore_unknown: bool
) -> str | None:
    """Where `value` is not the JSON form of a `message_type` (a Descriptor: pure Python's or upb's),
    or None; the first problem only."""
    if message_type.full_name in _SPECIAL_JSON:
        return None  # json_format checks these, and names the message
    if not isinstance(value, dict):
        return (
            f"{path}: expected an object ({message_type.full_name}), got {_kind(value)}"
        )
    by_name = {
        **message_type.fields_by_name,
        **{f.json_name: f for f in message_type.fields},
    }
    for key, item in value.items():
        field = by_name.get(key)
        where = f"{path}.{key}"
        if field is None:
            if ignore_unknown:
                continue
            return f"{where}: {message_type.full_name} has no field {key!r}"
        if item is None:
            continue  # null: the field's default
        problem = _field_problem(field, item, where, ignore_unknown)
        if problem:
            return problem
    return None


def _field_problem(
    field: FieldDescriptor, value: Any, path: str, ignore_unknown: bool
) -> str | None:
    if (
        field.message_type is not None and field.message_type.GetOptions().map_entry
    ):  # a map field
        if not isinstance(value, dict):
            return f"{path}: expected an object (a map), got {_kind(value)}"
        entry = field.message_type.fields_by_name["value"]
        items = ((f"{path}[{json.dumps(key)}]", item) for key, item in value.items())
        return next(
            (
                p
                for where, item in items
                if (p := _single_problem(entry, item, where, ignore_unknown))
            ),
            None,
        )
    if field.is_repeated:
        if not isinstance(value, list):
            return f"{path}: expected an array, got {_kind(value)}"
        items = ((f"{path}[{index}]", item) for index, item in enumerate(value))
        return next(
            (
                p
                for where, item in items
                if (p := _single_problem(field, item, where, ignore_unknown))
            ),
            None,
        )
    return _single_problem(field, value, path, ignore_unknown)


def _single_problem(
    field: FieldDescriptor, value: Any, path: str, ignore_unknown: bool
) -> str | None:
    kind = field.type
    if kind in (FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_GROUP):
        return json_problem(value, field.message_type, path, ignore_unknown)
    if kind in _INTEGERS:
        return _integer_problem(value, path, *_INTEGERS[kind])
    if kind in _FLOATS:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return f"{path}: expected a number, got {_kind(value)}"
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                return f"{path}: expected a number, got {json.dumps(value)}"
            if math.isnan(number) and value != "NaN":
                return f"{path}: expected a number, got {json.dumps(value)}"
        return None
    if kind == FieldDescriptor.TYPE_BOOL:
        return (
            None
            if isinstance(value, bool)
            else f"{path}: expected true or false, got {_kind(value)}"
        )
    if kind == FieldDescriptor.TYPE_STRING:
        return (
            None
            if isinstance(value, str)
            else f"{path}: expected a string, got {_kind(value)}"
        )
    if kind == FieldDescriptor.TYPE_BYTES:
        if not isinstance(value, str):
            return f"{path}: expected base64 text, got {_kind(value)}"
        try:
            base64.b64decode(value.replace("-", "+").replace("_", "/") + "==")
        except binascii.Error:
            return f"{path}: expected base64 text"
        return None
    if kind == FieldDescriptor.TYPE_ENUM and field.enum_type is not None:
        names = field.enum_type.values_by_name
        if isinstance(value, str) and value not in names:
            return (
                f"{path}: {field.enum_type.full_name} has no value {json.dumps(value)}"
            )
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            return f"{path}: expected an enum value's name, got {_kind(value)}"
    return None


def _integer_problem(value: Any, path: str, low: int, high: int) -> str | None:
    number: Any = value
    if isinstance(value, str):
        try:
            number = int(value)
        except ValueError:
            return f"{path}: expected an integer, got {json.dumps(value)}"
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, int):
        return f"{path}: expected an integer, got {_kind(value)}"
    if not low <= number <= high:
        return f"{path}: {number} is out of range ({low} to {high})"
    return None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {json.dumps(value)}"
    return "an array" if isinstance(value, list) else "an object"


def envelope(flags: int, payload: bytes) -> bytes:
    """One message framed as gRPC, gRPC-Web and Connect streams frame them: flags, length, bytes."""
    return bytes([flags]) + len(payload).to_bytes(4, "big") + payload


def envelopes(body: bytes, limit: int, compressed_with: str | None) -> Iterator[bytes]:
    """The messages of a framed request body, each at most `limit` bytes once unpacked."""
    offset = 0
    while offset < len(body):
        if len(body) - offset < 5:
            raise BadMessage("the request ends inside a message's frame header")
        flags, size = body[offset], int.from_bytes(body[offset + 1 : offset + 5], "big")
        start, offset = offset + 5, offset + 5 + size
        if offset > len(body):
            raise BadMessage(f"the request ends inside a message of {size} bytes")
        payload = body[start:offset]
        if flags & _FLAG_COMPRESSED:
            if compressed_with != "gzip":
                raise BadMessage(
                    f"a compressed message, but the encoding is {compressed_with or 'none'}"
                )
            payload = gunzip(payload, limit)
        if len(payload) > limit:
            raise TooLarge(
                f"a request message of {len(payload)} bytes, over the limit of {limit}"
            )
        yield payload


class TooLarge(BadMessage):
    """A request over `max_message_bytes`."""


def gunzip(data: bytes, limit: int) -> bytes:
    """`data` unzipped, refusing to unpack more than `limit` bytes (a small bomb is a large request)."""
    unzip = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        unpacked = unzip.decompress(data, limit + 1)
    except zlib.error as error:
        raise BadMessage(f"not gzip: {error}") from None
    if len(unpacked) > limit:
        raise TooLarge(f"a request over the limit of {limit} bytes once unzipped")
    return unpacked
