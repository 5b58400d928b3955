"""Issue 30: a medium tree's protoc and a new tree's files use both cores, to the one-core result.

A batch protoc compiles in one run splits its generators with a child process beside it
(`scaffold.generation.sharding.generators_apart`), and a new tree's files are written by two threads
(`scaffold.record.fileops.write_new_tree`): same outputs, descriptors, warnings and errors as one run;
same tree as one writer; a failure on either side stops the other and is raised, never lost.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DEADLINE_SECONDS
from test_large_batches import COMMON, UNUSED, _compile, _readers, _service

from scaffold.core.errors import ScaffoldError
from scaffold.generation import protoc, sharding
from scaffold.record import fileops, validate, write


def _batch(root: Path, count: int = 8) -> list[str]:
    (root / "big").mkdir()
    (root / "big/common.proto").write_text(COMMON)
    (root / "big/extra.proto").write_text(UNUSED)
    names = ["big/extra.proto"]
    for index in range(count):
        (root / f"big/s{index}.proto").write_text(_service(index))
        names.append(f"big/s{index}.proto")
    return names


def _apart(monkeypatch: pytest.MonkeyPatch, apart: bool) -> list[list[str]]:
    """Whether a one-run batch splits its generators from now on; the child command lines it started."""
    started: list[list[str]] = []
    beside = sharding.beside_a_child

    def spied(child: list[str], own: Callable[[], tuple[int, str]]) -> list[tuple[int, str]]:
        started.append(child)
        return beside(child, own)

    monkeypatch.setattr(sharding, "at_once", lambda: 2)
    monkeypatch.setattr(sharding, "SHARD_FROM_BYTES", 10**12)
    monkeypatch.setattr(sharding, "GENERATORS_APART_FROM_BYTES", 0 if apart else 10**12)
    monkeypatch.setattr(sharding, "beside_a_child", spied)
    return started


@pytest.mark.parametrize("with_descriptors", [True, False])
def test_generators_apart_give_the_one_runs_outputs_descriptors_and_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_descriptors: bool
) -> None:
    names = _batch(tmp_path)
    inputs = protoc.resolve_inputs([tmp_path / name for name in names], [tmp_path])
    _apart(monkeypatch, False)
    one = protoc.compile_files(names, (tmp_path,), inputs, with_descriptors)
    started = _apart(monkeypatch, True)
    apart = protoc.compile_files(names, (tmp_path,), inputs, with_descriptors)
    assert len(started) == 1 and not any(a.startswith(("--python_out", "--descriptor_set_out")) for a in started[0])
    assert apart.outputs == one.outputs and len(one.outputs) == 3 * len(names)
    if with_descriptors:
        assert apart.descriptors is not None and one.descriptors is not None
        assert apart.descriptors.SerializeToString() == one.descriptors.SerializeToString()
    else:
        assert apart.descriptors is None and one.descriptors is None
    assert apart.warnings == one.warnings
    assert [w.message for w in apart.warnings] == ["Import google/protobuf/empty.proto is unused."]


def test_a_batch_of_a_few_protos_or_little_text_stays_in_one_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A save's batch (up to `ZIPPED_ABOVE` protos) never pays a child's start; nor a batch below the bytes."""
    names = _batch(tmp_path)
    started = _apart(monkeypatch, True)
    _compile(tmp_path, names[: protoc.ZIPPED_ABOVE])
    assert started == []
    monkeypatch.setattr(sharding, "GENERATORS_APART_FROM_BYTES", 10**12)
    _compile(tmp_path, names)
    assert started == []
    monkeypatch.setattr(sharding, "at_once", lambda: 1)  # one core: nothing to run beside
    monkeypatch.setattr(sharding, "GENERATORS_APART_FROM_BYTES", 0)
    _compile(tmp_path, names)
    assert started == []


