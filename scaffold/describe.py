"""Stage: from protoc's descriptors to the model templates read (`scaffold.model`).

No descriptor_pb2 object leaves this module: names, imports, docstrings and
the shape of every RPC are resolved here, and so is everything that would
make generated code fail (keywords, names that collide in grpc's module or in
the client, imports nested too deep for Python), refused at its proto line.
"""

from __future__ import annotations

import hashlib
import keyword
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from google.protobuf import descriptor_pb2

from scaffold.errors import Diagnostic, ScaffoldError
from scaffold.imports import Import
from scaffold.memo import Memo
from scaffold.model import KINDS, MessageRef, Project, ProtoFile, Rpc, Service
from scaffold.naming import clean_comment, docstring_body, module_path, safe_identifier, snake_case
from scaffold.protoc import ProtocResult, ProtoInput, provided_by_runtime

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


class _Found(NamedTuple):
    """A service as the descriptors have it, before names are given out across all of them."""

    proto: descriptor_pb2.FileDescriptorProto
    service: descriptor_pb2.ServiceDescriptorProto
    doc: str
    methods: list[tuple[descriptor_pb2.MethodDescriptorProto, str]]


def describe(result: ProtocResult, package: str, generated_subpackage: str, memo: Memo | None = None) -> Project:
    """The model of the input protos of one protoc run, for the Python package `package`; `memo` keeps
    what earlier runs found in unchanged protos (see `_comments`)."""
    generated_package = f"{package}.{generated_subpackage}"
    files = {f.name: f for f in result.descriptors.file}
    locations = {item.name: item.path.as_posix() for item in result.inputs}
    modules = _ModuleNames(files, generated_package)
    messages = _index_messages(files.values())

    problems: list[Diagnostic] = _too_deep(files, result.inputs, locations)
    services: list[_Found] = []
    for item in result.inputs:
        proto = files[item.name]
        comments = _comments(proto, memo or Memo()) if proto.service else {}
        defined: dict[str, str] = {}  # the names grpc's module defines for each service, by the service
        for s_index, service in enumerate(proto.service):
            problems += _unusable(locations[item.name], proto, (_SERVICE_FIELD, s_index), "service", service.name)
            problems += _grpc_name_clashes(locations[item.name], proto, s_index, defined)
            rpcs = []
            for m_index, method in enumerate(service.method):
                path = (_SERVICE_FIELD, s_index, _METHOD_FIELD, m_index)
                problems += _unusable(locations[item.name], proto, path, "RPC", method.name)
                rpcs.append((method, comments.get(path, "")))
            services.append(_Found(proto, service, comments.get((_SERVICE_FIELD, s_index), ""), rpcs))
    if problems:
        raise ScaffoldError(problems)

    class_names = _unique([f.service.name for f in services], [_camel(f.proto.package) for f in services])
    function_names = _unique(
        [snake_case(method.name) for found in services for method, _ in found.methods],
        [
            snake_case(class_name)
            for found, class_name in zip(services, class_names, strict=True)
            for _ in found.methods
        ],
        joiner="_",
    )
    functions = iter(_distinct(function_names, _CLIENT_NAMES))
    model_services: dict[str, list[Service]] = {}
    for (proto, service, doc, methods), class_name in zip(services, class_names, strict=True):
        full_name = f"{proto.package}.{service.name}" if proto.package else service.name
        model_rpcs = tuple(
            Rpc(
                name=method.name,
                route=f"/{full_name}/{method.name}",
                kind=KINDS[(method.client_streaming, method.server_streaming)],
                request=messages.ref(method.input_type, modules),
                response=messages.ref(method.output_type, modules),
                doc=docstring_body(_with_deprecation(rpc_doc, method.options.deprecated, "RPC")),
                deprecated=method.options.deprecated,
                function=next(functions),
                summary=_first_sentence(rpc_doc),
            )
            for method, rpc_doc in methods
        )
        model_services.setdefault(proto.name, []).append(
            Service(
                name=service.name,
                full_name=full_name,
                snake=safe_identifier(snake_case(class_name)),
                grpc_import=modules.import_of(proto.name, grpc=True),
                class_name=f"{class_name}Servicer",
                doc=docstring_body(_with_deprecation(doc, service.options.deprecated, "service")),
                deprecated=service.options.deprecated,
                rpcs=model_rpcs,
                package=proto.package,
            )
        )
    proto_files = tuple(
        ProtoFile(item.name, files[item.name].package, tuple(model_services.get(item.name, ())), package)
        for item in result.inputs
    )
    return Project(package=package, generated_package=generated_package, files=proto_files)


