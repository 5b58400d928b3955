"""The REST routes the protos ask for (`google.api.http`), checked before a web project is written.

protoc takes any text in a rule, and the generated server would only find out when a
request arrives: a path variable or a `body` naming a field the request lacks, a
repeated or message field bound to one path segment, a template that does not parse,
two rules of the project claiming the same route. Each is refused here, at the rule's
line in its proto, when `web = true`. The rule is read from the method's options
without google/api/annotations.proto loaded: scaffold declares the two messages of
google/api/http.proto it reads in a descriptor pool of its own.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from scaffold.core.errors import Diagnostic
from scaffold.generation.protocresult import ProtocResult
from scaffold.generation.unusable import position

HTTP_EXTENSION = 72295728  # google.api.http, on google.protobuf.MethodOptions
_VERBS = ("get", "put", "post", "delete", "patch")
_FIELD_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_LITERAL = re.compile(r"[^/{}*:=]+")
_Field = descriptor_pb2.FieldDescriptorProto


def problems(result: ProtocResult) -> list[Diagnostic]:
    """What is wrong with the HTTP rules of the input protos, each at its rule's line and column."""
    files = result.descriptors.file
    messages = {f".{f.package}.{m.name}".replace("..", "."): m for f in files for m in _all_messages(f)}
    locations = {item.name: item.path.as_posix() for item in result.inputs}
    found: list[Diagnostic] = []
    routes: dict[tuple[str, str], tuple[str, int]] = {}  # route -> where it was first claimed, by which rule
    rule_numbers = itertools.count()
    for proto in files:
        if proto.name not in locations:
            continue
        for s_index, service in enumerate(proto.service):
            for m_index, method in enumerate(service.method):
                path = (6, s_index, 2, m_index, 4, HTTP_EXTENSION)
                line, col = position(proto, path)
                if (line, col) == (1, 1):
                    line, col = position(proto, path[:4])
                where = f"{service.name}.{method.name}"
                for rule in rules_of(method):
                    for problem in _rule_problems(rule, method, messages, where):
                        found.append(Diagnostic(locations[proto.name], problem, line, col))
                    route = _route(rule)
                    if route is None:
                        continue
                    here = (f"{locations[proto.name]}:{line}:{col}", next(rule_numbers))
                    first = routes.setdefault(route, here)
                    if first != here:
                        message = f"{route[0]} {rule_template(rule)} of {where} is a route {first[0]} claims already"
                        found.append(Diagnostic(locations[proto.name], message, line, col))
    return found


def _all_messages(proto: descriptor_pb2.FileDescriptorProto) -> Iterator[Any]:
    """Every message of a file, nested ones named `Outer.Inner` (as their full name has it)."""
    pending = [(m.name, m) for m in proto.message_type]
    while pending:
        name, found = pending.pop()
        copy = descriptor_pb2.DescriptorProto()
        copy.CopyFrom(found)
        copy.name = name
        yield copy
        pending += [(f"{name}.{nested.name}", nested) for nested in found.nested_type]


def rules_of(method: descriptor_pb2.MethodDescriptorProto) -> list[Any]:
    """The method's HTTP rule and its additional bindings; [] when it has none."""
    return rules_in_options(method.options.SerializeToString()) if method.HasField("options") else []


def rules_in_options(serialized: bytes) -> list[Any]:
    """The HTTP rules of a method's options, as serialized (whichever pool parsed them)."""
    holder = _options_class().FromString(serialized)
    if not holder.HasField("http"):
        return []
    return [holder.http, *holder.http.additional_bindings]


def rule_template(rule: Any) -> str:
    kind = rule.WhichOneof("pattern")
    if kind is None:
        return ""
    return str(rule.custom.path if kind == "custom" else getattr(rule, kind))


def _route(rule: Any) -> tuple[str, str] | None:
    kind = rule.WhichOneof("pattern")
    if kind is None:
        return None
    verb = rule.custom.kind.upper() if kind == "custom" else kind.upper()
    shape = re.sub(r"\{[^}=]*=([^}]*)\}", r"\1", rule_template(rule))
    return verb, re.sub(r"\{[^}]*\}", "*", shape)


def _rule_problems(rule: Any, method: Any, messages: dict[str, Any], where: str) -> list[str]:
    kind = rule.WhichOneof("pattern")
    if kind is None:
        return [f"the HTTP rule of {where} names no verb and path (get, put, post, delete, patch or custom)"]
    template = rule_template(rule)
    request = messages.get(method.input_type)
    response = messages.get(method.output_type)
    found = [f"{template!r}: {p}" for p in template_problems(template)]
    if found or request is None or response is None:
        return found
    for variable in re.findall(r"\{([^}=]*)", template):
        field = _field(variable.strip(), request, messages)
        if isinstance(field, str):
            found.append(f"{template!r}: {field}")
        elif field.label == _Field.LABEL_REPEATED or field.type in (_Field.TYPE_MESSAGE, _Field.TYPE_GROUP):
            found.append(f"{template!r}: {variable} is not a single value: a path variable sets one string or number")
    if "." in rule.body:
        found.append(f"body {rule.body!r}: the body is '*' or a field of the request itself, not a nested one")
    elif rule.body and rule.body != "*":
        field = _field(rule.body, request, messages)
        if isinstance(field, str):
            found.append(f"body {rule.body!r}: {field}")
    if rule.response_body:
        field = _field(rule.response_body, response, messages)
        if isinstance(field, str):
            found.append(f"response_body {rule.response_body!r}: {field}")
    return found


