"""Cut a failing step sequence down to a minimal one that fails the same way, and print it as a test.

Delta debugging (Zeller's ddmin) over the step list: steps resolve their targets when they run,
so any subsequence is a valid sequence. "The same way" is the same invariant broken; each try
replays from a fresh project, so a shrink costs replays of ever shorter sequences.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from .runner import Violation, replay
from .steps import Step


def fails_like(target: Violation, expensive_every: int, check_every: int) -> Callable[[list[Step]], Violation | None]:
    def test(steps: list[Step]) -> Violation | None:
        with tempfile.TemporaryDirectory(prefix="fz-shrink-") as scratch:
            _, violation = replay(Path(scratch), steps, expensive_every, check_every)
        return violation if violation is not None and violation.invariant == target.invariant else None

    return test


def shrink(
    steps: list[Step],
    violation: Violation,
    expensive_every: int = 10,
    check_every: int = 1,
    budget: int = 200,
    log: Callable[[str], None] = lambda line: None,
) -> tuple[list[Step], Violation]:
    """The smallest subsequence of `steps` found (within `budget` replays) that breaks the same invariant."""
    if violation.invariant != "check":  # replays skip the `check` runs the failure does not need
        check_every = 10**9
    test = fails_like(violation, expensive_every, check_every)
    current = steps[: violation.step + 1] if 0 <= violation.step < len(steps) else list(steps)
    found = test(current)
    tries = 1
    if found is None:  # not reproducible when cut at the failing step: keep the whole sequence
        current, found = list(steps), test(steps)
        tries += 1
        if found is None:
            log("not reproducible: kept as it is")
            return steps, violation
    best = found
    granularity = 2
    while len(current) >= 2 and tries < budget:
        size = max(1, len(current) // granularity)
        chunks = [current[i : i + size] for i in range(0, len(current), size)]
        reduced = False
        for index in range(len(chunks)):
            if tries >= budget:
                break
            complement = [s for j, chunk in enumerate(chunks) if j != index for s in chunk]
            tries += 1
            result = test(complement)
            if result is not None:
                log(f"  {len(current)} -> {len(complement)} steps")
                current, best, reduced = complement, result, True
                granularity = max(granularity - 1, 2)
                break
        if not reduced:
            if granularity >= len(current):
                break
            granularity = min(len(current), granularity * 2)
    return current, best


def regression_test(seed: int, steps: list[Step], violation: Violation) -> str:
    """A test to paste into tests/test_fuzz.py: it replays `steps` and fails while the defect lives."""
    name = f"test_fuzz_seed_{seed}_{violation.invariant.replace('-', '_')}"
    body = "\n".join(f"        {step!r}," for step in steps)
    detail = violation.detail.replace('"""', "'''").replace("\\", "\\\\")
    lines = detail.splitlines()
    detail = "\n    ".join(line[:110] for line in (lines[:1] + ["..."] + lines[-3:] if len(lines) > 5 else lines))
    return (
        f"def {name}(tmp_path: Path) -> None:\n"
        f'    """Found by the fuzzer (seed {seed}), shrunk to {len(steps)} steps; it broke\n'
        f"    {violation.invariant}: {detail}\n"
        f'    """\n'
        f"    steps = [\n{body}\n    ]\n"
        f"    _, violation = replay(tmp_path, steps, expensive_every=1)\n"
        f"    assert violation is None, str(violation)\n"
    )
