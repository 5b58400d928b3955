"""The observers of a call (access log, metrics, span) hear of it once its answer has gone out.

A generated project's server runs with an access-log handler that stalls, as a sink
does when its pipe is full or its collector slow, until the client has had its
answer: the call must come back OK while the line is still being written, which
it could not if the line were written before the answer left (issue 29's latency).
The sync server's test helper (`testing.served_channel`) returns only once the
line is written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_python
from test_production import FLAVOURS, make_project

HELD = """
import asyncio, json, logging, sys, threading

import grpc

from route_guide.generated import route_guide_pb2 as pb
from route_guide.generated import route_guide_pb2_grpc
from route_guide.generated.runtime import testing
from route_guide.server import create_server

AIO = sys.argv[1] == "aio"
entered, release, logged = threading.Event(), threading.Event(), []


class Stalled(logging.Handler):
    def emit(self, record):
        entered.set()
        release.wait(30)
        logged.append(record.getMessage())


access = logging.getLogger("route_guide.access")
access.addHandler(Stalled())
access.setLevel(logging.INFO)
access.propagate = False


def client(channel, outcome):
    stub = route_guide_pb2_grpc.RouteGuideStub(channel)
    try:
        stub.GetFeature(pb.Point(latitude=0), timeout=5)
        outcome.append("answered")
        # The line's handler has begun, and cannot end before `release`.
        outcome.append("while the line waits" if entered.wait(10) and not logged else "line not begun")
    except grpc.RpcError as error:
        outcome.append(error.code().name)
    finally:
        release.set()


def report(outcome):
    print(json.dumps({"outcome": outcome, "logged": logged}))


def run_sync():
    outcome = []
    with testing.served_channel(create_server) as channel:  # on leaving: every line written
        caller = threading.Thread(target=client, args=(channel, outcome))
        caller.start()
        caller.join()
    report(outcome)


def call_in_a_thread(port, outcome):
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        client(channel, outcome)


async def run_aio():
    server, port = create_server("127.0.0.1:0")
    await server.start()
    outcome = []
    await asyncio.to_thread(call_in_a_thread, port, outcome)
    await server.stop(None)
    report(outcome)


asyncio.run(run_aio()) if AIO else run_sync()
"""


LEFT = """
import asyncio, json, logging, sys, threading, time

import grpc

from route_guide.generated import route_guide_pb2 as pb
from route_guide.generated import route_guide_pb2_grpc
from route_guide.generated.runtime import serving

AIO = sys.argv[1] == "aio"
lines = []


class Kept(logging.Handler):
    def emit(self, record):
        lines.append(record.getMessage())


access = logging.getLogger("route_guide.access")
access.addHandler(Kept())
access.setLevel(logging.INFO)
access.propagate = False
BIG = "x" * 100_000  # flow control stops the stream at a `yield` once the client stops reading


class Features(route_guide_pb2_grpc.RouteGuideServicer):
    if AIO:
        async def ListFeatures(self, request, context):
            for _ in range(1000):
                yield pb.Feature(name=BIG)
    else:
        def ListFeatures(self, request, context):
            for _ in range(1000):
                yield pb.Feature(name=BIG)


def add(server):
    route_guide_pb2_grpc.add_RouteGuideServicer_to_server(Features(), server)


def leave(port):
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stream = route_guide_pb2_grpc.RouteGuideStub(channel).ListFeatures(pb.Rectangle(), timeout=30)
        next(stream)
        stream.cancel()


def settled():
    deadline = time.monotonic() + 10
    while not lines and time.monotonic() < deadline:
        time.sleep(0.01)


async def run_aio():
    server, port = serving.create_server("127.0.0.1:0", add)
    await server.start()
    await asyncio.to_thread(leave, port)
    for _ in range(1000):  # the event loop's turn: asyncio closes the stream left behind
        if lines:
            break
        await asyncio.sleep(0.01)
    await server.stop(None)


def run_sync():
    server, port = serving.create_server("127.0.0.1:0", add)
    server.start()
    leave(port)
    settled()
    server.stop(None)


asyncio.run(run_aio()) if AIO else run_sync()
print(json.dumps(lines))
"""


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    directory = tmp_path_factory.mktemp("observers")
    made = {aio: make_project(directory, aio, "--otel", "--metrics") for aio in (False, True)}
    for project in made.values():
        (project / "held.py").write_text(HELD)
        (project / "left.py").write_text(LEFT)
    return made


@FLAVOURS
def test_the_answer_goes_out_before_the_access_line_is_written(projects: dict[bool, Path], aio: bool) -> None:
    result = run_python("held.py", "aio" if aio else "sync", cwd=projects[aio], timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout)
    assert seen["outcome"] == ["answered", "while the line waits"], seen
    # Written in full once let go, and once.
    (line,) = seen["logged"]
    assert line.startswith("/routeguide.RouteGuide/GetFeature OK "), line


@FLAVOURS
def test_a_stream_the_client_leaves_at_a_yield_is_logged_once_as_cancelled(
    projects: dict[bool, Path], aio: bool
) -> None:
    """grpc.aio runs a call's done callbacks as the call's task ends; a stream left at a `yield` is
    closed after that, by asyncio: its line is written then, not waited for."""
    result = run_python("left.py", "aio" if aio else "sync", cwd=projects[aio], timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = json.loads(result.stdout)
    assert line.startswith("/routeguide.RouteGuide/ListFeatures CANCELLED "), line
