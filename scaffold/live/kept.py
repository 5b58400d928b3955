"""The descriptors `scaffold call` last read for a project, kept while nothing they come from changed.

Each call is a whole process, and loading the project (its config, scaffold's record, an incremental
protoc run that usually compiles nothing) costs more in imports than the call itself (issue 30). The
descriptors come from the inputs alone (the config, the protos and their directories, the installed
distributions), so they are kept in the project's cache with the status of each input, taken before
they were read, as the no-op stamp keeps the status of what it checked (`scaffold.fastpath`). They are
used only while every input still has that status and is older than the kept copy (an edit in the same
clock tick as the copy could leave the same times behind). Checking that stats files and parses
nothing: not even the config.
"""

from __future__ import annotations

import marshal
import os
from pathlib import Path

from scaffold import run_identity
from scaffold.layout import CACHE_DIR, CONFIG_FILE
from scaffold.record import cache

_NAME = "call-descriptors.marshal"
_FORMAT = 2

Status = tuple[int, int, int, int] | None
Inputs = dict[str, Status]


def is_kept_for(root: Path) -> bool:
    """Whether `root` holds a project's config and a kept copy (which only a project's call leaves)."""
    return (root / CONFIG_FILE).is_file() and (root / CACHE_DIR / _NAME).is_file()


def inputs(root: Path) -> Inputs | None:
    """The status of the inputs now; None outside a project, or where protoc's result is dumped or
    replayed (`scaffold.generation.replay`): each call then goes through protoc's stage."""
    if _replaying():
        return None
    from scaffold.generation.stamps import inputs_status

    return inputs_status(root.absolute())  # keyed by absolute paths: a call from elsewhere finds the same files


def load(root: Path) -> tuple[bytes, list[str]] | None:
    """The serialized FileDescriptorSet and the method names, if they were kept for inputs that all still
    have the status they had."""
    if _replaying():
        return None
    data = cache.read(root, _NAME)
    try:
        form, identity, status, files, names = marshal.loads(data) if data else (None, None, {}, b"", [])
        written = os.stat(root / CACHE_DIR / _NAME, follow_symlinks=False).st_mtime_ns
    except (EOFError, ValueError, TypeError, OSError):
        return None  # none, or a cache gone wrong: read the project again
    if (form, identity) != (_FORMAT, run_identity()) or not isinstance(files, bytes) or not status:
        return None
    for path, then in status.items():
        now = _status(path)
        if now != then or (now is not None and (now[0] >= written or now[1] >= written)):
            return None  # changed, or changed in the clock tick the copy was written in, maybe
    return files, [str(name) for name in names]


def save(root: Path, before: Inputs, files: bytes, names: list[str]) -> None:
    """Keep what was read from inputs of status `before` (taken before they were read)."""
    cache.write(root, _NAME, marshal.dumps((_FORMAT, run_identity(), before, files, names)))


def _status(path: str) -> Status:
    try:
        result = os.stat(path)
    except OSError:
        return None
    return (result.st_mtime_ns, result.st_ctime_ns, result.st_size, result.st_ino)


def _replaying() -> bool:
    """protoc's result dumped or replayed (`scaffold.generation.replay`'s variables): nothing kept then."""
    return bool(os.environ.get("SCAFFOLD_DUMP") or os.environ.get("SCAFFOLD_REPLAY"))
