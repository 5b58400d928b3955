"""Seeded edits of real protos, for comparing `scaffold breaking` with `buf breaking`.

Each mutation is a text edit placed by the protos' own source info (spans of
fields, values, RPCs), so it lands on real declarations of real files: a
field deleted, renumbered, retyped, renamed, moved in or out of a oneof, an
enum value deleted or renamed, an RPC deleted, renamed or made streaming,
the package or a file option changed, a feature set, and edits that break
nothing (a field, an RPC or a comment added, declarations reordered). An
edit that does not compile is skipped by the caller, not counted.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from google.protobuf import descriptor_pb2

from scaffold.breaking.protosource import Field, Message, Side

_F = descriptor_pb2.FieldDescriptorProto
SCALARS = ["int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32", "sfixed64"]
SCALARS += ["bool", "string", "bytes", "double", "float"]
FILE_OPTIONS = [
    ("go_package", '"example.com/mutated"'),
    ("java_package", '"com.example.mutated"'),
    ("java_outer_classname", '"MutatedProto"'),
    ("java_multiple_files", "true"),
    ("optimize_for", "CODE_SIZE"),
    ("cc_enable_arenas", "false"),
    ("cc_generic_services", "true"),
    ("java_generic_services", "true"),
    ("py_generic_services", "true"),
    ("java_string_check_utf8", "true"),
    ("objc_class_prefix", '"MUT"'),
    ("csharp_namespace", '"Mutated"'),
    ("swift_prefix", '"Mut"'),
    ("php_class_prefix", '"Mut"'),
    ("php_namespace", '"Mutated"'),
    ("php_metadata_namespace", '"Mutated\\\\Meta"'),
    ("ruby_package", '"Mutated"'),
]


@dataclass
class Corpus:
    """Proto texts by name (tabs expanded: protoc counts a tab to the next multiple of 8) and their side."""

    texts: dict[str, str]
    side: Side

    def span(self, file: str, path: tuple[int, ...]) -> tuple[int, int] | None:
        for location in self.side.all[file].proto.source_code_info.location:
            if tuple(location.path) == path:
                span = list(location.span)
                start_line, start_col = span[0], span[1]
                end_line, end_col = (span[2], span[3]) if len(span) == 4 else (span[0], span[2])
                return self._offset(file, start_line, start_col), self._offset(file, end_line, end_col)
        return None

    def _offset(self, file: str, line: int, col: int) -> int:
        lines = self.texts[file].split("\n")
        return sum(len(text) + 1 for text in lines[:line]) + col

    def token(self, file: str, path: tuple[int, ...]) -> str:
        span = self.span(file, path)
        return self.texts[file][span[0] : span[1]] if span else ""


Edit = tuple[str, int, int, str]  # file, start, end, replacement
Mutation = Callable[[random.Random, Corpus], "tuple[str, list[Edit]] | None"]


def apply(texts: dict[str, str], edits: list[Edit]) -> dict[str, str]:
    result = dict(texts)
    for file, start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        result[file] = result[file][:start] + replacement + result[file][end:]
    return result


def _messages(corpus: Corpus) -> list[Message]:
    return [m for f in corpus.side.files.values() for m in f.all_messages() if not m.is_map_entry]


def _fields(corpus: Corpus, keep: Callable[[Field], bool] = lambda f: True) -> list[Field]:
    return [f for m in _messages(corpus) for f in m.fields if keep(f)]


def _pick(rng: random.Random, items: list) -> object | None:  # type: ignore[type-arg]
    return rng.choice(items) if items else None


def _whole_lines(corpus: Corpus, file: str, start: int, end: int) -> tuple[int, int]:
    """Widen a span to its whole lines when nothing else is on them (so no blank line is left)."""
    text = corpus.texts[file]
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end + 1
    if text[line_start:start].strip() == "" and text[end:line_end].strip() == "":
        return line_start, line_end
    return start, end


def _unused_number(message: Message, rng: random.Random) -> int:
    used = {f.number for f in message.fields} | {
        n for s, e in message.reserved_ranges for n in range(s, min(e, 20000) + 1)
    }
    used |= {n for s, e in message.extension_ranges for n in range(s, min(e, 20000) + 1)}
    candidates = [n for n in range(1, 200) if n not in used]
    return rng.choice(candidates[:20])


def _body_start(corpus: Corpus, element: Message) -> int:
    span = corpus.span(element.file.name, element.path)
    assert span is not None
    return corpus.texts[element.file.name].index("{", span[0]) + 1


def _plain(field: Field) -> bool:
    """A singular field with no label written: `T name = N;`."""
    return field.proto.label == _F.LABEL_OPTIONAL and not field.proto.proto3_optional and field.oneof is None


def delete_field(rng: random.Random, c: Corpus, reserve: str = "") -> tuple[str, list[Edit]] | None:
    field = _pick(rng, _fields(c))
    if not isinstance(field, Field) or field.message is None:
        return None
    span = c.span(field.file.name, field.path)
    if span is None:
        return None
    start, end = _whole_lines(c, field.file.name, *span)
    edits: list[Edit] = [(field.file.name, start, end, "")]
    if reserve:
        body = _body_start(c, field.message)
        reserved = f" {field.number};" if reserve == "number" else f' "{field.name}";'
        if field.file.syntax == "editions" and reserve == "name":
            reserved = f" {field.name};"
        edits.append((field.file.name, body, body, f"\n  reserved{reserved}"))
    return f"delete field {field.full_name}{' reserving ' + reserve if reserve else ''}", edits


def retype_map(rng: random.Random, c: Corpus) -> tuple[str, list[Edit]] | None:
    """A map's key or value retyped: the break is in the synthetic entry, which buf places at the map field
    (in `sweep`, once per map of the corpus)."""
    field = _pick(rng, _fields(c, lambda f: f.is_map(c.side)))
    if not isinstance(field, Field):
        return None
    span = c.span(field.file.name, (*field.path, 6))
    found = (
        re.fullmatch(r"map\s*<\s*(\w+)\s*,\s*([\w.]+)\s*>", c.texts[field.file.name][span[0] : span[1]])
        if span
        else None
    )
    if span is None or found is None:
        return None
    key, value = found[1], found[2]
    if rng.random() < 0.3:
        key = rng.choice([k for k in ("int32", "int64", "uint32", "string", "bool") if k != key])
    else:
        value = rng.choice([v for v in SCALARS if v != value])
    return f"retype map {field.full_name} to map<{key}, {value}>", [(field.file.name, *span, f"map<{key}, {value}>")]


def renumber_field(rng: random.Random, c: Corpus) -> tuple[str, list[Edit]] | None:
    field = _pick(rng, _fields(c))
    if not isinstance(field, Field) or field.message is None:
        return None
    span = c.span(field.file.name, (*field.path, 3))
    if span is None:
        return None
    number = _unused_number(field.message, rng)
    return f"renumber {field.full_name} to {number}", [(field.file.name, *span, str(number))]


def retype_field(rng: random.Random, c: Corpus) -> tuple[str, list[Edit]] | None:
    field = _pick(rng, _fields(c, lambda f: f.type not in (_F.TYPE_GROUP,) and not f.is_map(c.side)))
    if not isinstance(field, Field):
        return None
    named = field.type in (_F.TYPE_MESSAGE, _F.TYPE_ENUM)
    span = c.span(field.file.name, (*field.path, 6 if named else 5))
    if span is None:
        return None
    if rng.random() < 0.3:
        others = [m.full_name for m in _messages(c) if m.file.package == field.file.package]
        others += [
            e.full_name for f in c.side.files.values() for e in f.all_enums() if e.file.package == field.file.package
        ]
        target = _pick(rng, others)
        if target is None:
            return None
        new = "." + str(target)
    else:
        new = rng.choice(SCALARS)
    return f"retype {field.full_name} to {new}", [(field.file.name, *span, new)]


def rename_field(rng: random.Random, c: Corpus) -> tuple[str, list[Edit]] | None:
    field = _pick(rng, _fields(c))
    if not isinstance(field, Field):
        return None
    span = c.span(field.file.name, (*field.path, 1))
    if span is None:
        return None
    new = rng.choice(
        [field.name + "_renamed", field.name.upper() if field.name.upper() != field.name else field.name + "x"]
    )
    return f"rename {field.full_name} to {new}", [(field.file.name, *span, new)]


def json_name(rng: random.Random, c: Corpus) -> tuple[str, list[Edit]] | None:
    field = _pick(rng, _fields(c, lambda f: not f.proto.HasField("options") and not f.extendee))
    if not isinstance(field, Field):
        return None
    span = c.span(field.file.name, field.path)
    if span is None:
        return None
    end = c.texts[field.file.name].rindex(";", span[0], span[1])
    return f"json_name on {field.full_name}", [(field.file.name, end, end, ' [json_name = "mutatedName"]')]


def field_option(rng: random.Random, c: Corpus) -> tuple[str, list[Edit]] | None:
    wide = (_F.TYPE_INT64, _F.TYPE_UINT64, _F.TYPE_SINT64, _F.TYPE_FIXED64, _F.TYPE_SFIXED64)
    choices = [
        (lambda f: f.type in wide, "jstype = JS_STRING"),
        (lambda f: f.type in (_F.TYPE_STRING, _F.TYPE_BYTES) and f.file.syntax != "editions", "ctype = CORD"),
        (lambda f: f.type == _F.TYPE_STRING and f.file.syntax == "editions", "features.utf8_validation = NONE"),
        (
            lambda f: f.type == _F.TYPE_MESSAGE and f.file.syntax == "editions" and not f.is_map(c.side),
            "features.message_encoding = DELIMITED",
        ),
        (
            lambda f: _plain(f) and f.file.syntax == "editions" and f.type not in (_F.TYPE_MESSAGE, _F.TYPE_GROUP),
            "features.field_presence = IMPLICIT",
        ),
        (
            lambda f: (
                f.proto.label == _F.LABEL_OPTIONAL
                and f.file.syntax == "proto2"
                and f.type != _F.TYPE_MESSAGE
                and f.type != _F.TYPE_GROUP
            ),
            "default = DEFAULT",
        ),
    ]
    keep, option = rng.choice(choices)
    field = _pick(
        rng, _fields(c, lambda f: keep(f) and not f.proto.HasField("options") and not f.proto.HasField("default_value"))
    )
    if not isinstance(field, Field):
        return None
    if option == "default = DEFAULT":
        option = "default = " + _default_for(field, c, rng)
    span = c.span(field.file.name, field.path)
    if span is None:
        return None
    end = c.texts[field.file.name].rindex(";", span[0], span[1])
    return f"[{option}] on {field.full_name}", [(field.file.name, end, end, f" [{option}]")]


def _default_for(field: Field, c: Corpus, rng: random.Random) -> str:
    if field.type == _F.TYPE_ENUM:
        enum = c.side.types.get(field.type_name.lstrip("."))
        return rng.choice([v.name for v in enum.values]) if enum else "X"  # type: ignore[union-attr]
    if field.type == _F.TYPE_BOOL:
        return rng.choice(["true", "false"])
    if field.type in (_F.TYPE_STRING, _F.TYPE_BYTES):
        return rng.choice(['"x"', '""', '"a\\001b"'])
    if field.type in (_F.TYPE_FLOAT, _F.TYPE_DOUBLE):
        return rng.choice(["1.5", "0", "-0.1", "inf", "nan"])
    return rng.choice(
        [
            "0",
            "7",
            "-1"
            if field.type
            in (_F.TYPE_INT32, _F.TYPE_INT64, _F.TYPE_SINT32, _F.TYPE_SINT64, _F.TYPE_SFIXED32, _F.TYPE_SFIXED64)
            else "1",
        ]
    )


def change_default(rng: random.Random, c: Corpus) -> tuple[str, list[Edit]] | None:
    field = _pick(rng, _fields(c, lambda f: f.proto.HasField("default_value")))
    if not isinstance(field, Field):
        return None
    span = c.span(field.file.name, (*field.path, 7))
    if span is None:
        return None
    return f"default of {field.full_name}", [(field.file.name, *span, _default_for(field, c, rng))]


def relabel(rng: random.Random, c: Corpus) -> tuple[str, list[Edit]] | None:
    """Add or take away `repeated`, `optional` or `required`."""
    field = _pick(rng, _fields(c, lambda f: f.oneof is None or f.proto.proto3_optional))
    if not isinstance(field, Field) or field.is_map(c.side):
        return None
    label = c.span(field.file.name, (*field.path, 4))
    file = field.file.name
    if label is not None:
        written = c.texts[file][label[0] : label[1]]
        options = {"proto2": ["optional", "repeated", "required"], "proto3": ["", "repeated", "optional"]}
        options["editions"] = ["", "repeated"]
        new = rng.choice([o for o in options[field.file.syntax] if o != written])
        end = label[1] + 1 if not new else label[1]
        return f"label {written} -> {new or '(none)'} on {field.full_name}", [(file, label[0], end, new)]
    start = c.span(file, field.path)
    if start is None:
        return None
    new = rng.choice(["repeated", "optional"] if field.file.syntax == "proto3" else ["repeated"])
    return f"label {new} on {field.full_name}", [(file, start[0], start[0], new + " ")]


def into_oneof(rng: random.Random, c: Corpus) -> tuple[str, list[Edit]] | None:
    field = _pick(rng, _fields(c, lambda f: _plain(f) and c.span(f.file.name, (*f.path, 4)) is None))
    if not isinstance(field, Field):
        return None
    span = c.span(field.file.name, field.path)
    if span is None:
        return None
    text = c.texts[field.file.name][span[0] : span[1]]
    name = rng.choice(["mutated_choice", "kind_choice"])
    return f"{field.full_name} into oneof", [(field.file.name, *span, f"oneof {name} {{ {text} }}")]


def out_of_oneof(rng: random.Random, c: Corpus) -> tuple[str, list[Edit]] | None:
    field = _pick(rng, _fields(c, lambda f: f.real_oneof is not None))
    if not isinstance(field, Field) or field.message is None or field.real_oneof is None:
        return None
    file = field.file.name
    span, block = c.span(file, field.path), c.span(file, field.real_oneof.path)
    if span is None or block is None:
        return None
    text = c.texts[file][span[0] : span[1]]
    prefix = "optional " if field.file.syntax == "proto2" else ""
    start, end = _whole_lines(c, file, *span)
    return f"{field.full_name} out of its oneof", [
        (file, start, end, ""),
        (file, block[1], block[1], f"\n  {prefix}{text}"),
    ]


def enum_value(rng: random.Random, c: Corpus) -> tuple[str, list[Edit]] | None:
    enums = [e for f in c.side.files.values() for e in f.all_enums() if len(e.values) > 1]
    enum = _pick(rng, enums)
    if enum is None:
        return None
    value = rng.choice(enum.values[1:])  # type: ignore[attr-defined]
    file = value.file.name
    how = rng.choice(["delete", "delete reserving number", "delete reserving name", "renumber", "rename"])
    span = c.span(file, value.path)
    if span is None:
        return None
    if how.startswith("delete"):
        start, end = _whole_lines(c, file, *span)
        edits: list[Edit] = [(file, start, end, "")]
        if "reserving" in how:
            body = _body_start(c, enum)  # type: ignore[arg-type]
            reserved = (
                f"{value.number}"
                if how.endswith("number")
                else (value.name if value.file.syntax == "editions" else f'"{value.name}"')
            )
            edits.append((file, body, body, f"\n  reserved {reserved};"))
        return f"{how} {value.name}", edits
    if how == "renumber":
        used = {v.number for v in enum.values}  # type: ignore[attr-defined]
        number = next(n for n in range(rng.randint(1, 50), 10_000) if n not in used)
        return f"renumber {value.name}", [(file, *c.span(file, (*value.path, 2)), str(number))]  # type: ignore[misc]
    return f"rename {value.name}", [(file, *c.span(file, (*value.path, 1)), value.name + "_RENAMED")]  # type: ignore[misc]


def rpc(rng: random.Random, c: Corpus) -> tuple[str, list[Edit]] | None:
    methods = [m for f in c.side.files.values() for s in f.services for m in s.methods]
    method = _pick(rng, methods)
    if method is None:
        return None
    file = method.file.name  # type: ignore[attr-defined]
    path = method.path  # type: ignore[attr-defined]
    how = rng.choice(["delete", "rename", "client stream", "server stream", "request", "response", "idempotency"])
    span = c.span(file, path)
    if span is None:
        return None
    if how == "delete":
        return f"delete RPC {method.name}", [(file, *_whole_lines(c, file, *span), "")]  # type: ignore[attr-defined]
    if how == "rename":
        return f"rename RPC {method.name}", [(file, *c.span(file, (*path, 1)), method.name + "Renamed")]  # type: ignore[attr-defined, misc]
    if how in ("client stream", "server stream"):
        part = 2 if how == "client stream" else 3
        streaming = method.proto.client_streaming if part == 2 else method.proto.server_streaming  # type: ignore[attr-defined]
        type_span = c.span(file, (*path, part))
        if type_span is None:
            return None
        if streaming:
            text = c.texts[file]
            at = text.rindex("stream", span[0], type_span[0])
            return f"{how} off for {method.name}", [(file, at, at + len("stream "), "")]  # type: ignore[attr-defined]
        return f"{how} on for {method.name}", [(file, type_span[0], type_span[0], "stream ")]  # type: ignore[attr-defined]
    if how in ("request", "response"):
        others = [m.full_name for m in _messages(c) if m.file.package == method.file.package]  # type: ignore[attr-defined]
        target = _pick(rng, others)
        if target is None:
            return None
        part = 2 if how == "request" else 3
        return f"{how} of {method.name}", [(file, *c.span(file, (*path, part)), f".{target}")]  # type: ignore[attr-defined, misc]
    text = c.texts[file][span[0] : span[1]]
    if text.rstrip().endswith(";") and "{" not in text:
        end = span[0] + text.rindex(";")
        level = rng.choice(["NO_SIDE_EFFECTS", "IDEMPOTENT"])
        return f"idempotency of {method.name}", [(file, end, span[1], f" {{ option idempotency_level = {level}; }}")]  # type: ignore[attr-defined]
    return None


def file_level(rng: random.Random, c: Corpus) -> tuple[str, list[Edit]] | None:
    file = rng.choice(sorted(c.side.files.values(), key=lambda f: f.name))
    how = rng.choice(
        [
            "package",
            "option",
            "option",
            "option",
            "option",
            "feature",
            "delete service",
            "delete message",
            "delete enum",
        ]
    )
    name = file.name
    package = c.span(name, (2,))
    if how == "package" and package is not None:
        return f"package of {name}", [(name, *package, f"package {file.package or 'none'}.mutated;")]
    if how == "option" and package is not None:
        option, value = rng.choice(FILE_OPTIONS)
        existing = [
            loc for loc in file.proto.source_code_info.location if list(loc.path)[:2] == [8, _option_number(option)]
        ]
        if existing:
            span = c.span(name, tuple(existing[0].path))
            assert span is not None
            whole = _whole_lines(c, name, *span)
            return f"drop option {option} of {name}", [(name, *whole, "")]
        if option == "java_string_check_utf8" and file.syntax == "editions":
            return None
        return f"option {option} in {name}", [(name, package[1], package[1], f"\noption {option} = {value};")]
    if how == "feature" and package is not None and file.syntax == "editions":
        feature = rng.choice(
            [
                "enum_type = CLOSED",
                "field_presence = IMPLICIT",
                "utf8_validation = NONE",
                "json_format = LEGACY_BEST_EFFORT",
                "message_encoding = DELIMITED",
            ]
        )
        return f"feature {feature} in {name}", [(name, package[1], package[1], f"\noption features.{feature};")]
    kinds = {"delete service": file.services, "delete message": file.messages, "delete enum": file.enums}
    element = _pick(rng, list(kinds.get(how, [])))
    if element is None:
        return None
    span = c.span(name, element.path)  # type: ignore[attr-defined]
    if span is None:
        return None
    return f"{how} {element.name} from {name}", [(name, *_whole_lines(c, name, *span), "")]  # type: ignore[attr-defined]


def _option_number(option: str) -> int:
    return descriptor_pb2.FileOptions.DESCRIPTOR.fields_by_name[option].number


def harmless(rng: random.Random, c: Corpus) -> tuple[str, list[Edit]] | None:
    """Edits that break nothing: a field, an RPC, an enum value, a comment added; two messages swapped."""
    how = rng.choice(["field", "rpc", "comment", "swap", "value"])
    if how == "field":
        message = _pick(rng, [m for m in _messages(c) if m.file.syntax != "proto2"])
        if message is None:
            return None
        body = _body_start(c, message)  # type: ignore[arg-type]
        return f"add a field to {message.full_name}", [
            (message.file.name, body, body, f"\n  string added_{rng.randint(0, 99)} = {_unused_number(message, rng)};")
        ]  # type: ignore[attr-defined, arg-type]
    if how == "rpc":
        service = _pick(rng, [s for f in c.side.files.values() for s in f.services if s.methods])
        if service is None:
            return None
        method = service.methods[0]  # type: ignore[attr-defined]
        body = _body_start(c, service)  # type: ignore[arg-type]
        request, response = method.proto.input_type, method.proto.output_type
        return f"add an RPC to {service.name}", [
            (service.file.name, body, body, f"\n  rpc AddedCall({request}) returns ({response});")
        ]  # type: ignore[attr-defined]
    if how == "value":
        enum = _pick(rng, [e for f in c.side.files.values() for e in f.all_enums()])
        if enum is None:
            return None
        used = {v.number for v in enum.values}  # type: ignore[attr-defined]
        number = next(n for n in range(100, 1000) if n not in used)
        body = _body_start(c, enum)  # type: ignore[arg-type]
        return f"add a value to {enum.name}", [
            (enum.file.name, body, body, f"\n  {enum.name.upper()}_ADDED_{number} = {number};")
        ]  # type: ignore[attr-defined]
    file = rng.choice(sorted(c.side.files))
    if how == "comment":
        text = c.texts[file]
        lines = [m.start() for m in re.finditer(r"\n(?=\S)", text)]
        at = rng.choice(lines) + 1 if lines else 0
        return f"comment in {file}", [(file, at, at, "// A comment added by the mutation.\n")]
    messages = c.side.files[file].messages
    if len(messages) < 2:
        return None
    first, second = sorted(rng.sample(range(len(messages)), 2))
    a, b = c.span(file, messages[first].path), c.span(file, messages[second].path)
    if a is None or b is None:
        return None
    text = c.texts[file]
    return f"swap two messages in {file}", [(file, *a, text[b[0] : b[1]]), (file, *b, text[a[0] : a[1]])]


def delete_element(rng: random.Random, c: Corpus) -> tuple[str, list[Edit]] | None:
    """A whole declaration gone: a (nested) message or enum, a oneof, a reserved or extensions statement."""
    messages = _messages(c)
    how = rng.choice(["message", "enum", "oneof", "reserved", "extensions", "extension"])
    candidates: list[tuple[str, tuple[int, ...], str]] = []
    for message in messages:
        file = message.file.name
        if how == "message":
            candidates += [(file, m.path, m.full_name) for m in message.nested if not m.is_map_entry]
            candidates.append((file, message.path, message.full_name))
        elif how == "enum":
            candidates += [(file, e.path, e.full_name) for e in message.enums]
        elif how == "oneof":
            candidates += [(file, o.path, o.name) for o in message.oneofs if not o.synthetic]
        elif how in ("reserved", "extensions"):
            kinds = (9, 10) if how == "reserved" else (5,)
            candidates += [
                (file, tuple(loc.path), f"{how} of {message.full_name}")
                for loc in message.file.proto.source_code_info.location
                if len(loc.path) == len(message.path) + 1
                and tuple(loc.path[:-1]) == message.path
                and loc.path[-1] in kinds
            ]
    for file in c.side.files.values():
        if how == "enum":
            candidates += [(file.name, e.path, e.full_name) for e in file.enums]
        if how == "extension":
            candidates += [(file.name, x.path, x.full_name) for x in file.all_extensions()]
    picked = _pick(rng, candidates)
    if picked is None:
        return None
    file, path, name = picked  # type: ignore[misc]
    span = c.span(file, path)
    if span is None:
        return None
    start, end = _whole_lines(c, file, *span)
    if how == "extension" and c.texts[file][start:end].strip().startswith("extend"):
        return None
    return f"delete {how} {name}", [(file, start, end, "")]


def element_option(rng: random.Random, c: Corpus) -> tuple[str, list[Edit]] | None:
    """An option or feature set on a message or an enum."""
    editions = [m for m in _messages(c) if m.file.syntax == "editions"]
    enums = [e for f in c.side.files.values() for e in f.all_enums()]
    choices: list[tuple[object, str]] = [(m, "no_standard_descriptor_accessor = true") for m in _messages(c)]
    choices += [(m, "features.json_format = LEGACY_BEST_EFFORT") for m in editions]
    choices += [(e, "features.enum_type = CLOSED") for e in enums if e.file.syntax == "editions"]
    choices += [(e, "features.enum_type = OPEN") for e in enums if e.file.syntax == "editions"]
    choices += [(e, "features.json_format = LEGACY_BEST_EFFORT") for e in enums if e.file.syntax == "editions"]
    picked = _pick(rng, choices)
    if picked is None:
        return None
    element, option = picked  # type: ignore[misc]
    body = _body_start(c, element)  # type: ignore[arg-type]
    return f"option {option} on {element.name}", [(element.file.name, body, body, f"\n  option {option};")]  # type: ignore[attr-defined]


def syntax(rng: random.Random, c: Corpus) -> tuple[str, list[Edit]] | None:
    """proto3 to proto2 (every unlabelled field gets `optional`) or to edition 2023 (implicit presence kept)."""
    files = [f for f in c.side.files.values() if f.syntax == "proto3"]
    file = _pick(rng, files)
    if file is None:
        return None
    name = file.name  # type: ignore[attr-defined]
    span = c.span(name, (12,))
    if span is None:
        return None
    if rng.random() < 0.5:
        edits: list[Edit] = [(name, *span, 'syntax = "proto2";')]
        for message in file.all_messages():  # type: ignore[attr-defined]
            for field in message.fields:
                if field.oneof is None and c.span(name, (*field.path, 4)) is None and not field.is_map(c.side):
                    start = c.span(name, field.path)
                    if start is not None:
                        edits.append((name, start[0], start[0], "optional "))
        return f"{name} to proto2", edits
    if any(f.proto.proto3_optional for m in file.all_messages() for f in m.fields):  # type: ignore[attr-defined]
        return None
    return f"{name} to edition 2023", [(name, *span, 'edition = "2023";\noption features.field_presence = IMPLICIT;')]


def delete_file(rng: random.Random, c: Corpus) -> tuple[str, list[Edit]] | None:
    imported = {d for f in c.side.files.values() for d in f.proto.dependency}
    candidates = [name for name in c.side.files if name not in imported]
    if len(c.side.files) < 2 or not candidates:
        return None
    name = rng.choice(sorted(candidates))
    return f"delete file {name}", [(name, -1, -1, "")]


MUTATIONS: list[tuple[Mutation, int]] = [
    (delete_field, 3),
    (lambda r, c: delete_field(r, c, "number"), 2),
    (lambda r, c: delete_field(r, c, "name"), 2),
    (renumber_field, 2),
    (retype_field, 4),
    (rename_field, 2),
    (json_name, 1),
    (field_option, 3),
    (change_default, 1),
    (relabel, 3),
    (into_oneof, 2),
    (out_of_oneof, 2),
    (enum_value, 4),
    (rpc, 7),
    (file_level, 9),
    (harmless, 4),
    (delete_file, 1),
    (delete_element, 4),
    (element_option, 3),
    (syntax, 1),
]


def mutate(rng: random.Random, corpus: Corpus) -> tuple[str, dict[str, str | None]] | None:
    """One seeded mutation: its description and the new texts (None: the file is deleted)."""
    mutations, weights = zip(*MUTATIONS, strict=True)
    chosen = rng.choices(mutations, weights)[0]
    made = chosen(rng, corpus)
    if made is None:
        return None
    description, edits = made
    deleted = {file for file, start, _, _ in edits if start < 0}
    texts = apply(corpus.texts, [e for e in edits if e[1] >= 0])
    return description, {name: (None if name in deleted else text) for name, text in texts.items()}


def sweep(corpus: Corpus) -> list[tuple[str, dict[str, str | None]]]:
    """Deterministic edits for what random picks reach too rarely: every file option, every reserved and
    extensions statement deleted, every editions enum switched open/closed, every RPC's request retyped."""
    made: list[tuple[str, list[Edit]]] = []
    first = min(corpus.side.files)
    package = corpus.span(first, (2,))
    if package is not None:
        for option, value in FILE_OPTIONS:
            if not (option == "java_string_check_utf8" and corpus.side.files[first].syntax == "editions"):
                made.append(
                    (f"option {option} in {first}", [(first, package[1], package[1], f"\noption {option} = {value};")])
                )
    for file in corpus.side.files.values():
        elements = [*file.all_messages(), *file.all_enums()]
        for element in elements:
            kinds = (9, 10, 5) if isinstance(element, Message) else (4, 5)
            for location in file.proto.source_code_info.location:
                path = tuple(location.path)
                if len(path) == len(element.path) + 1 and path[:-1] == element.path and path[-1] in kinds:
                    span = corpus.span(file.name, path)
                    if span is not None:
                        made.append(
                            (
                                f"delete {path} of {element.full_name}",
                                [(file.name, *_whole_lines(corpus, file.name, *span), "")],
                            )
                        )
            if not isinstance(element, Message) and element.proto.options.allow_alias:
                for index, value in enumerate(element.proto.value):  # a third name, and one of two renamed
                    span = corpus.span(file.name, (*element.path, 2, index))
                    if span is not None:
                        end = _whole_lines(corpus, file.name, *span)[1]
                        alias = f"  {value.name}_ALIAS = {value.number};\n"
                        made.append((f"alias of {value.name}", [(file.name, end, end, alias)]))
            if file.syntax == "editions" and not isinstance(element, Message):
                option = "features.enum_type = " + ("OPEN" if element.closed else "CLOSED")
                body = _body_start(corpus, element)  # type: ignore[arg-type]
                made.append((f"{option} on {element.full_name}", [(file.name, body, body, f"\n  option {option};")]))
        for service in file.services:
            for method in service.methods:
                others = [
                    m.full_name
                    for m in file.all_messages()
                    if "." + m.full_name != method.proto.input_type and not m.is_map_entry
                ]
                span = corpus.span(file.name, (*method.path, 2))
                if others and span is not None:
                    made.append((f"request of {method.name}", [(file.name, *span, "." + others[0])]))
    rng = random.Random(10)  # each map's key or value retyped once (random draws would shift every seed's)
    made += [
        edit for _ in range(len(_fields(corpus, lambda f: f.is_map(corpus.side)))) if (edit := retype_map(rng, corpus))
    ]
    return [(description, apply(corpus.texts, edits)) for description, edits in made]  # type: ignore[misc]
