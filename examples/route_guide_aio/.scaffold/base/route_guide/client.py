"""Calls every RPC of routeguide.RouteGuide the way its shape demands.

Run it against a server with `python -m route_guide.client [--target HOST:PORT]`
(`--tls`, with `--ca`, `--cert` and `--key` as needed, for a server with TLS).
Each function below shows one RPC's call shape: copy the one you need, fill in
the requests, and handle `grpc.RpcError` where a call can fail. Your own code
gets a channel with the same retry policy from `create_channel`.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__" and not {"-v", "--verbose"} & set(sys.argv):
    # grpc's C core reads GRPC_VERBOSITY once, as grpc loads: run as a program, its own log lines
    # (one per failed TLS handshake) stay out unless -v; a failure is said in one line below.
    # A GRPC_VERBOSITY of yours wins.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

import argparse
import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Sequence

import grpc
import grpc.aio
from google.protobuf import message, text_format

from route_guide.generated import route_guide_pb2, route_guide_pb2_grpc
from route_guide.tls import (
    TlsError,
    channel_credentials,
    connection_advice,
    readable_file,
)

DEFAULT_TARGET = "localhost:50051"
CONNECT_TIMEOUT_SECONDS = 5.0
# A method no server has: a call to it that does not wait for a connection fails at once, with
# grpc's reason for the last failed one (a TLS handshake, say), which `connect` turns into advice.
PROBE_METHOD = "/scaffold.Probe/Connection"
TIMEOUT_SECONDS = 10.0
# grpc's service config for the calls of this client. `waitForReady`: a call made while the
# server is unreachable waits for it (up to its timeout) instead of failing at once. The
# retry policy: a call that fails with UNAVAILABLE (a server restarting, a connection lost)
# is made again, up to 4 attempts in all, after about 0.1 s, 0.2 s, 0.4 s. grpc retries
# only calls it can replay: the unary and server-streaming ones are listed for it.
SERVICE_CONFIG: dict[str, list[dict[str, object]]] = {
    "methodConfig": [
        {
            "name": [
                {"service": "routeguide.RouteGuide", "method": "GetFeature"},
                {"service": "routeguide.RouteGuide", "method": "ListFeatures"},
            ],
            "waitForReady": True,
            "retryPolicy": {
                "maxAttempts": 4,
                "initialBackoff": "0.1s",
                "maxBackoff": "1s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        },
        {
            "name": [
                {"service": "routeguide.RouteGuide"},
            ],
            "waitForReady": True,
        },
    ]
}


def create_channel(
    target: str, credentials: grpc.ChannelCredentials | None = None
) -> grpc.aio.Channel:
    """A channel to `target` that follows SERVICE_CONFIG; TLS with `credentials`
    (see `route_guide.tls.channel_credentials`), plaintext without."""
    options = [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
    ]
    if credentials is None:
        return grpc.aio.insecure_channel(target, options=options)
    return grpc.aio.secure_channel(target, credentials, options=options)


async def get_feature(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    """Looks up the feature at a point. A point with nothing there still gets a
    feature back, with an empty name.

    Unary call: awaited at once, then as a call object you could await later or cancel.
    """
    request = route_guide_pb2.Point()  # TODO: fill in the request.
    response = await stub.GetFeature(request, timeout=TIMEOUT_SECONDS)
    print(f"GetFeature -> {_show(response)}")
    call = stub.GetFeature(request, timeout=TIMEOUT_SECONDS)
    print(f"GetFeature (call object) -> {_show(await call)}")


async def list_features(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    """Streams every feature inside a rectangle, one message per feature, so a
    large area never has to fit into a single response.

    Server streaming: one request, responses read as they arrive.
    """
    request = route_guide_pb2.Rectangle()  # TODO: fill in the request.
    async for response in stub.ListFeatures(request, timeout=TIMEOUT_SECONDS):
        print(f"ListFeatures -> {_show(response)}")


async def record_route_requests() -> AsyncIterator[route_guide_pb2.Point]:
    """The request stream of RecordRoute: each `yield` sends one message; returning ends the stream."""
    # TODO: yield the messages to send.
    yield route_guide_pb2.Point()


async def record_route(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    """Takes the points of a route as the client travels it and, once the
    client closes the stream, answers with a summary of the trip.

    Client streaming: sends an async generator of requests, gets one response.
    """
    requests = record_route_requests()
    response = await stub.RecordRoute(requests, timeout=TIMEOUT_SECONDS)
    print(f"RecordRoute -> {_show(response)}")


async def route_chat_requests() -> AsyncIterator[route_guide_pb2.RouteNote]:
    """The request stream of RouteChat: each `yield` sends one message; returning ends the stream."""
    # TODO: yield the messages to send.
    yield route_guide_pb2.RouteNote()


async def route_chat(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    """Exchanges notes while a route is travelled: every note sent is answered
    with the notes sent earlier at the same location.

    Bidirectional streaming: a generator sends while responses arrive.
    """
    requests = route_chat_requests()
    async for response in stub.RouteChat(requests, timeout=TIMEOUT_SECONDS):
        print(f"RouteChat -> {_show(response)}")


async def run(
    target: str,
    credentials: grpc.ChannelCredentials | None = None,
    client_cert: bool = False,
) -> int:
    """Calls every RPC once and prints what came back; 1 if any call failed."""
    async with create_channel(target, credentials) as channel:
        problem = await connect(channel, target, credentials is not None, client_cert)
        if problem is not None:
            print(problem)
            return 1
        route_guide_stub = route_guide_pb2_grpc.RouteGuideStub(channel)
        succeeded = [
            await _attempt("GetFeature", get_feature(route_guide_stub)),
            await _attempt("ListFeatures", list_features(route_guide_stub)),
            await _attempt("RecordRoute", record_route(route_guide_stub)),
            await _attempt("RouteChat", route_chat(route_guide_stub)),
        ]
    return 0 if all(succeeded) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Calls every RPC once and prints what came back; exits 1 if any call failed."""
    parser = arguments()
    args = parser.parse_args(argv)
    tls = credentials(parser, args)
    return asyncio.run(run(args.target, tls, args.cert is not None))


