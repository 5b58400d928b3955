"""The OpenAPI 3.1 document of a web project: its REST routes and Connect calls, typed from the protos.

Written beside the runtime (`GENERATED/runtime/openapi.json`) and served at `/openapi.json`,
so that HTTP clients and docs come from the tools users have (openapi-generator, Swagger
UI). Types follow protobuf's JSON mapping, as the server speaks it: 64-bit integers as
strings, enums by name, bytes as base64, the well-known types as their JSON forms; each
description is the proto comment above the element. A path variable that spans segments
(`{name=shelves/*/books/*}`) becomes one parameter whose pattern says its shape: OpenAPI's
path parameters hold no '/'.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from google.protobuf import descriptor_pb2

from scaffold.generation import httprules
from scaffold.generation.protocresult import ProtocResult

_Field = descriptor_pb2.FieldDescriptorProto
_SCALARS: dict[int, dict[str, Any]] = {
    _Field.TYPE_DOUBLE: {"type": "number", "format": "double"},
    _Field.TYPE_FLOAT: {"type": "number", "format": "float"},
    _Field.TYPE_INT32: {"type": "integer", "format": "int32"},
    _Field.TYPE_SINT32: {"type": "integer", "format": "int32"},
    _Field.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    _Field.TYPE_UINT32: {"type": "integer", "format": "uint32", "minimum": 0},
    _Field.TYPE_FIXED32: {"type": "integer", "format": "uint32", "minimum": 0},
    _Field.TYPE_INT64: {"type": "string", "format": "int64"},
    _Field.TYPE_SINT64: {"type": "string", "format": "int64"},
    _Field.TYPE_SFIXED64: {"type": "string", "format": "int64"},
    _Field.TYPE_UINT64: {"type": "string", "format": "uint64"},
    _Field.TYPE_FIXED64: {"type": "string", "format": "uint64"},
    _Field.TYPE_BOOL: {"type": "boolean"},
    _Field.TYPE_STRING: {"type": "string"},
    _Field.TYPE_BYTES: {"type": "string", "format": "byte"},
}
# Each wrapper's JSON type (protobuf's JSON mapping: 64-bit integers as strings); null when unset.
_WRAPPERS = {
    "Double": "number", "Float": "number", "Int64": "string", "UInt64": "string", "Int32": "integer",
    "UInt32": "integer", "Bool": "boolean", "String": "string", "Bytes": "string",
}  # fmt: skip
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    ".google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    ".google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?s$"},
    ".google.protobuf.FieldMask": {"type": "string"},
    ".google.protobuf.Struct": {"type": "object"},
    ".google.protobuf.Value": {},
    ".google.protobuf.ListValue": {"type": "array"},
    ".google.protobuf.Empty": {"type": "object"},
    ".google.protobuf.Any": {"type": "object", "properties": {"@type": {"type": "string"}}, "required": ["@type"]},
    **{f".google.protobuf.{kind}Value": {"type": [kind_type, "null"]} for kind, kind_type in _WRAPPERS.items()},
}
_STATUS = {
    "type": "object",
    "description": "google.rpc.Status: the error of a failed call.",
    "properties": {
        "code": {"type": "integer", "format": "int32", "description": "The gRPC status code."},
        "message": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object"}},
    },
}


def document(result: ProtocResult, title: str) -> dict[str, Any]:
    """The OpenAPI document of the services of the input protos."""
    files = list(result.descriptors.file)
    index = _Index(files)
    inputs = {item.name for item in result.inputs}
    paths: dict[str, dict[str, Any]] = {}
    for proto in files:
        if proto.name not in inputs:
            continue
        for s_index, service in enumerate(proto.service):
            full_service = f"{proto.package}.{service.name}".lstrip(".")
            for m_index, method in enumerate(service.method):
                comment = index.comment(proto.name, (6, s_index, 2, m_index))
                for number, rule in enumerate(httprules.rules_of(method)):
                    _add_rest(paths, index, full_service, method, rule, number, comment)
                if not method.client_streaming and not method.server_streaming:
                    _add_connect(paths, index, full_service, method, comment)
    packages = sorted({proto.package for proto in files if proto.name in inputs and proto.package})
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": ", ".join(packages) or "1"},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": {"google.rpc.Status": _STATUS, **dict(sorted(index.schemas.items()))}},
    }


def document_bytes(result: ProtocResult, title: str) -> bytes:
    return (json.dumps(document(result, title), indent=2, ensure_ascii=False) + "\n").encode()


def _add_rest(
    paths: dict[str, dict[str, Any]],
    index: _Index,
    service: str,
    method: descriptor_pb2.MethodDescriptorProto,
    rule: Any,
    number: int,
    comment: str,
) -> None:
    template = httprules.rule_template(rule)
    kind = rule.WhichOneof("pattern")
    if kind is None or httprules.template_problems(template) or method.client_streaming:
        return  # no REST request carries a stream: the server refuses it
    verb = (rule.custom.kind if kind == "custom" else kind).lower()
    path, variables = _openapi_path(template)
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "pattern": pattern}}
        for name, pattern in variables
    ]
    request = index.messages.get(method.input_type)
    bound = {name for name, _ in variables} | ({rule.body} if rule.body else set())
    if request is not None and rule.body != "*":
        parameters += _query_parameters(index, request, bound)
    operation: dict[str, Any] = {
        "operationId": f"{service}.{method.name}" + (f".{number + 1}" if number else ""),
        "tags": [service],
        "parameters": parameters,
        "responses": _responses(index, method, rule.response_body),
    }
    if comment:
        operation["description"] = comment
    if rule.body:
        schema = index.ref(method.input_type) if rule.body == "*" else index.field_schema(request, rule.body)
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    paths.setdefault(path, {}).setdefault(verb, operation)


def _add_connect(paths: dict[str, dict[str, Any]], index: _Index, service: str, method: Any, comment: str) -> None:
    operation: dict[str, Any] = {
        "operationId": f"connect.{service}.{method.name}",
        "tags": [f"{service} (Connect)"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": index.ref(method.input_type)}}},
        "responses": {
            "200": {
                "description": "The answer.",
                "content": {"application/json": {"schema": index.ref(method.output_type)}},
            },
            "default": {
                "description": "The call failed: a Connect error.",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "details": {"type": "array"},
                            },
                        }
                    }
                },
            },
        },
    }
    if comment:
        operation["description"] = comment
    paths[f"/{service}/{method.name}"] = {"post": operation}


def _responses(index: _Index, method: Any, response_body: str) -> dict[str, Any]:
    schema = index.ref(method.output_type)
    if response_body:
        schema = index.field_schema(index.messages.get(method.output_type), response_body)
    if method.server_streaming:
        answer = {
            "application/x-ndjson": {
                "schema": {
                    "type": "object",
                    "properties": {"result": schema, "error": {"$ref": "#/components/schemas/google.rpc.Status"}},
                }
            }
        }
        described = "One JSON object a line: each answer, then an error if the stream fails."
    else:
        answer, described = {"application/json": {"schema": schema}}, "The answer."
    status = {"application/json": {"schema": {"$ref": "#/components/schemas/google.rpc.Status"}}}
    return {
        "200": {"description": described, "content": answer},
        "default": {"description": "The call failed.", "content": status},
    }


def _openapi_path(template: str) -> tuple[str, list[tuple[str, str]]]:
    """`/v1/{name=shelves/*}:move` -> `/v1/{name}:move` and each variable's pattern."""
    variables: list[tuple[str, str]] = []

    def replace(found: re.Match[str]) -> str:
        name, _, inner = found.group(1).partition("=")
        parts = (inner or "*").split("/")
        pattern = "/".join("[^/]+" if p == "*" else ".+" if p == "**" else re.escape(p) for p in parts)
        variables.append((name.strip(), f"^{pattern}$"))
        return "{" + name.strip() + "}"

    return re.sub(r"\{([^}]*)\}", replace, template), variables


