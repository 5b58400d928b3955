"""The `scaffold` command: a thin layer that parses flags, calls `scaffold.api`
and turns its reports and diagnostics into lines and exit codes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scaffold import __version__
from scaffold.errors import EXIT_OK, ScaffoldError

app = typer.Typer(
    help="Turn .proto files into a working gRPC project and keep it in step with them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts contain literal [brackets]
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"scaffold {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Turn .proto files into a working gRPC project and keep it in step with them."""


@app.command()
def new(
    protos: Annotated[
        list[Path],
        typer.Argument(help="The .proto files to build the project from.", show_default=False, metavar="PROTO"),
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
) -> None:
    """Create a runnable gRPC project: generated modules, servicer, server, client, tests."""
    from scaffold.api import new_project

    report = _run(lambda: new_project(protos, output, include or (), name, force))
    for warning in report.warnings:
        typer.echo(str(warning), err=True)
    written = report.written
    typer.echo(f"Created {report.root}/ ({len(written.created)} files new, {len(written.updated)} updated)")
    typer.echo("Next:")
    typer.echo(f"  cd {report.root} && pip install -e '.[test]'")
    typer.echo(f"  python -m {report.config.package}.server --port 50051")
    typer.echo(f"  python -m {report.config.package}.client --target localhost:50051")
    typer.echo("  pytest")


def _run(action):  # type: ignore[no-untyped-def]
    """Runs a library call; its diagnostics become stderr lines and its exit code."""
    try:
        return action()
    except ScaffoldError as error:
        for diagnostic in error.diagnostics:
            typer.echo(str(diagnostic), err=True)
        raise typer.Exit(error.exit_code) from None


def main() -> None:
    app()
