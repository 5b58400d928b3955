"""Calls every RPC through the generated stubs over a real loopback connection.

On the fresh skeleton every RPC answers UNIMPLEMENTED, so these tests start
green. When you implement an RPC, replace its `pytest.raises` block with the
call and assertions on what it should answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import grpc
import grpc.aio
import pytest

from route_guide.generated import route_guide_pb2, route_guide_pb2_grpc
from route_guide.server import create_server

TIMEOUT_SECONDS = 10.0


def serving(scenario: Callable[[grpc.aio.Channel], Awaitable[None]]) -> None:
    """Runs `scenario` against a server started on a free loopback port, in one event loop."""

    async def run() -> None:
        server, port = create_server("127.0.0.1:0")
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                await scenario(channel)
        finally:
            await server.stop(None)

    asyncio.run(run())


def test_get_feature() -> None:
    async def scenario(channel: grpc.aio.Channel) -> None:
        route_guide_stub = route_guide_pb2_grpc.RouteGuideStub(channel)
        request = route_guide_pb2.Point()
        with pytest.raises(grpc.RpcError) as raised:
            await route_guide_stub.GetFeature(request, timeout=TIMEOUT_SECONDS)
        assert status_of(raised.value) == grpc.StatusCode.UNIMPLEMENTED

    serving(scenario)


def test_list_features() -> None:
    async def scenario(channel: grpc.aio.Channel) -> None:
        route_guide_stub = route_guide_pb2_grpc.RouteGuideStub(channel)
        request = route_guide_pb2.Rectangle()
        responses = route_guide_stub.ListFeatures(request, timeout=TIMEOUT_SECONDS)
        with pytest.raises(grpc.RpcError) as raised:
            [_ async for _ in responses]
        assert status_of(raised.value) == grpc.StatusCode.UNIMPLEMENTED

    serving(scenario)


def test_record_route() -> None:
    async def scenario(channel: grpc.aio.Channel) -> None:
        route_guide_stub = route_guide_pb2_grpc.RouteGuideStub(channel)
        requests = iter([route_guide_pb2.Point()])
        with pytest.raises(grpc.RpcError) as raised:
            await route_guide_stub.RecordRoute(requests, timeout=TIMEOUT_SECONDS)
        assert status_of(raised.value) == grpc.StatusCode.UNIMPLEMENTED

    serving(scenario)


def test_route_chat() -> None:
    async def scenario(channel: grpc.aio.Channel) -> None:
        route_guide_stub = route_guide_pb2_grpc.RouteGuideStub(channel)
        requests = iter([route_guide_pb2.RouteNote()])
        responses = route_guide_stub.RouteChat(requests, timeout=TIMEOUT_SECONDS)
        with pytest.raises(grpc.RpcError) as raised:
            [_ async for _ in responses]
        assert status_of(raised.value) == grpc.StatusCode.UNIMPLEMENTED

    serving(scenario)


def status_of(error: grpc.RpcError) -> grpc.StatusCode:
    assert isinstance(error, grpc.aio.AioRpcError)
    return error.code()
