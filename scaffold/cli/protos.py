"""`scaffold inspect` and `scaffold describe`: what the protos define, read without writing anything."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import typer.core

from scaffold.cli.common import ProjectDir, _include_dirs, _project, _run


def inspect(
    protos: Annotated[
        list[Path] | None,
        typer.Argument(
            help="The .proto files to list [default: the project's, found upward from here].",
            show_default=False,
            metavar="[PROTO]...",
        ),
    ] = None,
    include: Annotated[
        list[Path] | None, typer.Option("--proto-path", "-I", help="Directory to search for imports (repeatable).")
    ] = None,
    project: ProjectDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the services and RPCs of protos: shape, message types, deprecation, summary."""
    from scaffold.live import listing

    if protos:
        table = _run(lambda: listing.rows(protos, _include_dirs(include)))
    else:
        from scaffold.generation import configfile
        from scaffold.generation.project import with_installed

        config = _run(lambda: configfile.load(_project(project)))
        table = _run(lambda: listing.rows(config.proto_files(), [*with_installed(config)[0], *(include or ())]))
    typer.echo(listing.as_json(table) if as_json else listing.as_text(table))


def describe(
    symbol: Annotated[
        str | None,
        typer.Argument(help="A service, method, message or enum [default: everything].", show_default=False),
    ] = None,
    project: ProjectDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show the services, methods, messages and enums of the project's protos, with their comments."""
    from scaffold.generation import project as loader
    from scaffold.live import symbols

    inputs = _run(lambda: loader.load(_project(project), for_generation=False))
    files = _run(lambda: loader.descriptors(inputs))
    found = symbols.symbols(files, {item.name for item in inputs.protos})
    if symbol:
        found = _run(lambda: symbols.select(found, symbol))
    typer.echo(symbols.as_json(found) if as_json else symbols.as_text(found), nl=False)
