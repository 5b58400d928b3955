"""The fuzzer's `new` rounds: seeded `scaffold new`s, each with one fault at a moment, judged by the promise.

A round draws where the project goes (a directory that does not exist, one below directories that do
not either, an empty one, one holding the user's files: `--force`), its proto and options, and a fault
at the N-th call of a moment of the run: a kill, or a second `new` of the same directory started there
(`fz_seam`). Then, after the same `new` is run again to finish what the fault left (a run refused
because the directory holds a project by then is finished too):
- every file of the user's holds what it held, and nothing is written outside the directory but the
  directories `new` made to hold it;
- `check` says the project is up to date;
- no tree staged for it is left beside it;
- of two `new`s at once, one made the project and the other made it or was refused in one line, exit 2.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PROTOS = ("route_guide.proto", "helloworld.proto")
TARGETS = ("missing", "missing below", "empty", "the user's")
FAULTS = ("kill", "second", "none")
MOMENTS = ("staged", "before-swap", "swapping", "after-swap", "shard-written")
"""A new directory's moments are the first and the last (its caches'); an existing one's all but the first."""
USERS_FILES = {"NOTES.md": "# my notes\n", "notes/todo.txt": "write the servicer\n"}


@dataclass(frozen=True)
class Round:
    target: str
    proto: str
    aio: bool
    fault: str
    moment: str
    n: int


def draw(seed: int, count: int) -> list[Round]:
    rng = random.Random(seed)
    return [_drawn(rng) for _ in range(count)]


def _drawn(rng: random.Random) -> Round:
    target, proto, aio, fault = rng.choice(TARGETS), rng.choice(PROTOS), rng.random() < 0.3, rng.choice(FAULTS)
    moment = rng.choice(MOMENTS[:1] + MOMENTS[-1:] if target.startswith("missing") else MOMENTS[1:])
    return Round(target, proto, aio, fault, moment, 1 if moment == "staged" else rng.randint(1, 30))


def play(scratch: Path, rounds: list[Round]) -> tuple[int, str | None]:
    """Each round in a directory of its own under `scratch`: how many faults landed, and the first broken
    promise (None if kept)."""
    landed = 0
    for index, drawn in enumerate(rounds):
        place = scratch / f"round{index}"
        place.mkdir(parents=True)
        hit, broken = _round(place, drawn)
        landed += hit
        if broken is not None:
            return landed, f"round {index} {drawn}: {broken}"
    return landed, None


def _round(place: Path, drawn: Round) -> tuple[bool, str | None]:
    home = place / "home"  # where the project goes, and nothing else
    home.mkdir()
    target = home / "project" if drawn.target != "missing below" else home / "made" / "deeper" / "project"
    if drawn.target in ("empty", "the user's"):
        target.mkdir()
    if drawn.target == "the user's":
        for path, text in USERS_FILES.items():
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            (target / path).write_text(text)
    arguments = ["new", str(REPO / "protos" / drawn.proto), "-o", str(target), "-q"]
    arguments += ["--force"] * (drawn.target == "the user's") + ["--aio"] * drawn.aio
    second = place / "second"
    second.mkdir()
    fault = {"kill": {"FZ_KILL_AT": drawn.moment, "FZ_KILL_N": str(drawn.n)}, "none": {}}.get(drawn.fault)
    if fault is None:
        fault = {
            "FZ_SECOND_AT": drawn.moment,
            "FZ_SECOND_N": str(drawn.n),
            "FZ_SECOND_DIR": str(second),
            "FZ_SECOND_ARGS": json.dumps(arguments),
        }
    first = _scaffold(arguments, {"SCAFFOLD_SEAM": "fz_seam:hook", **fault})
    hit = first.returncode == 137 or (second / "rc").exists() or (second / "out").exists()
    said = [first]
    if (second / "out").exists():
        said.append(_ended(second))
    if drawn.fault == "second" and hit:
        codes = sorted(result.returncode for result in said)
        if codes not in ([0, 0], [0, 2]) or any(r.stderr.count("\n") > 1 for r in said if r.returncode == 2):
            return hit, f"two `new`s at once ended {[(r.returncode, r.stderr[-300:]) for r in said]}"
    elif first.returncode not in (0, 137):
        return hit, f"`new` exits {first.returncode}: {first.stderr[-600:]}"
    again = _scaffold(arguments)
    if again.returncode not in (0, 2) or (
        again.returncode == 2 and "holds a scaffold project already" not in again.stderr
    ):
        return hit, f"`new` after the fault exits {again.returncode}: {again.stderr[-600:]}"
    checked = _scaffold(["check", "-C", str(target)])
    if (checked.returncode, checked.stdout) != (0, "Up to date.\n"):
        return hit, f"`check` after the fault: {checked.returncode} {checked.stdout[-300:]} {checked.stderr[-300:]}"
    for path, text in USERS_FILES.items() if drawn.target == "the user's" else ():
        if (target / path).read_text() != text:
            return hit, f"the user's {path} changed"
    beside = sorted(os.listdir(target.parent))
    if beside != ["project"]:
        return hit, f"beside the project: {beside}"
    outside = sorted(p.name for p in home.iterdir())
    if outside != [target.relative_to(home).parts[0]]:
        return hit, f"written outside the project: {outside}"
    return hit, None


def _ended(second: Path) -> subprocess.CompletedProcess[str]:
    """The second run's result, once it has ended (it writes `rc` last)."""
    deadline = time.monotonic() + 120
    while not (second / "rc").exists():
        if time.monotonic() > deadline:
            return subprocess.CompletedProcess([], -1, "", "the second run never ended")
        time.sleep(0.02)
    output = (second / "out").read_text(errors="replace")
    return subprocess.CompletedProcess([], int((second / "rc").read_text()), "", output)


def _scaffold(arguments: list[str], extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("FZ_", "SCAFFOLD_SEAM"))}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "scaffold", *arguments]
    environment |= extra or {}
    return subprocess.run(command, check=False, env=environment, capture_output=True, text=True, timeout=300)
