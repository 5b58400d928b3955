"""Issue 25, odd input (items 4, 11, 12, 18): valid input that scaffold refused or crashed on, and bad
input that ended in a traceback. Each case goes through the CLI in a subprocess; valid input gives a
project that imports, serves, type-checks and lints; bad input gives one located line, a documented
exit code and nothing changed on disk."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO, TEST_PROTOS, at_key, check_project, run_python, run_scaffold, served, tree

# Comment lines that each broke a docstring: quotes that close it (anywhere, alone on a line, at its
# end), backslashes that escape or join lines, characters Python or Jinja read as line ends, and lines
# that look like the code grpc's plugin writes around its docstrings.
ODD_COMMENTS = [
    ['"""'],
    ['ends with """', '"""', "a line of quotes above"],
    ['Use """docstrings""" here', "and a backslash at the end \\"],
    ['"""Missing associated documentation comment in .proto file."""'],
    ["\\N{BULLET} \\p{L} \\x \\u12 \\", "", '    indented, then quotes ""'],
    ["form\x0cfeed, line\u2028separator, next\x85line, vertical\x0btab", "'''", '"""""'],
    ['"""', "", "def __init__(self, channel):", 'context.set_code(grpc.StatusCode.UNIMPLEMENTED)"""'],
]


def _odd_comment_proto() -> str:
    """A proto with two services whose every service and RPC carries one of ODD_COMMENTS (CRLF lines)."""

    def comment(lines: list[str], indent: str) -> str:
        return "".join(f"{indent}//{' ' if line else ''}{line}\n" for line in lines)

    rpcs = [
        f"{comment(lines, '  ')}  rpc R{number} (M) returns (M) {{}}\n" for number, lines in enumerate(ODD_COMMENTS)
    ]
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

    ours = _docstrings(out / "odd/services/s.py")
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


NODE_PROTO = """syntax = "proto3";
package rr;
service R {
  rpc Get (Node) returns (Node) {}
  rpc Up (stream Node) returns (Node) {}
}
message Node { string name = 1; Node child = 2; repeated int32 xs = 3; map<string, Node> m = 4; int32 n = 5; }
"""


