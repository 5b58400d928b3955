"""`scaffold gen` and `scaffold check`, made from their arguments without the CLI framework.

A no-op is answered before any of this (`scaffold.fastpath`); a run that regenerates pays for the
tool's imports, and Typer's was about a tenth of a one-proto change (issue 30). So `scaffold.__main__`
reads the plain forms here (`[-q|-v] gen|check [-C DIR] [--dry-run] [--full] [--recreate PATH]...
[--abort]`, `check` without `--breaking`) and runs them; anything else (help, completion, an unknown
option, a missing value) goes to Typer (`scaffold.cli.gen`), which parses it, says what is wrong the
way every other command does, and runs the same `gen` and `check` below.
"""

from __future__ import annotations

from pathlib import Path

from msgspec import Struct

from scaffold.cli import plain
from scaffold.cli.output import (
    NORMAL,
    detail,
    echo,
    progress_bar,
    project,
    run,
    say,
    set_verbosity,
    taken_away,
    warnings,
)
from scaffold.core.errors import EXIT_BAD_INPUT, EXIT_NEEDS_USER

_GEN_FLAGS = {"--dry-run": "dry_run", "--full": "full", "--abort": "abort"}
_PROJECT = {"-C": "project", "--project": "project"}


class GenArgs(Struct, frozen=True):
    """The options of `gen` (and the `-C` of `check`), as Typer gives them too."""

    command: str
    project: Path | None = None
    dry_run: bool = False
    full: bool = False
    recreate: tuple[str, ...] = ()
    abort: bool = False
    verbosity: int = NORMAL


def parse(argv: list[str]) -> GenArgs | None:
    """The arguments of a plain `gen` or `check` (`scaffold.cli.plain`); None where Typer should read them."""
    for command, flags, valued in (
        ("gen", _GEN_FLAGS, {**_PROJECT, "--recreate": "recreate"}),
        ("check", {}, _PROJECT),
    ):
        found = plain.read(argv, command, flags, valued, repeated={"recreate"})
        if found is not None:
            level, values = found
            if "project" in values:
                values["project"] = Path(str(values["project"]))
            return GenArgs(command, verbosity=level, **values)  # type: ignore[arg-type]  # the keys are GenArgs' fields
    return None


def perform(args: GenArgs) -> int:
    """`gen` or `check` as `args` ask; the exit code."""
    set_verbosity(args.verbosity)
    if args.command == "check":
        return check(args.project)
    return gen(args.project, args.dry_run, args.full, args.recreate, args.abort)


def gen(option: Path | None, dry_run: bool, full: bool, recreate: tuple[str, ...], abort: bool) -> int:
    """Regenerate from [tool.scaffold]: rewrite generated files, merge new stubs into yours."""
    from scaffold.api import regenerate
    from scaffold.cli.report import change_lines, file_lines, summary

    root = project(option)
    if abort:
        return _abort(root, dry_run or full or bool(recreate))
    bar = progress_bar()
    report = run(lambda: regenerate(root, dry_run=dry_run, recreate=recreate, progress=bar, full=full))
    warnings(report.warnings)
    detail(_compiled_line(len(report.compiled), report.protos))
    if report.recovered:
        say("Rolled back an interrupted run before regenerating.")
        warnings(report.recovered[1:])
    for f in report.plan.files:
        if f.action == "identical":
            detail(f"{'identical':<9} {f.path}")
    for line in [*file_lines(report.plan), *change_lines(report.changes)]:
        say(line)
    if report.up_to_date:
        say(f"Up to date ({report.seconds:.2f} s).")
    elif not report.plan.changed and not report.plan.backups:
        say(f"Up to date; scaffold's record (.scaffold/) {'needs' if dry_run else 'was'} refreshed.")
    elif dry_run:
        say("Dry run: nothing written.")
    else:
        say(f"Regenerated: {summary(report.plan.files, report.seconds)}.")
    taken_away(report.plan.gone)
    if report.plan.conflicts:
        paths = ", ".join(f.path for f in report.plan.conflicts)
        echo(f"Resolve the conflict markers in {paths}, then run scaffold gen again.", err=True)
    return EXIT_NEEDS_USER if report.plan.conflicts or report.plan.gone else 0


def _compiled_line(compiled: int, protos: int) -> str:
    """How many protos protoc compiled (-v), worded for each count: "all 3", "1 of 3", "none of the 3"."""
    if compiled == 0:
        return "protoc compiled no proto: none changed"
    if compiled == protos:
        return "protoc compiled the project's one proto" if protos == 1 else f"protoc compiled all {protos} protos"
    rest = protos - compiled
    others = "the other one was" if rest == 1 else f"the other {rest} were"
    return f"protoc compiled {compiled} of {protos} protos; {others} unchanged"


def _abort(root: Path, other_options: bool) -> int:
    """`gen --abort`: the last run's changes put back, one line per file."""
    from scaffold.api import abort_last_run

    if other_options:
        echo("--abort takes no other option of gen (--dry-run, --full, --recreate)", err=True)
        return EXIT_BAD_INPUT
    restored = run(lambda: abort_last_run(root))
    for path in restored:
        say(f"{'restore':<9} {path}")
    say(f"Put back what the last run changed: {len(restored)} file{'s' if len(restored) != 1 else ''}.")
    return 0


def check(option: Path | None, breaking: bool = False) -> int:
    """Exit 1 and list the stale files when generated code is not current (for CI and pre-commit)."""
    from scaffold.api import regenerate

    root = project(option)
    report = run(lambda: regenerate(root, dry_run=True))
    stale = report.plan.stale
    state_stale = not stale and not report.up_to_date
    broken = False
    if breaking:
        from scaffold.cli.breaking import _breaks

        broken = _breaks(root, None, None, False)
    taken_away(report.plan.gone)
    if report.plan.gone and not stale and not state_stale:
        return EXIT_NEEDS_USER
    if not stale and not state_stale:
        if broken:
            return EXIT_NEEDS_USER
        say("Up to date." if not breaking else "Up to date, and nothing breaks.")
        return 0
    for f in stale:
        echo(f"stale: {f.path} ({f.action})", err=True)
    if state_stale:
        echo("stale: .scaffold/ (scaffold's record of the last generation)", err=True)
    echo("Run `scaffold gen` and commit the result.", err=True)
    return EXIT_NEEDS_USER
