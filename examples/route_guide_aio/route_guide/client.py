"""Walks through the four call shapes of RouteGuide with asyncio, printing what
gRPC's own route_guide client prints.

Run it against a server with `python -m route_guide.client [--target HOST:PORT]`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from collections.abc import AsyncIterator, Sequence

import grpc
import grpc.aio

from route_guide.generated import route_guide_pb2, route_guide_pb2_grpc
from route_guide.generated.runtime import calling
from route_guide.resources import read_route_guide_database

TIMEOUT_SECONDS = 10.0
ROUTE_LENGTH = 10

Point = route_guide_pb2.Point


async def get_feature(stub: route_guide_pb2_grpc.RouteGuideStub, point: Point) -> None:
    """Unary call: one point in, one feature out."""
    feature = await stub.GetFeature(point, timeout=TIMEOUT_SECONDS)
    if feature.name:
        print(f"Feature called {feature.name} at {feature.location}")
    else:
        print(f"Found no feature at {feature.location}")


async def list_features(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    """Server streaming: the features arrive one by one while the loop runs."""
    rectangle = route_guide_pb2.Rectangle(
        lo=Point(latitude=400_000_000, longitude=-750_000_000),
        hi=Point(latitude=420_000_000, longitude=-730_000_000),
    )
    print("Looking for features between 40, -75 and 42, -73")
    async for feature in stub.ListFeatures(rectangle, timeout=TIMEOUT_SECONDS):
        print(f"Feature called {feature.name} at {feature.location}")


async def route(features: Sequence[route_guide_pb2.Feature]) -> AsyncIterator[Point]:
    """A route through random known features, sent one point per `yield`."""
    for _ in range(ROUTE_LENGTH):
        point = random.choice(features).location
        print(f"Visiting point {point}")
        yield point


async def record_route(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    """Client streaming: the async generator is consumed as it is sent, then one summary."""
    points = route(read_route_guide_database())
    summary = await stub.RecordRoute(points, timeout=TIMEOUT_SECONDS)
    print(f"Finished trip with {summary.point_count} points ")
    print(f"Passed {summary.feature_count} features ")
    print(f"Travelled {summary.distance} meters ")
    print(f"It took {summary.elapsed_time} seconds ")


async def notes() -> AsyncIterator[route_guide_pb2.RouteNote]:
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
        print(f"Sending {note.message} at {note.location}")
        yield note


async def route_chat(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    """Bidirectional streaming: notes go out from an async generator while replies come in."""
    async for reply in stub.RouteChat(notes(), timeout=TIMEOUT_SECONDS):
        print(f"Received message {reply.message} at {reply.location}")


async def run(target: str) -> int:
    async with calling.create_channel(target) as channel:
        stub = route_guide_pb2_grpc.RouteGuideStub(channel)
        try:
            print("-------------- GetFeature --------------")
            await get_feature(stub, Point(latitude=409_146_138, longitude=-746_188_906))
            await get_feature(stub, Point(latitude=0, longitude=0))
            print("-------------- ListFeatures --------------")
            await list_features(stub)
            print("-------------- RecordRoute --------------")
            await record_route(stub)
            print("-------------- RouteChat --------------")
            await route_chat(stub)
        except grpc.aio.AioRpcError as error:
            print(f"RouteGuide call failed: {error.code().name}: {error.details()}")
            return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Take RouteGuide through its four RPCs with asyncio."
    )
    parser.add_argument(
        "--target",
        default=calling.DEFAULT_TARGET,
        help="server address (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    return asyncio.run(run(args.target))


if __name__ == "__main__":
    raise SystemExit(main())
