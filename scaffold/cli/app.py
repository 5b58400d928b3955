"""The `scaffold` command: a thin layer that parses flags, calls `scaffold.api`
and turns its reports and diagnostics into lines and exit codes.

Heavy imports (protoc, Jinja) happen inside the commands, so `--help` and
`--version` stay fast.
"""

from __future__ import annotations

import enum
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
import typer.core

from scaffold import __version__
from scaffold.core.errors import EXIT_BAD_INPUT, EXIT_NEEDS_USER, EXIT_OK, Diagnostic, ScaffoldError
from scaffold.layout import CONFIG_FILE

if TYPE_CHECKING:  # only for annotations: these modules load with the commands that need them
    from scaffold.api import GenReport
    from scaffold.core.progress import ProgressCallback
    from scaffold.generation.plan import FilePlan
    from scaffold.live.watch import WatchEvent

T = TypeVar("T")


class Formatter(str, enum.Enum):
    ruff = "ruff"


class Layout(str, enum.Enum):
    single = "single"
    per_service = "per-service"


app = typer.Typer(
    help="Turn .proto files into a working gRPC project and keep it in step with them.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts contain literal [brackets]
)

ProjectDir = Annotated[
    Path | None,
    typer.Option("-C", "--project", help="Project directory [default: found upward from here].", show_default=False),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"scaffold {__version__}")
        raise typer.Exit(EXIT_OK)


QUIET, NORMAL, VERBOSE = 0, 1, 2
_verbosity = NORMAL


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
    global _verbosity
    _verbosity = QUIET if quiet else VERBOSE if verbose else NORMAL


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


class _PlainUsage(typer.core.TyperCommand):
    """typer writes a required argument as `{PROTO...}` in the usage line; the README, click and every other
    tool write `PROTO...`, and braces read as a set of choices."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = super().collect_usage_pieces(ctx)
        return [p[1:-1] if p.startswith("{") and p.endswith("}") else p for p in pieces]


@app.command(cls=_PlainUsage)
def new(
    protos: Annotated[
        list[Path],
        typer.Argument(help="The .proto files to build the project from.", show_default=False, metavar="PROTO..."),
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Project directory [default: ./NAME].", show_default=False)
    ] = None,
    include: Annotated[
        list[Path] | None, typer.Option("--proto-path", "-I", help="Directory to search for imports (repeatable).")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Python package name [default: the first proto's name].")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a directory that is not empty.")] = False,
    aio: Annotated[bool, typer.Option("--aio", help="The asyncio flavour (grpc.aio) of every file.")] = False,
    health: Annotated[bool, typer.Option("--health", help="Serve the standard gRPC health service.")] = False,
    reflection: Annotated[bool, typer.Option("--reflection", help="Serve gRPC server reflection.")] = False,
    tls: Annotated[bool, typer.Option("--tls", help="Make the server refuse to start without a certificate.")] = False,
    metrics: Annotated[bool, typer.Option("--metrics", help="Serve Prometheus metrics of every call.")] = False,
    templates: Annotated[
        Path | None,
        typer.Option("--templates", help="Your own templates, searched before the built-in ones.", show_default=False),
    ] = None,
    format: Annotated[
        Formatter | None,
        typer.Option("--format", help="Format your Python files with this tool as they are rendered (needs ruff)."),
    ] = None,
    layout: Annotated[
        Layout | None,
        typer.Option(
            "--layout",
            help="One servicer, client and test module for all services, or one of each per service "
            "[default: per-service when the protos define more than one service].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create a runnable gRPC project: generated modules, servicer, server, client, tests."""
    from scaffold.api import new_project

    formatter = format.value if format else None
    bar = _progress_bar()
    report = _run(
        lambda: new_project(
            protos,
            output=output,
            include_dirs=_include_dirs(include),
            name=name,
            force=force,
            aio=aio,
            health=health,
            reflection=reflection,
            tls=tls,
            metrics=metrics,
            templates=templates,
            format=formatter,
            layout=layout.value if layout else None,
            progress=bar,
        )
    )
    _warnings(report.warnings)
    for path in report.paths:
        _detail(f"{'create':<9} {path}")
    for f in report.left:
        _say(f"{f.action:<9} {f.path}  ({f.note})")
    _say(f"Created {report.root}/ ({report.files} files)")
    _say("Next:")
    _say(f"  cd {report.root} && pip install -e '.[test]'")
    _say(f"  python -m {report.config.package}.server --port 50051")
    if report.config.layout == "single":
        _say(f"  python -m {report.config.package}.client --target localhost:50051")
    else:
        _say(f"  python -m {report.config.package}.clients.<package>.<service> --target localhost:50051")
    _say("  pytest")


