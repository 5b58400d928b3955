"""Greets "you" twice, printing what gRPC's own helloworld client prints.

Run it against a server with `python -m helloworld.client [--target HOST:PORT]`.
"""

from __future__ import annotations

from functools import partial

from helloworld.generated import helloworld_pb2, helloworld_pb2_grpc
from helloworld.generated.runtime import calling

TIMEOUT_SECONDS = 10.0


def say_hello(stub: helloworld_pb2_grpc.GreeterStub, name: str) -> None:
    """Unary call, blocking until the reply arrives."""
    request = helloworld_pb2.HelloRequest(name=name)
    reply = stub.SayHello(request, timeout=TIMEOUT_SECONDS)
    print(f"Greeter client received: {reply.message}")


def say_hello_again(stub: helloworld_pb2_grpc.GreeterStub, name: str) -> None:
    """The same call through a future, which could be awaited later or elsewhere."""
    request = helloworld_pb2.HelloRequest(name=name)
    future = stub.SayHelloAgain.future(request, timeout=TIMEOUT_SECONDS)
    print(f"Greeter client received: {future.result().message}")


def calls(channel: calling.Channel) -> list[calling.Call]:
    print("Will try to greet world ...")
    stub = helloworld_pb2_grpc.GreeterStub(channel)
    return [
        ("SayHello", partial(say_hello, stub, "you")),
        ("SayHelloAgain", partial(say_hello_again, stub, "you")),
    ]


if __name__ == "__main__":
    raise SystemExit(calling.main(calls))
