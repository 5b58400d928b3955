"""`scaffold breaking`: the proto changes that break deployed clients, as lines or JSON."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer
import typer.core

from scaffold.cli.common import NORMAL, ProjectDir, _project, _run, verbosity
from scaffold.core.errors import EXIT_NEEDS_USER


class BreakingCategory(str, enum.Enum):
    FILE = "FILE"
    PACKAGE = "PACKAGE"
    WIRE_JSON = "WIRE_JSON"
    WIRE = "WIRE"
    CSR = "CSR"


class OutputFormat(str, enum.Enum):
    text = "text"
    json = "json"


def breaking_command(
    project: ProjectDir = None,
    against: Annotated[
        str | None,
        typer.Option(
            "--against",
            help="What to compare with: a git revision (main, HEAD~1, a tag), a directory of protos, or a"
            " descriptor set file (.binpb, .pb) [default: against in [tool.scaffold.breaking]].",
            show_default=False,
        ),
    ] = None,
    category: Annotated[
        BreakingCategory | None,
        typer.Option(
            "--category", help="buf's rule set [default: category in the config, else FILE].", show_default=False
        ),
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="text, or json: one object per line.")
    ] = OutputFormat.text,
) -> None:
    """List proto changes that break clients already deployed (buf's rules), and the code of yours each touches.

    Exit 0 when nothing breaks, 1 when something does, 2 on bad input.
    """
    root = _project(project)
    if _breaks(root, against, category.value if category else None, output is OutputFormat.json):
        raise typer.Exit(EXIT_NEEDS_USER)


def _breaks(root: Path, against: str | None, category: str | None, as_json: bool) -> bool:
    """Print the breaks (stdout) and a summary (stderr); True when there are any."""
    from scaffold.breaking import check as breaking
    from scaffold.generation.configfile import load

    report = _run(lambda: breaking.check(load(root), against, category, Path.cwd()))
    for note in report.notes:
        typer.echo(note, err=True)
    for line in breaking.lines(report, as_json):
        typer.echo(line)
    count = len(report.findings)
    if verbosity() >= NORMAL:  # on stderr: stdout is the breaks alone, for tools
        if count:
            summary = (
                f"{count} breaking change{'s' if count != 1 else ''} against {report.against} ({report.category})."
            )
        else:
            summary = f"No breaking change against {report.against} ({report.category}, {report.rules} rules)."
        typer.echo(summary, err=True)
    return bool(count)
