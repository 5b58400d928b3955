"""`scaffold describe`: what the project's protos define, symbol by symbol, with their comments.

Services with their methods and shapes, messages with their fields and types,
enums with their values; as text for people, or JSON (`--json`) for tools.
Read from the same descriptors `scaffold call` uses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from google.protobuf import descriptor_pb2

from scaffold.core.errors import fail
from scaffold.core.model import KINDS
from scaffold.core.naming import clean_comment
from scaffold.core.text import lines as text_lines

_F = descriptor_pb2.FileDescriptorProto
_D = descriptor_pb2.DescriptorProto
_FIELD = descriptor_pb2.FieldDescriptorProto
_TYPES = {
    value: name.removeprefix("TYPE_").lower()
    for name, value in _FIELD.Type.items()
    if value not in (_FIELD.TYPE_MESSAGE, _FIELD.TYPE_ENUM, _FIELD.TYPE_GROUP)
}


def symbols(files: descriptor_pb2.FileDescriptorSet, only: set[str] | None = None) -> list[dict[str, Any]]:
    """Every service, message and enum of the files named `only` (all files when None), in file order."""
    found: list[dict[str, Any]] = []
    for proto in files.file:
        if only is not None and proto.name not in only:
            continue
        comments = _comments(proto)
        prefix = f"{proto.package}." if proto.package else ""
        for s_index, service in enumerate(proto.service):
            path = (_F.SERVICE_FIELD_NUMBER, s_index)
            methods = []
            for m_index, method in enumerate(service.method):
                shape = KINDS[(method.client_streaming, method.server_streaming)].replace("_", "-")
                methods.append(
                    {
                        "name": method.name,
                        "route": f"/{prefix}{service.name}/{method.name}",
                        "shape": shape,
                        "request": method.input_type.lstrip("."),
                        "response": method.output_type.lstrip("."),
                        "comment": comments.get((*path, 2, m_index), ""),
                    }
                )
            found.append(_symbol("service", prefix + service.name, proto, comments.get(path, ""), methods=methods))
        for index, item in enumerate(proto.message_type):
            found += _messages(item, prefix, proto, (_F.MESSAGE_TYPE_FIELD_NUMBER, index), comments)
        for index, enum in enumerate(proto.enum_type):
            found.append(_enum(enum, prefix, proto, (_F.ENUM_TYPE_FIELD_NUMBER, index), comments))
    return found


def select(found: list[dict[str, Any]], symbol: str) -> list[dict[str, Any]]:
    """The symbol named `symbol` (full or short name; `Service/Method` or `Service.Method` for a method)."""
    wanted = symbol.lstrip(".").replace("/", ".")
    chosen = []
    for item in found:
        if _named(item["name"], wanted):
            chosen.append(item)
        for method in item.get("methods", []):
            if _named(f"{item['name']}.{method['name']}", wanted):
                chosen.append({**method, "kind": "method", "name": f"{item['name']}/{method['name']}"})
    if not chosen:
        raise fail(symbol, "no such service, method, message or enum in the protos")
    return chosen


def _named(full: str, wanted: str) -> bool:
    return full == wanted or full.endswith("." + wanted)


def as_json(found: list[dict[str, Any]]) -> str:
    return json.dumps(found, indent=2)


def as_text(found: list[dict[str, Any]]) -> str:
    return "\n".join(_lines(found)) + "\n"


def _lines(found: list[dict[str, Any]]) -> Iterator[str]:
    for item in found:
        yield from _comment_lines(item["comment"], "")
        if item["kind"] == "service":
            yield f"service {item['name']} {{  // {item['file']}"
            for method in item["methods"]:
                yield from _comment_lines(method["comment"], "  ")
                yield f"  {_rpc(method)}"
            yield "}"
        elif item["kind"] == "method":
            yield _rpc(item)
        elif item["kind"] == "message":
            yield f"message {item['name']} {{  // {item['file']}"
            for f in item["fields"]:
                yield from _comment_lines(f["comment"], "  ")
                yield f"  {f['label']}{f['type']} {f['name']} = {f['number']};"
            yield "}"
        else:
            yield f"enum {item['name']} {{  // {item['file']}"
            for value in item["values"]:
                yield from _comment_lines(value["comment"], "  ")
                yield f"  {value['name']} = {value['number']};"
            yield "}"


def _rpc(method: dict[str, Any]) -> str:
    request = ("stream " if method["shape"].startswith("stream-") else "") + method["request"]
    response = ("stream " if method["shape"].endswith("-stream") else "") + method["response"]
    return f"rpc {method['name']}({request}) returns ({response});  // {method['shape']}"


def _comment_lines(comment: str, indent: str) -> Iterator[str]:
    for line in text_lines(comment):
        yield f"{indent}// {line}".rstrip()


def _symbol(kind: str, name: str, proto: _F, comment: str, **rest: Any) -> dict[str, Any]:
    return {"kind": kind, "name": name, "file": proto.name, "comment": comment, **rest}


def _messages(
    item: _D, prefix: str, proto: _F, path: tuple[int, ...], comments: dict[tuple[int, ...], str]
) -> list[dict[str, Any]]:
    fields = []
    for index, f in enumerate(item.field):
        if f.type in (_FIELD.TYPE_MESSAGE, _FIELD.TYPE_ENUM):
            type_name = f.type_name.lstrip(".")
        else:
            type_name = _TYPES[f.type]
        repeated = f.label == _FIELD.LABEL_REPEATED
        fields.append(
            {
                "name": f.name,
                "number": f.number,
                "type": type_name,
                "label": "repeated " if repeated else "optional " if f.proto3_optional else "",
                "json_name": f.json_name,
                "comment": comments.get((*path, _D.FIELD_FIELD_NUMBER, index), ""),
            }
        )
    full = prefix + item.name
    result = [_symbol("message", full, proto, comments.get(path, ""), fields=fields)]
    for index, nested in enumerate(item.nested_type):
        if not nested.options.map_entry:
            result += _messages(nested, full + ".", proto, (*path, _D.NESTED_TYPE_FIELD_NUMBER, index), comments)
    for index, enum in enumerate(item.enum_type):
        result.append(_enum(enum, full + ".", proto, (*path, _D.ENUM_TYPE_FIELD_NUMBER, index), comments))
    return result


def _enum(
    enum: descriptor_pb2.EnumDescriptorProto,
    prefix: str,
    proto: _F,
    path: tuple[int, ...],
    comments: dict[tuple[int, ...], str],
) -> dict[str, Any]:
    values = [
        {"name": v.name, "number": v.number, "comment": comments.get((*path, 2, index), "")}
        for index, v in enumerate(enum.value)
    ]
    return _symbol("enum", prefix + enum.name, proto, comments.get(path, ""), values=values)


def _comments(proto: _F) -> dict[tuple[int, ...], str]:
    return {
        tuple(location.path): clean_comment(location.leading_comments)
        for location in proto.source_code_info.location
        if location.leading_comments
    }
