"""How the server of route_guide runs: its flags, settings, interceptors, TLS and shutdown.

`route_guide.server` composes it: `parse_flags` reads the settings from
the command line, `create_server` builds a server that `add_services` fills,
`run` serves until SIGINT or SIGTERM and then drains the calls in flight.
Each call passes scaffold's interceptors (`interceptors.server_interceptors`:
the access log and the error mapping, in that order), then yours.

scaffold rewrites this module on every `scaffold gen`: do not edit it.
"""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass
from types import FrameType
from typing import TypeVar

import grpc

from route_guide.generated.runtime import logs
from route_guide.generated.runtime.interceptors import (
    flush_observers,
    server_interceptors,
)
from route_guide.generated.runtime.tls import (
    ServerCertificates,
    TlsError,
    readable_file,
)

DEFAULT_HOST = "[::]"
DEFAULT_PORT = 50051
MAX_WORKERS = 10
MAX_MESSAGE_BYTES = 4194304
SHUTDOWN_GRACE_SECONDS = 5.0
# Behind a load balancer or NAT that drops idle connections, ping clients this often to keep
# their connections open (0: never, grpc's default).
KEEPALIVE_SECONDS = 0.0
# Behind an L4 load balancer, make clients reconnect this often so that they spread to replicas
# added since (0: connections live for ever, grpc's default).
MAX_CONNECTION_AGE_SECONDS = 0.0
TLS_REQUIRED = False
ACCESS_LOG = True
LOG_FORMAT = "text"

AddServices = Callable[[grpc.Server], None]
"""Registers the project's services with a server (`route_guide.server.add_services`)."""
Interceptors = Sequence[grpc.ServerInterceptor]

Number = TypeVar("Number", int, float)


def in_range(kind: type[Number], low: Number, high: Number) -> Callable[[str], Number]:
    """An argparse type: a number from `low` to `high` (nan and inf are neither)."""

    def parse(text: str) -> Number:
        value = kind(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not from {low} to {high}")
        return value

    # argparse's "invalid int value: 'x'" names the type by it.
    parse.__name__ = kind.__name__
    return parse


class BindError(Exception):
    """An address the server cannot listen on; the message says which, and why."""


@dataclass(frozen=True)
class Settings:
    """How the server runs: the defaults are `[tool.scaffold]`'s, `parse_flags` reads each from a flag.

    `access_log` and `error_mapping` turn scaffold's interceptors off, for yours to take their place."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    max_workers: int = MAX_WORKERS
    max_message_bytes: int = MAX_MESSAGE_BYTES
    grace_seconds: float = SHUTDOWN_GRACE_SECONDS
    keepalive_seconds: float = KEEPALIVE_SECONDS
    max_connection_age_seconds: float = MAX_CONNECTION_AGE_SECONDS
    reuse_port: bool = False
    certificates: ServerCertificates | None = None
    access_log: bool = ACCESS_LOG
    log_format: str = LOG_FORMAT
    error_mapping: bool = True


def server_options(settings: Settings) -> list[tuple[str, int]]:
    """grpc's options for `settings`: message limits, port sharing, keepalive, connection age."""
    options = [
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        # grpc sets SO_REUSEPORT unless told not to: a second server would share a busy port.
        ("grpc.so_reuseport", int(settings.reuse_port)),
    ]
    if settings.keepalive_seconds:
        options += [
            ("grpc.keepalive_time_ms", int(settings.keepalive_seconds * 1000)),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_pings_without_data", 0),
        ]
    if settings.max_connection_age_seconds:
        age_ms = int(settings.max_connection_age_seconds * 1000)
        options += [
            ("grpc.max_connection_age_ms", age_ms),
            ("grpc.max_connection_age_grace_ms", int(settings.grace_seconds * 1000)),
        ]
    return options


def create_server(
    address: str,
    add_services: AddServices,
    settings: Settings | None = None,
    interceptors: Interceptors = (),
) -> tuple[grpc.Server, int]:
    """A server bound to `address` with the services `add_services` registers, and the port it bound.

    Each call passes scaffold's interceptors, as `settings` asks for them, then `interceptors`.
    Tests pass "127.0.0.1:0" to get a free port; start and stop the server yourself.
    """
    settings = settings or Settings()
    chain = call_interceptors(settings, interceptors)
    options = server_options(settings)
    executor = futures.ThreadPoolExecutor(max_workers=settings.max_workers)
    server = grpc.server(executor, interceptors=chain, options=options)
    add_services(server)
    if not settings.reuse_port:
        refuse_busy_port(address)
    try:
        if settings.certificates is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, settings.certificates.credentials())
    except RuntimeError:
        raise BindError(f"cannot bind {address}") from None
    return server, port


def call_interceptors(
    settings: Settings, interceptors: Interceptors = ()
) -> list[grpc.ServerInterceptor]:
    """What each call passes, outermost first: scaffold's interceptors as `settings` asks, then `interceptors`."""
    chain = server_interceptors(
        settings.access_log,
        settings.log_format,
        settings.error_mapping,
    )
    chain.extend(interceptors)
    return chain


