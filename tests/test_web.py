"""Issue 28: the same servicers over HTTP (`web = true`), called by real clients, sync and aio.

A project of route_guide.proto with `--web` gets a servicer whose behaviour the request
chooses (by latitude), and serves gRPC and HTTP from one process. The Connect client of
connectrpc (`@connectrpc/connect-node` from npm, tests/web/connect_client.mjs) calls it
over Connect and over gRPC-Web, in JSON and in binary; its answers must equal grpcio's.
curl drives the protocol's edges: errors and their HTTP statuses, bad bodies, deadlines,
metadata, CORS, GET, client streams, size limits. Starlette mounts the app at a prefix.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openapi_spec_validator
import pytest
from conftest import DEADLINE_SECONDS, REPO, RunningServer, run_python, run_scaffold, served, tree

from scaffold.generation import providers

FLAVOURS = pytest.mark.parametrize("aio", [False, True], ids=["sync", "aio"])
CONNECT_PACKAGES = (
    "@connectrpc/connect@2.1.2",
    "@connectrpc/connect-node@2.1.2",
    "@connectrpc/connect-web@2.1.2",
    "@bufbuild/protobuf@2.17.0",
    "esbuild@0.25.12",
)
WEB_LINE = re.compile(r"Web \(Connect, gRPC-Web\) listening on http://127\.0\.0\.1:(\d+)")
SERVICE = "routeguide.RouteGuide"
ORIGIN = "http://app.example"

SYNC_SERVICER = """
from __future__ import annotations

import time
from collections.abc import Iterator

import grpc

from route_guide.generated import route_guide_pb2 as pb
from route_guide.generated import route_guide_pb2_grpc


class RouteGuideServicer(route_guide_pb2_grpc.RouteGuideServicer):
    def __init__(self) -> None:
        self.calls = 0  # one instance serves gRPC and the web: the count is shared

    def GetFeature(self, request: pb.Point, context: grpc.ServicerContext) -> pb.Feature:
        self.calls += 1
        if request.latitude == 1:
            raise ValueError("a secret")
        if request.latitude == 2:
            context.set_trailing_metadata((("where", "nowhere"), ("blob-bin", b"\\x00\\xff")))
            context.abort(grpc.StatusCode.NOT_FOUND, "nothing at 2 (\\u00e9%)")
        if request.latitude == 3:
            time.sleep(3)
        if request.latitude == 6:  # rich error details, as grpc_status sends them
            from google.protobuf import any_pb2
            from google.rpc import status_pb2

            detail = any_pb2.Any()
            detail.Pack(pb.Point(latitude=6))
            status = status_pb2.Status(code=3, message="bad point", details=[detail])
            context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad point")
        if request.latitude == 4:
            metadata = dict(context.invocation_metadata())
            context.send_initial_metadata((("echo", str(metadata.get("x-token"))),))
            context.set_trailing_metadata((("echo-bin", metadata.get("x-blob-bin", b"")),))
        return pb.Feature(name=f"call {self.calls}", location=request)

    def ListFeatures(self, request: pb.Rectangle, context: grpc.ServicerContext) -> Iterator[pb.Feature]:
        for index in range(request.hi.latitude):
            yield pb.Feature(name=f"feature {index}", location=pb.Point(latitude=index))
        if request.lo.latitude == 2:
            context.abort(grpc.StatusCode.OUT_OF_RANGE, "no more")

    def RecordRoute(self, request_iterator: Iterator[pb.Point], context: grpc.ServicerContext) -> pb.RouteSummary:
        points = list(request_iterator)
        return pb.RouteSummary(point_count=len(points), distance=sum(p.latitude for p in points))

    def RouteChat(self, request_iterator: Iterator[pb.RouteNote], context: grpc.ServicerContext) -> Iterator[pb.RouteNote]:
        for note in request_iterator:
            yield pb.RouteNote(message=note.message.upper(), location=note.location)
