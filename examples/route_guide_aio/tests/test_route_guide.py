"""Calls each of RouteGuide's four RPC shapes over a real loopback connection,
with asyncio, against the 100-feature database the server ships with."""

from __future__ import annotations

from route_guide.generated import route_guide_pb2, route_guide_pb2_grpc
from route_guide.generated.runtime.testing import serving
from route_guide.resources import read_route_guide_database
from route_guide.server import create_server

TIMEOUT_SECONDS = 10.0
Point = route_guide_pb2.Point


def test_get_feature_known_and_unknown() -> None:
    async def scenario(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
        known = Point(latitude=409_146_138, longitude=-746_188_906)
        feature = await stub.GetFeature(known, timeout=TIMEOUT_SECONDS)
        assert (
            feature.name == "Berkshire Valley Management Area Trail, Jefferson, NJ, USA"
        )
        unknown = Point(latitude=1, longitude=2)
        empty = await stub.GetFeature(unknown, timeout=TIMEOUT_SECONDS)
        assert empty == route_guide_pb2.Feature(name="", location=unknown)

    serving(create_server, route_guide_pb2_grpc.RouteGuideStub, scenario)


def test_list_features() -> None:
    async def scenario(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
        rectangle = route_guide_pb2.Rectangle(
            lo=Point(latitude=400_000_000, longitude=-750_000_000),
            hi=Point(latitude=420_000_000, longitude=-730_000_000),
        )
        responses = stub.ListFeatures(rectangle, timeout=TIMEOUT_SECONDS)
        features = [feature async for feature in responses]
        assert features == read_route_guide_database()

    serving(create_server, route_guide_pb2_grpc.RouteGuideStub, scenario)


def test_record_route() -> None:
    async def scenario(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
        features = read_route_guide_database()
        points = [
            features[0].location,
            Point(latitude=1, longitude=1),
            features[1].location,
        ]
        summary = await stub.RecordRoute(iter(points), timeout=TIMEOUT_SECONDS)
        assert (summary.point_count, summary.feature_count) == (3, 2)
        assert (
            summary.distance == 17_420_603
        )  # the same trip as the sync example's test

    serving(create_server, route_guide_pb2_grpc.RouteGuideStub, scenario)


def test_route_chat() -> None:
    async def scenario(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
        def note(message: str, latitude: int) -> route_guide_pb2.RouteNote:
            location = Point(latitude=latitude, longitude=0)
            return route_guide_pb2.RouteNote(message=message, location=location)

        sent = [note("a", 1), note("b", 2), note("c", 1), note("d", 1)]
        replies = stub.RouteChat(iter(sent), timeout=TIMEOUT_SECONDS)
        assert [reply.message async for reply in replies] == ["a", "a", "c"]

    serving(create_server, route_guide_pb2_grpc.RouteGuideStub, scenario)
