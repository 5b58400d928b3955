"""What the tests of route_guide share: a server on a free loopback port, a call's status.

scaffold rewrites this module on every `scaffold gen`: do not edit it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import grpc

from route_guide.generated.runtime.interceptors import flush_observers

CreateServer = Callable[[str], tuple[grpc.Server, int]]
"""`route_guide.server.create_server`: a server bound to an address, and its port."""


@contextlib.contextmanager
def served_channel(create_server: CreateServer) -> Iterator[grpc.Channel]:
    """A channel to a server `create_server` starts on a free loopback port, stopped on exit."""
    server, port = create_server("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
    finally:
        server.stop(None)
        flush_observers()  # what the access log and metrics say of every call, written


def status_of(error: grpc.RpcError) -> grpc.StatusCode:
    """The status a failed call ended with."""
    assert isinstance(error, grpc.Call)
    return error.code()
