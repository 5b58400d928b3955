"""How the server's lines look: text for a terminal, JSON lines for a log collector.

With `--log-format json` every line the server writes is one JSON object:
`time` (RFC 3339, UTC), `level`, `logger` and `message`, then the record's
own fields: the access log's call, a failure's traceback as `exception` (one
string, never lines of its own), the address in the line that says the server
listens. Records go through `logging` as ever, so handlers, levels and
formatters of your own still apply (`serving.configure_logging` sets up only what no one did).
What others write on stderr comes out as JSON lines too (`relay_stderr`): grpc's
C core (a failed TLS handshake, say), warnings, an uncaught exception.

scaffold rewrites this module on every `scaffold gen`: do not edit it.
"""

from __future__ import annotations

import atexit
import datetime
import faulthandler
import json
import logging
import os
import re
import sys
import threading
from typing import Any

FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
SERVER_LOGGER = logging.getLogger("route_guide.server")
GRPC_LOGGER = logging.getLogger("grpc")
STDERR_LOGGER = logging.getLogger("stderr")
UNCAUGHT_LOGGER = logging.getLogger("route_guide.errors")


class JsonLines(logging.Formatter):
    """One JSON object per record, on one line, whatever its message or traceback holds."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": rfc3339(record.created),
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


def rfc3339(seconds: float) -> str:
    """`2026-12-04T18:30:00.123Z`: UTC, to the millisecond."""
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
    print(message, flush=True)


# grpc's C core writes its lines on the process's stderr as absl does:
# "I1206 07:45:42.722329   24443 ssl_transport_security.cc:2563] Handshake failed ...".
C_CORE_LINE = re.compile(r"([IWEF])\d{4} [\d:.]+ +\d+ ([^\]\s]+)\] ?(.*)")
RELAY_THREAD = "stderr-relay"
C_CORE_LEVELS = {
    "I": logging.INFO,
    "W": logging.WARNING,
    "E": logging.ERROR,
    "F": logging.CRITICAL,
}


class JsonStderr(logging.StreamHandler):
    """JSON lines on stderr, with what others write there relayed as JSON lines too."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonLines())
        relay_stderr(self)

    def handleError(self, record: logging.LogRecord) -> None:
        # Said on stderr, a relayed line that cannot be written would come round again.
        if threading.current_thread().name != RELAY_THREAD:
            super().handleError(record)


def relay_stderr(handler: logging.StreamHandler[Any]) -> None:
    """Lines written on stderr by others than `logging` come out through it, one record each.

    grpc's C core writes on file descriptor 2 itself, where no Python code sees
    it: that descriptor becomes a pipe a thread reads, and `handler` writes on
    what it was. A C core line keeps its level and source (logger `grpc`); any
    other line is a WARNING of logger `stderr`. Warnings and uncaught exceptions
    are records of their own (one line each, the traceback a field). What is
    left in the pipe as the process exits is relayed first; a line written as
    the process is killed may be lost.
    """
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = lambda caught: _log_uncaught(
        caught.exc_type, caught.exc_value, caught.exc_traceback
    )
    try:
        kept = os.dup(2)
        if faulthandler.is_enabled():  # a crash's traceback goes where stderr went
            faulthandler.enable(kept)
        read_end, write_end = os.pipe()
        sys.stderr.flush()
        os.dup2(write_end, 2)
        os.close(write_end)
    except OSError:  # no descriptor 2 to take over: its lines stay as they are
        return
    handler.setStream(
        open(kept, "w", buffering=1, errors="backslashreplace", closefd=False)  # noqa: SIM115
    )
    relay = threading.Thread(
        target=_relay, args=(read_end,), name=RELAY_THREAD, daemon=True
    )
    relay.start()

    def drain() -> None:
        """At exit: the pipe's last writer gone, the relay reads it to its end."""
        sys.stderr.flush()
        os.dup2(kept, 2)
        relay.join(timeout=2)

    atexit.register(drain)


def _relay(read_end: int) -> None:
    with open(read_end, "rb") as lines:
        for raw in lines:
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not text:
                continue
            line = C_CORE_LINE.fullmatch(text)
            if line is None:
                made = record(STDERR_LOGGER, text)
                made.levelno, made.levelname = logging.WARNING, "WARNING"
            else:
                level, source, message = line.groups()
                made = record(GRPC_LOGGER, message, source=source)
                made.levelno = C_CORE_LEVELS[level]
                made.levelname = logging.getLevelName(made.levelno)
            logger = logging.getLogger(made.name)
            if logger.isEnabledFor(made.levelno):
                logger.handle(made)


def _log_uncaught(
    kind: type[BaseException], error: BaseException | None, _: Any
) -> None:
    if issubclass(kind, SystemExit):  # a thread's way to end: as Python, said nowhere
        return
    UNCAUGHT_LOGGER.critical("uncaught exception", exc_info=error or kind())
