"""`scaffold breaking --against DIR` against `buf breaking`, on the largest real tree: googleapis.

The tree is the one bench/googleapis.py prepares (googleapis/googleapis at
its pinned commit, every proto outside preview/; see that script for how to
get it). The current side is a copy with one breaking edit in a leaf proto
(a field of google/spanner/v1/result_set.proto retyped) and a comment in a
widely imported one; both tools compare the copy with the original
directory, every rule of the FILE category, whole processes, timed in the
same run; then against a git revision of the same tree, first, again (the
revision kept in `.scaffold/cache/`), and after `scaffold gen` (whose record
gives the current side without compiling). scaffold's side is a minimal project (`protos` and `proto_paths`
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
from collections.abc import Callable, Sequence
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
        for module in (old, project / "protos"):
            (module / "buf.yaml").write_text("version: v2\n")
        (project / "pyproject.toml").write_text(
            '[project]\nname = "gapis"\nversion = "0"\n\n[tool.scaffold]\npackage = "gapis"\n'
            'protos = ["protos"]\nproto_paths = ["protos"]\n'
        )
        git = ["git", "-C", str(project), "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", "googleapis"], check=True)
        leaf = project / "protos" / LEAF
        leaf.write_text(leaf.read_text().replace("int64 row_count_exact = 3;", "string row_count_exact = 3;", 1))
        with (project / "protos" / WIDELY_IMPORTED).open("a") as widely:
            widely.write("\n// A comment: nothing breaks here.\n")

        ours_dir = [*SCAFFOLD, "breaking", "-C", str(project), "--against", str(old)]
        theirs_dir = [buf, "breaking", str(project / "protos"), "--against", str(old)]
        ours_git = [*SCAFFOLD, "breaking", "-C", str(project), "--against", "HEAD"]
        theirs_git = [buf, "breaking", str(project / "protos"), "--against", f"{project}/.git#ref=HEAD,subdir=protos"]
        for name, command in (("scaffold", ours_dir), ("buf", theirs_dir)):
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            found = [line for line in done.stdout.splitlines() if not line.startswith(" ")]
            print(f"{name}: exit {done.returncode}, {len(found)} breaks: {found[:2]}")

        rows = [("against a directory", ours_dir, theirs_dir)]
        rows.append(("against a git revision, first (compiles the revision)", ours_git, theirs_git))
        for label, ours_command, theirs_command in rows:
            _compare(label, ours_command, theirs_command, args.runs, before=_forget_revision(project))
        _compare("against the same revision again (kept in .scaffold/cache)", ours_git, theirs_git, args.runs)
        started = time.perf_counter()
        made = subprocess.run([*SCAFFOLD, "gen", "-C", str(project)], capture_output=True, check=False)
        print(
            f"(scaffold gen: exit {made.returncode}, {time.perf_counter() - started:.0f} s: the record `breaking` reads)"
        )
        _compare("against the revision, after `gen` (nothing compiled)", ours_git, theirs_git, args.runs)


def _forget_revision(project: Path) -> Callable[[], None]:
    return lambda: (project / ".scaffold/cache/breaking-against.marshal").unlink(missing_ok=True)


def _compare(
    label: str, ours_command: list[str], theirs_command: list[str], runs: int, before: Callable[[], None] | None = None
) -> None:
    ours, theirs = [], []
    for _ in range(runs):  # alternating, so that a slow moment of the machine hits both
        if before:
            before()
        ours.append(timed(ours_command))
        theirs.append(timed(theirs_command))
    mine, bufs = statistics.median(ours), statistics.median(theirs)
    ratio = mine / bufs
    missed = "" if ratio <= TARGET else "  MISSED"
    print(f"{label}: scaffold {mine:.1f} s, buf {bufs:.1f} s: {ratio:.2f}x (target {TARGET}x){missed}")


if __name__ == "__main__":
    main()
