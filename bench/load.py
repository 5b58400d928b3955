"""What the generated server's interceptors (access log, error mapping) cost under load.

Drives the route_guide example (examples/route_guide, sync) over loopback with
concurrent clients, each on its own channel calling GetFeature (unary) and
ListFeatures (server streaming, a few features) in turn, for a fixed time.
The same server code runs three times per round, in separate processes: with
no interceptors, with the error mapping alone (`--no-access-log`), and with
both that `server.py` installs by default (the access log written to a file,
as a real deployment writes it somewhere). Rounds alternate the order, so a
slow moment of the machine does not favour one side.

    python bench/load.py [--clients 8] [--seconds 5] [--rounds 2]

Prints calls per second and p50/p99 latency of each side, and its throughput
as a ratio to no interceptors; the target is at most 10% lost.
"""

from __future__ import annotations

import argparse
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
import logging, signal, sys, threading
from route_guide.interceptors import server_interceptors
from route_guide.server import LOG_FORMATS, Settings, configure_logging, create_server
logging.basicConfig(level=logging.INFO, filename=sys.argv[2], format=LOG_FORMATS["text"])
configure_logging("text")
settings = Settings(host="127.0.0.1", port=0)
side = sys.argv[1]
interceptors = {"none": [], "mapping": server_interceptors(access_log=False), "all": None}[side]
server, port = create_server("127.0.0.1:0", settings, interceptors=interceptors)
server.start()
print(port, flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
stop.wait()
server.stop(0)
"""


SIDES = {
    "none": "no interceptors     ",
    "mapping": "error mapping only  ",
    "all": "access log + mapping",
}


def serve(side: str, log: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, side, str(log)],
        cwd=EXAMPLE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    target = f"127.0.0.1:{process.stdout.readline().strip()}"
    with grpc.insecure_channel(target) as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
    return process, target


def drive(target: str, clients: int, seconds: float) -> tuple[int, list[float]]:
    """Calls made and their latencies, from `clients` threads on their own channels for `seconds`."""
    sys.path.insert(0, str(EXAMPLE))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    latencies: dict[str, list[float]] = {side: [] for side in SIDES}
    calls = dict.fromkeys(SIDES, 0)
    ratios: dict[str, list[float]] = {side: [] for side in SIDES}
    with tempfile.TemporaryDirectory() as scratch:
        for round_number in range(args.rounds):
            order = list(SIDES) if round_number % 2 == 0 else list(reversed(SIDES))
            rate = {}
            for side in order:
                process, target = serve(side, Path(scratch) / "access.log")
                try:
                    drive(target, args.clients, 0.5)  # warm-up: connections, code paths
                    made, measured = drive(target, args.clients, args.seconds)
                finally:
                    process.terminate()
                    process.wait(timeout=30)
                calls[side] += made
                latencies[side] += measured
                rate[side] = made / args.seconds
            for side in SIDES:
                ratios[side].append(rate[side] / rate["none"])
        with open(Path(scratch) / "access.log") as log:
            logged = sum(1 for _ in log)
    print(
        f"route_guide (sync), {args.clients} clients, {args.rounds} rounds of {args.seconds:.0f} s per side, loopback"
    )
    for side, label in SIDES.items():
        cuts = statistics.quantiles(latencies[side], n=100)
        rate = calls[side] / (args.rounds * args.seconds)
        ratio = statistics.median(ratios[side])
        print(
            f"{label}: {rate:6.0f} calls/s  p50 {cuts[49] * 1000:6.2f} ms  p99 {cuts[98] * 1000:6.2f} ms"
            f"  throughput {ratio:.2f}x of none (median of rounds)"
        )
    print(f"target: >= 0.90x; access log lines written: {logged}")


if __name__ == "__main__":
    main()
