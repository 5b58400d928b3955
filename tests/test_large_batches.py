"""Issue 30: what a large tree runs on both cores ends exactly as the one-process run does.

protoc split over child processes (`scaffold.generation.sharding`) gives the one run's outputs and
descriptors; the compile check that runs in workers while the write stage stages its files
(`scaffold.record.validate.checking`) still refuses, located, with nothing written.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from conftest import DEADLINE_SECONDS, tree

from scaffold.core.errors import ScaffoldError
from scaffold.generation import incremental, protoc, sharding
from scaffold.generation.protocresult import ProtoInput
from scaffold.record import validate, write

COMMON = 'syntax = "proto3";\npackage big.common;\nmessage Id { string value = 1; }\n'
UNUSED = (
    'syntax = "proto3";\npackage big.extra;\nimport "google/protobuf/empty.proto";\nmessage Note { string text = 1; }\n'
)


def _service(index: int) -> str:
    return (
        f'syntax = "proto3";\npackage big.s{index};\nimport "big/common.proto";\n'
        f"message Thing{index} {{ big.common.Id id = 1; string name = 2; }}\n"
        f"service Svc{index} {{\n  rpc Get (big.common.Id) returns (Thing{index});\n"
        f"  rpc Watch (big.common.Id) returns (stream Thing{index});\n}}\n"
    )


def _compile(root: Path, names: list[str]) -> protoc.Compiled:
    inputs = [ProtoInput(root / name, name) for name in names]
    return protoc.compile_files(names, (root,), inputs, with_descriptors=True)


def test_protoc_in_groups_gives_the_one_runs_outputs_descriptors_and_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "big").mkdir()
    (tmp_path / "big/common.proto").write_text(COMMON)
    (tmp_path / "big/extra.proto").write_text(UNUSED)
    names = ["big/extra.proto"]
    for index in range(12):
        (tmp_path / f"big/s{index}.proto").write_text(_service(index))
        names.append(f"big/s{index}.proto")
    monkeypatch.setattr(sharding, "at_once", lambda: 2)
    monkeypatch.setattr(sharding, "SHARD_FROM_BYTES", 10**12)
    assert sharding.groups(names, lambda name: tmp_path / name) == [names]
    monkeypatch.setattr(protoc, "ZIPPED_ABOVE", len(names))  # the one run writes files, the groups archives
    one = _compile(tmp_path, names)
    monkeypatch.setattr(protoc, "ZIPPED_ABOVE", 4)
    assert _compile(tmp_path, names) == one  # one run, to archives
    monkeypatch.setattr(sharding, "SHARD_FROM_BYTES", 0)
    groups = sharding.groups(names, lambda name: tmp_path / name)
    assert len(groups) == 4 and sorted(name for group in groups for name in group) == sorted(names), groups
    assert all(group == [name for name in names if name in group] for group in groups), "each in the batch's order"
    runs = [name for group in sorted(groups, key=min) for name in sorted(group)]
    assert runs == sorted(names), f"each group a run of the path order, a package's files together: {groups}"
    split = _compile(tmp_path, names)
    assert split.outputs == one.outputs
    assert len(split.outputs) == 3 * len(names)
    assert split.descriptors is not None and one.descriptors is not None
    assert split.descriptors.SerializeToString() == one.descriptors.SerializeToString()
    assert [f.name for f in split.descriptors.file][:2] == ["google/protobuf/empty.proto", "big/extra.proto"]
    assert sorted(split.warnings, key=repr) == sorted(one.warnings, key=repr)
    assert [w.message for w in split.warnings] == ["Import google/protobuf/empty.proto is unused."]


def test_a_proto_named_beyond_ascii_keeps_its_name_in_groups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large batch's children write zip archives, whose names protoc stores as UTF-8 without saying so."""
    (tmp_path / "big").mkdir()
    (tmp_path / "big/common.proto").write_text(COMMON)
    (tmp_path / "big/café.proto").write_text(
        'syntax = "proto3";\npackage big.cafe;\nmessage Creme { string name = 1; }\n'
    )
    names = ["big/café.proto", *(f"big/s{index}.proto" for index in range(5))]
    for index in range(5):
        (tmp_path / f"big/s{index}.proto").write_text(_service(index))
    monkeypatch.setattr(sharding, "at_once", lambda: 2)
    monkeypatch.setattr(sharding, "SHARD_FROM_BYTES", 10**12)
    monkeypatch.setattr(protoc, "ZIPPED_ABOVE", len(names))  # files
    one = _compile(tmp_path, names)
    monkeypatch.setattr(protoc, "ZIPPED_ABOVE", 4)
    assert _compile(tmp_path, names).outputs == one.outputs  # one run's archives
    monkeypatch.setattr(protoc, "ZIPPED_ABOVE", len(names))
    monkeypatch.setattr(sharding, "SHARD_FROM_BYTES", 0)
    split = _compile(tmp_path, names)  # the groups' archives, however few protos a batch holds
    assert "big/café_pb2.py" in split.outputs and "big/café_pb2_grpc.py" in split.outputs
    assert split.outputs == one.outputs


