"""What every command shares: the verbosity the global flags set, the lines it lets through, the project
option and its lookup, and the one way a command turns a `ScaffoldError` into diagnostics and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
import typer.core

from scaffold.core.errors import EXIT_BAD_INPUT, Diagnostic, ScaffoldError

if TYPE_CHECKING:  # only for annotations: these modules load with the commands that need them
    from scaffold.core.progress import ProgressCallback

T = TypeVar("T")


ProjectDir = Annotated[
    Path | None,
    typer.Option("-C", "--project", help="Project directory [default: found upward from here].", show_default=False),
]


QUIET, NORMAL, VERBOSE = 0, 1, 2
_verbosity = NORMAL


def verbosity() -> int:
    """QUIET, NORMAL or VERBOSE, as the global flags set it."""
    return _verbosity


def set_verbosity(level: int) -> None:
    global _verbosity
    _verbosity = level


def _say(line: str) -> None:
    """A progress or summary line: shown unless --quiet."""
    if _verbosity >= NORMAL:
        typer.echo(line)


def _progress_bar() -> ProgressCallback | None:
    from scaffold.core.progress import for_terminal

    return for_terminal(sys.stderr, quiet=_verbosity == QUIET)


def _detail(line: str) -> None:
    """A line only --verbose shows."""
    if _verbosity >= VERBOSE:
        typer.echo(line)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:
        return str(path)


def _project(option: Path | None) -> Path:
    """The project `-C` names, checked (a located line, exit 2, before any command starts), or the one
    found upward from here."""
    from scaffold.generation.configfile import find_project, project_dir

    if option is not None:
        return _run(lambda: project_dir(option))
    return _run(lambda: find_project(Path.cwd()))


def _include_dirs(include: list[Path] | None) -> list[Path]:
    """The `-I` directories, each checked: protoc would search a mistyped one silently, and find nothing."""
    for path in include or ():
        if not path.is_dir():
            typer.echo(f"-I {path}: {'not a directory' if path.exists() else 'no such directory'}", err=True)
            raise typer.Exit(EXIT_BAD_INPUT)
    return list(include or ())


def _run(action: Callable[[], T]) -> T:
    """Runs a library call; its diagnostics become stderr lines and its exit code."""
    try:
        return action()
    except ScaffoldError as error:
        for diagnostic in error.diagnostics:
            typer.echo(str(diagnostic), err=True)
        raise typer.Exit(error.exit_code) from None
    except BrokenPipeError:
        raise
    except OSError as error:  # the environment said no (disk full, read-only, ...): the tree is as it was
        where = error.filename or "scaffold"
        typer.echo(f"{where}: {error.strerror or error}; nothing was changed", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def taken_away(found: Iterable[Diagnostic], indent: str = "") -> None:
    """The user's code that reads what a run took away (`scaffold.generation.gone`): one located line each."""
    for diagnostic in found:
        typer.echo(f"{indent}{diagnostic}", err=True)


def _warnings(warnings: Iterable[Diagnostic]) -> None:
    for warning in warnings:
        typer.echo(str(warning), err=True)
