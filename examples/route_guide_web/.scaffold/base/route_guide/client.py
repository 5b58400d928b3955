"""Calls every RPC of routeguide.RouteGuide the way its shape demands.

`python -m route_guide.client --help`. Copy the call you need; for a channel with the
same retry policy, `calling.create_channel`."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from route_guide.generated import route_guide_pb2, route_guide_pb2_grpc
from route_guide.generated.runtime import calling

TIMEOUT_SECONDS = 10.0


def get_feature(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    """Looks up the feature at a point. A point with nothing there still gets a
    feature back, with an empty name.
    """
    request = route_guide_pb2.Point()  # TODO: fill in the request.
    response = stub.GetFeature(request, timeout=TIMEOUT_SECONDS)
    print(f"GetFeature -> {calling.show(response)}")


def list_features(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    """Streams every feature inside a rectangle, one message per feature, so a
    large area never has to fit into a single response.
    """
    request = route_guide_pb2.Rectangle()  # TODO: fill in the request.
    for response in stub.ListFeatures(request, timeout=TIMEOUT_SECONDS):
        print(f"ListFeatures -> {calling.show(response)}")


def record_route_requests() -> Iterator[route_guide_pb2.Point]:
    """The request stream of RecordRoute: each `yield` sends one message; returning ends the stream."""
    yield route_guide_pb2.Point()


def record_route(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    """Takes the points of a route as the client travels it and, once the
    client closes the stream, answers with a summary of the trip.
    """
    requests = record_route_requests()
    response = stub.RecordRoute(requests, timeout=TIMEOUT_SECONDS)
    print(f"RecordRoute -> {calling.show(response)}")


def route_chat_requests() -> Iterator[route_guide_pb2.RouteNote]:
    """The request stream of RouteChat: each `yield` sends one message; returning ends the stream."""
    yield route_guide_pb2.RouteNote()


def route_chat(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    """Exchanges notes while a route is travelled: every note sent is answered
    with the notes sent earlier at the same location.
    """
    requests = route_chat_requests()
    for response in stub.RouteChat(requests, timeout=TIMEOUT_SECONDS):
        print(f"RouteChat -> {calling.show(response)}")


def calls(channel: calling.Channel) -> list[calling.Call]:
    route_guide_stub = route_guide_pb2_grpc.RouteGuideStub(channel)
    return [
        ("GetFeature", partial(get_feature, route_guide_stub)),
        ("ListFeatures", partial(list_features, route_guide_stub)),
        ("RecordRoute", partial(record_route, route_guide_stub)),
        ("RouteChat", partial(route_chat, route_guide_stub)),
    ]


if __name__ == "__main__":
    raise SystemExit(calling.main(calls))
