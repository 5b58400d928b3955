"""`scaffold new`: a runnable gRPC project from protos."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core

from scaffold.cli.common import _detail, _include_dirs, _progress_bar, _run, _say, _warnings


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
    from scaffold.api import new_project

    formatter = format.value if format else None
    bar = _progress_bar()
    report = _run(
        lambda: new_project(
            protos,
            output=output,
            include_dirs=_include_dirs(include),
            name=name,
            force=force,
            aio=aio,
            health=health,
            reflection=reflection,
            tls=tls,
            metrics=metrics,
            otel=otel,
            web=web,
            templates=templates,
            format=formatter,
            layout=layout.value if layout else None,
            progress=bar,
        )
    )
    _warnings(report.warnings)
    for path in report.paths:
        _detail(f"{'create':<9} {path}")
    for f in report.left:
        _say(f"{f.action:<9} {f.path}  ({f.note})")
    _say(f"Created {report.root}/ ({report.files} files)")
    _say("Next:")
    _say(f"  cd {report.root} && pip install -e '.[test]'")
    _say(f"  python -m {report.config.package}.server --port 50051")
    clients = "client" if report.config.layout == "single" else "clients"  # per-service: every service's calls
    _say(f"  python -m {report.config.package}.{clients} --target localhost:50051")
    _say("  pytest")
