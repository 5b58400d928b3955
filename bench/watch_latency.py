"""Save-to-written latency of `scaffold watch`.

For route_guide and a 100-proto tree: start the real watcher (in a thread,
as `scaffold watch` runs it), save one proto at a time with a changed
comment, and time from the save to the watcher's report that the regenerated
files are written. Prints median and p95 over the saves, what part of it the
generation itself took, and plain `python -m grpc_tools.protoc` on the same
tree, timed in the same run, as the yardstick.

    python bench/watch_latency.py [--saves 30]
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

from trees import route_guide, synthetic

from scaffold.api import new_project
from scaffold.generation.protoc import WELL_KNOWN_INCLUDE
from scaffold.live.watch import STEP_MS, Watcher, WatchEvent


def plain_protoc_seconds(protos: list[Path], root: Path, runs: int = 5) -> float:
    out = Path(tempfile.mkdtemp())
    command = [sys.executable, "-m", "grpc_tools.protoc", f"-I{root}", f"-I{WELL_KNOWN_INCLUDE}"]
    command += [f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}", *map(str, protos)]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def measure(name: str, make, saves: int) -> None:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp, "src")
        protos = make(source)
        project = Path(tmp, "project")
        new_project(protos, output=project, include_dirs=[source])
        events: list[tuple[float, WatchEvent]] = []
        arrived = threading.Condition()

        def record(event: WatchEvent) -> None:
            with arrived:
                events.append((time.perf_counter(), event))
                arrived.notify_all()

        stop = threading.Event()
        thread = threading.Thread(target=Watcher(project, record, stop).run, daemon=True)
        thread.start()
        with arrived:
            arrived.wait_for(lambda: events, timeout=60)
        target = project / "protos" / protos[len(protos) // 2].relative_to(source)
        original = target.read_text()
        latencies, generation = [], []
        for save in range(saves):
            seen = len(events)
            target.write_text(original.replace("// ", f"// save {save}: ", 1))
            saved = time.perf_counter()
            with arrived:
                if not arrived.wait_for(lambda seen=seen: len(events) > seen, timeout=60):
                    raise SystemExit(f"{name}: no regeneration for save {save}")
            when, event = events[-1]
            assert event.kind == "generated", event
            latencies.append(when - saved)
            generation.append(event.seconds)
        stop.set()
        thread.join(10)
        protoc = plain_protoc_seconds(protos, source)

    ms = 1000
    beyond = [lat - STEP_MS / ms for lat in latencies]
    print(f"{name} ({len(protos)} protos, {saves} saves)")
    print(
        f"  save -> written      median {statistics.median(latencies) * ms:6.1f} ms   p95 {p95(latencies) * ms:6.1f} ms"
    )
    print(
        f"  beyond the {STEP_MS} ms debounce median {statistics.median(beyond) * ms:6.1f} ms   p95 {p95(beyond) * ms:6.1f} ms"
    )
    print(
        f"  generation itself    median {statistics.median(generation) * ms:6.1f} ms   p95 {p95(generation) * ms:6.1f} ms"
    )
    print(f"  plain protoc (subprocess, same tree) median {protoc * ms:6.1f} ms")
    print(f"  ratio save->written / plain protoc: {statistics.median(latencies) / protoc:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=30)
    args = parser.parse_args()
    measure("route_guide", route_guide, args.saves)
    measure("synthetic tree", synthetic, args.saves)


if __name__ == "__main__":
    main()
