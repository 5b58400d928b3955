"""`scaffold call` made from its arguments, without the CLI framework.

A call is a whole process: what it costs beyond a plain script with the generated stub is the tool's
own start-up, and Typer's import is most of that (issue 30). So `scaffold.__main__` reads the forms of
`call` written in practice here and makes the call before Typer loads; anything else (`--help`, shell
completion, `-dVALUE`, an option this does not know, a bad value) goes to Typer (`scaffold.cli.call`),
which parses it, says what is wrong the way every other command does, and runs the same `perform`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scaffold.cli import plain
from scaffold.cli.output import VERBOSE, include_problem
from scaffold.core.errors import EXIT_BAD_INPUT, EXIT_NEEDS_USER, ScaffoldError
from scaffold.layout import CONFIG_FILE

PROTOCOLS = ("grpc", "connect", "grpc-web", "http")


@dataclass(frozen=True)
class CallArgs:
    """Every option of `scaffold call`, as Typer gives them too."""

    method: str
    data: str | None = None
    target: str = "localhost:50051"
    headers: tuple[str, ...] = ()
    timeout: float | None = None
    emit_defaults: bool = False
    protos: tuple[Path, ...] = ()
    include: tuple[Path, ...] = ()
    reflect: bool = False
    tls: bool = False
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    protocol: str = "grpc"
    project: Path | None = None
    verbose: bool = field(default=False, compare=False)


_VALUED = {
    "-d": "data",
    "--data": "data",
    "--target": "target",
    "-H": "headers",
    "--header": "headers",
    "--timeout": "timeout",
    "--proto": "protos",
    "-I": "include",
    "--proto-path": "include",
    "--ca": "ca",
    "--cert": "cert",
    "--key": "key",
    "--protocol": "protocol",
    "-C": "project",
    "--project": "project",
}
_FLAGS = {"--emit-defaults": "emit_defaults", "--reflect": "reflect", "--tls": "tls"}
_REPEATED = {"headers", "protos", "include"}
_PATHS = {"protos", "include", "ca", "cert", "key", "project"}


def parse(argv: list[str]) -> CallArgs | None:
    """The arguments of a plain `call` (`scaffold.cli.plain`); None where Typer should read them."""
    found = plain.read(argv, "call", _FLAGS, _VALUED, _REPEATED, arguments="method")
    if found is None:
        return None
    level, values = found
    methods = values.pop("method", ())
    if not isinstance(methods, tuple) or len(methods) != 1:
        return None  # no method, or a second one: Typer's to say
    for key, value in values.items():
        if value is True:
            continue  # a flag
        typed = tuple(_typed(key, v) for v in value) if isinstance(value, tuple) else _typed(key, str(value))
        if typed is None or (isinstance(typed, tuple) and None in typed):
            return None
        values[key] = typed
    return CallArgs(methods[0], verbose=level == VERBOSE, **values)  # type: ignore[arg-type]  # CallArgs' fields


def _typed(key: str, value: str) -> object | None:
    if key in _PATHS:
        return Path(value)
    if key == "timeout":
        try:
            return float(value)
        except ValueError:
            return None
    if key == "protocol" and value not in PROTOCOLS:
        return None
    return value


def perform(args: CallArgs) -> int:
    """Make the call; the exit code, every failure said in one line on stderr first."""
    # grpc's C core reads it once, as grpc loads: unless -v, its own log lines stay out; the user's value wins
    if not args.verbose:
        os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    import grpc

    from scaffold.live import call, connection, details, methods, request

    try:
        problem = include_problem(args.include)
        if problem is not None:
            return _said(problem)
        credentials = connection.credentials(args.tls, args.ca, args.cert, args.key)
        root = None if args.protos or args.reflect else _project(args.project)
        files, names = methods.descriptors_for(
            root, args.protos, list(args.include), args.reflect, args.target, credentials
        )
        chosen = methods.find_method(methods.pool_of(files), names, args.method)
        metadata = [connection.header(h) for h in args.headers]
        options = call.Options(args.target, metadata, args.timeout, args.emit_defaults, credentials)
        data = args.data
        origin = "-d" if not data or not data.startswith("@") else "<stdin>" if data == "@-" else data[1:]
        if args.protocol != "grpc":
            from scaffold.live import webcall

            try:
                webcall.invoke(chosen, request.read_data(data), options, args.protocol, origin=origin)
            except webcall.WebCallError as error:
                return _said(f"{error.code}: {error.details}", EXIT_NEEDS_USER, error.violations)
            return 0
        try:
            call.invoke(chosen, request.read_data(data), options, origin=origin)
        except grpc.RpcError as error:
            line = connection.failure_line(error, args.target, credentials is not None, args.cert is not None)
            trailers = error.trailing_metadata() if isinstance(error, grpc.Call) else None
            return _said(line, EXIT_NEEDS_USER, details.from_trailers(trailers))
    except ScaffoldError as error:
        for diagnostic in error.diagnostics:
            print(diagnostic, file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as other command-line tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError as error:  # the environment said no (a file it cannot read, ...)
        return _said(f"{error.filename or 'scaffold'}: {error.strerror or error}; nothing was changed")
    return 0


def _project(option: Path | None) -> Path:
    """The project `-C` names, else the nearest one upward (`configfile`'s rules, and its located errors):
    without reading a config where the first one met, or named, holds `call`'s kept descriptors."""
    from scaffold.live import kept

    if option is not None and kept.is_kept_for(option):
        return option
    directory = Path.cwd()
    while option is None and not (directory / CONFIG_FILE).is_file() and directory != directory.parent:
        directory = directory.parent
    if option is None and kept.is_kept_for(directory):
        return directory
    from scaffold.generation.configfile import find_project, project_dir

    return project_dir(option) if option is not None else find_project(Path.cwd())


def _said(line: str, code: int = EXIT_BAD_INPUT, under: Sequence[str] = ()) -> int:
    """`line` on stderr, and `under` it each line of the call's error details (a refused request's fields)."""
    print(line, file=sys.stderr)
    for detail in under:
        print(f"  {detail}", file=sys.stderr)
    return code
