"""Stage: the plain model templates render from.

Built from protoc's descriptor set. No descriptor_pb2 object leaves this
module: names, imports, docstrings and the shape of every RPC are resolved
here, so templates only read fields and switch on `Rpc.kind`.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from google.protobuf import descriptor_pb2

from scaffold.errors import Diagnostic, ScaffoldError
from scaffold.naming import clean_comment, docstring_body, safe_identifier, snake_case
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
    """One `from` statement per package, names sorted, wrapped the way ruff format wraps them."""
    by_package: dict[str, list[str]] = {}
    for item in sorted(set(imports)):
        name = item.module if item.alias == item.module else f"{item.module} as {item.alias}"
        by_package.setdefault(item.package, []).append(name)
    third_party: list[str] = []
    first_party: list[str] = []
    for package, names in sorted(by_package.items()):
        line = f"from {package} import {', '.join(names)}"
        if len(line) > _LINE_LIMIT:
            line = f"from {package} import (\n" + "".join(f"    {name},\n" for name in names) + ")"
        own = package == first_party_package or package.startswith(first_party_package + ".")
        (first_party if own else third_party).append(line)
    return ImportLines(tuple(third_party), tuple(first_party))


@dataclass(frozen=True)
class MessageRef:
    """A message type as Python code names it (`route_guide_pb2.Point`), with the import that brings it."""

    full_name: str
    module: Import
    name: str

    @property
    def python(self) -> str:
        return f"{self.module.alias}.{self.name}"


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

    @property
    def python_signature(self) -> str:
        """The servicer method's signature, for messages that tell the user what to change."""
        request = (
            f"request_iterator: Iterator[{self.request.python}]"
            if self.client_streaming
            else f"request: {self.request.python}"
        )
        response = f"Iterator[{self.response.python}]" if self.server_streaming else self.response.python
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

    def imports(self, messages: str = "all", grpc: bool = True, also: Iterable[tuple[str, str]] = ()) -> ImportLines:
        return imports_for(self.services, self.package, messages, grpc, also)

    @property
    def has_client_streaming(self) -> bool:
        return any(rpc.client_streaming for rpc in self.rpcs)

    @property
    def services(self) -> tuple[Service, ...]:
        return tuple(service for file in self.files for service in file.services)

    @property
    def rpcs(self) -> tuple[Rpc, ...]:
        return tuple(rpc for service in self.services for rpc in service.rpcs)


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

    @property
    def imports(self) -> ImportLines:
        return imports_for(self.services, self.package, keep=self._exists)

    @property
    def has_streaming(self) -> bool:
        return any(rpc.kind != "unary_unary" for service in self.services for rpc in service.rpcs)

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
        return MessageRef(data["full_name"], Import(**data["module"]), data["name"])

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

    problems: list[Diagnostic] = []
    services = []
    for item in result.inputs:
        proto = files[item.name]
        comments = _comments(proto)
        for s_index, service in enumerate(proto.service):
            rpcs = []
            for m_index, method in enumerate(service.method):
                if safe_identifier(method.name) != method.name:
                    line, col = _position(proto, (_SERVICE_FIELD, s_index, _METHOD_FIELD, m_index))
                    problems.append(
                        Diagnostic(
                            locations[item.name],
                            f"RPC name {method.name!r} is a Python keyword; grpc's plugin cannot generate it",
                            line,
                            col,
                        )
                    )
                rpcs.append((method, comments.get((_SERVICE_FIELD, s_index, _METHOD_FIELD, m_index), "")))
            services.append((proto, service, comments.get((_SERVICE_FIELD, s_index), ""), rpcs))
    if problems:
        raise ScaffoldError(problems)

    class_names = _unique([s.name for _, s, _, _ in services], [_camel(p.package) for p, _, _, _ in services])
    function_names = _unique(
        [snake_case(m.name) for _, _, _, rpcs in services for m, _ in rpcs],
        [snake_case(s.name) for _, s, _, rpcs in services for _ in rpcs],
        joiner="_",
    )
    functions = iter(function_names)
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
                function=safe_identifier(next(functions)),
                summary=_first_sentence(rpc_doc),
            )
            for method, rpc_doc in rpcs
        )
        model_services.setdefault(proto.name, []).append(
            Service(
                name=service.name,
                full_name=full_name,
                snake=safe_identifier(snake_case(service.name)),
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
        self._stem_counts = Counter(PurePosixPath(name).stem for name in files)

    def _alias(self, proto_name: str, grpc: bool = False) -> str:
        path = PurePosixPath(proto_name)
        stem = path.stem if self._stem_counts[path.stem] == 1 else "_".join(path.with_suffix("").parts)
        return f"{stem}_pb2_grpc" if grpc else f"{stem}_pb2"

    def import_of(self, proto_name: str, grpc: bool = False) -> Import:
        path = PurePosixPath(proto_name)
        module = f"{path.stem}_pb2_grpc" if grpc else f"{path.stem}_pb2"
        if provided_by_runtime(proto_name):
            package = ".".join(path.parent.parts)
        else:
            package = ".".join((self._generated_package, *path.parent.parts))
        return Import(package, module, self._alias(proto_name, grpc))


class _MessageIndex:
    def __init__(self) -> None:
        self._where: dict[str, tuple[str, str]] = {}

    def add(self, full_name: str, proto_name: str, qualname: str) -> None:
        self._where[full_name] = (proto_name, qualname)

    def ref(self, type_name: str, modules: _ModuleNames) -> MessageRef:
        full_name = type_name.lstrip(".")
        proto_name, qualname = self._where[full_name]
        return MessageRef(full_name, modules.import_of(proto_name), qualname)


def _index_messages(files: Iterable[descriptor_pb2.FileDescriptorProto]) -> _MessageIndex:
    index = _MessageIndex()

    def walk(
        proto_name: str, prefix: str, qual_prefix: str, messages: Sequence[descriptor_pb2.DescriptorProto]
    ) -> None:
        for message in messages:
            full_name = f"{prefix}.{message.name}" if prefix else message.name
            qualname = f"{qual_prefix}.{message.name}" if qual_prefix else message.name
            index.add(full_name, proto_name, qualname)
            walk(proto_name, full_name, qualname, message.nested_type)

    for proto in files:
        walk(proto.name, proto.package, "", proto.message_type)
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


def _unique(names: Sequence[str], qualifiers: Sequence[str], joiner: str = "") -> list[str]:
    """`names`, with each repeated one prefixed by its qualifier so that all differ."""
    counts = Counter(names)
    return [f"{q}{joiner}{n}" if counts[n] > 1 and q else n for n, q in zip(names, qualifiers, strict=True)]
