"""Every RPC over a loopback connection: once one is implemented, assert what it answers."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from helloworld.generated import helloworld_pb2, helloworld_pb2_grpc
from helloworld.generated.runtime.testing import served_channel, status_of
from helloworld.server import create_server

TIMEOUT_SECONDS = 10.0


@pytest.fixture(scope="module")
def greeter_stub() -> Iterator[helloworld_pb2_grpc.GreeterStub]:
    with served_channel(create_server) as channel:
        yield helloworld_pb2_grpc.GreeterStub(channel)


def test_say_hello(greeter_stub: helloworld_pb2_grpc.GreeterStub) -> None:
    request = helloworld_pb2.HelloRequest()
    with pytest.raises(grpc.RpcError) as raised:
        greeter_stub.SayHello(request, timeout=TIMEOUT_SECONDS)
    assert status_of(raised.value) == grpc.StatusCode.UNIMPLEMENTED


def test_say_hello_again(greeter_stub: helloworld_pb2_grpc.GreeterStub) -> None:
    request = helloworld_pb2.HelloRequest()
    with pytest.raises(grpc.RpcError) as raised:
        greeter_stub.SayHelloAgain(request, timeout=TIMEOUT_SECONDS)
    assert status_of(raised.value) == grpc.StatusCode.UNIMPLEMENTED
