"""`scaffold gen` and `scaffold check`: regenerate the project, or say whether it is up to date."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import typer.core

from scaffold.cli.breaking import _breaks
from scaffold.cli.common import (
    ProjectDir,
    _detail,
    _progress_bar,
    _project,
    _run,
    _say,
    _warnings,
    taken_away,
)
from scaffold.core.errors import EXIT_BAD_INPUT, EXIT_NEEDS_USER


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
    from scaffold.api import regenerate
    from scaffold.cli.report import change_lines, file_lines, summary

    root = _project(project)
    if abort:
        _abort(root, dry_run or full or bool(recreate))
        return
    bar = _progress_bar()
    report = _run(lambda: regenerate(root, dry_run=dry_run, recreate=recreate or (), progress=bar, full=full))
    _warnings(report.warnings)
    _detail(_compiled_line(len(report.compiled), report.protos))
    if report.recovered:
        _say("Rolled back an interrupted run before regenerating.")
        _warnings(report.recovered[1:])
    for f in report.plan.files:
        if f.action == "identical":
            _detail(f"{'identical':<9} {f.path}")
    for line in [*file_lines(report.plan), *change_lines(report.changes)]:
        _say(line)
    if report.up_to_date:
        _say(f"Up to date ({report.seconds:.2f} s).")
    elif not report.plan.changed and not report.plan.backups:
        _say(f"Up to date; scaffold's record (.scaffold/) {'needs' if dry_run else 'was'} refreshed.")
    elif dry_run:
        _say("Dry run: nothing written.")
    else:
        _say(f"Regenerated: {summary(report.plan.files, report.seconds)}.")
    taken_away(report.plan.gone)
    if report.plan.conflicts:
        paths = ", ".join(f.path for f in report.plan.conflicts)
        typer.echo(f"Resolve the conflict markers in {paths}, then run scaffold gen again.", err=True)
    if report.plan.conflicts or report.plan.gone:
        raise typer.Exit(EXIT_NEEDS_USER)


def _compiled_line(compiled: int, protos: int) -> str:
    """How many protos protoc compiled (-v), worded for each count: "all 3", "1 of 3", "none of the 3"."""
    if compiled == 0:
        return "protoc compiled no proto: none changed"
    if compiled == protos:
        return "protoc compiled the project's one proto" if protos == 1 else f"protoc compiled all {protos} protos"
    rest = protos - compiled
    others = "the other one was" if rest == 1 else f"the other {rest} were"
    return f"protoc compiled {compiled} of {protos} protos; {others} unchanged"


def _abort(root: Path, other_options: bool) -> None:
    """`gen --abort`: the last run's changes put back, one line per file."""
    from scaffold.api import abort_last_run

    if other_options:
        typer.echo("--abort takes no other option of gen (--dry-run, --full, --recreate)", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    restored = _run(lambda: abort_last_run(root))
    for path in restored:
        _say(f"{'restore':<9} {path}")
    _say(f"Put back what the last run changed: {len(restored)} file{'s' if len(restored) != 1 else ''}.")


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
    from scaffold.api import regenerate

    root = _project(project)
    report = _run(lambda: regenerate(root, dry_run=True))
    stale = report.plan.stale
    state_stale = not stale and not report.up_to_date
    broken = _breaks(root, None, None, False) if breaking else False
    taken_away(report.plan.gone)
    if report.plan.gone and not stale and not state_stale:
        raise typer.Exit(EXIT_NEEDS_USER)
    if not stale and not state_stale:
        if broken:
            raise typer.Exit(EXIT_NEEDS_USER)
        _say("Up to date." if not breaking else "Up to date, and nothing breaks.")
        return
    for f in stale:
        typer.echo(f"stale: {f.path} ({f.action})", err=True)
    if state_stale:
        typer.echo("stale: .scaffold/ (scaffold's record of the last generation)", err=True)
    typer.echo("Run `scaffold gen` and commit the result.", err=True)
    raise typer.Exit(EXIT_NEEDS_USER)