@pytest.mark.parametrize("broken", ["big/common.proto", "big/s1.proto"])
def test_a_failing_batch_with_generators_apart_says_what_the_one_run_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    names = _batch(tmp_path)
    for name in (broken, "big/s4.proto"):
        (tmp_path / name).write_text((tmp_path / name).read_text().replace("string", "strin", 1))
    _apart(monkeypatch, False)
    with pytest.raises(ScaffoldError) as alone:
        _compile(tmp_path, names)
    started = _apart(monkeypatch, True)
    with pytest.raises(ScaffoldError) as apart:
        _compile(tmp_path, names)
    assert len(started) == 1
    said = [str(problem) for problem in apart.value.diagnostics]
    assert said == [str(problem) for problem in alone.value.diagnostics] and f"{broken}:" in said[0], said


def test_a_child_that_dies_fails_the_batch_located(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its outputs missing is never a batch with fewer modules: the run fails, saying how the child ended."""
    names = _batch(tmp_path)
    _apart(monkeypatch, True)
    monkeypatch.setattr(sharding, "_CHILD", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    with pytest.raises(ScaffoldError) as raised:
        _compile(tmp_path, names)
    assert [str(p) for p in raised.value.diagnostics] == [
        f"{tmp_path / names[0]}:1:1: protoc failed without a message (stopped by signal 9)"
    ]


def test_the_child_is_stopped_when_this_process_run_is_cut_short(tmp_path: Path) -> None:
    """Ctrl-C (or any exception) while this process's run goes on: the child, blocked reading a FIFO no one
    writes, does not outlive it."""
    fifo = tmp_path / "blocked.proto"
    os.mkfifo(fifo)

    def own() -> tuple[int, str]:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not _readers([str(fifo)]) and time.monotonic() < deadline:
            time.sleep(0.01)  # a poll of /proc until the child runs
        assert _readers([str(fifo)]), "the child started"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sharding.beside_a_child([f"-I{tmp_path}", f"--pyi_out={tmp_path}", str(fifo)], own)
    assert not _readers([str(fifo)]), "no protoc child outlives the run"


def _tree(count: int) -> dict[str, bytes]:
    return {f"pkg/d{index % 7}/m{index:04}.py": f"VALUE = {index}\n".encode() for index in range(count)}


@pytest.mark.parametrize("count", [10, 1000])
def test_a_new_tree_is_written_whole_and_progress_is_told_from_the_calling_thread(tmp_path: Path, count: int) -> None:
    files = _tree(count)
    told: list[tuple[int, int, str]] = []
    fileops.write_new_tree(
        tmp_path, files, lambda done, total: told.append((done, total, threading.current_thread().name))
    )
    written = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert written == files
    assert told[-1][:2] == (count, count)
    assert all(total == count and name == threading.current_thread().name for _, total, name in told)
    assert [done for done, _, _ in told] == sorted(done for done, _, _ in told), "never going back"


@pytest.mark.parametrize("writer", ["this thread", "the helper"])
def test_a_file_one_writer_cannot_write_stops_both_and_is_raised(tmp_path: Path, writer: str) -> None:
    """A directory where a file goes, in either writer's half (the helpers write the files between its own): the
    error is raised in the caller (who takes the staged tree away), and the other writer stops early."""
    files = _tree(1000)
    blocked = list(files)[501 if writer == "this thread" else 502]
    (tmp_path / blocked).mkdir(parents=True)
    with pytest.raises(IsADirectoryError) as raised:
        fileops.write_new_tree(tmp_path, files, None)
    assert raised.value.filename == str(tmp_path / blocked)
    assert not any(thread.name == "scaffold-writer" for thread in threading.enumerate()), "the helper is done"
    written = sum(1 for p in tmp_path.rglob("*") if p.is_file())
    assert written < len(files) - 1, f"the other writer stopped early: {written} of {len(files)}"


def _modules(count: int, broken: dict[int, bytes] | None = None) -> dict[str, bytes]:
    files = {f"pkg/m{index:03}.py": f"VALUE = {index}\n".encode() for index in range(count)}
    files |= {f"pkg/m{index:03}.py": content for index, content in (broken or {}).items()}
    return files


def _pools_asked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many modules each pool `checking` (or `check_ahead`) asked for was to check."""
    asked: list[int] = []
    pool = validate._pool

    def spied(jobs: int, workers: int = validate._WORKERS) -> object:
        asked.append(jobs)
        return pool(jobs, workers)

    monkeypatch.setattr(validate, "_pool", spied)
    monkeypatch.setattr(validate, "_WORKERS", 2)  # on any machine
    return asked


def test_modules_checked_ahead_are_not_compiled_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """protoc's outputs, handed over while the run goes on, leave only the rest for the check before writing."""
    asked = _pools_asked(monkeypatch)
    ahead, rest = _modules(200), {f"app/own{index}.py": f"X = {index}\n".encode() for index in range(100)}
    with validate.ahead_of_writing():
        validate.check_ahead(ahead)
        write.create_tree(tmp_path / "project", ahead | rest)
    assert asked == [200, 100], "the ahead pool's 200 modules, then only the run's own 100"
    assert (tmp_path / "project/pkg/m150.py").read_bytes() == b"VALUE = 150\n"


@pytest.mark.parametrize("scope", [True, False])
def test_problems_found_ahead_are_said_as_the_check_before_writing_says_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scope: bool
) -> None:
    """Located at the project's path, in path order with the run's own modules' problems, nothing written;
    the same with the check ahead as without it."""
    _pools_asked(monkeypatch)
    ahead = _modules(200, {150: b"def broken(:\n", 20: b"x = '\\d'\n"})
    rest = {f"app/own{index}.py": f"X = {index}\n".encode() for index in range(100)} | {"app/own50.py": b"return 1\n"}
    root = tmp_path / "project"
    with validate.ahead_of_writing() if scope else contextlib.nullcontext(), pytest.raises(ScaffoldError) as raised:
        validate.check_ahead(ahead)
        write.create_tree(root, ahead | rest)
    assert [str(p) for p in raised.value.diagnostics] == [
        f"{root}/app/own50.py:1:1: generated code does not compile: 'return' outside function",
        f"{root}/pkg/m020.py:1:5: generated code does not compile: invalid escape sequence '\\d'",
        f"{root}/pkg/m150.py:1:12: generated code does not compile: invalid syntax",
    ]
    assert not root.exists() and os.listdir(tmp_path) == []


