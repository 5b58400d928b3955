"""Issue 29: OpenTelemetry traces and metrics of every call shape, sync and aio, server and client.

A generated project (`otel = true`, the servicer of tests/test_production.py, whose
behaviour the request chooses) runs in a subprocess with the SDK's in-memory span
exporter and metric reader: its own server on a loopback port, called through its
own `create_channel`. The script prints what was recorded as JSON; the tests read
the span pairs, their links and attributes, the histograms and the JSON log lines.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, run_python, run_scaffold
from test_production import FLAVOURS, SHAPES, make_project

TRACED = """
import asyncio, json, os, sys, time, warnings

os.environ["GRPC_VERBOSITY"] = "ERROR"  # the in-process client's own C-core lines (a GOAWAY) are not the server's
os.environ["OTEL_PYTHON_GRPC_MESSAGE_EVENTS"] = sys.argv[3]

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

spans = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(spans))
reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
METRICS_ONLY = sys.argv[4:] == ["metrics-only"]  # a meter provider of the user's and no tracer provider
if not METRICS_ONLY:
    trace.set_tracer_provider(provider)

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from route_guide.generated import route_guide_pb2 as pb
from route_guide.generated import route_guide_pb2_grpc
from route_guide.generated.runtime import calling, serving, tracing
from route_guide.server import add_services

serving.configure_logging("json")
if not METRICS_ONLY:  # an application of its own, with its meter provider, does not call it
    tracing.configure()  # a provider is set: it must leave it alone
warnings.simplefilter("error")
repeat, AIO = int(sys.argv[1]), sys.argv[2] == "aio"


def request(rpc, latitude):
    point = pb.Point(latitude=latitude)
    return {
        "GetFeature": point,
        "ListFeatures": pb.Rectangle(lo=point),
        "RecordRoute": [pb.Point(), pb.Point(), point],
        "RouteChat": [pb.RouteNote(location=point)] * 3,
    }[rpc]


CALLS = [(rpc, latitude, 10.0) for rpc in SHAPES for latitude in (0, 1, 2)]
CALLS += [("GetFeature", 5, 0.3), ("ListFeatures", 5, 0.3)]  # past their deadline


def create():
    from grpc_health.v1 import health
    servicer = (health.aio if AIO else health).HealthServicer()
    server, port = serving.create_server("127.0.0.1:0", add_services, health_servicer=servicer)
    return server, port


def settled(expected):
    if METRICS_ONLY:  # every call's server duration recorded
        data = json.loads(reader.get_metrics_data().to_json())
        counts = [p["count"] for r in data["resource_metrics"] for s in r["scope_metrics"] for m in s["metrics"]
                  if m["name"] == "rpc.server.duration" for p in m["data"]["data_points"]]
        return sum(counts) >= expected
    # Whether every call's two spans have ended: a method past its deadline runs on after its client
    # has the answer, and an aio client span ends in a task of its own.
    finished = spans.get_finished_spans()
    kinds = [s.kind for s in finished]
    return kinds.count(trace.SpanKind.SERVER) >= expected and kinds.count(trace.SpanKind.CLIENT) >= expected


def done(outcomes):
    provider.force_flush()
    print(json.dumps({"outcomes": outcomes, "spans": [json.loads(s.to_json()) for s in spans.get_finished_spans()],
                      "metrics": json.loads(reader.get_metrics_data().to_json())}))


