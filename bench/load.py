"""What the generated server's interceptors and its OpenTelemetry tracing cost under load.

Drives a route_guide server (examples/route_guide's servicer, sync) over loopback
with concurrent clients, each on its own channel calling GetFeature (unary) and
ListFeatures (server streaming, a few features) in turn, for a fixed time. Each
side is its own server process:

- `none`: grpc's server with the services alone, none of scaffold's interceptors;
- `mapping`: the error mapping alone (`access_log=False`);
- `access log`: the access log and the error mapping, as `server.py` runs by
  default: its logging on stderr, which goes to a file as a deployment sends it
  somewhere (`LOAD_FILE_HANDLER=1`: a `logging.FileHandler` of the user's own instead);
- `otel off`: the same project made with `--otel`, the SDK disabled
  (`OTEL_SDK_DISABLED=true`: the API's no-op spans);
- `otel on`: that project with the SDK's tracer and meter providers, every span
  recorded and handed to an exporter that drops it;
- `sdk floor`: none of scaffold's code, grpc's server with one interceptor that
  does the least a traced server can: one SDK span per call (two attributes),
  current while the method runs, one duration point, and a size point per
  request streamed in, all inline. What the SDK itself costs a call, measured
  against `none`.

Rounds alternate the order, so a slow moment of the machine does not favour one
side. A second part runs the servers of each pair asked for at once (tracing off
and on; `none` and `sdk floor`) and times what issue 29 names: unary calls
(GetFeature) one at a time, a block of them to each server in turn, and client
streams of 1,000 messages (RecordRoute), one to each in turn. (`sdk floor` sends a
server stream's responses once they are all made: its ListFeatures in the
throughput rounds is not timed as `none`'s is.)

    python bench/load.py [--clients 8] [--seconds 5] [--rounds 2]

Prints calls per second, p50/p99 latency, the server's CPU time per call (all
its threads, median of rounds; Linux), and throughput as a ratio (median of
rounds): `access log` and `sdk floor` to `none` (target: at most 10% lost) and
`otel on` to `otel off`; then the median time of a unary call and of a stream
with tracing on to off (targets: at most 5% more each), and of each to the
`sdk floor` server to `none`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "route_guide"
SERVE = """
import logging, os, signal, sys, threading, time
side, log = sys.argv[1], sys.argv[2]
if os.environ.get("LOAD_FILE_HANDLER"):  # a logging configuration of the user's own: a FileHandler
    logging.basicConfig(level=logging.INFO, filename=log, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
if side in ("otel on", "sdk floor"):
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class Drop(SpanExporter):
        def export(self, spans):
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Drop()))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
import grpc
from concurrent import futures
from route_guide.generated.runtime import serving
from route_guide.server import add_services, create_server


class SdkFloor(grpc.ServerInterceptor):
    # One span per call, current while the method runs, one duration point, and a size point per request
    # streamed in (as the conventions ask): nothing else, all of it inline.

    def __init__(self):
        self.tracer = trace.get_tracer("floor")
        meter = metrics.get_meter("floor")
        self.duration = meter.create_histogram("rpc.server.duration", unit="ms")
        self.request_size = meter.create_histogram("rpc.server.request.size", unit="By")

    def intercept_service(self, continuation, details):
        handler = continuation(details)
        if handler is None:  # no such method: grpc answers UNIMPLEMENTED
            return None
        attributes = {"rpc.system": "grpc", "rpc.method": details.method}

        def sized(requests):
            for request in requests:
                self.request_size.record(request.ByteSize(), attributes)
                yield request

        def spanned(behavior):
            def run(request, context):
                started = time.perf_counter()
                with self.tracer.start_as_current_span(details.method, kind=trace.SpanKind.SERVER, attributes=attributes):
                    result = behavior(sized(request) if handler.request_streaming else request, context)
                    if handler.response_streaming:
                        result = iter(list(result))
                self.duration.record((time.perf_counter() - started) * 1000, attributes)
                return result
            return run

        if handler.request_streaming and handler.response_streaming:  # not called by this benchmark
            return handler
        if handler.request_streaming:
            factory, behavior = grpc.stream_unary_rpc_method_handler, handler.stream_unary
        elif handler.response_streaming:
            factory, behavior = grpc.unary_stream_rpc_method_handler, handler.unary_stream
        else:
            factory, behavior = grpc.unary_unary_rpc_method_handler, handler.unary_unary
        return factory(spanned(behavior), handler.request_deserializer, handler.response_serializer)


if side in ("none", "sdk floor"):
    chain = [SdkFloor()] if side == "sdk floor" else []
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=serving.MAX_WORKERS), interceptors=chain)
    add_services(server)
    port = server.add_insecure_port("127.0.0.1:0")
else:
    serving.configure_logging("text")  # as server.py's main() does: stderr, which goes to the log file
    settings = serving.Settings(host="127.0.0.1", port=0, access_log=side != "mapping")
    server, port = create_server("127.0.0.1:0", settings)