class _ModuleNames:
    """Python module paths and import aliases of generated modules.

    The alias is the module's own name (`common_pb2`) unless two protos share
    a file name, in which case the directory joins in (`a_common_pb2`).
    """

    def __init__(self, files: dict[str, descriptor_pb2.FileDescriptorProto], generated_package: str) -> None:
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
_ZERO = {
    _FieldType.TYPE_STRING: '""',
    _FieldType.TYPE_BYTES: 'b""',
    _FieldType.TYPE_BOOL: "False",
    _FieldType.TYPE_DOUBLE: "0.0",
    _FieldType.TYPE_FLOAT: "0.0",
}


class _MessageIndex:
    def __init__(self) -> None:
        self._where: dict[str, tuple[str, str]] = {}
        self._messages: dict[str, tuple[descriptor_pb2.DescriptorProto, bool, bool]] = {}
        self._enums: dict[str, str] = {}
        self._arguments: dict[str, str] = {}  # googleapis names 24,000 request and response types, 14,000 distinct

    def add(
        self,
        full_name: str,
        proto_name: str,
        qualname: str,
        message: descriptor_pb2.DescriptorProto,
        required: bool,
        proto3: bool,
    ) -> None:
        self._where[full_name] = (proto_name, qualname)
        self._messages[full_name] = (message, required, proto3)

    def add_enum(self, full_name: str, enum: descriptor_pb2.EnumDescriptorProto) -> None:
        self._enums[full_name] = enum.value[0].name if enum.value else ""

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
        """(name, zero value) of the fields proto2's `required` or editions' LEGACY_REQUIRED demand."""
        message, file_requires, proto3 = self._messages[full_name]
        if proto3:
            return []  # proto3 has neither `required` nor features: no field to look at
        fields = []
        for field in message.field:
            features = field.options.features
            required = field.label == _FieldType.LABEL_REQUIRED or (
                features.field_presence == descriptor_pb2.FeatureSet.LEGACY_REQUIRED
                if features.HasField("field_presence")
                else file_requires and field.label != _FieldType.LABEL_REPEATED and not field.HasField("oneof_index")
            )
            if required:
                fields.append((field.name, self._zero(field, seen | {full_name})))
        return fields

    def _zero(self, field: descriptor_pb2.FieldDescriptorProto, seen: frozenset[str]) -> str:
        if field.type in (_FieldType.TYPE_MESSAGE, _FieldType.TYPE_GROUP):
            nested = field.type_name.lstrip(".")
            pairs = [] if nested in seen else self._required_fields(nested, seen)
            return "{" + ", ".join(f'"{name}": {value}' for name, value in pairs) + "}"
        if field.type == _FieldType.TYPE_ENUM:
            return f'"{self._enums.get(field.type_name.lstrip("."), "")}"'
        return _ZERO.get(field.type, "0")


def _index_messages(files: Iterable[descriptor_pb2.FileDescriptorProto]) -> _MessageIndex:
    index = _MessageIndex()

    def walk(
        proto_name: str,
        prefix: str,
        qual_prefix: str,
        messages: Sequence[descriptor_pb2.DescriptorProto],
        enums: Sequence[descriptor_pb2.EnumDescriptorProto],
        file_requires: bool,
        proto3: bool,
    ) -> None:
        for enum in enums:
            index.add_enum(f"{prefix}.{enum.name}" if prefix else enum.name, enum)
        for message in messages:
            full_name = f"{prefix}.{message.name}" if prefix else message.name
            qualname = f"{qual_prefix}.{message.name}" if qual_prefix else message.name
            index.add(full_name, proto_name, qualname, message, file_requires, proto3)
            walk(proto_name, full_name, qualname, message.nested_type, message.enum_type, file_requires, proto3)

    for proto in files:
        file_requires = proto.options.features.field_presence == descriptor_pb2.FeatureSet.LEGACY_REQUIRED
        proto3 = proto.syntax == "proto3"
        walk(proto.name, proto.package, "", proto.message_type, proto.enum_type, file_requires, proto3)
    return index


