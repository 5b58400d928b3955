"""`scaffold call`: one RPC from the command line, in protobuf's JSON mapping (grpcurl's job, in Python).

The method and its messages come from descriptors, not from generated code:
the project's own (compiled incrementally, so usually no protoc run at all),
a proto given on the command line, or the server's reflection service. So it
calls any gRPC server (Python, Node, Go), and needs nothing imported from
the project.

Requests are JSON documents; a streaming request is one document per line.
A bad document, bad metadata or a bad deadline is a located error
(`-d:1:17: ...`, exit 2) and nothing is sent. The exception is a request
stream read from standard input (`-d @-`), sent as it is read (so bidi
streams interleave with the responses printed as they arrive): a bad line
there cancels the call, and the documents before it have been sent.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import itertools
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message, message_factory
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor

from scaffold.core.errors import Diagnostic, ScaffoldError, fail
from scaffold.core.text import lines as text_lines


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


# protobuf's JSON parser reads messages nested at most this deep; deeper JSON is refused alike.
_DEPTH_LIMIT = 100
_FAILED_FIELD = re.compile(r"Failed to parse (\w+) field: ")


def parse(text: str, cls: type[message.Message], origin: str, line_offset: int = 0) -> message.Message:
    """`text` (one JSON document) as a `cls` message; a located error for anything that is not one."""
    try:
        document = json.loads(text, object_pairs_hook=_unique_keys) if text.strip() else {}
        if not isinstance(document, dict):
            line, col = _start(text)
            kind = f"{_JSON_KINDS.get(type(document), 'a value')}"
            raise fail(origin, f"a request is a JSON object ({{...}}), not {kind}", line + line_offset, col)
        problem = _unknown_field(document, cls.DESCRIPTOR)
        if problem is not None:
            key, message_name, known = problem
            line, col = _position_of_key(text, key)
            close = difflib.get_close_matches(key, known, n=1)
            hint = f'; did you mean "{close[0]}"?' if close else ""
            raise fail(origin, f'no field "{key}" in {message_name}{hint}', line + line_offset, col)
        return json_format.ParseDict(document, cls(), max_recursion_depth=_DEPTH_LIMIT)
    except json.JSONDecodeError as error:
        raise fail(origin, f"not valid JSON: {error.msg}", error.lineno + line_offset, error.colno) from None
    except _DuplicateKey as duplicate:
        line, col = _position_of_key(text, duplicate.key, occurrence=2)
        message = f'"{duplicate.key}" twice in one object: JSON would keep the last, silently'
        raise fail(origin, message, line + line_offset, col) from None
    except RecursionError:  # Python's own limit, met first by the JSON reader or the field check
        raise _too_deep(text, origin, line_offset) from None
    except (json_format.ParseError, ValueError, TypeError) as error:
        if "too deep" in str(error):
            raise _too_deep(text, origin, line_offset) from None
        raise _bad_value(str(error), text, origin, line_offset) from None


_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "true or false"}
_JSON_KINDS[type(None)] = "null"


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's members, refusing a key given twice (Python's reader would drop the first)."""
    members: dict[str, Any] = {}
    for key, value in pairs:
        if key in members:
            raise _DuplicateKey(key)
        members[key] = value
    return members


def _start(text: str) -> tuple[int, int]:
    """Line and column of the first character of `text` that is not white space."""
    stripped = len(text) - len(text.lstrip())
    before = text[:stripped]
    return before.count("\n") + 1, stripped - (before.rfind("\n") + 1) + 1


def _too_deep(text: str, origin: str, line_offset: int) -> ScaffoldError:
    """The error for a document nested too deep, at the bracket that opens level `_DEPTH_LIMIT + 1`."""
    depth = 0
    line, col = _start(text)
    for token in re.finditer(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[{]|[\]}]', text):
        if token[0] in "[{":
            depth += 1
            if depth > _DEPTH_LIMIT:
                before = text[: token.start()]
                line, col = before.count("\n") + 1, token.start() - (before.rfind("\n") + 1) + 1
                break
        elif token[0] in "]}":
            depth -= 1
    return fail(origin, f"nested deeper than {_DEPTH_LIMIT} levels: protobuf reads no deeper", line + line_offset, col)


