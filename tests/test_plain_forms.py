"""`scaffold gen`, `check` and `new` in their plain forms run before Typer loads (`scaffold.cli.plain`,
`regenerating`, `creating`; issue 30): each form gives the same stdout, stderr, exit code and tree as
through Typer, without importing it; the forms they do not read still go to Typer."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO, run_scaffold

THROUGH_TYPER = "import sys; from scaffold.cli.app import app; sys.argv[0] = 'scaffold'; app()"
AS_USERS_RUN_IT = (  # `python -m scaffold`, saying at exit on stdout's last line whether Typer was imported
    "import atexit, runpy, sys; sys.argv[0] = 'scaffold'; "
    "atexit.register(lambda: print('typer' in sys.modules)); runpy.run_module('scaffold', run_name='__main__')"
)
PROTO = "protos/helloworld.proto"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("made") / "hello"
    assert run_scaffold("new", REPO / PROTO, "-o", root).returncode == 0
    return root


def _scaffold(cwd: Path, args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = AS_USERS_RUN_IT if args[:1] != ["typer"] else THROUGH_TYPER
    return subprocess.run(
        [sys.executable, "-c", command, *[a for a in args if a != "typer"]],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _said(result: subprocess.CompletedProcess[str], root: Path) -> tuple[int, str, str]:
    """Exit code, stdout (without the line saying whether Typer was imported) and stderr, without the
    project's path or a run's seconds."""

    def plain(text: str) -> str:
        return re.sub(r"\d+\.\d\d s\b", "N s", text.replace(str(root), "<project>"))

    stdout = result.stdout.removesuffix("True\n").removesuffix("False\n")
    return result.returncode, plain(stdout), plain(result.stderr)


def _typer_loaded(result: subprocess.CompletedProcess[str]) -> bool:
    assert result.stdout.endswith(("True\n", "False\n")), result.stdout
    return result.stdout.endswith("True\n")


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "cache" not in p.relative_to(root).parts and "__pycache__" not in p.parts
    }


def _edit(old: str, new: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        path = root / PROTO
        path.write_text(path.read_text().replace(old, new, 1))

    return edit


ADD_RPC = _edit(
    "  rpc SayHelloAgain",
    "  // Says goodbye.\n  rpc SayBye (HelloRequest) returns (HelloReply) {}\n\n  rpc SayHelloAgain",
)
COMMENT = _edit("// Greets people by name.", "// Greets people, by name.")
BROKEN = _edit("message HelloReply {", "message HelloReply {\n  strin broken = 2;")


def _gen_then_delete_client(root: Path) -> None:
    COMMENT(root)
    assert run_scaffold("gen", "-C", root).returncode == 0
    (root / "helloworld/client.py").unlink()


def _gen(root: Path) -> None:
    COMMENT(root)
    assert run_scaffold("gen", "-C", root).returncode == 0


def _implement_then_remove(root: Path) -> None:
    """SayHelloAgain implemented, then taken out of the proto: the next run says the method stays."""
    servicer = root / "helloworld/servicer.py"
    text = servicer.read_text()
    servicer.write_text(text.replace('"SayHelloAgain is not implemented yet"', '"again"'))
    _edit("  rpc SayHelloAgain (HelloRequest) returns (HelloReply) {}\n", "")(root)


FORMS: list[tuple[Callable[[Path], None], list[str], int]] = [
    (ADD_RPC, ["gen"], 0),
    (COMMENT, ["-v", "gen", "-C", "."], 0),
    (ADD_RPC, ["-q", "gen", "--dry-run"], 0),
    (ADD_RPC, ["check"], 1),
    (COMMENT, ["gen", "--project=.", "--full"], 0),
    (BROKEN, ["gen"], 2),
    (BROKEN, ["check", "-C", "."], 2),
    (COMMENT, ["gen", "-C", "no/such/dir"], 2),
    (_gen, ["gen", "--abort"], 0),
    (_gen, ["gen", "--abort", "--full"], 2),
    (_gen_then_delete_client, ["gen", "--recreate", "helloworld/client.py"], 0),
    (_implement_then_remove, ["-q", "gen"], 0),
]


@pytest.mark.parametrize(("change", "argv", "code"), FORMS, ids=[" ".join(f[1]) for f in FORMS])
def test_plain_forms_answer_as_typer_does_without_it(
    made: Path, tmp_path: Path, change: Callable[[Path], None], argv: list[str], code: int
) -> None:
    plain, typed = tmp_path / "plain" / "hello", tmp_path / "typed" / "hello"
    for root in (plain, typed):
        shutil.copytree(made, root)
        change(root)
    fast = _scaffold(plain, argv)
    slow = _scaffold(typed, ["typer", *argv])
    assert _said(fast, plain) == _said(slow, typed), argv
    assert fast.returncode == code, fast.stderr[-2000:]
    assert not _typer_loaded(fast), argv
    assert _tree(plain) == _tree(typed)


@pytest.mark.parametrize(
    "argv", [["gen", "--nope"], ["gen", "-C"], ["gen", "extra"], ["check", "--breaking"], ["check", "--recreate", "x"]]
)
def test_other_forms_go_to_typer(made: Path, tmp_path: Path, argv: list[str]) -> None:
    root = tmp_path / "hello"
    shutil.copytree(made, root)
    COMMENT(root)
    result = _scaffold(root, argv)
    assert _typer_loaded(result), argv


def test_ctrl_c_in_a_plain_gen_ends_as_through_typer(made: Path, tmp_path: Path) -> None:
    """Ctrl-C once the run has planned (a seam raises what SIGINT raises): a quiet exit 130, the tree as it was."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "interrupt.py").write_text(
        "def hook(moment, path):\n    if moment == 'planned':\n        raise KeyboardInterrupt\n"
    )
    env = {"SCAFFOLD_SEAM": "interrupt:hook", "PYTHONPATH": str(hooks)}
    results = []
    for name, argv in (("plain", ["gen"]), ("typed", ["typer", "gen"])):
        root = tmp_path / name / "hello"
        shutil.copytree(made, root)
        ADD_RPC(root)
        before = _tree(root)
        result = _scaffold(root, argv, env)
        assert _tree(root) == before
        results.append(_said(result, root))
    assert results[0] == results[1] == (130, "", "")


