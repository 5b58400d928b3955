"""Calls every RPC of routeguide.RouteGuide the way its shape demands.

Run it against a server with `python -m route_guide.client [--target HOST:PORT]`.
Each function below shows one RPC's call shape: copy the one you need, fill in
the requests, and handle `grpc.RpcError` where a call can fail.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Awaitable, Sequence

import grpc
import grpc.aio
from google.protobuf import message, text_format

from route_guide.generated import route_guide_pb2, route_guide_pb2_grpc

DEFAULT_TARGET = "localhost:50051"
CONNECT_TIMEOUT_SECONDS = 5.0
TIMEOUT_SECONDS = 10.0


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


async def run(target: str) -> int:
    """Calls every RPC once and prints what came back; 1 if any call failed."""
    async with grpc.aio.insecure_channel(target) as channel:
        try:
            await asyncio.wait_for(channel.channel_ready(), CONNECT_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            print(f"No server answered at {target}")
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
    parser = argparse.ArgumentParser(description="Call every RPC of route_guide once.")
    parser.add_argument(
        "--target", default=DEFAULT_TARGET, help="server address (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    return asyncio.run(run(args.target))


async def _attempt(rpc: str, call: Awaitable[None]) -> bool:
    """Runs one call, printing a gRPC error as its status instead of a traceback."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        print(f"{rpc} failed: {error.code().name}: {error.details()}")
        return False
    return True


def _show(response: message.Message) -> str:
    return f"{type(response).__name__}({text_format.MessageToString(response, as_one_line=True)})"


if __name__ == "__main__":
    raise SystemExit(main())