def run_sync():
    server, port = create()
    server.start()
    outcomes = []
    with calling.create_channel(f"127.0.0.1:{port}") as channel:
        stub = route_guide_pb2_grpc.RouteGuideStub(channel)
        for rpc, latitude, timeout in CALLS:
            sent = request(rpc, latitude)
            try:
                answer = getattr(stub, rpc)(iter(sent) if isinstance(sent, list) else sent, timeout=timeout)
                if rpc in ("ListFeatures", "RouteChat"):
                    list(answer)
                outcomes.append([rpc, latitude, "OK"])
            except grpc.RpcError as error:
                outcomes.append([rpc, latitude, error.code().name])
        stream = stub.ListFeatures(pb.Rectangle(), timeout=10)
        next(stream)
        stream.cancel()  # the client gives up after one response
        outcomes.append(["ListFeatures", -1, "CANCELLED"])
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        for _ in range(repeat):
            list(stub.ListFeatures(pb.Rectangle(), timeout=10))
        deadline = time.monotonic() + 30
        while not settled(len(outcomes) + repeat) and time.monotonic() < deadline:
            time.sleep(0.05)
    server.stop(None).wait()
    done(outcomes)


async def run_aio():
    server, port = create()
    await server.start()
    outcomes = []
    async with calling.create_channel(f"127.0.0.1:{port}") as channel:
        stub = route_guide_pb2_grpc.RouteGuideStub(channel)
        for rpc, latitude, timeout in CALLS:
            sent = request(rpc, latitude)
            try:
                answer = getattr(stub, rpc)(iter(sent) if isinstance(sent, list) else sent, timeout=timeout)
                if rpc in ("ListFeatures", "RouteChat"):
                    [_ async for _ in answer]
                else:
                    await answer
                outcomes.append([rpc, latitude, "OK"])
            except grpc.RpcError as error:
                outcomes.append([rpc, latitude, error.code().name])
        stream = stub.ListFeatures(pb.Rectangle(), timeout=10)
        await stream.read()
        stream.cancel()
        outcomes.append(["ListFeatures", -1, "CANCELLED"])
        await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        for _ in range(repeat):
            [_ async for _ in stub.ListFeatures(pb.Rectangle(), timeout=10)]
        deadline = time.monotonic() + 30
        while not settled(len(outcomes) + repeat) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    await server.stop(None)
    done(outcomes)


