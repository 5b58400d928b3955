"""The real watcher on a real project: saves as editors make them, bad input,
vanishing directories, internal errors and Ctrl-C. Deadline loops only."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import watchfiles
from conftest import REPO, run_scaffold, tree

from scaffold.live import watch as watch_module
from scaffold.live.watch import Watcher, WatchEvent

DEADLINE = 20.0
PROTO = (REPO / "protos/helloworld.proto").read_text()
MARK = "Answers with a greeting for the name in the request."


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


class Running:
    def __init__(self, project: Path) -> None:
        self.project = project
        self.events: list[WatchEvent] = []
        self.proto = project / "protos/helloworld.proto"
        self.grpc_module = project / "helloworld/generated/helloworld_pb2_grpc.py"
        self._sentinels = 0

    def wait_events(self, count: int) -> list[WatchEvent]:
        wait_until(lambda: len(self.events) >= count, f"{count} watch events (have {self.events})")
        return self.events

    def proto_with(self, marker: str) -> str:
        return PROTO.replace(MARK, f"{MARK} {marker}")

    def sentinel(self) -> None:
        """Save a distinct change and wait for its run: events come in order, so every earlier batch is done."""
        self._sentinels += 1
        marker = f"sentinel-{self._sentinels}".encode()
        self.proto.write_text(self.proto_with(marker.decode()))

        def seen() -> bool:
            return any(
                e.report is not None and any(f.content and marker in f.content for f in e.report.plan.files)
                for e in self.events
            )

        wait_until(seen, marker.decode())

    def generated(self) -> list[WatchEvent]:
        return [e for e in self.events if e.kind == "generated"]


@contextmanager
def watching(tmp_path: Path) -> Iterator[Running]:
    project = tmp_path / "project"
    assert run_scaffold("new", REPO / "protos/helloworld.proto", "-o", project).returncode == 0
    running = Running(project)
    stop = threading.Event()
    watcher = Watcher(project, running.events.append, stop)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        running.wait_events(1)  # the startup generation
        assert running.events[0].trigger == ("startup",)
        running.sentinel()  # the watch is live
        yield running
    finally:
        stop.set()
        thread.join(DEADLINE)
        assert not thread.is_alive()


def test_save_regenerates_and_reports_what_changed(tmp_path: Path) -> None:
    with watching(tmp_path) as w:
        before = len(w.events)
        w.proto.write_text(w.proto_with("edited"))
        event = w.wait_events(before + 1)[-1]
        assert event.kind == "generated" and event.trigger == ("protos/helloworld.proto",)
        assert event.report is not None
        assert {f.path for f in event.report.plan.changed} >= {"helloworld/generated/helloworld_pb2_grpc.py"}


def test_syntax_error_is_reported_and_the_next_fix_regenerates(tmp_path: Path) -> None:
    with watching(tmp_path) as w:
        before_tree = tree(w.project)
        count = len(w.events)
        w.proto.write_text(PROTO.replace("string name = 1;", "string name = 1"))
        failed = w.wait_events(count + 1)[-1]
        assert failed.kind == "failed"
        assert str(failed.diagnostics[0]).startswith(f"{w.proto}:")
        assert tree(w.project) == {**before_tree, "protos/helloworld.proto": w.proto.read_bytes()}
        w.proto.write_text(w.proto_with("fixed"))
        assert w.wait_events(count + 2)[-1].kind == "generated"


def test_rename_save_is_exactly_one_regeneration(tmp_path: Path) -> None:
    with watching(tmp_path) as w:
        count = len(w.generated())
        temp = w.proto.with_name(".helloworld.proto.swx")
        temp.write_text(w.proto_with("renamed-in"))
        os.replace(temp, w.proto)
        wait_until(lambda: "renamed-in" in w.grpc_module.read_text(), "rename-save")
        w.sentinel()
        assert len(w.generated()) == count + 2


@pytest.mark.parametrize(
    "editor_files",
    [["4913", "helloworld.proto~"], ["helloworld.proto___jb_tmp___", "helloworld.proto___jb_old___"]],
    ids=["vim", "jetbrains"],
)
def test_editor_temp_files_alone_trigger_nothing(tmp_path: Path, editor_files: list[str]) -> None:
    with watching(tmp_path) as w:
        count = len(w.events)
        for name in editor_files:
            (w.proto.parent / name).write_text(PROTO)
        (w.proto.parent / editor_files[0]).unlink()
        w.sentinel()
        assert len(w.events) == count + 1


def test_burst_of_saves_coalesces_and_ends_on_the_last(tmp_path: Path) -> None:
    with watching(tmp_path) as w:
        count = len(w.generated())
        for number in range(5):
            w.proto.write_text(w.proto_with(f"burst-{number}"))
        wait_until(lambda: "burst-4" in w.grpc_module.read_text(), "the last save")
        w.sentinel()
        assert len(w.generated()) - count <= 3  # at most a couple of batches, plus the sentinel
        assert "burst-3" not in w.grpc_module.read_text()


def test_own_output_never_passes_the_filter(tmp_path: Path) -> None:
    with watching(tmp_path) as w:
        watcher = Watcher(w.project, lambda event: None)
        for own in [
            "helloworld/generated/helloworld_pb2.py",
            "helloworld/servicer.py",
            ".scaffold/manifest.json",
            ".scaffold/base/pyproject.toml",
            ".scaffold/txn/new/protos/x.proto",
        ]:
            assert not watcher.accepts(watchfiles.Change.modified, str(w.project / own)), own
        for own_input in ["protos/helloworld.proto", "pyproject.toml"]:
            assert watcher.accepts(watchfiles.Change.modified, str(w.project / own_input))
        count = len(w.events)
        w.sentinel()  # the sentinel's own writes cause no further run
        w.sentinel()
        assert len(w.events) == count + 2


def test_deleted_proto_and_deleted_directory_then_recreated(tmp_path: Path) -> None:
    with watching(tmp_path) as w:
        count = len(w.events)
        w.proto.unlink()
        failed = w.wait_events(count + 1)[-1]
        assert failed.kind == "failed" and "no such proto file" in str(failed.diagnostics[0])
        w.proto.write_text(w.proto_with("back"))
        assert w.wait_events(count + 2)[-1].kind == "generated"

        shutil.rmtree(w.proto.parent)  # a branch switch
        assert w.wait_events(count + 3)[-1].kind == "failed"
        w.proto.parent.mkdir()
        w.proto.write_text(w.proto_with("branch"))
        wait_until(lambda: "branch" in w.grpc_module.read_text(), "regeneration after the directory came back")


def test_internal_error_is_reported_once_and_the_loop_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = watch_module.regenerate
    crashes = []

    def flaky(root: Path, **options: bool):  # type: ignore[no-untyped-def]
        if len(crashes) < 2:
            crashes.append(root)
            raise RuntimeError("bug in a template filter")
        return real(root, **options)

    with watching(tmp_path) as w:
        monkeypatch.setattr(watch_module, "regenerate", flaky)
        count = len(w.events)
        w.proto.write_text(w.proto_with("crash-1"))
        first = w.wait_events(count + 1)[-1]
        assert first.kind == "crashed" and "RuntimeError: bug in a template filter" in first.traceback
        assert not first.repeated
        w.proto.write_text(w.proto_with("crash-2"))
        assert w.wait_events(count + 2)[-1].repeated
        w.sentinel()


def test_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    project = tmp_path / "project"
    assert run_scaffold("new", REPO / "protos/helloworld.proto", "-o", project).returncode == 0
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "scaffold", "watch", "-C", str(project)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    deadline = time.monotonic() + DEADLINE
    while not any("] startup: " in line for line in lines):
        assert time.monotonic() < deadline, lines
        lines.append(process.stdout.readline())
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=DEADLINE)
    assert process.returncode == 0, rest
    assert rest.rstrip().endswith("Stopped.")
    assert "Traceback" not in rest
    assert not (project / ".scaffold/txn").exists()
    assert not list(tmp_path.glob(".*scaffold*"))
