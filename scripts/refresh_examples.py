"""Refresh the tool-owned files of examples/ through the real CLI.

Runs `scaffold new protos/NAME.proto` into a temporary directory and copies
over what the tool owns (generated modules, .scaffold/ state, the protos),
leaving the hand-written user files alone. tests/test_examples.py fails when
this has not been run after a change to the templates or the pipeline.

    python scripts/refresh_examples.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = ("helloworld", "route_guide")


def refresh(name: str) -> None:
    example = REPO / "examples" / name
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / name
        subprocess.run(
            [sys.executable, "-m", "scaffold", "new", f"protos/{name}.proto", "-o", str(fresh)], cwd=REPO, check=True
        )
        manifest = json.loads((fresh / ".scaffold/manifest.json").read_text())
        for stale in [example / ".scaffold", example / name / "generated"]:
            shutil.rmtree(stale, ignore_errors=True)
        for path in sorted(p for p in fresh.rglob("*") if p.is_file()):
            relative = path.relative_to(fresh).as_posix()
            owner = manifest["files"].get(relative, {}).get("owner")
            if owner == "generated" or relative.startswith((".scaffold/", "protos/")):
                (example / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, example / relative)


if __name__ == "__main__":
    for example_name in EXAMPLES:
        refresh(example_name)
