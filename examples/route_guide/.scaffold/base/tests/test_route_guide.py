"""Calls every RPC through the generated stubs over a real loopback connection.

On the fresh skeleton every RPC answers UNIMPLEMENTED, so these tests start
green. When you implement an RPC, replace its `pytest.raises` block with the
call and assertions on what it should answer.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from route_guide.generated import route_guide_pb2, route_guide_pb2_grpc
from route_guide.server import create_server

TIMEOUT_SECONDS = 10.0


@pytest.fixture(scope="module")
def channel() -> Iterator[grpc.Channel]:
    """A channel to a server started in this process on a free loopback port."""
    server, port = create_server("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
    finally:
        server.stop(None)


@pytest.fixture
def route_guide_stub(channel: grpc.Channel) -> route_guide_pb2_grpc.RouteGuideStub:
    return route_guide_pb2_grpc.RouteGuideStub(channel)


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


def status_of(error: grpc.RpcError) -> grpc.StatusCode:
    assert isinstance(error, grpc.Call)
    return error.code()
