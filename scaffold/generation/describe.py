"""Stage: from protoc's descriptors to the model templates read (`scaffold.core.model`).

No descriptor_pb2 object leaves this module: names, imports, docstrings and
the shape of every RPC are resolved here, and so is everything that would
make generated code fail (keywords, names that collide in grpc's module or in
the client, imports nested too deep for Python), refused at its proto line.
"""

from __future__ import annotations

import hashlib
import keyword
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

from google.protobuf import descriptor_pb2

from scaffold.core.errors import Diagnostic, ScaffoldError
from scaffold.core.imports import Import
from scaffold.core.model import KINDS, MessageRef, Project, ProtoFile, Rpc, Service
from scaffold.core.naming import clean_comment, docstring_body, module_path, safe_identifier, snake_case
from scaffold.generation.protoc import ProtocResult, ProtoInput, provided_by_runtime
from scaffold.record.memo import Memo

_FILE = descriptor_pb2.FileDescriptorProto
_SERVICE_FIELD = _FILE.SERVICE_FIELD_NUMBER
_METHOD_FIELD = descriptor_pb2.ServiceDescriptorProto.METHOD_FIELD_NUMBER


_CLIENT_NAMES = frozenset(
    {"main", "run", "channel", "args", "parser", "argv", "target", "succeeded", "argparse", "asyncio", "grpc"}
    | {"message", "partial", "pytest", "annotations", "serving", "status_of", "server_accepts_connections"}
)


def _distinct(names: Sequence[str], reserved: frozenset[str]) -> list[str]:
    """Python identifiers for `names`, pairwise distinct and none in `reserved`.

    RPCs may differ only by case (`GetThing`, `getThing`), which snake_case
    folds together; two `def`s of one name would silently test only the last.
    Later ones get `_2`, `_3`, ... in declaration order; a reserved name or a
    keyword gets a trailing underscore first (PEP 8).
    """
    taken: set[str] = set()
    result = []
    for name in names:
        first = safe_identifier(name)
        if first in reserved:
            first += "_"
        candidate, number = first, 2
        while candidate in taken:
            candidate, number = f"{first}_{number}", number + 1
        taken.add(candidate)
        result.append(candidate)
    return result


class _Method(NamedTuple):
    name: str
    input_type: str
    output_type: str
    client_streaming: bool
    server_streaming: bool
    deprecated: bool
    doc: str


class _FoundService(NamedTuple):
    name: str
    deprecated: bool
    doc: str
    methods: tuple[_Method, ...]


class _Summary(NamedTuple):
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
    services: tuple[_FoundService, ...]
    problems: tuple[tuple[str, int, int], ...]
    """(message, line, column) of every name grpc's plugin cannot generate."""


