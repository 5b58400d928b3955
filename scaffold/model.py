"""Stage: the plain model templates render from.

Built from protoc's descriptor set. No descriptor_pb2 object leaves this
module: names, imports, docstrings and the shape of every RPC are resolved
here, so templates only read fields and switch on `Rpc.kind`.
"""

from __future__ import annotations

import dataclasses
import keyword
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from google.protobuf import descriptor_pb2

from scaffold.errors import Diagnostic, ScaffoldError
from scaffold.naming import clean_comment, docstring_body, module_path, safe_identifier, snake_case
from scaffold.protoc import ProtocResult, provided_by_runtime

KINDS = {
    (False, False): "unary_unary",
    (False, True): "unary_stream",
    (True, False): "stream_unary",
    (True, True): "stream_stream",
}

# Field numbers of FileDescriptorProto / ServiceDescriptorProto, as used in source_code_info paths.
_SERVICE_FIELD = 6
_METHOD_FIELD = 2


@dataclass(frozen=True, order=True)
class Import:
    """`from <package> import <module> [as <alias>]` for one generated module."""

    package: str
    module: str
    alias: str

    def __str__(self) -> str:
        suffix = f" as {self.alias}" if self.alias != self.module else ""
        return f"from {self.package} import {self.module}{suffix}"


@dataclass(frozen=True)
class ImportLines:
    """Import statements in isort's order: the protobuf runtime, then the project's own modules."""

    third_party: tuple[str, ...]
    first_party: tuple[str, ...]


_LINE_LIMIT = 88


def import_lines(imports: Iterable[Import], first_party_package: str) -> ImportLines:
    """The statements ruff's isort writes for `imports`, wrapped the way ruff format wraps them.

    Per package, the names imported without an alias share one statement and
    each aliased name gets its own (ruff's default `combine-as-imports = false`);
    statements are ordered by package, then by their first name, with ruff's
    keys: natural order, case-insensitive, CONSTANTS before Classes before modules.
    """
    statements: dict[tuple[str, str], list[Import]] = {}
    for item in set(imports):
        statements.setdefault((item.package, "" if item.alias == item.module else item.alias), []).append(item)
    keyed = []
    for (package, alias), items in statements.items():
        items.sort(key=lambda item: _member_key(item.module))
        names = [item.module if not alias else f"{item.module} as {alias}" for item in items]
        keyed.append(((_natural_key(package), _member_key(items[0].module), alias), package, names))
    third_party: list[str] = []
    first_party: list[str] = []
    for _, package, names in sorted(keyed):
        line = f"from {package} import {', '.join(names)}"
        if len(line) > _LINE_LIMIT:
            line = f"from {package} import (\n" + "".join(f"    {name},\n" for name in names) + ")"
        own = package == first_party_package or package.startswith(first_party_package + ".")
        (first_party if own else third_party).append(line)
    return ImportLines(tuple(third_party), tuple(first_party))


_DIGITS = re.compile(r"(\d+)")


def _natural_key(text: str) -> tuple[tuple[int, int], ...]:
    """Natural order (`v2` before `v10`): a run of digits compares as its number,
    and against other characters as a digit would (by code point), as ruff does."""
    key: list[tuple[int, int]] = []
    for index, chunk in enumerate(_DIGITS.split(text)):
        if index % 2:
            key.append((ord("0"), int(chunk)))
        else:
            key.extend((ord(char), 0) for char in chunk)
    return tuple(key)


