"""The no-op stamp's entries: the status (times, size, inode) of the files a run read, as `scaffold.fastpath`
compares them with `stat` alone, the way git compares its index with the work tree.

Two kinds are written. The content check (`scaffold.generation.uptodate`) leaves one that vouches: every
input and output it covers was what scaffold last wrote, so while their status holds, nothing changed. A
`gen` that wrote leaves one that never vouches: the config, the manifest it just wrote and the inputs, and no
output. All it can ever tell the next run is that an input proto has another size than this run left it with,
or is gone, so the inputs' digest differs and the content check would hash the whole tree only to fail
(about 0.25 s of a googleapis edit loop's `gen`); anything else it leaves to the content check. Its status
may even be taken after a save that the run did not read: the next run then goes the full way, which
decides everything, so what it says is never a verdict.
"""

from __future__ import annotations

import marshal
import os
from collections.abc import Sequence
from pathlib import Path

from scaffold import run_identity
from scaffold.generation import inputs
from scaffold.layout import CONFIG_FILE, MANIFEST, STAMP, STAMP_FORMAT
from scaffold.record import cache

Status = tuple[int, int, int, int] | None
"""mtime, ctime, size and inode of a file or directory; None for one that does not exist (a deleted user file)."""


def status_of(paths: Sequence[str | os.PathLike[str]]) -> dict[str, Status]:
    status: dict[str, Status] = {}
    for path in dict.fromkeys(paths):
        try:
            result = os.stat(path)
        except OSError:  # missing, or not ours to stat: the stamp then never vouches for it
            status[str(path)] = None
            continue
        status[str(path)] = (result.st_mtime_ns, result.st_ctime_ns, result.st_size, result.st_ino)
    return status


def inputs_read(root: Path, table: dict[str, object]) -> list[str | Path]:
    """Every directory the inputs' digest lists and every file in them (a new proto changes its directory's
    times), below links as the digest follows them."""
    found: list[str | Path] = []
    for directory in inputs.directories_read(root, table):
        found.append(directory)  # one that does not exist yet is stamped as missing: creating it is a change
        for parent, names in inputs.walk(directory):
            found.append(parent)
            found += [os.path.join(parent, name) for name in names]
    return found + inputs.installed_read(root, table)  # a distribution upgraded under a copy of its proto


def inputs_status(root: Path) -> dict[str, Status] | None:
    """The status of the config and of every input the digest reads (what protoc's descriptors come from);
    None for a directory without [tool.scaffold]."""
    table = inputs.config_table(root)
    return None if table is None else status_of([root / CONFIG_FILE, *inputs_read(root, table)])


def write(root: Path, status: dict[str, Status], inputs_end: int, vouches: bool) -> None:
    """The status of every file checked, in the order checked (config, manifest, inputs, then outputs), so
    that the next run meets a saved proto before it has stated 40,000 outputs; and where the outputs begin:
    a proto before them whose size differs tells the next run, without hashing, that the digest changed."""
    entries = [(inputs.relative(path, root), values) for path, values in status.items()]
    stamp = (STAMP_FORMAT, run_identity(), entries, inputs_end, vouches)
    cache.write(root, os.path.basename(STAMP), marshal.dumps(stamp))


def after_writing(root: Path) -> None:
    """Leave the stamp that never vouches, once a `gen` has written (the manifest with it). Quiet: a stamp
    missing only costs the next run its content check."""
    try:
        root = Path(os.path.abspath(root))  # the stamp names files by cutting this off
        table = inputs.config_table(root)
        if table is None:
            return
        status = status_of([root / CONFIG_FILE, root / MANIFEST, *inputs_read(root, table)])
        write(root, status, len(status), vouches=False)
    except Exception:  # noqa: BLE001 - after the run wrote (a config saved since may not parse): a cache lost
        return
