"""Calls every RPC of helloworld.Greeter the way its shape demands.

Run it against a server with `python -m helloworld.client [--target HOST:PORT]`.
Each function below shows one RPC's call shape: copy the one you need, fill in
the requests, and handle `grpc.RpcError` where a call can fail.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from functools import partial

import grpc
from google.protobuf import message, text_format

from helloworld.generated import helloworld_pb2, helloworld_pb2_grpc

DEFAULT_TARGET = "localhost:50051"
CONNECT_TIMEOUT_SECONDS = 5.0
TIMEOUT_SECONDS = 10.0


def say_hello(stub: helloworld_pb2_grpc.GreeterStub) -> None:
    """Answers with a greeting for the name in the request.

    Unary call: blocking first, then through a future you could wait on later.
    """
    request = helloworld_pb2.HelloRequest()  # TODO: fill in the request.
    response = stub.SayHello(request, timeout=TIMEOUT_SECONDS)
    print(f"SayHello -> {_show(response)}")
    future = stub.SayHello.future(request, timeout=TIMEOUT_SECONDS)
    print(f"SayHello (future) -> {_show(future.result())}")


def say_hello_again(stub: helloworld_pb2_grpc.GreeterStub) -> None:
    """Answers with a second, warmer greeting for the same name.

    Unary call: blocking first, then through a future you could wait on later.
    """
    request = helloworld_pb2.HelloRequest()  # TODO: fill in the request.
    response = stub.SayHelloAgain(request, timeout=TIMEOUT_SECONDS)
    print(f"SayHelloAgain -> {_show(response)}")
    future = stub.SayHelloAgain.future(request, timeout=TIMEOUT_SECONDS)
    print(f"SayHelloAgain (future) -> {_show(future.result())}")


def main(argv: Sequence[str] | None = None) -> int:
    """Calls every RPC once and prints what came back; exits 1 if any call failed."""
    parser = argparse.ArgumentParser(description="Call every RPC of helloworld once.")
    parser.add_argument(
        "--target", default=DEFAULT_TARGET, help="server address (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    with grpc.insecure_channel(args.target) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=CONNECT_TIMEOUT_SECONDS)
        except grpc.FutureTimeoutError:
            print(f"No server answered at {args.target}")
            return 1
        greeter_stub = helloworld_pb2_grpc.GreeterStub(channel)
        succeeded = [
            _attempt("SayHello", partial(say_hello, greeter_stub)),
            _attempt("SayHelloAgain", partial(say_hello_again, greeter_stub)),
        ]
    return 0 if all(succeeded) else 1


def _attempt(rpc: str, call: Callable[[], None]) -> bool:
    """Runs one call, printing a gRPC error as its status instead of a traceback."""
    try:
        call()
    except grpc.RpcError as error:
        print(f"{rpc} failed: {_describe(error)}")
        return False
    return True


def _describe(error: grpc.RpcError) -> str:
    if isinstance(error, grpc.Call):
        return f"{error.code().name}: {error.details()}"
    return str(error)


def _show(response: message.Message) -> str:
    return f"{type(response).__name__}({text_format.MessageToString(response, as_one_line=True)})"


if __name__ == "__main__":
    raise SystemExit(main())