def _member_key(name: str) -> tuple[int, tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    kind = 0 if len(name) > 1 and name.isupper() else 1 if name[:1].isupper() else 2
    return kind, _natural_key(name.lower()), _natural_key(name)


@dataclass(frozen=True)
class MessageRef:
    """A message type as Python code names it (`route_guide_pb2.Point`), with the import that brings it."""

    full_name: str
    module: Import
    name: str
    required: str = ""
    """Constructor arguments that give every required field (proto2, editions) a value, or ""."""

    @property
    def python(self) -> str:
        return f"{self.module.alias}.{self.name}"

    @property
    def new(self) -> str:
        """An expression for a message that serializes: required fields filled with zero values."""
        return f"{self.python}({self.required})"


@dataclass(frozen=True)
class Rpc:
    name: str
    route: str
    kind: str
    request: MessageRef
    response: MessageRef
    doc: str
    deprecated: bool
    function: str
    summary: str = ""
    """The proto comment's first sentence, as written (not escaped): for listings."""

    @property
    def client_streaming(self) -> bool:
        return self.kind.startswith("stream_")

    @property
    def multicallable(self) -> str:
        """grpc's typed callable for this shape: `UnaryStreamMultiCallable`, ..."""
        return "".join(part.capitalize() for part in self.kind.split("_")) + "MultiCallable"

    @property
    def proto_signature(self) -> str:
        request = f"stream {self.request.full_name}" if self.client_streaming else self.request.full_name
        response = f"stream {self.response.full_name}" if self.server_streaming else self.response.full_name
        return f"({request}) returns ({response})"

    def python_signature(self, aio: bool = False) -> str:
        """The servicer method's signature, for messages that tell the user what to change."""
        iterator = "AsyncIterator" if aio else "Iterator"
        request = (
            f"request_iterator: {iterator}[{self.request.python}]"
            if self.client_streaming
            else f"request: {self.request.python}"
        )
        response = f"{iterator}[{self.response.python}]" if self.server_streaming else self.response.python
        if aio:
            context = f"grpc.aio.ServicerContext[{self.request.python}, {self.response.python}]"
            return f"async def {self.name}(self, {request}, context: {context}) -> {response}"
        return f"def {self.name}(self, {request}, context: grpc.ServicerContext) -> {response}"

    @property
    def server_streaming(self) -> bool:
        return self.kind.endswith("_stream")


@dataclass(frozen=True)
class Service:
    """A service of an input proto, with the names templates give it."""

    name: str
    full_name: str
    snake: str
    grpc_import: Import
    class_name: str
    doc: str
    deprecated: bool
    rpcs: tuple[Rpc, ...]

    @property
    def grpc_module(self) -> str:
        return self.grpc_import.alias


@dataclass(frozen=True)
class ProtoFile:
    name: str
    package: str
    services: tuple[Service, ...]
    project_package: str

    def imports(self) -> ImportLines:
        """The message modules this file's RPCs use: the imports of its `_pb2_grpc.pyi`."""
        return imports_for(self.services, self.project_package, grpc=False)

    @property
    def has_streaming(self) -> bool:
        return any(rpc.kind != "unary_unary" for service in self.services for rpc in service.rpcs)


@dataclass(frozen=True)
class Project:
    package: str
    generated_package: str
    files: tuple[ProtoFile, ...]

    def imports(
        self,
        messages: str = "all",
        grpc: bool = True,
        also: Iterable[tuple[str, str]] = (),
        servicers: bool = False,
        callers: bool = False,
    ) -> ImportLines:
        """See `imports_for`; `servicers` adds the servicer classes of the project's `servicer` module;
        `callers` leaves out services without RPCs (a client has nothing to call on them)."""
        if servicers:
            also = [*also, *((f"{self.package}.servicer", service.class_name) for service in self.services)]
        services = self.callable_services if callers else self.services
        return imports_for(services, self.package, messages, grpc, also)

    @property
    def callable_services(self) -> tuple[Service, ...]:
        """The services with at least one RPC: the ones clients and tests call."""
        return tuple(service for service in self.services if service.rpcs)

    @property
    def has_client_streaming(self) -> bool:
        return any(rpc.client_streaming for rpc in self.rpcs)

    @property
    def services(self) -> tuple[Service, ...]:
        return tuple(service for file in self.files for service in file.services)

    @property
    def rpcs(self) -> tuple[Rpc, ...]:
        return tuple(rpc for service in self.services for rpc in service.rpcs)


# Names the client and test modules define or import themselves (or that `main` and `run` use as
# locals): an RPC function with one of these names would shadow them, and a broken client would import fine.
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


def restrict(project: Project, keep: Callable[[Service, Rpc], bool]) -> Project:
    """`project` with only the RPCs `keep` accepts (every service stays, perhaps without RPCs)."""
    files = tuple(
        dataclasses.replace(
            file,
            services=tuple(
                dataclasses.replace(service, rpcs=tuple(rpc for rpc in service.rpcs if keep(service, rpc)))
                for service in file.services
            ),
        )
        for file in project.files
    )
    return dataclasses.replace(project, files=files)


def imports_for(
    services: Iterable[Service],
    package: str,
    messages: str = "all",
    grpc: bool = True,
    also: Iterable[tuple[str, str]] = (),
    keep: Callable[[Import], bool] = lambda item: True,
) -> ImportLines:
    """The import lines of a module that uses `services`: their stubs/servicers
    (`grpc`) and the message classes of every request and response
    (`messages="all"`), of requests only (`"requests"`) or of none (`"none"`);
    `also` adds `(package, module)` pairs, merged into the same statements."""
    chosen: list[Import] = []
    for service in services:
        if grpc:
            chosen.append(service.grpc_import)
        for rpc in service.rpcs:
            if messages != "none":
                chosen.append(rpc.request.module)
            if messages == "all":
                chosen.append(rpc.response.module)
    chosen += [Import(p, module, module) for p, module in also]
    return import_lines(filter(keep, chosen), package)


@dataclass(frozen=True)
class ServicerView:
    """The services as the user's servicer module shows them.

    Usually the protos' services; after a regeneration also the RPCs and
    services the protos dropped whose methods are still in the user's file,
    so that a merge never deletes them. `modules` are the first-party modules
    that exist, so a kept RPC whose proto is gone costs no broken import.
    """

    services: tuple[Service, ...]
    package: str
    modules: frozenset[str]
    pending: tuple[Service, ...] = ()
    """The new shapes of RPCs the user implemented in an old one: the signature a hint tells them
    to adopt needs its imports (`Iterator`, the message modules) already there."""

    @property
    def imports(self) -> ImportLines:
        return imports_for((*self.services, *self.pending), self.package, grpc=True, keep=self._exists)

    @property
    def has_streaming(self) -> bool:
        return any(rpc.kind != "unary_unary" for service in (*self.services, *self.pending) for rpc in service.rpcs)

    @property
    def has_rpcs(self) -> bool:
        return any(service.rpcs for service in self.services)

    def _exists(self, item: Import) -> bool:
        own = item.package == self.package or item.package.startswith(self.package + ".")
        return not own or f"{item.package}.{item.module}" in self.modules


def service_record(service: Service) -> dict[str, Any]:
    """`service` as plain JSON data, so the manifest can remember what the servicer was rendered from.

    Built field by field (in declaration order, so the JSON is deterministic)
    rather than by `dataclasses.asdict`, whose deep copies cost more than the
    rest of writing the manifest of a large tree.
    """

    def flat(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: flat(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, tuple):
            return [flat(item) for item in value]
        return value

    record: dict[str, Any] = flat(service)
    return record


def service_from_record(record: dict[str, Any]) -> Service:
    def ref(data: dict[str, Any]) -> MessageRef:
        return MessageRef(data["full_name"], Import(**data["module"]), data["name"], data.get("required", ""))

    rpcs = tuple(
        Rpc(**{**rpc, "request": ref(rpc["request"]), "response": ref(rpc["response"])}) for rpc in record["rpcs"]
    )
    return Service(**{**record, "grpc_import": Import(**record["grpc_import"]), "rpcs": rpcs})


def build(result: ProtocResult, package: str, generated_subpackage: str) -> Project:
    """The model of the input protos of one protoc run, for the Python package `package`."""
    generated_package = f"{package}.{generated_subpackage}"
    files = {f.name: f for f in result.descriptors.file}
    locations = {item.name: item.path.as_posix() for item in result.inputs}
    modules = _ModuleNames(files, generated_package)
    messages = _index_messages(files.values())

    problems: list[Diagnostic] = _too_deep(files, result.inputs, locations)
    services = []
    for item in result.inputs:
        proto = files[item.name]
        comments = _comments(proto)
        defined: dict[str, str] = {}  # the names grpc's module defines for each service, by the service
        for s_index, service in enumerate(proto.service):
            problems += _unusable(locations[item.name], proto, (_SERVICE_FIELD, s_index), "service", service.name)
            problems += _grpc_name_clashes(locations[item.name], proto, s_index, defined)
            rpcs = []
            for m_index, method in enumerate(service.method):
                path = (_SERVICE_FIELD, s_index, _METHOD_FIELD, m_index)
                problems += _unusable(locations[item.name], proto, path, "RPC", method.name)
                rpcs.append((method, comments.get(path, "")))
            services.append((proto, service, comments.get((_SERVICE_FIELD, s_index), ""), rpcs))
    if problems:
        raise ScaffoldError(problems)

    class_names = _unique([s.name for _, s, _, _ in services], [_camel(p.package) for p, _, _, _ in services])
    function_names = _unique(
        [snake_case(m.name) for _, _, _, rpcs in services for m, _ in rpcs],
        [
            snake_case(class_name)
            for (_, _, _, rpcs), class_name in zip(services, class_names, strict=True)
            for _ in rpcs
        ],
        joiner="_",
    )
    functions = iter(_distinct(function_names, _CLIENT_NAMES))
    model_services: dict[str, list[Service]] = {}
    for (proto, service, doc, rpcs), class_name in zip(services, class_names, strict=True):
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
            for method, rpc_doc in rpcs
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
        self._stem_counts = Counter(PurePosixPath(module_path(name)).name for name in files)

    def _alias(self, proto_name: str, grpc: bool = False) -> str:
        path = PurePosixPath(module_path(proto_name))
        stem = path.name if self._stem_counts[path.name] == 1 else "_".join(path.parts)
        return f"{stem}_pb2_grpc" if grpc else f"{stem}_pb2"

    def import_of(self, proto_name: str, grpc: bool = False) -> Import:
        path = PurePosixPath(module_path(proto_name))
        module = f"{path.name}_pb2_grpc" if grpc else f"{path.name}_pb2"
        if provided_by_runtime(proto_name):
            package = ".".join(path.parent.parts)
        else:
            package = ".".join((self._generated_package, *path.parent.parts))
        return Import(package, module, self._alias(proto_name, grpc))


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
        self._messages: dict[str, tuple[descriptor_pb2.DescriptorProto, bool]] = {}
        self._enums: dict[str, str] = {}

    def add(
        self, full_name: str, proto_name: str, qualname: str, message: descriptor_pb2.DescriptorProto, required: bool
    ) -> None:
        self._where[full_name] = (proto_name, qualname)
        self._messages[full_name] = (message, required)

    def add_enum(self, full_name: str, enum: descriptor_pb2.EnumDescriptorProto) -> None:
        self._enums[full_name] = enum.value[0].name if enum.value else ""

    def ref(self, type_name: str, modules: _ModuleNames) -> MessageRef:
        full_name = type_name.lstrip(".")
        proto_name, qualname = self._where[full_name]
        return MessageRef(full_name, modules.import_of(proto_name), qualname, self.required_arguments(full_name))

    def required_arguments(self, full_name: str) -> str:
        """`id=0, point={"x": 0}`: each required field with its zero value (a dict for a message,
        which protobuf's constructors accept); fields named like keywords go through `**{"from": ""}`."""
        fields = self._required_fields(full_name, frozenset())
        plain = [f"{name}={value}" for name, value in fields if not keyword.iskeyword(name)]
        keywords = [f'"{name}": {value}' for name, value in fields if keyword.iskeyword(name)]
        return ", ".join(plain + (["**{" + ", ".join(keywords) + "}"] if keywords else []))

    def _required_fields(self, full_name: str, seen: frozenset[str]) -> list[tuple[str, str]]:
        """(name, zero value) of the fields proto2's `required` or editions' LEGACY_REQUIRED demand."""
        message, file_requires = self._messages[full_name]
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
    ) -> None:
        for enum in enums:
            index.add_enum(f"{prefix}.{enum.name}" if prefix else enum.name, enum)
        for message in messages:
            full_name = f"{prefix}.{message.name}" if prefix else message.name
            qualname = f"{qual_prefix}.{message.name}" if qual_prefix else message.name
            index.add(full_name, proto_name, qualname, message, file_requires)
            walk(proto_name, full_name, qualname, message.nested_type, message.enum_type, file_requires)

    for proto in files:
        file_requires = proto.options.features.field_presence == descriptor_pb2.FeatureSet.LEGACY_REQUIRED
        walk(proto.name, proto.package, "", proto.message_type, proto.enum_type, file_requires)
    return index


def _comments(proto: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    """Leading (else trailing) comment of every element, indexed once by its source path."""
    result = {}
    for location in proto.source_code_info.location:
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
    files: dict[str, descriptor_pb2.FileDescriptorProto], inputs: Sequence[Any], locations: dict[str, str]
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
