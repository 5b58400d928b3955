"""Every RPC over a loopback connection: once one is implemented, assert what it answers."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from route_guide.generated import route_guide_pb2, route_guide_pb2_grpc
from route_guide.generated.runtime.testing import served_channel, status_of
from route_guide.server import create_server

TIMEOUT_SECONDS = 10.0


@pytest.fixture(scope="module")
def route_guide_stub() -> Iterator[route_guide_pb2_grpc.RouteGuideStub]:
    with served_channel(create_server) as channel:
        yield route_guide_pb2_grpc.RouteGuideStub(channel)


def test_get_feature(route_guide_stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    request = route_guide_pb2.Point()
    with pytest.raises(grpc.RpcError) as raised:
        route_guide_stub.GetFeature(request, timeout=TIMEOUT_SECONDS)
    assert status_of(raised.value) == grpc.StatusCode.UNIMPLEMENTED


def test_list_features(route_guide_stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    request = route_guide_pb2.Rectangle()
    responses = route_guide_stub.ListFeatures(request, timeout=TIMEOUT_SECONDS)
    with pytest.raises(grpc.RpcError) as raised:
        list(responses)
    assert status_of(raised.value) == grpc.StatusCode.UNIMPLEMENTED


def test_record_route(route_guide_stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    requests = iter([route_guide_pb2.Point()])
    with pytest.raises(grpc.RpcError) as raised:
        route_guide_stub.RecordRoute(requests, timeout=TIMEOUT_SECONDS)
    assert status_of(raised.value) == grpc.StatusCode.UNIMPLEMENTED


def test_route_chat(route_guide_stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
    requests = iter([route_guide_pb2.RouteNote()])
    responses = route_guide_stub.RouteChat(requests, timeout=TIMEOUT_SECONDS)
    with pytest.raises(grpc.RpcError) as raised:
        list(responses)
    assert status_of(raised.value) == grpc.StatusCode.UNIMPLEMENTED
