"""Issue 25, odd input (items 4, 11, 12, 18): valid input that scaffold refused or crashed on, and bad
input that ended in a traceback. Each case goes through the CLI in a subprocess; valid input gives a
project that imports, serves, type-checks and lints; bad input gives one located line, a documented
exit code and nothing changed on disk."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import check_project, run_scaffold, tree

# Comment lines that each broke a docstring: quotes that close it (anywhere, alone on a line, at its
# end), backslashes that escape or join lines, characters Python or Jinja read as line ends, and lines
# that look like the code grpc's plugin writes around its docstrings.
ODD_COMMENTS = [
    ['"""'],
    ["ends with \"\"\"", '"""', "a line of quotes above"],
    ['Use """docstrings""" here', "and a backslash at the end \\"],
    ['"""Missing associated documentation comment in .proto file."""'],
    ["\\N{BULLET} \\p{L} \\x \\u12 \\", "", '    indented, then quotes ""'],
    ["form\x0cfeed, line\u2028separator, next\x85line, vertical\x0btab", "'''", "\"\"\"\"\""],
    ['"""', "", "def __init__(self, channel):", 'context.set_code(grpc.StatusCode.UNIMPLEMENTED)"""'],
]


def _odd_comment_proto() -> str:
    """A proto with two services whose every service and RPC carries one of ODD_COMMENTS (CRLF lines)."""

    def comment(lines: list[str], indent: str) -> str:
        return "".join(f"{indent}//{' ' if line else ''}{line}\n" for line in lines)

    rpcs = [f"{comment(lines, '  ')}  rpc R{number} (M) returns (M) {{}}\n" for number, lines in enumerate(ODD_COMMENTS)]
    text = (
        'syntax = "proto3";\npackage odd;\n'
        + comment(ODD_COMMENTS[0], "")
        + "service S {\n"
        + "".join(rpcs)
        + "}\n"
        + comment(ODD_COMMENTS[1], "")
        + "service T {\n"
        + rpcs[-1]
        + "}\nmessage M { string a = 1; }\n"
    )
    return text.replace("\n", "\r\n")


def _docstrings(module: Path) -> dict[str, str]:
    """`Class` and `Class.method` of `module` -> its docstring, as Python reads it."""
    found = {}
    for node in ast.parse(module.read_bytes()).body:
        if isinstance(node, ast.ClassDef):
            found[node.name] = ast.get_docstring(node, clean=False) or ""
            for member in node.body:
                if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                    found[f"{node.name}.{member.name}"] = ast.get_docstring(member, clean=False) or ""
    return found


def _lines(doc: str) -> list[str]:
    """A docstring's lines without the indentation Python source gives them (split at `\\n` only)."""
    return [line.strip(" ") for line in doc.strip("\n ").split("\n")]


def test_comments_with_quotes_backslashes_and_line_separators_become_docstrings_that_mean_them(
    tmp_path: Path,
) -> None:
    proto = tmp_path / "odd.proto"
    proto.write_bytes(_odd_comment_proto().encode())
    out = tmp_path / "out"
    result = run_scaffold("new", proto, "-o", out)
    assert result.returncode == 0, result.stderr
    check_project(out, "odd")  # imports under -W error, serves its tests, ruff and mypy --strict clean

    ours = _docstrings(out / "odd/services/odd/s.py")
    plugins = _docstrings(out / "odd/generated/odd_pb2_grpc.py")
    for number, lines in enumerate(ODD_COMMENTS):
        # Ours is the comment, exactly; grpc's plugin strips each line's indentation, the repair keeps the rest.
        assert _lines(ours[f"SServicer.R{number}"]) == [line.strip(" ") for line in lines]
        assert _lines(plugins[f"SServicer.R{number}"]) == [line.strip(" ") for line in lines]
    assert _lines(ours["SServicer"]) == _lines(plugins["SStub"]) == _lines(plugins["S"]) == ['"""']
    assert _lines(plugins["TServicer"]) == [line.strip(" ") for line in ODD_COMMENTS[1]]

    again = run_scaffold("check", "-C", out)  # what was written is what a regeneration writes
    assert again.returncode == 0, again.stdout + again.stderr
    assert not [path for path in tree(out) if path.endswith(".mine")]
