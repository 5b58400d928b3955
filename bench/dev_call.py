"""What `scaffold dev` and `scaffold call` cost, against their yardsticks in the same run.

- dev: a save of servicer.py (a new answer) to the first call that gets the
  new answer, over N saves on route_guide; yardstick: a bare server process
  start (`python -m route_guide.server --port 0` until it accepts a call).
- call: a unary call as a whole process (`scaffold call GetFeature`); yardstick:
  a plain Python script that makes the same call with the generated stub.

    python bench/dev_call.py [--saves 20] [--calls 10]

Every process runs with bytecode caching on (a scratch PYTHONPYCACHEPREFIX,
after a warm-up), as for an installed tool: this machine sets
PYTHONDONTWRITEBYTECODE, which would charge each run for compiling.
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
ENVIRONMENT = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
POINT = '{"latitude": 409146138, "longitude": -746188906}'
PLAIN_CALL = """
import grpc
from route_guide.generated import route_guide_pb2, route_guide_pb2_grpc
with grpc.insecure_channel("{target}") as channel:
    stub = route_guide_pb2_grpc.RouteGuideStub(channel)
    print(stub.GetFeature(route_guide_pb2.Point(latitude=409146138, longitude=-746188906)))
"""


def ready(target: str, timeout: float = 30.0) -> None:
    with grpc.insecure_channel(target) as channel:
        grpc.channel_ready_future(channel).result(timeout=timeout)


def start_server(project: Path) -> tuple[subprocess.Popen[str], str]:
    """route_guide's server on a free port, once it accepts calls; and its target."""
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "route_guide.server", "--host", "127.0.0.1", "--port", "0"],
        cwd=project,
        stdout=subprocess.PIPE,
        text=True,
        env=ENVIRONMENT,
    )
    assert process.stdout is not None
    target = f"127.0.0.1:{process.stdout.readline().strip().rpartition(':')[2]}"
    ready(target)
    return process, target


def stop_server(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait()
    if process.stdout is not None:
        process.stdout.close()


def server_start(project: Path) -> float:
    started = time.perf_counter()
    process, _ = start_server(project)
    elapsed = time.perf_counter() - started
    stop_server(process)
    return elapsed


def answer(project: Path, target: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "scaffold", "call", "-C", str(project), "--target", target, "GetFeature", "-d", POINT],
        timeout=30,
        capture_output=True,
        text=True,
        check=False,
        env=ENVIRONMENT,
    )
    return result.stdout


def dev_saves(project: Path, saves: int) -> list[float]:
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "scaffold", "dev", "-C", str(project), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENVIRONMENT,
    )
    assert process.stdout is not None
    port = ""
    for line in process.stdout:
        if "startup: serving on" in line:
            port = line.split("serving on ")[1].split()[0].rpartition(":")[2]
            break
    threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
    target = f"127.0.0.1:{port}"
    servicer = project / "route_guide/servicer.py"
    original = servicer.read_text()
    marker = "        found = feature_at(self.features, request)\n"
    assert marker in original, "the example's GetFeature changed: update the benchmark"
    times = []
    for n in range(saves):
        text = original.replace(
            marker, f'        return route_guide_pb2.Feature(name="save {n}", location=request)\n' + marker
        )
        started = time.perf_counter()
        servicer.write_text(text)
        deadline = started + 30
        while f"save {n}" not in answer(project, target):
            if time.perf_counter() > deadline:
                raise SystemExit(f"save {n}: the new answer never came (dev exited: {process.poll()})")
            time.sleep(0.01)
        times.append(time.perf_counter() - started)
    process.terminate()
    process.wait()
    return times


def whole_process(command: list[str], cwd: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, capture_output=True, check=True, env=ENVIRONMENT)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--calls", type=int, default=10)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="scaffold-bench-"))
    ENVIRONMENT["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    project = scratch / "route_guide"
    shutil.copytree(REPO / "examples/route_guide", project)

    server_start(project)  # warm-up: bytecode written
    bare = statistics.median(server_start(project) for _ in range(5))
    saves = dev_saves(project, args.saves)
    median, p95 = statistics.median(saves), sorted(saves)[int(0.95 * (len(saves) - 1))]
    print(f"machine: {len(__import__('os').sched_getaffinity(0))} cores, Python {sys.version.split()[0]}")
    print(f"bare server start (until it accepts a call): {bare * 1000:.0f} ms median")
    print(f"dev, save to new answer over {len(saves)} saves: median {median * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
    print(
        f"  ratio to a bare server start: {median / bare:.2f}x (target < 2x: {'met' if median < 2 * bare else 'MISSED'})"
    )
    print(f"  target median < 1 s: {'met' if median < 1 else 'MISSED'}")

    process, target = start_server(project)
    plain_command = [sys.executable, "-c", PLAIN_CALL.format(target=target)]
    our_command = [sys.executable, "-m", "scaffold", "call", "--target", target, "GetFeature", "-d", POINT]
    whole_process(plain_command, project, 1), whole_process(our_command, project, 1)  # warm-up: bytecode written
    plain = whole_process(plain_command, project, args.calls)
    ours = whole_process(our_command, project, args.calls)
    process.terminate()
    process.wait()
    process.stdout.close()
    print(
        f"call GetFeature as a process: {ours * 1000:.0f} ms; plain script with the generated stub: {plain * 1000:.0f} ms"
    )
    print(f"  ratio: {ours / plain:.2f}x (target <= 1.2x: {'met' if ours <= 1.2 * plain else 'MISSED'})")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