def _query_parameters(
    index: _Index, message: Any, bound: set[str], prefix: str = "", depth: int = 0
) -> list[dict[str, Any]]:
    """The fields the path and body leave to the query string: scalars, repeated scalars, and
    the scalars of nested messages (`filter.name`), two levels down at most."""
    found = []
    for field in message.field:
        name = prefix + field.name
        if name in bound or any(name.startswith(b + ".") for b in bound):
            continue
        if field.type == _Field.TYPE_MESSAGE and field.type_name not in _WELL_KNOWN:
            nested = index.messages.get(field.type_name)
            if (
                nested is not None
                and depth < 2
                and not nested.options.map_entry
                and field.label != _Field.LABEL_REPEATED
            ):
                found += _query_parameters(index, nested, bound, f"{name}.", depth + 1)
            continue
        schema = index.field_schema(message, field.name)
        parameter = {"name": name, "in": "query", "schema": schema}
        if field.label == _Field.LABEL_REPEATED:
            parameter |= {"style": "form", "explode": True}
        found.append(parameter)
    return found


class _Index:
    """Every message and enum of the run by full name, and the schemas referenced so far."""

    def __init__(self, files: Iterable[descriptor_pb2.FileDescriptorProto]) -> None:
        self.messages: dict[str, Any] = {}
        self.enums: dict[str, Any] = {}
        self.schemas: dict[str, dict[str, Any]] = {}
        self._comments: dict[str, dict[tuple[int, ...], str]] = {}
        self._where: dict[str, tuple[str, tuple[int, ...]]] = {}
        for proto in files:
            prefix = f".{proto.package}" if proto.package else ""
            self._comments[proto.name] = {
                tuple(location.path): location.leading_comments.strip()
                for location in proto.source_code_info.location
                if location.leading_comments.strip()
            }
            pending: list[tuple[str, Any, tuple[int, ...]]] = [
                (f"{prefix}.{m.name}", m, (4, i)) for i, m in enumerate(proto.message_type)
            ]
            for i, enum in enumerate(proto.enum_type):
                self.enums[f"{prefix}.{enum.name}"] = enum
                self._where[f"{prefix}.{enum.name}"] = (proto.name, (5, i))
            while pending:
                name, found, path = pending.pop()
                self.messages[name] = found
                self._where[name] = (proto.name, path)
                pending += [(f"{name}.{n.name}", n, (*path, 3, i)) for i, n in enumerate(found.nested_type)]
                for i, enum in enumerate(found.enum_type):
                    self.enums[f"{name}.{enum.name}"] = enum
                    self._where[f"{name}.{enum.name}"] = (proto.name, (*path, 4, i))

    def comment(self, proto: str, path: tuple[int, ...]) -> str:
        return " ".join(self._comments.get(proto, {}).get(path, "").split())

    def ref(self, type_name: str) -> dict[str, Any]:
        if type_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[type_name])
        name = type_name.lstrip(".")
        if name not in self.schemas:
            self.schemas[name] = {}  # taken before it is built: a message may hold itself
            self.schemas[name] = (
                self._enum_schema(type_name) if type_name in self.enums else self._message_schema(type_name)
            )
        return {"$ref": f"#/components/schemas/{name}"}

    def field_schema(self, message: Any, field_name: str) -> dict[str, Any]:
        field = next((f for f in message.field if f.name == field_name), None) if message is not None else None
        if field is None:
            return {}
        if field.type == _Field.TYPE_MESSAGE:
            entry = self.messages.get(field.type_name)
            if entry is not None and entry.options.map_entry:
                return {"type": "object", "additionalProperties": self.field_schema(entry, "value")}
            single = self.ref(field.type_name)
        elif field.type == _Field.TYPE_ENUM:
            single = self.ref(field.type_name)
        else:
            single = dict(_SCALARS.get(field.type, {}))
        return {"type": "array", "items": single} if field.label == _Field.LABEL_REPEATED else single

    def _message_schema(self, type_name: str) -> dict[str, Any]:
        message = self.messages[type_name]
        proto, path = self._where[type_name]
        properties: dict[str, Any] = {}
        for number, field in enumerate(message.field):
            typed = self.field_schema(message, field.name)
            described = self.comment(proto, (*path, 2, number))
            properties[field.json_name or field.name] = (
                {**typed, "description": described} if described and "$ref" not in typed else typed
            )
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        described = self.comment(proto, path)
        if described:
            schema["description"] = described
        return schema

    def _enum_schema(self, type_name: str) -> dict[str, Any]:
        enum = self.enums[type_name]
        proto, path = self._where[type_name]
        schema: dict[str, Any] = {"type": "string", "enum": [value.name for value in enum.value]}
        described = self.comment(proto, path)
        if described:
            schema["description"] = described
        return schema
