"""`scaffold dev`: the watch loop and the project's server, restarted on every save (uvicorn --reload for gRPC).

One loop watches the inputs (as `watch` does) and the `.py` files of the
project's package. A save of an input regenerates (same generation, same
guarantees as `watch`); a regeneration that changed files, or a save of the
package's own code, restarts the server once per burst of saves: a graceful
stop (SIGTERM; the server's grace period), then a new server on the same
port, and one line that says why and how long until it accepted a call.

The server is a child process in the project's interpreter, with health
checks and reflection on whatever the config says (`scaffold.live.devserver`). It never
outlives `dev`: it gets SIGTERM when `dev` stops, and the kernel sends it one
(PR_SET_PDEATHSIG) when `dev` dies without a chance to, even by SIGKILL. A
server that fails to start (a syntax error, a port in use) shows its
traceback; `dev` keeps watching and tries again on the next save. A proto
that does not compile leaves the running server serving the last good code.
"""

from __future__ import annotations

import errno
import hashlib
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import watchfiles

from scaffold.core.processes import die_with_parent
from scaffold.generation import configfile
from scaffold.generation.merge import conflict_lines
from scaffold.live.watch import Watcher, WatchEvent

_LISTENING = re.compile(r"listening on (?P<host>.*):(?P<port>\d+)\s*$")
READY_SECONDS = 30.0
RETRY_SECONDS = 1.0


def said(line: str) -> str:
    """What a line of the server says: its `message` when it is a JSON line (`--log-format json`)."""
    if line.startswith("{"):
        try:
            message = json.loads(line).get("message")
        except (ValueError, AttributeError):
            return line
        return message if isinstance(message, str) else line
    return line


