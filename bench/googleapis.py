"""scaffold on googleapis/googleapis, the largest real tree: time and peak memory, against plain protoc.

The tree is googleapis/googleapis at a pinned commit (PINNED below), every
`.proto` outside `preview/` directories. Get it once, either way:

    git clone https://github.com/googleapis/googleapis            # a checkout
    curl -L https://github.com/googleapis/googleapis/archive/PINNED.tar.gz | tar xz   # or an archive

then:

    python bench/googleapis.py --source PATH [--commit PINNED] [--runs 1]

A git repository (a checkout, or a bare/mirror git directory) is read at
`--commit` with `git archive`, nothing checked out; a plain directory is
copied as it is. Measured, each a whole process, in one run: plain `python -m
grpc_tools.protoc` writing py, pyi and grpc for every proto; `scaffold new`;
a no-op `scaffold gen` (the first, which checks content, and a stamped one); `gen` after a comment is appended to one leaf proto
(google/spanner/v1/spanner.proto), and again, as an edit loop's next save; `gen` after a comment is appended to a
proto 1,580 others import (google/api/annotations.proto), which compiles that proto alone; and after a
message is added to the proto most others import, directly or not, of those no installed distribution
provides (google/cloud/aiplatform/v1beta1/encryption_spec.proto, 70), which compiles them too (a
declaration added to annotations.proto would make the copy differ from googleapis-common-protos', which
scaffold refuses). Each figure is
printed with its ratio to plain protoc, and peak memory and CPU time (user and
system, the children's included) with their ratios to protoc's: on two cores, a
run whose CPU time is twice protoc's cannot finish in less than protoc's time.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from compare import SCAFFOLD, timed

from scaffold.generation.protoc import WELL_KNOWN_INCLUDE

PINNED = "f8291d2b89f0017ab078a4c7378069bae5686f6f"  # 2026-08-22; 7,292 protos, none under preview/
LEAF = "google/spanner/v1/spanner.proto"
WIDELY_IMPORTED = "google/api/annotations.proto"
DECLARED_IN = "google/cloud/aiplatform/v1beta1/encryption_spec.proto"  # 70 import it, the most of any not installed


def prepare(source: Path, commit: str, tree: Path) -> tuple[list[Path], list[str]]:
    """The protos of `source` at `commit` under `tree` (their paths relative to it), and the ones left
    out: missing from the source (a partial snapshot may lack its largest files), or importing one that is."""
    texts: dict[str, bytes] = {}
    missing: set[str] = set()
    is_git = (
        subprocess.run(
            ["git", "-C", str(source), "rev-parse", "--git-dir"], capture_output=True, check=False
        ).returncode
        == 0
    )
    if is_git:
        listing = subprocess.run(
            ["git", "-C", str(source), "ls-tree", "-r", commit], capture_output=True, text=True, check=True
        ).stdout
        entries = [line.split("\t", 1) for line in listing.splitlines()]
        wanted = [(meta.split()[2], path) for meta, path in entries if path.endswith(".proto")]
        wanted = [(blob, path) for blob, path in wanted if "preview" not in path.split("/")]
        batch = subprocess.run(
            ["git", "-C", str(source), "cat-file", "--batch"],
            input="".join(f"{blob}\n" for blob, _ in wanted).encode(),
            capture_output=True,
            check=True,
        ).stdout
        offset = 0
        for _, path in wanted:
            header_end = batch.index(b"\n", offset)
            header = batch[offset:header_end].split()
            if header[-1] == b"missing":
                missing.add(path)
                offset = header_end + 1
                continue
            size = int(header[2])
            texts[path] = batch[header_end + 1 : header_end + 1 + size]
            offset = header_end + 1 + size + 1
    else:
        for file in source.rglob("*.proto"):
            relative = file.relative_to(source)
            if "preview" not in relative.parts:
                texts[relative.as_posix()] = file.read_bytes()
    imports = {
        path: set(re.findall(rb'^import\s+(?:public\s+|weak\s+)?"([^"]+)"', text, re.MULTILINE))
        for path, text in texts.items()
    }
    left_out = set(missing)
    changed = True
    while changed:
        changed = False
        for path, imported in imports.items():
            if path not in left_out and any(name.decode() in left_out for name in imported):
                left_out.add(path)
                changed = True
    for path, text in texts.items():
        if path not in left_out:
            (tree / path).parent.mkdir(parents=True, exist_ok=True)
            (tree / path).write_bytes(_as_installed(path, text))
    return sorted(Path(path) for path in texts if path not in left_out), sorted(left_out)


def _as_installed(path: str, text: bytes) -> bytes:
    """The proto as an installed distribution ships it, where one does (googleapis-common-protos ships
    google/api, google/rpc, ... at its own googleapis commit): a project cannot be imported beside a
    different file of the same name, so scaffold refuses one (`scaffold.generation.clash`), and a user of
    googleapis with googleapis-common-protos installed takes those files from it. A few files of 7,000."""
    for directory in sys.path:
        installed = Path(directory) / path
        if directory and installed.is_file() and not path.startswith("google/protobuf/"):
            return installed.read_bytes()
    return text


def _set_aside(directory: Path) -> None:
    """Out of the next run's way, renamed rather than deleted until the scratch directory goes: on an ext4
    without a journal, files created right after 43,000 were deleted cost three to four times as much
    (`scaffold.generation.protoc.compile_files`), which would charge the next run for this one."""
    if directory.exists():
        directory.rename(directory.with_name(f"{directory.name}.{time.monotonic_ns()}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="a googleapis checkout, git directory or copy")
    parser.add_argument("--commit", default=PINNED)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        tree = scratch / "googleapis"
        tree.mkdir()
        protos, left_out = prepare(args.source, args.commit, tree)
        print(f"googleapis at {args.commit[:12]}: {len(protos)} protos; {args.runs} run(s), best of them")
        if left_out:
            print(f"left out, missing from the source or importing what is: {', '.join(left_out)}")

        def best(command: list[str], cwd: Path, before: object = None) -> tuple[float, float, float]:
            results = []
            for _ in range(args.runs):
                if callable(before):
                    before()
                results.append(timed(command, cwd))
            return min(results)

        plain_out = scratch / "plain"

        def fresh_plain() -> None:
            _set_aside(plain_out)
            plain_out.mkdir()

        plain = best(
            [
                sys.executable,
                "-m",
                "grpc_tools.protoc",
                "-I.",
                f"-I{WELL_KNOWN_INCLUDE}",
                f"--python_out={plain_out}",
                f"--pyi_out={plain_out}",
                f"--grpc_python_out={plain_out}",
                *map(str, protos),
            ],
            tree,
            fresh_plain,
        )
        project = scratch / "project"

        def fresh_project() -> None:
            _set_aside(project)

        new = best(
            [*SCAFFOLD, "new", str(tree), "-o", str(project), "--name", "googleapis_service"], scratch, fresh_project
        )
        first_noop = timed([*SCAFFOLD, "gen"], project)  # checks content, then leaves the stamp
        noop = best([*SCAFFOLD, "gen"], project)

        def append_comment(relative: str) -> None:
            with open(project / "protos" / relative, "a", encoding="utf-8") as proto:
                proto.write("// touched by bench/googleapis.py\n")

        leaf = best([*SCAFFOLD, "gen"], project, lambda: append_comment(LEAF))
        # Again, right after a gen that wrote (not after a no-op), as each save of an edit loop is.
        loop = best([*SCAFFOLD, "gen"], project, lambda: append_comment(LEAF))
        widely = best([*SCAFFOLD, "gen"], project, lambda: append_comment(WIDELY_IMPORTED))
        probes = itertools.count()

        def append_message(relative: str) -> None:
            with open(project / "protos" / relative, "a", encoding="utf-8") as proto:
                proto.write(f"message BenchProbe{next(probes)} {{}}\n")

        declared = best([*SCAFFOLD, "gen"], project, lambda: append_message(DECLARED_IN))

        def row(label: str, figure: tuple[float, float, float]) -> None:
            seconds, peak, cpu = figure
            print(
                f"{label:<44} {seconds:8.2f} s ({seconds / plain[0]:5.2f}x)"
                f"  peak {peak:7.0f} MiB ({peak / plain[1]:4.2f}x)  CPU {cpu:6.1f} s ({cpu / plain[2]:4.2f}x)"
            )

        row("plain python -m grpc_tools.protoc", plain)
        row("scaffold new", new)
        row("first no-op scaffold gen (content check)", first_noop)
        row("no-op scaffold gen (stamped)", noop)
        row(f"gen after a comment in {LEAF}", leaf)
        row("the same again (an edit loop: after a gen that wrote)", loop)
        row(f"gen after a comment in {WIDELY_IMPORTED}", widely)
        row(f"gen after a message is added to {DECLARED_IN}", declared)
        manifest = json.loads((project / ".scaffold/manifest.json").read_text(encoding="utf-8"))
        yours = [
            project / p for p, entry in manifest["files"].items() if entry["owner"] == "user" and p.endswith(".py")
        ]
        sizes = sorted((sum(1 for _ in p.open(encoding="utf-8")), p) for p in yours)
        lines, largest = sizes[-1]
        over = sum(1 for count, _ in sizes if count > 1_000)
        print(
            f"modules of yours: {len(yours)}, {sum(count for count, _ in sizes):,} lines, {over} over 1,000;"
            f" the largest {largest.relative_to(project)}, {lines} lines"
        )


if __name__ == "__main__":
    main()
