"""`scaffold call`: one RPC from the command line, with completion of method names."""

from __future__ import annotations

import enum
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
import typer.core

from scaffold.cli.common import (
    VERBOSE,
    ProjectDir,
    _include_dirs,
    _project,
    _run,
    verbosity,
)
from scaffold.core.errors import EXIT_NEEDS_USER


class Protocol(str, enum.Enum):
    grpc = "grpc"
    connect = "connect"
    grpc_web = "grpc-web"
    http = "http"


def _method_names(incomplete: str) -> list[str]:
    """Tab completion of `scaffold call METHOD`: the project's methods, from its descriptors."""
    try:
        from scaffold.generation import project
        from scaffold.generation.configfile import find_project
        from scaffold.live import methods

        inputs = project.load(find_project(Path.cwd()), for_generation=False)
        names = methods.method_names(project.descriptors(inputs), [item.name for item in inputs.protos])
    except Exception:  # noqa: BLE001 - completion must never print a traceback into the user's shell
        return []
    spellings = sorted({form for name in names for form in (name, name.partition("/")[2])})
    return [name for name in spellings if name.startswith(incomplete)]


def call_command(
    method: Annotated[
        str,
        typer.Argument(
            help="package.Service/Method, Service/Method, or Method when unambiguous.",
            show_default=False,
            autocompletion=_method_names,
        ),
    ],
    data: Annotated[
        str | None,
        typer.Option(
            "-d", "--data", help="The request as JSON; @FILE or @- (stdin): one JSON document per line for streams."
        ),
    ] = None,
    target: Annotated[str, typer.Option("--target", help="The server, HOST:PORT.")] = "localhost:50051",
    header: Annotated[
        list[str] | None, typer.Option("-H", "--header", help="Metadata sent with the call, KEY:VALUE (repeatable).")
    ] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Deadline of the call, in seconds.")] = None,
    emit_defaults: Annotated[
        bool, typer.Option("--emit-defaults", help="Print fields that hold their default value too.")
    ] = False,
    proto: Annotated[
        list[Path] | None,
        typer.Option("--proto", help="Outside a project: the .proto that defines the method (repeatable)."),
    ] = None,
    include: Annotated[
        list[Path] | None, typer.Option("--proto-path", "-I", help="With --proto: a directory to search for imports.")
    ] = None,
    reflect: Annotated[
        bool, typer.Option("--reflect", help="Ask the server for its descriptors (server reflection).")
    ] = False,
    tls: Annotated[bool, typer.Option("--tls", help="Call over TLS (the default is plaintext).")] = False,
    ca: Annotated[Path | None, typer.Option("--ca", help="With --tls: the CA certificate to trust.")] = None,
    cert: Annotated[Path | None, typer.Option("--cert", help="With --tls: a client certificate (mTLS).")] = None,
    key: Annotated[Path | None, typer.Option("--key", help="With --cert: its private key.")] = None,
    protocol: Annotated[
        Protocol,
        typer.Option(
            "--protocol",
            help="gRPC, or over a `web = true` server's HTTP port (--target): Connect, gRPC-Web, "
            "or the method's REST route (http).",
        ),
    ] = Protocol.grpc,
    project: ProjectDir = None,
) -> None:
    """Call one RPC with JSON: responses printed as JSON, one per line (grpcurl, from the project's descriptors)."""
    _quiet_grpc()
    import grpc  # loaded by now: `scaffold.live.call` calls through it

    from scaffold.live import call, connection, methods, request

    credentials = _run(lambda: connection.credentials(tls, ca, cert, key))
    root = None if proto or reflect else _project(project)
    include_dirs = _include_dirs(include)
    files, names = _run(lambda: methods.descriptors_for(root, proto or (), include_dirs, reflect, target, credentials))
    chosen = _run(lambda: methods.find_method(methods.pool_of(files), names, method))
    metadata = _run(lambda: [connection.header(h) for h in header or ()])
    options = call.Options(target, metadata, timeout, emit_defaults, credentials)
    origin = "-d" if not data or not data.startswith("@") else "<stdin>" if data == "@-" else data[1:]
    if protocol != Protocol.grpc:
        from scaffold.live import webcall

        try:
            _run(lambda: webcall.invoke(chosen, request.read_data(data), options, protocol.value, origin=origin))
        except webcall.WebCallError as error:
            typer.echo(f"{error.code}: {error.details}", err=True)
            raise typer.Exit(EXIT_NEEDS_USER) from None
        return
    try:
        _run(lambda: call.invoke(chosen, request.read_data(data), options, origin=origin))
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as other command-line tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except grpc.RpcError as error:
        typer.echo(connection.failure_line(error, target, credentials is not None, cert is not None), err=True)
        raise typer.Exit(EXIT_NEEDS_USER) from None


def _quiet_grpc() -> None:
    """grpc's C core reads GRPC_VERBOSITY once, as grpc loads: unless -v, its own log lines (one per
    failed TLS handshake) stay out of the output, which says in one line what failed. The user's value wins."""
    if verbosity() < VERBOSE:
        os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