asyncio.run(run_aio()) if AIO else run_sync()
""".replace("SHAPES", repr(SHAPES))

STATUS = {"OK": 0, "CANCELLED": 1, "UNKNOWN": 2, "DEADLINE_EXCEEDED": 4, "NOT_FOUND": 5, "INTERNAL": 13}


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    directory = tmp_path_factory.mktemp("observability")
    made = {aio: make_project(directory, aio, "--otel", "--health") for aio in (False, True)}
    for project in made.values():
        (project / "traced.py").write_text(TRACED)
    return made


def traced(
    project: Path, aio: bool, repeat: int = 0, events: bool = False, *more: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What the script recorded, and the JSON lines its server logged (stderr)."""
    flavour, switch = "aio" if aio else "sync", "true" if events else "false"
    result = run_python("traced.py", str(repeat), flavour, switch, *more, cwd=project, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    return json.loads(result.stdout), lines


@FLAVOURS
def test_one_server_and_one_client_span_per_call_linked_with_the_calls_status(
    projects: dict[bool, Path], aio: bool
) -> None:
    recorded, logged = traced(projects[aio], aio)
    outcomes = recorded["outcomes"]
    spans = recorded["spans"]
    servers = [s for s in spans if s["kind"] == "SpanKind.SERVER"]
    clients = [s for s in spans if s["kind"] == "SpanKind.CLIENT"]
    # One pair per call; the health check is not traced on either side.
    assert len(servers) == len(clients) == len(outcomes), [s["name"] for s in spans]
    assert not [s for s in spans if "Health" in s["name"]]
    by_id = {s["context"]["span_id"]: s for s in clients}
    for server in servers:
        client = by_id[server["parent_id"]]  # the server's span is the child of the client's, through traceparent
        assert client["context"]["trace_id"] == server["context"]["trace_id"] and client["name"] == server["name"]
    for (rpc, latitude, code), client in zip(outcomes, clients, strict=True):
        assert client["name"] == f"routeguide.RouteGuide/{rpc}", (rpc, latitude, client["name"])
        assert client["attributes"]["rpc.grpc.status_code"] == STATUS[code], (rpc, latitude, client)
        assert (client["status"]["status_code"] == "ERROR") == (code != "OK")
    expected = {(rpc, 0): "OK" for rpc in SHAPES} | {(rpc, 1): "INTERNAL" for rpc in SHAPES}
    expected |= {(rpc, 2): "NOT_FOUND" for rpc in SHAPES} | {("GetFeature", 5): "DEADLINE_EXCEEDED"}
    expected |= {("ListFeatures", 5): "DEADLINE_EXCEEDED", ("ListFeatures", -1): "CANCELLED"}
    assert {(rpc, latitude): code for rpc, latitude, code in outcomes} == expected
    for server in servers:
        attributes = server["attributes"]
        assert attributes["rpc.system"] == "grpc" and attributes["rpc.service"] == "routeguide.RouteGuide"
        assert attributes["network.peer.address"] == "127.0.0.1" and attributes["network.peer.port"] > 0
        client = by_id[server["parent_id"]]
        if client["attributes"]["rpc.grpc.status_code"] == STATUS["CANCELLED"]:  # the server may have answered all
            assert attributes["rpc.grpc.status_code"] in (STATUS["OK"], STATUS["CANCELLED"]), server
        else:
            assert attributes["rpc.grpc.status_code"] == client["attributes"]["rpc.grpc.status_code"], server
        failed = attributes["rpc.grpc.status_code"] in (STATUS["INTERNAL"], STATUS["DEADLINE_EXCEEDED"])
        assert (server["status"]["status_code"] == "ERROR") == failed, server  # NOT_FOUND, CANCELLED: not the server's
        exceptions = [event for event in server["events"] if event["name"] == "exception"]
        assert len(exceptions) == len(server["events"]), server  # message events are off by default
        if attributes["rpc.grpc.status_code"] == STATUS["INTERNAL"]:  # the servicer's ValueError, recorded once
            assert len(exceptions) == 1 and exceptions[0]["attributes"]["exception.type"] == "ValueError", server
        else:
            assert exceptions == [], server
    # The log lines of a call carry its trace: the access line and the traceback's line.
    lines = [line for line in logged if line["logger"] in ("route_guide.access", "route_guide.errors")]
    calls = [line for line in lines if "/routeguide.RouteGuide/" in line["message"]]
    assert len(calls) == len(outcomes) + len(SHAPES), logged  # every call, and one traceback per shape
    # Each line carries the ids of its call's server span (not only its trace's).
    ids = {(s["context"]["trace_id"], s["context"]["span_id"]) for s in servers}
    assert all((f"0x{line['trace_id']}", f"0x{line['span_id']}") in ids for line in calls), calls
    (health,) = [line for line in lines if "/grpc.health.v1.Health/Check" in line["message"]]
    assert "trace_id" not in health  # not traced


@FLAVOURS
def test_durations_and_sizes_are_histograms_by_method_and_status(projects: dict[bool, Path], aio: bool) -> None:
    recorded, _ = traced(projects[aio], aio)
    found: dict[str, list[dict[str, Any]]] = {}
    for resource in recorded["metrics"]["resource_metrics"]:
        for scope in resource["scope_metrics"]:
            for metric in scope["metrics"]:
                found[metric["name"]] = metric["data"]["data_points"]
    assert {"rpc.server.duration", "rpc.client.duration", "rpc.server.request.size", "rpc.server.response.size"} <= set(
        found
    )
    for name in ("rpc.server.duration", "rpc.client.duration"):
        points = {
            (p["attributes"]["rpc.method"], p["attributes"]["rpc.grpc.status_code"]): p["count"] for p in found[name]
        }
        assert points[("GetFeature", 0)] == 1 and points[("GetFeature", STATUS["INTERNAL"])] == 1, points
        assert points[("RouteChat", 0)] == 1 and points[("RouteChat", STATUS["NOT_FOUND"])] == 1, points
        assert all(p["attributes"]["rpc.system"] == "grpc" for p in found[name])
        assert not any("Health" in p["attributes"]["rpc.service"] for p in found[name])
    requests = {p["attributes"]["rpc.method"]: p["count"] for p in found["rpc.server.request.size"]}
    assert requests["RecordRoute"] == 3 * 3 and requests["GetFeature"] == 4, requests  # every message, each call


@FLAVOURS
def test_a_meter_provider_without_a_tracer_provider_gets_the_metrics_and_no_span(
    projects: dict[bool, Path], aio: bool
) -> None:
    """Without a tracer SDK a call starts no span and attaches no context (the API's stand-ins would record
    nothing); a meter provider of the user's still gets every call's duration and message sizes."""
    recorded, logged = traced(projects[aio], aio, 0, False, "metrics-only")
    assert recorded["spans"] == []
    found = {
        metric["name"]: metric["data"]["data_points"]
        for resource in recorded["metrics"]["resource_metrics"]
        for scope in resource["scope_metrics"]
        for metric in scope["metrics"]
    }
    served = sum(p["count"] for p in found["rpc.server.duration"])
    assert served == len(recorded["outcomes"]) and sum(p["count"] for p in found["rpc.client.duration"]) == served
    requests = {p["attributes"]["rpc.method"]: p["count"] for p in found["rpc.server.request.size"]}
    assert requests["RecordRoute"] == 3 * 3, requests
    assert all("trace_id" not in line for line in logged)


@FLAVOURS
def test_many_streamed_calls_leave_no_warning_and_no_context_error(projects: dict[bool, Path], aio: bool) -> None:
    """contrib's instrumentation logs "Failed to detach context" on server streams (#2357): a context is
    detached here where it was attached, never across a yield; the script turns warnings into errors."""
    recorded, logged = traced(projects[aio], aio, repeat=10_000)
    servers = [s for s in recorded["spans"] if s["kind"] == "SpanKind.SERVER"]
    assert len(servers) == len(recorded["outcomes"]) + 10_000
    assert [
        line for line in logged if line["logger"] != "route_guide.access" and line["logger"] != "route_guide.errors"
    ] == []


def test_otel_turned_on_and_off_by_the_config(tmp_path: Path) -> None:
    """`otel = true` in an existing project: the dependencies and the runtime module come with it, and go
    with it; the project's own tests pass either way."""
    project = tmp_path / "plain"
    assert run_scaffold("new", REPO / "protos/route_guide.proto", "-o", project).returncode == 0
    config = project / "pyproject.toml"
    assert "opentelemetry" not in config.read_text()
    assert not (project / "route_guide/generated/runtime/tracing.py").exists()
    config.write_text(config.read_text().replace("otel = false", "otel = true"))
    result = run_scaffold("gen", "-C", project)
    assert result.returncode == 0, result.stderr
    text = config.read_text()
    assert '"opentelemetry-sdk>=' in text and '"opentelemetry-exporter-otlp-proto-grpc>=' in text
    assert (project / "route_guide/generated/runtime/tracing.py").is_file()
    tests = run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project, timeout=300)
    assert tests.returncode == 0, tests.stdout
    config.write_text(config.read_text().replace("otel = true", "otel = false"))
    assert run_scaffold("gen", "-C", project).returncode == 0
    assert "opentelemetry" not in config.read_text()
    assert not (project / "route_guide/generated/runtime/tracing.py").exists()
    assert "tracing" not in (project / "route_guide/generated/runtime/interceptors.py").read_text()


