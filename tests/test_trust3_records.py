"""Issue 25, the records: what scaffold reads from outside (a git tree, its manifest, its caches, links
to shared protos and templates) never makes it write outside the project, crash, or call a stale project
up to date. Driven through the CLI, as a user (or an attacker) meets it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, run_scaffold, tree

PROTO = "protos/route_guide.proto"


def _git(project: Path, *args: str, data: str | None = None) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=project,
        input=data,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def _route_guide(tmp_path: Path, name: str = "guide") -> Path:
    done = run_scaffold("new", REPO / PROTO, "-o", tmp_path / name)
    assert done.returncode == 0, done.stderr
    return tmp_path / name


@pytest.fixture
def committed(tmp_path: Path) -> Path:
    """A route_guide project, committed as it was made."""
    project = _route_guide(tmp_path)
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "made")
    return project


# Item 5: a revision's tree names paths; none of them may lead a write outside scaffold's temp dir.


def _tree_of(project: Path, name: str, blob: str, mode: str = "100644") -> str:
    return _git(project, "mktree", data=f"{mode} blob {blob}\t{name}\n")


@pytest.mark.parametrize("shape", ["dotdot", "link", "file-and-directory", "twice"])
def test_a_revision_whose_tree_names_a_bad_path_is_refused_before_anything_is_written(
    committed: Path, tmp_path: Path, shape: str
) -> None:
    project = committed
    blob = _git(project, "hash-object", "-w", "--stdin", data='syntax = "proto3";\npackage evil;\n')
    marker = "scaffold_escape_marker_t3.proto"
    bad, message = {
        "dotdot": ("../" + marker, "has a `..` component: it would lead outside"),
        "link": ("protos/linked.proto", "is a symbolic link in the revision; scaffold reads no link from a revision"),
        "file-and-directory": ("protos/route_guide.proto", "is both a file and a directory in the revision"),
        "twice": ("protos/route_guide.proto", "appears twice in the revision's tree"),
    }[shape]
    protos = _git(project, "ls-tree", "HEAD:protos")
    if shape == "dotdot":
        extra = f"040000 tree {_tree_of(project, marker, blob)}\t.."
        root = _git(project, "mktree", data=_git(project, "ls-tree", "HEAD") + "\n" + extra)
    else:
        inner = {
            "link": f"{protos}\n120000 blob {blob}\tlinked.proto\n",
            "file-and-directory": f"{protos}\n040000 tree {_tree_of(project, 'x.proto', blob)}\troute_guide.proto\n",
            "twice": f"{protos}\n100644 blob {blob}\troute_guide.proto\n",
        }[shape]
        tree_id = _git(project, "mktree", "--missing", data=inner)
        listing = [line for line in _git(project, "ls-tree", "HEAD").splitlines() if not line.endswith("\tprotos")]
        root = _git(project, "mktree", data="\n".join([*listing, f"040000 tree {tree_id}\tprotos"]) + "\n")
    commit = _git(project, "commit-tree", root, "-p", "HEAD", "-m", "crafted")
    temp = tmp_path / "temp"
    temp.mkdir()
    before = tree(project)
    done = subprocess.run(
        [sys.executable, "-m", "scaffold", "breaking", "--against", commit],
        cwd=project,
        env={**os.environ, "TMPDIR": str(temp)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"{commit}:{bad}: {message}\n"
    assert list(temp.iterdir()) == []  # nothing left in the temp root, nothing written beside the temp dir
    assert tree(project) == before
