"""Greets through the generated stubs over a real loopback connection."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helloworld.generated import helloworld_pb2, helloworld_pb2_grpc
from helloworld.generated.runtime.testing import served_channel
from helloworld.server import create_server

TIMEOUT_SECONDS = 10.0


@pytest.fixture(scope="module")
def greeter_stub() -> Iterator[helloworld_pb2_grpc.GreeterStub]:
    with served_channel(create_server) as channel:
        yield helloworld_pb2_grpc.GreeterStub(channel)


@pytest.mark.parametrize("name", ["you", "", "Zoë"])
def test_say_hello(greeter_stub: helloworld_pb2_grpc.GreeterStub, name: str) -> None:
    request = helloworld_pb2.HelloRequest(name=name)
    reply = greeter_stub.SayHello(request, timeout=TIMEOUT_SECONDS)
    assert reply.message == f"Hello, {name}!"


def test_say_hello_again(greeter_stub: helloworld_pb2_grpc.GreeterStub) -> None:
    request = helloworld_pb2.HelloRequest(name="you")
    reply = greeter_stub.SayHelloAgain(request, timeout=TIMEOUT_SECONDS)
    assert reply.message == "Hello again, you!"
