"""The sha256 of a file, known from its status while it has not changed since it was hashed.

On googleapis a run hashed its 7,234 protos twice (the inputs' digest, and
protoc's record checking which protos changed): 2 s of reading before any
work, on every save. As git's index does, each hash is kept with the
status (times, size, inode) the file had before it was read, and the next
run reads again only the files whose status differs. A hash is kept only
for a file last modified well before the run began: one written in the
same clock tick as the read could change again without its times changing.

Standard library only: the no-op path (`scaffold.generation.uptodate`) uses it. Kept in
`.scaffold/cache/` (see `scaffold.record.cache`): losing it costs a re-read, never
a wrong answer.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import time

from scaffold.record import cache

NAME = "hashes.marshal"
_FORMAT = 1
_SETTLED_NS = 1_000_000_000
"""How much older than the run a file's times must be for its hash to be kept (coarse file systems tick in seconds)."""
SETTLED_ENVIRONMENT = "SCAFFOLD_SETTLED_NS"
"""A seam for tests: another `_SETTLED_NS` (0: every file older than the run), so that runs a moment apart
answer from status as runs a second apart do, on file systems whose times have nanoseconds."""

_Entry = tuple[int, int, int, int, str]


class Hashes:
    """The hashes of the files one run asks about; `save` keeps those the next run can trust."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        """The hashes kept in the cache of the project at `root`; None keeps none (every file is read)."""
        self.root = None if root is None else os.fspath(root)
        self._started_ns = time.time_ns()
        self._settled_ns = _settled_ns()
        self._known = {} if self.root is None else _load(self.root)
        self._asked: dict[str, _Entry] = {}
        self._answered: dict[str, str] = {}

    def sha256(self, path: str | os.PathLike[str]) -> str:
        """The hex sha256 of the file at `path` (absolute, or relative to the working directory); raises
        OSError as reading it would."""
        key = os.fspath(path)
        if not os.path.isabs(key):
            key = os.path.abspath(key)
        if key in self._answered:  # asked again in the same run (a proto: by the digest, then by protoc's record)
            return self._answered[key]
        status = os.stat(key)
        now = (status.st_mtime_ns, status.st_ctime_ns, status.st_size, status.st_ino)
        entry = self._known.get(key)
        if type(entry) is tuple and len(entry) == 5 and entry[:4] == now and isinstance(entry[4], str):
            self._asked[key] = entry
            digest = entry[4]
        else:
            digest = hashlib.sha256(_read(key)).hexdigest()
            if max(now[0], now[1]) < self._started_ns - self._settled_ns:
                self._asked[key] = (*now, digest)
        self._answered[key] = digest
        return digest

    def save(self, complete: bool = True) -> None:
        """Keep the hashes of this run's files: only those when the run asked about every file of the project
        (`complete`: the cache follows the project as it is now), else those besides the ones kept before."""
        kept = self._asked if complete else self._known | self._asked
        if self.root is not None and kept != self._known:
            cache.write(self.root, NAME, marshal.dumps((_FORMAT, kept)))


def _settled_ns() -> int:
    """The seam's value, or the default when it is unset or not a count of nanoseconds (never a traceback)."""
    try:
        return max(0, int(os.environ.get(SETTLED_ENVIRONMENT, _SETTLED_NS)))
    except ValueError:
        return _SETTLED_NS


def _load(root: str) -> dict[str, _Entry]:
    """The kept hashes; each entry's shape is checked where it is used (`Hashes.sha256`): a crafted or
    corrupt entry is one to ignore, never a traceback."""
    try:
        form, known = marshal.loads(cache.read(root, NAME) or b"")
    except Exception:  # noqa: BLE001 - missing, truncated, or from another Python: hash everything
        return {}
    return known if form == _FORMAT and isinstance(known, dict) else {}


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()
