"""How the server's lines look: text for a terminal, JSON lines for a log collector.

With `--log-format json` every line the server writes is one JSON object:
`time` (RFC 3339, UTC), `level`, `logger` and `message`, then the record's
own fields: the access log's call, a failure's traceback as `exception` (one
string, never lines of its own), the address in the line that says the server
listens. Records go through `logging` as ever, so handlers, levels and
formatters of your own still apply (`serving.configure_logging` sets up only what no one did).

scaffold rewrites this module on every `scaffold gen`: do not edit it.
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

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
