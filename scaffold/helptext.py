"""`scaffold [COMMAND...] --help` printed from a copy of what Typer printed last time, without loading it.

Typer's import is most of what a help request costs (about 45 of 65 ms, issue 30), and what it prints
depends only on the CLI's code, the name it runs under and the terminal's width (click wraps at the
width, at most 80 columns). So the first request of each form asks Typer and keeps the text in the
user's cache; the next one prints it. The key covers each of those (the package's modules by their
status, and Typer's), so an edited help text (an editable install, a new version, another Typer) is
asked for again, never stale.
"""

from __future__ import annotations

import importlib.util
import io
import os
import sys
from collections.abc import Callable

from scaffold import run_identity, user_cache

_WIDTH_CAP = 80  # click's HelpFormatter wraps at min(columns, 80) - 2


def is_request(argv: list[str]) -> bool:
    """Whether `argv` asks for help and nothing else (command names and flags, then `--help`), outside
    shell completion, which Typer answers from the same command line."""
    completing = any(key.startswith("_") and key.endswith("_COMPLETE") for key in os.environ)
    return not completing and argv[-1:] == ["--help"] and all(w.replace("-", "").isalnum() for w in argv[:-1])


def print_help(argv: list[str], prog: str, ask_typer: Callable[[], None]) -> None:
    """Print the help `argv` asks for; `ask_typer` prints it (and exits) where no kept copy matches."""
    path = _kept_at(argv, prog)
    try:
        with open(path, encoding="utf-8") as kept:
            sys.stdout.write(kept.read())
        return
    except (OSError, ValueError):  # none yet (or unreadable): Typer's, kept for the next time
        pass
    captured = io.StringIO()
    stdout, sys.stdout = sys.stdout, captured
    try:
        ask_typer()
    except SystemExit as done:
        sys.stdout = stdout
        stdout.write(captured.getvalue())
        if done.code in (0, None):
            _keep(path, captured.getvalue())
        raise
    finally:
        sys.stdout = stdout
    stdout.write(captured.getvalue())


def _kept_at(argv: list[str], prog: str) -> str:
    import hashlib  # here: every other command would pay for its import

    status = sorted(_status(os.path.dirname(__file__)))
    typer = importlib.util.find_spec("typer")  # an upgrade of Typer may print it otherwise
    if typer is not None and typer.origin:
        status.append((typer.origin, os.stat(typer.origin).st_mtime_ns, os.stat(typer.origin).st_size))
    key = repr((run_identity(), __file__, status, argv, prog, min(_columns(), _WIDTH_CAP)))
    return os.path.join(user_cache("help"), hashlib.sha256(key.encode()).hexdigest()[:32] + ".txt")


def _status(directory: str) -> list[tuple[str, int, int]]:
    """(path, mtime, size) of every module of the package: a help text may come from any of them."""
    found = []
    for entry in os.scandir(directory):
        if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
            found += _status(entry.path)
        elif entry.name.endswith(".py"):
            stat = entry.stat()
            found.append((entry.path, stat.st_mtime_ns, stat.st_size))
    return found


def _columns() -> int:
    """The width click reads (`shutil.get_terminal_size`, whose import this spares): COLUMNS, else the
    terminal's, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else _WIDTH_CAP
    except (OSError, ValueError, AttributeError):
        return _WIDTH_CAP


def _keep(path: str, text: str) -> None:
    """Written whole or not at all (a second process may read it meanwhile); no writable cache: not kept."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}"
        with open(temporary, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except OSError:
        pass