@pytest.mark.parametrize("broken", ["big/common.proto", "big/s1.proto"])
def test_a_failing_batch_in_groups_says_what_the_one_run_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    """Each group stops at its own first error, so a failing batch is said as one protoc run says it,
    whatever the machine's cores: a file every group imports once, one of two broken files the first."""
    (tmp_path / "big").mkdir()
    (tmp_path / "big/common.proto").write_text(COMMON)
    names = []
    for index in range(6):
        (tmp_path / f"big/s{index}.proto").write_text(_service(index))
        names.append(f"big/s{index}.proto")
    for name in (broken, "big/s4.proto"):
        (tmp_path / name).write_text((tmp_path / name).read_text().replace("string", "strin", 1))
    monkeypatch.setattr(sharding, "at_once", lambda: 2)
    monkeypatch.setattr(sharding, "SHARD_FROM_BYTES", 10**12)
    with pytest.raises(ScaffoldError) as alone:
        _compile(tmp_path, names)
    monkeypatch.setattr(sharding, "SHARD_FROM_BYTES", 0)
    assert len(sharding.groups(names, lambda name: tmp_path / name)) == 4
    with pytest.raises(ScaffoldError) as grouped:
        _compile(tmp_path, names)
    said = [str(problem) for problem in grouped.value.diagnostics]
    assert said == [str(problem) for problem in alone.value.diagnostics]
    assert said and f"{broken}:" in said[0] and not any("big/s4.proto:" in line for line in said), said
    assert len(said) == len(set(said)), said


def test_a_name_two_groups_declare_is_refused_as_the_one_run_refuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Protos that never import each other, compiled in different children, both declaring one name: no
    child reads both, yet one protoc run refuses the tree (`scaffold.generation.clashes`)."""
    (tmp_path / "big").mkdir()
    (tmp_path / "big/common.proto").write_text(COMMON)
    names = [f"big/s{index}.proto" for index in range(6)]
    for index, name in enumerate(names):
        (tmp_path / name).write_text(_service(index))
    clashing = 'syntax = "proto3";\npackage big.common;\nmessage Id { int64 number = 1; }\n'
    (tmp_path / "big/zz.proto").write_text(clashing)  # the last group's, big.common.Id as common.proto's
    names.append("big/zz.proto")
    inputs = protoc.resolve_inputs([tmp_path / name for name in names], [tmp_path])
    monkeypatch.setattr(sharding, "at_once", lambda: 2)
    monkeypatch.setattr(sharding, "SHARD_FROM_BYTES", 10**12)
    with pytest.raises(ScaffoldError) as alone:
        incremental.run(inputs, [tmp_path], None)
    monkeypatch.setattr(sharding, "SHARD_FROM_BYTES", 0)
    groups = sharding.groups(names, lambda name: tmp_path / name)
    assert not any("big/zz.proto" in group and "big/s0.proto" in group for group in groups), groups
    with pytest.raises(ScaffoldError) as grouped:
        incremental.run(inputs, [tmp_path], None)
    said = [str(problem) for problem in grouped.value.diagnostics]
    assert said == [str(problem) for problem in alone.value.diagnostics]
    assert any('"big.common.Id" is already defined' in line for line in said), said


CUT_SHORT = """
import signal, sys, threading
from scaffold.generation import sharding
how, fifos = sys.argv[1], sys.argv[2:]
sharding.at_once = lambda: 2  # two children at once, on any machine


def to_a_worker():  # the kernel may hand a process's Ctrl-C to any of its threads
    sys.stdin.readline()
    worker = next(t for t in threading.enumerate() if t.name.startswith("ThreadPoolExecutor"))
    signal.pthread_kill(worker.ident, signal.SIGINT)


if how == "a worker thread":
    threading.Thread(target=to_a_worker, daemon=True).start()
try:
    sharding.run_children([["-I" + fifo.rsplit("/", 1)[0], "--python_out=" + fifo + ".out", fifo] for fifo in fifos])
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


