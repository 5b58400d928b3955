"""Calls each of RouteGuide's four RPC shapes over a real loopback connection,
against the 100-feature database the server ships with."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from route_guide.generated import route_guide_pb2, route_guide_pb2_grpc
from route_guide.generated.runtime.testing import served_channel
from route_guide.resources import read_route_guide_database
from route_guide.server import create_server

TIMEOUT_SECONDS = 10.0
Point = route_guide_pb2.Point


@pytest.fixture(scope="module")
def route_guide_stub() -> Iterator[route_guide_pb2_grpc.RouteGuideStub]:
    with served_channel(create_server) as channel:
        yield route_guide_pb2_grpc.RouteGuideStub(channel)


def test_get_feature_known(
    route_guide_stub: route_guide_pb2_grpc.RouteGuideStub,
) -> None:
    point = Point(latitude=409_146_138, longitude=-746_188_906)
    feature = route_guide_stub.GetFeature(point, timeout=TIMEOUT_SECONDS)
    assert feature.name == "Berkshire Valley Management Area Trail, Jefferson, NJ, USA"
    assert feature.location == point


def test_get_feature_unknown(
    route_guide_stub: route_guide_pb2_grpc.RouteGuideStub,
) -> None:
    point = Point(latitude=1, longitude=2)
    feature = route_guide_stub.GetFeature(point, timeout=TIMEOUT_SECONDS)
    assert feature == route_guide_pb2.Feature(name="", location=point)


def test_list_features(route_guide_stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    rectangle = route_guide_pb2.Rectangle(
        lo=Point(latitude=400_000_000, longitude=-750_000_000),
        hi=Point(latitude=420_000_000, longitude=-730_000_000),
    )
    features = list(route_guide_stub.ListFeatures(rectangle, timeout=TIMEOUT_SECONDS))
    assert features == read_route_guide_database()  # every feature lies in that box


def test_list_features_corners_in_any_order(
    route_guide_stub: route_guide_pb2_grpc.RouteGuideStub,
) -> None:
    rectangle = route_guide_pb2.Rectangle(
        lo=Point(latitude=408_000_000, longitude=-743_000_000),
        hi=Point(latitude=407_000_000, longitude=-748_000_000),
    )
    names = [
        f.name
        for f in route_guide_stub.ListFeatures(rectangle, timeout=TIMEOUT_SECONDS)
    ]
    assert "Patriots Path, Mendham, NJ 07945, USA" in names
    assert len(names) < 100


def test_record_route(route_guide_stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    features = read_route_guide_database()
    points = [
        features[0].location,
        Point(latitude=1, longitude=1),
        features[1].location,
    ]
    summary = route_guide_stub.RecordRoute(iter(points), timeout=TIMEOUT_SECONDS)
    assert summary.point_count == 3
    assert summary.feature_count == 2
    assert summary.elapsed_time == 0
    # Patriots Path -> near (0, 0) -> Whippany, checked by the law of cosines.
    assert summary.distance == 17_420_603


def test_record_route_one_degree_of_latitude(
    route_guide_stub: route_guide_pb2_grpc.RouteGuideStub,
) -> None:
    points = [Point(latitude=0, longitude=0), Point(latitude=10_000_000, longitude=0)]
    summary = route_guide_stub.RecordRoute(iter(points), timeout=TIMEOUT_SECONDS)
    assert summary.distance == 111_194  # 6371 km * pi / 180, truncated


def test_route_chat(route_guide_stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    def note(message: str, latitude: int) -> route_guide_pb2.RouteNote:
        location = Point(latitude=latitude, longitude=0)
        return route_guide_pb2.RouteNote(message=message, location=location)

    sent = [note("a", 1), note("b", 2), note("c", 1), note("d", 1)]
    replies = route_guide_stub.RouteChat(iter(sent), timeout=TIMEOUT_SECONDS)
    assert [reply.message for reply in replies] == ["a", "a", "c"]
