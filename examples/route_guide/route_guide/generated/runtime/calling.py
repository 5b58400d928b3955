"""How the clients of route_guide connect: the channel, its retry policy, the flags.

`main` runs a client module of yours (`python -m route_guide.client`): it
reads the flags (`--target`, `--tls` with `--ca`, `--cert` and `--key`), waits
for the server, turning a failed TLS handshake into the flag that would fix
it, then makes each call the module lists and prints a failure as its status.

scaffold rewrites this module on every `scaffold gen`: do not edit it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence

import grpc
from google.protobuf import message, text_format

from route_guide.generated.runtime.tls import (
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
# grpc's service config for the calls of this project. `waitForReady`: a call made while the
# server is unreachable waits for it (up to its timeout) instead of failing at once. The
# retry policy: a call that fails with UNAVAILABLE (a server restarting, a connection lost)
# is made again, up to 4 attempts in all, after about 0.1 s, 0.2 s, 0.4 s. grpc retries
# only calls it can replay: the unary and server-streaming ones are listed for it.
SERVICE_CONFIG: dict[str, list[dict[str, object]]] = {
    "methodConfig": [
        {
            "name": [
                {"service": "routeguide.RouteGuide", "method": "GetFeature"},
                {"service": "routeguide.RouteGuide", "method": "ListFeatures"},
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
                {"service": "routeguide.RouteGuide"},
            ],
            "waitForReady": True,
        },
    ]
}

Channel = grpc.Channel
Call = tuple[str, Callable[[], None]]
"""One call a client module makes: the RPC's name, and a function that makes it."""
Calls = Callable[[Channel], Sequence[Call]]
"""A client module's `calls`: the calls to make over a channel, in order."""


def create_channel(
    target: str, credentials: grpc.ChannelCredentials | None = None
) -> grpc.Channel:
    """A channel to `target` that follows SERVICE_CONFIG; TLS with `credentials`
    (see `tls.channel_credentials`), plaintext without."""
    options = [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
    ]
    if credentials is None:
        return grpc.insecure_channel(target, options=options)
    return grpc.secure_channel(target, credentials, options=options)


def show(response: message.Message) -> str:
    """A response on one line, as its type and its fields in protobuf's text format."""
    return f"{type(response).__name__}({text_format.MessageToString(response, as_one_line=True)})"


def main(calls: Calls, argv: Sequence[str] | None = None) -> int:
    """Makes every call of `calls` once, printing what came back; 1 if any failed."""
    parser = arguments()
    args = parser.parse_args(argv)
    tls = credentials(parser, args)
    threading.excepthook = _without_grpcs_closed_channel_poll(threading.excepthook)
    channel = create_channel(args.target, tls)
    with grpc_logs_kept_out(unless=args.verbose):
        problem = connect(channel, args.target, tls is not None, args.cert is not None)
        if problem is not None:
            channel.close()
    if problem is not None:
        print(problem)
        return 1
    with channel:
        succeeded = [_attempt(name, call) for name, call in calls(channel)]
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


def _without_grpcs_closed_channel_poll(
    hook: Callable[[threading.ExceptHookArgs], object],
) -> Callable[[threading.ExceptHookArgs], object]:
    """`hook`, but for grpc's own race on close: the thread `channel.subscribe` starts can
    poll once more after the channel closed, and raise `ValueError: Cannot monitor channel
    state: Channel closed!` (seen on a busy machine, when `connect` fails and the channel
    is closed at once). The client has said its line by then; nothing is lost."""

    def quieter(args: threading.ExceptHookArgs) -> object:
        error = args.exc_value
        closed = isinstance(error, ValueError) and "Channel closed!" in str(error)
        return None if closed else hook(args)

    return quieter


def _describe(error: grpc.RpcError) -> str:
    if isinstance(error, grpc.Call):
        return f"{error.code().name}: {error.details()}"
    return str(error)


@contextlib.contextmanager
def grpc_logs_kept_out(unless: bool) -> Iterator[None]:
    """grpc's C core logs each failed TLS handshake on stderr, and reads GRPC_VERBOSITY only as
    grpc loads, too early for a flag: while a connection is made, its lines go nowhere (unless
    `unless`, -v, or a GRPC_VERBOSITY of yours); `connect` says what went wrong in one line."""
    if unless or "GRPC_VERBOSITY" in os.environ:
        yield
        return
    sys.stderr.flush()
    kept = os.dup(2)
    with open(os.devnull, "wb") as nowhere:
        os.dup2(nowhere.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(kept, 2)
        os.close(kept)


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Call every RPC of route_guide once.")
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
