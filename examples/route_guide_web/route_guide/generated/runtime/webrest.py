"""REST routes for the methods whose protos bind them (`google.api.http`), as gRPC transcoding maps them.

Each rule of a method (and each of its `additional_bindings`) is a route: an HTTP verb
and a path template (`/v1/{name=shelves/*/books/*}:move`) whose variables set fields of
the request. `body: "*"` takes the whole request from the JSON body, `body: "book"` that
field; what neither the path nor the body sets comes from the query string
(`?page_size=10&genres=FICTION&genres=HISTORY&filter.name=Ann`). The answer is the
response as JSON, or its `response_body` field; a server stream answers one JSON
object per line (`{"result": ...}`, an error as `{"error": ...}`). The rules are those
of google/api/http.proto; `scaffold gen` has refused a rule that names a field the
message lacks, or two rules for one route.

scaffold rewrites this module on every `scaffold gen`: do not edit it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from google.protobuf import (
    descriptor,
    descriptor_pool,
    json_format,
    message,
    message_factory,
)

from route_guide.generated.runtime import webcodec

FieldDescriptor = descriptor.FieldDescriptor
VERBS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True)
class Binding:
    """One route of a method: `verb` and the path `pattern`, whose groups fill `variables`."""

    method: str  # "/package.Service/Method"
    verb: str
    template: str
    pattern: re.Pattern[str]
    variables: tuple[tuple[str, str], ...]  # (regex group, field path)
    multi_segment: frozenset[str]  # groups that may span segments: "/" stays encoded
    body: str
    response_body: str
    input: type[message.Message]


class Routes:
    """Every REST route of the methods served, in the order the protos declare them."""

    def __init__(self, bindings: Iterable[Binding]) -> None:
        self.bindings = tuple(bindings)

    @classmethod
    def of(cls, methods: Iterable[str]) -> Routes:
        pool = descriptor_pool.Default()
        try:
            http: Any = pool.FindExtensionByName("google.api.http")
        except KeyError:
            return cls(())  # no proto imports google/api/annotations.proto
        bindings: list[Binding] = []
        for name in methods:
            service_name, _, method_name = name.lstrip("/").partition("/")
            try:
                method = pool.FindServiceByName(service_name).methods_by_name[
                    method_name
                ]
            except KeyError:
                continue
            options = method.GetOptions()
            if not options.HasExtension(http):
                continue
            rule = options.Extensions[http]
            for each in (rule, *rule.additional_bindings):
                bindings.extend(_bindings_of(name, method, each))
        return cls(bindings)

    def match(self, verb: str, path: str) -> tuple[Binding, dict[str, str]] | None:
        """The first route of `verb` whose template `path` fits, and the fields it sets."""
        for binding in self.bindings:
            if binding.verb != verb:
                continue
            found = binding.pattern.fullmatch(path)
            if found is None:
                continue
            values = {}
            for group, field in binding.variables:
                text = found.group(group)
                if group in binding.multi_segment:
                    text = text.replace("%2F", "%252F").replace("%2f", "%252f")
                values[field] = unquote(text)
            return binding, values
        return None


def _bindings_of(name: str, method: Any, rule: Any) -> list[Binding]:
    pattern_kind = rule.WhichOneof("pattern")
    if pattern_kind is None:
        return []
    if pattern_kind == "custom":
        verb, template = rule.custom.kind.upper(), rule.custom.path
    else:
        verb, template = pattern_kind.upper(), getattr(rule, pattern_kind)
    pattern, variables, multi = compile_template(template)
    input_type = message_factory.GetMessageClass(method.input_type)
    return [
        Binding(
            name,
            verb,
            template,
            pattern,
            variables,
            multi,
            rule.body,
            rule.response_body,
            input_type,
        )
    ]


def compile_template(
    template: str,
) -> tuple[re.Pattern[str], tuple[tuple[str, str], ...], frozenset[str]]:
    """The regular expression of a path template, its variables and which span segments."""
    path, verb = split_verb(template)
    variables: list[tuple[str, str]] = []
    multi: set[str] = set()
    parts = []
    for segment in split_segments(path.removeprefix("/")):
        if segment.startswith("{"):
            field, _, inner = segment[1:-1].partition("=")
            group = f"v{len(variables)}"
            variables.append((group, field.strip()))
            inner_segments = split_segments(inner) if inner else ["*"]
            if "**" in inner_segments or len(inner_segments) > 1:
                multi.add(group)
            parts.append(f"(?P<{group}>{_segments_pattern(inner_segments)})")
        else:
            parts.append(_segments_pattern([segment]))
    suffix = ":" + re.escape(verb) if verb else ""
    return (
        re.compile("/" + "/".join(parts) + suffix),
        tuple(variables),
        frozenset(multi),
    )


def split_verb(template: str) -> tuple[str, str]:
    """`/v1/{name=books/*}:move` -> (`/v1/{name=books/*}`, `move`): a ':' after the last '/',
    outside braces."""
    depth = 0
    for index in range(len(template) - 1, -1, -1):
        char = template[index]
        if char == "}":
            depth += 1
        elif char == "{":
            depth -= 1
        elif depth == 0 and char == "/":
            break
        elif depth == 0 and char == ":":
            return template[:index], template[index + 1 :]
    return template, ""


def split_segments(path: str) -> list[str]:
    """The segments of a path, a variable with its own segments (`{name=a/*}`) as one."""
    segments, depth, current = [], 0, ""
    for char in path:
        depth += (char == "{") - (char == "}")
        if char == "/" and depth == 0:
            segments.append(current)
            current = ""
        else:
            current += char
    segments.append(current)
    return segments


def _segments_pattern(segments: list[str]) -> str:
    parts = []
    for segment in segments:
        if segment == "*":
            parts.append("[^/]+")
        elif segment == "**":
            parts.append(".+")
        else:
            parts.append(re.escape(segment))
    return "/".join(parts)


def request_of(
    binding: Binding,
    values: dict[str, str],
    query: str,
    body: bytes,
    ignore_unknown: bool = False,
) -> message.Message:
    """The request the route's body, path and query string make together."""
    descriptor_of = binding.input.DESCRIPTOR
    request: dict[str, Any] = {}
    if binding.body == "*":
        request = webcodec.loads(body or b"{}")
        if not isinstance(request, dict):
            raise webcodec.BadMessage("$: expected an object (the request)")
    elif binding.body:
        _set(request, binding.body.split("."), webcodec.loads(body or b"null"))
    for path, text in values.items():
        _set(
            request,
            path.split("."),
            _typed(descriptor_of, path, [text], "path variable"),
        )
    if binding.body != "*":
        bound = {binding.body, *values}
        parameters: dict[str, list[str]] = {}
        for key, text in parse_qsl(query, keep_blank_values=True):
            parameters.setdefault(key, []).append(text)
        for key, texts in parameters.items():
            if key not in bound and not (
                ignore_unknown and _unknown(descriptor_of, key)
            ):
                _set(
                    request,
                    key.split("."),
                    _typed(descriptor_of, key, texts, "query parameter"),
                )
    return webcodec.from_json(request, binding.input, ignore_unknown)


