"""`scaffold diff`: what `gen` would change, as a diff (paged), a summary, or in a diff tool."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import typer.core

from scaffold.core.errors import EXIT_BAD_INPUT, EXIT_NEEDS_USER

if TYPE_CHECKING:  # only for annotations: these modules load with the commands that need them
    from scaffold.api import GenReport
    from scaffold.generation.plan import FilePlan
from scaffold.cli.common import NORMAL, QUIET, ProjectDir, _project, _run, _say, verbosity


def diff(
    project: ProjectDir = None,
    tool: Annotated[
        str | None,
        typer.Option(
            "--tool",
            envvar="SCAFFOLD_DIFFTOOL",
            help="Open each change as a pair in this command, e.g. vimdiff: your file (edit it; what you save"
            " is kept and merged by the next gen), then scaffold's proposal (read-only).",
        ),
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Also show protoc's modules (*_pb2.py, *_pb2.pyi, *_pb2_grpc.py).")
    ] = False,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when scaffold gen would change anything, 0 when not.")
    ] = False,
    no_pager: Annotated[
        bool, typer.Option("--no-pager", help="Never page the diff through $PAGER (as NO_PAGER does).")
    ] = False,
) -> None:
    """Show what `scaffold gen` would change, without changing anything.

    Exit 0, or 1 when something would change and --exit-code or -q asks for the answer; 2 on bad input.
    """
    from scaffold.api import regenerate
    from scaffold.cli import pager

    root = _project(project)
    report = _run(lambda: regenerate(root, dry_run=True))
    changed = [f for f in report.plan.changed if f.writes]
    shown = [f for f in changed if not _protoc_module(f.path)] if not everything else _readable(changed)
    if tool:
        _open_pairs(tool, root, shown)
        for line in _diff_summary(report, changed, shown, everything):
            _say(line)
    else:
        summary = _diff_summary(report, changed, shown, everything) if verbosity() >= NORMAL else []
        pager.show([*_diff_lines(shown), *summary], refused=no_pager)
    if (exit_code or verbosity() == QUIET) and changed:  # -q silences the lines, not the answer
        raise typer.Exit(EXIT_NEEDS_USER)


def _readable(changed: Sequence[FilePlan]) -> list[FilePlan]:
    """Every change but a `_pb2.py` whose `_pb2.pyi` changes too: its diff is serialized descriptor bytes,
    the .pyi's says the same readably (a `_pb2.py` changed alone, edited by hand say, is shown)."""
    paths = {f.path for f in changed}
    return [f for f in changed if not (f.path.endswith("_pb2.py") and f"{f.path}i" in paths)]


def _diff_lines(shown: Sequence[FilePlan]) -> list[str]:
    """The unified diff of each file, coloured on a terminal (unless NO_COLOR)."""
    from scaffold.cli.report import unified_diff

    color = _color()
    return [_colored(line) if color else line for f in shown for line in unified_diff(f)]


def _diff_summary(
    report: GenReport, changed: Sequence[FilePlan], shown: Sequence[FilePlan], everything: bool
) -> list[str]:
    """What changes per service and per message, and what the diff left out: the lines a reader scans first."""
    from scaffold.cli.messages import message_lines
    from scaffold.cli.report import change_lines

    lines = [*change_lines(report.changes), *message_lines(changed)]
    left_out = len(changed) - len(shown)
    if left_out and everything:  # a _pb2.py differs only in its serialized descriptor: its .pyi shows the change
        lines.append(f"({left_out} _pb2.py left out: serialized descriptors, which the _pb2.pyi above shows)")
    elif left_out:
        lines.append(f"({left_out} of protoc's module{'s' if left_out != 1 else ''} left out; --all shows them)")
    if not changed:
        lines.append("Up to date: scaffold gen would change nothing.")
    return lines


def _protoc_module(path: str) -> bool:
    return path.endswith(("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi"))


def _color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _colored(line: str) -> str:
    if line.startswith(("+++", "---")):
        return typer.style(line, bold=True)
    if line.startswith("@@"):
        return typer.style(line, fg="cyan")
    if line.startswith("+"):
        return typer.style(line, fg="green")
    if line.startswith("-"):
        return typer.style(line, fg="red")
    return line


def _open_pairs(tool: str, root: Path, files: Sequence[FilePlan]) -> None:
    """Each change as a pair in `tool`, one after another, the way `git difftool` opens them.

    The left side is the user's own file, so what they change and save in the
    tool is kept (the next `scaffold gen` merges with it); the right side is
    scaffold's proposal, a read-only copy. A tool that exits non-zero (`:cq`
    in vim) stops the walk, like `git difftool --trust-exit-code`.
    """
    try:
        command = shlex.split(tool)
    except ValueError as error:  # an unbalanced quote
        typer.echo(f"--tool {tool}: {error}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if not command:
        raise typer.Exit(EXIT_BAD_INPUT)
    with tempfile.TemporaryDirectory(prefix="scaffold-diff-") as tmp:
        for number, f in enumerate(files, 1):
            typer.echo(f"({number}/{len(files)}) {f.path}")
            yours = root / f.path
            if not yours.is_file():
                yours = Path(tmp, "absent", f.path)  # created by gen: nothing of yours yet
                _read_only_copy(yours, b"")
            proposed = Path(tmp, "proposed", f.path)
            _read_only_copy(proposed, f.content or b"")
            try:
                status = subprocess.run([*command, str(yours), str(proposed)], check=False).returncode
            except FileNotFoundError:
                typer.echo(f"scaffold: difftool not found: {command[0]}", err=True)
                raise typer.Exit(EXIT_BAD_INPUT) from None
            except OSError as error:  # not executable, a directory, ...
                typer.echo(f"--tool {command[0]}: cannot run it: {error.strerror or error}", err=True)
                raise typer.Exit(EXIT_BAD_INPUT) from None
            if status != 0:
                typer.echo(f"scaffold: {command[0]} exited with {status}; stopped at {f.path}", err=True)
                raise typer.Exit(EXIT_NEEDS_USER)


def _read_only_copy(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    path.chmod(0o444)
