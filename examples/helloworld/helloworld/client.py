"""Greets "you" twice, printing what gRPC's own helloworld client prints.

Run it against a server with `python -m helloworld.client [--target HOST:PORT]`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import grpc

from helloworld.generated import helloworld_pb2, helloworld_pb2_grpc

DEFAULT_TARGET = "localhost:50051"
TIMEOUT_SECONDS = 10.0


def say_hello(stub: helloworld_pb2_grpc.GreeterStub, name: str) -> str:
    """Unary call, blocking until the reply arrives."""
    request = helloworld_pb2.HelloRequest(name=name)
    reply = stub.SayHello(request, timeout=TIMEOUT_SECONDS)
    return reply.message


def say_hello_again(stub: helloworld_pb2_grpc.GreeterStub, name: str) -> str:
    """The same call through a future, which could be awaited later or elsewhere."""
    request = helloworld_pb2.HelloRequest(name=name)
    future = stub.SayHelloAgain.future(request, timeout=TIMEOUT_SECONDS)
    return future.result().message


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Greet the helloworld server.")
    parser.add_argument(
        "--target", default=DEFAULT_TARGET, help="server address (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    print("Will try to greet world ...")
    with grpc.insecure_channel(args.target) as channel:
        stub = helloworld_pb2_grpc.GreeterStub(channel)
        try:
            print("Greeter client received: " + say_hello(stub, "you"))
            print("Greeter client received: " + say_hello_again(stub, "you"))
        except grpc.RpcError as error:
            status = error.code().name if isinstance(error, grpc.Call) else "ERROR"
            print(f"Greeter client failed: {status}: {error}")
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