def _bad_value(reason: str, text: str, origin: str, line_offset: int) -> ScaffoldError:
    """protobuf's error for a value of the wrong form, on one line, at the outermost field it names:
    `Failed to parse a field: Failed to parse b field: why` is `field a.b: why`."""
    fields = _FAILED_FIELD.findall(reason)
    why = " ".join(_FAILED_FIELD.sub("", reason).split())
    why = re.sub(r"\.{2,}$", ".", why)  # protobuf ends a nested field's message with a second period
    line, col = _position_of_key(text, fields[0]) if fields else _start(text)
    where = f"field {'.'.join(fields)}: " if fields else ""
    return fail(origin, where + why, line + line_offset, col)


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
                inner_type = found.message_type.fields_by_name["value"].message_type
                if inner_type is None or not isinstance(value, dict):
                    continue
                values = list(value.values())
                for item in values:
                    inner = _unknown_field(item, inner_type)
                    if inner is not None:
                        return inner
                continue
            values = value if isinstance(value, list) else [value]
            for item in values:
                inner = _unknown_field(item, found.message_type)
                if inner is not None:
                    return inner
    return None


def _position_of_key(text: str, key: str, occurrence: int = 1) -> tuple[int, int]:
    """Line and column of the `occurrence`th `"key":` in `text` (1:1 when there is none)."""
    matches = re.finditer(rf'"{re.escape(key)}"\s*:', text)
    match = next(itertools.islice(matches, occurrence - 1, None), None)
    if match is None:
        return 1, 1
    before = text[: match.start()]
    return before.count("\n") + 1, match.start() - (before.rfind("\n") + 1) + 1


def requests(source: BinaryIO | str, cls: type[message.Message], origin: str) -> Iterator[message.Message]:
    """One message per JSON document, one document per non-empty line, parsed as it is read."""
    numbered: Iterable[tuple[int, str | bytes]] = enumerate(text_lines(source) if isinstance(source, str) else source)
    for number, line in numbered:
        text = line if isinstance(line, str) else decoded(line, origin, number)
        if text.strip():
            yield parse(text, cls, origin, line_offset=number)


def decoded(raw: bytes, origin: str, line_offset: int = 0) -> str:
    """`raw` as UTF-8 text (a leading byte-order mark dropped); a located error at the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        col = len(before[before.rfind(b"\n") + 1 :].decode("utf-8-sig")) + 1
        line = before.count(b"\n") + 1 + line_offset
        raise fail(origin, f"not UTF-8: byte 0x{raw[error.start]:02x}", line, col) from None


class _Stream:
    """A request stream read as it is sent, remembering the located error that ended it (grpc only
    sees an exception in its request thread and cancels the call)."""

    def __init__(self, messages: Iterator[message.Message]) -> None:
        self.messages = messages
        self.error: ScaffoldError | None = None

    def __iter__(self) -> Iterator[message.Message]:
        return self

    def __next__(self) -> message.Message:
        try:
            return next(self.messages)
        except ScaffoldError as error:
            self.error = error
            raise


@dataclass
class Options:
    target: str
    metadata: Sequence[tuple[str, str | bytes]] = ()
    timeout: float | None = None
    emit_defaults: bool = False
    credentials: grpc.ChannelCredentials | None = None
    out: Callable[[str], None] = field(default=lambda line: print(line, flush=True))


def invoke(method: Method, data: BinaryIO | str, options: Options, origin: str = "-d") -> None:
    """Call `method` with the requests in `data` and print each response as one line of JSON.

    Every request is parsed (and checked) before the channel is even made,
    but a stream from standard input, which is sent as it is read.
    Raises `grpc.RpcError` for the RPC's own failure.
    """
    timeout = options.timeout
    if timeout is not None and not 0 < timeout < math.inf:
        raise fail("--timeout", f"{timeout}: a deadline is a positive number of seconds")
    stream = None
    if not method.client_streaming:
        request_or_stream: Any = parse(
            data if isinstance(data, str) else decoded(data.read(), origin), method.request, origin
        )
    elif isinstance(data, str):
        request_or_stream = list(requests(data, method.request, origin))
    else:
        request_or_stream = stream = _Stream(requests(data, method.request, origin))
    try:
        _send(method, request_or_stream, options)
    except grpc.RpcError:
        if stream is not None and stream.error is not None:
            raise stream.error from None
        raise


def _send(method: Method, request_or_stream: Any, options: Options) -> None:
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


def failure_line(error: grpc.RpcError, target: str, tls: bool, client_cert: bool = False) -> str:
    """`status_line`, but a connection that failed for want of a flag (TLS to a plaintext server,
    no --ca for a private CA, ...) says which flag to pass instead of grpc's handshake details."""
    line = status_line(error)
    if line.startswith("UNAVAILABLE: "):
        advice = connection_advice(target, line, tls, client_cert)
        if advice is not None:
            return f"UNAVAILABLE: {advice}"
    return line


