"""`scaffold breaking --against DIR` against `buf breaking`, on the largest real tree: googleapis.

The tree is the one bench/googleapis.py prepares (googleapis/googleapis at
its pinned commit, every proto outside preview/; see that script for how to
get it). The current side is a copy with one breaking edit in a leaf proto
(a field of google/spanner/v1/result_set.proto retyped) and a comment in a
widely imported one; both tools compare the copy with the original
directory, every rule of the FILE category, whole processes, timed in the
same run. scaffold's side is a minimal project (`protos` and `proto_paths`
the copy) so that its config, compile, rules and the lookup of the user's
code all run. buf is found on PATH (npm install @bufbuild/buf@1.75.0).

    python bench/breaking.py --source PATH [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from compare import ENVIRONMENT, SCAFFOLD
from googleapis import PINNED, prepare

LEAF = "google/spanner/v1/result_set.proto"
WIDELY_IMPORTED = "google/api/annotations.proto"
TARGET = 1.5


def timed(command: Sequence[str]) -> float:
    """Wall time of one whole process that must end as a breaking check ends: 0, or its "breaks found"."""
    started = time.perf_counter()
    done = subprocess.run(list(command), env=ENVIRONMENT, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1, 100):
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr.decode(errors='replace')[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="a googleapis checkout, git directory or copy")
    parser.add_argument("--commit", default=PINNED)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    buf = shutil.which("buf")
    if buf is None:
        sys.exit("buf is not on PATH: npm install -g @bufbuild/buf@1.75.0")
    with tempfile.TemporaryDirectory(prefix="scaffold-bench-breaking-") as scratch:
        work = Path(scratch)
        old, project = work / "old", work / "project"
        old.mkdir()
        protos, left_out = prepare(args.source, args.commit, old)
        print(
            f"googleapis at {args.commit[:8]}: {len(protos)} protos ({len(left_out)} left out: missing in the source)"
        )
        shutil.copytree(old, project / "protos")
        (old / "buf.yaml").write_text("version: v2\n")
        (project / "protos" / "buf.yaml").write_text("version: v2\n")
        leaf = project / "protos" / LEAF
        text = leaf.read_text()
        leaf.write_text(text.replace("int64 row_count_exact = 3;", "string row_count_exact = 3;", 1))
        with (project / "protos" / WIDELY_IMPORTED).open("a") as widely:
            widely.write("\n// A comment: nothing breaks here.\n")
        (project / "pyproject.toml").write_text(
            '[project]\nname = "gapis"\nversion = "0"\n\n[tool.scaffold]\npackage = "gapis"\n'
            'protos = ["protos"]\nproto_paths = ["protos"]\n'
        )
        ours_command = [*SCAFFOLD, "breaking", "-C", str(project), "--against", str(old)]
        theirs_command = [buf, "breaking", str(project / "protos"), "--against", str(old)]
        for name, command in (("scaffold", ours_command), ("buf", theirs_command)):
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            found = [line for line in done.stdout.splitlines() if not line.startswith(" ")]
            print(f"{name}: exit {done.returncode}, {len(found)} breaks: {found[:2]}")
        ours, theirs = [], []
        for _ in range(args.runs):  # alternating, so that a slow moment of the machine hits both
            ours.append(timed(ours_command))
            theirs.append(timed(theirs_command))
    mine, bufs = statistics.median(ours), statistics.median(theirs)
    print(f"scaffold breaking: {mine:.2f} s (median of {args.runs}: {', '.join(f'{t:.2f}' for t in ours)})")
    print(f"buf breaking:      {bufs:.2f} s (median of {args.runs}: {', '.join(f'{t:.2f}' for t in theirs)})")
    ratio = mine / bufs
    print(f"ratio: {ratio:.2f}x (target at most {TARGET}x){'' if ratio <= TARGET else '  MISSED'}")


if __name__ == "__main__":
    main()
