"""`scaffold breaking` and `scaffold check --breaking` as a user runs them, in a git repository.

What buf would say is held to buf by tests/test_breaking_oracle.py; these
tests hold the loop around it: the three kinds of `--against`, the config
table, categories, ignores, the code of the user's each break touches,
exit codes, and located errors for bad input at either side.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, TEST_PROTOS, at_key, run_scaffold

PROTO = "protos/route_guide.proto"
LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+):(?P<rule>[A-Z_0-9]+):(?P<message>.+)$")


def _git(project: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=project,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A route_guide project, committed as it was made."""
    done = run_scaffold("new", REPO / PROTO, "-o", tmp_path / "guide")
    assert done.returncode == 0, done.stderr
    root = tmp_path / "guide"
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "made")
    return root


def _edit(project: Path, old: str, new: str, path: str = PROTO) -> None:
    text = (project / path).read_text()
    assert old in text, old
    (project / path).write_text(text.replace(old, new))


def _breaks(stdout: str) -> list[re.Match[str]]:
    return [m for m in map(LINE.match, stdout.splitlines()) if m]


def _line_of(project: Path, path: str, needle: str) -> int:
    return next(n for n, line in enumerate((project / path).read_text().splitlines(), 1) if needle in line)


def test_nothing_breaks_exit_0(project: Path) -> None:
    _edit(project, "message Point {", "// A comment changes nothing on the wire.\nmessage Point {")
    done = run_scaffold("breaking", "--against", "HEAD", cwd=project)
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr == "No breaking change against HEAD (FILE, 51 rules).\n"


def test_breaks_against_a_revision_with_the_code_they_touch(project: Path) -> None:
    _edit(project, "int32 latitude = 1;", "int64 latitude = 1;")
    _edit(
        project, "rpc ListFeatures(Rectangle) returns (stream Feature)", "rpc ListFeatures(Rectangle) returns (Feature)"
    )
    done = run_scaffold("breaking", "--against", "HEAD", cwd=project)
    assert done.returncode == 1, done.stderr
    breaks = _breaks(done.stdout)
    assert [(b["path"], b["rule"]) for b in breaks] == [
        (PROTO, "RPC_SAME_SERVER_STREAMING"),
        (PROTO, "FIELD_SAME_TYPE"),
    ]
    streaming, retyped = breaks
    assert int(streaming["line"]) == _line_of(project, PROTO, "rpc ListFeatures")
    assert int(retyped["line"]) == _line_of(project, PROTO, "int64 latitude")
    assert int(retyped["col"]) == 3
    assert "ListFeatures" in streaming["message"] and "latitude" in retyped["message"]
    lines = done.stdout.splitlines()
    after_streaming = lines[lines.index(streaming.group(0)) + 1 : lines.index(retyped.group(0))]
    servicer_line = _line_of(project, "route_guide/servicer.py", "def ListFeatures")
    client_line = _line_of(project, "route_guide/client.py", "def list_features")
    test_line = _line_of(project, "tests/test_route_guide.py", "def test_list_features")
    assert after_streaming == [
        f"    touches route_guide/servicer.py:{servicer_line} RouteGuideServicer.ListFeatures",
        f"    touches route_guide/client.py:{client_line} list_features",
        f"    touches tests/test_route_guide.py:{test_line} test_list_features",
    ]
    # Point is in every RPC's messages: the retyped field touches all four.
    touched = [line for line in lines[lines.index(retyped.group(0)) + 1 :] if "servicer.py" in line]
    assert [line.rsplit(".", 1)[1] for line in touched] == ["GetFeature", "ListFeatures", "RecordRoute", "RouteChat"]
    assert done.stderr == "2 breaking changes against HEAD (FILE).\n"


def test_json_lines_and_categories(project: Path) -> None:
    _edit(project, "string name = 1;", "string title = 1;")  # Feature.name renamed: same number, same wire
    done = run_scaffold("breaking", "--against", "HEAD", "--format", "json", cwd=project)
    assert done.returncode == 1
    objects = [json.loads(line) for line in done.stdout.splitlines()]
    assert {o["rule"] for o in objects} == {"FIELD_SAME_NAME", "FIELD_SAME_JSON_NAME"}
    for found in objects:
        assert set(found) == {"path", "line", "column", "rule", "message", "touches"}
        assert found["path"] == PROTO and found["line"] == _line_of(project, PROTO, "string title = 1;")
        assert {t["symbol"] for t in found["touches"]} >= {"RouteGuideServicer.GetFeature", "get_feature"}
    wire = run_scaffold("breaking", "--against", "HEAD", "--category", "WIRE", cwd=project)
    assert (wire.returncode, wire.stdout) == (0, "")  # a rename is invisible to the binary encoding
    json_wire = run_scaffold("breaking", "--against", "HEAD", "--category", "WIRE_JSON", cwd=project)
    assert json_wire.returncode == 1 and "FIELD_SAME_JSON_NAME" in json_wire.stdout


