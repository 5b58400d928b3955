"""What a failed call's rich error details say, as lines under its status line.

A server that refuses a request says why, field by field, in a `google.rpc.Status`
(gRPC's `grpc-status-details-bin` trailer, Connect's `details`): a generated
server with `validate = true` sends a `google.rpc.BadRequest`, as Google's APIs
and grpc-status do. `scaffold call` prints each field violation on a line of its
own, and names any other detail by its type. googleapis-common-protos need not be
installed: the two messages are declared here, field for field, in a pool of
their own, so that nothing clashes with the installed `google/rpc` files.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message, message_factory

STATUS_DETAILS = "grpc-status-details-bin"
_BAD_REQUEST = "google.rpc.BadRequest"
_RESTATING = frozenset({"buf.validate.Violations"})
"""Details that say again what a BadRequest beside them says (protovalidate's own form of the violations)."""


_Field = descriptor_pb2.FieldDescriptorProto
_ONE, _MANY = _Field.LABEL_OPTIONAL, _Field.LABEL_REPEATED


def _fields(*fields: tuple[str, int, Any, Any, str]) -> list[descriptor_pb2.FieldDescriptorProto]:
    made = []
    for name, number, kind, label, type_name in fields:
        made.append(_Field(name=name, number=number, type=kind, label=label))
        if type_name:  # set, even to "", it would say the field is of a named type
            made[-1].type_name = type_name
    return made


@functools.cache
def _classes() -> tuple[type[message.Message], type[message.Message]]:
    """google.rpc.Status and google.rpc.BadRequest, numbered as google/rpc/status.proto and
    error_details.proto number them (and google.protobuf.Any, which Status holds)."""
    text, data, nested = _Field.TYPE_STRING, _Field.TYPE_BYTES, _Field.TYPE_MESSAGE
    any_file = descriptor_pb2.FileDescriptorProto(name="google/protobuf/any.proto", package="google.protobuf")
    any_file.message_type.add(name="Any").field.extend(
        _fields(("type_url", 1, text, _ONE, ""), ("value", 2, data, _ONE, ""))
    )
    rpc = descriptor_pb2.FileDescriptorProto(
        name="scaffold/rpc_details.proto", package="google.rpc", dependency=[any_file.name]
    )
    rpc.message_type.add(name="Status").field.extend(
        _fields(
            ("code", 1, _Field.TYPE_INT32, _ONE, ""),
            ("message", 2, text, _ONE, ""),
            ("details", 3, nested, _MANY, ".google.protobuf.Any"),
        )
    )
    bad_request = rpc.message_type.add(name="BadRequest")
    bad_request.nested_type.add(name="FieldViolation").field.extend(
        _fields(("field", 1, text, _ONE, ""), ("description", 2, text, _ONE, ""), ("reason", 3, text, _ONE, ""))
    )
    bad_request.field.extend(_fields(("field_violations", 1, nested, _MANY, ".google.rpc.BadRequest.FieldViolation")))
    pool = descriptor_pool.DescriptorPool()  # its own: never the default pool's google/rpc files
    for file in (any_file, rpc):
        pool.AddSerializedFile(file.SerializeToString())
    status, bad = (pool.FindMessageTypeByName(name) for name in ("google.rpc.Status", _BAD_REQUEST))
    return message_factory.GetMessageClass(status), message_factory.GetMessageClass(bad)


def from_trailers(trailers: Iterable[tuple[str, Any]] | None) -> list[str]:
    """The lines of the `google.rpc.Status` in a call's trailers (bytes from gRPC, base64 text from
    gRPC-Web's trailers frame); none when it sent none."""
    for key, value in trailers or ():
        if key != STATUS_DETAILS or not isinstance(value, (bytes, str)):
            continue
        status_class, _ = _classes()
        try:
            status: Any = status_class.FromString(value if isinstance(value, bytes) else _unbase64(value))
        except (binascii.Error, message.DecodeError):
            return ["(error details that do not decode)"]
        return _lines((detail.type_url.rpartition("/")[2], detail.value) for detail in status.details)
    return []


def from_connect(details: object) -> list[str]:
    """The lines of a Connect error's `details` (`[{"type": ..., "value": unpadded base64}]`)."""
    if not isinstance(details, list):
        return []
    found = []
    for detail in details:
        if isinstance(detail, Mapping) and isinstance(detail.get("type"), str) and isinstance(detail.get("value"), str):
            value = detail["value"]
            try:
                found.append((detail["type"], _unbase64(value)))
            except binascii.Error:
                found.append((detail["type"], b"\xff"))  # said not to decode, below
    return _lines(found)


def _unbase64(text: str) -> bytes:
    """Base64 as gRPC-Web and Connect send it, padded or not."""
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _lines(details: Iterable[tuple[str, bytes]]) -> list[str]:
    """A line per field a BadRequest names (`items[0].sku: must be at least 3 characters [string.min_len]`),
    and one naming each other detail's type (but one that only restates the BadRequest)."""
    _, bad_request_class = _classes()
    details = list(details)
    restated = _RESTATING if any(type_name == _BAD_REQUEST for type_name, _ in details) else frozenset()
    lines = []
    for type_name, value in details:
        if type_name in restated:
            continue
        if type_name != _BAD_REQUEST:
            lines.append(f"({type_name})")
            continue
        try:
            bad_request: Any = bad_request_class.FromString(value)
        except message.DecodeError:
            lines.append(f"({type_name} that does not decode)")
            continue
        for violation in bad_request.field_violations:
            reason = f" [{violation.reason}]" if violation.reason else ""
            lines.append(f"{violation.field or '(message)'}: {violation.description}{reason}")
    return lines
