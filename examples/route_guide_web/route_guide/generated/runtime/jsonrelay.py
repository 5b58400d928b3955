"""What the server writes on stderr, relayed as JSON lines (`--log-format json`).

grpc's C core writes its lines on descriptor 2 itself, where `logging` never
sees them (a client speaking plaintext or HTTP/1 to a TLS port makes one). So
with JSON logs the server's descriptor 2 is a pipe this script reads, run as a
process of its own (`logs.relay_stderr`): a line that is a JSON object already
(the server's own records) goes on as it is; a C core line becomes a record of
logger `grpc` with its level and source; any other line a WARNING of logger
`stderr`. A process, not a thread of the server's: it relays the last lines of
a server that aborts (grpc's fatal lines), never takes the server's locks, and
ends once every writer has closed the pipe.

It imports nothing of the project: `python -I jsonrelay.py`, on POSIX systems.
scaffold rewrites this module on every `scaffold gen`: do not edit it.
"""

from __future__ import annotations

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


def rfc3339(seconds: float) -> str:
    """`2026-12-04T18:30:00.123Z`: UTC, to the millisecond."""
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def as_json(text: str, seconds: float) -> str:
    """`text`, a line read at `seconds`, as one JSON object."""
    if text.startswith("{"):
        try:
            if isinstance(json.loads(text), dict):
                return text
        except ValueError:
            pass
    line: dict[str, str] = {"time": rfc3339(seconds)}
    core = C_CORE_LINE.fullmatch(text)
    if core is None:
        line |= {"level": "WARNING", "logger": "stderr", "message": text}
    else:
        level, source, message = core.groups()
        line |= {"level": C_CORE_LEVELS[level], "logger": "grpc", "message": message}
        line["source"] = source
    return json.dumps(line)


def main() -> None:
    # The server waits for this first process alone; the relay goes on in a child of it, which
    # nobody has to wait for (the server cannot: it would have to outlive the relay).
    if os.fork():
        os._exit(0)
    # The server's end is this relay's: a Ctrl-C, or a signal to the whole group, must
    # leave it to relay the server's last lines, then see the pipe close.
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    relaying = True
    for raw in sys.stdin.buffer:
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not text or not relaying:
            continue  # read on all the same: a full pipe would stop the server's writes
        try:
            sys.stdout.write(as_json(text, time.time()) + "\n")
            sys.stdout.flush()
        except OSError:  # nobody reads stderr any more
            relaying = False


if __name__ == "__main__":
    main()