@FLAVOURS
def test_message_events_when_switched_on(projects: dict[bool, Path], aio: bool) -> None:
    """`OTEL_PYTHON_GRPC_MESSAGE_EVENTS=true`: an event per message on the server's span, numbered per
    direction, with its size."""
    recorded, _ = traced(projects[aio], aio, events=True)
    servers = {
        (s["name"], s["attributes"]["rpc.grpc.status_code"]): s
        for s in recorded["spans"]
        if s["kind"] == "SpanKind.SERVER"
    }
    route = servers[("routeguide.RouteGuide/RecordRoute", 0)]
    said = [(e["attributes"]["message.type"], e["attributes"]["message.id"]) for e in route["events"]]
    assert said == [("RECEIVED", 1), ("RECEIVED", 2), ("RECEIVED", 3), ("SENT", 1)], route["events"]
    listed = servers[("routeguide.RouteGuide/ListFeatures", 0)]
    said = [(e["attributes"]["message.type"], e["attributes"]["message.id"]) for e in listed["events"]]
    assert said == [("RECEIVED", 1), ("SENT", 1), ("SENT", 2)], listed["events"]
    assert all(e["attributes"]["message.uncompressed_size"] >= 0 for e in listed["events"])


HELD = """
import asyncio, json, sys, threading, time

from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

import grpc

from route_guide.generated import route_guide_pb2 as pb
from route_guide.generated import route_guide_pb2_grpc
from route_guide.generated.runtime import calling, interceptors, serving, tracing
from route_guide.server import add_services

AIO = sys.argv[1] == "aio"
SENT = 2 * tracing.SIZES_HELD + 100
seen = {}


def recorded(method="RecordRoute"):
    data = reader.get_metrics_data()
    data = json.loads(data.to_json()) if data is not None else {"resource_metrics": []}
    return sum(
        p["count"] for r in data["resource_metrics"] for s in r["scope_metrics"] for m in s["metrics"]
        if m["name"] == "rpc.server.request.size" for p in m["data"]["data_points"]
        if p["attributes"]["rpc.method"] == method
    )


def point(index):
    if index == tracing.SIZES_HELD + 50:  # the stream still open: what the server has recorded of it
        deadline = time.monotonic() + 30
        while recorded() < tracing.SIZES_HELD and time.monotonic() < deadline:
            time.sleep(0.01)
        seen["mid-stream"] = recorded()
    return pb.Point(latitude=10, longitude=index)


def run_sync():
    server, port = serving.create_server("127.0.0.1:0", add_services)
    server.start()
    with calling.create_channel(f"127.0.0.1:{port}") as channel:
        stub = route_guide_pb2_grpc.RouteGuideStub(channel)
        summary = stub.RecordRoute((point(index) for index in range(SENT)), timeout=60)
    server.stop(None).wait()
    interceptors.flush_observers()  # the sizes left are recorded as the call is told of, after it ended
    return summary


async def run_aio():
    server, port = serving.create_server("127.0.0.1:0", add_services)
    await server.start()

    async def points():
        for index in range(SENT):
            yield await asyncio.to_thread(point, index) if index == tracing.SIZES_HELD + 50 else point(index)

    async with calling.create_channel(f"127.0.0.1:{port}") as channel:
        summary = await route_guide_pb2_grpc.RouteGuideStub(channel).RecordRoute(points(), timeout=60)
    await server.stop(None)
    return summary


summary = asyncio.run(run_aio()) if AIO else run_sync()
seen.update(sent=SENT, counted=summary.point_count, held=tracing.SIZES_HELD, after=recorded())

# Two threads counting requests of one call at once, one of them after the call has finished (a request
# read late): every size is one point.
calls = tracing.ServerCalls("/routeguide.RouteGuide/RouteChat")
threads = [threading.Thread(target=lambda: [calls.received(None, pb.Point()) for _ in range(3000)]) for _ in range(2)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
calls.finish(None, grpc.StatusCode.OK, 0.1)
calls.received(None, pb.Point())
seen["threads and late"] = recorded("RouteChat")
print(json.dumps(seen))
"""


