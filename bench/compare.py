"""scaffold against plain protoc, whole processes, side by side.

For route_guide, a synthetic tree of 100 protos (400 RPCs of all four shapes,
cross-file imports), Temporal's API as temporalio ships it (72 protos) and a
large real tree (the protos googleapis-common-protos ships): full generation
(`scaffold new`), a no-op `scaffold gen` (answered
from the stamp, and by content when the stamp is gone), a `gen` after one
proto changed (with how many protos protoc compiled), and the peak memory;
plus `scaffold --help`, and the interpreter's own start-up as the floor any
Python command stands on. Every figure is compared with plain
`python -m grpc_tools.protoc` writing the same three outputs, timed in the
same run. Missed targets are printed.

Processes run with bytecode caching on (in a scratch PYTHONPYCACHEPREFIX,
after one warm-up run), as an installed tool runs: an environment that sets
PYTHONDONTWRITEBYTECODE would otherwise charge every run for compiling
scaffold's own modules.

    pip install -e '.[bench]' && python bench/compare.py [--runs 5]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from trees import route_guide, synthetic, temporalio

from scaffold.generation.protoc import WELL_KNOWN_INCLUDE

SCAFFOLD = [sys.executable, "-m", "scaffold"]
ENVIRONMENT = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


@dataclass
class Timing:
    seconds: list[float]
    peak_mib: float = 0.0

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def timed(command: Sequence[str], cwd: Path | None = None) -> tuple[float, float, float]:
    """Wall time, peak resident memory (MiB) and CPU time (user and system, seconds) of one process with
    the processes it starts (scaffold's protoc children and compile workers). The peak is the larger of
    the process's own and the highest sum of the tree's proportional resident sizes, sampled with at most
    a twentieth of one core (the kernel's own figure is the largest single process); the CPU time is the
    kernel's, which counts every descendant the process waited for."""
    # stderr to a file, not a pipe: nothing reads a pipe until the process ends, and a process
    # that says more than a pipe holds (64 KiB; `new` on googleapis does) would block for ever.
    with tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(list(command), cwd=cwd, env=ENVIRONMENT, stdout=subprocess.DEVNULL, stderr=stderr)
        sampled = [0]
        done = threading.Event()

        def sample() -> None:
            pause = 0.02
            while not done.wait(pause):
                begun = time.perf_counter()
                sampled[0] = max(sampled[0], _tree_resident(process.pid))
                pause = max(0.02, 20 * (time.perf_counter() - begun))  # reading a large process's pages takes
                # milliseconds of a core the measured processes need: at most a twentieth of one

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        if os.waitstatus_to_exitcode(status) != 0:
            stderr.seek(0)
            raise SystemExit(f"failed: {' '.join(command)}\n{stderr.read().decode(errors='replace')}")
    return elapsed, max(usage.ru_maxrss * 1024, sampled[0]) / 2**20, usage.ru_utime + usage.ru_stime


def _tree_resident(pid: int) -> int:
    """The proportional resident bytes (PSS) of `pid` and its descendants now (0 once it is gone): forked
    compile workers share their parent's pages, which a sum of resident sizes would count once per worker."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup", encoding="ascii") as rollup:
                total += next(int(line.split()[1]) * 1024 for line in rollup if line.startswith("Pss:"))
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as children:
                    pending += map(int, children.read().split())
        except (OSError, ValueError, IndexError, StopIteration):
            continue  # it ended meanwhile
    return total


def repeat(runs: int, before: Callable[[int], list[str]]) -> Timing:
    timing = Timing([])
    for run in range(runs):
        seconds, peak, _ = timed(before(run))
        timing.seconds.append(seconds)
        timing.peak_mib = max(timing.peak_mib, peak)
    return timing


def googleapis(directory: Path) -> list[Path]:
    """The .proto files of googleapis-common-protos, copied with their paths; not operations_proto.proto, a
    second name it ships for google/longrunning/operations.proto, which no project can copy (scaffold refuses
    it: protobuf cannot load its symbols beside the distribution's own module)."""
    distribution = importlib.metadata.distribution("googleapis-common-protos")
    paths = []
    for file in distribution.files or []:
        if file.name.endswith(".proto") and file.name != "operations_proto.proto":
            target = directory / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file.locate(), target)
            paths.append(target)
    return sorted(paths)


def measure(name: str, make: Callable[[Path], list[Path]], runs: int, workdir: Path) -> dict[str, Timing]:
    source = workdir / name / "src"
    protos = make(source)
    relative = [str(p.relative_to(source)) for p in protos]
    include = [f"-I{source}", f"-I{WELL_KNOWN_INCLUDE}"]

    def protoc(run: int) -> list[str]:
        out = workdir / name / f"protoc-{run}"
        out.mkdir(parents=True)
        outputs = [f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}"]
        return [sys.executable, "-m", "grpc_tools.protoc", *include, *outputs, *relative]

    def new(run: int) -> list[str]:
        return [
            *SCAFFOLD,
            "new",
            *map(str, protos),
            "-I",
            str(source),
            "--name",
            "bench",
            "-o",
            str(workdir / name / f"new-{run}"),
        ]

    project = workdir / name / "new-0"
    changed = project / "protos" / relative[len(relative) // 2]
    CHANGED[name] = (project, changed)
    original = None

    def one_change(run: int) -> list[str]:
        nonlocal original
        original = original or changed.read_text()
        changed.write_text(original + f"\n// change {run}\n")
        return [*SCAFFOLD, "gen", "-C", str(project)]

    def no_op_by_content(run: int) -> list[str]:
        (project / STAMP).unlink(missing_ok=True)
        return [*SCAFFOLD, "gen", "-C", str(project)]

    results = {
        "protoc": repeat(runs, protoc),
        "new": repeat(runs, new),
    }
    timed([*SCAFFOLD, "gen", "-C", str(project)])  # the first no-op checks by content and leaves the stamp
    results["no-op gen"] = repeat(runs, lambda run: [*SCAFFOLD, "gen", "-C", str(project)])
    results["no-op gen, no stamp (content check)"] = repeat(runs, no_op_by_content)
    results["gen, one file changed"] = repeat(runs, one_change)
    return {"files": Timing([float(len(protos))]), **results}


def compiled_after_one_change(project: Path, proto: Path) -> str:
    """What `gen -v` says protoc compiled after one more edit of `proto`."""
    proto.write_text(proto.read_text() + "\n// one more change\n")
    output = subprocess.run(
        [*SCAFFOLD, "-v", "gen", "-C", str(project)], env=ENVIRONMENT, capture_output=True, text=True, check=True
    ).stdout
    return next((line for line in output.splitlines() if line.startswith("protoc compiled")), "?")


CHANGED: dict[str, tuple[Path, Path]] = {}  # tree -> (its project, the proto the one-change runs edit)
STAMP = ".scaffold/cache/no-op.marshal"

TARGETS = {  # measure -> (tree -> highest acceptable ratio to plain protoc), issue 30's
    "new": {"route_guide": 2.0, "synthetic 100": 1.0, "temporalio": 1.5, "googleapis": 1.0},
    "no-op gen": {"route_guide": 1.0, "synthetic 100": 0.1, "googleapis": 0.1},
    "gen, one file changed": {"route_guide": 1.5},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    missed = []
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, {args.runs} runs each (min / median)")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        ENVIRONMENT["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
        warm_up(workdir / "warm-up")
        start_up = repeat(args.runs, lambda run: [sys.executable, "-c", "pass"])
        ENVIRONMENT["XDG_CACHE_HOME"] = str(workdir / "cache")
        kept_help = workdir / "cache/scaffold/help"

        def without_kept_help(run: int) -> list[str]:
            shutil.rmtree(kept_help, ignore_errors=True)
            return [*SCAFFOLD, "--help"]

        first_help = repeat(args.runs, without_kept_help)  # Typer's, which the next one prints from the copy
        help_timing = repeat(args.runs, lambda run: [*SCAFFOLD, "--help"])
        trees = {
            "route_guide": route_guide,
            "synthetic 100": synthetic,
            "temporalio": temporalio,
            "googleapis": googleapis,
        }
        print(
            "\n| tree | protos | measure | min | median | ratio to plain protoc | peak MiB |\n|---|---|---|---|---|---|---|"
        )
        notes = []
        for tree, make in trees.items():
            results = measure(tree, make, args.runs, workdir)
            files = int(results.pop("files").best)
            protoc = results["protoc"]
            for label, timing in results.items():
                ratio = timing.median / protoc.median
                target = TARGETS.get(label, {}).get(tree)
                verdict = (
                    ""
                    if target is None
                    else (f" (target <= {target}x: met)" if ratio <= target else f" (target <= {target}x: MISSED)")
                )
                if target is not None and ratio > target:
                    missed.append(f"{tree}: {label} is {ratio:.2f}x plain protoc, target {target}x")
                print(
                    f"| {tree} | {files} | {label} | {timing.best * 1000:.0f} ms | {timing.median * 1000:.0f} ms "
                    f"| {ratio:.2f}x{verdict} | {timing.peak_mib:.0f} |"
                )
            notes.append(f"{tree}, gen after one file changed: {compiled_after_one_change(*CHANGED[tree])}")
    print()
    for line in notes:
        print(line)
    floor = start_up.median * 1000
    print(f"Python start-up alone (`python -c pass`): {floor:.0f} ms median, the floor of every scaffold command")
    help_ms = help_timing.median * 1000
    print(f"`scaffold --help`: {help_ms:.0f} ms median (target <= 60 ms: {'met' if help_ms <= 60 else 'MISSED'})")
    print(f"  the first time (Typer's, then kept): {first_help.median * 1000:.0f} ms median")
    if help_ms > 60:
        missed.append(f"--help takes {help_ms:.0f} ms")
    for line in missed:
        print(f"MISSED: {line}")


def warm_up(directory: Path) -> None:
    """One untimed run of each kind of command, so that every timed one finds its modules compiled."""
    protos = route_guide(directory / "src")
    timed([sys.executable, "-m", "grpc_tools.protoc", "--version"])
    timed([*SCAFFOLD, "new", str(protos[0]), "-o", str(directory / "project")])
    timed([*SCAFFOLD, "gen", "-C", str(directory / "project")])
    timed([*SCAFFOLD, "--help"])


if __name__ == "__main__":
    main()
