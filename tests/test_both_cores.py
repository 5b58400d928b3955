"""Issue 30: a medium tree's protoc, a new tree's files and protoc's modules' check use both cores, to the
one-core result.

A batch protoc compiles in one run splits its generators with a child process beside it
(`scaffold.generation.sharding.generators_apart`); a new tree's files are written by three threads
(`scaffold.record.fileops.write_new_tree`); protoc's new modules compile in a worker while the run renders
(`scaffold.record.validate.check_ahead`). Same outputs, descriptors, warnings and errors as one run; same
tree as one writer; same problems, at the same paths, as the check before writing; a failure on any side
stops the others and is raised, never lost; nothing outlives the run.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
import types
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DEADLINE_SECONDS
from test_large_batches import COMMON, UNUSED, _compile, _readers, _service

from scaffold import api
from scaffold.core.errors import ScaffoldError
from scaffold.generation import project, protoc, sharding
from scaffold.record import fileops, lock, validate, write


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

    def spied(
        child: list[str], own: Callable[[], tuple[int, str]], ran: Callable[[tuple[int, str]], bool]
    ) -> list[tuple[int, str]] | None:
        started.append(child)
        return beside(child, own, ran)

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


@pytest.mark.parametrize(
    "child",
    ["import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "import sys; sys.exit(3)", "pass"],
    ids=["killed", "a python that fails to run it", "a python that runs something else"],
)
def test_a_child_that_ends_without_a_word_leaves_the_batch_to_one_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, child: str
) -> None:
    """Its outputs missing is never a batch with fewer modules, nor a failure without a message: the batch is
    compiled here, as one run, to the one run's result."""
    names = _batch(tmp_path)
    _apart(monkeypatch, False)
    one = _compile(tmp_path, names)
    started = _apart(monkeypatch, True)
    monkeypatch.setattr(sharding, "_CHILD", child)
    assert _compile(tmp_path, names) == one and len(started) == 1


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
        sharding.beside_a_child([f"-I{tmp_path}", f"--pyi_out={tmp_path}", str(fifo)], own, lambda theirs: True)
    assert not _readers([str(fifo)]), "no protoc child outlives the run"


def test_a_child_killed_after_its_warnings_leaves_the_batch_to_one_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Out of memory while generating: the child has said only the parse's warnings, no error, so the batch
    is compiled here, as one run; its warnings are said once."""
    names = _batch(tmp_path)
    _apart(monkeypatch, False)
    one = _compile(tmp_path, names)
    started = _apart(monkeypatch, True)
    warned = "import os, signal, sys\nsys.stderr.write('big/extra.proto:3:1: warning: Import google/protobuf/empty.proto is unused.\\n')\nsys.stderr.flush()\nos.kill(os.getpid(), signal.SIGKILL)\n"
    monkeypatch.setattr(sharding, "_CHILD", warned)
    assert _compile(tmp_path, names) == one and len(started) == 1


def test_a_child_that_cannot_start_leaves_the_batch_to_one_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process limit, a sandbox: the batch is compiled here, as one run, to the same result."""
    names = _batch(tmp_path)
    _apart(monkeypatch, False)
    one = _compile(tmp_path, names)
    started = _apart(monkeypatch, True)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    apart = _compile(tmp_path, names)
    assert len(started) == 1 and apart == one


def test_a_python_that_inspects_after_its_program_still_runs_the_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PYTHONINSPECT makes a `python -c` child print `SystemExit` and fail: the child runs without it."""
    names = _batch(tmp_path)
    _apart(monkeypatch, False)
    one = _compile(tmp_path, names)
    started = _apart(monkeypatch, True)
    monkeypatch.setenv("PYTHONINSPECT", "1")
    assert _compile(tmp_path, names) == one and len(started) == 1


FAILING_GENERATOR = (
    "import sys\nsys.stderr.write('big/s2.proto: the grpc generator refuses this file.\\n')\nsys.exit(1)\n"
)


def test_the_childs_generators_fail_only_where_this_process_run_did_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One protoc stops at its first generator that fails, and this process runs the first: an error of the
    child's generators is said when this run succeeded, never beside this run's own errors."""
    names = _batch(tmp_path)
    _apart(monkeypatch, True)
    monkeypatch.setattr(sharding, "_CHILD", FAILING_GENERATOR)
    with pytest.raises(ScaffoldError) as raised:
        _compile(tmp_path, names)
    assert [str(p) for p in raised.value.diagnostics] == [
        f"{tmp_path / 'big/s2.proto'}:1:1: the grpc generator refuses this file."
    ]
    (tmp_path / "big/s1.proto").write_text((tmp_path / "big/s1.proto").read_text().replace("string", "strin", 1))
    with pytest.raises(ScaffoldError) as broken:
        _compile(tmp_path, names)
    assert not any("grpc generator" in str(p) for p in broken.value.diagnostics)
    assert all("big/s1.proto:" in str(p) for p in broken.value.diagnostics), broken.value.diagnostics


