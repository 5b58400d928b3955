"""`scaffold gen` and `scaffold check` when nothing changed, in a few milliseconds.

Runs before the CLI framework, protoc or Jinja are imported, and before
`pathlib` even: only `os` and `marshal`, which the interpreter has loaded
already. It compares the status (times, size, inode) of every file the last
full check read with the stamp that check left (`scaffold.generation.uptodate`), as git
does with its index; a file whose times are not older than the stamp itself
could have changed in the same clock tick, so it is not trusted. When the
stamp cannot answer, the content check runs (hashing every input and output)
and leaves a new stamp. Only when one of them holds does this answer "up to
date"; anything else (other arguments, a changed input, an edited or missing
file, conflict markers, a transaction left by an interrupted run) falls
through to the full pipeline, which decides.
"""

from __future__ import annotations

import marshal
import os
import sys

from scaffold import run_identity
from scaffold.layout import CACHE_DIR, CONFIG_FILE, MANIFEST, STAMP, STAMP_FORMAT, STATE_DIR, TXN_DIR

REQUIRED = frozenset({CONFIG_FILE, os.path.normpath(MANIFEST)})
_MESSAGES = {"gen": "Up to date (no input changed).", "check": "Up to date."}


def run(argv: list[str]) -> bool:
    """Handle `[-q] gen|check [-C DIR]` when nothing changed; False to let the full CLI run."""
    quiet = bool(argv) and argv[0] in ("-q", "--quiet")
    command, root = _parse(argv[1:] if quiet else argv)
    if command is None:
        return False
    if root is None:
        root = _find_project(os.getcwd())
    if root is None:
        return False
    if not stamp_holds(root):
        from pathlib import Path

        from scaffold.generation import uptodate

        if not uptodate.check_and_stamp(Path(root)):
            return False
    if not quiet:
        print(_MESSAGES[command])
    return True


def stamp_holds(root: str) -> bool:
    """Whether every file the last content check read still has the status it had then."""
    try:
        if os.path.islink(os.path.join(root, STATE_DIR)) or os.path.islink(os.path.join(root, CACHE_DIR)):
            return False  # the full pipeline refuses it (`scaffold.record.lock`)
        with open(os.open(os.path.join(root, STAMP), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb") as stamp:
            written = os.fstat(stamp.fileno()).st_mtime_ns
            form, version, entries = marshal.loads(stamp.read())
        if form != STAMP_FORMAT or version != run_identity() or os.path.lexists(os.path.join(root, TXN_DIR)):
            return False
        if not REQUIRED.issubset(path for path, _ in entries):
            return False  # a stamp that does not cover the config and the manifest vouches for nothing
        for path, status in entries:
            try:
                now = os.stat(os.path.join(root, path))
            except FileNotFoundError:
                if status is None:
                    continue
                return False
            if status is None or status != (now.st_mtime_ns, now.st_ctime_ns, now.st_size, now.st_ino):
                return False
            if now.st_mtime_ns >= written or now.st_ctime_ns >= written:
                return False  # same clock tick as the stamp: a later edit could carry the same times
        return True
    except Exception:  # noqa: BLE001 - missing, unreadable, or from another Python: the content check decides
        return False


def _parse(argv: list[str]) -> tuple[str | None, str | None]:
    if not argv or argv[0] not in _MESSAGES:
        return None, None
    rest = argv[1:]
    if not rest:
        return argv[0], None
    if len(rest) == 2 and rest[0] in ("-C", "--project"):
        return argv[0], rest[1]
    return None, None


def _find_project(start: str) -> str | None:
    """The project around `start`: the nearest directory with a stamp or a pyproject.toml.

    A pyproject.toml met first may or may not hold [tool.scaffold]; the
    content check reads it (and goes on upward like `scaffold.generation.configfile.find_project`).
    """
    directory = start
    while True:
        if os.path.exists(os.path.join(directory, STAMP)):
            return directory
        if os.path.exists(os.path.join(directory, CONFIG_FILE)):
            return _find_configured(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _find_configured(start: str) -> str | None:
    from pathlib import Path

    from scaffold.generation import inputs

    for directory in (Path(start), *Path(start).parents):
        if inputs.config_table(directory) is not None:
            return str(directory)
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(0 if run(sys.argv[1:]) else 1)