async def connect(
    channel: grpc.aio.Channel, target: str, tls: bool, client_cert: bool = False
) -> str | None:
    """None once the server at `target` answers; else why not, in one line that says what to pass.

    A server still starting is waited for (up to CONNECT_TIMEOUT_SECONDS), but a failed TLS
    handshake ends the wait at once: no retry fixes it, and grpc would only say UNAVAILABLE."""
    try:
        return await asyncio.wait_for(
            _ready_or_advice(channel, target, tls, client_cert), CONNECT_TIMEOUT_SECONDS
        )
    except asyncio.TimeoutError:
        advice = await _advice(channel, target, tls, client_cert)
        return advice or f"No server answered at {target}"


async def _ready_or_advice(
    channel: grpc.aio.Channel, target: str, tls: bool, client_cert: bool
) -> str | None:
    """Waits for the channel to be ready; after each failed connection, the advice it gives, if any."""
    state = channel.get_state(try_to_connect=True)
    while state is not grpc.ChannelConnectivity.READY:
        if state is grpc.ChannelConnectivity.TRANSIENT_FAILURE:
            advice = await _advice(channel, target, tls, client_cert)
            if advice is not None:
                return advice
        await channel.wait_for_state_change(state)
        state = channel.get_state(try_to_connect=True)
    return None


async def _advice(
    channel: grpc.aio.Channel, target: str, tls: bool, client_cert: bool
) -> str | None:
    """What the last failed connection says, as the flag that would fix it; None if no flag would."""
    probe: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes]
    probe = channel.unary_unary(PROBE_METHOD)
    try:
        await probe(b"", timeout=CONNECT_TIMEOUT_SECONDS, wait_for_ready=False)
    except grpc.aio.AioRpcError as error:
        return connection_advice(target, error.details() or "", tls, client_cert)
    return None


async def _attempt(rpc: str, call: Awaitable[None]) -> bool:
    """Runs one call, printing a gRPC error as its status instead of a traceback."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        print(f"{rpc} failed: {error.code().name}: {error.details()}")
        return False
    return True


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Call every RPC of route_guide once.")
    parser.add_argument(
        "--target", default=DEFAULT_TARGET, help="server address (default: %(default)s)"
    )
    parser.add_argument("--tls", action="store_true", help="connect with TLS")
    parser.add_argument(
        "--ca",
        type=readable_file,
        help="PEM CA to check the server with (implies --tls)",
    )
    parser.add_argument(
        "--cert",
        type=readable_file,
        help="PEM client certificate, for mTLS (implies --tls)",
    )
    parser.add_argument("--key", type=readable_file, help="PEM private key of --cert")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also show grpc's own log lines (TLS handshakes)",
    )
    return parser


def credentials(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> grpc.ChannelCredentials | None:
    """TLS credentials from the flags, None for plaintext; a bad file ends the program."""
    if not (args.tls or args.ca or args.cert or args.key):
        return None
    try:
        return channel_credentials(args.ca, args.cert, args.key)
    except TlsError as error:
        parser.error(str(error))


def _show(response: message.Message) -> str:
    return f"{type(response).__name__}({text_format.MessageToString(response, as_one_line=True)})"


if __name__ == "__main__":
    raise SystemExit(main())