@pytest.mark.parametrize("taken_by", ["the process", "a worker thread"])
def test_protoc_children_are_stopped_when_the_run_is_cut_short(tmp_path: Path, taken_by: str) -> None:
    """Ctrl-C reaches scaffold alone (a signal to its pid, not its process group): the children it
    started, each blocked opening a proto that is a FIFO no one writes, are stopped, not left behind.
    Taken by a worker thread, the signal is raised once the main thread runs again: it must not wait
    for the children without end (it did, and the run hung)."""
    fifos = []
    for index in range(2):
        fifo = tmp_path / f"in{index}" / "blocked.proto"
        fifo.parent.mkdir()
        os.mkfifo(fifo)
        fifos.append(str(fifo))
    runner = subprocess.Popen(
        [sys.executable, "-c", CUT_SHORT, taken_by, *fifos], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while len(_readers(fifos)) < len(fifos) and time.monotonic() < deadline:
            time.sleep(0.01)  # a poll of /proc until both children run
        assert len(_readers(fifos)) == len(fifos), "both children started"
        if taken_by == "the process":
            runner.send_signal(signal.SIGINT)
        assert runner.communicate("go\n", timeout=DEADLINE_SECONDS)[0] == "interrupted\n"
        while _readers(fifos) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not _readers(fifos), "no protoc child outlives the run (each would wait for a writer for ever)"
    finally:
        runner.kill()


def _readers(fifos: list[str]) -> list[str]:
    """The processes whose command line names one of `fifos`."""
    found = []
    for entry in os.listdir("/proc"):
        with contextlib.suppress(OSError):
            command = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
            if any(fifo in command for fifo in fifos) and "grpc_tools.protoc" in command:
                found.append(entry)
    return found


def _modules(count: int) -> dict[str, bytes]:
    return {f"pkg/m{index:03}.py": f"VALUE = {index}\n".encode() for index in range(count)}


@pytest.fixture(autouse=True)
def _workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The compile check's workers, on any machine (one core would check in this process)."""
    monkeypatch.setattr(validate, "_WORKERS", 2)


def test_a_large_new_tree_that_does_not_compile_is_refused_located_and_nothing_is_left(tmp_path: Path) -> None:
    files = _modules(200)
    files["pkg/m150.py"] = b"def broken(:\n"
    root = tmp_path / "deep/project"
    with pytest.raises(ScaffoldError) as raised:
        write.create_tree(root, files)
    assert [str(p) for p in raised.value.diagnostics] == [
        f"{root}/pkg/m150.py:1:12: generated code does not compile: invalid syntax"
    ]
    assert list(tmp_path.iterdir()) == [], "no project, no staging directory, no parent made for it"

    files["pkg/m150.py"] = b"VALUE = 150\n"
    write.create_tree(root, files)
    assert tree(root) == files


def test_a_large_change_that_does_not_compile_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "project"
    write.create_tree(root, {"keep.txt": b"kept\n", ".scaffold/manifest.json": b"{}\n"})
    before = tree(root)
    changes: dict[str, bytes | None] = dict(_modules(100))
    changes["pkg/m007.py"] = b"x = 07\n"  # a SyntaxError only the compiler sees
    with pytest.raises(ScaffoldError) as raised:
        write.apply(root, changes)
    octal = "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers"
    assert [str(p) for p in raised.value.diagnostics] == [
        f"{root}/pkg/m007.py:1:5: generated code does not compile: {octal}"
    ]
    assert tree(root) == before
    assert not (root / ".scaffold/txn").exists()

    changes["pkg/m007.py"] = b"x = 7\n"
    write.apply(root, changes)
    assert tree(root) == before | {path: content for path, content in changes.items() if content is not None}


def test_a_new_project_made_by_another_run_meanwhile_is_left_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two `new`s into one directory: the one that renames its staging second is refused, located at the
    project, and the first one's project stays whole."""
    root = tmp_path / "project"
    theirs = {"pyproject.toml": b"[project]\nname = 'theirs'\n"}
    staged = write.write_new_tree

    def while_staging(directory: Path, files: Mapping[str, bytes], progress: object) -> None:
        staged(directory, files, None)
        staged(root, theirs, None)  # the other run, done first

    monkeypatch.setattr(write, "write_new_tree", while_staging)
    with pytest.raises(ScaffoldError) as raised:
        write.create_tree(root, _modules(3))
    assert [str(p) for p in raised.value.diagnostics] == [
        f"{root}: was made by another run (or by hand) while this one wrote; nothing was written"
    ]
    assert tree(root) == theirs
    assert [p.name for p in tmp_path.iterdir()] == ["project"], "no staging directory left"