DIES_WITH = """
import sys, time
from scaffold.generation import sharding
fifo = sys.argv[1]
child = ["-I" + fifo.rsplit("/", 1)[0], "--pyi_out=" + fifo + ".out", fifo]
sharding.beside_a_child(child, lambda: time.sleep(600), lambda theirs: True)
"""


def test_a_protoc_child_dies_with_the_run_that_started_it(tmp_path: Path) -> None:
    """A run killed (SIGKILL: no cleanup of its own) leaves no protoc child working on for nothing."""
    fifo = tmp_path / "blocked.proto"
    os.mkfifo(fifo)
    runner = subprocess.Popen([sys.executable, "-c", DIES_WITH, str(fifo)])
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not _readers([str(fifo)]) and time.monotonic() < deadline:
            time.sleep(0.01)  # a poll of /proc until the child runs
        assert _readers([str(fifo)]), "the child started"
        runner.kill()
        runner.wait()
        while _readers([str(fifo)]) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not _readers([str(fifo)]), "the child went with the run"
    finally:
        runner.kill()


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


def test_names_one_file_system_takes_for_one_file_are_written_by_one_writer_in_order(tmp_path: Path) -> None:
    """Where case is folded or `café` composed or not, `Foo_pb2.py` and `foo_pb2.py` (or the two `café`s) are
    one file: the last one wins, as with one writer, never a mix of the two. Files of one directory are
    otherwise spread over the writers (a flat package is not written by one)."""
    files = {f"pkg/m{index:04}.py": b"x\n" for index in range(600)}
    files |= {"Pkg/D1/Same.py": b"first\n", "pkg/d1/same.py": b"second\n"}
    files |= {"pkg/caf\u00e9.py": b"composed\n", "pkg/cafe\u0301.py": b"decomposed\n"}
    writers: dict[str, set[int]] = {}
    real_open = open

    def spied(path: str, mode: str = "r") -> object:
        key = unicodedata.normalize("NFC", os.path.relpath(path, tmp_path)).casefold()
        writers.setdefault(key, set()).add(threading.get_ident())
        return real_open(path, mode)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("builtins.open", spied)
        fileops.write_new_tree(tmp_path, files, None)
    assert len(writers["pkg/d1/same.py"]) == 1 and len(writers["pkg/caf\u00e9.py"]) == 1
    assert len(set().union(*writers.values())) == 3, "the flat package's files went to three writers"


