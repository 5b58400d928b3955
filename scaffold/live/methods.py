"""The method `scaffold call` calls, found in descriptors: the project's, a proto's, or the server's.

The method and its messages come from descriptors, not from generated code:
the project's own (compiled incrementally, so usually no protoc run at all),
a proto given on the command line, or the server's reflection service. So
`scaffold call` calls any gRPC server (Python, Node, Go) and needs nothing
imported from the project. This module gathers those descriptors and finds
the method a user names, however they spell it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message, message_factory
from google.protobuf.descriptor import MethodDescriptor

from scaffold.core.errors import Diagnostic, ScaffoldError, fail
from scaffold.live.connection import failure_line


@dataclass(frozen=True)
class Method:
    descriptor: MethodDescriptor
    request: type[message.Message]
    response: type[message.Message]

    @property
    def path(self) -> str:
        """The wire path, `/package.Service/Method`."""
        return f"/{self.descriptor.containing_service.full_name}/{self.descriptor.name}"

    @property
    def client_streaming(self) -> bool:
        return bool(self.descriptor.client_streaming)

    @property
    def server_streaming(self) -> bool:
        return bool(self.descriptor.server_streaming)


def pool_of(files: descriptor_pb2.FileDescriptorSet) -> descriptor_pool.DescriptorPool:
    """A pool holding `files`, and the well-known types they import (from protobuf's own pool)."""
    known = {proto.name for proto in files.file}
    runtime: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    for proto in files.file:
        for dependency in (*proto.dependency, *proto.option_dependency):  # edition 2024's `import option` too
            if dependency not in known:
                _collect(descriptor_pool.Default().FindFileByName(dependency), runtime)
    pool = descriptor_pool.DescriptorPool()
    for proto in [*(p for name, p in runtime.items() if name not in known), *files.file]:
        pool.Add(proto)
    return pool


def method_names(files: descriptor_pb2.FileDescriptorSet, only: Iterable[str] | None = None) -> list[str]:
    """`package.Service/Method` of every method in `files` (of the files named `only`, when given)."""
    wanted = set(only) if only is not None else None
    names = []
    for proto in files.file:
        if wanted is not None and proto.name not in wanted:
            continue
        prefix = f"{proto.package}." if proto.package else ""
        names += [f"{prefix}{service.name}/{m.name}" for service in proto.service for m in service.method]
    return names


def find_method(pool: descriptor_pool.DescriptorPool, names: Sequence[str], wanted: str) -> Method:
    """The method `wanted` names: `package.Service/Method`, `Service/Method` or `Method` (when unambiguous);
    grpcurl's `package.Service.Method` and a leading `/` work too."""
    spelled = wanted.lstrip("/")
    if "/" not in spelled and "." in spelled:
        service, _, method = spelled.rpartition(".")
        spelled = f"{service}/{method}"
    matches = sorted({name for name in names if spelled in _spellings(name)})
    if not matches:
        close = difflib.get_close_matches(spelled, [s for name in names for s in _spellings(name)], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise fail(wanted, f"no such method{hint}")
    if len(matches) > 1:
        raise fail(wanted, f"ambiguous: {', '.join(matches)}; name the service")
    service_name, _, method_name = matches[0].partition("/")
    descriptor = pool.FindServiceByName(service_name).methods_by_name[method_name]
    return Method(
        descriptor,
        message_factory.GetMessageClass(descriptor.input_type),
        message_factory.GetMessageClass(descriptor.output_type),
    )


def _spellings(name: str) -> set[str]:
    """Every way to name `a.b.Service/Method`: `b.Service/Method`, `Service/Method`, `Method`, ..."""
    service, _, method = name.partition("/")
    parts = service.split(".")
    return {f"{'.'.join(parts[i:])}/{method}" for i in range(len(parts))} | {method}


def reflected(target: str, credentials: grpc.ChannelCredentials | None = None) -> descriptor_pb2.FileDescriptorSet:
    """Every file the server at `target` describes through its reflection service."""
    try:
        from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (  # type: ignore[import-untyped]
            ProtoReflectionDescriptorDatabase,
        )
    except ImportError:
        raise fail("--reflect", "needs grpcio-reflection (pip install grpcio-reflection)") from None
    channel = grpc.secure_channel(target, credentials) if credentials else grpc.insecure_channel(target)
    with channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        try:
            services = [s for s in database.get_services() if not s.startswith("grpc.reflection.")]
        except grpc.RpcError as error:
            failure = failure_line(error, target, credentials is not None)
            raise ScaffoldError([Diagnostic(target, f"reflection failed: {failure}")]) from None
        pool = descriptor_pool.DescriptorPool(database)
        files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
        for service in services:
            _collect(pool.FindServiceByName(service).file, files)
    result = descriptor_pb2.FileDescriptorSet()
    result.file.extend(files.values())
    return result


def _collect(file: Any, files: dict[str, descriptor_pb2.FileDescriptorProto]) -> None:
    """`file` and everything it imports, as protos, each after its imports."""
    if file.name in files:
        return
    for dependency in file.dependencies:
        _collect(dependency, files)
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    files[file.name] = proto


def descriptors_for(
    root: Path | None,
    protos: Sequence[Path],
    include: Sequence[Path],
    reflect: bool,
    target: str,
    channel_credentials: grpc.ChannelCredentials | None,
) -> tuple[descriptor_pb2.FileDescriptorSet, list[str]]:
    """The descriptors to call with, and the methods one may call: the server's (`reflect`), those of
    `protos`, or the project's at `root`."""
    if reflect:
        files = reflected(target, channel_credentials)
        return files, method_names(files)
    if protos:
        from scaffold.generation import protoc

        proto_files, include_dirs = protoc.expand_directories(protos, include)
        proto_inputs = protoc.resolve_inputs(proto_files, include_dirs)
        files = protoc.run(proto_inputs, include_dirs).descriptors
        return files, method_names(files, [item.name for item in proto_inputs])
    assert root is not None
    return _projects(root)


def _projects(root: Path) -> tuple[descriptor_pb2.FileDescriptorSet, list[str]]:
    """The project's descriptors and methods: as kept while no input changed (`scaffold.live.kept`), else
    loaded, and kept."""
    from scaffold.live import kept

    found = kept.load(root)
    if found is not None:
        return descriptor_pb2.FileDescriptorSet.FromString(found[0]), found[1]
    before = kept.inputs(root)  # taken before the inputs are read: an edit meanwhile is seen next time
    from scaffold.generation import project

    inputs = project.load(root, for_generation=False)
    files = project.descriptors(inputs)
    names = method_names(files, [item.name for item in inputs.protos])
    if before is not None:
        kept.save(root, before, files.SerializeToString(), names)
    return files, names
