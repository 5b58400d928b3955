"""Issue 25, the merge and the write stage: what a line is, a new stub beside an edited method, a
deleted stub, a reshape reported once, a rename-save landing in the swap, and `gen --abort`; all
driven through the CLI (races made deterministic through `scaffold.seams`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import run_scaffold
from test_gen import AGAIN, HELLO, HELLO_BODY, SERVICER, implement, make_project, set_rpcs

CLIENT = "greeter/client.py"


def gen(project: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return run_scaffold("gen", "-C", project, *args, env=env)


def check(project: Path) -> int:
    return run_scaffold("check", "-C", project).returncode


# Item 8: lines are what Python's tokenizer calls lines.

ODD = (
    'SEPARATED = "a\u2028b"  # a line separator inside a string\n'
    "NEXT_LINE = 'x'  # caf\u0085e: NEL inside a comment\n"
    "\x0c\n"
    "PAGE = 1  # a form feed above, a page break; \x0c and \u2029 here too\n"
)


@pytest.mark.parametrize("path", [SERVICER, CLIENT])
def test_separators_python_does_not_split_at_survive_a_merge(tmp_path: Path, path: str) -> None:
    project = make_project(tmp_path, HELLO)
    implement(project, "SayHello", HELLO_BODY)
    module = project / path
    text = module.read_text(encoding="utf-8").replace("\n\n\n", "\n\n\n" + ODD + "\n\n", 1)
    module.write_bytes(text.encode("utf-8"))
    assert check(project) == 0
    set_rpcs(project, HELLO, AGAIN)
    assert check(project) == 1
    result = gen(project)
    assert result.returncode == 0 and f"merge     {path}" in result.stdout, result.stdout + result.stderr
    merged = module.read_bytes().decode("utf-8")
    assert ODD in merged
    ast.parse(merged)  # still one module: no literal cut in two
    assert "SayHelloAgain" in merged or "say_hello_again" in merged
    assert check(project) == 0
    assert gen(project).stdout.startswith("Up to date")
