"""Calls every RPC of routeguide.RouteGuide the way its shape demands.

Run it against a server with `python -m route_guide.client [--target HOST:PORT]`.
Each function below shows one RPC's call shape: copy the one you need, fill in
the requests, and handle `grpc.RpcError` where a call can fail.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence
from functools import partial

import grpc
from google.protobuf import message, text_format

from route_guide.generated import route_guide_pb2, route_guide_pb2_grpc

DEFAULT_TARGET = "localhost:50051"
CONNECT_TIMEOUT_SECONDS = 5.0
TIMEOUT_SECONDS = 10.0


def get_feature(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    """Looks up the feature at a point. A point with nothing there still gets a
    feature back, with an empty name.

    Unary call: blocking first, then through a future you could wait on later.
    """
    request = route_guide_pb2.Point()  # TODO: fill in the request.
    response = stub.GetFeature(request, timeout=TIMEOUT_SECONDS)
    print(f"GetFeature -> {_show(response)}")
    future = stub.GetFeature.future(request, timeout=TIMEOUT_SECONDS)
    print(f"GetFeature (future) -> {_show(future.result())}")


def list_features(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    """Streams every feature inside a rectangle, one message per feature, so a
    large area never has to fit into a single response.

    Server streaming: one request, responses read as they arrive.
    """
    request = route_guide_pb2.Rectangle()  # TODO: fill in the request.
    for response in stub.ListFeatures(request, timeout=TIMEOUT_SECONDS):
        print(f"ListFeatures -> {_show(response)}")


def record_route_requests() -> Iterator[route_guide_pb2.Point]:
    """The request stream of RecordRoute: each `yield` sends one message; returning ends the stream."""
    # TODO: yield the messages to send.
    yield route_guide_pb2.Point()


def record_route(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    """Takes the points of a route as the client travels it and, once the
    client closes the stream, answers with a summary of the trip.

    Client streaming: sends an iterator of requests, gets one response.
    """
    requests = record_route_requests()
    response = stub.RecordRoute(requests, timeout=TIMEOUT_SECONDS)
    print(f"RecordRoute -> {_show(response)}")


def route_chat_requests() -> Iterator[route_guide_pb2.RouteNote]:
    """The request stream of RouteChat: each `yield` sends one message; returning ends the stream."""
    # TODO: yield the messages to send.
    yield route_guide_pb2.RouteNote()


def route_chat(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    """Exchanges notes while a route is travelled: every note sent is answered
    with the notes sent earlier at the same location.

    Bidirectional streaming: a generator sends while responses arrive.
    """
    requests = route_chat_requests()
    for response in stub.RouteChat(requests, timeout=TIMEOUT_SECONDS):
        print(f"RouteChat -> {_show(response)}")


def main(argv: Sequence[str] | None = None) -> int:
    """Calls every RPC once and prints what came back; exits 1 if any call failed."""
    parser = argparse.ArgumentParser(description="Call every RPC of route_guide once.")
    parser.add_argument(
        "--target", default=DEFAULT_TARGET, help="server address (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    with grpc.insecure_channel(args.target) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=CONNECT_TIMEOUT_SECONDS)
        except grpc.FutureTimeoutError:
            print(f"No server answered at {args.target}")
            return 1
        route_guide_stub = route_guide_pb2_grpc.RouteGuideStub(channel)
        succeeded = [
            _attempt("GetFeature", partial(get_feature, route_guide_stub)),
            _attempt("ListFeatures", partial(list_features, route_guide_stub)),
            _attempt("RecordRoute", partial(record_route, route_guide_stub)),
            _attempt("RouteChat", partial(route_chat, route_guide_stub)),
        ]
    return 0 if all(succeeded) else 1


def _attempt(rpc: str, call: Callable[[], None]) -> bool:
    """Runs one call, printing a gRPC error as its status instead of a traceback."""
    try:
        call()
    except grpc.RpcError as error:
        print(f"{rpc} failed: {_describe(error)}")
        return False
    return True


def _describe(error: grpc.RpcError) -> str:
    if isinstance(error, grpc.Call):
        return f"{error.code().name}: {error.details()}"
    return str(error)


def _show(response: message.Message) -> str:
    return f"{type(response).__name__}({text_format.MessageToString(response, as_one_line=True)})"


if __name__ == "__main__":
    raise SystemExit(main())