@app.command()
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
    if report.plan.conflicts:
        paths = ", ".join(f.path for f in report.plan.conflicts)
        typer.echo(f"Resolve the conflict markers in {paths}, then run scaffold gen again.", err=True)
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


@app.command()
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
        summary = _diff_summary(report, changed, shown, everything) if _verbosity >= NORMAL else []
        pager.show([*_diff_lines(shown), *summary], refused=no_pager)
    if (exit_code or _verbosity == QUIET) and changed:  # -q silences the lines, not the answer
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


@app.command()
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


class BreakingCategory(str, enum.Enum):
    FILE = "FILE"
    PACKAGE = "PACKAGE"
    WIRE_JSON = "WIRE_JSON"
    WIRE = "WIRE"
    CSR = "CSR"


class OutputFormat(str, enum.Enum):
    text = "text"
    json = "json"


@app.command("breaking")
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
    from scaffold.generation.config import load

    report = _run(lambda: breaking.check(load(root), against, category, Path.cwd()))
    for line in breaking.lines(report, as_json):
        typer.echo(line)
    count = len(report.findings)
    if _verbosity >= NORMAL:  # on stderr: stdout is the breaks alone, for tools
        if count:
            summary = (
                f"{count} breaking change{'s' if count != 1 else ''} against {report.against} ({report.category})."
            )
        else:
            summary = f"No breaking change against {report.against} ({report.category}, {report.rules} rules)."
        typer.echo(summary, err=True)
    return bool(count)


templates_app = typer.Typer(help="Work with the templates scaffold renders from.", no_args_is_help=True)
app.add_typer(templates_app, name="templates")


@templates_app.command("export")
def export_templates(
    directory: Annotated[Path, typer.Argument(help="Where to copy the built-in templates.", show_default=False)],
    force: Annotated[bool, typer.Option("--force", help="Write into a directory that is not empty.")] = False,
) -> None:
    """Copy the built-in templates, to edit and use with `templates = "DIR"` in [tool.scaffold]."""
    from scaffold.api import export_templates as export

    copied = _run(lambda: export(directory, force))
    _say(f"Copied {len(copied)} templates to {directory}/. Keep the ones you change; the rest fall back.")


