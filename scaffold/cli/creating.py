"""`scaffold new`, made from its arguments without the CLI framework.

Typer's import is a tenth of a small project's `new` (issue 30), so `scaffold.__main__` reads the
plain forms of `new` here (`scaffold.cli.plain`: every option, each value a separate argument or
attached with `=`, a known `--format` and `--layout`) and runs them; anything else goes to Typer
(`scaffold.cli.new`), which says what is wrong and runs the same `create`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from msgspec import Struct

from scaffold.cli import plain
from scaffold.cli.output import NORMAL, detail, echo, include_problem, progress_bar, run, say, set_verbosity, warnings
from scaffold.core.errors import EXIT_BAD_INPUT

if TYPE_CHECKING:  # for the annotation: the class is imported where arguments are read
    from scaffold.generation.project import NewOptions

FORMATTERS = ("ruff",)
LAYOUTS = ("single", "per-service")
_SWITCHES = ("force", "aio", "health", "reflection", "tls", "metrics", "otel", "web", "validate")
_VALUED = {
    "-o": "output",
    "--output": "output",
    "-I": "include_dirs",
    "--proto-path": "include_dirs",
    "--name": "name",
    "--templates": "templates",
    "--format": "format",
    "--layout": "layout",
}


class NewArgs(Struct, frozen=True):
    """`scaffold new`'s protos and options (the library's own `NewOptions`), as Typer gives them too."""

    protos: tuple[Path, ...]
    options: NewOptions
    verbosity: int = NORMAL


def parse(argv: list[str]) -> NewArgs | None:
    """The arguments of a plain `new`; None where Typer should read them."""
    flags = {f"--{switch}": switch for switch in _SWITCHES}
    found = plain.read(argv, "new", flags, _VALUED, repeated={"include_dirs"}, arguments="protos")
    if found is None:
        return None
    level, values = found
    protos = values.pop("protos", ())
    if not protos or values.get("format", "ruff") not in FORMATTERS or values.get("layout", "single") not in LAYOUTS:
        return None
    for key in ("output", "templates"):
        if key in values:
            values[key] = Path(str(values[key]))
    values["include_dirs"] = tuple(Path(str(p)) for p in values.get("include_dirs", ()))  # type: ignore[attr-defined]
    from scaffold.generation.project import NewOptions  # here: `new` loads it next anyway

    options = NewOptions(**values)  # type: ignore[arg-type]  # the keys are NewOptions' fields
    return NewArgs(tuple(Path(str(p)) for p in protos), options, level)  # type: ignore[attr-defined]


def perform(args: NewArgs) -> int:
    set_verbosity(args.verbosity)
    return create(args)


def create(args: NewArgs) -> int:
    """Create a runnable gRPC project: generated modules, servicer, server, client, tests."""
    from scaffold.api import create_project

    problem = include_problem(args.options.include_dirs)
    if problem is not None:
        echo(problem, err=True)
        return EXIT_BAD_INPUT
    bar = progress_bar()
    report = run(lambda: create_project(list(args.protos), args.options, bar))
    warnings(report.warnings)
    for path in report.paths:
        detail(f"{'create':<9} {path}")
    for f in report.left:
        say(f"{f.action:<9} {f.path}  ({f.note})")
    say(f"Created {report.root}/ ({report.files} files)")
    say("Next:")
    say(f"  cd {report.root} && pip install -e '.[test]'")
    say(f"  python -m {report.config.package}.server --port 50051")
    clients = "client" if report.config.layout == "single" else "clients"  # per-service: every service's calls
    say(f"  python -m {report.config.package}.{clients} --target localhost:50051")
    say("  pytest")
    return 0
