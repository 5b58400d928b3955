"""Calls every RPC of helloworld.Greeter the way its shape demands.

`python -m helloworld.client --help`. Copy the call you need; for a channel with the
same retry policy, `calling.create_channel`."""

from __future__ import annotations

from functools import partial

from helloworld.generated import helloworld_pb2, helloworld_pb2_grpc
from helloworld.generated.runtime import calling

TIMEOUT_SECONDS = 10.0


def say_hello(stub: helloworld_pb2_grpc.GreeterStub) -> None:
    """Answers with a greeting for the name in the request."""
    request = helloworld_pb2.HelloRequest()  # TODO: fill in the request.
    response = stub.SayHello(request, timeout=TIMEOUT_SECONDS)
    print(f"SayHello -> {calling.show(response)}")


def say_hello_again(stub: helloworld_pb2_grpc.GreeterStub) -> None:
    """Answers with a second, warmer greeting for the same name."""
    request = helloworld_pb2.HelloRequest()  # TODO: fill in the request.
    response = stub.SayHelloAgain(request, timeout=TIMEOUT_SECONDS)
    print(f"SayHelloAgain -> {calling.show(response)}")


def calls(channel: calling.Channel) -> list[calling.Call]:
    greeter_stub = helloworld_pb2_grpc.GreeterStub(channel)
    return [
        ("SayHello", partial(say_hello, greeter_stub)),
        ("SayHelloAgain", partial(say_hello_again, greeter_stub)),
    ]


if __name__ == "__main__":
    raise SystemExit(calling.main(calls))
