"""The pure core, as tables: how a file is classified, how a merge resolves, what reconcile keeps.

Each row is one rule in a sentence; the end-to-end tests prove the rules hold
through the CLI, these say what the rules are.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO, run_scaffold, tree

from scaffold.core.imports import Import
from scaffold.core.model import MessageRef, Rpc, Service
from scaffold.generation import plan
from scaffold.generation.merge import merge
from scaffold.generation.reconcile import Module, reconcile

RENDER, BASE, EDITED = b"top\n\nnew end\n", b"top\n\nend\n", b"my top\n\nend\n"


@pytest.mark.parametrize(
    ("current", "base", "rendered_before", "action"),
    [
        (None, None, False, "create"),  # a new file of the user's
        (None, BASE, True, "kept"),  # the user deleted it: never recreated unasked
        (RENDER, BASE, True, "identical"),  # already what the render says
        (EDITED, RENDER, True, "identical"),  # the render did not change: the user's edits are all there is
        (BASE, BASE, True, "update"),  # untouched since the last render: take the new one
        (EDITED, BASE, True, "merge"),  # both changed, apart: 3-way merge
        (b"top\n\nmy end\n", BASE, True, "conflict"),  # both changed one line: the user decides
        (EDITED, None, True, "kept"),  # no base to merge from (and none could be rebuilt): left alone
        (b"\xff\n", BASE, True, "unmerged"),  # not text: cannot merge now, stale until it can
    ],
)
def test_a_user_file_is_classified_by_what_changed_since_the_last_render(
    current: bytes | None, base: bytes | None, rendered_before: bool, action: str
) -> None:
    assert plan._user("f.py", RENDER, current, base, rendered_before).action == action


@pytest.mark.parametrize(
    ("current", "recorded", "action", "backup"),
    [
        (None, None, "create", False),
        (RENDER, None, "identical", False),
        (BASE, plan.sha256(BASE), "update", False),  # scaffold's own last output: rewritten
        (EDITED, plan.sha256(BASE), "update", True),  # edited by hand: rewritten, the edit kept as .mine
        (EDITED, None, "update", True),  # not written by scaffold: rewritten, kept as .mine
    ],
)
def test_a_generated_file_is_always_rewritten_and_a_foreign_one_backed_up(
    current: bytes | None, recorded: str | None, action: str, backup: bool
) -> None:
    planned = plan._generated("g_pb2.py", RENDER, current, recorded)
    assert (planned.action, bool(planned.note)) == (action, backup)


@pytest.mark.parametrize(
    ("base", "ours", "theirs", "merged", "conflicts"),
    [
        ("a\nb\n", "a\nb\n", "a\nNEW\nb\n", "a\nNEW\nb\n", 0),  # scaffold adds, the user did not touch
        ("a\nb\n", "a\nmine\nb\n", "a\nb\nNEW\n", "a\nmine\nb\nNEW\n", 0),  # both add, apart
        ("a\nb\nc\n", "a\nB\nc\n", "a\nc\n", "a\nB\nc\n", 0),  # the render drops what the user changed: it stays
        ("a\nb\nc\n", "a\nb\nc\n", "a\nc\n", "a\nc\n", 0),  # the render drops what the user left: it goes
        ("a\n\tb\n", "a\n\tb\n", "a\n\tb\n\tNEW\n", "a\n\tb\n\tNEW\n", 0),
        ("x = 'q'\n", 'x = "q"\n', "x = 'q'\ny = 1\n", 'x = "q"\ny = 1\n', 0),  # a quote style is no change
        ("a\nb\n", "a\nB\n", "a\nX\n", None, 1),  # both changed one line: the user decides
        # Both add at the end of a module: the render's new class goes above the user's trailing block,
        # below their method of the class above, and a class of theirs by the same name is theirs to settle.
        (
            "class A:\n    x = 1\n",
            "class A:\n    x = 1\n# mine\n",
            "class A:\n    x = 1\nclass B:\n    y = 2\n",
            "class A:\n    x = 1\nclass B:\n    y = 2\n# mine\n",
            0,
        ),
        (
            "class A:\n    x = 1\n",
            "class A:\n    x = 1\n    def m(self): ...\n",
            "class A:\n    x = 1\nclass B:\n    y = 2\n",
            "class A:\n    x = 1\n    def m(self): ...\nclass B:\n    y = 2\n",
            0,
        ),
        (
            "class A:\n    x = 1\n",
            "class A:\n    x = 1\nclass B:\n    pass\n",
            "class A:\n    x = 1\nclass B:\n    y = 2\n",
            None,
            1,
        ),
        ("class A:\n    x = 1\n", "class A:\n    x = 1\n# mine\n", "class A:\n    x = 1\n    y = 2\n", None, 1),
    ],
)
def test_merge(base: str, ours: str, theirs: str, merged: str | None, conflicts: int) -> None:
    result = merge(base.encode(), ours.encode(), theirs.encode(), python=True)
    assert result.conflicts == conflicts
    if merged is not None:
        assert result.content.decode() == merged


def _rpc(name: str, kind: str = "unary_unary") -> Rpc:
    message = MessageRef("p.M", Import("p.generated", "p_pb2", "p_pb2"), "M")
    return Rpc(name, f"/p.S/{name}", kind, message, message, "", False, name.lower())  # type: ignore[arg-type]


def _service(*rpcs: Rpc) -> Service:
    return Service("S", "p.S", "s", Import("p.generated", "p_pb2_grpc", "p_pb2_grpc"), "SServicer", "", False, rpcs)


def _servicer(*methods: tuple[str, str]) -> bytes:
    body = "".join(f"    def {name}(self):\n        {code}\n\n" for name, code in methods)
    return f"class SServicer:\n{body}".encode()


STUB = "raise NotImplementedError"


@pytest.mark.parametrize(
    ("before", "after", "ours", "shown", "report"),
    [
        # An added RPC is shown (a stub will be merged in) and reported.
        (["A"], ["A", "B"], [("A", STUB)], ["A", "B"], "added p.S/B"),
        # A removed RPC the user implemented stays in the servicer; one they never touched goes.
        (["A", "B"], ["A"], [("A", STUB), ("B", "return 1")], ["A", "B"], "removed p.S/B kept"),
        (["A", "B"], ["A"], [("A", STUB), ("B", STUB)], ["A"], "removed p.S/B gone"),
        # A reshaped RPC the user implemented keeps its old shape (the hint tells the new one).
        (["A"], ["A*"], [("A", "return 1")], ["A"], "reshaped p.S/A kept"),
        (["A"], ["A*"], [("A", STUB)], ["A*"], "reshaped p.S/A updated"),
    ],
)
def test_reconcile(
    before: list[str], after: list[str], ours: list[tuple[str, str]], shown: list[str], report: str
) -> None:
    def rpcs(names: list[str]) -> tuple[Rpc, ...]:
        return tuple(_rpc(n.rstrip("*"), "unary_stream" if n.endswith("*") else "unary_unary") for n in names)

    old, new = _service(*rpcs(before)), _service(*rpcs(after))
    pristine = _servicer(*((n.rstrip("*"), STUB) for n in before))
    view, changes = reconcile(
        {"p.S": {r.name: r.proto_signature for r in old.rpcs}},
        [old],
        [new],
        {"servicer.py": (Module.of(_servicer(*ours)), Module.of(pristine))},
        {"p.S": "servicer.py"},
    )
    assert [r.name + ("*" if r.server_streaming else "") for r in view[0].rpcs] == shown
    described = [f"added {r}" for r in changes.added]
    described += [f"removed {o.route} {'kept' if o.kept else 'gone'}" for o in changes.removed]
    described += [f"reshaped {r.route} {'kept' if r.kept else 'updated'}" for r in changes.reshaped]
    assert described == [report]


def test_a_replayed_protoc_result_renders_the_same_project_without_protoc(tmp_path: Path) -> None:
    project = tmp_path / "p"
    assert run_scaffold("new", REPO / "protos/route_guide.proto", "-o", project).returncode == 0
    dumped = tmp_path / "dump"
    assert run_scaffold("gen", "--full", "-C", project, env={"SCAFFOLD_DUMP": str(dumped)}).returncode == 0
    before = tree(project)
    proto = project / "protos/route_guide.proto"
    proto.write_text(proto.read_text().replace("message Point {", "message Point {{ protoc would refuse this"))
    assert run_scaffold("gen", "--full", "-C", project).returncode == 2
    replayed = run_scaffold(
        "gen", "--full", "-C", project, env={"SCAFFOLD_REPLAY": str(dumped / "protoc-result.marshal")}
    )
    assert replayed.returncode == 0, replayed.stderr
    after = tree(project)
    assert {p: c for p, c in after.items() if not p.startswith((".scaffold/", "protos/"))} == {
        p: c for p, c in before.items() if not p.startswith((".scaffold/", "protos/"))
    }
    broken = run_scaffold("gen", "--full", "-C", project, env={"SCAFFOLD_REPLAY": str(tmp_path / "nothing")})
    assert broken.returncode == 2
    assert broken.stderr.startswith(f"SCAFFOLD_REPLAY={tmp_path / 'nothing'}: cannot be replayed: ")
