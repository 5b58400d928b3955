"""The `scaffold` command: a thin layer that parses flags, calls `scaffold.api`
and turns its reports and diagnostics into lines and exit codes.

Heavy imports (protoc, Jinja) happen inside the commands, so `--help` and
`--version` stay fast.

Each command lives in its own module (`new`, `gen`, `diff`, `breaking`,
`templates`, `protos`, `call`, `watch`); this one makes the app, its global
flags, and registers the commands in the order `--help` lists them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from scaffold import __version__
from scaffold.cli import breaking, call, diff, gen, new, protos, templates, watch
from scaffold.cli.common import NORMAL, QUIET, VERBOSE, set_verbosity
from scaffold.core.errors import EXIT_OK

app = typer.Typer(
    help="Turn .proto files into a working gRPC project and keep it in step with them.",
    no_args_is_help=True,
    add_completion=True,
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
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only errors, warnings and what a command is asked for.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also list unchanged files and the inputs of each run.")
    ] = False,
) -> None:
    """Turn .proto files into a working gRPC project and keep it in step with them."""
    set_verbosity(QUIET if quiet else VERBOSE if verbose else NORMAL)


app.command(cls=new._PlainUsage)(new.new)
app.command()(gen.gen)
app.command()(diff.diff)
app.command()(gen.check)
app.command("breaking")(breaking.breaking_command)
app.add_typer(templates.templates_app, name="templates")
app.command()(protos.inspect)
app.command("call")(call.call_command)
app.command()(protos.describe)
app.command()(watch.watch)
app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(watch.dev)
