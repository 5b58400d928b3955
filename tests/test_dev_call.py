"""`scaffold call`, `describe` and `dev` as a user runs them: real processes on loopback, real saves."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from conftest import DEADLINE_SECONDS, REPO, run_scaffold, served

ROUTE_GUIDE = REPO / "examples/route_guide"
POINT = '{"latitude": 409146138, "longitude": -746188906}'


@pytest.fixture(scope="module")
def route_guide(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    project = tmp_path_factory.mktemp("call") / "route_guide"
    shutil.copytree(ROUTE_GUIDE, project)
    with served(project, "route_guide") as server:
        yield project, f"127.0.0.1:{server.port}"


def call(
    project: Path, target: str, *args: str, stdin: str | None = None, proto: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`scaffold call` in `project` (with `proto`: outside a project, from that proto file)."""
    where = ["--proto", proto] if proto else ["-C", str(project)]
    return subprocess.run(
        [sys.executable, "-m", "scaffold", "call", *where, "--target", target, *args],
        cwd=project,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_call_unary_and_server_streaming(route_guide) -> None:  # type: ignore[no-untyped-def]
    project, target = route_guide
    unary = call(project, target, "GetFeature", "-d", POINT)
    assert unary.returncode == 0, unary.stderr
    assert json.loads(unary.stdout) == {
        "name": "Berkshire Valley Management Area Trail, Jefferson, NJ, USA",
        "location": {"latitude": 409146138, "longitude": -746188906},
    }
    area = '{"lo": {"latitude": 400000000, "longitude": -750000000}, "hi": {"latitude": 420000000, "longitude": -730000000}}'
    streamed = call(project, target, "routeguide.RouteGuide/ListFeatures", "-d", area)
    lines = streamed.stdout.splitlines()
    assert streamed.returncode == 0 and len(lines) > 10
    assert all("location" in json.loads(line) for line in lines)  # one JSON document per line, each a feature


def test_call_client_and_bidi_streaming_read_one_document_per_line(route_guide) -> None:  # type: ignore[no-untyped-def]
    project, target = route_guide
    route = f"{POINT}\n\n" + '{"latitude": 400273442, "longitude": -741220915}\n'
    recorded = call(project, target, "RouteGuide/RecordRoute", "-d", "@-", stdin=route)
    assert recorded.returncode == 0, recorded.stderr
    summary = json.loads(recorded.stdout)
    assert summary["pointCount"] == 2 and summary["featureCount"] == 2 and summary["distance"] > 0
    notes = "".join(json.dumps({"location": {"latitude": 1, "longitude": 2}, "message": m}) + "\n" for m in "abc")
    chat = call(project, target, "RouteChat", "-d", "@-", stdin=notes)
    assert chat.returncode == 0, chat.stderr
    assert [json.loads(line)["message"] for line in chat.stdout.splitlines()] == ["a", "a", "b"]


def test_call_reports_errors_with_their_place_and_sends_nothing_then(route_guide, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project, target = route_guide
    unknown_field = call(project, target, "GetFeature", "-d", '{"latitude": 1,\n  "longitud": 2}')
    assert (unknown_field.returncode, unknown_field.stderr) == (
        2,
        '-d:2:3: no field "longitud" in routeguide.Point; did you mean "longitude"?\n',
    )
    (tmp_path / "bad.json").write_text('{"latitude": 1,}\n')
    bad_json = call(project, target, "GetFeature", "-d", f"@{tmp_path / 'bad.json'}")
    assert bad_json.returncode == 2
    assert bad_json.stderr.startswith(f"{tmp_path / 'bad.json'}:1:16: not valid JSON: ")
    unknown_method = call(project, target, "GetFeatur")
    assert (unknown_method.returncode, unknown_method.stderr) == (
        2,
        "GetFeatur: no such method; did you mean 'GetFeature'?\n",
    )
    unreachable = call(project, "127.0.0.1:1", "GetFeature", "--timeout", "5")
    assert unreachable.returncode == 1 and unreachable.stderr.startswith("UNAVAILABLE: ")


THROUGH_TYPER = "import sys; from scaffold.cli.app import app; sys.argv[0] = 'scaffold'; app()"


def test_call_answers_before_typer_loads_and_says_what_typer_would(route_guide, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`scaffold.cli.calling` reads the common forms of `call` itself (issue 30): the same outputs and exit
    codes as through Typer, whose import it spares; the forms it does not read still go to Typer."""
    project, target = route_guide
    (tmp_path / "point.json").write_text(POINT)
    forms = [
        ["GetFeature", f"--target={target}", "-d", POINT],
        ["-v", "call", "--target", target, "--emit-defaults", "routeguide.RouteGuide/GetFeature", "-d", "{}"],
        [
            "-q",
            "call",
            "GetFeature",
            "--target",
            target,
            "-H",
            "x-trace:1",
            "-H",
            "x-b:2",
            "-d",
            f"@{tmp_path / 'point.json'}",
        ],
        ["GetFeatur", "--target", target],
        ["GetFeature", "--target", target, "-d", '{"latitud": 1}'],
        ["GetFeature", "--target", "127.0.0.1:1", "--timeout", "5"],
        ["GetFeature", "--target", target, "-I", str(tmp_path / "nowhere"), "--proto", "route_guide.proto"],
    ]
    outputs = []
    for form in forms:
        argv = form if form[0] in ("-v", "-q") else ["call", *form]
        fast = _process(project, "-X", "importtime", "-m", "scaffold", *argv)
        typer = _process(project, "-c", THROUGH_TYPER, *argv)
        said = "".join(line + "\n" for line in fast.stderr.splitlines() if not line.startswith("import time:"))
        assert (fast.returncode, fast.stdout, said) == (typer.returncode, typer.stdout, typer.stderr), form
        assert " typer" not in fast.stderr, form  # importtime lists every module imported: Typer is not
        outputs.append(fast)
    assert json.loads(outputs[0].stdout)["name"].startswith("Berkshire Valley")
    assert [o.returncode for o in outputs] == [0, 0, 0, 2, 2, 1, 2]
    for typers in (["--nope", "X"], [f"-d{POINT}", "GetFeature", "--target", target], ["--protocol", "smtp", "X"]):
        assert " typer" in _process(project, "-X", "importtime", "-m", "scaffold", "call", *typers).stderr, typers


def test_call_reads_the_project_once_and_again_after_any_input_changes(route_guide, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The descriptors are kept in the project's cache while no input changed (`scaffold.live.kept`): the
    next call does not load the project; a proto saved since (an RPC added, then taken out) is read again."""
    _, target = route_guide
    project = tmp_path / "route_guide"
    shutil.copytree(ROUTE_GUIDE, project, ignore=shutil.ignore_patterns("cache"))
    proto = project / "protos/route_guide.proto"

    def called(method: str) -> tuple[subprocess.CompletedProcess[str], bool]:
        done = _process(project, "-X", "importtime", "-m", "scaffold", "call", "--target", target, method, "-d", POINT)
        return done, "| scaffold.generation.project" in done.stderr

    first, loaded = called("GetFeature")
    assert first.returncode == 0 and loaded, first.stderr[-500:]
    again, loaded = called("GetFeature")
    assert (again.returncode, again.stdout, loaded) == (0, first.stdout, False)
    below = _process(
        project / "route_guide",
        "-X",
        "importtime",
        "-m",
        "scaffold",
        "call",
        "--target",
        target,
        "GetFeature",
        "-d",
        POINT,
    )
    assert below.stdout == first.stdout and "| scaffold.generation" not in below.stderr  # nothing but the kept copy

    original = proto.read_text()
    proto.write_text(
        original.replace("  rpc GetFeature(", "  rpc Ping(Point) returns (Feature) {}\n  rpc GetFeature(", 1)
    )
    added, loaded = called("Ping")  # the server does not have it: it says so, after the call went out
    assert added.returncode == 1 and loaded and "UNIMPLEMENTED" in added.stderr, added.stderr[-500:]
    proto.write_text(original)
    gone, loaded = called("Ping")
    assert gone.returncode == 2 and loaded and "Ping: no such method" in gone.stderr, gone.stderr[-500:]


def _process(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A server scaffold did not write: grpc's generic handlers over protoc's message classes alone."""
    directory = tmp_path_factory.mktemp("foreign")
    (directory / "t.proto").write_text(
        'syntax = "proto3";\npackage t;\nservice T {\n  rpc Echo(Msg) returns (Msg);\n  rpc Slow(Msg) returns (Msg);\n'
        "  rpc Fail(Msg) returns (Msg);\n}\nmessage Msg {\n  string text = 1;\n  int32 count = 2;\n}\n"
    )
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{directory}", f"--python_out={directory}", "t.proto"],
        check=True,
        cwd=directory,
    )
    (directory / "server.py").write_text(
        "import sys, time\nfrom concurrent import futures\nimport grpc\nimport t_pb2\n\n"
        "def echo(request, context):\n"
        "    tag = dict(context.invocation_metadata()).get('x-tag', '')\n"
        "    return t_pb2.Msg(text=request.text + tag, count=request.count + 1)\n\n"
        "def slow(request, context):\n    time.sleep(5)\n    return request\n\n"
        "def fail(request, context):\n    context.abort(grpc.StatusCode.NOT_FOUND, 'nothing here')\n\n"
        "def handler(function):\n"
        "    return grpc.unary_unary_rpc_method_handler(function, t_pb2.Msg.FromString, t_pb2.Msg.SerializeToString)\n\n"
        "server = grpc.server(futures.ThreadPoolExecutor(4))\n"
        "server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(\n"
        "    't.T', {'Echo': handler(echo), 'Slow': handler(slow), 'Fail': handler(fail)}),))\n"
        "port = server.add_insecure_port('127.0.0.1:0')\nserver.start()\nprint(f'listening on 127.0.0.1:{port}', flush=True)\n"
        "server.wait_for_termination()\n"
    )
    process = subprocess.Popen([sys.executable, "-u", "server.py"], cwd=directory, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    port = process.stdout.readline().strip().rpartition(":")[2]
    yield directory, f"127.0.0.1:{port}"
    process.kill()
    process.wait()
    process.stdout.close()


def call_foreign(directory: Path, target: str, *args: str) -> subprocess.CompletedProcess[str]:
    return call(directory, target, *args, proto="t.proto")


def test_call_a_server_scaffold_did_not_write_with_metadata_deadline_and_status(foreign) -> None:  # type: ignore[no-untyped-def]
    directory, target = foreign
    echoed = call_foreign(directory, target, "t.T.Echo", "-d", '{"text": "hi", "count": 1}', "-H", "X-Tag: !")
    assert (echoed.returncode, echoed.stdout) == (0, '{"text": "hi!", "count": 2}\n'), echoed.stderr
    defaults = call_foreign(directory, target, "Echo", "--emit-defaults")
    assert json.loads(defaults.stdout) == {"text": "", "count": 1}
    late = call_foreign(directory, target, "Slow", "--timeout", "0.2")
    assert (late.returncode, late.stderr) == (1, "DEADLINE_EXCEEDED: Deadline Exceeded\n")
    failed = call_foreign(directory, target, "Fail")
    assert (failed.returncode, failed.stderr) == (1, "NOT_FOUND: nothing here\n")
    bad_header = call_foreign(directory, target, "Echo", "-H", "no-colon")
    assert (bad_header.returncode, bad_header.stderr) == (2, "-H no-colon: metadata is KEY:VALUE\n")


def test_describe_lists_symbols_with_their_comments(route_guide) -> None:  # type: ignore[no-untyped-def]
    project, _ = route_guide
    point = run_scaffold("describe", "Point", "-C", project)
    assert point.returncode == 0, point.stderr
    assert (
        "message routeguide.Point {  // route_guide.proto\n  int32 latitude = 1;\n  int32 longitude = 2;\n}\n"
        in point.stdout
    )
    method = json.loads(run_scaffold("describe", "RouteGuide/RouteChat", "--json", "-C", project).stdout)
    assert method == [
        {
            "name": "routeguide.RouteGuide/RouteChat",
            "route": "/routeguide.RouteGuide/RouteChat",
            "shape": "stream-stream",
            "request": "routeguide.RouteNote",
            "response": "routeguide.RouteNote",
            "comment": method[0]["comment"],
            "kind": "method",
        }
    ]
    assert method[0]["comment"]
    missing = run_scaffold("describe", "Nothing", "-C", project)
    assert (missing.returncode, missing.stderr) == (
        2,
        "Nothing: no such service, method, message or enum in the protos\n",
    )


def test_call_completes_method_names(route_guide) -> None:  # type: ignore[no-untyped-def]
    project, _ = route_guide
    env = {**os.environ, "_SCAFFOLD_COMPLETE": "complete_bash", "COMP_WORDS": "scaffold call Get", "COMP_CWORD": "2"}
    script = Path(sys.executable).with_name("scaffold")  # the console script: completion keys on its name
    completed = subprocess.run([str(script)], env=env, cwd=project, capture_output=True, text=True, check=False)
    assert "GetFeature" in completed.stdout.split(), completed.stdout + completed.stderr


class Dev:
    """`scaffold dev` as a process, its output collected line by line."""

    def __init__(self, project: Path, server_args: Sequence[str] = (), port: int = 0) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-u",
                "-m",
                "scaffold",
                "dev",
                "-C",
                str(project),
                "--port",
                str(port),
                "--",
                *server_args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:  # closed at EOF, when dev has exited
            for line in self.process.stdout:
                self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str) -> str:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                assert self.process.poll() is None, self.seen
                continue
            self.seen.append(line)
            if text in line:
                return line
        pytest.fail(f"dev never printed {text!r}: {self.seen}")


def test_dev_restarts_on_save_survives_a_broken_servicer_and_leaves_no_process(tmp_path: Path) -> None:
    project = tmp_path / "p"
    assert run_scaffold("new", REPO / "protos/helloworld.proto", "-o", project).returncode == 0
    dev = Dev(project)
    try:
        port = dev.wait_for("startup: serving on").rpartition(":")[2].split()[0]
        target = f"127.0.0.1:{port}"
        first = call(project, target, "SayHello", "-d", '{"name": "dev"}')
        assert first.stderr.startswith("UNIMPLEMENTED: ")

        servicer = project / "helloworld/servicer.py"
        stub = servicer.read_text()
        start = stub.index("        # TODO: return a helloworld_pb2.HelloReply.")
        end = stub.index("\n\n", start)
        implemented = (
            stub[:start] + '        return helloworld_pb2.HelloReply(message=f"Hi, {request.name}!")' + stub[end:]
        )
        servicer.write_text(implemented)
        assert f":{port} (" in dev.wait_for("helloworld/servicer.py: serving on")  # the same port again
        assert call(project, target, "SayHello", "-d", '{"name": "dev"}').stdout == '{"message": "Hi, dev!"}\n'

        servicer.write_text(implemented + "def broken(:\n")
        dev.wait_for("SyntaxError: invalid syntax")
        dev.wait_for("server exited with code 1; fix it and save: dev keeps watching")
        servicer.write_text(implemented.replace("Hi,", "Hello again,"))
        dev.wait_for("helloworld/servicer.py: serving on")
        assert call(project, target, "SayHello", "-d", '{"name": "dev"}').stdout == '{"message": "Hello again, dev!"}\n'

        proto = project / "protos/helloworld.proto"
        proto.write_text(proto.read_text().replace("string name = 1;", "string name = 1"))
        dev.wait_for("not regenerated, outputs untouched")
        still = call(project, target, "--reflect", "SayHello", "-d", '{"name": "dev"}')  # the server's descriptors
        assert still.stdout == '{"message": "Hello again, dev!"}\n', still.stderr  # the last good code serves on
    finally:
        dev.process.send_signal(signal.SIGINT)
        assert dev.process.wait(timeout=DEADLINE_SECONDS) == 0
    assert processes_in(project) == []  # the server went with dev


def processes_in(directory: Path) -> list[str]:
    """The processes whose working directory is `directory`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and Path(os.readlink(entry / "cwd")) == directory:
                found.append((entry / "cmdline").read_text().replace("\0", " "))
        except OSError:
            continue
    return found


def test_describe_shows_a_message_as_its_proto_declares_it(tmp_path: Path) -> None:
    """oneofs, maps, labels, options, reserved numbers and names, nested types: as the proto says them."""
    project = tmp_path / "tasks"
    made = run_scaffold("new", REPO / "tests/protos/describe_task.proto", "-o", project)
    assert made.returncode == 0, made.stderr
    text = run_scaffold("describe", "Task", "-C", project)
    assert text.returncode == 0, text.stderr
    assert text.stdout == (
        "// A task.\n"
        "message tasks.v1.Task {  // describe_task.proto\n"
        "  option deprecated = true;\n"
        "  // Its name.\n"
        "  string name = 1 [deprecated = true];\n"
        "  map<string, string> labels = 2;\n"
        "  oneof target {\n"
        "    string user = 3;\n"
        "    int64 group = 4;\n"
        "  }\n"
        "  optional int32 priority = 5;\n"
        '  string due_date = 6 [json_name = "due"];\n'
        "  repeated tasks.v1.Task.Step steps = 7;\n"
        "  tasks.v1.Task.Status status = 9;\n"
        "  reserved 8, 10 to 12, 100 to max;\n"
        '  reserved "old", "older";\n'
        "  // One step.\n"
        "  message Step {\n"
        "    string what = 1;\n"
        "    map<int32, tasks.v1.Task.Step> children = 2;\n"
        "  }\n"
        "  enum Status {\n"
        "    option allow_alias = true;\n"
        "    STATUS_UNSPECIFIED = 0;\n"
        "    DONE = 1;\n"
        "    FINISHED = 1 [deprecated = true];\n"
        "    reserved 5 to max;\n"
        '    reserved "GONE";\n'
        "  }\n"
        "}\n"
    )
    [task] = json.loads(run_scaffold("describe", "Task", "--json", "-C", project).stdout)
    fields = {field["name"]: field for field in task["fields"]}
    assert fields["labels"]["type"] == "map<string, string>" and fields["labels"]["label"] == ""
    assert fields["steps"]["label"] == "repeated" and fields["priority"]["label"] == "optional"
    assert fields["user"]["oneof"] == fields["group"]["oneof"] == "target"
    assert fields["due_date"]["json_name"] == "due" and fields["name"]["deprecated"] is True
    assert task["reserved"] == {"ranges": [[8, 8], [10, 12], [100, "max"]], "names": ["old", "older"]}
    assert [nested["name"] for nested in task["nested"]] == ["tasks.v1.Task.Step", "tasks.v1.Task.Status"]
    # A nested type is found by its own name too.
    status = run_scaffold("describe", "Task.Status", "-C", project)
    assert status.stdout.startswith(
        "enum tasks.v1.Task.Status {  // describe_task.proto\n  option allow_alias = true;\n"
    )
