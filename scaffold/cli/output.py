"""What every command prints, and how a library error becomes lines and an exit code, without Typer.

`scaffold gen` and `check` run without the CLI framework when their arguments are plain
(`scaffold.cli.regenerating`): its import is about a tenth of a regeneration of a small project
(issue 30). So the lines, the verbosity the global flags set and the one way a `ScaffoldError`
becomes diagnostics and an exit code live here; `scaffold.cli.common` gives them to the Typer commands.
An exit is a `SystemExit`, which Typer lets through as it does its own `Exit`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from scaffold.core.errors import EXIT_BAD_INPUT, Diagnostic, ScaffoldError

if TYPE_CHECKING:  # only for annotations: it loads with the commands that show a bar
    from scaffold.core.progress import ProgressCallback

T = TypeVar("T")

QUIET, NORMAL, VERBOSE = 0, 1, 2
_verbosity = NORMAL


def verbosity() -> int:
    """QUIET, NORMAL or VERBOSE, as the global flags set it."""
    return _verbosity


def set_verbosity(level: int) -> None:
    global _verbosity
    _verbosity = level


def echo(line: str, err: bool = False) -> None:
    """One line on stdout (or stderr), flushed, so the two streams interleave as written."""
    print(line, file=sys.stderr if err else sys.stdout, flush=True)


def say(line: str) -> None:
    """A progress or summary line: shown unless --quiet."""
    if _verbosity >= NORMAL:
        echo(line)


def detail(line: str) -> None:
    """A line only --verbose shows."""
    if _verbosity >= VERBOSE:
        echo(line)


def progress_bar() -> ProgressCallback | None:
    """A bar on stderr while a person watches it and --quiet is not given."""
    from scaffold.core.progress import for_terminal

    return for_terminal(sys.stderr, quiet=_verbosity == QUIET)


def warnings(found: Iterable[Diagnostic]) -> None:
    for warning in found:
        echo(str(warning), err=True)


def taken_away(found: Iterable[Diagnostic], indent: str = "") -> None:
    """The user's code that reads what a run took away (`scaffold.generation.gone`): one located line each."""
    for diagnostic in found:
        echo(f"{indent}{diagnostic}", err=True)


def run(action: Callable[[], T]) -> T:
    """Runs a library call; its diagnostics become stderr lines and its exit code."""
    try:
        return action()
    except ScaffoldError as error:
        for diagnostic in error.diagnostics:
            echo(str(diagnostic), err=True)
        raise SystemExit(error.exit_code) from None
    except BrokenPipeError:
        raise
    except OSError as error:  # the environment said no (disk full, read-only, ...): the tree is as it was
        where = error.filename or "scaffold"
        echo(f"{where}: {error.strerror or error}; nothing was changed", err=True)
        raise SystemExit(EXIT_BAD_INPUT) from None


def project(option: Path | None) -> Path:
    """The project `-C` names, checked (a located line, exit 2, before any command starts), or the one
    found upward from here."""
    from scaffold.generation.configfile import find_project, project_dir

    if option is not None:
        return run(lambda: project_dir(option))
    return run(lambda: find_project(Path.cwd()))


def relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:
        return str(path)


def include_problem(include: Iterable[Path]) -> str | None:
    """What is wrong with the first `-I` directory that is not one: protoc would search it silently, and
    find nothing."""
    for path in include:
        if not path.is_dir():
            return f"-I {path}: {'not a directory' if path.exists() else 'no such directory'}"
    return None
