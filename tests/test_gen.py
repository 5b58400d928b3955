"""`scaffold gen`, `diff` and `check`: sequences of proto edits and user edits,
asserting exact file contents and that no line the user wrote is ever lost."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from conftest import at_key, run_python, run_scaffold, served, tree

from scaffold.api import regenerate
from scaffold.record import journal, swap

PROTO = """syntax = "proto3";

package greeter;

// Greets people.
service Greeter {{
{rpcs}}}

message HelloRequest {{
  string name = 1;
}}

message HelloReply {{
  string message = 1;
}}
"""
HELLO = "  // Says hello.\n  rpc SayHello (HelloRequest) returns (HelloReply) {}\n"
HELLO_STREAM = "  // Says hello.\n  rpc SayHello (HelloRequest) returns (stream HelloReply) {}\n"
AGAIN = "  // Says hello again.\n  rpc SayHelloAgain (HelloRequest) returns (HelloReply) {}\n"
BYE = "  // Says bye.\n  rpc SayBye (HelloRequest) returns (HelloReply) {}\n"
GOODBYE = "  // Says bye.\n  rpc SayGoodbye (HelloRequest) returns (HelloReply) {}\n"

SERVICER = "greeter/servicer.py"
HELLO_BODY = '        return greeter_pb2.HelloReply(message=f"Hello, {request.name}!")\n'
BYE_BODY = '        return greeter_pb2.HelloReply(message=f"Bye, {request.name}!")\n'


def stub_body(rpc: str) -> str:
    """The body scaffold renders for a unary RPC named `rpc` of this proto."""
    abort = f'context.abort(grpc.StatusCode.UNIMPLEMENTED, "{rpc} is not implemented yet")'
    if len(abort) > 80:
        abort = f'context.abort(\n            grpc.StatusCode.UNIMPLEMENTED, "{rpc} is not implemented yet"\n        )'
    return f"        # TODO: return a greeter_pb2.HelloReply.\n        {abort}\n"


def make_project(tmp_path: Path, *rpcs: str, layout: str | None = None) -> Path:
    source = tmp_path / "src" / "greeter.proto"
    source.parent.mkdir(parents=True)
    source.write_text(PROTO.format(rpcs="".join(rpcs)))
    result = run_scaffold("new", source, "-o", tmp_path / "project", *(["--layout", layout] if layout else []))
    assert result.returncode == 0, result.stderr
    return tmp_path / "project"


def set_rpcs(project: Path, *rpcs: str) -> None:
    (project / "protos/greeter.proto").write_text(PROTO.format(rpcs="".join(rpcs)))


def implement(project: Path, rpc: str, body: str) -> str:
    path = project / SERVICER
    text = path.read_text()
    assert stub_body(rpc) in text
    path.write_text(text.replace(stub_body(rpc), body, 1))
    return path.read_text()


def gen(project: Path, *args: str):  # type: ignore[no-untyped-def]
    return run_scaffold("gen", "-C", project, *args)


def fresh_render(tmp_path: Path, *rpcs: str) -> dict[str, bytes]:
    """What `scaffold new` writes for these RPCs: the exact text a merge must add."""
    return tree(make_project(tmp_path / "fresh", *rpcs))


def test_seed_story_say_hello_again(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    implemented = implement(project, "SayHello", HELLO_BODY)

    set_rpcs(project, HELLO, AGAIN)
    result = gen(project)
    assert result.returncode == 0, result.stderr
    assert "merge     greeter/servicer.py" in result.stdout
    assert "greeter.Greeter\n  + SayHelloAgain\n" in result.stdout

    fresh = fresh_render(tmp_path, HELLO, AGAIN)[SERVICER].decode()
    assert (project / SERVICER).read_text() == fresh.replace(stub_body("SayHello"), HELLO_BODY)
    assert implemented.split("    def SayHello(")[1].split("\n\n")[0] in (project / SERVICER).read_text()

    implement(
        project, "SayHelloAgain", '        return greeter_pb2.HelloReply(message=f"Hello again, {request.name}!")\n'
    )
    client = project / "greeter/client.py"
    client.write_text(
        client.read_text().replace("HelloRequest()  # TODO: fill in the request.", 'HelloRequest(name="you")')
    )
    with served(project, "greeter") as server:
        output = run_python("-m", "greeter.client", "--target", f"127.0.0.1:{server.port}", cwd=project)
    assert output.returncode == 0, output.stdout + output.stderr
    assert output.stdout.splitlines() == [
        'SayHello -> HelloReply(message: "Hello, you!")',
        'SayHelloAgain -> HelloReply(message: "Hello again, you!")',
    ]
    assert gen(project).stdout.strip().startswith("Up to date")


def test_rpc_added_between_two_implemented_methods_merges_cleanly(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO, BYE)
    implement(project, "SayHello", HELLO_BODY)
    implement(project, "SayBye", BYE_BODY)
    set_rpcs(project, HELLO, AGAIN, BYE)
    result = gen(project)
    assert result.returncode == 0, result.stdout + result.stderr
    expected = fresh_render(tmp_path, HELLO, AGAIN, BYE)[SERVICER].decode()
    expected = expected.replace(stub_body("SayHello"), HELLO_BODY).replace(stub_body("SayBye"), BYE_BODY)
    assert (project / SERVICER).read_text() == expected


def test_conflicts_beside_a_merge_that_broke_nothing_stay_small(tmp_path: Path) -> None:
    """A merge with conflicts is judged for what it broke around them as a clean one is, its imports bound
    again first: the new service's import, on the render's side of a conflict, is not a name the merge
    broke, and the two conflicts stay two, not the whole file."""
    project = make_project(tmp_path, HELLO)
    implement(project, "SayHello", HELLO_BODY)
    servicer = project / SERVICER
    text = servicer.read_text()
    docstring = text.split('"""')[1]
    imports = "from greeter.generated import greeter_pb2, greeter_pb2_grpc\n"
    assert imports in text
    text = text.replace(docstring, "My greeter, as I wrote it.", 1).replace(imports, imports[:-1] + "  # mine\n")
    servicer.write_text(text)
    other = 'syntax = "proto3";\npackage other;\nmessage P {}\nservice Other {\n  rpc Ping (P) returns (P);\n}\n'
    (project / "protos/other.proto").write_text(other)
    config = project / "pyproject.toml"
    listed = 'protos = ["protos/greeter.proto"]'
    config.write_text(config.read_text().replace(listed, listed[:-1] + ', "protos/other.proto"]'))
    result = gen(project)
    assert "conflict  greeter/servicer.py  (2 conflicts to resolve)" in result.stdout, result.stdout + result.stderr
    assert HELLO_BODY in servicer.read_text().split("<<<<<<<")[-1], "the user's method is outside any conflict"