def test_against_a_directory_and_a_descriptor_set(project: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(project / "protos", old)
    image = tmp_path / "old.binpb"
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{old}", f"--descriptor_set_out={image}"]
        + ["--include_imports", "--include_source_info", str(old / "route_guide.proto")],
        check=True,
    )
    _edit(project, "  rpc RouteChat(stream RouteNote) returns (stream RouteNote) {}\n", "")
    _edit(project, "int32 longitude = 2;", "reserved 2;")
    by_revision = run_scaffold("breaking", "--against", "HEAD", cwd=project)
    expected = [(b["rule"], b["line"]) for b in _breaks(by_revision.stdout)]
    assert {rule for rule, _ in expected} == {"RPC_NO_DELETE", "FIELD_NO_DELETE"}
    for against in (old, image):
        done = run_scaffold("breaking", "--against", against, cwd=project)
        assert done.returncode == 1, done.stderr
        assert [(b["rule"], b["line"]) for b in _breaks(done.stdout)] == expected
    wire = run_scaffold("breaking", "--against", old, "--category", "WIRE", cwd=project)
    assert "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED" not in wire.stdout  # the number is reserved


def test_the_config_table_and_ignores(project: Path) -> None:
    pyproject = project / "pyproject.toml"
    base = pyproject.read_text()
    _edit(project, "string name = 1;", "string title = 1;")
    pyproject.write_text(base + '\n[tool.scaffold.breaking]\nagainst = "HEAD"\ncategory = "WIRE_JSON"\n')
    done = run_scaffold("breaking", cwd=project)
    assert done.returncode == 1 and {b["rule"] for b in _breaks(done.stdout)} == {
        "FIELD_SAME_NAME",
        "FIELD_SAME_JSON_NAME",
    }
    pyproject.write_text(
        base + '\n[tool.scaffold.breaking]\nagainst = "HEAD"\n\n[tool.scaffold.breaking.ignore_only]\n'
        'FIELD_SAME_NAME = ["route_guide.proto"]\n'
    )
    done = run_scaffold("breaking", cwd=project)
    assert {b["rule"] for b in _breaks(done.stdout)} == {"FIELD_SAME_JSON_NAME"}
    pyproject.write_text(base + '\n[tool.scaffold.breaking]\nagainst = "HEAD"\nignore = ["protos/route_guide.proto"]\n')
    done = run_scaffold("breaking", cwd=project)
    assert (done.returncode, done.stdout) == (0, "")
    pyproject.write_text(base + '\n[tool.scaffold.breaking]\nagainst = "HEAD"\ncategory = "SOURCE"\n')
    done = run_scaffold("breaking", cwd=project)
    assert done.returncode == 2
    assert done.stderr.startswith(f"{at_key(pyproject, 'category')}: [tool.scaffold.breaking] category must be")


