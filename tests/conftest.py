"""Helpers shared by the tests: the real CLI in a subprocess, and generated
projects started as real processes on loopback port 0.

Generated code always runs in a subprocess: one interpreter cannot import two
generations of the same .proto (the descriptor pool refuses the duplicate).
"""

from __future__ import annotations

import compileall
import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import venv
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pytest

from scaffold.live.dev import said

REPO = Path(__file__).resolve().parent.parent
TEST_PROTOS = Path(__file__).resolve().parent / "protos"
DEADLINE_SECONDS = 30.0
_LISTENING = re.compile(r"listening on .*:(\d+)$")


def run_scaffold(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`scaffold ARGS` exactly as a user runs it, through `python -m scaffold`."""
    return subprocess.run(
        [sys.executable, "-m", "scaffold", *map(str, args)],
        check=False,
        cwd=cwd or REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def pytest_configure(config: pytest.Config) -> None:
    """scaffold's modules compiled once, before the first of the suite's thousands of `python -m scaffold`
    runs: with PYTHONDONTWRITEBYTECODE set (as on this CI machine) every run would compile all of them
    again, a third of its time. Python reads the cached bytecode whatever that variable says.

    Started from a script's background job (`.ci/run &`), the suite has SIGINT ignored, and every process it
    starts would inherit that: the tests that stop `dev` and `watch` with Ctrl-C would wait out their
    deadlines. A handler of its own here is reset to the default in each child, as a terminal's would be."""
    compileall.compile_dir(REPO / "scaffold", quiet=1)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


_LONGEST_FIRST = ("test_breaking_oracle.py", "test_fuzz.py")
"""The files that take minutes start first, one to a worker, while the other files share the time left (taken in
xdist's default order, largest file first, the oracle started eight minutes in and ended the run alone)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return _LONGEST_FIRST.index(name) if name in _LONGEST_FIRST else len(_LONGEST_FIRST)

    items.sort(key=rank)  # stable: within a file, and among the rest, the order stays


def progress(config: pytest.Config, line: str) -> None:
    """A line on the terminal while a long fixture works (pytest shows nothing else for minutes then):
    written with pytest's capture off, to the stderr the process started with (an xdist worker's is the run's)."""
    capture = config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        sys.stderr.write(f"\n[{time.strftime('%H:%M:%S')}] {line}\n")
        sys.stderr.flush()


def at_key(pyproject: Path, key: str) -> str:
    """`path:line:col` of `key = ...` in `pyproject`: where a config error must point."""
    for number, line in enumerate(pyproject.read_text().splitlines(), 1):
        if re.match(rf"\s*{re.escape(key)}\s*=", line):
            return f"{pyproject}:{number}:{line.index(key) + 1}"
    raise AssertionError(f"{key} is not in {pyproject}")


def run_python(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], check=False, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` by relative path, caches and `gen --abort`'s record of the last run left out."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not {"__pycache__", ".pytest_cache"} & set(p.parts) and not _in_scaffold_cache(p, root)
    }


def _in_scaffold_cache(path: Path, root: Path) -> bool:
    return path.relative_to(root).as_posix().startswith((".scaffold/cache/", ".scaffold/undo/"))  # not the tree


IMPORT_EVERYTHING = """
import importlib, json, pkgutil, sys
package = importlib.import_module(sys.argv[1])
names = [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
modules = {name: importlib.import_module(name) for name in names}
print(json.dumps({name: {key: getattr(value, "__doc__", None) for key, value in vars(module).items()
                         if isinstance(value, type)} for name, module in modules.items()}))
"""


class CheckedProject(NamedTuple):
    docs: dict[str, dict[str, str | None]]
    """Each generated module's classes and their docstrings."""
    tests: str
    """What the project's own pytest run printed."""

    @property
    def passed(self) -> int:
        """How many of the project's tests passed, from pytest's summary line."""
        summary = re.search(r"^(\d+) passed", self.tests, re.MULTILINE)
        return int(summary[1]) if summary else 0


def check_project(project: Path, package: str) -> CheckedProject:
    """The user's checks on a generated project: every module of `package` imports under -W error,
    its tests pass, ruff and mypy --strict are clean."""
    imported = run_python("-W", "error", "-c", IMPORT_EVERYTHING, package, cwd=project)
    assert imported.returncode == 0, imported.stderr
    tests = run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert tests.returncode == 0, tests.stdout
    lint = run_python("-m", "ruff", "check", "--no-cache", ".", cwd=project)
    assert lint.returncode == 0, lint.stdout
    types = run_python("-m", "mypy", "--cache-dir", os.devnull, package, "tests", cwd=project)
    assert types.returncode == 0, types.stdout
    return CheckedProject(json.loads(imported.stdout), tests.stdout)


def run_tests_in_fresh_venv(
    project: Path, environment: Path, *also: str
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """`project` installed with its test extras (and the requirements `also`) into a new virtual environment
    at `environment`, from its own dependencies (PyPI), and its tests run there: that environment's python,
    and what pytest said. A failed install fails the test, with pip's words."""
    venv.create(environment, with_pip=True)
    python = environment / "bin/python"
    install = [str(python), "-m", "pip", "install", "-q", "-e", f"{project}[test]", *also]
    installed = subprocess.run(install, capture_output=True, text=True, check=False, timeout=600)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    pytest_run = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    return python, subprocess.run(pytest_run, cwd=project, capture_output=True, text=True, check=False, timeout=300)


@dataclass
class RunningServer:
    process: subprocess.Popen[str]
    port: int
    lines: queue.Queue[str]
    printed: list[str]  # what it printed up to the line with its port
    pump: threading.Thread  # reads its output until every writer is gone (a JSON log's relay too)

    def wait_for(self, wanted: re.Pattern[str], count: int = 1) -> list[str]:
        """Every line printed from now on until `count` of them match `wanted` (fails at the deadline)."""
        seen: list[str] = []
        deadline = time.monotonic() + DEADLINE_SECONDS
        while sum(1 for line in seen if wanted.search(line)) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"the server did not print {count} lines matching {wanted.pattern!r}: {seen}")
            try:
                seen.append(self.lines.get(timeout=min(remaining, 0.5)))
            except queue.Empty:
                continue
        return seen

    def stop(self, sig: int = signal.SIGTERM) -> list[str]:
        """Send `sig`, wait for exit, and return what the server printed after it bound."""
        self.process.send_signal(sig)
        self.process.wait(timeout=DEADLINE_SECONDS)
        self.pump.join(DEADLINE_SECONDS)
        assert not self.pump.is_alive(), "the server's output did not end: a child of its own holds it open"
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get_nowait())
        return rest


@contextmanager
def lock_held_elsewhere(root: Path, release: bool = False) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the project lock of `root` until a line is written to its stdin (at the
    block's end, if the block has not), then, with `release`, taking the lock's files away as a failed
    `new` does (`scaffold.record.lock.released`)."""
    then = "; lock.released(root)" if release else ""
    code = (
        "import sys; from pathlib import Path; from scaffold.record import lock\n"
        "root = Path(sys.argv[1])\n"
        f"with lock.held(root):\n    print('held', flush=True); sys.stdin.readline(){then}\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline() == "held\n"
    try:
        yield holder
    finally:
        if holder.poll() is None:
            with contextlib.suppress(BrokenPipeError):
                holder.stdin.write("\n")
                holder.stdin.flush()
        holder.wait(30)


@contextmanager
def served(project: Path, package: str, extra: Sequence[str] = ()) -> Iterator[RunningServer]:
    """`python -m PACKAGE.server --port 0` in `project`, once it has printed the port it bound."""
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", f"{package}.server", "--host", "127.0.0.1", "--port", "0", *extra],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))

    pump_thread = threading.Thread(target=pump, daemon=True)
    pump_thread.start()
    seen = []
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or process.poll() is not None and lines.empty():
                pytest.fail(f"server did not report its port; it printed: {seen}")
            try:
                line = lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            seen.append(line)
            match = _LISTENING.search(said(line))
            if match:
                break
        server = RunningServer(process, int(match.group(1)), lines, seen, pump_thread)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        pump_thread.join(DEADLINE_SECONDS)  # the process is gone: its pipe reaches EOF
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """`scaffold new` for a named fixture proto (and flavour), run once per session and shared read-only."""
    cache: dict[tuple[str, bool], Path] = {}
    sources = {
        "helloworld": (REPO / "protos/helloworld.proto",),
        "route_guide": (REPO / "protos/route_guide.proto",),
        "shop": (TEST_PROTOS / "multi/shop.proto", "-I", TEST_PROTOS / "multi"),
        "clock": (TEST_PROTOS / "wkt/clock.proto",),
    }

    def make(name: str, aio: bool = False) -> Path:
        if (name, aio) not in cache:
            out = tmp_path_factory.mktemp("projects") / name
            result = run_scaffold("new", *sources[name], "-o", out, *(["--aio"] if aio else []))
            assert result.returncode == 0, result.stderr
            cache[(name, aio)] = out
        return cache[(name, aio)]

    return make