"""
AIO_SERVICER = (
    SYNC_SERVICER.replace("import time\n", "import asyncio\n")
    .replace("from collections.abc import Iterator", "from collections.abc import AsyncIterator, Iterator")
    .replace("grpc.ServicerContext", "grpc.aio.ServicerContext")
    .replace("    def ", "    async def ")
    .replace("time.sleep(3)", "await asyncio.sleep(3)")
    .replace("context.abort(", "await context.abort(")
    .replace("context.send_initial_metadata(", "await context.send_initial_metadata(")
    .replace("-> Iterator[pb.Feature]", "-> AsyncIterator[pb.Feature]")
    .replace("-> Iterator[pb.RouteNote]", "-> AsyncIterator[pb.RouteNote]")
    .replace("request_iterator: Iterator", "request_iterator: AsyncIterator")
    .replace("points = list(request_iterator)", "points = [point async for point in request_iterator]")
    .replace("for note in request_iterator", "async for note in request_iterator")
    .replace("    async def __init__", "    def __init__")
)


@pytest.fixture(scope="session")
def connect_client() -> Path:
    """tests/web/connect_client.mjs beside the npm packages it imports (installed once into a cache)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "scaffold-tests" / "connect-2.1.2"
    if not all((cache / "node_modules" / name.rpartition("@")[0]).is_dir() for name in CONNECT_PACKAGES):
        npm = shutil.which("npm")
        assert npm, "the web tests call the server with connectrpc's Node client: install Node.js and npm"
        cache.mkdir(parents=True, exist_ok=True)
        install = [npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(cache), *CONNECT_PACKAGES]
        subprocess.run(install, check=True, timeout=600)
    script = cache / "connect_client.mjs"
    shutil.copyfile(REPO / "tests/web/connect_client.mjs", script)  # ESM resolves packages from the script's folder
    return script


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    directory = tmp_path_factory.mktemp("web")
    made = {}
    for aio in (False, True):
        project = directory / ("aio" if aio else "sync")
        flags = ["--web", *(["--aio"] if aio else [])]
        result = run_scaffold("new", REPO / "protos/route_guide.proto", "-o", project, *flags)
        assert result.returncode == 0, result.stderr
        (project / "route_guide/servicer.py").write_text(AIO_SERVICER if aio else SYNC_SERVICER)
        # GetFeature may be called with GET; pages of one origin may call the web port.
        proto = project / "protos/route_guide.proto"
        marked = "returns (Feature) {\n    option idempotency_level = NO_SIDE_EFFECTS;\n  }"
        proto.write_text(proto.read_text().replace("returns (Feature) {}", marked, 1))
        config = project / "pyproject.toml"
        config.write_text(config.read_text().replace("cors_origins = []", f'cors_origins = ["{ORIGIN}"]'))
        regenerated = run_scaffold("gen", "-C", project)
        assert regenerated.returncode == 0, regenerated.stderr
        descriptor_set(project, project / "route_guide.pb")
        made[aio] = project
    return made


def descriptor_set(project: Path, out: Path) -> Path:
    """The FileDescriptorSet of the project's route_guide.proto and what it imports: what connectrpc's
    clients build their schemas from (no generated TypeScript needed). google/api comes from where
    googleapis-common-protos is installed, as the project compiles it (its `installed`)."""
    installed = providers.installed_root("google/api/annotations.proto")
    assert installed is not None, "googleapis-common-protos (a dependency of the test extras) ships its .proto files"
    compiled = run_python(
        "-m", "grpc_tools.protoc", "-Iprotos", f"-I{installed[1]}", "--include_imports",
        f"--descriptor_set_out={out}", "protos/route_guide.proto", cwd=project,
    )  # fmt: skip
    assert compiled.returncode == 0, compiled.stderr
    return out


def web_url(server: RunningServer) -> str:
    """The web port's URL, once the server says it listens there."""
    found = next(m for line in server.wait_for(WEB_LINE) if (m := WEB_LINE.search(line)))
    return f"http://127.0.0.1:{found.group(1)}"


class Both:
    """A project's server, running: its gRPC port and its web port."""

    def __init__(self, project: Path, server: RunningServer, url: str) -> None:
        self.project, self.server, self.grpc_port, self.url = project, server, server.port, url


@pytest.fixture(params=[False, True], ids=["sync", "aio"])
def both(request: pytest.FixtureRequest, projects: dict[bool, Path]) -> Iterator[Both]:
    extra = ["--http-port", "0", "--http-host", "127.0.0.1", "--max-message-bytes", "1000"]
    with served(projects[request.param], "route_guide", extra) as server:
        yield Both(projects[request.param], server, web_url(server))


def grpc_calls(project: Path, port: int, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What grpcio's client gets for `calls` (the plan's form), as Connect's client prints it."""
    script = """
import json, sys
import grpc
from google.protobuf import json_format
from route_guide.generated import route_guide_pb2 as pb, route_guide_pb2_grpc

stub = route_guide_pb2_grpc.RouteGuideStub(grpc.insecure_channel(sys.argv[1]))
results = []
for call in json.loads(sys.argv[2]):
    kind = pb.Rectangle if call["method"] == "ListFeatures" else pb.Point
    request = json_format.ParseDict(call["request"], kind())
    try:
        got = getattr(stub, call["method"])(request, timeout=call.get("timeoutMs", 10000) / 1000)
        answers = list(got) if call["method"] == "ListFeatures" else [got]
        results.append({"responses": [json_format.MessageToDict(a) for a in answers]})
    except grpc.RpcError as error:
        results.append({"error": {"code": error.code().name, "message": error.details()}})
print(json.dumps(results))
"""
    result = run_python("-c", script, f"127.0.0.1:{port}", json.dumps(calls), cwd=project, timeout=60)
    assert result.returncode == 0, result.stderr
    answers: list[dict[str, Any]] = json.loads(result.stdout)
    return answers


def node_calls(script: Path, project: Path, url: str, protocol: str, binary: bool, calls: list[dict[str, Any]]) -> Any:
    descriptors = str(project / "route_guide.pb")
    plan = {"baseUrl": url, "protocol": protocol, "binary": binary, "descriptors": descriptors, "service": SERVICE}
    return node_plan(script, {**plan, "calls": calls}, project / f"plan-{protocol}-{binary}.json")