def test_renamed_rpc_keeps_the_method_and_hints_at_the_rename(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO, BYE)
    before = implement(project, "SayBye", BYE_BODY)
    set_rpcs(project, HELLO, GOODBYE)
    result = gen(project)
    assert result.returncode == 0, result.stderr
    assert (
        "  - SayBye (removed from the protos; your method stays; did you rename SayBye to SayGoodbye?)" in result.stdout
    )
    assert "  + SayGoodbye" in result.stdout
    after = (project / SERVICER).read_text()
    bye_method = before[before.index("    def SayBye(") : before.index("    # scaffold adds")]
    assert bye_method in after
    # The new stub stands where the proto puts it; the orphan keeps its place.
    assert after.index("    def SayHello(") < after.index("    def SayGoodbye(") < after.index("    def SayBye(")
    client = (project / "greeter/client.py").read_text()
    assert "def say_goodbye(" in client and "def say_bye(" not in client  # the untouched client call follows the proto


def test_removed_rpc_stays_as_an_orphan_and_the_server_still_serves(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO, BYE)
    before = implement(project, "SayBye", BYE_BODY)
    set_rpcs(project, HELLO)
    result = gen(project)
    assert result.returncode == 0, result.stderr
    assert "  - SayBye (removed from the protos; your method stays)" in result.stdout
    assert (project / SERVICER).read_text() == before
    # The full pipeline answers (`uptodate._keeps_what_the_protos_dropped`): the kept method stays only
    # while it is not the stub.
    assert gen(project).stdout.startswith("Up to date (")
    set_rpcs(project, HELLO.replace("Says hello.", "Says hello!"))
    later = gen(project)
    assert later.returncode == 0
    assert "SayBye" not in later.stdout  # reported once, in the run that removed it
    assert (
        before[before.index("    def SayBye(") : before.index("    # scaffold adds")]
        in (project / SERVICER).read_text()
    )
    tests = run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert tests.returncode == 0, tests.stdout

    text = (project / SERVICER).read_text()
    (project / SERVICER).write_text(
        text.replace(before[before.index("    def SayBye(") : before.index("    # scaffold adds")], "")
    )
    after_delete = gen(project)
    assert "SayBye" not in after_delete.stdout


