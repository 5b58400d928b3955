"""What serving the web (`web = true`) costs next to gRPC, on one server, over loopback.

A route_guide project made with `scaffold new --web` (examples/route_guide's servicer, sync; the proto of
examples/route_guide_web)
serves gRPC and HTTP from one process. Client processes (a process each, so that no
client waits on another's GIL) call for a fixed time, side by side:

- `grpcio`: GetFeature through grpcio's stub;
- `connect json` / `connect binary`: GetFeature as Connect unary POSTs
  (`application/json` / `application/proto`) on a kept-alive HTTP/1.1 connection;
- `grpc-web`: GetFeature as a gRPC-Web binary POST;
- `rest`: GetFeature through its REST route (`GET /v1/features/{latitude}/{longitude}`,
  protos/web/route_guide.proto's `google.api.http` rule), answered in JSON.

Then ListFeatures answering 100 features, timed end to end: grpcio against a Connect
stream (`application/connect+proto`), and the server's resident memory after the load,
with the web port on and with `--no-http`.

    python bench/web.py [--clients 8] [--seconds 5] [--streams 200]

Prints calls/s with p50/p99 latency per side, the ratios the issue sets targets for
(Connect binary to grpcio: at least 0.6; REST to Connect JSON: at least 0.85; the stream:
at most 2x grpcio's time; memory: at most 1.3x), and the machine. Each client sets TCP_NODELAY,
as browsers and gRPC do: http.client writes a request's head and body apart.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "route_guide"
LISTENING = re.compile(r"Server listening on \S+:(\d+)")
WEB = re.compile(r"listening on http://\S+:(\d+)")
CLIENT = r"""
import http.client, json, socket, sys, time
side, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
from route_guide.generated import route_guide_pb2 as pb
point = pb.Point(latitude=409146138, longitude=-746188906)
if side == "grpcio":
    import grpc
    from route_guide.generated import route_guide_pb2_grpc
    stub = route_guide_pb2_grpc.RouteGuideStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
    call = lambda: stub.GetFeature(point)
else:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.connect()  # http.client writes headers and body apart: without NODELAY, each call waits 40 ms
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    kinds = {
        "connect json": ("application/json", json.dumps({"latitude": 409146138, "longitude": -746188906}).encode()),
        "connect binary": ("application/proto", point.SerializeToString()),
        "grpc-web": ("application/grpc-web+proto", b"\0" + len(point.SerializeToString()).to_bytes(4, "big") + point.SerializeToString()),
        "rest": ("application/json", None),
    }
    kind, body = kinds[side]
    headers = {"content-type": kind}
    verb, path = ("GET", "/v1/features/409146138/-746188906") if side == "rest" else ("POST", "/routeguide.RouteGuide/GetFeature")
    def call():
        connection.request(verb, path, body, headers)
        answer = connection.getresponse()
        data = answer.read()
        assert answer.status == 200 and data, (answer.status, data)
call()
latencies = []
end = time.perf_counter() + seconds
while (start := time.perf_counter()) < end:
    call()
    latencies.append(time.perf_counter() - start)
print(json.dumps(latencies))
"""
STREAM = r"""
import http.client, json, socket, sys, time
side, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
from route_guide.generated import route_guide_pb2 as pb
everything = pb.Rectangle(lo=pb.Point(latitude=-900000000, longitude=-1800000000),
                          hi=pb.Point(latitude=900000000, longitude=1800000000))
if side == "grpcio":
    import grpc
    from route_guide.generated import route_guide_pb2_grpc
    stub = route_guide_pb2_grpc.RouteGuideStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
    def call():
        assert len(list(stub.ListFeatures(everything))) == 100
else:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.connect()
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    payload = everything.SerializeToString()
    body = b"\0" + len(payload).to_bytes(4, "big") + payload
    headers = {"content-type": "application/connect+proto"}
    def call():
        connection.request("POST", "/routeguide.RouteGuide/ListFeatures", body, headers)
        data = connection.getresponse().read()
        frames, offset = 0, 0
        while offset < len(data):
            frames += 1
            offset += 5 + int.from_bytes(data[offset + 1 : offset + 5], "big")
        assert frames == 101, frames  # 100 features and the end of the stream