def node_plan(script: Path, plan: dict[str, Any], where: Path) -> Any:
    """What connect_client.mjs prints for `plan` (written to `where`)."""
    where.write_text(json.dumps(plan))
    node = shutil.which("node")
    assert node, "the web tests call the server with connectrpc's Node client: install Node.js"
    result = subprocess.run(
        [node, str(script), str(where)], check=False, capture_output=True, text=True, timeout=DEADLINE_SECONDS
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def curl(*args: str, stdin: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """curl's answer: HTTP status, headers (names lowercase), body."""
    program = shutil.which("curl")
    assert program, "the web tests speak raw HTTP with curl: install it"
    done = subprocess.run(
        [program, "-sS", "-i", "--max-time", "20", *args], check=False, input=stdin, capture_output=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def envelope(payload: bytes, flags: int = 0) -> bytes:
    return bytes([flags]) + len(payload).to_bytes(4, "big") + payload


def frames(body: bytes) -> list[tuple[int, bytes]]:
    found, offset = [], 0
    while offset < len(body):
        size = int.from_bytes(body[offset + 1 : offset + 5], "big")
        found.append((body[offset], body[offset + 5 : offset + 5 + size]))
        offset += 5 + size
    assert offset == len(body), body
    return found


CALLS = [
    {"method": "GetFeature", "request": {"latitude": 7, "longitude": -7}},
    {"method": "GetFeature", "request": {"latitude": 1}},  # a bug: INTERNAL, details hidden
    {"method": "GetFeature", "request": {"latitude": 2}},  # NOT_FOUND, chosen by the method
    {"method": "GetFeature", "request": {"latitude": 3}, "timeoutMs": 300},  # its deadline passes
    {"method": "ListFeatures", "request": {"hi": {"latitude": 3}}},
    {"method": "ListFeatures", "request": {"lo": {"latitude": 2}, "hi": {"latitude": 2}}},  # ends in OUT_OF_RANGE
    {"method": "ListFeatures", "request": {}},  # no messages at all
]


def without_counts(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The answers with GetFeature's call count left out (each client's calls count on)."""
    text = re.sub(r'"call \d+"', '"call N"', json.dumps(results))
    return json.loads(text)  # type: ignore[no-any-return]


def test_connect_and_grpc_web_clients_get_what_grpcio_gets(both: Both, connect_client: Path) -> None:
    expected = without_counts(grpc_calls(both.project, both.grpc_port, CALLS))
    assert expected[1]["error"] == {"code": "INTERNAL", "message": "internal server error"}
    assert expected[2]["error"]["code"] == "NOT_FOUND"
    assert expected[3]["error"]["code"] == "DEADLINE_EXCEEDED"
    for protocol in ("connect", "grpc-web"):
        for binary in (False, True):
            got = without_counts(node_calls(connect_client, both.project, both.url, protocol, binary, CALLS))
            # grpcio words a passed deadline its own way; the status is what both must agree on.
            got[3]["error"]["message"] = expected[3]["error"]["message"]
            assert got == expected, (protocol, binary)


def post(both: Both, method: str, body: bytes, content_type: str, *headers: str) -> tuple[int, dict[str, str], bytes]:
    extra = [arg for header in headers for arg in ("-H", header)]
    url = f"{both.url}/{SERVICE}/{method}"
    return curl("-X", "POST", url, "-H", f"content-type: {content_type}", *extra, "--data-binary", "@-", stdin=body)


def connect_json(both: Both, method: str, body: Any, *headers: str) -> tuple[int, dict[str, str], Any]:
    status, got, answer = post(both, method, json.dumps(body).encode(), "application/json", *headers)
    return status, got, json.loads(answer)


def test_connect_unary_errors_are_http_statuses_with_the_field_at_fault(both: Both) -> None:
    bad = {
        '{"latitude": "x"}': '$.latitude: expected an integer, got "x"',
        '{"latitude": 1.5}': "$.latitude: expected an integer, got the number 1.5",
        '{"latitude": 4294967296}': "$.latitude: 4294967296 is out of range (-2147483648 to 2147483647)",
        '{"lat": 1}': "$.lat: routeguide.Point has no field 'lat'",
        "[1]": "$: expected an object (routeguide.Point), got an array",
    }
    for body, message in bad.items():
        status, _, answer = post(both, "GetFeature", body.encode(), "application/json")
        assert (status, json.loads(answer)) == (400, {"code": "invalid_argument", "message": message}), body
    status, _, answer = post(both, "GetFeature", b"{bad", "application/json")
    assert status == 400 and json.loads(answer)["message"].startswith("$: not JSON: "), answer
    # The method's own status, its details (non-ASCII kept) and its trailers, as Connect sends them.
    status, headers, answer = connect_json(both, "GetFeature", {"latitude": 2})
    assert (status, answer) == (404, {"code": "not_found", "message": "nothing at 2 (\u00e9%)"})
    assert headers["trailer-where"] == "nowhere" and headers["trailer-blob-bin"] == "AP8="
    details = [{"type": "routeguide.Point", "value": "CAY"}]  # a Point of latitude 6, base64 unpadded
    assert connect_json(both, "GetFeature", {"latitude": 6})[::2] == (
        400,
        {"code": "invalid_argument", "message": "bad point", "details": details},
    )
    assert connect_json(both, "GetFeature", {"latitude": 1})[::2] == (
        500,
        {"code": "internal", "message": "internal server error"},
    )
    timed = connect_json(both, "GetFeature", {"latitude": 3}, "connect-timeout-ms: 200")
    assert timed[::2] == (504, {"code": "deadline_exceeded", "message": "Deadline Exceeded"})
    status, _, answer = connect_json(both, "Nowhere", {})
    assert (status, answer["code"]) == (404, "unimplemented"), answer
    # Over --max-message-bytes (1000 here): refused before it is read whole.
    status, _, answer = connect_json(both, "GetFeature", {"latitude": 7, "padding": "x" * 2000})
    assert (status, answer["code"]) == (429, "resource_exhausted")
    status, _, answer = post(both, "GetFeature", b"{}", "text/plain")
    assert status == 415 and b"application/json" in answer


def test_metadata_goes_both_ways_and_get_calls_methods_without_side_effects(both: Both) -> None:
    status, headers, answer = connect_json(both, "GetFeature", {"latitude": 4}, "x-token: abc", "x-blob-bin: AQI")
    assert status == 200 and answer["location"] == {"latitude": 4}
    assert headers["echo"] == "abc" and headers["trailer-echo-bin"] == "AQI="
    query = "encoding=json&message=" + urllib.parse.quote('{"latitude":7,"longitude":8}')
    status, _, answer = curl(f"{both.url}/{SERVICE}/GetFeature?{query}")
    assert status == 200 and json.loads(answer)["location"] == {"latitude": 7, "longitude": 8}, answer
    status, _, answer = curl(f"{both.url}/{SERVICE}/ListFeatures?{query}")
    assert status == 501 and "NO_SIDE_EFFECTS" in json.loads(answer)["message"], answer


def test_streams_of_requests_and_answers_over_connect_and_grpc_web(both: Both) -> None:
    points = [{"latitude": n} for n in (3, 4, 5)]
    body = b"".join(envelope(json.dumps(p).encode()) for p in points)
    status, headers, answer = post(both, "RecordRoute", body, "application/connect+json")
    assert status == 200 and headers["content-type"] == "application/connect+json"
    assert frames(answer) == [(0, b'{"pointCount":3,"distance":12}'), (2, b"{}")]
    # A stream that fails half way: the answers so far, then the error in the end-stream message.
    request = envelope(b'{"lo": {"latitude": 2}, "hi": {"latitude": 2}}')
    status, _, answer = post(both, "ListFeatures", request, "application/connect+json")
    got = frames(answer)
    assert status == 200 and [flags for flags, _ in got] == [0, 0, 2]
    assert json.loads(got[-1][1]) == {"error": {"code": "out_of_range", "message": "no more"}}
    # A wrong request inside a stream is located too.
    status, _, answer = post(both, "ListFeatures", envelope(b'{"lo": {"latitude": true}}'), "application/connect+json")
    end = json.loads(frames(answer)[-1][1])
    assert end == {
        "error": {"code": "invalid_argument", "message": "$.lo.latitude: expected an integer, got a boolean"}
    }
    # gRPC-Web text: base64 both ways, the trailers in the last frame; a bidi stream, half duplex.
    notes = b"".join(envelope(json.dumps({"message": m}).encode()) for m in ("a", "b"))
    status, headers, answer = post(both, "RouteChat", base64.b64encode(notes), "application/grpc-web-text+json")
    assert status == 200 and headers["content-type"] == "application/grpc-web-text+json"
    decoded = b"".join(base64.b64decode(chunk) for chunk in re.findall(rb"[^=]+=*", answer))
    answers = [(0, b'{"location":{},"message":"A"}'), (0, b'{"location":{},"message":"B"}')]
    assert frames(decoded) == [*answers, (0x80, b"grpc-status:0\r\n")]


def test_browsers_of_allowed_origins_may_call_and_read_the_status(both: Both) -> None:
    preflight = ("-X", "OPTIONS", f"{both.url}/{SERVICE}/GetFeature", "-H", "access-control-request-method: POST")
    asked = ("-H", "access-control-request-headers: content-type,x-grpc-web")
    status, headers, _ = curl(*preflight, *asked, "-H", f"origin: {ORIGIN}")
    assert status == 204 and headers["access-control-allow-origin"] == ORIGIN
    assert headers["access-control-allow-headers"] == "content-type,x-grpc-web"
    assert curl(*preflight, "-H", "origin: http://elsewhere.example")[0] == 403
    request = envelope(json.dumps({"latitude": 2}).encode())
    status, headers, _ = post(both, "GetFeature", request, "application/grpc-web+json", f"origin: {ORIGIN}")
    assert status == 200 and headers["access-control-allow-origin"] == ORIGIN
    exposed = headers["access-control-expose-headers"].split(", ")
    assert "grpc-status" in exposed and "content-type" not in exposed
    status, headers, _ = post(
        both, "GetFeature", request, "application/grpc-web+json", "origin: http://elsewhere.example"
    )
    assert "access-control-allow-origin" not in headers


def test_web_calls_reach_the_same_servicer_and_pass_the_same_interceptors(both: Both) -> None:
    first = grpc_calls(both.project, both.grpc_port, [CALLS[0]])
    assert first[0]["responses"][0]["name"] == "call 1"
    assert connect_json(both, "GetFeature", {"latitude": 7})[2]["name"] == "call 2"
    access = re.compile(r"/routeguide\.RouteGuide/GetFeature OK .* peer=ipv4:127\.0\.0\.1:\d+ requests=1 responses=1")
    both.server.wait_for(access, count=2)
    connect_json(both, "GetFeature", {"latitude": 1})
    mapped = both.server.wait_for(re.compile(r"GetFeature INTERNAL"))
    assert any("ValueError: a secret" in line for line in mapped), mapped  # the traceback, logged once
    rest = both.server.stop()
    assert both.server.process.returncode == 0 and rest[-1].endswith("Server stopped"), rest


MOUNTED = """
import sys
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from route_guide.generated.runtime.web import create_app
from route_guide.server import add_services

app = Starlette(routes=[Mount("/rpc", app=create_app(add_services))])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def test_the_app_mounts_in_a_starlette_application(projects: dict[bool, Path]) -> None:
    for project in projects.values():
        port = free_port()
        process = subprocess.Popen([sys.executable, "-c", MOUNTED, str(port)], cwd=project)
        try:
            url = f"http://127.0.0.1:{port}/rpc/{SERVICE}/GetFeature"
            deadline = time.monotonic() + DEADLINE_SECONDS
            while True:
                done = subprocess.run(
                    ["curl", "-sS", "-X", "POST", url, "-H", "content-type: application/json", "-d", '{"latitude": 5}'],
                    check=False,
                    capture_output=True,
                    timeout=30,
                )
                if done.returncode == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert json.loads(done.stdout) == {"name": "call 1", "location": {"latitude": 5}}, done
        finally:
            process.terminate()
            process.wait(timeout=DEADLINE_SECONDS)


def test_web_settings_are_checked_where_they_are_written(tmp_path: Path, projects: dict[bool, Path]) -> None:
    project = tmp_path / "project"
    shutil.copytree(projects[False], project)
    config = project / "pyproject.toml"
    text = config.read_text()
    config.write_text(text.replace(f'cors_origins = ["{ORIGIN}"]', 'cors_origins = ["app.example/path"]'))
    failed = run_scaffold("gen", "-C", project)
    line = text.splitlines().index(f'cors_origins = ["{ORIGIN}"]') + 1
    assert failed.returncode != 0
    assert (
        f"pyproject.toml:{line}:1: [tool.scaffold] cors_origins: 'app.example/path' is not an origin" in failed.stderr
    )
    assert config.read_text() != text and not (project / ".scaffold.lock").exists()
    # --ignore-unknown-fields: a JSON field the message lacks is dropped, not refused.
    extra = ["--http-port", "0", "--http-host", "127.0.0.1", "--ignore-unknown-fields"]
    with served(projects[False], "route_guide", extra) as server:
        url = f"{web_url(server)}/{SERVICE}/GetFeature"
        status, _, answer = curl(
            "-X", "POST", url, "-H", "content-type: application/json", "-d", '{"latitude": 7, "lat": 1}'
        )
        assert (status, json.loads(answer)["location"]) == (200, {"latitude": 7})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        flags = ("--host", "127.0.0.1", "--port", "0", "--http-port", port)
        busy = run_python("-m", "route_guide.server", *flags, cwd=projects[False], timeout=60)
    said = f"web: cannot bind 127.0.0.1:{port}: Address already in use"
    assert (busy.returncode, busy.stderr.strip().splitlines()[-1]) == (1, said), busy.stderr


LIBRARY_SERVICER = """
from __future__ import annotations

from collections.abc import Iterator

import grpc

from library.generated import library_pb2 as pb
from library.generated import library_pb2_grpc


class LibraryServicer(library_pb2_grpc.LibraryServicer):
    def __init__(self) -> None:
        self.books: dict[str, pb.Book] = {}

    def GetBook(self, request: pb.GetBookRequest, context: grpc.ServicerContext) -> pb.Book:
        if request.name not in self.books:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no book {request.name}")
        return self.books[request.name]

    def CreateBook(self, request: pb.CreateBookRequest, context: grpc.ServicerContext) -> pb.Book:
        book = pb.Book()
        book.CopyFrom(request.book)
        book.name = f"{request.parent}/books/{request.book_id or len(self.books) + 1}"
        self.books[book.name] = book
        return book

    def UpdateBook(self, request: pb.Book, context: grpc.ServicerContext) -> pb.Book:
        self.books[request.name] = request
        return request

    def ListBooks(self, request: pb.ListBooksRequest, context: grpc.ServicerContext) -> pb.ListBooksResponse:
        books = [
            book
            for name, book in sorted(self.books.items())
            if name.startswith(request.parent + "/")
            and (not request.genres or book.genre in request.genres)
            and (not request.filter.name or book.author.name == request.filter.name)
        ]
        return pb.ListBooksResponse(books=books[: request.page_size or None])

    def MoveBook(self, request: pb.MoveBookRequest, context: grpc.ServicerContext) -> pb.Book:
        book = self.books.pop(request.name)
        book.name = f"{request.other_shelf_name}/books/{request.name.rpartition('/')[2]}"
        self.books[book.name] = book
        return book

    def ListAuthorBooks(self, request: pb.ListBooksRequest, context: grpc.ServicerContext) -> pb.ListBooksResponse:
        return self.ListBooks(request, context)

    def StreamBooks(self, request: pb.ListBooksRequest, context: grpc.ServicerContext) -> Iterator[pb.Book]:
        yield from self.ListBooks(request, context).books
        if request.page_size == 1:
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "one page only")

    def GetBooks(self, request_iterator: Iterator[pb.GetBookRequest], context: grpc.ServicerContext) -> Iterator[pb.Book]:
        for request in request_iterator:
            yield self.books[request.name]
"""


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `--web` project of tests/protos/web/library.proto, whose REST rules use every template form."""
    project = tmp_path_factory.mktemp("rest") / "library"
    proto = REPO / "tests/protos/web/library.proto"
    made = run_scaffold("new", proto, "-o", project, "--web")  # google/api: googleapis-common-protos's
    assert made.returncode == 0, made.stderr
    (project / "library/servicer.py").write_text(LIBRARY_SERVICER)
    return project


def _example(pattern: str) -> str:
    """A path segment (or segments) the path variable's pattern matches."""
    return pattern.strip("^$").replace("[^/]+", "x").replace(".+", "x/y").replace("\\", "")


def rest(url: str, verb: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = ("-H", "content-type: application/json", "-d", json.dumps(body)) if body is not None else ()
    status, _, answer = curl("-X", verb, url + path, *data)
    return status, [json.loads(line) for line in answer.splitlines()] if b"\n{" in answer.strip() else json.loads(
        answer
    )


def test_rest_routes_from_google_api_http(library: Path) -> None:
    extra = ["--http-port", "0", "--http-host", "127.0.0.1"]
    with served(library, "library", extra) as server:
        url = web_url(server)
        dune = {"title": "Dune", "genre": "FICTION", "pages": "412", "author": {"name": "Herbert", "born": 1920}}
        # A field body, a path variable and a query parameter make the request together.
        assert rest(url, "POST", "/v1/shelves/1/books?book_id=dune", dune) == (
            200,
            {"name": "shelves/1/books/dune", **dune},
        )
        spqr = {"title": "SPQR", "genre": "HISTORY", "tags": ["rome"], "author": {"name": "Beard"}}
        assert rest(url, "POST", "/v1/shelves/1/books", spqr)[1]["name"] == "shelves/1/books/2"
        # A multi-segment variable, and the same method through its additional binding.
        assert rest(url, "GET", "/v1/shelves/1/books/dune")[1]["title"] == "Dune"
        assert rest(url, "GET", "/v1/books/shelves/1/books/dune")[1]["title"] == "Dune"
        # Repeated query parameters, enums by name and by number, a nested field; response_body.
        assert [b["title"] for b in rest(url, "GET", "/v1/shelves/1/books?genres=HISTORY&genres=1")[1]] == [
            "SPQR",
            "Dune",
        ]
        assert [b["title"] for b in rest(url, "GET", "/v1/shelves/1/books?filter.name=Beard")[1]] == ["SPQR"]
        assert rest(url, "GET", "/v1/shelves/9/books") == (200, [])  # response_body of nothing: its default
        # A nested field in the path; a whole response.
        assert rest(url, "GET", "/v1/shelves/1/authors/Herbert/books")[1] == {
            "books": [{"name": "shelves/1/books/dune", **dune}]
        }
        # body "*" with the path's field, and a custom verb.
        assert rest(url, "PATCH", "/v1/shelves/1/books/dune", {"title": "Dune!"}) == (
            200,
            {"name": "shelves/1/books/dune", "title": "Dune!"},
        )
        moved = rest(url, "POST", "/v1/shelves/1/books/dune:move", {"otherShelfName": "shelves/2"})
        assert moved == (200, {"name": "shelves/2/books/dune", "title": "Dune!"})
        # A server stream: one JSON object a line, an error as the last.
        status, lines = rest(url, "GET", "/v1/shelves/1/books:stream")
        assert status == 200 and lines == {"result": {"name": "shelves/1/books/2", **spqr}}
        status, lines = rest(url, "GET", "/v1/shelves/2/books:stream?page_size=1")
        assert lines == [{"result": moved[1]}, {"error": {"code": 8, "message": "one page only"}}]
        # Errors: google.rpc.Status as JSON, the HTTP status of its code.
        assert rest(url, "GET", "/v1/shelves/1/books/nope") == (
            404,
            {"code": 5, "message": "no book shelves/1/books/nope"},
        )
        assert rest(url, "GET", "/v1/shelves/1/books?page_size=x") == (
            400,
            {"code": 3, "message": '$.page_size: expected an integer, got "x"'},
        )
        assert rest(url, "GET", "/v1/shelves/1/books?colour=red") == (
            400,
            {"code": 3, "message": "query parameter colour: library.v1.ListBooksRequest has no field 'colour'"},
        )
        assert rest(url, "POST", "/v1/shelves/1/books", {"pages": "many"}) == (
            400,
            {"code": 3, "message": '$.book.pages: expected an integer, got "many"'},
        )
        assert rest(url, "POST", "/v1/books:batchGet", {"name": "x"})[0] == 501
        assert curl(url + "/v1/nothing")[0] == 404
        # `scaffold call` prints the same over each protocol, failures included.
        printed = {}
        for protocol in ("grpc", "connect", "grpc-web", "http"):
            target = f"127.0.0.1:{server.port if protocol == 'grpc' else url.rpartition(':')[2]}"
            printed[protocol] = [
                run_scaffold(
                    "call", rpc, "-d", json.dumps(data), "--target", target, "--protocol", protocol, cwd=library
                )
                for rpc, data in (
                    ("GetBook", {"name": "shelves/1/books/2"}),
                    ("ListBooks", {"parent": "shelves/1", "genres": ["HISTORY"]}),
                    ("StreamBooks", {"parent": "shelves/1"}),
                    ("GetBook", {"name": "shelves/1/books/none"}),
                )
            ]
        outcomes = {protocol: [(r.returncode, r.stdout, r.stderr) for r in runs] for protocol, runs in printed.items()}
        assert outcomes["grpc"][0][1].startswith('{"name": "shelves/1/books/2", "title": "SPQR"')
        assert outcomes["grpc"][3] == (1, "", "NOT_FOUND: no book shelves/1/books/none\n")
        for protocol in ("connect", "grpc-web", "http"):
            assert outcomes[protocol] == outcomes["grpc"], protocol
        # The OpenAPI document gen wrote is served, is valid OpenAPI 3.1, and every operation in it is a route.
        written = json.loads((library / "library/generated/runtime/openapi.json").read_bytes())
        assert json.loads(curl(url + "/openapi.json")[2]) == written
        openapi_spec_validator.validate(written)
        operations = [(verb.upper(), path) for path, item in written["paths"].items() for verb in item]
        assert ("POST", "/v1/{name}:move") in operations and (
            "GET",
            "/v1/{parent}/authors/{filter.name}/books",
        ) in operations
        for verb, path in operations:
            item = written["paths"][path][verb.lower()]
            patterns = {p["name"]: p["schema"]["pattern"] for p in item.get("parameters", []) if p["in"] == "path"}
            concrete = re.sub(r"\{([^}]+)\}", lambda found, known=patterns: _example(known[found.group(1)]), path)
            body = {} if "requestBody" in item else None
            status, answer = rest(url, verb, concrete, body)
            assert not (status == 404 and answer.get("code") == "unimplemented"), (verb, path, concrete)
    # A rule the server could not serve is refused at gen time, located; nothing is written.
    broken = library.parent / "broken"
    shutil.copytree(library, broken)
    copy = broken / "protos/library.proto"
    text = copy.read_text()
    copy.write_text(
        text.replace('response_body: "books"', 'response_body: "bookz"').replace(
            'additional_bindings { get: "/v1/books/{name=**}" }',
            'additional_bindings { get: "/v1/{name=shelves/*/books/*}" }',
        )
    )
    before = tree(broken)
    failed = run_scaffold("gen", "-C", broken)
    assert failed.returncode == 2, failed.stderr
    lines = text.splitlines()
    get_line = next(i for i, line in enumerate(lines) if "rpc GetBook(" in line) + 2
    list_line = next(i for i, line in enumerate(lines) if "rpc ListBooks(" in line) + 2
    assert failed.stderr.splitlines() == [
        (
            f"{copy}:{get_line}:5: GET /v1/{{name=shelves/*/books/*}} of Library.GetBook is a route "
            f"{copy}:{get_line}:5 claims already"
        ),
        f"{copy}:{list_line}:5: response_body 'bookz': ListBooksResponse has no field 'bookz'",
    ], failed.stderr
    assert tree(broken) == {**before, "protos/library.proto": copy.read_bytes()}


def test_the_web_example_answers_over_rest_connect_and_grpc_web_as_over_grpc(
    connect_client: Path, tmp_path: Path
) -> None:
    """examples/route_guide_web: route_guide with google.api.http rules, its real database and servicer."""
    example = REPO / "examples/route_guide_web"
    descriptors = descriptor_set(example, tmp_path / "route_guide.pb")
    with served(example, "route_guide", ["--http-port", "0", "--http-host", "127.0.0.1"]) as server:
        url = web_url(server)
        calls = [
            {"method": "GetFeature", "request": {"latitude": 409146138, "longitude": -746188906}},
            {"method": "ListFeatures", "request": {"lo": {"latitude": 400000000, "longitude": -750000000},
                                                   "hi": {"latitude": 420000000, "longitude": -730000000}}},
        ]  # fmt: skip
        expected = grpc_calls(example, server.port, calls)
        assert len(expected[1]["responses"]) == 100
        for protocol in ("connect", "grpc-web"):
            plan = {"baseUrl": url, "protocol": protocol, "binary": True, "descriptors": str(descriptors),
                    "service": SERVICE, "calls": calls}  # fmt: skip
            assert node_plan(connect_client, plan, tmp_path / f"{protocol}.json") == expected, protocol
        # REST: the path's variables, and a stream of one JSON object a line from the query's nested fields.
        status, feature = rest(url, "GET", "/v1/features/409146138/-746188906")
        assert (status, feature) == (200, expected[0]["responses"][0])
        query = "lo.latitude=400000000&lo.longitude=-750000000&hi.latitude=420000000&hi.longitude=-730000000"
        status, lines = rest(url, "GET", f"/v1/features?{query}")
        assert [line["result"] for line in lines] == expected[1]["responses"]
        # A Connect GET: the method is marked NO_SIDE_EFFECTS, so a browser may cache it.
        message = urllib.parse.quote(json.dumps(calls[0]["request"]))
        status, _, answer = curl(f"{url}/{SERVICE}/GetFeature?encoding=json&message={message}")
        assert (status, json.loads(answer)) == (200, expected[0]["responses"][0])


PAGE = """<!doctype html>
<html><body><pre id="out"></pre><script type="module" src="bundle.js"></script></body></html>
"""


class _Page(http.server.SimpleHTTPRequestHandler):
    """Serves the bundled page and takes its report (POST /result) into `results`."""

    results: queue.Queue[str]

    def do_POST(self) -> None:
        self.results.put(self.rfile.read(int(self.headers["content-length"])).decode())
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test says what went wrong."""


@pytest.fixture(scope="module")
def page(connect_client: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, queue.Queue[str]]]:
    """tests/web/browser_page.mjs bundled by esbuild with connect-web and the example's descriptors,
    served from an origin of its own; yields that origin and the queue its reports arrive on."""
    example = REPO / "examples/route_guide_web"
    served_from = tmp_path_factory.mktemp("page")
    descriptors = descriptor_set(example, served_from / "route_guide.pb")
    encoded = base64.b64encode(descriptors.read_bytes()).decode()
    # Beside connect-web's node_modules, for esbuild to resolve it; a name of its own, gone whatever happens.
    with tempfile.TemporaryDirectory(prefix="page-", dir=connect_client.parent) as directory:
        source = Path(directory)
        (source / "descriptors.mjs").write_text(f'export const DESCRIPTORS = "{encoded}";\n')
        shutil.copyfile(REPO / "tests/web/browser_page.mjs", source / "browser_page.mjs")
        esbuild = connect_client.parent / "node_modules/.bin/esbuild"
        bundle = [str(esbuild), str(source / "browser_page.mjs"), "--bundle", "--format=esm", "--target=es2022"]
        built = subprocess.run(
            [*bundle, f"--outfile={served_from / 'bundle.js'}", "--log-level=warning"],
            check=False,
            capture_output=True,
            text=True,
        )
    assert built.returncode == 0, built.stderr
    (served_from / "index.html").write_text(PAGE)
    results: queue.Queue[str] = queue.Queue()
    handler = type("Page", (_Page,), {"results": results})
    with http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(served_from))
    ) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}", results
        finally:
            server.shutdown()


def open_in_chromium(url: str, results: queue.Queue[str], profile: Path) -> dict[str, Any]:
    """What the page at `url` reported, opened in headless Chromium (Debian's `chromium`)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "the browser test runs Debian's chromium headless: apt-get install chromium"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={profile}"]
    browser = subprocess.Popen([chromium, *flags, url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        report: dict[str, Any] = json.loads(results.get(timeout=DEADLINE_SECONDS))
        return report
    except queue.Empty:
        pytest.fail(f"the page at {url} reported nothing within {DEADLINE_SECONDS} s")
    finally:
        browser.kill()
        browser.wait()


def test_a_browser_page_of_another_origin_calls_the_example(page: tuple[str, queue.Queue[str]], tmp_path: Path) -> None:
    """connect-web in headless Chromium, over Connect and gRPC-Web, through CORS; an origin not allowed is refused."""
    origin, results = page
    example = REPO / "examples/route_guide_web"
    extra = ["--http-port", "0", "--http-host", "127.0.0.1", "--cors-origin", origin]
    with served(example, "route_guide", extra) as server:
        api = web_url(server)
        expected = grpc_calls(
            example, server.port, [CALLS[0] | {"request": {"latitude": 409146138, "longitude": -746188906}}]
        )
        for protocol in ("connect", "grpc-web"):
            report = open_in_chromium(
                f"{origin}/index.html?api={api}&protocol={protocol}", results, tmp_path / protocol
            )
            assert "error" not in report, (protocol, report)
            assert report["feature"] == expected[0]["responses"][0], protocol
            assert len(report["listed"]) == 100 and report["listed"][0] == "Patriots Path, Mendham, NJ 07945, USA"
        # The same page from an origin the server does not list: the browser refuses to hand it the answer.
        elsewhere = origin.replace("127.0.0.1", "localhost")
        report = open_in_chromium(f"{elsewhere}/index.html?api={api}&protocol=connect", results, tmp_path / "elsewhere")
        assert report == {"error": "ConnectError: [unknown] Failed to fetch"}


def test_call_over_the_web_refuses_what_it_cannot_send_before_connecting() -> None:
    example = REPO / "examples/route_guide_web"
    nowhere = ("--target", "127.0.0.1:1", "-C", str(example))
    no_route = run_scaffold("call", "RecordRoute", "-d", "{}", "--protocol", "http", *nowhere)
    assert (no_route.returncode, no_route.stderr) == (
        2,
        (
            "/routeguide.RouteGuide/RecordRoute: has no REST route (google.api.http): "
            "call it with --protocol connect or grpc-web\n"
        ),
    )
    late = run_scaffold("call", "GetFeature", "-d", "{}", "--protocol", "connect", "--timeout", "-1", *nowhere)
    assert (late.returncode, late.stderr) == (2, "--timeout: -1.0: a deadline is a positive number of seconds\n")
    down = run_scaffold("call", "GetFeature", "-d", "{}", "--protocol", "grpc-web", *nowhere)
    assert (down.returncode, down.stderr) == (1, "UNAVAILABLE: 127.0.0.1:1: Connection refused\n")