def connection_advice(target: str, details: str, tls: bool, client_cert: bool = False) -> str | None:
    """What to pass when a connection to `target` failed, read from grpc's `details` of the failure; None
    when no flag would help (no server there, say). The generated `tls.py` says the same to its client."""
    if not tls:
        if "Socket closed" not in details:
            return None
        return (
            f"{target} closed the plaintext connection: if it serves TLS, pass --tls"
            " (and --ca FILE when a private CA signed its certificate)"
        )
    for marker, advice in _TLS_ADVICE:
        if marker in details:
            return advice.format(target=target)
    if "Socket closed" in details:
        if client_cert:
            return f"{target} refused the client certificate: pass a --cert signed by a CA it trusts"
        return f"{target} closed the TLS connection: if it asks for a client certificate, pass --cert FILE --key FILE"
    return None


# grpc's words for a failed TLS handshake, and the flag that fixes it.
_TLS_ADVICE = (
    (
        "CERTIFICATE_VERIFY_FAILED",
        "the certificate of {target} is not signed by a CA this client trusts: pass --ca FILE, the CA that signed it",
    ),
    ("WRONG_VERSION_NUMBER", "{target} does not serve TLS: leave out --tls, --ca, --cert and --key"),
    ("Hostname Verification", "the certificate of {target} is not for that name: use a --target the certificate names"),
)


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


def read_data(data: str | None) -> BinaryIO | str:
    """`-d JSON`, `-d @FILE` (read and decoded now) or `-d @-` (standard input, read as it is sent);
    no `-d`: an empty request."""
    if data is None:
        return ""
    if data == "@-":
        return sys.stdin.buffer
    if data.startswith("@"):
        try:
            raw = Path(data[1:]).read_bytes()
        except OSError as error:
            raise fail(data[1:], f"cannot be read: {error.strerror}") from None
        return decoded(raw, data[1:])
    return data


# gRPC's metadata keys (HTTP/2 header names): lower case letters, digits, `-`, `_` and `.`.
_METADATA_KEY = re.compile(r"[0-9a-z_.-]+")


def header(text: str) -> tuple[str, str | bytes]:
    """`-H KEY:VALUE` as gRPC metadata: keys are lower case on the wire; a key ending `-bin` carries
    bytes, given as base64 (grpcurl's convention); any other value is printable ASCII."""
    name, separator, value = text.partition(":")
    name, value = name.strip().lower(), value.strip()
    if not separator or not name:
        raise fail(f"-H {text}", "metadata is KEY:VALUE")
    if not _METADATA_KEY.fullmatch(name):
        raise fail(f"-H {text}", "a metadata key holds only letters, digits, '-', '_' and '.'")
    if name.startswith("grpc-"):
        raise fail(f"-H {text}", "keys starting with grpc- are gRPC's own")
    if name.endswith("-bin"):
        try:
            return name, _base64(value)
        except (binascii.Error, ValueError):
            raise fail(f"-H {text}", "the value of a key ending -bin is base64") from None
    if not all(" " <= char <= "~" for char in value):
        raise fail(f"-H {text}", "a value is printable ASCII; bytes go in a key ending -bin, as base64")
    return name, value


def _base64(value: str) -> bytes:
    """Standard or URL-safe base64, padded or not (grpcurl reads both)."""
    padded = value + "=" * (-len(value) % 4)
    return base64.b64decode(padded, altchars=b"-_" if {"-", "_"} & set(value) else None, validate=True)


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
            data = path.read_bytes()
        except OSError as error:
            raise fail(f"{flag} {path}", f"cannot be read: {error.strerror}") from None
        if b"-----BEGIN " not in data:  # grpc would take it, and fail every handshake as UNAVAILABLE
            raise fail(f"{flag} {path}", "not PEM (no -----BEGIN line)")
        return data

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
    from scaffold.generation import project, protoc

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