def refuse_busy_port(address: str) -> None:
    """Raises BindError when a socket already listens on `address`.

    Checked before grpc binds, because grpc would first log an error of its own
    from C, and would share the port, not fail, if the other server allows it.
    """
    host, _, port = address.rpartition(":")
    try:
        family, kind, protocol, _, bound = socket.getaddrinfo(
            host.strip("[]") or None,
            int(port),
            type=socket.SOCK_STREAM,
            flags=socket.AI_PASSIVE,
        )[0]
    except (OSError, ValueError):
        return  # grpc says what it makes of this address
    with socket.socket(family, kind, protocol) as probe:
        # As grpc does: a connection of an earlier server in TIME_WAIT is no conflict.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(bound)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise BindError(f"address already in use: {address}") from None


def serve(
    settings: Settings, add_services: AddServices, interceptors: Interceptors = ()
) -> None:
    """Serves until SIGINT or SIGTERM, then stops accepting calls and drains the running ones."""
    address = f"{settings.host}:{settings.port}"
    server, bound_port = create_server(address, add_services, settings, interceptors)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    server.start()
    if settings.certificates is not None:
        mutual = settings.certificates.client_ca is not None
        said = "TLS on, client certificates required" if mutual else "TLS on"
        logs.announce(said, settings.log_format, client_certificates=mutual)
    listening = f"Server listening on {settings.host}:{bound_port}"
    logs.announce(listening, settings.log_format, host=settings.host, port=bound_port)
    stop.wait()
    server.stop(settings.grace_seconds).wait()
    flush_observers()  # the access lines of the last calls before the last line
    logs.announce("Server stopped", settings.log_format)


def run(
    settings: Settings, add_services: AddServices, interceptors: Interceptors = ()
) -> None:
    """Serves as `serve` does; an address it cannot bind ends the program with one line."""
    try:
        serve(settings, add_services, interceptors)
    except BindError as error:
        sys.exit(str(error))


def parse_flags(argv: Sequence[str] | None = None) -> Settings:
    """The settings the command line asks for (`--help` lists the flags); a bad one ends the program."""
    parser = argparse.ArgumentParser(description="Serve route_guide over gRPC.")
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=in_range(int, 0, 65535),
        default=DEFAULT_PORT,
        help="port to bind, 0 for any free one (default: %(default)s)",
    )
    parser.add_argument(
        "--reuse-port",
        action="store_true",
        help="share the port with other servers on it (SO_REUSEPORT)",
    )
    parser.add_argument(
        "--max-workers",
        type=in_range(int, 1, 10000),
        default=MAX_WORKERS,
        help="threads serving calls (default: %(default)s)",
    )
    parser.add_argument(
        "--max-message-bytes",
        type=in_range(int, 1, 2147483647),
        default=MAX_MESSAGE_BYTES,
        help="largest message sent or received (default: %(default)s)",
    )
    parser.add_argument(
        "--grace",
        type=in_range(float, 0, 86400),
        default=SHUTDOWN_GRACE_SECONDS,
        help="seconds calls in flight get to finish on shutdown (default: %(default)s)",
    )
    parser.add_argument(
        "--keepalive-seconds",
        type=in_range(float, 0, 86400),
        default=KEEPALIVE_SECONDS,
        help="ping idle connections this often, 0 never (default: %(default)s)",
    )
    parser.add_argument(
        "--max-connection-age-seconds",
        type=in_range(float, 0, 31536000),
        default=MAX_CONNECTION_AGE_SECONDS,
        help="make clients reconnect this often, 0 never (default: %(default)s)",
    )
    parser.add_argument(
        "--tls-cert", type=readable_file, help="PEM certificate (chain) to serve with"
    )
    parser.add_argument(
        "--tls-key", type=readable_file, help="PEM private key of --tls-cert"
    )
    parser.add_argument(
        "--tls-client-ca",
        type=readable_file,
        help="PEM CA that client certificates must be signed by (mTLS)",
    )
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=ACCESS_LOG,
        help="log one line per call (default: %(default)s)",
    )
    parser.add_argument(
        "--log-format",
        choices=logs.FORMATS,
        default=LOG_FORMAT,
        help="log lines as (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    return Settings(
        host=args.host,
        port=args.port,
        max_workers=args.max_workers,
        max_message_bytes=args.max_message_bytes,
        grace_seconds=args.grace,
        keepalive_seconds=args.keepalive_seconds,
        max_connection_age_seconds=args.max_connection_age_seconds,
        reuse_port=args.reuse_port,
        certificates=certificates(parser, args),
        access_log=args.access_log,
        log_format=args.log_format,
    )


def configure_logging(log_format: str) -> None:
    """INFO and above on stderr, as `log_format` says; a logging configuration made before this wins."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(logs.JsonLines())
        logs.capture_uncaught()
        logs.relay_stderr()  # grpc's own lines, and all others on stderr, too
    else:
        handler.setFormatter(logging.Formatter(logs.TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # The access log makes a record per call: leave out what no format here prints
    # (Python's logging documentation advises this where logging must be fast).
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


def certificates(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> ServerCertificates | None:
    """The TLS files the flags name, checked now: a server that starts serves them."""
    if args.tls_cert is None and args.tls_key is None:
        if TLS_REQUIRED:
            parser.error("--tls-cert and --tls-key are required: the project sets tls")
        if args.tls_client_ca is not None:
            parser.error("--tls-client-ca needs --tls-cert and --tls-key")
        return None
    if args.tls_cert is None or args.tls_key is None:
        parser.error("--tls-cert and --tls-key go together")
    try:
        return ServerCertificates(args.tls_cert, args.tls_key, args.tls_client_ca)
    except TlsError as error:
        parser.error(str(error))
