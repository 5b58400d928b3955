"""Serves helloworld.Greeter over gRPC.

Run it with `python -m helloworld.server [--host HOST] [--port PORT]` (`--help`
lists the other options). It prints the address it bound (so `--port 0` tells
you the free port it got) and stops gracefully on Ctrl-C or SIGTERM, letting
calls in flight finish.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Sequence
from concurrent import futures
from types import FrameType

import grpc

from helloworld.generated import helloworld_pb2_grpc
from helloworld.servicer import GreeterServicer

DEFAULT_HOST = "[::]"
DEFAULT_PORT = 50051
MAX_WORKERS = 10
MAX_MESSAGE_BYTES = 4194304
SHUTDOWN_GRACE_SECONDS = 5.0


def create_server(
    address: str,
    max_workers: int = MAX_WORKERS,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
) -> tuple[grpc.Server, int]:
    """A server with every service registered and bound to `address`, and the port it bound.

    Tests pass "127.0.0.1:0" to get a free port; start and stop the server yourself.
    """
    options = [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
    ]
    executor = futures.ThreadPoolExecutor(max_workers=max_workers)
    server = grpc.server(executor, options=options)
    helloworld_pb2_grpc.add_GreeterServicer_to_server(GreeterServicer(), server)
    port = server.add_insecure_port(address)
    return server, port


def serve(
    host: str,
    port: int,
    max_workers: int = MAX_WORKERS,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    grace_seconds: float = SHUTDOWN_GRACE_SECONDS,
) -> None:
    """Serves until SIGINT or SIGTERM, then stops accepting calls and drains the running ones."""
    server, bound_port = create_server(
        f"{host}:{port}",
        max_workers,
        max_message_bytes,
    )
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    server.start()
    print(f"Server listening on {host}:{bound_port}", flush=True)
    stop.wait()
    server.stop(grace_seconds).wait()
    print("Server stopped", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve helloworld over gRPC.")
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port to bind, 0 for any free one (default: %(default)s)",
    )
    parser.add_argument(
        "--max-workers",
        type=int,
        default=MAX_WORKERS,
        help="threads serving calls (default: %(default)s)",
    )
    parser.add_argument(
        "--max-message-bytes",
        type=int,
        default=MAX_MESSAGE_BYTES,
        help="largest message sent or received (default: %(default)s)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=SHUTDOWN_GRACE_SECONDS,
        help="seconds calls in flight get to finish on shutdown (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    serve(
        args.host,
        args.port,
        args.max_workers,
        args.max_message_bytes,
        args.grace,
    )


if __name__ == "__main__":
    main()