def template_problems(template: str) -> list[str]:
    """Why `template` is not google/api/http.proto's `Template` grammar, or []."""
    if not template.startswith("/"):
        return ["a path template starts with '/'"]
    body, verb = _split_verb(template[1:])
    if verb is not None and not _LITERAL.fullmatch(verb):
        return [f"the verb after ':' must be a literal, not {verb!r}"]
    for segment in _segments(body):
        if segment.startswith("{") and segment.endswith("}"):
            name, _, inner = segment[1:-1].partition("=")
            if not _FIELD_PATH.fullmatch(name.strip()):
                return [f"{{{name}}} does not name a field"]
            if inner and any(s not in ("*", "**") and not _LITERAL.fullmatch(s) for s in inner.split("/")):
                return [f"{segment} has a segment that is neither '*', '**' nor a literal"]
        elif segment not in ("*", "**") and not _LITERAL.fullmatch(segment):
            return [f"segment {segment!r} is neither '*', '**', a literal nor a {{variable}}"]
    return []


def _split_verb(path: str) -> tuple[str, str | None]:
    depth = 0
    for index in range(len(path) - 1, -1, -1):
        depth += (path[index] == "}") - (path[index] == "{")
        if depth == 0 and path[index] == "/":
            break
        if depth == 0 and path[index] == ":":
            return path[:index], path[index + 1 :]
    return path, None


def _segments(path: str) -> list[str]:
    segments, depth, current = [], 0, ""
    for char in path:
        depth += (char == "{") - (char == "}")
        if char == "/" and depth == 0:
            segments.append(current)
            current = ""
        else:
            current += char
    return [*segments, current]


def _field(path: str, message: Any, messages: dict[str, Any]) -> Any:
    """The field `path` (`author.name`) names in `message`, or why there is none."""
    owner, field = message, None
    for name in path.split("."):
        field = next((f for f in owner.field if f.name == name), None) if owner is not None else None
        if field is None:
            return f"{owner.name if owner is not None else 'a scalar'} has no field {name!r}"
        owner = messages.get(field.type_name) if field.type == _Field.TYPE_MESSAGE else None
    return field


@functools.cache
def _options_class() -> Any:
    """A message with google.api.http's field number and HttpRule's fields, to read a rule from
    a method's options as they are serialized."""
    proto = descriptor_pb2.FileDescriptorProto(
        name="scaffold/http_rule.proto", package="scaffold.http", syntax="proto3"
    )
    custom = proto.message_type.add(name="CustomHttpPattern")
    custom.field.add(name="kind", number=1, type=_Field.TYPE_STRING, label=_Field.LABEL_OPTIONAL)
    custom.field.add(name="path", number=2, type=_Field.TYPE_STRING, label=_Field.LABEL_OPTIONAL)
    rule = proto.message_type.add(name="HttpRule")
    rule.oneof_decl.add(name="pattern")
    for number, verb in enumerate(_VERBS, start=2):
        rule.field.add(name=verb, number=number, type=_Field.TYPE_STRING, label=_Field.LABEL_OPTIONAL, oneof_index=0)
    rule.field.add(
        name="custom",
        number=8,
        type=_Field.TYPE_MESSAGE,
        type_name=".scaffold.http.CustomHttpPattern",
        label=_Field.LABEL_OPTIONAL,
        oneof_index=0,
    )
    rule.field.add(name="body", number=7, type=_Field.TYPE_STRING, label=_Field.LABEL_OPTIONAL)
    rule.field.add(name="response_body", number=12, type=_Field.TYPE_STRING, label=_Field.LABEL_OPTIONAL)
    rule.field.add(
        name="additional_bindings",
        number=11,
        type=_Field.TYPE_MESSAGE,
        type_name=".scaffold.http.HttpRule",
        label=_Field.LABEL_REPEATED,
    )
    holder = proto.message_type.add(name="Options")
    holder.field.add(
        name="http",
        number=HTTP_EXTENSION,
        type=_Field.TYPE_MESSAGE,
        type_name=".scaffold.http.HttpRule",
        label=_Field.LABEL_OPTIONAL,
        proto3_optional=True,
        oneof_index=0,
    )
    holder.oneof_decl.add(name="_http")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("scaffold.http.Options"))
