"""`scaffold call`: one RPC from the command line, in protobuf's JSON mapping (grpcurl's job, in Python).

The method and its messages come from descriptors, not from generated code:
the project's own (compiled incrementally, so usually no protoc run at all),
a proto given on the command line, or the server's reflection service. So it
calls any gRPC server (Python, Node, Go), and needs nothing imported from
the project.

Requests are JSON documents; a streaming request is one document per line,
sent as it is read (so bidi streams interleave with the responses printed
as they arrive). A bad document is a located error (`-d:1:17: ...`) and
nothing is sent.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message, message_factory
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor

from scaffold.errors import Diagnostic, ScaffoldError, fail
from scaffold.text import lines as text_lines


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
        for dependency in proto.dependency:
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


def parse(text: str, cls: type[message.Message], origin: str, line_offset: int = 0) -> message.Message:
    """`text` (one JSON document) as a `cls` message; a located error for bad JSON or an unknown field."""
    try:
        document = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as error:
        raise fail(origin, f"not valid JSON: {error.msg}", error.lineno + line_offset, error.colno) from None
    problem = _unknown_field(document, cls.DESCRIPTOR)
    if problem is not None:
        key, message_name, known = problem
        line, col = _position_of_key(text, key)
        close = difflib.get_close_matches(key, known, n=1)
        hint = f'; did you mean "{close[0]}"?' if close else ""
        raise fail(origin, f'no field "{key}" in {message_name}{hint}', line + line_offset, col)
    try:
        return json_format.ParseDict(document, cls())
    except json_format.ParseError as error:
        named = re.search(r"Failed to parse (\w+) field", str(error))
        line, col = _position_of_key(text, named[1]) if named else (1, 1)
        raise fail(origin, str(error), line + line_offset, col) from None


def _unknown_field(document: Any, descriptor: Any) -> tuple[str, str, list[str]] | None:
    """The first key of `document` that `descriptor` has no field for (JSON name or proto name), recursively."""
    if not isinstance(document, dict) or descriptor.full_name.startswith("google.protobuf."):
        return None  # well-known types have JSON forms of their own
    fields = {f.json_name: f for f in descriptor.fields} | {f.name: f for f in descriptor.fields}
    for key, value in document.items():
        found = fields.get(key)
        if found is None:
            return key, descriptor.full_name, sorted({f.json_name for f in descriptor.fields})
        if found.type == FieldDescriptor.TYPE_MESSAGE and found.message_type is not None:
            if found.message_type.GetOptions().map_entry:
                continue
            values = value if isinstance(value, list) else [value]
            for item in values:
                inner = _unknown_field(item, found.message_type)
                if inner is not None:
                    return inner
    return None


def _position_of_key(text: str, key: str) -> tuple[int, int]:
    match = re.search(rf'"{re.escape(key)}"\s*:', text)
    if match is None:
        return 1, 1
    before = text[: match.start()]
    return before.count("\n") + 1, match.start() - (before.rfind("\n") + 1) + 1


def requests(source: IO[str] | str, cls: type[message.Message], origin: str) -> Iterator[message.Message]:
    """One message per JSON document, one document per non-empty line, parsed as it is read."""
    lines = text_lines(source) if isinstance(source, str) else source
    for number, line in enumerate(lines):
        if line.strip():
            yield parse(line, cls, origin, line_offset=number)


@dataclass
class Options:
    target: str
    metadata: Sequence[tuple[str, str]] = ()
    timeout: float | None = None
    emit_defaults: bool = False
    credentials: grpc.ChannelCredentials | None = None
    out: Callable[[str], None] = field(default=lambda line: print(line, flush=True))


def invoke(method: Method, data: IO[str] | str, options: Options, origin: str = "-d") -> None:
    """Call `method` with the requests in `data` and print each response as one line of JSON.

    A unary request is parsed (and checked) before the channel is even made.
    Raises `grpc.RpcError` for the RPC's own failure.
    """
    if not method.client_streaming:
        text = data if isinstance(data, str) else data.read()
        request_or_stream: Any = parse(text, method.request, origin)
    else:
        request_or_stream = requests(data, method.request, origin)
    channel = (
        grpc.secure_channel(options.target, options.credentials)
        if options.credentials
        else grpc.insecure_channel(options.target)
    )
    with channel:
        kinds = {
            (False, False): channel.unary_unary,
            (False, True): channel.unary_stream,
            (True, False): channel.stream_unary,
            (True, True): channel.stream_stream,
        }
        callable_: Any = kinds[(method.client_streaming, method.server_streaming)](
            method.path,
            request_serializer=method.request.SerializeToString,
            response_deserializer=method.response.FromString,
        )
        answer = callable_(request_or_stream, timeout=options.timeout, metadata=list(options.metadata) or None)
        for response in answer if method.server_streaming else [answer]:
            options.out(
                json_format.MessageToJson(
                    response, indent=None, always_print_fields_with_no_presence=options.emit_defaults
                )
            )


def status_line(error: grpc.RpcError) -> str:
    """`NOT_FOUND: no feature at that point`, as the user reads a failed call."""
    code = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else str(error)
    return f"{code.name if code is not None else 'UNKNOWN'}: {details or ''}".rstrip(": ").rstrip()


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
            raise ScaffoldError([Diagnostic(target, f"reflection failed: {status_line(error)}")]) from None
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


def read_data(data: str | None) -> IO[str] | str:
    """`-d JSON`, `-d @FILE` or `-d @-` (standard input); no `-d`: an empty request."""
    if data is None:
        return ""
    if data == "@-":
        return sys.stdin
    if data.startswith("@"):
        try:
            return open(data[1:], encoding="utf-8")
        except OSError as error:
            raise fail(data[1:], f"cannot be read: {error.strerror}") from None
    return data


def header(text: str) -> tuple[str, str]:
    """`-H KEY:VALUE` as gRPC metadata (keys are lower case on the wire)."""
    name, separator, value = text.partition(":")
    if not separator or not name.strip():
        raise fail(f"-H {text}", "metadata is KEY:VALUE")
    return name.strip().lower(), value.strip()


def credentials(tls: bool, ca: Path | None, cert: Path | None, key: Path | None) -> grpc.ChannelCredentials | None:
    """TLS credentials from the flags (None: plaintext); mTLS when a client certificate is given."""
    if not tls and not (ca or cert or key):
        return None
    if (cert is None) != (key is None):
        raise fail("--cert/--key", "a client certificate needs its key, and a key its certificate")

    def read(path: Path | None, flag: str) -> bytes | None:
        if path is None:
            return None
        try:
            return path.read_bytes()
        except OSError as error:
            raise fail(f"{flag} {path}", f"cannot be read: {error.strerror}") from None

    return grpc.ssl_channel_credentials(read(ca, "--ca"), read(key, "--key"), read(cert, "--cert"))


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
    from scaffold import project, protoc

    if reflect:
        files = reflected(target, channel_credentials)
        return files, method_names(files)
    if protos:
        proto_files, include_dirs = protoc.expand_directories(protos, include)
        proto_inputs = protoc.resolve_inputs(proto_files, include_dirs)
        files = protoc.run(proto_inputs, include_dirs).descriptors
        return files, method_names(files, [item.name for item in proto_inputs])
    assert root is not None
    inputs = project.load(root, for_generation=False)
    files = project.descriptors(inputs)
    return files, method_names(files, [item.name for item in inputs.protos])
