"""`scaffold gen` and `scaffold check` when nothing changed, in a few milliseconds.

Runs before the CLI framework, protoc or Jinja are imported: it reads the
manifest, recomputes the inputs' digest (`scaffold.inputs`) and checks that
every file scaffold recorded is still what it wrote. Only when all of that
holds does it answer "up to date"; anything else (other arguments, a changed
input, an edited or missing file, conflict markers, a transaction left by an
interrupted run) falls through to the full pipeline, which decides.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from scaffold import inputs

MANIFEST = ".scaffold/manifest.json"
BASE_DIR = ".scaffold/base"
TXN_DIR = ".scaffold/txn"
_MESSAGES = {"gen": "Up to date (no input changed).", "check": "Up to date."}


def run(argv: Sequence[str]) -> bool:
    """Handle `[-q] gen|check [-C DIR]` when nothing changed; False to let the full CLI run."""
    quiet = bool(argv) and argv[0] in ("-q", "--quiet")
    command, root = _parse(argv[1:] if quiet else argv)
    if command is None:
        return False
    if root is None:
        root = _find_project(Path.cwd())
    if root is None or not up_to_date(root):
        return False
    if not quiet:
        print(_MESSAGES[command])
    return True


def up_to_date(root: Path) -> bool:
    if (root / TXN_DIR).exists():
        return False
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        recorded = manifest["inputs"]
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    table = inputs.config_table(root)
    if table is None or recorded != inputs.digest(root, table):
        return False
    for path, entry in files.items():
        if entry["owner"] == "generated":
            if _sha256(root / path) != entry["sha256"]:
                return False
        elif _sha256(root / BASE_DIR / path) != entry["sha256"] or _has_conflict_markers(root / path):
            return False
    return True


def _parse(argv: Sequence[str]) -> tuple[str | None, Path | None]:
    if not argv or argv[0] not in _MESSAGES:
        return None, None
    rest = list(argv[1:])
    if not rest:
        return argv[0], None
    if len(rest) == 2 and rest[0] in ("-C", "--project"):
        return argv[0], Path(rest[1])
    return None, None


def _find_project(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        if inputs.config_table(directory) is not None:
            return directory
    return None


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _has_conflict_markers(path: Path) -> bool:
    try:
        content = path.read_bytes()
    except OSError:
        return False  # a user file the user deleted: the full pipeline reports it, nothing to write
    return b"\n<<<<<<< " in b"\n" + content


if __name__ == "__main__":  # pragma: no cover
    sys.exit(0 if run(sys.argv[1:]) else 1)
