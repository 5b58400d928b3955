"""How the server's lines look: text for a terminal, JSON lines for a log collector.

With `--log-format json` every line the server writes is one JSON object:
`time` (RFC 3339, UTC), `level`, `logger` and `message`, then the record's
own fields: the access log's call, a failure's traceback as `exception` (one
string, never lines of its own), the address in the line that says the server
listens. Records go through `logging` as ever, so handlers, levels and
formatters of your own still apply (`serving.configure_logging` sets up only what no one did).

Off a terminal (a file, a pipe to a collector) the lines are written in
batches: `BatchedHandler` writes each record into a buffer at once and
flushes it every `FLUSH_SECONDS` and at exit, so a busy server makes one
write for many calls rather than one per call, each of which hands the GIL
to another thread and waits to get it back.

scaffold rewrites this module on every `scaffold gen`: do not edit it.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import sys
import threading
from typing import IO, Any

FLUSH_SECONDS = 0.2
FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
SERVER_LOGGER = logging.getLogger("helloworld.server")


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


class BatchedHandler(logging.Handler):
    """Writes each record to `stream` and leaves the flushing to a thread of its own, every `seconds`,
    and to `logging.shutdown` at exit: a line is out within `seconds` of its record."""

    def __init__(self, stream: IO[str], seconds: float = FLUSH_SECONDS) -> None:
        super().__init__()
        self.stream = stream
        self._closed = threading.Event()
        flusher = threading.Thread(
            target=self._flush_every, args=(seconds,), name="log-flush", daemon=True
        )
        flusher.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + "\n")
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - as logging's own handlers: report it, never raise
            self.handleError(record)

    def flush(self) -> None:
        with self.lock or contextlib.nullcontext():
            self.stream.flush()

    def close(self) -> None:
        self._closed.set()
        self.flush()
        super().close()

    def _flush_every(self, seconds: float) -> None:
        while not self._closed.wait(seconds):
            self.flush()


def stderr_handler() -> logging.Handler:
    """stderr: a line at once on a terminal, in batches elsewhere (`BatchedHandler`)."""
    if sys.stderr.isatty():
        return logging.StreamHandler()
    stream = open(  # noqa: SIM115 - stderr's own descriptor, open for the process's life
        sys.stderr.fileno(),
        "w",
        buffering=1 << 16,
        encoding=sys.stderr.encoding,
        errors="backslashreplace",
        closefd=False,
    )
    return BatchedHandler(stream)


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
    the plain message, or with `json` a JSON line like the log's; what was logged before it is out first."""
    for handler in logging.getLogger().handlers:
        handler.flush()
    if log_format == "json":
        message = JsonLines().format(record(SERVER_LOGGER, message, **fields))
    print(message, flush=True)
