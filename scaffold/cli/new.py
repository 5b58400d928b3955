"""`scaffold new` as a Typer command: its options, and `scaffold.cli.creating`, which runs it (and runs
its plain forms before Typer loads)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core

from scaffold.cli import creating


class Formatter(str, enum.Enum):
    ruff = "ruff"


class Layout(str, enum.Enum):
    single = "single"
    per_service = "per-service"


class _PlainUsage(typer.core.TyperCommand):
    """typer writes a required argument as `{PROTO...}` in the usage line; the README, click and every other
    tool write `PROTO...`, and braces read as a set of choices."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = super().collect_usage_pieces(ctx)
        return [p[1:-1] if p.startswith("{") and p.endswith("}") else p for p in pieces]


def new(
    protos: Annotated[
        list[Path],
        typer.Argument(help="The .proto files to build the project from.", show_default=False, metavar="PROTO..."),
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Project directory [default: ./NAME].", show_default=False)
    ] = None,
    include: Annotated[
        list[Path] | None, typer.Option("--proto-path", "-I", help="Directory to search for imports (repeatable).")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Python package name [default: the first proto's name].")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a directory that is not empty.")] = False,
    aio: Annotated[bool, typer.Option("--aio", help="The asyncio flavour (grpc.aio) of every file.")] = False,
    health: Annotated[bool, typer.Option("--health", help="Serve the standard gRPC health service.")] = False,
    reflection: Annotated[bool, typer.Option("--reflection", help="Serve gRPC server reflection.")] = False,
    tls: Annotated[bool, typer.Option("--tls", help="Make the server refuse to start without a certificate.")] = False,
    metrics: Annotated[bool, typer.Option("--metrics", help="Serve Prometheus metrics of every call.")] = False,
    otel: Annotated[
        bool, typer.Option("--otel", help="OpenTelemetry traces and metrics of every call, server and client.")
    ] = False,
    web: Annotated[
        bool, typer.Option("--web", help="Also serve every service to browsers and HTTP clients (Connect, gRPC-Web).")
    ] = False,
    validate: Annotated[
        bool, typer.Option("--validate", help="Validate every request with protovalidate (buf/validate rules).")
    ] = False,
    templates: Annotated[
        Path | None,
        typer.Option("--templates", help="Your own templates, searched before the built-in ones.", show_default=False),
    ] = None,
    format: Annotated[
        Formatter | None,
        typer.Option("--format", help="Format your Python files with this tool as they are rendered (needs ruff)."),
    ] = None,
    layout: Annotated[
        Layout | None,
        typer.Option(
            "--layout",
            help="One servicer, client and test module for all services, or one of each per service "
            "[default: per-service when the protos define more than one service].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create a runnable gRPC project: generated modules, servicer, server, client, tests."""
    from scaffold.generation.project import NewOptions

    options = NewOptions(
        output=output,
        include_dirs=tuple(include or ()),
        name=name,
        force=force,
        aio=aio,
        health=health,
        reflection=reflection,
        tls=tls,
        metrics=metrics,
        otel=otel,
        web=web,
        validate=validate,
        templates=templates,
        format=format.value if format else None,
        layout=layout.value if layout else None,
    )
    code = creating.create(creating.NewArgs(tuple(protos), options))
    if code:
        raise typer.Exit(code)