def _comments(proto: descriptor_pb2.FileDescriptorProto, memo: Memo) -> dict[tuple[int, ...], str]:
    """Leading (else trailing) comment of every service and RPC, indexed once by its source path (the
    model documents nothing else: cleaning every message's comments too was most of describing googleapis).

    Finding them walks every location of the file in Python (700,000 in googleapis' protos with services,
    a second); the memo keeps them by a hash of the file's source info, which protoc serializes in C.
    """
    key = "comments:" + hashlib.blake2b(proto.source_code_info.SerializeToString(), digest_size=20).hexdigest()
    kept = memo.get(key)
    if kept is not None:
        return {tuple(path): text for path, text in kept}
    result = {}
    for location in proto.source_code_info.location:
        if not location.path or location.path[0] != _SERVICE_FIELD:
            continue
        text = location.leading_comments or location.trailing_comments
        if text:
            result[tuple(location.path)] = clean_comment(text)
    memo.put(key, list(result.items()))
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
    location: str, proto: descriptor_pb2.FileDescriptorProto, path: tuple[int, ...], what: str, name: str
) -> list[Diagnostic]:
    """Why grpc's plugin cannot turn `name` into working Python, located at its proto line; [] if it can.

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
    return [Diagnostic(location, f"{what} name {name!r} {reason}; grpc's plugin cannot generate it", line, col)]


MAX_IMPORT_DEPTH = 64
"""Python imports a module inside the import of the module that needs it, about ten frames a level in a
package: a chain of 100 generated modules ends in RecursionError, 90 still imports from a bare shell
(measured, Python 3.11). The callers' own frames (pytest, a server framework) need room too."""


def _too_deep(
    files: dict[str, descriptor_pb2.FileDescriptorProto], inputs: Sequence[ProtoInput], locations: dict[str, str]
) -> list[Diagnostic]:
    """An input whose chain of imports is too deep for Python to import, located at the import that starts it."""
    depth: dict[str, int] = {}
    for name, file in files.items():  # protoc lists every file after its imports
        depth[name] = 1 + max((depth.get(dependency, 0) for dependency in file.dependency), default=0)
    deepest = max(inputs, key=lambda item: depth[item.name], default=None)
    problems = []
    for item in [deepest] if deepest is not None and depth[deepest.name] > MAX_IMPORT_DEPTH else []:
        proto = files[item.name]
        index = max(range(len(proto.dependency)), key=lambda i: depth.get(proto.dependency[i], 0))
        line, col = _position(proto, (descriptor_pb2.FileDescriptorProto.DEPENDENCY_FIELD_NUMBER, index))
        message = (
            f"imports a chain of {depth[item.name] - 1} protos (through {proto.dependency[index]!r}); Python cannot"
            f" import generated modules nested deeper than {MAX_IMPORT_DEPTH}: flatten the imports"
        )
        problems.append(Diagnostic(locations[item.name], message, line, col))
    return problems  # the deepest input only: in a chain every input above the limit says the same


def _grpc_name_clashes(
    location: str, proto: descriptor_pb2.FileDescriptorProto, index: int, defined: dict[str, str]
) -> list[Diagnostic]:
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
            problems.append(Diagnostic(location, message, line, col))
    return problems


def _unique(names: Sequence[str], qualifiers: Sequence[str], joiner: str = "") -> list[str]:
    """`names`, with each repeated one prefixed by its qualifier so that all differ."""
    counts = Counter(names)
    return [f"{q}{joiner}{n}" if counts[n] > 1 and q else n for n, q in zip(names, qualifiers, strict=True)]