@pytest.mark.parametrize(("layout", "module"), [("single", SERVICER), ("per-service", "greeter/services/farewell.py")])
def test_removed_service_keeps_its_class(tmp_path: Path, layout: str, module: str) -> None:
    farewell = "}\n\n// Says goodbye.\nservice Farewell {\n  rpc Leave (HelloRequest) returns (HelloReply) {}\n"
    project = make_project(tmp_path, HELLO, farewell, layout=layout)
    text = (project / module).read_text()
    leave_stub = stub_body("Leave")
    (project / module).write_text(text.replace(leave_stub, BYE_BODY))
    kept = (project / module).read_text()
    set_rpcs(project, HELLO)
    result = gen(project)
    assert result.returncode == 0, result.stderr
    assert "greeter.Farewell (removed from the protos; its servicer class stays until you delete it)" in result.stdout
    # Every line of the user's stays; only the base class, gone from grpc's module, goes (or nothing imports).
    assert (project / module).read_text() == kept.replace(
        "class FarewellServicer(greeter_pb2_grpc.FarewellServicer):",
        "class FarewellServicer:  # its service is gone from the protos: kept for your code, no longer served",
    )
    server = (project / "greeter/server.py").read_text()
    assert "add_FarewellServicer_to_server" not in server  # the untouched registration follows the proto
    registry = project / "greeter/services/__init__.py"
    assert not registry.exists() or "add_FarewellServicer_to_server" not in registry.read_text()
    # The service's untouched test and client go with it, as its functions do from a single module.
    assert not [p for p in tree(project) if "farewell" in p and p != module and not p.startswith(".scaffold/")]
    assert run_scaffold("check", "-C", project).returncode == 0
    assert run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project).returncode == 0


