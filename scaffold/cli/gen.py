"""`scaffold gen` and `scaffold check` as Typer commands: their options, and `scaffold.cli.regenerating`,
which runs them (and runs their plain forms before Typer loads)."""

from __future__ import annotations

from typing import Annotated

import typer

from scaffold.cli import regenerating
from scaffold.cli.common import ProjectDir


def gen(
    project: ProjectDir = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; change nothing.")] = False,
    full: Annotated[
        bool,
        typer.Option("--full", help="Regenerate everything: skip the no-op shortcut and run protoc for every proto."),
    ] = False,
    recreate: Annotated[
        list[str] | None,
        typer.Option(
            "--recreate", help="Write this user file again although you deleted it (repeatable).", metavar="PATH"
        ),
    ] = None,
    abort: Annotated[
        bool,
        typer.Option(
            "--abort", help="Put back what the last gen changed (a conflicted one, say), if nothing was edited since."
        ),
    ] = False,
) -> None:
    """Regenerate from [tool.scaffold]: rewrite generated files, merge new stubs into yours."""
    code = regenerating.gen(project, dry_run, full, tuple(recreate or ()), abort)
    if code:
        raise typer.Exit(code)


def check(
    project: ProjectDir = None,
    breaking: Annotated[
        bool,
        typer.Option(
            "--breaking",
            help="Also run `scaffold breaking` against [tool.scaffold.breaking] against (exit 1 on a break).",
        ),
    ] = False,
) -> None:
    """Exit 1 and list the stale files when generated code is not current (for CI and pre-commit)."""
    code = regenerating.check(project, breaking)
    if code:
        raise typer.Exit(code)