def _worker_gone(jobs: object) -> object:  # pragma: no cover - runs in the ahead worker, which it ends
    os._exit(1)


def test_a_worker_that_dies_ahead_leaves_its_modules_checked_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pools_asked(monkeypatch)
    monkeypatch.setattr(validate, "_check_jobs", _worker_gone)
    root = tmp_path / "project"
    with validate.ahead_of_writing(), pytest.raises(ScaffoldError) as raised:
        validate.check_ahead(_modules(200, {7: b"def broken(:\n"}))
        write.create_tree(root, _modules(200, {7: b"def broken(:\n"}))
    assert [str(p) for p in raised.value.diagnostics] == [
        f"{root}/pkg/m007.py:1:12: generated code does not compile: invalid syntax"
    ]


def test_checks_ahead_of_a_run_that_fails_first_leave_no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that stops before writing (a plan refused, Ctrl-C) leaves its scope: what was compiling stops."""
    _pools_asked(monkeypatch)
    before = set(multiprocessing.active_children())
    with pytest.raises(KeyboardInterrupt), validate.ahead_of_writing():
        validate.check_ahead(_modules(2000))
        assert set(multiprocessing.active_children()) - before, "a worker started"
        raise KeyboardInterrupt
    deadline = time.monotonic() + DEADLINE_SECONDS
    while set(multiprocessing.active_children()) - before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not set(multiprocessing.active_children()) - before


def test_without_a_writing_run_nothing_is_checked_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    """`diff`, `check`, `call`: no run that writes opened the scope, so protoc's outputs start no worker."""
    asked = _pools_asked(monkeypatch)
    validate.check_ahead(_modules(200))
    assert asked == []