def test_a_thread_that_cannot_start_leaves_its_files_to_the_calling_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A container's pids limit counts threads: no writer to be had is a tree written by one, not a failure."""
    files = _tree(1000)

    def refused(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refused)
    fileops.write_new_tree(tmp_path, files, None)
    assert {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == files


@pytest.mark.parametrize("writer", ["this thread", "a helper"])
def test_a_file_one_writer_cannot_write_stops_every_writer_and_is_raised(tmp_path: Path, writer: str) -> None:
    """A directory where a file goes, among the first files of this thread or of a helper: the error is
    raised in the caller (who takes the staged tree away), every other writer stops at
    its next file (without the stop, the two others alone would write more than 1,200 of the 3,000), and no
    writer thread is left."""
    files = _tree(3000)
    blocked = list(files)[3 if writer == "this thread" else 4]  # the files go to the writers in turn
    (tmp_path / blocked).mkdir(parents=True)
    with pytest.raises(IsADirectoryError) as raised:
        fileops.write_new_tree(tmp_path, files, None)
    assert raised.value.filename == str(tmp_path / blocked)
    assert not any(thread.name == "scaffold-writer" for thread in threading.enumerate()), "every helper is done"
    written = sum(1 for p in tmp_path.rglob("*") if p.is_file())
    assert written < 1000, f"the other writers stopped early: {written} of {len(files)}"


def _modules(count: int, broken: dict[int, bytes] | None = None) -> dict[str, bytes]:
    files = {f"pkg/m{index:03}.py": f"VALUE = {index}\n".encode() for index in range(count)}
    files |= {f"pkg/m{index:03}.py": content for index, content in (broken or {}).items()}
    return files


def _pools_asked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many modules each pool `checking` asked for was to check."""
    asked: list[int] = []
    pool = validate._pool

    def spied(jobs: int) -> object:
        asked.append(jobs)
        return pool(jobs)

    monkeypatch.setattr(validate, "_pool", spied)
    monkeypatch.setattr(validate, "_WORKERS", 2)  # on any machine
    return asked


def _each_worker_answered() -> bool:
    """Every worker ahead sent its results (a worker that died has its modules compiled by the run, to the
    same problems: only this tells that the check ahead did its part)."""
    ahead = validate._AHEAD.get()
    return ahead is not None and len(ahead.received) == len(ahead.workers) > 0 and None not in ahead.received.values()


def _workers_ahead() -> int:
    ahead = validate._AHEAD.get()
    return 0 if ahead is None else len(ahead.workers)


def test_modules_checked_ahead_are_not_compiled_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """protoc's outputs, handed over while the run goes on, leave only the rest for the check before writing."""
    asked = _pools_asked(monkeypatch)
    ahead, rest = _modules(200), {f"app/own{index}.py": f"X = {index}\n".encode() for index in range(100)}
    with validate.ahead_of_writing():
        validate.check_ahead(ahead)
        assert _workers_ahead() == 1
        write.create_tree(tmp_path / "project", ahead | rest)
        assert _each_worker_answered()
    assert asked == [100], "only the run's own 100 modules are compiled before writing"
    assert (tmp_path / "project/pkg/m150.py").read_bytes() == b"VALUE = 150\n"


@pytest.mark.parametrize("rest", [100, 10])
@pytest.mark.parametrize("scope", [True, False])
def test_problems_found_ahead_are_said_as_the_check_before_writing_says_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scope: bool, rest: int
) -> None:
    """Located at the project's path, in path order with the run's own modules' problems, nothing written;
    the same with the check ahead as without it, whether the run's own modules are many or a few."""
    _pools_asked(monkeypatch)
    ahead = _modules(200, {150: b"def broken(:\n", 20: b"x = '\\d'\n"})
    own = {f"app/own{index}.py": f"X = {index}\n".encode() for index in range(rest)} | {"app/own5.py": b"return 1\n"}
    root = tmp_path / "project"
    with validate.ahead_of_writing() if scope else contextlib.nullcontext(), pytest.raises(ScaffoldError) as raised:
        validate.check_ahead(ahead)
        write.create_tree(root, ahead | own)
    assert [str(p) for p in raised.value.diagnostics] == [
        f"{root}/app/own5.py:1:1: generated code does not compile: 'return' outside function",
        f"{root}/pkg/m020.py:1:5: generated code does not compile: invalid escape sequence '\\d'",
        f"{root}/pkg/m150.py:1:12: generated code does not compile: invalid syntax",
    ]
    assert not root.exists() and os.listdir(tmp_path) == []


