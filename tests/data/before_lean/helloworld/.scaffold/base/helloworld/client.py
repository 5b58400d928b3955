"""Calls every RPC of helloworld.Greeter the way its shape demands.

Run it against a server with `python -m helloworld.client [--target HOST:PORT]`
(`--tls`, with `--ca`, `--cert` and `--key` as needed, for a server with TLS).
Each function below shows one RPC's call shape: copy the one you need, fill in
the requests, and handle `grpc.RpcError` where a call can fail. Your own code
gets a channel with the same retry policy from `create_channel`.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__" and not {"-v", "--verbose"} & set(sys.argv):
    # grpc's C core reads GRPC_VERBOSITY once, as grpc loads: run as a program, its own log lines
    # (one per failed TLS handshake) stay out unless -v; a failure is said in one line below.
    # A GRPC_VERBOSITY of yours wins.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

import argparse
import json
import queue
import time
from collections.abc import Callable, Sequence
from functools import partial

import grpc
from google.protobuf import message, text_format

from helloworld.generated import helloworld_pb2, helloworld_pb2_grpc
from helloworld.tls import (
    TlsError,
    channel_credentials,
    connection_advice,
    readable_file,
)

DEFAULT_TARGET = "localhost:50051"
CONNECT_TIMEOUT_SECONDS = 5.0
# A method no server has: a call to it that does not wait for a connection fails at once, with
# grpc's reason for the last failed one (a TLS handshake, say), which `connect` turns into advice.
PROBE_METHOD = "/scaffold.Probe/Connection"
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
    parser = arguments()
    args = parser.parse_args(argv)
    tls = credentials(parser, args)
    with create_channel(args.target, tls) as channel:
        problem = connect(channel, args.target, tls is not None, args.cert is not None)
        if problem is not None:
            print(problem)
            return 1
        greeter_stub = helloworld_pb2_grpc.GreeterStub(channel)
        succeeded = [
            _attempt("SayHello", partial(say_hello, greeter_stub)),
            _attempt("SayHelloAgain", partial(say_hello_again, greeter_stub)),
        ]
    return 0 if all(succeeded) else 1


def connect(
    channel: grpc.Channel, target: str, tls: bool, client_cert: bool = False
) -> str | None:
    """None once the server at `target` answers; else why not, in one line that says what to pass.

    A server still starting is waited for (up to CONNECT_TIMEOUT_SECONDS), but a failed TLS
    handshake ends the wait at once: no retry fixes it, and grpc would only say UNAVAILABLE."""
    states: queue.Queue[grpc.ChannelConnectivity] = queue.Queue()
    observe = states.put
    channel.subscribe(observe, try_to_connect=True)
    deadline = time.monotonic() + CONNECT_TIMEOUT_SECONDS
    try:
        while (left := deadline - time.monotonic()) > 0:
            try:
                state = states.get(timeout=left)
            except queue.Empty:
                break
            if state is grpc.ChannelConnectivity.READY:
                return None
            if state is grpc.ChannelConnectivity.TRANSIENT_FAILURE:
                advice = _advice(channel, target, tls, client_cert)
                if advice is not None:
                    return advice
    finally:
        channel.unsubscribe(observe)
    advice = _advice(channel, target, tls, client_cert)
    return advice or f"No server answered at {target}"


def _advice(
    channel: grpc.Channel, target: str, tls: bool, client_cert: bool
) -> str | None:
    """What the last failed connection says, as the flag that would fix it; None if no flag would."""
    probe: grpc.UnaryUnaryMultiCallable[bytes, bytes]
    probe = channel.unary_unary(PROBE_METHOD)
    try:
        probe(b"", timeout=CONNECT_TIMEOUT_SECONDS, wait_for_ready=False)
    except grpc.RpcError as error:
        return connection_advice(target, _describe(error), tls, client_cert)
    return None


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


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Call every RPC of helloworld once.")
    parser.add_argument(
        "--target", default=DEFAULT_TARGET, help="server address (default: %(default)s)"
    )
    parser.add_argument("--tls", action="store_true", help="connect with TLS")
    parser.add_argument(
        "--ca",
        type=readable_file,
        help="PEM CA to check the server with (implies --tls)",
    )
    parser.add_argument(
        "--cert",
        type=readable_file,
        help="PEM client certificate, for mTLS (implies --tls)",
    )
    parser.add_argument("--key", type=readable_file, help="PEM private key of --cert")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also show grpc's own log lines (TLS handshakes)",
    )
    return parser


def credentials(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> grpc.ChannelCredentials | None:
    """TLS credentials from the flags, None for plaintext; a bad file ends the program."""
    if not (args.tls or args.ca or args.cert or args.key):
        return None
    try:
        return channel_credentials(args.ca, args.cert, args.key)
    except TlsError as error:
        parser.error(str(error))


def _show(response: message.Message) -> str:
    return f"{type(response).__name__}({text_format.MessageToString(response, as_one_line=True)})"


if __name__ == "__main__":
    raise SystemExit(main())
