"""`scaffold call`: one RPC from the command line, in protobuf's JSON mapping (grpcurl's job, in Python).

This module makes the call: the channel, the RPC of the method's kind (each
side unary or streaming), and each response printed as one line of JSON. The
method comes from `scaffold.live.methods` (descriptors, not generated code:
any gRPC server, nothing imported from the project), the requests from
`scaffold.live.request`, the metadata, the credentials and the one line a
failure is told in from `scaffold.live.connection`.

A bad document, bad metadata or a bad deadline is a located error
(`-d:1:17: ...`, exit 2) and nothing is sent. The exception is a request
stream read from standard input (`-d @-`), sent as it is read (so bidi
streams interleave with the responses printed as they arrive): a bad line
there cancels the call, and the documents before it have been sent.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import grpc
from google.protobuf import json_format, message

from scaffold.core.errors import ScaffoldError, fail
from scaffold.live.methods import Method
from scaffold.live.request import decoded, parse, requests


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