def test_a_link_in_the_way_is_said_whether_modules_were_checked_ahead_or_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Into a project, many modules checked ahead, a few of its own, one of them broken, and a link where one
    goes: the run says what it says without the check ahead (the link, before any module is compiled)."""
    _pools_asked(monkeypatch)
    root = tmp_path / "project"
    root.mkdir()
    (root / "app").mkdir()
    (root / "app/linked.py").symlink_to(tmp_path / "elsewhere.py")
    changes = {path: (content, None) for path, content in _modules(200).items()}
    changes |= {"app/own.py": (b"return 1\n", None), "app/linked.py": (b"X = 1\n", None)}
    said = []
    for scope in (False, True):
        with validate.ahead_of_writing() if scope else contextlib.nullcontext(), pytest.raises(ScaffoldError) as raised:
            validate.check_ahead({path: content for path, (content, _) in changes.items() if path.startswith("pkg/")})
            write.apply(root, changes, dict.fromkeys(changes))
        said.append([str(p) for p in raised.value.diagnostics])
    assert said[0] == said[1] and "symbolic link" in said[0][0], said


def _worker_gone(*arguments: object) -> None:  # pragma: no cover - runs in the worker, which it ends
    os._exit(1)


def test_a_worker_that_dies_ahead_leaves_its_modules_checked_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pools_asked(monkeypatch)
    monkeypatch.setattr(validate, "_check_and_send", _worker_gone)
    root = tmp_path / "project"
    with validate.ahead_of_writing(), pytest.raises(ScaffoldError) as raised:
        validate.check_ahead(_modules(200, {7: b"def broken(:\n"}))
        write.create_tree(root, _modules(200, {7: b"def broken(:\n"}))
    assert [str(p) for p in raised.value.diagnostics] == [
        f"{root}/pkg/m007.py:1:12: generated code does not compile: invalid syntax"
    ]


def test_leaving_the_scope_kills_what_is_still_compiling_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that stops before writing (a plan refused, Ctrl-C): its worker, still compiling (and holding the
    project's lock it inherited), is gone when the run leaves the scope, not when it is done."""
    _pools_asked(monkeypatch)
    heavy = {f"pkg/m{index:03}.py": b"x = [" + b"1, " * 200_000 + b"]\n" + str(index).encode() for index in range(200)}
    with pytest.raises(KeyboardInterrupt), validate.ahead_of_writing():
        validate.check_ahead(heavy)
        ahead = validate._AHEAD.get()
        assert ahead is not None and [process.is_alive() for process, _ in ahead.workers] == [True]
        raise KeyboardInterrupt
    assert not ahead.workers[0][0].is_alive()


def test_without_a_writing_run_nothing_is_checked_ahead() -> None:
    """`diff`, `check`, `call`: no run that writes opened the scope, so protoc's outputs start no worker."""
    validate.check_ahead(_modules(200))
    assert validate._AHEAD.get() is None


def test_a_new_checks_protocs_modules_ahead_and_a_dry_run_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wired in: `new` (and a `gen` that writes) hand protoc's new modules over; `diff`'s dry run does not;
    a `gen` that compiles protos whose modules come out as recorded hands nothing over."""
    _pools_asked(monkeypatch)
    handed: list[tuple[int, bool]] = []
    start = validate._Ahead.start

    def spied(self: validate._Ahead, files: dict[str, bytes]) -> None:
        before = len(self.workers)
        start(self, files)
        handed.append((len(files), len(self.workers) > before))

    monkeypatch.setattr(validate._Ahead, "start", spied)
    source = tmp_path / "src"
    source.mkdir()
    for index in range(30):
        (source / f"p{index}.proto").write_text(
            f'syntax = "proto3";\npackage p{index};\nmessage M{index} {{}}\nservice S{index} {{ rpc Get(M{index}) returns (M{index}); }}\n'
        )
    project = tmp_path / "project"
    api.new_project(sorted(source.glob("*.proto")), output=project, name="many")
    assert handed and handed[0][1] and handed[0][0] >= 90, handed
    handed.clear()
    api.regenerate(project, dry_run=True, full=True)
    assert handed == []
    api.regenerate(project, full=True)
    assert handed == [(0, False)], "every module as the manifest has it written: nothing to check ahead"


def test_modules_ahead_are_split_among_one_worker_fewer_than_the_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On more cores the check ahead uses them (one left to the run), each worker's problems still said."""
    _pools_asked(monkeypatch)
    monkeypatch.setattr(validate, "_WORKERS", 3)
    root = tmp_path / "project"
    files = _modules(200, {7: b"def broken(:\n", 8: b"def other(:\n"})
    with validate.ahead_of_writing(), pytest.raises(ScaffoldError) as raised:
        validate.check_ahead(files)
        assert _workers_ahead() == 2
        try:
            write.create_tree(root, files)
        finally:
            assert _each_worker_answered()
    assert [str(p).split(": generated")[0] for p in raised.value.diagnostics] == [
        f"{root}/pkg/m007.py:1:12",
        f"{root}/pkg/m008.py:1:11",
    ]