def port_holder(port: int) -> str | None:
    """`PID (command)` of the process listening on TCP `port`, from Linux's /proc; None where it cannot be
    known (another system, another user's process)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().split("\n")[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rpartition(":")[2], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    for process in Path("/proc").iterdir() if inodes else ():
        if not process.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (process / "fd").iterdir()):
                command = " ".join(
                    (process / "cmdline").read_bytes().decode(errors="replace").replace("\0", " ").split()
                )
                return f"{process.name} ({command[:80]})"
        except OSError:
            continue
    return None


class Server:
    """The project's server as a child process, its output passed through line by line."""

    def __init__(
        self,
        root: Path,
        package: str,
        host: str,
        port: int,
        args: Sequence[str],
        say: Callable[[str], None],
        stop: threading.Event,
    ):
        self.root, self.package, self.host, self.port, self.args, self.say = root, package, host, port, args, say
        self.stopping = stop
        self.process: subprocess.Popen[str] | None = None
        self._bound = threading.Event()

    def start(self) -> bool:
        """Start it and wait until it accepts calls; False (its output shown) if it exits first."""
        self._bound.clear()
        command = [
            sys.executable,
            "-u",
            "-m",
            "scaffold.live.devserver",
            self.package,
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        self.process = subprocess.Popen(
            [*command, *self.args],
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - only prctl, safe between fork and exec
        )
        threading.Thread(target=self._pump, args=(self.process,), daemon=True).start()
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline and not self.stopping.is_set():
            if self._bound.wait(0.02):
                return self._ready(deadline)
            if self.process.poll() is not None:
                time.sleep(0.05)  # let the pump print the last lines (the traceback)
                if self._port_taken():
                    return self._when_port_frees()
                self.say(f"server exited with code {self.process.returncode}; fix it and save: dev keeps watching")
                return False
        if not self.stopping.is_set():
            self.say("server did not start listening in time; stopping it")
        self.stop()
        return False

    def _port_taken(self) -> bool:
        if self.port == 0:
            return False
        with socket.socket(socket.AF_INET6 if ":" in self._call_host() else socket.AF_INET) as probe:
            try:
                probe.bind((self._call_host(), self.port))
            except OSError as error:
                return error.errno == errno.EADDRINUSE
        return False

    def _when_port_frees(self) -> bool:
        """No save frees a port: say who holds it, then start again as soon as it is free (or dev stops)."""
        holder = port_holder(self.port)
        who = f"process {holder}" if holder else "another process"
        self.say(f"port {self.port} is in use by {who}; dev starts the server when it is free (Ctrl-C to stop)")
        while not self.stopping.wait(RETRY_SECONDS):
            if not self._port_taken():
                return self.start()
        return False

    def _ready(self, deadline: float) -> bool:
        """The port accepts connections. A TCP connection, not a gRPC channel: the server may speak TLS
        (`scaffold dev -- --tls-cert ... --tls-key ...`), which a plaintext channel never gets ready on."""
        try:
            with socket.create_connection(
                (self._call_host(), self.port), timeout=max(0.1, deadline - time.monotonic())
            ):
                return True
        except OSError:
            self.say("server bound its port but accepts no connection")
            return False

    def _call_host(self) -> str:
        return "127.0.0.1" if self.host in ("", "[::]", "0.0.0.0", "::") else self.host

    def _pump(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            text = line.rstrip("\n")
            bound = _LISTENING.search(said(text))
            if bound:
                self.port = int(bound["port"])  # port 0 the first time: keep the one it got
                self._bound.set()
            self.say(f"server | {text}")

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM (the server drains its calls for its grace period), then SIGKILL if it is still there."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace + 5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class DevLoop:
    def __init__(
        self,
        root: Path,
        host: str,
        port: int,
        args: Sequence[str],
        say: Callable[[str], None],
        on_event: Callable[[WatchEvent], None],
        stop: threading.Event | None = None,
    ) -> None:
        self.root = root.resolve()
        self.stop = stop or threading.Event()
        self.say = say
        self.watcher = Watcher(self.root, on_event, self.stop)
        config = configfile.load(self.root)
        self.package, self.grace = config.package, config.grace_seconds
        self.server = Server(self.root, config.package, host, port, args, say, self.stop)
        self._written: dict[str, str] = {}  # path -> sha256 of what the last regeneration wrote there
        self._conflicted: set[str] = set()  # files a regeneration left with conflict markers

    def code_changed(self, path: str) -> bool:
        """A `.py` file of the project's package (not its tests, not scaffold's state)."""
        candidate = Path(path)
        return candidate.suffix == ".py" and candidate.is_relative_to(self.root / self.package)

    def run(self) -> None:
        """Generate, serve, and on every burst of saves regenerate and restart; until `stop` (or Ctrl-C)."""
        started = False
        try:
            for changed in self.watcher.batches(also=self.code_changed):
                if not started:  # the watches are live: nothing saved from here on is missed
                    started = True
                    self._note(self.watcher.cycle(("startup",)))
                    if not self._unresolved():
                        self._restart("startup")
                self._handle(changed)
        finally:
            self.server.stop(self.grace)

    def _handle(self, paths: set[str]) -> None:
        inputs = sorted(p for p in paths if self.watcher.accepts(watchfiles.Change.modified, p))
        code = sorted(p for p in paths if self.code_changed(p) and not self._wrote_it(p))
        if not inputs and not code:
            return  # the files the last regeneration wrote, arriving as their own burst: counted already
        reasons = []
        written = self._note(self.watcher.cycle([_relative(p, self.root) for p in inputs] or ["inputs changed"]))
        if written:
            reasons.append("regenerated")
        reasons += [_relative(p, self.root) for p in code]
        _forget_bytecode([*code, *written])
        if reasons and not self._unresolved():
            self._restart(", ".join(dict.fromkeys(reasons)))

    def _note(self, event: WatchEvent | None) -> list[str]:
        """The files a regeneration wrote, remembered with what it wrote (their own burst of saves is not
        another change) and with the conflicts it left."""
        if event is None or event.kind != "generated" or event.report is None or not event.report.written:
            return []
        files = [f for f in event.report.plan.files if f.writes]
        self._written = {str(self.root / f.path): _sha256(f.content) for f in files if f.content is not None}
        self._conflicted |= {str(self.root / f.path) for f in files if f.action == "conflict"}
        return [str(self.root / f.path) for f in files]

    def _wrote_it(self, path: str) -> bool:
        """A file the last regeneration wrote, as it wrote it: its own save was already counted, once."""
        try:
            return self._written.get(path) == _sha256(Path(path).read_bytes())
        except OSError:
            return False

    def _unresolved(self) -> bool:
        """Whether a conflict of the last regenerations is still in a file: the server would die on its
        markers, so the one running (the last good code) goes on until the user resolves them."""
        still = set()
        for path in sorted(self._conflicted):
            try:
                if conflict_lines(Path(path).read_bytes()):
                    still.add(path)
            except OSError:
                continue
        self._conflicted = still
        if still:
            listed = ", ".join(_relative(p, self.root) for p in sorted(still))
            self.say(f"conflict markers in {listed}: resolve them and save; the server serves the last good code")
        return bool(still)

    def _restart(self, reason: str) -> None:
        started = time.perf_counter()
        self.server.stop(self.grace)
        if not self.stop.is_set() and self.server.start():
            elapsed = (time.perf_counter() - started) * 1000
            self.say(
                f"[{time.strftime('%H:%M:%S')}] {reason}: serving on {self.server.host}:{self.server.port} ({elapsed:.0f} ms)"
            )


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _forget_bytecode(paths: list[str]) -> None:
    """Drop the cached bytecode of files that just changed.

    Python trusts a .pyc whose recorded source mtime (in whole seconds) and
    size match: two saves of the same size within one second (a number
    changed in a reply) would restart the server on the old code.
    """
    for path in paths:
        if path.endswith(".py"):
            try:
                os.unlink(importlib.util.cache_from_source(path))
            except (OSError, ValueError, NotImplementedError):
                pass


def _relative(path: str, root: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return path
