"""How the server's lines look: text for a terminal, JSON lines for a log collector.

With `--log-format json` every line the server writes is one JSON object:
`time` (RFC 3339, UTC), `level`, `logger` and `message`, then the record's
own fields: the access log's call, a failure's traceback as `exception` (one
string, never lines of its own), the address in the line that says the server
listens. Records go through `logging` as ever, so handlers, levels and
formatters of your own still apply (`serving.configure_logging` sets up only what no one did).
What others write on stderr comes out as JSON lines too (`relay_stderr`: grpc's
C core, a failed TLS handshake say), and so do warnings and uncaught exceptions
(`capture_uncaught`).

scaffold rewrites this module on every `scaffold gen`: do not edit it.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import select
import subprocess
import sys
import threading
from types import TracebackType
from typing import Any

from helloworld.generated.runtime import jsonrelay

FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
SERVER_LOGGER = logging.getLogger("helloworld.server")
UNCAUGHT_LOGGER = logging.getLogger("helloworld.errors")


class JsonLines(logging.Formatter):
    """One JSON object per record, on one line, whatever its message or traceback holds."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": jsonrelay.rfc3339(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


def record(logger: logging.Logger, message: str, **fields: Any) -> logging.LogRecord:
    """An INFO record carrying `fields` for the JSON lines (`logger.info` would look up the caller's
    file and line: a third of its cost, on a line made per call)."""
    made = logger.makeRecord(logger.name, logging.INFO, "", 0, message, (), None)
    made.fields = fields
    return made


def announce(message: str, log_format: str, **fields: Any) -> None:
    """A moment of the server's life (it listens, it stopped) on stdout, where tools wait for it:
    the plain message, or with `json` a JSON line like the log's."""
    if log_format == "json":
        message = JsonLines().format(record(SERVER_LOGGER, message, **fields))
    if sys.stdout:  # None when closed (`>&-`), where print says nothing either
        # One write, so the line is whole next to stderr's (`-u` makes print's end a write of its own).
        sys.stdout.write(message + "\n")
        sys.stdout.flush()


# How long a server that exits waits for the relay to write its last lines: a server that is
# a container's first process takes the relay with it as it ends.
DRAIN_SECONDS = 2.0
# The relay's pipe, larger than Linux's 64 KiB where it can be: a record longer than 4 KiB
# is written whole, not torn by another writer's line, only while the pipe has room for it.
PIPE_BYTES = 1 << 20
_relaying = False


def capture_uncaught() -> None:
    """Warnings and uncaught exceptions as records of their own (one line each, the traceback
    a field), where Python's own hooks are in place."""
    logging.captureWarnings(True)
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = _log_uncaught
    if threading.excepthook is threading.__excepthook__:
        threading.excepthook = _log_thread_uncaught


def relay_stderr() -> None:
    """What others than `logging` write on stderr comes out as JSON lines too.

    grpc's C core writes on descriptor 2 itself: that descriptor becomes a pipe
    that `jsonrelay`, a process of its own, reads and writes on to where stderr
    went, as JSON lines (the records of `logging` go through it unchanged, so
    the order of all stderr's lines stays; stdout's are written directly). An
    interpreter that cannot start it (no fork, frozen, zipped) leaves stderr be.
    """
    global _relaying
    if _relaying or not hasattr(os, "fork") or not sys.executable or not sys.stderr:
        return  # no fork, or no interpreter to run, or stderr closed (`2>&-`)
    script = jsonrelay.__file__
    if getattr(sys, "frozen", False) or not os.path.isfile(script):
        return
    _relaying = True
    import fcntl  # POSIX, as fork is

    ends: list[int] = []  # closed once the relay has them (or failed to start)
    try:
        lines, into = os.pipe()
        ends += (lines, into)
        told, tell = os.pipe()
        ends += (told, tell)
        if hasattr(fcntl, "F_SETPIPE_SZ"):
            with contextlib.suppress(OSError):  # past /proc/sys/fs/pipe-max-size
                fcntl.fcntl(into, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        relay = [sys.executable, "-I", "-S", script, str(tell)]
        subprocess.run(
            relay, stdin=lines, stdout=2, pass_fds=(tell,), check=True, timeout=30
        )
        sys.stderr.flush()
        os.dup2(into, 2)
        ends.remove(told)  # kept: the relay's acknowledgement comes on it
    except (OSError, subprocess.SubprocessError):  # stderr stays as it was
        return
    finally:
        for end in ends:
            os.close(end)
    atexit.register(_drain, told, os.getpid())


def _drain(told: int, server: int) -> None:
    """At exit: returns once the relay has written every line before this one, at most
    `DRAIN_SECONDS` later (lines written after, by exit handlers that run later, may be
    lost with a container's first process). A forked child leaves it to the server."""
    if os.getpid() != server:
        return
    with contextlib.suppress(OSError, ValueError):
        if sys.stderr:
            sys.stderr.flush()
        os.write(2, jsonrelay.DRAINED)
        if select.select([told], [], [], DRAIN_SECONDS)[0]:
            os.read(told, 1)


def _log_uncaught(
    kind: type[BaseException], error: BaseException, traceback: TracebackType | None
) -> None:
    UNCAUGHT_LOGGER.critical(
        "uncaught %s", kind.__name__, exc_info=(kind, error, traceback)
    )


def _log_thread_uncaught(caught: threading.ExceptHookArgs) -> None:
    if caught.exc_type is SystemExit:  # how a thread may end: Python says nothing
        return
    name = caught.thread.name if caught.thread else "?"
    UNCAUGHT_LOGGER.critical(
        "uncaught %s in thread %s",
        caught.exc_type.__name__,
        name,
        exc_info=caught.exc_value,
    )
