"""`scaffold call`: one RPC from the command line, with completion of method names.

Typer reads what `scaffold.cli.calling` leaves to it (help, completion, every form it does not read
itself); both make the call with `calling.perform`."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from scaffold.cli import calling
from scaffold.cli.common import VERBOSE, ProjectDir, verbosity


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
    arguments = calling.CallArgs(
        method,
        data,
        target,
        tuple(header or ()),
        timeout,
        emit_defaults,
        tuple(proto or ()),
        tuple(include or ()),
        reflect,
        tls,
        ca,
        cert,
        key,
        protocol.value,
        project,
        verbose=verbosity() >= VERBOSE,
    )
    code = calling.perform(arguments)
    if code:
        raise typer.Exit(code)
