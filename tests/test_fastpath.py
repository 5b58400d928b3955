"""The no-op path: `gen`/`check` with nothing to do answer without importing
protoc, Jinja or the CLI framework, and any change at all goes the full way."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO, run_scaffold

NO_OP = "Up to date (no input changed).\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    assert run_scaffold("new", REPO / "protos/helloworld.proto", "-o", root).returncode == 0
    return root  # `new` records the digest of the inputs: the next gen is already a no-op


def test_no_op_imports_nothing_heavy(project: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "scaffold", "gen", "-C", str(project)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout == NO_OP
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line}
    assert imported.isdisjoint({"grpc_tools", "grpc", "jinja2", "typer", "google", "merge3", "watchfiles"}), imported
    assert run_scaffold("check", "-C", project).stdout == "Up to date.\n"


def edit_proto(root: Path) -> None:
    proto = root / "protos/helloworld.proto"
    proto.write_text(proto.read_text().replace("Greets people by name.", "Greets people."))


def edit_config(root: Path) -> None:
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("grace_seconds = 5.0", "grace_seconds = 2.0"))


def edit_generated(root: Path) -> None:
    with (root / "helloworld/generated/helloworld_pb2.py").open("a") as module:
        module.write("# tweak\n")


def delete_base(root: Path) -> None:
    (root / ".scaffold/base/helloworld/servicer.py").unlink()


def leave_conflict_markers(root: Path) -> None:
    servicer = root / "helloworld/servicer.py"
    servicer.write_text(servicer.read_text() + "<<<<<<< yours\n=======\n>>>>>>> theirs\n")


def leave_a_transaction(root: Path) -> None:
    (root / ".scaffold/txn").mkdir()


@pytest.mark.parametrize(
    "change",
    [edit_proto, edit_config, edit_generated, delete_base, leave_conflict_markers, leave_a_transaction],
)
def test_any_change_takes_the_full_pipeline(project: Path, change: Callable[[Path], None]) -> None:
    assert run_scaffold("gen", "-C", project).stdout == NO_OP
    change(project)
    result = run_scaffold("gen", "-C", project)
    assert result.stdout != NO_OP
    assert "(no input changed)" not in result.stdout + result.stderr


def test_user_edits_alone_keep_the_fast_answer(project: Path) -> None:
    servicer = project / "helloworld/servicer.py"
    servicer.write_text(servicer.read_text().replace("# TODO: return a helloworld_pb2.HelloReply.", "pass  # mine"))
    assert run_scaffold("gen", "-C", project).stdout == NO_OP
