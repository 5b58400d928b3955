"""Lean projects: the user owns what they write, scaffold's machinery lives in `GENERATED/runtime/`.

The line counts of what a new project hands its user are held to the targets the README states;
a project made before the runtime moved (`tests/data/before_lean/`, made by the release before)
moves over through `gen` with edits in every module it handed its user, and no line of theirs is
lost, not even when the run is killed at any swap.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import REPO, run_python, run_scaffold, served, tree
from test_trust import gen, killed_after_swapping, swaps_of_a_run

BEFORE = REPO / "tests/data/before_lean/helloworld"
TARGETS = {"helloworld": 150, "route_guide": 250}
"""The most lines of Python a new project may hand its user (every `.py` the manifest calls the user's)."""


def user_lines(project: Path) -> dict[str, int]:
    files = json.loads((project / ".scaffold/manifest.json").read_text())["files"]
    return {
        path: len((project / path).read_text().splitlines())
        for path, entry in files.items()
        if entry["owner"] == "user" and path.endswith(".py")
    }


@pytest.mark.parametrize(
    "example, flags",
    [
        ("helloworld", []),
        ("helloworld", ["--aio"]),
        ("route_guide", []),
        ("route_guide", ["--aio"]),
        ("route_guide", ["--health", "--reflection", "--metrics", "--tls"]),
    ],
)
def test_a_new_project_hands_its_user_no_more_lines_than_the_target(
    tmp_path: Path, example: str, flags: list[str]
) -> None:
    project = tmp_path / example
    made = run_scaffold("new", REPO / f"protos/{example}.proto", "-o", project, *flags)
    assert made.returncode == 0, made.stderr
    counts = user_lines(project)
    assert sum(counts.values()) <= TARGETS[example], counts
    assert {Path(path).name for path in counts} <= {
        "__init__.py",
        "servicer.py",
        "server.py",
        "client.py",
        f"test_{example}.py",
    }
    runtime = {path for path in tree(project) if "/generated/runtime/" in path}
    assert {Path(path).name for path in runtime} >= {
        "serving.py",
        "interceptors.py",
        "tls.py",
        "calling.py",
        "testing.py",
    }


def test_the_committed_helloworld_example_stays_within_the_target() -> None:
    counts = user_lines(REPO / "examples/helloworld")
    assert sum(counts.values()) <= TARGETS["helloworld"], counts


def test_the_user_adds_interceptors_and_turns_scaffolds_off_from_server_py(tmp_path: Path) -> None:
    """The extension points the generated server.py shows: INTERCEPTORS, and `error_mapping=False`."""
    project = tmp_path / "hw"
    assert run_scaffold("new", REPO / "protos/helloworld.proto", "-o", project).returncode == 0
    server = project / "helloworld/server.py"
    text = server.read_text()
    assert "INTERCEPTORS: list[grpc.ServerInterceptor] = []" in text
    text = text.replace(
        "INTERCEPTORS: list[grpc.ServerInterceptor] = []",
        "class Refuse(grpc.ServerInterceptor):\n"
        "    def intercept_service(self, continuation, details):  # type: ignore[no-untyped-def]\n"
        "        def refuse(request, context):  # type: ignore[no-untyped-def]\n"
        "            raise RuntimeError('refused by the interceptor of the user')\n\n"
        "        return grpc.unary_unary_rpc_method_handler(refuse)\n\n\n"
        "INTERCEPTORS: list[grpc.ServerInterceptor] = [Refuse()]",
    )
    text = text.replace(
        "    settings = serving.parse_flags(argv)\n",
        "    settings = dataclasses.replace(serving.parse_flags(argv), error_mapping=False)\n",
    )
    server.write_text(text.replace("import grpc\n", "import dataclasses\n\nimport grpc\n", 1))
    with served(project, "helloworld") as running:
        called = run_python("-m", "helloworld.client", "--target", f"127.0.0.1:{running.port}", cwd=project)
        # scaffold's access log, outermost, still sees the call the user's interceptor failed
        running.wait_for(re.compile(r"/helloworld\.Greeter/SayHello UNKNOWN "))
    # The user's interceptor ran, and grpc, not scaffold's mapping (turned off), made its exception UNKNOWN.
    assert "SayHello failed: UNKNOWN" in called.stdout, called.stdout + called.stderr


def _edit_every_module_it_handed_over(project: Path) -> dict[str, list[str]]:
    """Edits in interceptors.py, tls.py and server.py (client.py, servicer.py and the tests come edited):
    the lines the user added, by file."""
    interceptors = project / "helloworld/interceptors.py"
    interceptors.write_text(
        interceptors.read_text()
        + "\n\nclass Audit(grpc.ServerInterceptor):\n"
        + '    """Ours: writes who called what."""\n'
    )
    tls = project / "helloworld/tls.py"
    tls.write_text(tls.read_text().replace("class TlsError(Exception):", "class TlsError(Exception):  # ours too"))
    server = project / "helloworld/server.py"
    server.write_text(server.read_text().replace("DEFAULT_PORT = 50051", "DEFAULT_PORT = 50052  # our port"))
    return {
        "helloworld/interceptors.py": [
            "class Audit(grpc.ServerInterceptor):",
            '    """Ours: writes who called what."""',
        ],
        "helloworld/tls.py": ["class TlsError(Exception):  # ours too"],
        "helloworld/server.py": ["DEFAULT_PORT = 50052  # our port"],
    }


def _written_by_the_user(project: Path) -> dict[str, set[str]]:
    """Every line of a user-owned module that its recorded base does not hold."""
    files = json.loads((project / ".scaffold/manifest.json").read_text())["files"]
    added = {}
    for path, entry in files.items():
        if entry["owner"] == "user" and path.endswith(".py") and (project / path).exists():
            base = (project / ".scaffold/base" / path).read_text().splitlines()
            added[path] = {line for line in (project / path).read_text().splitlines() if line.strip()} - set(base)
    return added


def test_a_project_made_before_moves_over_and_keeps_every_line_its_user_wrote(tmp_path: Path) -> None:
    project = tmp_path / "helloworld"
    shutil.copytree(BEFORE, project)
    edits = _edit_every_module_it_handed_over(project)
    written = _written_by_the_user(project)
    assert set(written) >= {*edits, "helloworld/client.py", "helloworld/servicer.py", "tests/test_helloworld.py"}

    moved = gen(project)
    assert moved.returncode == 1, moved.stdout + moved.stderr  # conflicts in what both sides changed
    after = tree(project)
    everything = "\n".join(content.decode() for content in after.values())
    lost = {path: sorted(line for line in lines if line not in everything) for path, lines in written.items()}
    assert not any(lost.values()), lost
    assert (
        "helloworld/generated/runtime/serving.py" in after and "helloworld/generated/runtime/interceptors.py" in after
    )
    # The modules the user edited stay theirs, said once with what does their job now.
    notes = moved.stdout
    assert re.search(r"orphan\s+helloworld/interceptors.py .*generated/runtime/interceptors.py.*INTERCEPTORS", notes), (
        notes
    )
    assert re.search(r"orphan\s+helloworld/tls.py .*generated/runtime/tls.py", notes), notes
    assert "helloworld/interceptors.py" not in gen(project).stdout  # once

    # Resolved as the committed example was (its user files), the project is the example plus what stays.
    for path in ("helloworld/client.py", "helloworld/server.py", "helloworld/servicer.py", "tests/test_helloworld.py"):
        shutil.copyfile(REPO / "examples/helloworld" / path, project / path)
    (project / "helloworld/interceptors.py").unlink()
    (project / "helloworld/tls.py").unlink()
    settled = gen(project)
    assert settled.returncode == 0, settled.stdout + settled.stderr
    assert run_scaffold("check", "-C", project).returncode == 0

    def kept(files: dict[str, bytes]) -> dict[str, bytes]:  # the tree, without caches of tools that ran in it
        return {p: c for p, c in files.items() if not re.search(r"(^|/)(\.scaffold|__pycache__|\.\w+_cache)/", p)}

    assert kept(tree(project)) == kept(tree(REPO / "examples/helloworld"))
    tests = run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert tests.returncode == 0, tests.stdout


def test_a_move_killed_at_any_swap_ends_in_the_old_tree_or_the_new_one(tmp_path: Path) -> None:
    """A project whose modules are as scaffold wrote them but for an edited servicer, interceptors.py and tls.py:
    the move replaces server.py and client.py, keeps interceptors.py and tls.py, adds the runtime."""
    project = tmp_path / "helloworld"
    shutil.copytree(BEFORE, project)
    for path in ("helloworld/client.py", "tests/test_helloworld.py"):  # as scaffold wrote them
        shutil.copyfile(project / ".scaffold/base" / path, project / path)
    _edit_every_module_it_handed_over(project)
    (project / "helloworld/server.py").write_bytes((project / ".scaffold/base/helloworld/server.py").read_bytes())
    new, paths = swaps_of_a_run(project, tmp_path)
    assert "helloworld/generated/runtime/serving.py" in new and b"# ours too" in new["helloworld/tls.py"]
    assert b"class Audit(" in new["helloworld/interceptors.py"]
    assert len(paths) > 8
    for index in sorted({0, 1, len(paths) // 3, len(paths) // 2, len(paths) - 2, len(paths) - 1}):
        copy = killed_after_swapping(project, paths[index], tmp_path / f"kill{index}")
        assert gen(copy).returncode == 0
        assert tree(copy) == new, paths[index]


def test_a_call_in_the_client_carries_the_first_paragraph_of_its_rpcs_comment(tmp_path: Path) -> None:
    """The servicer's method, where the RPC is implemented, keeps the whole comment; the call that shows how
    to call it does not repeat pages of it (googleapis' comments run to dozens of lines)."""
    proto = tmp_path / "notes.proto"
    proto.write_text(
        'syntax = "proto3";\npackage notes;\nservice Notes {\n'
        "  // Writes a note.\n  //\n  // Notes longer than a page are refused with INVALID_ARGUMENT.\n"
        "  rpc Write (Note) returns (Note);\n}\nmessage Note { string text = 1; }\n"
    )
    project = tmp_path / "notes"
    assert run_scaffold("new", proto, "-o", project).returncode == 0
    servicer = (project / "notes/servicer.py").read_text()
    client = (project / "notes/client.py").read_text()
    assert "Writes a note.\n\n        Notes longer than a page are refused" in servicer
    assert '    """Writes a note."""\n' in client and "longer than a page" not in client
