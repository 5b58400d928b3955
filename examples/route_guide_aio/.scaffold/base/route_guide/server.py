"""Serves routeguide.RouteGuide over gRPC with asyncio.

Run it with `python -m route_guide.server [--host HOST] [--port PORT]`. It prints
the address it bound (so `--port 0` tells you the free port it got) and stops
gracefully on Ctrl-C or SIGTERM, letting calls in flight finish.
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
SHUTDOWN_GRACE_SECONDS = 5.0


def create_server(address: str) -> tuple[grpc.aio.Server, int]:
    """A server with every service registered and bound to `address`, and the port it bound.

    Tests pass "127.0.0.1:0" to get a free port; start and stop the server yourself.
    """
    server = grpc.aio.server()
    route_guide_pb2_grpc.add_RouteGuideServicer_to_server(RouteGuideServicer(), server)
    port = server.add_insecure_port(address)
    return server, port


async def serve(host: str, port: int) -> None:
    """Serves until SIGINT or SIGTERM, then stops accepting calls and drains the running ones."""
    server, bound_port = create_server(f"{host}:{port}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await server.start()
    print(f"Server listening on {host}:{bound_port}", flush=True)
    await stop.wait()
    await server.stop(SHUTDOWN_GRACE_SECONDS)
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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
