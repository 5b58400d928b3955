"""`scaffold gen` and `scaffold check` when nothing changed, in a few milliseconds.

Runs before the CLI framework, protoc or Jinja are imported, and before
`pathlib` even: only `os` and `marshal`, which the interpreter has loaded
already. It compares the status (times, size, inode) of every file the last
full check read with the stamp that check left (`scaffold.generation.uptodate`), as git
does with its index; a file whose times are not older than the stamp itself
could have changed in the same clock tick, so it is not trusted. When the
stamp cannot answer, the content check runs (hashing every input and output)
and leaves a new stamp, unless the stamp already shows an input proto of
another size, or gone: the digest differs then, and hashing the tree would
only say so later. A `gen` that wrote leaves a stamp of its inputs for that
alone (`scaffold.generation.stamps`), which never vouches, so an edit loop's
next `gen` skips the content check too (about 0.25 s of a googleapis leaf
change's 5 s). Only when a vouching stamp holds, or the content check passes,
does this answer "up to date"; anything else (other arguments, a changed
input, an edited or missing file, conflict markers, a transaction left by an
interrupted run) falls through to the full pipeline, which decides.
"""

from __future__ import annotations

import marshal
import os
import stat
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
    said = stamp_says(root)
    if said == CHANGED:
        return False  # the content check would hash the whole tree only to say so
    if said == UNKNOWN:
        from pathlib import Path

        from scaffold.generation import uptodate

        if not uptodate.check_and_stamp(Path(root)):
            return False
    if not quiet:
        print(_MESSAGES[command])
    return True


HOLDS, CHANGED, UNKNOWN = "holds", "changed", "unknown"
"""What the stamp says: every file it covers is as it was; a proto the inputs' digest covers surely changed
(its size differs, or it is gone), so the content check cannot hold; or only the content check can tell."""


def stamp_says(root: str) -> str:
    """Whether every file the last content check read still has the status it had then (HOLDS), or what
    else (CHANGED, UNKNOWN). A stamp a writing `gen` left (`scaffold.generation.stamps`) never vouches: it
    can say CHANGED, never HOLDS."""
    try:
        if os.path.islink(os.path.join(root, STATE_DIR)) or os.path.islink(os.path.join(root, CACHE_DIR)):
            return UNKNOWN  # the full pipeline refuses it (`scaffold.record.lock`)
        with open(os.open(os.path.join(root, STAMP), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb") as stamp:
            written = os.fstat(stamp.fileno()).st_mtime_ns
            form, version, entries, inputs_end, vouches = marshal.loads(stamp.read())
        if form != STAMP_FORMAT or version != run_identity() or os.path.lexists(os.path.join(root, TXN_DIR)):
            return UNKNOWN
        if not REQUIRED.issubset(path for path, _ in entries):
            return UNKNOWN  # a stamp that does not cover the config and the manifest vouches for nothing
        differs = False  # an input's status that only its content can explain
        for index, (path, status) in enumerate(entries):
            if differs and index >= inputs_end:
                return UNKNOWN
            an_input = len(REQUIRED) <= index < inputs_end  # the config and the manifest are stamped first
            said = _entry_says(os.path.join(root, path), status, written if vouches else None, an_input)
            if said == CHANGED:
                return CHANGED
            if said == UNKNOWN:
                if not an_input:
                    return UNKNOWN  # the config, the manifest (the stamp is older than the last run), an output
                differs = True  # a directory's times (a file added, an editor's swap file): a proto may prove more
        return HOLDS if vouches and not differs else UNKNOWN
    except Exception:  # noqa: BLE001 - missing, unreadable, or from another Python: the content check decides
        return UNKNOWN


def _entry_says(path: str, status: tuple[int, int, int, int] | None, written: int | None, an_input: bool) -> str:
    """HOLDS when the file at `path` still has its stamped `status`; CHANGED when it is an input proto of
    another size, or gone; else UNKNOWN. `written` is the time of a stamp that vouches (None: one that does
    not, whose HOLDS never ends in "up to date", so an edit in its clock tick cannot mislead it)."""
    try:
        now = os.stat(path)
    except FileNotFoundError:
        if status is None:
            return HOLDS
        return CHANGED if an_input and path.endswith(".proto") else UNKNOWN
    if status != (now.st_mtime_ns, now.st_ctime_ns, now.st_size, now.st_ino):
        sized = an_input and path.endswith(".proto") and stat.S_ISREG(now.st_mode)
        return CHANGED if sized and status is not None and now.st_size != status[2] else UNKNOWN
    if written is not None and (now.st_mtime_ns >= written or now.st_ctime_ns >= written):
        return UNKNOWN  # same clock tick as the stamp: a later edit could carry the same times
    return HOLDS


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