@app.command()
def inspect(
    protos: Annotated[
        list[Path] | None,
        typer.Argument(
            help="The .proto files to list [default: the project's, found upward from here].",
            show_default=False,
            metavar="[PROTO]...",
        ),
    ] = None,
    include: Annotated[
        list[Path] | None, typer.Option("--proto-path", "-I", help="Directory to search for imports (repeatable).")
    ] = None,
    project: ProjectDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the services and RPCs of protos: shape, message types, deprecation, summary."""
    from scaffold.live import listing

    if protos:
        table = _run(lambda: listing.rows(protos, _include_dirs(include)))
    else:
        from scaffold.generation import config as config_module

        config = _run(lambda: config_module.load(_project(project)))
        table = _run(lambda: listing.rows(config.proto_files(), [*config.include_dirs(), *(include or ())]))
    typer.echo(listing.as_json(table) if as_json else listing.as_text(table))


def _method_names(incomplete: str) -> list[str]:
    """Tab completion of `scaffold call METHOD`: the project's methods, from its descriptors."""
    try:
        from scaffold.generation import project
        from scaffold.generation.config import find_project
        from scaffold.live import call

        inputs = project.load(find_project(Path.cwd()), for_generation=False)
        names = call.method_names(project.descriptors(inputs), [item.name for item in inputs.protos])
    except Exception:  # noqa: BLE001 - completion must never print a traceback into the user's shell
        return []
    spellings = sorted({form for name in names for form in (name, name.partition("/")[2])})
    return [name for name in spellings if name.startswith(incomplete)]


@app.command("call")
def call_command(
    method: Annotated[
        str,
        typer.Argument(
            help="package.Service/Method, Service/Method, or Method when unambiguous.",
            show_default=False,
            autocompletion=_method_names,
        ),
    ],
    data: Annotated[
        str | None,
        typer.Option(
            "-d", "--data", help="The request as JSON; @FILE or @- (stdin): one JSON document per line for streams."
        ),
    ] = None,
    target: Annotated[str, typer.Option("--target", help="The server, HOST:PORT.")] = "localhost:50051",
    header: Annotated[
        list[str] | None, typer.Option("-H", "--header", help="Metadata sent with the call, KEY:VALUE (repeatable).")
    ] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Deadline of the call, in seconds.")] = None,
    emit_defaults: Annotated[
        bool, typer.Option("--emit-defaults", help="Print fields that hold their default value too.")
    ] = False,
    proto: Annotated[
        list[Path] | None,
        typer.Option("--proto", help="Outside a project: the .proto that defines the method (repeatable)."),
    ] = None,
    include: Annotated[
        list[Path] | None, typer.Option("--proto-path", "-I", help="With --proto: a directory to search for imports.")
    ] = None,
    reflect: Annotated[
        bool, typer.Option("--reflect", help="Ask the server for its descriptors (server reflection).")
    ] = False,
    tls: Annotated[bool, typer.Option("--tls", help="Call over TLS (the default is plaintext).")] = False,
    ca: Annotated[Path | None, typer.Option("--ca", help="With --tls: the CA certificate to trust.")] = None,
    cert: Annotated[Path | None, typer.Option("--cert", help="With --tls: a client certificate (mTLS).")] = None,
    key: Annotated[Path | None, typer.Option("--key", help="With --cert: its private key.")] = None,
    project: ProjectDir = None,
) -> None:
    """Call one RPC with JSON: responses printed as JSON, one per line (grpcurl, from the project's descriptors)."""
    _quiet_grpc()
    from scaffold.live import call

    credentials = _run(lambda: call.credentials(tls, ca, cert, key))
    root = None if proto or reflect else _project(project)
    include_dirs = _include_dirs(include)
    files, names = _run(lambda: call.descriptors_for(root, proto or (), include_dirs, reflect, target, credentials))
    chosen = _run(lambda: call.find_method(call.pool_of(files), names, method))
    metadata = _run(lambda: [call.header(h) for h in header or ()])
    options = call.Options(target, metadata, timeout, emit_defaults, credentials)
    origin = "-d" if not data or not data.startswith("@") else "<stdin>" if data == "@-" else data[1:]
    try:
        _run(lambda: call.invoke(chosen, call.read_data(data), options, origin=origin))
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as other command-line tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except call.grpc.RpcError as error:
        typer.echo(call.failure_line(error, target, credentials is not None, cert is not None), err=True)
        raise typer.Exit(EXIT_NEEDS_USER) from None


def _quiet_grpc() -> None:
    """grpc's C core reads GRPC_VERBOSITY once, as grpc loads: unless -v, its own log lines (one per
    failed TLS handshake) stay out of the output, which says in one line what failed. The user's value wins."""
    if _verbosity < VERBOSE:
        os.environ.setdefault("GRPC_VERBOSITY", "ERROR")


@app.command()
def describe(
    symbol: Annotated[
        str | None,
        typer.Argument(help="A service, method, message or enum [default: everything].", show_default=False),
    ] = None,
    project: ProjectDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show the services, methods, messages and enums of the project's protos, with their comments."""
    from scaffold.generation import project as loader
    from scaffold.live import symbols

    inputs = _run(lambda: loader.load(_project(project), for_generation=False))
    files = _run(lambda: loader.descriptors(inputs))
    found = symbols.symbols(files, {item.name for item in inputs.protos})
    if symbol:
        found = _run(lambda: symbols.select(found, symbol))
    typer.echo(symbols.as_json(found) if as_json else symbols.as_text(found), nl=False)


@app.command()
def watch(project: ProjectDir = None) -> None:
    """Regenerate on every save of a proto or of the config, until Ctrl-C."""
    from scaffold.live.watch import Watcher

    root = _project(project)
    watcher = Watcher(root, _print_watch_event)
    shown = ", ".join(_relative(p, watcher.root) for p in (*watcher.proto_roots(), watcher.root / CONFIG_FILE))
    _say(f"Watching {shown} (Ctrl-C to stop)")
    try:
        watcher.run()
    except KeyboardInterrupt:
        pass
    _say("Stopped.")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def dev(
    context: typer.Context,
    project: ProjectDir = None,
    port: Annotated[
        int,
        typer.Option("--port", min=0, max=65_535, help="The server's port (0: any free one, kept across restarts)."),
    ] = 50051,
    host: Annotated[str, typer.Option("--host", help="The server's address.")] = "127.0.0.1",
) -> None:
    """Regenerate on every save and run the server, restarted when its code changes, until Ctrl-C.

    Arguments after `--` go to the server (`scaffold dev -- --max-workers 4`).
    """
    import signal
    import threading

    from scaffold.live.dev import DevLoop

    root = _project(project)
    stop = threading.Event()
    loop = _run(lambda: DevLoop(root, host, port, context.args, typer.echo, _print_watch_event, stop))

    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())  # the loop ends, and stops the server
    where = f"{host}:{port}" if port else f"{host}, on a free port"
    _say(f"Developing {loop.package}: regenerating on every save, serving on {where} (Ctrl-C to stop)")
    try:
        loop.run()
    except KeyboardInterrupt:
        stop.set()
    _say("Stopped.")


def _print_watch_event(event: WatchEvent) -> None:
    from scaffold.cli.report import change_lines, file_lines

    stamp = time.strftime("%H:%M:%S")
    cause = ", ".join(event.trigger)
    if event.kind == "failed":
        typer.echo(f"[{stamp}] {cause}: not regenerated, outputs untouched", err=True)
        for diagnostic in event.diagnostics:  # the loop goes on by itself once a file is fixed and saved
            typer.echo(f"  {str(diagnostic).replace(', then run scaffold gen', ' and save it')}", err=True)
        return
    if event.kind == "crashed":
        if event.repeated:
            typer.echo(f"[{stamp}] {cause}: the same internal error again (traceback above)", err=True)
        else:
            typer.echo(f"[{stamp}] {cause}: internal error, still watching:\n{event.traceback}", err=True)
        return
    report = event.report
    assert report is not None  # a "generated" event always carries its report
    if report.up_to_date or not report.plan.changed:
        _say(f"[{stamp}] {cause}: up to date ({event.seconds * 1000:.0f} ms)")
        return
    written = sum(1 for f in report.plan.files if f.writes)
    _say(f"[{stamp}] {cause}: {written} file{'s' if written != 1 else ''} written in {event.seconds * 1000:.0f} ms")
    for line in [*file_lines(report.plan), *change_lines(report.changes)]:
        _say(f"  {line}")
    if report.plan.conflicts:
        paths = ", ".join(f.path for f in report.plan.conflicts)
        typer.echo(f"  resolve the conflict markers in {paths} and save: watch goes on from there", err=True)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:
        return str(path)


def _project(option: Path | None) -> Path:
    """The project `-C` names, checked (a located line, exit 2, before any command starts), or the one
    found upward from here."""
    from scaffold.generation.config import find_project, project_dir

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


def _warnings(warnings: Iterable[Diagnostic]) -> None:
    for warning in warnings:
        typer.echo(str(warning), err=True)


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
