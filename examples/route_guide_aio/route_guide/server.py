"""Serves routeguide.RouteGuide over gRPC with asyncio.

Run it with `python -m route_guide.server [--host HOST] [--port PORT]` (`--help`
lists the other options). It prints the address it bound (so `--port 0` tells
you the free port it got) and stops gracefully on Ctrl-C or SIGTERM, letting
calls in flight finish.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Sequence

import grpc
import grpc.aio

from route_guide.generated import route_guide_pb2_grpc
from route_guide.servicer import RouteGuideServicer

DEFAULT_HOST = "[::]"
DEFAULT_PORT = 50051
MAX_MESSAGE_BYTES = 4194304
SHUTDOWN_GRACE_SECONDS = 5.0


def create_server(
    address: str,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
) -> tuple[grpc.aio.Server, int]:
    """A server with every service registered and bound to `address`, and the port it bound.

    Tests pass "127.0.0.1:0" to get a free port; start and stop the server yourself.
    """
    options = [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
    ]
    server = grpc.aio.server(options=options)
    route_guide_pb2_grpc.add_RouteGuideServicer_to_server(RouteGuideServicer(), server)
    port = server.add_insecure_port(address)
    return server, port


async def serve(
    host: str,
    port: int,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    grace_seconds: float = SHUTDOWN_GRACE_SECONDS,
) -> None:
    """Serves until SIGINT or SIGTERM, then stops accepting calls and drains the running ones."""
    server, bound_port = create_server(
        f"{host}:{port}",
        max_message_bytes,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await server.start()
    print(f"Server listening on {host}:{bound_port}", flush=True)
    await stop.wait()
    await server.stop(grace_seconds)
    print("Server stopped", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve route_guide over gRPC.")
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
    asyncio.run(
        serve(
            args.host,
            args.port,
            args.max_message_bytes,
            args.grace,
        )
    )


if __name__ == "__main__":
    main()