def describe(result: ProtocResult, package: str, generated_subpackage: str, memo: Memo | None = None) -> Project:
    """The model of the input protos of one protoc run, for the Python package `package`; `memo` keeps
    each file's summary from earlier runs (see `_Summary`)."""
    generated_package = f"{package}.{generated_subpackage}"
    if result.descriptor_bytes:  # a regeneration's: summaries from the memo, files parsed only on a miss
        serialized = result.descriptor_bytes
        summaries = {name: _summary(descriptor, memo) for name, descriptor in serialized.items()}
        proto_of: Callable[[str], descriptor_pb2.FileDescriptorProto] = lambda name: _FILE.FromString(serialized[name])
    else:  # parsed already (`breaking`, `describe`, a replay): summarised as they are
        files = {f.name: f for f in result.descriptors.file}
        summaries = {name: _summarise(file) for name, file in files.items()}
        proto_of = files.__getitem__
    locations = {item.name: item.path.as_posix() for item in result.inputs}
    modules = _ModuleNames(summaries, generated_package)
    messages = _MessageIndex(summaries)

    problems: list[Diagnostic] = _too_deep(proto_of, summaries, result.inputs, locations)
    services: list[tuple[str, _FoundService]] = []
    for item in result.inputs:
        summary = summaries[item.name]
        problems += [Diagnostic(locations[item.name], *problem) for problem in summary.problems]
        services += [(item.name, service) for service in summary.services]
    if problems:
        raise ScaffoldError(problems)

    class_names = _unique(
        [service.name for _, service in services], [_camel(summaries[name].package) for name, _ in services]
    )
    function_names = _unique(
        [snake_case(method.name) for _, service in services for method in service.methods],
        [
            snake_case(class_name)
            for (_, service), class_name in zip(services, class_names, strict=True)
            for _ in service.methods
        ],
        joiner="_",
    )
    functions = iter(_distinct(function_names, _CLIENT_NAMES))
    model_services: dict[str, list[Service]] = {}
    for (proto_name, service), class_name in zip(services, class_names, strict=True):
        proto_package = summaries[proto_name].package
        full_name = f"{proto_package}.{service.name}" if proto_package else service.name
        model_rpcs = tuple(
            Rpc(
                name=method.name,
                route=f"/{full_name}/{method.name}",
                kind=KINDS[(method.client_streaming, method.server_streaming)],
                request=messages.ref(method.input_type, modules),
                response=messages.ref(method.output_type, modules),
                doc=docstring_body(_with_deprecation(method.doc, method.deprecated, "RPC")),
                deprecated=method.deprecated,
                function=next(functions),
                summary=_first_sentence(method.doc),
            )
            for method in service.methods
        )
        model_services.setdefault(proto_name, []).append(
            Service(
                name=service.name,
                full_name=full_name,
                snake=safe_identifier(snake_case(class_name)),
                grpc_import=modules.import_of(proto_name, grpc=True),
                class_name=f"{class_name}Servicer",
                doc=docstring_body(_with_deprecation(service.doc, service.deprecated, "service")),
                deprecated=service.deprecated,
                rpcs=model_rpcs,
                package=proto_package,
            )
        )
    proto_files = tuple(
        ProtoFile(item.name, summaries[item.name].package, tuple(model_services.get(item.name, ())), package)
        for item in result.inputs
    )
    return Project(package=package, generated_package=generated_package, files=proto_files)


def _summary(serialized: bytes, memo: Memo | None) -> _Summary:
    """The summary of the file whose descriptor is `serialized`, from the memo where an earlier run
    summarised the same descriptor (then it is not even parsed)."""
    if memo is None:
        return _summarise(_FILE.FromString(serialized))
    key = f"describe:{hashlib.blake2b(serialized, digest_size=20).hexdigest()}"
    kept = memo.get(key)
    if kept is not None:
        package, dependency, messages, enums, services, problems = kept
        found = tuple(
            _FoundService(name, deprecated, doc, tuple(_Method(*method) for method in methods))
            for name, deprecated, doc, methods in services
        )
        return _Summary(package, dependency, messages, enums, found, problems)
    summary = _summarise(_FILE.FromString(serialized))
    plain_services = tuple((s.name, s.deprecated, s.doc, tuple(tuple(m) for m in s.methods)) for s in summary.services)
    memo.put(key, (*summary[:4], plain_services, summary.problems))
    return summary


