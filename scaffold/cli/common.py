"""What every Typer command shares: the project option, the progress bar, the `-I` check, and (from
`scaffold.cli.output`, which needs no Typer) the verbosity, the lines it lets through, the project lookup
and the one way a command turns a `ScaffoldError` into diagnostics and an exit code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import typer.core

from scaffold.cli.output import NORMAL, QUIET, VERBOSE, include_problem, set_verbosity, taken_away, verbosity
from scaffold.cli.output import detail as _detail
from scaffold.cli.output import progress_bar as _progress_bar
from scaffold.cli.output import project as _project
from scaffold.cli.output import relative as _relative
from scaffold.cli.output import run as _run
from scaffold.cli.output import say as _say
from scaffold.cli.output import warnings as _warnings
from scaffold.core.errors import EXIT_BAD_INPUT

__all__ = [
    "NORMAL",
    "QUIET",
    "VERBOSE",
    "ProjectDir",
    "_detail",
    "_include_dirs",
    "_progress_bar",
    "_project",
    "_relative",
    "_run",
    "_say",
    "_warnings",
    "set_verbosity",
    "taken_away",
    "verbosity",
]


ProjectDir = Annotated[
    Path | None,
    typer.Option("-C", "--project", help="Project directory [default: found upward from here].", show_default=False),
]


def _include_dirs(include: list[Path] | None) -> list[Path]:
    """The `-I` directories, each checked (`output.include_problem`)."""
    problem = include_problem(include or ())
    if problem is not None:
        typer.echo(problem, err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    return list(include or ())
