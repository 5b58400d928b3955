"""`scaffold describe`: what the project's protos define, symbol by symbol, with their comments.

Services with their methods and shapes, messages with their fields and types,
enums with their values; as text for people, or JSON (`--json`) for tools.
Read from the same descriptors `scaffold call` uses, and shown the way the proto
says it: `oneof` blocks, `map<K, V>` fields (not their synthetic entries),
`optional`/`required` labels, `deprecated` and a `json_name` of the proto's own,
`reserved` numbers and names, nested messages and enums inside their message.
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
_MAX_FIELD = 536_870_911  # `max` in a reserved range
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
    """The symbol named `symbol` (full or short name; `Service/Method` or `Service.Method` for a method;
    a nested message or enum by its full name or its last parts)."""
    wanted = symbol.lstrip(".").replace("/", ".")
    chosen = []
    pending = list(found)
    while pending:
        item = pending.pop(0)
        if _named(item["name"], wanted):
            chosen.append(item)
        for method in item.get("methods", []):
            if _named(f"{item['name']}.{method['name']}", wanted):
                chosen.append({**method, "kind": "method", "name": f"{item['name']}/{method['name']}"})
        pending += item.get("nested", [])
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
        else:
            yield from _declaration(item, "", f"{item['name']} {{  // {item['file']}")


def _declaration(item: dict[str, Any], indent: str, opening: str) -> Iterator[str]:
    """A message or enum as the proto declares it: oneofs, maps, options, reserved, nested types."""
    inner = indent + "  "
    yield f"{indent}{item['kind']} {opening}"
    if item.get("deprecated"):
        yield f"{inner}option deprecated = true;"
    if item.get("allow_alias"):
        yield f"{inner}option allow_alias = true;"
    if item["kind"] == "enum":
        for value in item["values"]:
            yield from _comment_lines(value["comment"], inner)
            yield f"{inner}{value['name']} = {value['number']}{_options(value)};"
    else:
        open_oneof = None
        for f in item["fields"]:
            if f.get("oneof") != open_oneof:
                if open_oneof is not None:
                    yield f"{inner}}}"
                open_oneof = f.get("oneof")
                if open_oneof is not None:
                    yield f"{inner}oneof {open_oneof} {{"
            at = inner + ("  " if open_oneof is not None else "")
            yield from _comment_lines(f["comment"], at)
            label = f"{f['label']} " if f["label"] else ""
            yield f"{at}{label}{f['type']} {f['name']} = {f['number']}{_options(f)};"
        if open_oneof is not None:
            yield f"{inner}}}"
    reserved = item.get("reserved", {})
    if reserved.get("ranges"):
        spans = (str(a) if a == b else f"{a} to {b}" for a, b in reserved["ranges"])
        yield f"{inner}reserved {', '.join(spans)};"
    if reserved.get("names"):
        yield f"{inner}reserved {', '.join(json.dumps(n) for n in reserved['names'])};"
    for nested in item.get("nested", []):
        yield from _comment_lines(nested["comment"], inner)
        yield from _declaration(nested, inner, f"{nested['name'].rpartition('.')[2]} {{")
    yield f"{indent}}}"


def _options(element: dict[str, Any]) -> str:
    shown = [f'json_name = "{element["json_name"]}"'] if element.get("json_name_set") else []
    shown += ["deprecated = true"] if element.get("deprecated") else []
    return f" [{', '.join(shown)}]" if shown else ""


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
    """The message (a list of one: the shape `symbols` extends), its nested types inside it."""
    full = prefix + item.name
    entries = {f".{full}.{n.name}": n for n in item.nested_type if n.options.map_entry}
    proto2 = proto.syntax in ("", "proto2")
    fields = []
    for index, f in enumerate(item.field):
        entry = entries.get(f.type_name)
        field: dict[str, Any] = {
            "name": f.name,
            "number": f.number,
            "type": _map_type(entry) if entry else _type_of(f),
            "label": _label(f, proto2) if entry is None else "",
            "json_name": f.json_name,
            "comment": comments.get((*path, _D.FIELD_FIELD_NUMBER, index), ""),
        }
        if f.HasField("oneof_index") and not f.proto3_optional:
            field["oneof"] = item.oneof_decl[f.oneof_index].name
        if f.json_name and f.json_name != _camel(f.name):
            field["json_name_set"] = True
        if f.options.deprecated:
            field["deprecated"] = True
        fields.append(field)
    nested: list[dict[str, Any]] = []
    for index, message in enumerate(item.nested_type):
        if not message.options.map_entry:
            nested += _messages(message, full + ".", proto, (*path, _D.NESTED_TYPE_FIELD_NUMBER, index), comments)
    for index, enum in enumerate(item.enum_type):
        nested.append(_enum(enum, full + ".", proto, (*path, _D.ENUM_TYPE_FIELD_NUMBER, index), comments))
    extra: dict[str, Any] = {"fields": fields, "nested": nested}
    reserved = _reserved([(r.start, r.end - 1) for r in item.reserved_range], item.reserved_name, _MAX_FIELD)
    if reserved:
        extra["reserved"] = reserved
    if item.options.deprecated:
        extra["deprecated"] = True
    return [_symbol("message", full, proto, comments.get(path, ""), **extra)]


def _type_of(f: descriptor_pb2.FieldDescriptorProto) -> str:
    if f.type in (_FIELD.TYPE_MESSAGE, _FIELD.TYPE_ENUM, _FIELD.TYPE_GROUP):
        return f.type_name.lstrip(".")
    return _TYPES[f.type]


def _map_type(entry: _D) -> str:
    key, value = entry.field[0], entry.field[1]
    return f"map<{_type_of(key)}, {_type_of(value)}>"


def _label(f: descriptor_pb2.FieldDescriptorProto, proto2: bool) -> str:
    if f.label == _FIELD.LABEL_REPEATED:
        return "repeated"
    if f.label == _FIELD.LABEL_REQUIRED:
        return "required"
    if f.proto3_optional or (proto2 and not f.HasField("oneof_index")):
        return "optional"
    return ""


def _camel(name: str) -> str:
    """protoc's default json_name: lowerCamelCase of the field name."""
    parts = name.split("_")
    return parts[0] + "".join(part[:1].upper() + part[1:] for part in parts[1:])


