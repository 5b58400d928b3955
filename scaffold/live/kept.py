"""The descriptors `scaffold call` last read for a project, kept while nothing they come from changed.

Each call is a whole process, and loading the project (its config, scaffold's record, an incremental
protoc run that usually compiles nothing) costs more in imports than the call itself (issue 30). The
descriptors come from the inputs alone (the config, the protos, the installed distributions), so they
are kept in the project's cache with the status of each input, taken before they were read, as the
no-op stamp keeps the status of what it checked (`scaffold.fastpath`). They are used only while every
input still has that status and is older than the kept copy (an edit in the same clock tick as the
copy could leave the same times behind).
"""

from __future__ import annotations

import marshal
import os
from pathlib import Path

from scaffold import run_identity
from scaffold.generation.uptodate import Status, inputs_status
from scaffold.layout import CACHE_DIR
from scaffold.record import cache

_NAME = "call-descriptors.marshal"
_FORMAT = 1

Inputs = dict[str, Status]


def inputs(root: Path) -> Inputs | None:
    """The status of the inputs now; None outside a project, or where protoc's result is dumped or
    replayed (`scaffold.generation.replay`): each call then goes through protoc's stage."""
    if os.environ.get("SCAFFOLD_DUMP") or os.environ.get("SCAFFOLD_REPLAY"):
        return None
    return inputs_status(root)


def load(root: Path, now: Inputs) -> tuple[bytes, list[str]] | None:
    """The serialized FileDescriptorSet and the method names kept for inputs of status `now`, if they are."""
    data = cache.read(root, _NAME)
    try:
        form, identity, status, files, names = marshal.loads(data) if data else (None, None, None, b"", [])
        written = os.stat(root / CACHE_DIR / _NAME, follow_symlinks=False).st_mtime_ns
    except (EOFError, ValueError, TypeError, OSError):
        return None  # none, or a cache gone wrong: read the project again
    if (form, identity, status) != (_FORMAT, run_identity(), now) or not isinstance(files, bytes):
        return None
    if any(entry is not None and (entry[0] >= written or entry[1] >= written) for entry in now.values()):
        return None  # changed in the clock tick the copy was written in, maybe: not trusted
    return files, [str(name) for name in names]


def save(root: Path, before: Inputs, files: bytes, names: list[str]) -> None:
    """Keep what was read from inputs of status `before` (taken before they were read)."""
    cache.write(root, _NAME, marshal.dumps((_FORMAT, run_identity(), before, files, names)))
