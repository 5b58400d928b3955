"""The fuzzer's `new` rounds: seeded `scaffold new`s, each with one fault at a moment, judged by the promise.

A round draws where the project goes (a directory that does not exist, one below directories that do
not either, an empty one, one holding the user's files, some at paths `new` writes: `--force`), its
proto and options, and a fault at the N-th call of a moment of the run: a kill, or a second `new` of
the same directory started there (`fz_seam`). Then:
- a run that said it made the project made a whole one: `check` says it is up to date at once, and the
  same `new` again is refused in one line, exit 2; of two `new`s at once, exactly one made it and the
  other was refused in one line, exit 2;
- after a kill, the same `new` again finishes the project (or is refused in one line, where the killed
  run had made it), and `check` says it is up to date;
- every line of the user's files is there (in the file, or kept beside it as `.mine`);
- no tree staged for the project is left beside it, and nothing is written outside it but the
  directories made to hold it.
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
REFUSED = "holds a scaffold project already"


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
    # A small project's caches are a shard each: protoc's record (its body, then it) and the memo
    n = 1 if moment == "staged" else rng.randint(1, 3 if moment == "shard-written" else 30)
    return Round(target, proto, aio, fault, moment, n)


def users_files(proto: str) -> dict[str, str]:
    """The user's files in a directory `new --force` writes into: one beside the project's, one where it
    writes a file the user owns, the servicer module it merges into, and one at a generated module's path."""
    name = proto.removesuffix(".proto")
    return {
        "notes/todo.txt": "write the servicer\n",
        "README.md": "# my readme\n",
        f"{name}/servicer.py": "def helper() -> int:\n    return 41  # mine\n",
        f"{name}/generated/{name}_pb2.py": "SHAPES = 4  # mine too\n",
    }


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
    target = home / "project" if drawn.target != "missing below" else home / "made" / "deeper" / "project"
    target.parent.mkdir(parents=True)
    users = users_files(drawn.proto) if drawn.target == "the user's" else {}
    if drawn.target in ("empty", "the user's"):
        target.mkdir()
    for path, text in users.items():
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        (target / path).write_text(text)
    arguments = ["new", str(REPO / "protos" / drawn.proto), "-o", str(target), "-q"]
    arguments += ["--force"] * bool(users) + ["--aio"] * drawn.aio
    second = place / "second"
    second.mkdir()
    first = _scaffold(arguments, {"SCAFFOLD_SEAM": "fz_seam:hook", **_fault(drawn, second, arguments)})
    said = [first, _ended(second)] if (second / "started").exists() else [first]
    hit = first.returncode == 137 or len(said) == 2
    if len(said) == 2:
        if sorted(result.returncode for result in said) != [0, 2] or not _one_line(said[0 if first.returncode else 1]):
            return hit, f"two `new`s at once ended {[(r.returncode, r.stderr[-300:]) for r in said]}"
    elif first.returncode not in (0, 137):
        return hit, f"`new` exits {first.returncode}: {first.stderr[-600:]}"
    made = any(result.returncode == 0 for result in said)
    if made and not _up_to_date(target):
        return hit, f"`new` said it made the project; `check` then: {_scaffold(['check', '-C', str(target)])}"
    again = _scaffold(arguments)
    refused = again.returncode == 2 and REFUSED in again.stderr and _one_line(again)
    if not (refused or (again.returncode == 0 and not made)):
        return hit, f"`new` again exits {again.returncode}: {again.stderr[-600:]}"
    if not _up_to_date(target):
        return hit, f"`check` after the fault and `new` again: {_scaffold(['check', '-C', str(target)])}"
    return hit, _lost(target, users) or _outside(home, target)


def _fault(drawn: Round, second: Path, arguments: list[str]) -> dict[str, str]:
    if drawn.fault == "kill":
        return {"FZ_KILL_AT": drawn.moment, "FZ_KILL_N": str(drawn.n)}
    if drawn.fault == "second":
        return {
            "FZ_SECOND_AT": drawn.moment,
            "FZ_SECOND_N": str(drawn.n),
            "FZ_SECOND_DIR": str(second),
            "FZ_SECOND_ARGS": json.dumps(arguments),
        }
    return {}


def _lost(target: Path, users: dict[str, str]) -> str | None:
    """The first line of the user's missing from its file and from the copies kept beside it."""
    for path, text in users.items():
        kept = [p.read_text() for p in (target / path).parent.glob(f"{Path(path).name}*") if p.is_file()]
        for line in text.splitlines():
            if not any(line in content.splitlines() for content in kept):
                return f"the user's line {line!r} of {path} is lost"
    return None


def _outside(home: Path, target: Path) -> str | None:
    """Anything but the project and the directories that hold it, under `home`: a staged tree left, a
    directory made and not taken away, a file written outside."""
    holders = set(target.parents)
    for parent, directories, files in os.walk(home):
        here = Path(parent)
        if here == target:
            directories.clear()
            continue
        strays = [here / name for name in files] + [here / d for d in directories if here / d not in holders | {target}]
        if strays:
            return f"beside the project: {[str(p.relative_to(home)) for p in strays]}"
    return None


def _up_to_date(target: Path) -> bool:
    checked = _scaffold(["check", "-C", str(target)])
    return (checked.returncode, checked.stdout) == (0, "Up to date.\n")


def _one_line(result: subprocess.CompletedProcess[str]) -> bool:
    return result.stderr.count("\n") == 1 and result.stderr.endswith("\n")


def _ended(second: Path) -> subprocess.CompletedProcess[str]:
    """The second run's result, once it has ended (it writes `rc` last; `fz_seam` marked it started)."""
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
    environment |= extra or {}
    command = [sys.executable, "-m", "scaffold", *arguments]
    return subprocess.run(command, check=False, env=environment, capture_output=True, text=True, timeout=300)