def _reserved(ranges: list[tuple[int, int]], names: Any, highest: int) -> dict[str, Any]:
    """Reserved numbers (first and last of each range, "max" for the highest there is) and names."""
    reserved: dict[str, Any] = {}
    if ranges:
        reserved["ranges"] = [[start, "max" if end == highest else end] for start, end in ranges]
    if names:
        reserved["names"] = list(names)
    return reserved


def _enum(
    enum: descriptor_pb2.EnumDescriptorProto,
    prefix: str,
    proto: _F,
    path: tuple[int, ...],
    comments: dict[tuple[int, ...], str],
) -> dict[str, Any]:
    values = []
    for index, v in enumerate(enum.value):
        value: dict[str, Any] = {"name": v.name, "number": v.number, "comment": comments.get((*path, 2, index), "")}
        if v.options.deprecated:
            value["deprecated"] = True
        values.append(value)
    extra: dict[str, Any] = {"values": values}
    # An enum's reserved range includes its end; a message's does not.
    reserved = _reserved([(r.start, r.end) for r in enum.reserved_range], enum.reserved_name, 2**31 - 1)
    if reserved:
        extra["reserved"] = reserved
    if enum.options.allow_alias:
        extra["allow_alias"] = True
    if enum.options.deprecated:
        extra["deprecated"] = True
    return _symbol("enum", prefix + enum.name, proto, comments.get(path, ""), **extra)


def _comments(proto: _F) -> dict[tuple[int, ...], str]:
    return {
        tuple(location.path): clean_comment(location.leading_comments)
        for location in proto.source_code_info.location
        if location.leading_comments
    }