NEW_FORMS: list[tuple[list[str], int]] = [
    (["new", "{repo}/protos/helloworld.proto", "-o", "{out}"], 0),
    (["-v", "new", "--aio", "--health", "-o", "{out}", "{repo}/protos/route_guide.proto"], 0),
    (
        ["-q", "new", "{repo}/protos/helloworld.proto", "--output={out}", "--layout", "per-service", "--name", "greet"],
        0,
    ),
    (["new", "-I", "{repo}/protos", "{repo}/protos/helloworld.proto", "-I", "{repo}/protos", "-o", "{out}"], 0),
    (["new", "{repo}/protos/nope.proto", "-o", "{out}"], 2),
    (["new", "{repo}/protos/helloworld.proto", "-o", "{out}", "-I", "{out}/nowhere"], 2),
    (["new", "{repo}/protos/helloworld.proto", "-o", "{repo}/protos"], 2),
]


@pytest.mark.parametrize(("argv", "code"), NEW_FORMS, ids=[" ".join(f[0][:3]) for f in NEW_FORMS])
def test_plain_new_answers_as_typer_does_without_it(tmp_path: Path, argv: list[str], code: int) -> None:
    results, trees = [], []
    for name, prefix in (("plain", []), ("typed", ["typer"])):
        out = tmp_path / name / "made"
        filled = [a.format(repo=REPO, out=out) for a in argv]
        result = _scaffold(tmp_path, [*prefix, *filled])
        results.append(_said(result, out))
        trees.append(_tree(out) if out.is_dir() else {})
        if not prefix:
            assert result.returncode == code, result.stderr[-2000:]
            assert not _typer_loaded(result), argv
    assert results[0] == results[1], argv
    assert trees[0] == trees[1]


@pytest.mark.parametrize(
    "argv", [["new"], ["new", "--layout", "x", "p.proto"], ["new", "-oOUT", "p.proto"], ["new", "--", "p.proto"]]
)
def test_other_forms_of_new_go_to_typer(tmp_path: Path, argv: list[str]) -> None:
    result = _scaffold(tmp_path, argv)
    assert result.returncode == 2 and _typer_loaded(result), argv
