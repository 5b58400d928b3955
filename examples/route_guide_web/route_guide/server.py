"""Serves routeguide.RouteGuide over gRPC: `python -m route_guide.server --help`.

Yours: what is served, and how. The machinery (flags, TLS, access log, error mapping,
shutdown) is scaffold's, which `gen` keeps up to date: `route_guide.generated.runtime`."""

from __future__ import annotations

import grpc

from route_guide.generated import route_guide_pb2_grpc
from route_guide.generated.runtime import serving
from route_guide.servicer import RouteGuideServicer

# Yours run after scaffold's access log and error mapping; to replace those, turn them off in
# `main`: settings = dataclasses.replace(settings, access_log=False, error_mapping=False)
INTERCEPTORS: list[grpc.ServerInterceptor] = []


def add_services(server: grpc.Server) -> None:
    route_guide_pb2_grpc.add_RouteGuideServicer_to_server(RouteGuideServicer(), server)


def create_server(
    address: str, settings: serving.Settings | None = None
) -> tuple[grpc.Server, int]:
    """A server of every service bound to `address` ("127.0.0.1:0": a free port), and its port."""
    return serving.create_server(address, add_services, settings, INTERCEPTORS)


def main(argv: list[str] | None = None) -> None:
    settings = serving.parse_flags(argv)
    serving.configure_logging(settings.log_format)  # a logging setup made first wins
    serving.run(settings, add_services, INTERCEPTORS)


if __name__ == "__main__":
    main()
