"""What the tests of route_guide share: a server on a free loopback port, a call's status.

scaffold rewrites this module on every `scaffold gen`: do not edit it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
import grpc.aio

CreateServer = Callable[[str], tuple[grpc.aio.Server, int]]
"""`route_guide.server.create_server`: a server bound to an address, and its port."""
Stub = TypeVar("Stub")


def serving(
    create_server: CreateServer,
    stub_class: Callable[[grpc.aio.Channel], Stub],
    scenario: Callable[[Stub], Awaitable[None]],
) -> None:
    """Runs `scenario` with a stub of a server `create_server` starts on a free loopback port."""

    async def run() -> None:
        server, port = create_server("127.0.0.1:0")
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                await scenario(stub_class(channel))
        finally:
            await server.stop(None)

    asyncio.run(run())


def status_of(error: grpc.RpcError) -> grpc.StatusCode:
    """The status a failed call ended with."""
    assert isinstance(error, grpc.aio.AioRpcError)
    return error.code()
