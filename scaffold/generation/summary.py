"""What describing reads of one proto file: its descriptor walked into plain data, kept in the memo.

Every message (with its required fields), every enum's first value, every
service and RPC with its comment, and every name grpc's plugin cannot
generate (`scaffold.generation.unusable`) follow from the file's own
descriptor, so they are read here once per descriptor and kept by its hash:
a leaf change walks one file, not googleapis' 7,000. The model is assembled
from these summaries alone (`scaffold.generation.describe`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import NamedTuple

from google.protobuf import descriptor_pb2

from scaffold.core.naming import clean_comment
from scaffold.generation.unusable import grpc_name_clashes, unnamable_types, unusable
from scaffold.record.memo import Memo

_FILE = descriptor_pb2.FileDescriptorProto
_SERVICE_FIELD = _FILE.SERVICE_FIELD_NUMBER
_METHOD_FIELD = descriptor_pb2.ServiceDescriptorProto.METHOD_FIELD_NUMBER
_FieldType = descriptor_pb2.FieldDescriptorProto


class FoundMethod(NamedTuple):
    name: str
    input_type: str
    output_type: str
    client_streaming: bool
    server_streaming: bool
    deprecated: bool
    doc: str


class FoundService(NamedTuple):
    name: str
    deprecated: bool
    doc: str
    methods: tuple[FoundMethod, ...]


class Summary(NamedTuple):
    """What describing reads of one proto file, as plain data.

    All of it follows from the file's own descriptor, so the memo keeps it by
    the descriptor's hash: a leaf change describes one file, not googleapis'
    7,000 (walking every message and source location of every file in Python
    was two seconds). Names are given out across all files afterwards, from
    the summaries alone.
    """

    package: str
    dependency: tuple[str, ...]
    messages: tuple[tuple[str, str, tuple[tuple[str, int, str], ...]], ...]
    """(full name, Python qualname, required fields as (name, type, type name)) of every message."""
    enums: tuple[tuple[str, str], ...]
    """(full name, first value's name) of every enum."""
    services: tuple[FoundService, ...]
    problems: tuple[tuple[str, int, int], ...]
    """(message, line, column) of every name grpc's plugin cannot generate."""


def summary_of(serialized: Callable[[], bytes], memo: Memo | None, key: str | None = None) -> Summary:
    """The summary of the file whose descriptor `serialized()` gives, from the memo where an earlier run
    summarised the same descriptor (then it is not even parsed; with its `key`, the descriptor's
    `descriptor_key`, not even read)."""
    if memo is None:
        return summarise(_FILE.FromString(serialized()))
    if key is None:
        key = descriptor_key(serialized())
    kept = memo.get(f"describe:{key}")
    if kept is not None:
        package, dependency, messages, enums, services, problems = kept
        found = tuple(
            FoundService(name, deprecated, doc, tuple(FoundMethod(*method) for method in methods))
            for name, deprecated, doc, methods in services
        )
        return Summary(package, dependency, messages, enums, found, problems)
    summary = summarise(_FILE.FromString(serialized()))
    plain_services = tuple((s.name, s.deprecated, s.doc, tuple(tuple(m) for m in s.methods)) for s in summary.services)
    memo.put(f"describe:{key}", (*summary[:4], plain_services, summary.problems))
    return summary


def descriptor_key(serialized: bytes) -> str:
    """The digest a descriptor's summary is kept by; protoc's record keeps it beside the descriptor."""
    return hashlib.blake2b(serialized, digest_size=20).hexdigest()


def summarise(proto: descriptor_pb2.FileDescriptorProto) -> Summary:
    messages: list[tuple[str, str, tuple[tuple[str, int, str], ...]]] = []
    enums: list[tuple[str, str]] = []
    file_requires = proto.options.features.field_presence == descriptor_pb2.FeatureSet.LEGACY_REQUIRED
    proto3 = proto.syntax == "proto3"  # neither `required` nor features: no field to look at

    def walk(
        prefix: str,
        qual_prefix: str,
        nested: Sequence[descriptor_pb2.DescriptorProto],
        nested_enums: Sequence[descriptor_pb2.EnumDescriptorProto],
    ) -> None:
        for enum in nested_enums:
            enums.append((f"{prefix}.{enum.name}" if prefix else enum.name, enum.value[0].name if enum.value else ""))
        for message in nested:
            full_name = f"{prefix}.{message.name}" if prefix else message.name
            qualname = f"{qual_prefix}.{message.name}" if qual_prefix else message.name
            required = () if proto3 else _required(message, file_requires)
            messages.append((full_name, qualname, required))
            walk(full_name, qualname, message.nested_type, message.enum_type)

    walk(proto.package, "", proto.message_type, proto.enum_type)
    comments = _comments(proto) if proto.service else {}
    services = []
    problems: list[tuple[str, int, int]] = []
    defined: dict[str, str] = {}  # the names grpc's module defines for each service, by the service
    for s_index, service in enumerate(proto.service):
        problems += unusable(proto, (_SERVICE_FIELD, s_index), "service", service.name)
        problems += grpc_name_clashes(proto, s_index, defined)
        methods = []
        for m_index, method in enumerate(service.method):
            path = (_SERVICE_FIELD, s_index, _METHOD_FIELD, m_index)
            problems += unusable(proto, path, "RPC", method.name)
            problems += unnamable_types(proto, path, method)
            methods.append(
                FoundMethod(
                    method.name,
                    method.input_type,
                    method.output_type,
                    method.client_streaming,
                    method.server_streaming,
                    method.options.deprecated,
                    comments.get(path, ""),
                )
            )
        doc = comments.get((_SERVICE_FIELD, s_index), "")
        services.append(FoundService(service.name, service.options.deprecated, doc, tuple(methods)))
    return Summary(
        proto.package, tuple(proto.dependency), tuple(messages), tuple(enums), tuple(services), tuple(problems)
    )


def _required(message: descriptor_pb2.DescriptorProto, file_requires: bool) -> tuple[tuple[str, int, str], ...]:
    """(name, type, type name) of the fields proto2's `required` or editions' LEGACY_REQUIRED demand."""
    fields = []
    for field in message.field:
        features = field.options.features
        required = field.label == _FieldType.LABEL_REQUIRED or (
            features.field_presence == descriptor_pb2.FeatureSet.LEGACY_REQUIRED
            if features.HasField("field_presence")
            else file_requires and field.label != _FieldType.LABEL_REPEATED and not field.HasField("oneof_index")
        )
        if required:
            fields.append((field.name, field.type, field.type_name.lstrip(".")))
    return tuple(fields)


def _comments(proto: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    """Leading (else trailing) comment of every service and RPC, indexed once by its source path (the
    model documents nothing else: cleaning every message's comments too was most of describing googleapis)."""
    result = {}
    for location in proto.source_code_info.location:
        if not location.path or location.path[0] != _SERVICE_FIELD:
            continue
        text = location.leading_comments or location.trailing_comments
        if text:
            result[tuple(location.path)] = clean_comment(text)
    return result