@FLAVOURS
def test_a_long_stream_records_every_message_size_while_it_is_open(projects: dict[bool, Path], aio: bool) -> None:
    """A call holds message sizes to record them together (a `record` per message slowed the stream), but
    never more than `SIZES_HELD`: a stream still open has its sizes recorded, and each message is one point,
    also from two threads at once and after the call has finished."""
    (projects[aio] / "held.py").write_text(HELD)
    result = run_python("held.py", "aio" if aio else "sync", cwd=projects[aio], timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout)
    assert found["counted"] == found["sent"] and found["mid-stream"] == found["held"], found
    assert found["after"] == found["sent"], found
    assert found["threads and late"] == 2 * 3000 + 1, found


RELAYED = """
import faulthandler, logging, os, sys, threading, warnings

from route_guide.generated.runtime import serving

serving.configure_logging("json")
print("a line of someone else's", file=sys.stderr)
warnings.warn("careful")
thread = threading.Thread(target=lambda: 1 / 0, name="doomed")
thread.start()
thread.join()
if sys.argv[1:] == ["a handler of its own"]:  # writes on stderr, which the relay reads: never round again
    logging.getLogger().addHandler(logging.StreamHandler())
    logging.getLogger("route_guide.access").info("said twice")
# As grpc's C core writes its lines: on descriptor 2 itself, and a fatal one just before it aborts.
os.write(2, b"E1206 07:45:42.722329   24443 chttp2_transport.cc:1403] a line of grpc's own\\n")
if sys.argv[1:] == ["abort"]:
    faulthandler.disable()  # PYTHONFAULTHANDLER's dump would follow the fatal line
    os.write(2, b"F1206 07:45:42.722329   24443 chttp2_transport.cc:99] the last words\\n")
    os.abort()
"""


