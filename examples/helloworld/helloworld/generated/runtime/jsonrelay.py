"""What the server writes on stderr, relayed as JSON lines (`--log-format json`).

grpc's C core writes its lines on descriptor 2 itself, where `logging` never
sees them (a client speaking plaintext or HTTP/1 to a TLS port makes one). So
with JSON logs the server's descriptor 2 is a pipe this script reads, run as a
process of its own (`logs.relay_stderr`): a line that is a JSON object already
(the server's own records) goes on as it is; a C core line becomes a record of
logger `grpc` with its level and source; any other line a WARNING of logger
`stderr`. A process, not a thread of the server's: it never takes the server's
locks, relays the last lines of a server that aborts (grpc's fatal lines), and
ends once every writer has closed the pipe.

It imports nothing of the project: `python -I -S jsonrelay.py ACK_FD`, on POSIX.
scaffold rewrites this module on every `scaffold gen`: do not edit it.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import signal
import sys
import time

# "I1206 07:45:42.722329   24443 ssl_transport_security.cc:2563] Handshake failed ...": absl's form.
C_CORE_LINE = re.compile(r"([IWEF])\d{4} [\d:.]+ +\d+ ([^\]\s]+)\] ?(.*)")
C_CORE_LEVELS = {"I": "INFO", "W": "WARNING", "E": "ERROR", "F": "CRITICAL"}
# The line the server writes as it exits: once it is read, all before it went on.
DRAINED = b"\x00jsonrelay: drained?\n"


def rfc3339(seconds: float) -> str:
    """`2026-12-04T18:30:00.123Z`: UTC, to the millisecond."""
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def as_json(text: str) -> str:
    """`text`, a line read now, as one JSON object."""
    if text.startswith("{"):
        try:
            if isinstance(json.loads(text), dict):
                return text
        except (ValueError, RecursionError):
            pass
    core = C_CORE_LINE.fullmatch(text)
    if core is None:
        return record("WARNING", "stderr", text)
    level, source, message = core.groups()
    return record(C_CORE_LEVELS[level], "grpc", message, source=source)


def record(level: str, logger: str, message: str, **fields: str) -> str:
    """A JSON line of the form of the server's own (`logs.JsonLines`)."""
    line = {"time": rfc3339(time.time()), "level": level, "logger": logger}
    return json.dumps(line | {"message": message} | fields)


def main() -> None:
    """Relays stdin to stdout line by line, telling descriptor ACK_FD when the server's exit line came."""
    # The server waits for this first process alone; the relay goes on in a child of it, which
    # nobody has to wait for (the server cannot: it would have to outlive the relay).
    if os.fork():
        os._exit(0)
    # The server's end is the relay's: a Ctrl-C, or a signal to the whole group, must leave
    # it to relay the server's last lines and then see the pipe close.
    for ending in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(ending, signal.SIG_IGN)
    acknowledge, writing = int(sys.argv[1]), True
    # Read on when nobody reads stderr any more: a full pipe would stop the server.
    for raw in sys.stdin.buffer:
        drained = raw.endswith(DRAINED)  # after a line left without its end, maybe
        text = raw.removesuffix(DRAINED).decode("utf-8", "replace").rstrip("\r\n")
        if text and writing:
            writing = write(text)
        if drained:
            with contextlib.suppress(OSError):  # a server gone already
                os.write(acknowledge, b".")


def write(text: str) -> bool:
    """`text` on stdout as a JSON line; False once nobody reads it."""
    try:
        line = as_json(text)
    except Exception:  # noqa: BLE001 - a line no rule foresaw goes on as a message
        line = record("WARNING", "stderr", text)
    try:
        sys.stdout.buffer.write(line.encode() + b"\n")
        sys.stdout.buffer.flush()
    except OSError:
        return False
    return True


if __name__ == "__main__":
    main()
