"""Walks through the four call shapes of RouteGuide, printing what gRPC's own
route_guide client prints.

Run it against a server with `python -m route_guide.client [--target HOST:PORT]`.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator, Sequence

import grpc

from route_guide.generated import route_guide_pb2, route_guide_pb2_grpc
from route_guide.generated.runtime import calling
from route_guide.resources import read_route_guide_database

TIMEOUT_SECONDS = 10.0
ROUTE_LENGTH = 10

Point = route_guide_pb2.Point


def say(line: str) -> None:
    """Print a whole line in one write.

    The request generators below run on gRPC's sending thread while the main
    thread prints responses; `print` writes the text and its newline
    separately, so two threads' lines could run into each other.
    """
    sys.stdout.write(f"{line}\n")


def get_feature(stub: route_guide_pb2_grpc.RouteGuideStub, point: Point) -> None:
    """Unary call: one point in, one feature out, blocking until it arrives."""
    feature = stub.GetFeature(point, timeout=TIMEOUT_SECONDS)
    if feature.name:
        print(f"Feature called {feature.name} at {feature.location}")
    else:
        print(f"Found no feature at {feature.location}")


def list_features(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    """Server streaming: the features arrive one by one while the loop runs."""
    rectangle = route_guide_pb2.Rectangle(
        lo=Point(latitude=400_000_000, longitude=-750_000_000),
        hi=Point(latitude=420_000_000, longitude=-730_000_000),
    )
    print("Looking for features between 40, -75 and 42, -73")
    for feature in stub.ListFeatures(rectangle, timeout=TIMEOUT_SECONDS):
        print(f"Feature called {feature.name} at {feature.location}")


def route(features: Sequence[route_guide_pb2.Feature]) -> Iterator[Point]:
    """A route through random known features, sent one point per `yield`."""
    for _ in range(ROUTE_LENGTH):
        point = random.choice(features).location
        say(f"Visiting point {point}")
        yield point


def record_route(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    """Client streaming: the generator is consumed as it is sent, then one summary."""
    summary = stub.RecordRoute(
        route(read_route_guide_database()), timeout=TIMEOUT_SECONDS
    )
    print(f"Finished trip with {summary.point_count} points ")
    print(f"Passed {summary.feature_count} features ")
    print(f"Travelled {summary.distance} meters ")
    print(f"It took {summary.elapsed_time} seconds ")


def notes() -> Iterator[route_guide_pb2.RouteNote]:
    """Five notes at three places; the fourth and fifth revisit earlier places."""
    for message, latitude, longitude in [
        ("First message", 0, 0),
        ("Second message", 0, 1),
        ("Third message", 1, 0),
        ("Fourth message", 0, 0),
        ("Fifth message", 1, 0),
    ]:
        note = route_guide_pb2.RouteNote(
            message=message, location=Point(latitude=latitude, longitude=longitude)
        )
        say(f"Sending {note.message} at {note.location}")
        yield note


def route_chat(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    """Bidirectional streaming: notes go out from a generator while replies come in."""
    for reply in stub.RouteChat(notes(), timeout=TIMEOUT_SECONDS):
        say(f"Received message {reply.message} at {reply.location}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Take RouteGuide through its four RPCs."
    )
    parser.add_argument(
        "--target",
        default=calling.DEFAULT_TARGET,
        help="server address (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    with calling.create_channel(args.target) as channel:
        stub = route_guide_pb2_grpc.RouteGuideStub(channel)
        try:
            print("-------------- GetFeature --------------")
            get_feature(stub, Point(latitude=409_146_138, longitude=-746_188_906))
            get_feature(stub, Point(latitude=0, longitude=0))
            print("-------------- ListFeatures --------------")
            list_features(stub)
            print("-------------- RecordRoute --------------")
            record_route(stub)
            print("-------------- RouteChat --------------")
            route_chat(stub)
        except grpc.RpcError as error:
            status = error.code().name if isinstance(error, grpc.Call) else "ERROR"
            print(f"RouteGuide call failed: {status}: {error}")
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