def _call(project: Path, target: str, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """`scaffold call -C PROJECT --target TARGET ARGS` with `stdin` (bytes, as a pipe gives them)."""
    result = subprocess.run(
        [sys.executable, "-m", "scaffold", "call", "-C", str(project), "--target", target, *args],
        cwd=project,
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode(), result.stderr.decode())


def test_call_refuses_bad_requests_metadata_and_deadlines_with_one_located_line_and_sends_nothing(
    tmp_path: Path,
) -> None:
    (tmp_path / "r.proto").write_text(NODE_PROTO)
    project = tmp_path / "p"
    assert run_scaffold("new", tmp_path / "r.proto", "-o", project).returncode == 0
    (tmp_path / "deep.json").write_text('{"child":' * 5000 + "{}" + "}" * 5000)
    (tmp_path / "arrays.json").write_text('{"xs": ' + "[" * 100_000 + "]" * 100_000 + "}")
    (tmp_path / "latin1.json").write_bytes(b'{"name": "\xff\xfe"}')
    deep, arrays, latin1 = (str(tmp_path / name) for name in ("deep.json", "arrays.json", "latin1.json"))
    refused = {
        ("Get", "-d", "5"): "-d:1:1: a request is a JSON object ({...}), not a number",
        ("Get", "-d", " null"): "-d:1:2: a request is a JSON object ({...}), not null",
        ("Get", "-d", '["x"]'): "-d:1:1: a request is a JSON object ({...}), not an array",
        ("Get", "-d", f"@{deep}"): f"{deep}:1:901: nested deeper than 100 levels: protobuf reads no deeper",
        ("Get", "-d", f"@{arrays}"): f"{arrays}:1:107: nested deeper than 100 levels: protobuf reads no deeper",
        ("Get", "-d", f"@{latin1}"): f"{latin1}:1:11: not UTF-8: byte 0xff",
        ("Get", "-d", '{"m": {"k": {"nmae": "x"}}}'): '-d:1:14: no field "nmae" in rr.Node; did you mean "name"?',
        ("Get", "-d", '{\n"n": 1.5}'): "-d:2:1: field n: Couldn't parse integer: 1.5 at Node.n.",
        ("Get", "-d", '{"name": "a", "name": "b"}'): (
            '-d:1:15: "name" twice in one object: JSON would keep the last, silently'
        ),
        ("Get", "-H", "x-bin:%%%"): "-H x-bin:%%%: the value of a key ending -bin is base64",
        ("Get", "-H", "Bad Key:1"): "-H Bad Key:1: a metadata key holds only letters, digits, '-', '_' and '.'",
        ("Get", "-H", "x-note:caf\u00e9"): (
            "-H x-note:caf\u00e9: a value is printable ASCII; bytes go in a key ending -bin, as base64"
        ),
        ("Get", "--timeout", "nan"): "--timeout: nan: a deadline is a positive number of seconds",
        ("Get", "--timeout", "-1"): "--timeout: -1.0: a deadline is a positive number of seconds",
        (
            "Up",
            "-d",
            '{"name": "a"}\n{"name": "b"}\n{"nme": "c"}',
        ): '-d:3:2: no field "nme" in rr.Node; did you mean "name"?',
    }
    servicer = project / "r/servicer.py"  # Up reads its whole stream, as a real one would
    text = servicer.read_text()
    up = text.index("context.abort(", text.index("def Up("))
    servicer.write_text(text[:up] + "for _ in request_iterator:\n            pass\n        " + text[up:])
    with served(project, "r") as server:
        target = f"127.0.0.1:{server.port}"
        for args, expected in refused.items():
            result = _call(project, target, *args)
            assert (result.returncode, result.stderr) == (2, expected + "\n"), args
        sent = _call(project, target, "Get", "-H", "x-bin:abc", "-H", "X-Note:ok", "-d", "{}")  # unpadded base64
        assert (sent.returncode, sent.stderr) == (1, "UNIMPLEMENTED: Get is not implemented yet\n")
        # The server saw that call and nothing of the refused ones.
        access = server.wait_for(re.compile(r"/rr\.R/\w+ UNIMPLEMENTED"))
        assert len([line for line in access if "/rr.R/" in line]) == 1, access

        # A stream read from stdin is sent as it is read: a bad line there cancels the call, located.
        stream = _call(project, target, "Up", "-d", "@-", stdin=b'{"name": "a"}\n{"name": "\xff"}\n')
        assert (stream.returncode, stream.stderr) == (2, "<stdin>:2:11: not UTF-8: byte 0xff\n")


SERVER_FLAGS_OUT_OF_RANGE = {
    ("--port", "116000"): "argument --port: 116000 is not from 0 to 65535",
    ("--port", "-1"): "argument --port: -1 is not from 0 to 65535",
    ("--port", "x"): "argument --port: invalid int value: 'x'",
    ("--max-message-bytes", "0"): "argument --max-message-bytes: 0 is not from 1 to 2147483647",
    ("--grace", "nan"): "argument --grace: nan is not from 0 to 86400",
    ("--keepalive-seconds", "inf"): "argument --keepalive-seconds: inf is not from 0 to 86400",
    ("--max-connection-age-seconds", "-1"): "argument --max-connection-age-seconds: -1 is not from 0 to 31536000",
}


def test_generated_server_refuses_ports_and_numbers_its_flags_cannot_take(tmp_path: Path) -> None:
    sync, aio = tmp_path / "sync", tmp_path / "aio"
    assert run_scaffold("new", REPO / "protos/route_guide.proto", "-o", sync, "--metrics").returncode == 0
    shutil.copytree(REPO / "examples/route_guide_aio", aio)
    cases = {
        (sync, "--max-workers", "0"): "argument --max-workers: 0 is not from 1 to 10000",
        (sync, "--metrics-port", "65536"): "argument --metrics-port: 65536 is not from 0 to 65535",
        **{(project, *args): message for project in (sync, aio) for args, message in SERVER_FLAGS_OUT_OF_RANGE.items()},
    }
    for (project, *args), message in cases.items():
        refused = run_python("-m", "route_guide.server", *args, cwd=project, timeout=60)
        assert refused.returncode == 2, (args, refused.stderr)
        assert refused.stderr.splitlines()[-1] == f"server.py: error: {message}"
    with served(aio, "route_guide", ["--grace", "0", "--keepalive-seconds", "86400"]) as server:
        assert server.port > 0  # the bounds themselves are taken


def test_every_command_refuses_a_project_or_include_dir_that_is_not_one(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "empty").mkdir()
    projects = {
        "missing": "missing: no such directory",
        "file": "file: not a directory",
        "empty": "empty/pyproject.toml: no such file; `scaffold new` makes a project",
    }
    commands = [["gen"], ["check"], ["diff"], ["describe"], ["inspect"], ["breaking"], ["watch"], ["dev"]]
    for command in [*commands, ["call", "GetFeature"]]:
        for given, message in projects.items():
            result = run_scaffold(*command, "-C", given, cwd=tmp_path)
            assert (result.returncode, result.stderr) == (2, message + "\n"), command
    proto = REPO / "protos/route_guide.proto"
    for command in (["new", proto, "-o", "out"], ["inspect", proto], ["call", "--proto", proto, "GetFeature"]):
        for given, message in (("missing", "no such directory"), ("file", "not a directory")):
            result = run_scaffold(*command, "-I", given, cwd=tmp_path)
            assert (result.returncode, result.stderr) == (2, f"-I {given}: {message}\n"), command
    dev = run_scaffold("dev", "--port", "116000", cwd=tmp_path)
    assert dev.returncode == 2 and "116000 is not in the range 0<=x<=65535" in dev.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["empty", "file"]
    assert not list((tmp_path / "empty").iterdir())


def test_generated_named_like_a_directory_or_module_of_the_package_is_refused_located(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    result = run_scaffold("new", TEST_PROTOS / "multi/shop.proto", "-I", TEST_PROTOS / "multi", "-o", project)
    assert result.returncode == 0, result.stderr
    pyproject = project / "pyproject.toml"
    original = pyproject.read_text()
    for name, owned in [("services", "services/"), ("clients.v1", "clients/"), ("server", "server.py")]:
        pyproject.write_text(re.sub(r"(?m)^generated = .*$", f'generated = "{name}"', original))
        before = tree(project)
        for command in ("gen", "check"):
            result = run_scaffold(command, "-C", project)
            expected = (
                f"{at_key(pyproject, 'generated')}: [tool.scaffold] generated: {name.split('.')[0]!r} is where the"
                f' project keeps {owned}; name protoc\'s sub-package something else (the default is "generated")\n'
            )
            assert (result.returncode, result.stderr) == (2, expected), command
        assert tree(project) == before


ODD_NAMES_PROTO = """syntax = "proto3";
package pk;
service __init__ { rpc Do (M) returns (M) {} }
service Init_ { rpc Do (M) returns (M) {} }
message M { string a = 1; }
"""


def test_services_and_packages_named_init_get_modules_that_stand_where_no_package_file_does(tmp_path: Path) -> None:
    protos = tmp_path / "protos"
    protos.mkdir()
    (protos / "pk.proto").write_text(ODD_NAMES_PROTO)
    (protos / "q.proto").write_text(ODD_NAMES_PROTO.replace("package pk;", "package __init__;"))
    project = tmp_path / "proj"
    result = run_scaffold("new", protos, "-o", project, "--name", "proj", "--layout", "per-service")
    assert result.returncode == 0, result.stderr
    modules = sorted(path for path in tree(project) if path.startswith(("proj/services/", "proj/clients/", "tests/")))
    assert [path for path in modules if not path.endswith(("__init__.py", "__main__.py"))] == [
        "proj/clients/init_/init_.py",
        "proj/clients/init_/init_init_.py",
        "proj/clients/pk/init_.py",
        "proj/clients/pk/pk_init_.py",
        "proj/services/init_/init_.py",
        "proj/services/init_/init_init_.py",
        "proj/services/pk/init_.py",
        "proj/services/pk/pk_init_.py",
        "tests/init_/test_init_.py",
        "tests/init_/test_init_init_.py",
        "tests/pk/test_init_.py",
        "tests/pk/test_pk_init_.py",
    ]
    servicer = project / "proj/services/pk/init_.py"
    implemented = servicer.read_text() + '\n\ndef helper() -> str:\n    return "MARK"\n'
    servicer.write_text(implemented)
    (protos / "pk.proto").write_text(ODD_NAMES_PROTO.replace("{ rpc Do", "{ rpc Extra (M) returns (M) {}\n  rpc Do", 1))
    shutil.copy(protos / "pk.proto", project / "protos/pk.proto")
    result = run_scaffold("gen", "-C", project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "MARK" in servicer.read_text() and "def Extra(" in servicer.read_text()
    assert not [path for path in tree(project) if path.endswith(".mine")]
    check_project(project, "proj")


def test_tool_and_certificate_paths_that_cannot_serve_are_one_line_each(tmp_path: Path) -> None:
    project = tmp_path / "p"
    assert run_scaffold("new", REPO / "protos/route_guide.proto", "-o", project).returncode == 0
    proto = project / "protos/route_guide.proto"
    proto.write_text(
        proto.read_text().replace("rpc GetFeature", "rpc Extra(Point) returns (Point) {}\n  rpc GetFeature")
    )
    before = tree(project)
    (tmp_path / "notpem").write_text("x")
    cases = {
        ("diff", "--tool", str(tmp_path)): f"--tool {tmp_path}: cannot run it: Permission denied",
        ("diff", "--tool", "vim '"): "--tool vim ': No closing quotation",
        ("call", "GetFeature", "--tls", "--ca", str(tmp_path / "notpem")): (
            f"--ca {tmp_path / 'notpem'}: not PEM (no -----BEGIN line)"
        ),
        ("call", "GetFeature", "--ca", os.devnull): f"--ca {os.devnull}: not PEM (no -----BEGIN line)",
    }
    for (command, *args), message in cases.items():
        target = ["--target", "127.0.0.1:1"] if command == "call" else []
        result = run_scaffold(command, "-C", project, *args, *target)
        assert result.returncode == 2, (command, args, result.stderr)
        assert result.stderr.splitlines() == [message]
    assert tree(project) == before


def test_a_package_name_where_the_project_keeps_its_protos_or_that_python_reserves_is_refused(tmp_path: Path) -> None:
    proto = REPO / "protos/route_guide.proto"
    empty = run_scaffold("new", proto, "-o", tmp_path / "out", "--name", "")
    assert (empty.returncode, empty.stderr) == (
        2,
        "--name: '' is not a valid Python package name (use letters, digits and _)\n",
    )
    for name, reason in [
        ("protos", "is the directory the project keeps its protos in (protos/)"),
        ("__main__", "is a name Python reserves"),
        ("__init__", "is a name Python reserves"),
    ]:
        result = run_scaffold("new", proto, "-o", tmp_path / "out", "--name", name)
        assert (result.returncode, result.stderr) == (2, f"--name: {name!r} {reason}; choose another package name\n")
        assert not (tmp_path / "out").exists()
    (tmp_path / "protos.proto").write_text(proto.read_text())
    result = run_scaffold("new", tmp_path / "protos.proto", "-o", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert 'package = "protos_service"' in (tmp_path / "out/pyproject.toml").read_text()
