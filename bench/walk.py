"""The walk of the project root through `gen`: which modules a regeneration enters, and how often it climbs.

Copies examples/route_guide (its record, not its cache) to a scratch
directory, imports `scaffold.api`, then follows `scaffold.api.regenerate(root)`
with `sys.setprofile`: the first `--steps` calls (400) into scaffold's own
functions (module bodies run by an import are not steps). It counts

- modules: the distinct modules those calls enter;
- climbs: steps into a part above the part of the step before (the walk
  going back up), in the layer order of tests/test_architecture.py (a module
  of the flat layout before issue 26 is placed by the part it moved to);
- upward calls: calls from a function of one part into a part above it
  (callbacks);
- returns: steps into a module the walk had entered and then left before
  (the same module again, whatever the layers).

    python bench/walk.py [--steps 400] [--verbose]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "route_guide"

# The layer order, lowest first (tests/test_architecture.py holds the code to it).
LAYERS = ["base", "core", "record", "generation", "breaking", "api", "live", "cli", "entry"]
ROOT_MODULES = {"scaffold": "base", "layout": "base", "api": "api", "fastpath": "entry", "__main__": "entry"}
# Where each module of the flat layout (before issue 26) went, for measuring that tree with the same order.
FLAT = {
    **dict.fromkeys(["errors", "text", "paths", "seams", "progress", "naming", "imports", "model"], "core"),
    **dict.fromkeys(["cache", "hashes", "shards", "memo", "lock", "state", "bases", "disk", "write"], "record"),
    **dict.fromkeys(
        [
            "config",
            "formatting",
            "inputs",
            "protoc",
            "repair",
            "relocate",
            "incremental",
            "describe",
            "reconcile",
            "render",
            "renders",
            "generate",
            "merge",
            "pysource",
            "relayout",
            "plan",
            "pipeline",
            "project",
            "uptodate",
            "replay",
        ],
        "generation",
    ),
    **dict.fromkeys(["protosource", "sides", "breaking", "breaking_rules"], "breaking"),
    **dict.fromkeys(["watch", "dev", "devserver", "call", "symbols", "listing"], "live"),
    **dict.fromkeys(["cli", "report", "messages", "pager"], "cli"),
}


def layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return LAYERS.index("base")
    if len(parts) == 2:
        name = parts[1]
        return LAYERS.index(ROOT_MODULES.get(name) or FLAT[name])
    return LAYERS.index(parts[1])


def walk(steps: int) -> tuple[list[tuple[str, str, str]], Any]:
    scratch = Path(tempfile.mkdtemp(prefix="scaffold-walk-"))
    root = scratch / "route_guide"
    shutil.copytree(EXAMPLE, root, ignore=lambda directory, names: ["cache"] if directory.endswith(".scaffold") else [])
    sys.path.insert(0, str(REPO))
    import scaffold.api

    package = str(Path(scaffold.api.__file__).resolve().parent) + "/"
    calls: list[tuple[str, str, str]] = []  # (caller module, called module, function)

    def module_of(frame: FrameType | None) -> str | None:
        while frame is not None:
            if frame.f_code.co_filename.startswith(package) and frame.f_code.co_name != "<module>":
                return str(frame.f_globals.get("__name__"))
            frame = frame.f_back
        return None

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event != "call" or len(calls) >= steps:
            return
        code = frame.f_code
        if not code.co_filename.startswith(package) or code.co_name == "<module>":
            return
        called = str(frame.f_globals.get("__name__"))
        calls.append((module_of(frame.f_back) or "", called, code.co_qualname))

    sys.setprofile(profile)
    try:
        report = scaffold.api.regenerate(root)
    finally:
        sys.setprofile(None)
        shutil.rmtree(scratch, ignore_errors=True)
    return calls, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    calls, _ = walk(args.steps)
    entered: list[str] = []
    climbs = upward = returns = 0
    left: set[str] = set()
    previous = ""
    for caller, called, function in calls:
        climb = bool(previous) and layer(called) > layer(previous)
        back = called != previous and called in left
        climbs += climb
        upward += bool(caller) and layer(called) > layer(caller)
        returns += back
        if previous and called != previous:
            left.add(previous)
        previous = called
        if called not in entered:
            entered.append(called)
        if args.verbose:
            print(f"{'^' if climb else ' '}{'<' if back else ' '} {caller} -> {called}.{function}")
    print(f"steps {len(calls)}, modules {len(entered)}, climbs {climbs}, upward calls {upward}, returns {returns}")
    if args.verbose:
        print("modules:", " ".join(entered))


if __name__ == "__main__":
    main()