def test_what_is_handed_ahead_is_what_the_manifest_does_not_have_as_written() -> None:
    """A module recorded with another hash, with none, not recorded, or without a hash of this run's is
    handed over; only one recorded with this run's hash is not."""
    outputs = {"g/a_pb2.py": b"a", "g/b_pb2.py": b"b", "g/c_pb2.py": b"c", "g/d_pb2.py": b"d", "g/e_pb2.py": b"e"}
    digests = {"g/a_pb2.py": "A", "g/b_pb2.py": "B", "g/c_pb2.py": "C", "g/d_pb2.py": "D"}
    result = types.SimpleNamespace(outputs=outputs, digests=digests)
    files = {
        "g/a_pb2.py": types.SimpleNamespace(sha256="A"),
        "g/b_pb2.py": types.SimpleNamespace(sha256="other"),
        "g/c_pb2.py": types.SimpleNamespace(sha256=None),
        "g/e_pb2.py": types.SimpleNamespace(sha256="E"),
    }
    previous = types.SimpleNamespace(files=files)
    assert sorted(project._not_written_yet(result, previous)) == [
        "g/b_pb2.py",
        "g/c_pb2.py",
        "g/d_pb2.py",
        "g/e_pb2.py",
    ]  # type: ignore[arg-type]
    assert sorted(project._not_written_yet(result, None)) == sorted(outputs)  # type: ignore[arg-type]


KILLED_WITH_A_WORKER_AHEAD = """
import sys, time
from pathlib import Path
from scaffold.record import lock, validate
validate._WORKERS = 2
validate._check_python = lambda *job: time.sleep(600)  # a worker that would compile for ten minutes
with lock.held(Path(sys.argv[1])), validate.ahead_of_writing():
    validate.check_ahead({f"pkg/m{i:03}.py": str(i).encode() for i in range(200)})
    print(validate._AHEAD.get().workers[0][0].pid, flush=True)
    time.sleep(600)
"""


def test_a_run_killed_while_compiling_ahead_leaves_the_lock_free(tmp_path: Path) -> None:
    """SIGKILL: no scope is left, nothing is killed by the run; the worker, which inherited the lock, goes
    with it (a worker compiling for ten minutes), and the next run takes the lock at once."""
    runner = subprocess.Popen([sys.executable, "-c", KILLED_WITH_A_WORKER_AHEAD, str(tmp_path)], stdout=subprocess.PIPE)
    try:
        assert runner.stdout is not None
        worker = int(runner.stdout.readline())
        runner.kill()
        runner.wait()
        deadline = time.monotonic() + DEADLINE_SECONDS
        while _running(worker) and time.monotonic() < deadline:
            time.sleep(0.01)  # a poll of /proc until the kernel has killed it
        assert not _running(worker), "the worker went with the run"
        with lock.held(tmp_path, wait_seconds=0):
            pass
    finally:
        runner.kill()


def _running(pid: int) -> bool:
    """Whether `pid` is a process that has not exited (a zombie has: it holds no descriptor)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_frozen_build_compiles_every_batch_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its `sys.executable` is the application, which runs no `python -c`: no child, no group."""
    names = _batch(tmp_path)
    monkeypatch.setattr(sharding, "usable_cores", lambda: 2)
    monkeypatch.setattr(sharding, "SHARD_FROM_BYTES", 0)
    monkeypatch.setattr(sharding, "GENERATORS_APART_FROM_BYTES", 0)
    assert sharding.at_once() == 2 and len(sharding.groups(names, lambda name: tmp_path / name)) > 1
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert sharding.at_once() == 1 and sharding.groups(names, lambda name: tmp_path / name) == [names]
    assert not sharding.generators_apart(names, lambda name: tmp_path / name)
    assert len(_compile(tmp_path, names).outputs) == 3 * len(names)
