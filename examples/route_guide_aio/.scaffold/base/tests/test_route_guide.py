"""Every RPC over a loopback connection: once one is implemented, assert what it answers."""

from __future__ import annotations

import grpc
import pytest

from route_guide.generated import route_guide_pb2, route_guide_pb2_grpc
from route_guide.generated.runtime.testing import serving, status_of
from route_guide.server import create_server

TIMEOUT_SECONDS = 10.0


def test_get_feature() -> None:
    async def scenario(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
        request = route_guide_pb2.Point()
        with pytest.raises(grpc.RpcError) as raised:
            await stub.GetFeature(request, timeout=TIMEOUT_SECONDS)
        assert status_of(raised.value) == grpc.StatusCode.UNIMPLEMENTED

    serving(create_server, route_guide_pb2_grpc.RouteGuideStub, scenario)


def test_list_features() -> None:
    async def scenario(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
        request = route_guide_pb2.Rectangle()
        responses = stub.ListFeatures(request, timeout=TIMEOUT_SECONDS)
        with pytest.raises(grpc.RpcError) as raised:
            [_ async for _ in responses]
        assert status_of(raised.value) == grpc.StatusCode.UNIMPLEMENTED

    serving(create_server, route_guide_pb2_grpc.RouteGuideStub, scenario)


def test_record_route() -> None:
    async def scenario(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
        requests = iter([route_guide_pb2.Point()])
        with pytest.raises(grpc.RpcError) as raised:
            await stub.RecordRoute(requests, timeout=TIMEOUT_SECONDS)
        assert status_of(raised.value) == grpc.StatusCode.UNIMPLEMENTED

    serving(create_server, route_guide_pb2_grpc.RouteGuideStub, scenario)


def test_route_chat() -> None:
    async def scenario(stub: route_guide_pb2_grpc.RouteGuideStub) -> None:
        requests = iter([route_guide_pb2.RouteNote()])
        responses = stub.RouteChat(requests, timeout=TIMEOUT_SECONDS)
        with pytest.raises(grpc.RpcError) as raised:
            [_ async for _ in responses]
        assert status_of(raised.value) == grpc.StatusCode.UNIMPLEMENTED

    serving(create_server, route_guide_pb2_grpc.RouteGuideStub, scenario)