def _unknown(message_type: Any, path: str) -> bool:
    for name in path.split("."):
        field = message_type.fields_by_name.get(name) if message_type else None
        if field is None:
            return True
        message_type = field.message_type
    return False


def response_of(binding: Binding, answer: message.Message) -> Any:
    """The JSON of the answer, or of its `response_body` field (its default when unset)."""
    whole = json_format.MessageToDict(answer)
    if not binding.response_body:
        return whole
    field = answer.DESCRIPTOR.fields_by_name[binding.response_body]
    if field.json_name in whole:
        return whole[field.json_name]
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return {}
    if field.is_repeated:
        return []
    if field.message_type is not None:
        return {}
    defaults = json_format.MessageToDict(
        answer, always_print_fields_with_no_presence=True
    )
    return defaults.get(field.json_name)


def _set(target: dict[str, Any], path: list[str], value: Any) -> None:
    for name in path[:-1]:
        child = target.setdefault(name, {})
        if not isinstance(child, dict):
            raise webcodec.BadMessage(
                f"$.{name}: set as a whole and by a field at once"
            )
        target = child
    target[path[-1]] = value


def _typed(message_type: Any, path: str, texts: list[str], where: str) -> Any:
    """Text from the path or the query string as the JSON of the field `path` names."""
    owner, field = message_type, None
    for name in path.split("."):
        field = owner.fields_by_name.get(name) if owner is not None else None
        if field is None:
            what = owner.full_name if owner is not None else "a scalar"
            raise webcodec.BadMessage(f"{where} {path}: {what} has no field {name!r}")
        owner = field.message_type
    assert field is not None
    converted = [_scalar(field, text) for text in texts]
    if field.is_repeated:
        return converted
    if len(converted) > 1:
        raise webcodec.BadMessage(f"{where} {path}: one value, not {len(converted)}")
    return converted[0]


def _scalar(field: FieldDescriptor, text: str) -> Any:
    if field.type == FieldDescriptor.TYPE_BOOL and text in ("true", "false"):
        return text == "true"
    if field.type == FieldDescriptor.TYPE_ENUM and text.lstrip("-").isdigit():
        return int(text)
    return text  # JSON's mapping takes numbers as strings; the check names a bad one