def relayed(project: Path, *how: str) -> tuple[int, list[dict[str, Any]]]:
    result = run_python("relayed.py", *how, cwd=project)
    return result.returncode, [json.loads(line) for line in result.stderr.splitlines()]


@pytest.fixture(scope="module")
def plain_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("relayed") / "project"
    assert run_scaffold("new", REPO / "protos/route_guide.proto", "-o", project).returncode == 0
    (project / "relayed.py").write_text(RELAYED)
    (project / "gone.py").write_text(GONE_READER)
    (project / "burst.py").write_text(BURST)
    return project


def test_with_json_logs_what_others_write_on_stderr_is_json_lines_too(plain_project: Path) -> None:
    """grpc's C core writes on stderr itself, where `logging` never sees it; so do `print(file=sys.stderr)`,
    warnings and a thread's uncaught exception. With `--log-format json` each comes out as one JSON object,
    up to the last line written before the process exits."""
    code, lines = relayed(plain_project)
    assert code == 0, lines
    by_logger = {line["logger"]: line for line in lines}
    assert len(by_logger) == len(lines) == 4, lines
    assert by_logger["stderr"]["message"] == "a line of someone else's" and by_logger["stderr"]["level"] == "WARNING"
    assert "UserWarning: careful" in by_logger["py.warnings"]["message"]
    uncaught = by_logger["route_guide.errors"]
    assert uncaught["message"] == "uncaught ZeroDivisionError in thread doomed", uncaught
    assert uncaught["level"] == "CRITICAL" and "1 / 0" in uncaught["exception"], uncaught
    grpc_line = by_logger["grpc"]
    assert grpc_line["message"] == "a line of grpc's own" and grpc_line["level"] == "ERROR", grpc_line
    assert grpc_line["source"] == "chttp2_transport.cc:1403"


def test_with_json_logs_grpcs_last_words_before_an_abort_are_relayed(plain_project: Path) -> None:
    """The relay is a process of its own: a server that aborts right after a fatal line (grpc's C core
    does) still has that line relayed."""
    code, lines = relayed(plain_project, "abort")
    assert code != 0
    assert lines[-1]["message"] == "the last words" and lines[-1]["level"] == "CRITICAL", lines


