"""Greets "you" twice, printing what gRPC's own helloworld client prints.

Run it against a server with `python -m helloworld.client [--target HOST:PORT]`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

import grpc

from helloworld.generated import helloworld_pb2, helloworld_pb2_grpc

DEFAULT_TARGET = "localhost:50051"
TIMEOUT_SECONDS = 10.0
# grpc's service config for the calls of this client. `waitForReady`: a call made while the
# server is unreachable waits for it (up to its timeout) instead of failing at once. The
# retry policy: a call that fails with UNAVAILABLE (a server restarting, a connection lost)
# is made again, up to 4 attempts in all, after about 0.1 s, 0.2 s, 0.4 s. grpc retries
# only calls it can replay: the unary and server-streaming ones are listed for it.
SERVICE_CONFIG: dict[str, list[dict[str, object]]] = {
    "methodConfig": [
        {
            "name": [
                {"service": "helloworld.Greeter", "method": "SayHello"},
                {"service": "helloworld.Greeter", "method": "SayHelloAgain"},
            ],
            "waitForReady": True,
            "retryPolicy": {
                "maxAttempts": 4,
                "initialBackoff": "0.1s",
                "maxBackoff": "1s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        },
        {
            "name": [
                {"service": "helloworld.Greeter"},
            ],
            "waitForReady": True,
        },
    ]
}


def create_channel(
    target: str, credentials: grpc.ChannelCredentials | None = None
) -> grpc.Channel:
    """A channel to `target` that follows SERVICE_CONFIG; TLS with `credentials`
    (see `helloworld.tls.channel_credentials`), plaintext without."""
    options = [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
    ]
    if credentials is None:
        return grpc.insecure_channel(target, options=options)
    return grpc.secure_channel(target, credentials, options=options)


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
    with create_channel(args.target) as channel:
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