def _summarise(proto: descriptor_pb2.FileDescriptorProto) -> _Summary:
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
        problems += _unusable(proto, (_SERVICE_FIELD, s_index), "service", service.name)
        problems += _grpc_name_clashes(proto, s_index, defined)
        methods = []
        for m_index, method in enumerate(service.method):
            path = (_SERVICE_FIELD, s_index, _METHOD_FIELD, m_index)
            problems += _unusable(proto, path, "RPC", method.name)
            methods.append(
                _Method(
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
        services.append(_FoundService(service.name, service.options.deprecated, doc, tuple(methods)))
    return _Summary(
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


class _ModuleNames:
    """Python module paths and import aliases of generated modules.

    The alias is the module's own name (`common_pb2`) unless two protos share
    a file name, in which case the directory joins in (`a_common_pb2`).
    """

    def __init__(self, files: Iterable[str], generated_package: str) -> None:
        self._generated_package = generated_package
        self._stem_counts = Counter(module_path(name).rpartition("/")[2] for name in files)
        self._imports: dict[tuple[str, bool], Import] = {}  # googleapis asks 26,000 times, for 3,000 modules

    def import_of(self, proto_name: str, grpc: bool = False) -> Import:
        found = self._imports.get((proto_name, grpc))
        if found is None:
            found = self._imports[proto_name, grpc] = self._import_of(proto_name, grpc)
        return found

    def _import_of(self, proto_name: str, grpc: bool) -> Import:
        parent, _, name = module_path(proto_name).rpartition("/")
        suffix = "_pb2_grpc" if grpc else "_pb2"
        stem = name if self._stem_counts[name] == 1 else module_path(proto_name).replace("/", "_")
        directories = parent.replace("/", ".")
        if provided_by_runtime(proto_name):
            package = directories
        else:
            package = f"{self._generated_package}.{directories}" if directories else self._generated_package
        return Import(package, name + suffix, stem + suffix)


_FieldType = descriptor_pb2.FieldDescriptorProto
_ZERO: dict[int, str] = {
    _FieldType.TYPE_STRING: '""',
    _FieldType.TYPE_BYTES: 'b""',
    _FieldType.TYPE_BOOL: "False",
    _FieldType.TYPE_DOUBLE: "0.0",
    _FieldType.TYPE_FLOAT: "0.0",
}


class _MessageIndex:
    def __init__(self, summaries: Mapping[str, _Summary]) -> None:
        self._where: dict[str, tuple[str, str]] = {}
        self._required: dict[str, tuple[tuple[str, int, str], ...]] = {}
        self._enums: dict[str, str] = {}
        self._arguments: dict[str, str] = {}  # googleapis names 24,000 request and response types, 14,000 distinct
        for proto_name, summary in summaries.items():
            for full_name, qualname, required in summary.messages:
                self._where[full_name] = (proto_name, qualname)
                self._required[full_name] = required
            self._enums.update(summary.enums)

    def ref(self, type_name: str, modules: _ModuleNames) -> MessageRef:
        full_name = type_name.lstrip(".")
        proto_name, qualname = self._where[full_name]
        return MessageRef(full_name, modules.import_of(proto_name), qualname, self.required_arguments(full_name))

    def required_arguments(self, full_name: str) -> str:
        """`id=0, point={"x": 0}`: each required field with its zero value (a dict for a message,
        which protobuf's constructors accept); fields named like keywords go through `**{"from": ""}`."""
        if full_name in self._arguments:
            return self._arguments[full_name]
        fields = self._required_fields(full_name, frozenset())
        plain = [f"{name}={value}" for name, value in fields if not keyword.iskeyword(name)]
        keywords = [f'"{name}": {value}' for name, value in fields if keyword.iskeyword(name)]
        found = ", ".join(plain + (["**{" + ", ".join(keywords) + "}"] if keywords else []))
        self._arguments[full_name] = found
        return found

    def _required_fields(self, full_name: str, seen: frozenset[str]) -> list[tuple[str, str]]:
        """(name, zero value) of the message's required fields."""
        return [
            (name, self._zero(field_type, type_name, seen | {full_name}))
            for name, field_type, type_name in self._required[full_name]
        ]

    def _zero(self, field_type: int, type_name: str, seen: frozenset[str]) -> str:
        if field_type in (_FieldType.TYPE_MESSAGE, _FieldType.TYPE_GROUP):
            pairs = [] if type_name in seen else self._required_fields(type_name, seen)
            return "{" + ", ".join(f'"{name}": {value}' for name, value in pairs) + "}"
        if field_type == _FieldType.TYPE_ENUM:
            return f'"{self._enums.get(type_name, "")}"'
        return _ZERO.get(field_type, "0")


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


def _position(proto: descriptor_pb2.FileDescriptorProto, path: tuple[int, ...]) -> tuple[int, int]:
    for location in proto.source_code_info.location:
        if tuple(location.path) == path:
            return location.span[0] + 1, location.span[1] + 1
    return 1, 1


def _first_sentence(comment: str) -> str:
    text = " ".join(comment.split())
    end = text.find(". ")
    return text[: end + 1] if end != -1 else text


def _with_deprecation(doc: str, deprecated: bool, what: str) -> str:
    if not deprecated:
        return doc
    note = f"Deprecated: the proto marks this {what} deprecated."
    return f"{doc}\n\n{note}" if doc else note


def _camel(proto_package: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in proto_package.replace("_", ".").split(".") if part)


def _unusable(
    proto: descriptor_pb2.FileDescriptorProto, path: tuple[int, ...], what: str, name: str
) -> list[tuple[str, int, int]]:
    """Why grpc's plugin cannot turn `name` into working Python, at its proto line and column; [] if it can.

    A keyword becomes `def None(...)` / `class class(...)`, a SyntaxError in
    grpc's own module; a dunder RPC (`__init__`, `__call__`) would replace the
    method Python itself calls on the stub and servicer classes.
    """
    if keyword.iskeyword(name):
        reason = "is a Python keyword"
    elif what == "RPC" and name.startswith("__") and name.endswith("__"):
        reason = "is a Python special method name"
    else:
        return []
    line, col = _position(proto, path)
    return [(f"{what} name {name!r} {reason}; grpc's plugin cannot generate it", line, col)]


MAX_IMPORT_DEPTH = 64
"""Python imports a module inside the import of the module that needs it, about ten frames a level in a
package: a chain of 100 generated modules ends in RecursionError, 90 still imports from a bare shell
(measured, Python 3.11). The callers' own frames (pytest, a server framework) need room too."""


def _too_deep(
    proto_of: Callable[[str], descriptor_pb2.FileDescriptorProto],
    summaries: Mapping[str, _Summary],
    inputs: Sequence[ProtoInput],
    locations: dict[str, str],
) -> list[Diagnostic]:
    """An input whose chain of imports is too deep for Python to import, located at the import that starts it."""
    depth: dict[str, int] = {}
    for name, summary in summaries.items():  # protoc lists every file after its imports
        depth[name] = 1 + max((depth.get(dependency, 0) for dependency in summary.dependency), default=0)
    deepest = max(inputs, key=lambda item: depth[item.name], default=None)
    problems = []
    for item in [deepest] if deepest is not None and depth[deepest.name] > MAX_IMPORT_DEPTH else []:
        proto = proto_of(item.name)
        index = max(range(len(proto.dependency)), key=lambda i: depth.get(proto.dependency[i], 0))
        line, col = _position(proto, (descriptor_pb2.FileDescriptorProto.DEPENDENCY_FIELD_NUMBER, index))
        message = (
            f"imports a chain of {depth[item.name] - 1} protos (through {proto.dependency[index]!r}); Python cannot"
            f" import generated modules nested deeper than {MAX_IMPORT_DEPTH}: flatten the imports"
        )
        problems.append(Diagnostic(locations[item.name], message, line, col))
    return problems  # the deepest input only: in a chain every input above the limit says the same


def _grpc_name_clashes(
    proto: descriptor_pb2.FileDescriptorProto, index: int, defined: dict[str, str]
) -> list[tuple[str, int, int]]:
    """Services of one proto whose names in grpc's module collide (`Greeter` and `GreeterStub`: two
    classes `GreeterStub`, the second silently replacing the first); located at the later service."""
    name = proto.service[index].name
    problems = []
    for generated in (name, f"{name}Stub", f"{name}Servicer", f"add_{name}Servicer_to_server"):
        other = defined.setdefault(generated, name)
        if other != name:
            line, col = _position(proto, (_SERVICE_FIELD, index))
            message = (
                f"service {name!r}: grpc's module would define {generated} for both {other} and {name}; rename one"
            )
            problems.append((message, line, col))
    return problems


def _unique(names: Sequence[str], qualifiers: Sequence[str], joiner: str = "") -> list[str]:
    """`names`, with each repeated one prefixed by its qualifier so that all differ."""
    counts = Counter(names)
    return [f"{q}{joiner}{n}" if counts[n] > 1 and q else n for n, q in zip(names, qualifiers, strict=True)]