def test_with_json_logs_a_handler_of_the_users_on_stderr_is_relayed_once(plain_project: Path) -> None:
    """A handler added later that writes on stderr writes into the relay's pipe: its lines come out
    once, as the relay's, and never go round again."""
    code, lines = relayed(plain_project, "a handler of its own")
    assert code == 0, lines
    said = [(line["logger"], line["message"]) for line in lines if "said twice" in line["message"]]
    assert said == [("route_guide.access", "said twice"), ("stderr", "said twice")], lines


GONE_READER = """
import logging, os, sys, threading

from route_guide.generated.runtime import serving

serving.configure_logging("json")


def log():
    for number in range(500):
        logging.getLogger("route_guide.access").info("nobody reads line %d", number)
        os.write(2, b"E1206 07:45:42.722329   24443 chttp2_transport.cc:1403] nor this\\n")


threads = [threading.Thread(target=log) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("done", flush=True)
"""


def test_with_json_logs_a_server_whose_stderr_reader_is_gone_goes_on(plain_project: Path) -> None:
    """The log's reader gone (a collector that stopped), four threads log 4,000 lines: none of
    them waits on a full pipe, and the process ends as it should."""
    process = subprocess.Popen(
        [sys.executable, "gone.py"], cwd=plain_project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    process.stderr.close()
    try:
        out, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0 and out == "done\n", out


BURST = """
import logging, os, sys

from route_guide.generated.runtime import serving

serving.configure_logging("json")
if sys.argv[1:] == ["after a child"]:  # a forked child that ends as Python does, its exit handlers run
    child = os.fork()
    if child == 0:
        logging.getLogger("route_guide.access").info("the child's line")
        sys.exit(0)
    os.waitpid(child, 0)
for number in range(1000):
    logging.getLogger("route_guide.access").info("line %d", number)
# A burst of grpc's lines, written faster than a relay turns them into JSON: the pipe is full at exit.
os.write(2, b"".join(b"I1206 07:45:42.722329   24443 tcp_posix.cc:%d] a burst\\n" % n for n in range(10_000)))
os.write(2, b"{" * 100_000 + b"\\n")  # no JSON, however it starts: the relay must not choke on it
os.write(2, b"E1206 07:45:42.722329   24443 chttp2_transport.cc:1403] the last line\\n")
"""


@pytest.mark.parametrize("how", [(), ("after a child",)], ids=["alone", "after-a-forked-child"])
def test_with_json_logs_every_line_is_written_when_the_server_has_exited(
    plain_project: Path, tmp_path: Path, how: tuple[str, ...]
) -> None:
    """The relay outlives the server, yet the server's exit waits for it to write every line before
    (a container's first process takes the relay with it as it ends); a forked child's exit does not
    stand in for the server's."""
    log = tmp_path / "stderr"
    with log.open("wb") as stderr:
        ran = subprocess.run([sys.executable, "burst.py", *how], cwd=plain_project, stderr=stderr, check=False)
    assert ran.returncode == 0
    lines = [json.loads(line) for line in log.read_text().splitlines()]  # read as soon as it exited
    assert len(lines) == 11_002 + len(how) and lines[-1]["message"] == "the last line", (len(lines), lines[-3:])
    assert lines[-2]["logger"] == "stderr" and lines[-2]["message"] == "{" * 100_000


def test_a_server_with_stdout_closed_says_it_listens_to_nobody_and_goes_on(plain_project: Path) -> None:
    """`>&-`: Python's stdout is None, where print says nothing; `announce` must not fail there."""
    said = "from route_guide.generated.runtime import logs; logs.announce('listening', 'json'); print('on', file=__import__('sys').stderr)"
    ran = subprocess.run(
        ["sh", "-c", f'"{sys.executable}" -c "{said}" >&-'],
        cwd=plain_project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0 and ran.stderr == "on\n", ran.stderr