def test_shape_change_keeps_an_implemented_method_and_shows_the_new_signature(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    before = implement(project, "SayHello", HELLO_BODY)
    set_rpcs(project, HELLO_STREAM)
    result = gen(project)
    assert result.returncode == 0, result.stderr
    assert (
        "  ~ SayHello changed shape (your implementation kept: change it to `def SayHello(self, request: "
        "greeter_pb2.HelloRequest, context: grpc.ServicerContext) -> Iterator[greeter_pb2.HelloReply]`)"
    ) in result.stdout
    # The body stays; only what the hinted signature needs is added.
    imported = "from __future__ import annotations\n\nfrom collections.abc import Iterator\n\nimport grpc\n"
    assert (project / SERVICER).read_text() == before.replace(
        "from __future__ import annotations\n\nimport grpc\n", imported
    )


def test_shape_change_of_an_untouched_stub_updates_it(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    set_rpcs(project, HELLO_STREAM)
    result = gen(project)
    assert result.returncode == 0, result.stderr
    assert "stub updated to `def SayHello(" in result.stdout
    assert (project / SERVICER).read_bytes() == fresh_render(tmp_path, HELLO_STREAM)[SERVICER]


def test_deleted_user_file_is_not_recreated_unless_asked(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    (project / "greeter/client.py").unlink()
    set_rpcs(project, HELLO, AGAIN)
    result = gen(project)
    assert result.returncode == 0, result.stderr
    assert (
        "kept      greeter/client.py  (you deleted it; `scaffold gen --recreate greeter/client.py` brings it back)"
        in (result.stdout)
    )
    assert not (project / "greeter/client.py").exists()
    recreated = gen(project, "--recreate", "greeter/client.py")
    assert recreated.returncode == 0
    assert (project / "greeter/client.py").read_bytes() == fresh_render(tmp_path, HELLO, AGAIN)["greeter/client.py"]


def test_crlf_file_without_final_newline_keeps_both(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    implement(project, "SayHello", HELLO_BODY)
    text = (project / SERVICER).read_text()
    (project / SERVICER).write_bytes(text.rstrip("\n").replace("\n", "\r\n").encode())
    set_rpcs(project, HELLO, AGAIN)
    assert gen(project).returncode == 0
    merged = (project / SERVICER).read_bytes()
    expected = fresh_render(tmp_path, HELLO, AGAIN)[SERVICER].decode().replace(stub_body("SayHello"), HELLO_BODY)
    assert merged == expected.rstrip("\n").replace("\n", "\r\n").encode()


def test_hand_edited_generated_file_is_reported_and_kept_beside(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    module = project / "greeter/generated/greeter_pb2.py"
    pristine = module.read_bytes()
    module.write_bytes(pristine + b"# my tweak\n")

    check = run_scaffold("check", "-C", project)
    assert check.returncode == 1
    assert "stale: greeter/generated/greeter_pb2.py (update)" in check.stderr

    result = gen(project)
    assert result.returncode == 0, result.stderr
    assert "update    greeter/generated/greeter_pb2.py  (edited by hand; your copy is kept as greeter_pb2.py.mine)" in (
        result.stdout
    )
    assert module.read_bytes() == pristine
    assert (project / "greeter/generated/greeter_pb2.py.mine").read_bytes() == pristine + b"# my tweak\n"


def test_nothing_changed_writes_nothing(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO, BYE)
    implement(project, "SayHello", HELLO_BODY)

    def times() -> dict[str, int]:
        # .scaffold/cache/ is left out: like git's index, the no-op stamp there is renewed by reading.
        return {path: (project / path).stat().st_mtime_ns for path in tree(project)}

    before = times()
    for _ in range(2):
        result = gen(project)
        assert result.returncode == 0
        assert result.stdout.startswith("Up to date")
    assert times() == before


def test_dry_run_and_diff_change_nothing_and_show_the_change(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    set_rpcs(project, HELLO, AGAIN)
    before = tree(project)

    dry = gen(project, "--dry-run")
    assert dry.returncode == 0
    assert "merge" not in dry.stdout and "update    greeter/servicer.py" in dry.stdout
    assert dry.stdout.rstrip().endswith("Dry run: nothing written.")

    diff = run_scaffold("diff", "-C", project)
    assert diff.returncode == 0
    assert "--- a/greeter/servicer.py\n+++ b/greeter/servicer.py\n" in diff.stdout
    assert "+    def SayHelloAgain(\n" in diff.stdout
    assert "\x1b[" not in diff.stdout  # no colour when not a terminal
    assert "+++ b/greeter/generated/greeter_pb2" not in diff.stdout  # protoc's modules only with --all
    assert "+++ b/greeter/generated/runtime/calling.py" in diff.stdout  # scaffold's own: the retry policy
    assert diff.stdout.endswith(
        "greeter.Greeter\n  + SayHelloAgain\n(3 of protoc's modules left out; --all shows them)\n"
    )
    everything = run_scaffold("diff", "-C", project, "--all", "--exit-code")
    assert everything.returncode == 1
    assert "--- a/greeter/generated/greeter_pb2_grpc.py\n" in everything.stdout
    assert "left out" not in everything.stdout
    assert tree(project) == before


def test_diff_tool_edits_the_users_own_file_and_gen_keeps_the_edit(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    set_rpcs(project, HELLO, AGAIN)
    log = tmp_path / "pairs.log"
    tool = tmp_path / "tool.py"
    tool.write_text(
        "import os, pathlib, sys\n"
        f"log = pathlib.Path({str(log)!r})\n"
        "yours, proposed = map(pathlib.Path, sys.argv[1:])\n"
        "with log.open('a') as out:\n"
        "    out.write(f'{yours} {bool(proposed.stat().st_mode & 0o222)}\\n')\n"
        "if yours.name == 'servicer.py':\n"
        "    yours.write_text(yours.read_text() + '# SAVED IN THE TOOL\\n')\n"
    )
    env = {"SCAFFOLD_DIFFTOOL": f"{sys.executable} {tool}"}
    result = run_scaffold("diff", "-C", project, env=env)
    assert result.returncode == 0, result.stderr
    pairs = log.read_text().splitlines()
    assert f"{project / SERVICER} False" in pairs  # the user's own file; the proposal read-only
    assert not any("_pb2" in pair for pair in pairs)
    assert re.findall(r"^\((\d+)/(\d+)\) ", result.stdout, re.MULTILINE)[-1] == (str(len(pairs)), str(len(pairs)))
    assert gen(project).returncode == 0
    servicer = (project / SERVICER).read_text()
    assert "# SAVED IN THE TOOL\n" in servicer and "    def SayHelloAgain(" in servicer

    quitting = {"SCAFFOLD_DIFFTOOL": f"{sys.executable} -c 'raise SystemExit(3)'"}
    set_rpcs(project, HELLO, AGAIN, BYE)
    stopped = run_scaffold("diff", "-C", project, env=quitting)
    assert stopped.returncode == 1
    assert re.fullmatch(r"\(1/\d+\) README\.md\n", stopped.stdout)  # stopped after the first pair
    assert "exited with 3; stopped at" in stopped.stderr


def test_check_passes_when_current_and_lists_stale_files(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    ok = run_scaffold("check", "-C", project)
    assert (ok.returncode, ok.stdout) == (0, "Up to date.\n")
    set_rpcs(project, HELLO, AGAIN)
    stale = run_scaffold("check", "-C", project)
    assert stale.returncode == 1
    assert "stale: greeter/generated/greeter_pb2.py (update)" in stale.stderr
    assert "stale: greeter/servicer.py (update)" in stale.stderr


def test_project_is_found_upward_from_the_working_directory(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    result = run_scaffold("gen", cwd=project / "greeter" / "generated")
    assert result.returncode == 0, result.stderr
    elsewhere = run_scaffold("gen", cwd=tmp_path)
    assert elsewhere.returncode == 2
    assert "no pyproject.toml with [tool.scaffold] here or above" in elsewhere.stderr


def test_conflict_is_marked_labelled_and_blocks_the_next_run(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("| SayHello |", "| SayHello (greets by name) |"))
    set_rpcs(project, HELLO, AGAIN)
    result = gen(project)
    assert result.returncode == 1
    assert "conflict  README.md  (1 conflict to resolve)" in result.stdout
    merged = readme.read_text()
    assert (
        "<<<<<<< yours (on disk)\n"
        "| `greeter.Greeter` | SayHello (greets by name) |\n"
        "||||||| scaffold's last render\n"
        "| `greeter.Greeter` | SayHello |\n"
        "=======\n"
        "| `greeter.Greeter` | SayHello, SayHelloAgain |\n"
        ">>>>>>> scaffold's new render\n"
    ) in merged
    assert "    def SayHelloAgain(" in (project / SERVICER).read_text()  # the rest of the run went through
    blocked = gen(project)
    assert blocked.returncode == 1
    line = merged.splitlines().index("<<<<<<< yours (on disk)") + 1
    assert f"{readme}:{line}:1: unresolved conflict marker" in blocked.stderr

    resolved = re.sub(r"<<<<<<< .*?=======\n(.*?)>>>>>>> .*?\n", r"\1", merged, flags=re.DOTALL)
    readme.write_text(resolved)
    after = gen(project)
    assert after.returncode == 0 and after.stdout.startswith("Up to date")


@pytest.mark.parametrize("ending", ["\r", "\r\n"], ids=["CR", "CRLF"])
def test_a_conflict_in_a_file_of_other_line_ends_is_never_called_up_to_date(tmp_path: Path, ending: str) -> None:
    """Found by the fuzzer (seeds 6035, 6037): the markers of a conflict in a file whose lines end in CR
    alone were not seen by the up-to-date check, so the next `gen` took the no-input-changed path and
    `check` said up to date with the markers in place."""
    project = make_project(tmp_path, HELLO)
    readme = project / "README.md"
    text = readme.read_text().replace("| SayHello |", "| SayHello (greets by name) |")
    readme.write_bytes(text.replace("\n", ending).encode())
    set_rpcs(project, HELLO, AGAIN)
    assert gen(project).returncode == 1
    assert f"{ending}<<<<<<< yours (on disk){ending}".encode() in readme.read_bytes()
    for _ in range(2):  # the second time after a `gen` that found nothing to render
        assert run_scaffold("check", "-C", project).returncode == 1
        blocked = gen(project)
        assert blocked.returncode == 1 and "unresolved conflict marker" in blocked.stderr


def test_protoc_error_during_gen_changes_nothing(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    (project / "protos/greeter.proto").write_text(
        PROTO.format(rpcs=HELLO).replace("string name = 1;", "string name = 1")
    )
    before = tree(project)
    result = gen(project)
    assert result.returncode == 2
    assert re.fullmatch(r"\S*protos/greeter\.proto:\d+:\d+: .+\n", result.stderr), result.stderr
    assert tree(project) == before


def test_bad_config_names_the_file_and_key(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('protos = ["protos/greeter.proto"]', "protos = 3"))
    result = gen(project)
    assert result.returncode == 2
    assert (
        result.stderr == f"{at_key(pyproject, 'protos')}: [tool.scaffold] protos must be a non-empty list of strings\n"
    )


def test_failure_while_writing_the_third_file_leaves_the_tree_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path, HELLO)
    implement(project, "SayHello", HELLO_BODY)
    set_rpcs(project, HELLO, AGAIN)
    before = tree(project)
    assert len(regenerate(project, dry_run=True).plan.writes) >= 5

    installs = []
    real_replace = swap._replace

    def failing_replace(source: Path, target: Path) -> None:
        if "/txn/new/" in source.as_posix():
            installs.append(target)
            if len(installs) == 3:
                raise OSError(28, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr(swap, "_replace", failing_replace)
    with pytest.raises(OSError, match="No space left"):
        regenerate(project)
    assert len(installs) == 3
    assert tree(project) == before
    assert not (project / ".scaffold/txn").exists()


def test_interrupted_run_is_rolled_back_by_the_next(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path, HELLO)
    set_rpcs(project, HELLO, AGAIN)
    before = tree(project)
    calls = []
    real_replace = swap._replace

    def dying_replace(source: Path, target: Path) -> None:
        calls.append(target)
        if len(calls) == 4:
            raise SystemExit("killed")  # as if the process died here: no chance to clean up
        real_replace(source, target)

    monkeypatch.setattr(swap, "_replace", dying_replace)
    monkeypatch.setattr(journal, "rollback", lambda root: None)
    with pytest.raises(SystemExit):
        regenerate(project)
    assert (project / ".scaffold/txn/journal.json").is_file()
    assert tree(project) != before
    monkeypatch.undo()

    recovered = gen(project)
    assert recovered.returncode == 0, recovered.stderr
    assert recovered.stdout.startswith("Rolled back an interrupted run before regenerating.")
    clean = make_project(tmp_path / "clean", HELLO)
    set_rpcs(clean, HELLO, AGAIN)
    assert gen(clean).returncode == 0
    assert tree(project) == tree(clean)


def test_examples_are_up_to_date_by_scaffold_check() -> None:
    for name in ("helloworld", "route_guide", "route_guide_aio"):
        result = run_scaffold("check", "-C", f"examples/{name}")
        assert (result.returncode, result.stdout) == (0, "Up to date.\n"), result.stderr


def test_generated_package_is_importable_after_gen(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    set_rpcs(project, HELLO, AGAIN)
    assert gen(project).returncode == 0
    tests = run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert tests.returncode == 0, tests.stdout
    assert "2 passed" in tests.stdout
    assert os.access(project / "greeter/generated/greeter_pb2.py", os.R_OK)