def test_use_and_except_and_a_buf_yaml_beside_the_protos(project: Path) -> None:
    """buf's `use`/`except` in the table; a buf.yaml read when the table leaves a key unsaid; bad input in
    either located, exit 2; what scaffold cannot honour in a buf.yaml named in one line."""
    pyproject = project / "pyproject.toml"
    base = pyproject.read_text()
    _edit(project, "string name = 1;", "string title = 1;")
    table = '\n[tool.scaffold.breaking]\nagainst = "HEAD"\nuse = ["WIRE_JSON"]\nexcept = ["FIELD_SAME_JSON_NAME"]\n'
    pyproject.write_text(base + table)
    done = run_scaffold("breaking", cwd=project)
    assert done.returncode == 1 and [b["rule"] for b in _breaks(done.stdout)] == ["FIELD_SAME_NAME"]
    assert "(WIRE_JSON except FIELD_SAME_JSON_NAME)." in done.stderr
    for bad, key, message in [
        ('category = "FILE"\nuse = ["WIRE"]\n', "use", "sets both category and use"),
        ('use = ["WIRE", "NOPE"]\n', "use", "use: 'NOPE' is not a rule or category of buf's v2 configuration"),
        ('except = "FILE"\n', "except", "except must be a list of rule IDs and categories"),
    ]:
        pyproject.write_text(base + '\n[tool.scaffold.breaking]\nagainst = "HEAD"\n' + bad)
        refused = run_scaffold("breaking", cwd=project)
        assert refused.returncode == 2 and refused.stderr.startswith(f"{at_key(pyproject, key)}: "), refused.stderr
        assert message in refused.stderr
    pyproject.write_text(base + '\n[tool.scaffold.breaking]\nagainst = "HEAD"\n')
    buf_yaml = project / "buf.yaml"
    buf_yaml.write_text(
        "version: v2\nbreaking:\n  use: [WIRE_JSON]\n  except: [FIELD_SAME_NAME]\nplugins:\n  - plugin: x\n"
    )
    done = run_scaffold("breaking", cwd=project)
    assert [b["rule"] for b in _breaks(done.stdout)] == ["FIELD_SAME_JSON_NAME"]
    assert f"{buf_yaml}: plugins is not honoured by scaffold breaking (buf only)\n" in done.stderr
    for text, where, message in [
        ("version: v3\n", "1:1", "version must be one of v1beta1, v1, v2, not 'v3'"),
        ("version: v1\nbreaking:\n  use: [CSR]\n", "3:3", "'CSR' is not a rule or category of buf's v1"),
        ("version: v2\nbreaking:\n  use: [FILE\n", "4:1", "not YAML"),
        ("version: v2\nbreaking:\n  lint_use: [FILE]\n", "3:3", "breaking has no key 'lint_use'"),
        ("version: v1\nbuild: 5\n", "2:1", "build must be a mapping"),
        ("version: v1beta1\nbuild:\n  roots: 7\n", "3:3", "build.roots must be a list of strings"),
        ("version: v2\nmodules:\n  - path: protos\n    excludes: 3\n", "4:5", "modules.excludes must be a list"),
    ]:
        buf_yaml.write_text(text)
        refused = run_scaffold("breaking", cwd=project)
        assert refused.returncode == 2 and refused.stderr.startswith(f"{buf_yaml}:{where}: "), refused.stderr
        assert message in refused.stderr and "Traceback" not in refused.stderr


def test_check_breaking_for_ci(project: Path) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.scaffold.breaking]\nagainst = "HEAD"\n')
    assert run_scaffold("gen", cwd=project).returncode == 0
    clean = run_scaffold("check", "--breaking", cwd=project)
    assert clean.returncode == 0, clean.stderr
    _edit(project, "  rpc RecordRoute(stream Point) returns (RouteSummary) {}\n", "")
    stale = run_scaffold("check", "--breaking", cwd=project)
    assert stale.returncode == 1 and "stale:" in stale.stderr and "RPC_NO_DELETE" in stale.stdout
    assert run_scaffold("gen", cwd=project).returncode == 0
    broken = run_scaffold("check", "--breaking", cwd=project)
    assert broken.returncode == 1 and "stale:" not in broken.stderr
    assert [b["rule"] for b in _breaks(broken.stdout)] == ["RPC_NO_DELETE"]


def test_a_deleted_rpc_points_at_the_method_the_user_keeps(project: Path) -> None:
    servicer = project / "route_guide/servicer.py"
    text = servicer.read_text()
    start = text.index("    def GetFeature")
    body = text.index("        context.abort", start)
    servicer.write_text(text[:body] + "        return route_guide_pb2.Feature(name='kept')\n" + text[body:])
    _git(project, "commit", "-qam", "implemented")
    _edit(project, "  rpc GetFeature(Point) returns (Feature) {}\n", "")
    assert run_scaffold("gen", cwd=project).returncode == 0
    done = run_scaffold("breaking", "--against", "HEAD", cwd=project)
    assert done.returncode == 1
    line = _line_of(project, "route_guide/servicer.py", "def GetFeature")
    assert f"    touches route_guide/servicer.py:{line} RouteGuideServicer.GetFeature" in done.stdout.splitlines()