call()
start = time.perf_counter()
for _ in range(count):
    call()
print(json.dumps((time.perf_counter() - start) / count))
"""


def make_project(scratch: Path) -> Path:
    project = scratch / "route_guide_web"
    proto = REPO / "protos/web/route_guide.proto"  # with REST routes for GetFeature and ListFeatures
    made = subprocess.run(
        [sys.executable, "-m", "scaffold", "new", str(proto), "-o", str(project), "--web"],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        sys.exit(made.stderr)
    for name in ("servicer.py", "resources.py", "route_guide_db.json"):
        shutil.copyfile(EXAMPLE / "route_guide" / name, project / "route_guide" / name)
    return project


def serve(project: Path, web: bool) -> tuple[subprocess.Popen[str], int, int | None]:
    flags = ["--http-port", "0"] if web else ["--no-http"]
    command = [
        sys.executable,
        "-u",
        "-m",
        "route_guide.server",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--no-access-log",
    ]
    process = subprocess.Popen(
        [*command, *flags], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    grpc_port = web_port = None
    for line in process.stdout:
        if found := LISTENING.search(line):
            grpc_port = int(found.group(1))
        if found := WEB.search(line):
            web_port = int(found.group(1))
        if grpc_port is not None and (web_port is not None or not web):
            return process, grpc_port, web_port
    sys.exit(f"the server did not start ({' '.join(command)})")


def drive(project: Path, side: str, port: int, clients: int, seconds: float) -> list[float]:
    """Every call's latency, from `clients` processes calling for `seconds`."""
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", CLIENT, side, str(port), str(seconds)],
            cwd=project,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(clients)
    ]
    latencies: list[float] = []
    for worker in workers:
        out, _ = worker.communicate()
        latencies += json.loads(out)
    return latencies


def stream_seconds(project: Path, side: str, port: int, count: int) -> float:
    done = subprocess.run(
        [sys.executable, "-c", STREAM, side, str(port), str(count)],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds: float = json.loads(done.stdout)
    return seconds


def resident_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--streams", type=int, default=200)
    options = parser.parse_args()
    print(f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}")
    with tempfile.TemporaryDirectory() as scratch:
        project = make_project(Path(scratch))
        process, grpc_port, web_port = serve(project, web=True)
        assert web_port is not None
        rates = {}
        try:
            for side in ("grpcio", "connect json", "connect binary", "grpc-web", "rest"):
                port = grpc_port if side == "grpcio" else web_port
                latencies = sorted(drive(project, side, port, options.clients, options.seconds))
                rates[side] = len(latencies) / options.seconds
                p50 = statistics.median(latencies) * 1000
                p99 = latencies[int(len(latencies) * 0.99)] * 1000
                print(f"{side:>15}: {rates[side]:8.0f} calls/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")
            grpc_stream = stream_seconds(project, "grpcio", grpc_port, options.streams)
            web_stream = stream_seconds(project, "connect", web_port, options.streams)
            with_web = resident_kib(process.pid)
        finally:
            process.terminate()
            process.wait()
        process, grpc_port, _ = serve(project, web=False)
        try:
            drive(project, "grpcio", grpc_port, options.clients, options.seconds)
            stream_seconds(project, "grpcio", grpc_port, options.streams)
            without_web = resident_kib(process.pid)
        finally:
            process.terminate()
            process.wait()
    print(f"ListFeatures, 100 features: grpcio {grpc_stream * 1000:.2f} ms, Connect stream {web_stream * 1000:.2f} ms")
    print(f"Connect binary / grpcio calls/s: {rates['connect binary'] / rates['grpcio']:.2f}x (target: at least 0.60x)")
    print(f"Connect JSON / grpcio calls/s: {rates['connect json'] / rates['grpcio']:.2f}x")
    print(f"REST / Connect JSON calls/s: {rates['rest'] / rates['connect json']:.2f}x (target: at least 0.85x)")
    print(f"stream time, Connect / grpcio: {web_stream / grpc_stream:.2f}x (target: at most 2x)")
    print(
        f"server memory, web on / off: {with_web / 1024:.0f} / {without_web / 1024:.0f} MiB = {with_web / without_web:.2f}x (target: at most 1.3x)"
    )


if __name__ == "__main__":
    main()
