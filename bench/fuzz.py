"""The fuzzer's long mode: `python bench/fuzz.py --steps 10000 --seed 1 [--jobs 2]` (`--new`: rounds of `new`).

Runs seeded edit sequences (proto edits, layout switches, option toggles, user edits, faults)
against a real project through the CLI, checking the promise after every step (see
tests/fuzzing/runner.py). A long run is cut into sequences of `--chunk` steps, each from a fresh
project (seed, seed+1, ...), so one defect does not hide the rest; `--jobs N` runs N sequences at
once (a sequence is one process at a time: a machine's cores are used only this way), printed in seed order. A failing sequence is shrunk
(`--no-shrink` to skip) and printed as a ready-to-paste regression test.

Prints, at the end: steps, faults injected (and how many landed at their moment), conflicts,
refusals, marks tracked, lines lost, violations.

With `--new`, `--steps` rounds of `scaffold new` instead, `--chunk` per seed: each into a directory of
its own kind (missing, empty, holding the user's files) with a kill or a second `new` at one moment
(tests/fuzzing/news.py).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fuzzing import news
from fuzzing.runner import Stats, Violation, replay
from fuzzing.shrink import regression_test, shrink
from fuzzing.steps import IMPORTING_WEIGHTS, WEIGHTS, Step, generate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="steps in all")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first sequence")
    parser.add_argument("--chunk", type=int, default=100, help="steps per sequence (a fresh project each)")
    parser.add_argument("--expensive-every", type=int, default=10, help="import/collect/lint/clean-gen every N steps")
    parser.add_argument("--check-every", type=int, default=1, help="`check` before and after gen every N steps")
    parser.add_argument("--no-shrink", action="store_true", help="report failing sequences without shrinking")
    parser.add_argument("--shrink-budget", type=int, default=60, help="replays a shrink may spend")
    parser.add_argument("--without", default="", help="step kinds never drawn, comma-separated (e.g. p.remove_service)")
    parser.add_argument(
        "--imports", action="store_true", help="also fields of other protos' messages, imported (IMPORTING_WEIGHTS)"
    )
    parser.add_argument("--jobs", type=int, default=1, help="sequences run at once, each in a process of its own")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every step")
    parser.add_argument(
        "--new", action="store_true", help="rounds of `scaffold new` with faults (tests/fuzzing/news.py)"
    )
    options = parser.parse_args()
    if options.new:
        return _news(options.seed, options.steps, options.chunk, options.jobs)

    table = IMPORTING_WEIGHTS if options.imports else WEIGHTS
    weights = {k: (0 if k in options.without.split(",") else w) for k, w in table.items()}
    total = Stats()
    failures: list[str] = []
    started = time.monotonic()
    jobs, seed, left = [], options.seed, options.steps
    while left > 0:
        count = min(options.chunk, left)
        jobs.append((seed, count, weights, options.expensive_every, options.check_every, options.verbose))
        seed, left = seed + 1, left - count
    with contextlib.ExitStack() as stack:
        pool = stack.enter_context(concurrent.futures.ProcessPoolExecutor(options.jobs)) if options.jobs > 1 else None
        for seed, steps, stats, found in (pool.map if pool else map)(_sequence, jobs):
            violation = Violation(*found) if found else None
            _add(total, stats)
            print(
                f"seed {seed}: {stats.steps} steps, faults {sum(stats.faults.values())} ({stats.faults_hit} landed), "
                f"conflicts {stats.conflicts}, gone {stats.gone}, refusals {stats.refusals}, "
                f"lines lost {stats.lines_lost}" + (f"; VIOLATION {violation}" if violation else ""),
                flush=True,
            )
            for refusal in stats.refused:
                print(f"  refused: {refusal}")
            for conflict in stats.conflicted:
                print(f"  conflict: {conflict}")
            if violation is not None:
                minimal = steps
                if not options.no_shrink:
                    print("  shrinking...", flush=True)
                    minimal, violation = shrink(
                        steps,
                        violation,
                        options.expensive_every,
                        options.check_every,
                        options.shrink_budget,
                        log=lambda line: print(line, flush=True),
                    )
                test = regression_test(seed, minimal, violation)
                failures.append(f"seed {seed}: {violation}\n{test}")
                print(test, flush=True)
    print(
        f"\n{total.steps} steps in {time.monotonic() - started:.0f} s; faults injected {sum(total.faults.values())} "
        f"{dict(sorted(total.faults.items()))} ({total.faults_hit} landed at their moment); gens {total.gens}, "
        f"checks {total.checks}, conflicts {total.conflicts}, gone {total.gone}, refusals {total.refusals}, marks {total.marks}, "
        f"lines lost {total.lines_lost}, violations {len(failures)}"
    )
    for failure in failures:
        print("\n" + failure)
    return 1 if failures else 0


def _news(seed: int, rounds: int, chunk: int, jobs: int) -> int:
    """`--new`: `rounds` rounds of `scaffold new`, `chunk` per seed, `jobs` seeds at once."""
    started = time.monotonic()
    seeds = [(seed + i, min(chunk, rounds - i * chunk)) for i in range((rounds + chunk - 1) // chunk)]
    broken = []
    landed = 0
    with concurrent.futures.ProcessPoolExecutor(max(1, jobs)) as pool:
        for (each, count), (hit, violation) in zip(seeds, pool.map(_news_seed, seeds), strict=True):
            print(
                f"seed {each}: {count} rounds, faults landed {hit}" + (f"; VIOLATION {violation}" if violation else "")
            )
            landed += hit
            broken += [violation] if violation else []
    print(
        f"\n{rounds} rounds of new in {time.monotonic() - started:.0f} s; faults landed {landed}; violations {len(broken)}"
    )
    return 1 if broken else 0


def _news_seed(job: tuple[int, int]) -> tuple[int, str | None]:
    with tempfile.TemporaryDirectory(prefix="fz-new-") as scratch:
        return news.play(Path(scratch), news.draw(*job))


def _sequence(
    job: tuple[int, int, dict[str, int], int, int, bool],
) -> tuple[int, list[Step], Stats, tuple[str, str, int] | None]:
    """One sequence from a fresh project: its seed, steps, stats and violation (as fields: it crosses processes)."""
    seed, count, weights, expensive_every, check_every, verbose = job
    steps = generate(seed, count, weights)
    with tempfile.TemporaryDirectory(prefix="fz-") as scratch:
        world, violation = replay(Path(scratch), steps, expensive_every, check_every, print if verbose else None)
    found = (violation.invariant, violation.detail, violation.step) if violation is not None else None
    return seed, steps, world.stats if world else Stats(), found


def _add(total: Stats, stats: Stats) -> None:
    for name in (
        "steps",
        "gens",
        "checks",
        "faults_hit",
        "conflicts",
        "gone",
        "refusals",
        "marks",
        "lines_lost",
        "expensive",
    ):
        setattr(total, name, getattr(total, name) + getattr(stats, name))
    for kind, count in stats.faults.items():
        total.faults[kind] = total.faults.get(kind, 0) + count


if __name__ == "__main__":
    sys.exit(main())