def test_bad_input_is_a_located_error_exit_2(project: Path) -> None:
    unknown = run_scaffold("breaking", "--against", "no-such-branch", cwd=project)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert unknown.stderr == "no-such-branch: neither a path nor a git revision of this repository\n"

    _edit(project, "int32 latitude = 1;", "int32 latitude = 1")  # no semicolon, at the current side
    current = run_scaffold("breaking", "--against", "HEAD", cwd=project)
    assert current.returncode == 2
    assert re.fullmatch(rf'{re.escape(str(project / PROTO))}:\d+:\d+: Expected ";"\.\n', current.stderr), current.stderr

    _git(project, "commit", "-qam", "broken")
    _edit(project, "int32 latitude = 1", "int32 latitude = 1;")
    old = run_scaffold("breaking", "--against", "HEAD", cwd=project)
    assert old.returncode == 2
    assert re.fullmatch(rf'HEAD:{re.escape(PROTO)}:\d+:\d+: Expected ";"\.\n', old.stderr), old.stderr
    assert "Traceback" not in old.stderr

    empty = run_scaffold("breaking", cwd=project)
    assert empty.returncode == 2 and "--against" in empty.stderr


def test_from_the_generation_record_and_the_revision_cache(project: Path) -> None:
    """After `gen`, the current side comes from gen's record; a revision compiled once is kept: same answers."""
    _edit(project, "string name = 1;", "string title = 1;")
    _git(project, "commit", "-qam", "renamed")
    assert run_scaffold("gen", cwd=project).returncode == 0
    first = run_scaffold("breaking", "--against", "HEAD~1", cwd=project)
    assert first.returncode == 1 and {b["rule"] for b in _breaks(first.stdout)} == {
        "FIELD_SAME_NAME",
        "FIELD_SAME_JSON_NAME",
    }
    assert (project / ".scaffold/cache/breaking-against.marshal").is_file()
    again = run_scaffold("breaking", "--against", "HEAD~1", cwd=project)
    assert (again.returncode, again.stdout) == (first.returncode, first.stdout)
    _edit(project, "string title = 1;", "string name = 1;")  # the record no longer matches the proto
    back = run_scaffold("breaking", "--against", "HEAD~1", cwd=project)
    assert (back.returncode, back.stdout) == (0, "")


def test_an_imported_proto_of_the_project_is_checked_too(tmp_path: Path) -> None:
    """`new` copies what the protos import into protos/: those files are the project's, and checked like buf
    checks its whole module; a change there touches the code of every RPC whose messages reach it."""
    done = run_scaffold("new", TEST_PROTOS / "multi/shop.proto", "-I", TEST_PROTOS / "multi", "-o", tmp_path / "shop")
    assert done.returncode == 0, done.stderr
    root = tmp_path / "shop"
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "made")
    _edit(root, "int64 units = 2;", "int32 units = 2;", "protos/common/types.proto")
    found = run_scaffold("breaking", "--against", "HEAD", cwd=root)
    assert found.returncode == 1, found.stderr
    (retyped,) = _breaks(found.stdout)
    assert (retyped["path"], retyped["rule"]) == ("protos/common/types.proto", "FIELD_SAME_TYPE")
    touched = {line.rsplit(" ", 1)[1] for line in found.stdout.splitlines() if "/services/" in line}
    assert {"CatalogServicer.GetItem", "CatalogServicer.ListItems"} <= touched  # Item holds Money
    assert any(name.startswith("CheckoutServicer.") for name in touched)


def test_a_project_inside_a_larger_repository_and_a_deleted_file(tmp_path: Path) -> None:
    """The project in a subdirectory of the repository (a monorepo): the revision is read at the project's
    prefix. A proto deleted since is placed in the file it was, there being nowhere else (buf says <input>)."""
    done = run_scaffold("new", REPO / PROTO, "-o", tmp_path / "services/guide")
    assert done.returncode == 0, done.stderr
    root = tmp_path / "services/guide"
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('protos = ["protos/route_guide.proto"]', 'protos = ["protos"]'))
    (root / "protos/notes.proto").write_text(
        'syntax = "proto3";\npackage notes;\nmessage Note {\n  string text = 1;\n}\n'
    )
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "two protos")
    (root / "protos/notes.proto").unlink()
    found = run_scaffold("breaking", "--against", "HEAD", "--category", "PACKAGE", cwd=root)
    assert found.returncode == 1, found.stderr
    assert [(b["path"], b["line"], b["rule"]) for b in _breaks(found.stdout)] == [
        ("protos/notes.proto", "1", "PACKAGE_NO_DELETE"),
    ]
    below = run_scaffold("breaking", "--against", "HEAD", "--category", "FILE", cwd=root / "route_guide")
    assert [(b["path"], b["rule"]) for b in _breaks(below.stdout)] == [(f"{root}/protos/notes.proto", "FILE_NO_DELETE")]
