"""`scaffold watch` and `scaffold dev`: regenerate on every save (and run the server), printing each run."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer
import typer.core

from scaffold.layout import CONFIG_FILE

if TYPE_CHECKING:  # only for annotations: these modules load with the commands that need them
    from scaffold.live.watch import WatchEvent
from scaffold.cli.common import ProjectDir, _project, _relative, _run, _say, taken_away


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
        taken_away(report.plan.gone, "  ")
        return
    written = sum(1 for f in report.plan.files if f.writes)
    _say(f"[{stamp}] {cause}: {written} file{'s' if written != 1 else ''} written in {event.seconds * 1000:.0f} ms")
    for line in [*file_lines(report.plan), *change_lines(report.changes)]:
        _say(f"  {line}")
    taken_away(report.plan.gone, "  ")
    if report.plan.conflicts:
        paths = ", ".join(f.path for f in report.plan.conflicts)
        typer.echo(f"  resolve the conflict markers in {paths} and save: watch goes on from there", err=True)