server.start()
print(port, flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
stop.wait()
server.stop(0)
"""

SIDES = ("none", "mapping", "access log", "otel off", "otel on", "sdk floor")


def traced_project(scratch: Path) -> Path:
    """route_guide made with `--otel`, with the example's servicer and database."""
    project = scratch / "traced"
    made = subprocess.run(
        [sys.executable, "-m", "scaffold", "new", str(REPO / "protos/route_guide.proto"), "-o", str(project), "--otel"],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        raise SystemExit(made.stderr)
    for name in ("servicer.py", "resources.py", "route_guide_db.json"):
        shutil.copy(EXAMPLE / "route_guide" / name, project / "route_guide" / name)
    return project


def serve(side: str, log: Path, traced: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "OTEL_SDK_DISABLED": "true" if side == "otel off" else "false"}
    with log.open("a") as stderr:  # what a deployment does with a server's stderr: a file, a collector's pipe
        process = subprocess.Popen(
            [sys.executable, "-c", SERVE, side, str(log)],
            cwd=traced if side.startswith("otel") else EXAMPLE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )
    assert process.stdout is not None
    target = f"127.0.0.1:{process.stdout.readline().strip()}"
    with grpc.insecure_channel(target) as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
    return process, target


def cpu_seconds(pid: int) -> float | None:
    """The CPU time (user and system) process `pid` has used, every thread of it; None off Linux.

    Steadier than calls per second on a loaded 2-core machine: what a side costs the server per call
    shows with a spread of about 30 us where its throughput moves by 8% from one round to the next."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive(target: str, clients: int, seconds: float) -> tuple[int, list[float]]:
    """Calls made and their latencies, from `clients` threads on their own channels for `seconds`."""
    from route_guide.generated import route_guide_pb2, route_guide_pb2_grpc

    point = route_guide_pb2.Point(latitude=409146138, longitude=-746188906)
    rectangle = route_guide_pb2.Rectangle(  # a few features around `point`
        lo=route_guide_pb2.Point(latitude=408000000, longitude=-747000000),
        hi=route_guide_pb2.Point(latitude=410000000, longitude=-745000000),
    )
    latencies: list[list[float]] = [[] for _ in range(clients)]
    deadline = time.perf_counter() + seconds

    def client(index: int) -> None:
        with grpc.insecure_channel(target) as channel:
            stub = route_guide_pb2_grpc.RouteGuideStub(channel)
            mine = latencies[index]
            while (started := time.perf_counter()) < deadline:
                if len(mine) % 2:
                    for _ in stub.ListFeatures(rectangle, timeout=10):
                        pass
                else:
                    stub.GetFeature(point, timeout=10)
                mine.append(time.perf_counter() - started)

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [latency for mine in latencies for latency in mine]
    return len(every), every


def streams(targets: dict[str, str], count: int) -> dict[str, float]:
    """The median time of a client stream of 1,000 points (RecordRoute) to each server of `targets` (side ->
    address), `count` of them each, one to each side in turn (the order alternating): a stream's time is
    bimodal on this machine (about 45 or 120 ms untraced, by how grpc's flow control and threads meet), and
    streams of one side in a block could all fall in one mode."""
    from route_guide.generated import route_guide_pb2, route_guide_pb2_grpc

    points = [route_guide_pb2.Point(latitude=409146138 + i, longitude=-746188906) for i in range(1000)]
    channels = {side: grpc.insecure_channel(target) for side, target in targets.items()}
    stubs = {side: route_guide_pb2_grpc.RouteGuideStub(channel) for side, channel in channels.items()}
    times: dict[str, list[float]] = {side: [] for side in targets}
    try:
        for stub in stubs.values():
            stub.RecordRoute(iter(points), timeout=30)  # warm-up
        for index in range(count):
            for side in list(stubs)[:: 1 if index % 2 == 0 else -1]:
                started = time.perf_counter()
                stubs[side].RecordRoute(iter(points), timeout=30)
                times[side].append(time.perf_counter() - started)
    finally:
        for channel in channels.values():
            channel.close()
    return {side: statistics.median(taken) for side, taken in times.items()}


def unary(targets: dict[str, str], blocks: int) -> dict[str, float]:
    """The median time of a unary call (GetFeature) made one at a time to each server of `targets` (side ->
    address): `blocks` blocks of 100 calls each, one block to each side in turn (the order alternating)."""
    from route_guide.generated import route_guide_pb2, route_guide_pb2_grpc

    point = route_guide_pb2.Point(latitude=409146138, longitude=-746188906)
    channels = {side: grpc.insecure_channel(target) for side, target in targets.items()}
    stubs = {side: route_guide_pb2_grpc.RouteGuideStub(channel) for side, channel in channels.items()}
    times: dict[str, list[float]] = {side: [] for side in targets}
    try:
        for stub in stubs.values():
            for _ in range(300):  # warm-up
                stub.GetFeature(point, timeout=10)
        for index in range(blocks):
            for side in list(stubs)[:: 1 if index % 2 == 0 else -1]:
                call, taken = stubs[side].GetFeature, times[side]
                for _ in range(100):
                    started = time.perf_counter()
                    call(point, timeout=10)
                    taken.append(time.perf_counter() - started)
    finally:
        for channel in channels.values():
            channel.close()
    return {side: statistics.median(taken) for side, taken in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--streams", type=int, default=60, help="client streams of 1,000 messages per side")
    parser.add_argument(
        "--unary-blocks", type=int, default=40, help="blocks of 100 unary calls per side, one at a time"
    )
    parser.add_argument("--sides", default=",".join(SIDES), help="the sides to run, comma-separated")
    args = parser.parse_args()
    sides = [side for side in SIDES if side in args.sides.split(",")]
    sys.path.insert(0, str(EXAMPLE))
    latencies: dict[str, list[float]] = {side: [] for side in SIDES}
    calls = dict.fromkeys(SIDES, 0)
    ratios: dict[str, list[float]] = {side: [] for side in SIDES}
    cpu: dict[str, list[float]] = {side: [] for side in SIDES}
    streamed: dict[str, float] = {}
    single: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        traced = traced_project(Path(scratch)) if any(side.startswith("otel") for side in sides) else Path(scratch)
        log = Path(scratch) / "access.log"
        for round_number in range(args.rounds):
            order = sides if round_number % 2 == 0 else sides[::-1]
            rate = {}
            for side in order:
                process, target = serve(side, log, traced)
                try:
                    drive(target, args.clients, 0.5)  # warm-up: connections, code paths
                    before = cpu_seconds(process.pid)
                    made, measured = drive(target, args.clients, args.seconds)
                    after = cpu_seconds(process.pid)
                    if before is not None and after is not None and made:
                        cpu[side].append((after - before) / made)
                finally:
                    process.terminate()
                    process.wait(timeout=30)
                calls[side] += made
                latencies[side] += measured
                rate[side] = made / args.seconds
            for side in sides:
                against = "otel off" if side == "otel on" else "none"
                if against in rate:
                    ratios[side].append(rate[side] / rate[against])
        pairs = [pair for pair in (("otel off", "otel on"), ("none", "sdk floor")) if set(pair) <= set(sides)]
        if pairs:  # every pair's servers up at once, the calls interleaved
            servers: dict[str, tuple[subprocess.Popen[str], str]] = {}
            try:
                for side in (side for pair in pairs for side in pair):
                    servers[side] = serve(side, log, traced)  # each one stopped below, even if the next fails
                targets = {side: target for side, (_, target) in servers.items()}
                single = unary(targets, args.unary_blocks)
                streamed = streams(targets, args.streams)
            finally:
                for process, _ in servers.values():
                    process.terminate()
                    process.wait(timeout=30)
        logged = sum(1 for _ in log.open()) if log.exists() else 0
    print(
        f"route_guide (sync), {args.clients} clients, {args.rounds} rounds of {args.seconds:.0f} s per side, loopback"
    )
    for side in sides:
        cuts = statistics.quantiles(latencies[side], n=100)
        rate = calls[side] / (args.rounds * args.seconds)
        against = "otel off" if side == "otel on" else "none"
        print(
            f"{side:<10}: {rate:6.0f} calls/s  p50 {cuts[49] * 1000:6.2f} ms  p99 {cuts[98] * 1000:6.2f} ms"
            + (f"  server CPU {statistics.median(cpu[side]) * 1e6:4.0f} us/call" if cpu[side] else "")
            + (f"  throughput {statistics.median(ratios[side]):.2f}x of {against}" if ratios[side] else "")
        )
    if "otel on" in single:
        off, on = single["otel off"], single["otel on"]
        print(f"unary call, one at a time: {off * 1e6:.0f} us untraced, {on * 1e6:.0f} us traced ({on / off:.2f}x)")
    if "sdk floor" in single:
        bare, floor = single["none"], single["sdk floor"]
        print(
            f"unary call, one at a time: {bare * 1e6:.0f} us with no interceptor, {floor * 1e6:.0f} us with one"
            f" SDK span and histogram point ({floor / bare:.2f}x, the SDK's floor)"
        )
    if "otel on" in streamed:
        off, on = streamed["otel off"], streamed["otel on"]
        print(
            f"client stream of 1,000 messages: {off * 1000:.1f} ms untraced, {on * 1000:.1f} ms traced ({on / off:.2f}x)"
        )
    if "sdk floor" in streamed:
        bare, floor = streamed["none"], streamed["sdk floor"]
        print(
            f"client stream of 1,000 messages: {bare * 1000:.1f} ms with no interceptor, {floor * 1000:.1f} ms with"
            f" a span and a size point per message ({floor / bare:.2f}x, the SDK's floor)"
        )
    print(f"targets: access log >= 0.90x of none; unary call traced <= 1.05x, stream <= 1.05x; lines logged {logged}")


if __name__ == "__main__":
    main()
