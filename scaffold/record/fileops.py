"""The file primitives the write stage's modules share.

The stage (`scaffold.record.write`), the swap of one file
(`scaffold.record.swap`) and the journal that rolls a run back
(`scaffold.record.journal`) all read a file that may be missing, ask whether
anything (a broken link included) is at a path, and write bytes, some of
them synced to disk: each of those is said once, here.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
from collections.abc import Mapping
from pathlib import Path

from scaffold.core.progress import ProgressCallback


def sha256(content: bytes | None) -> str | None:
    """The hash the journal records of what a path holds (None: no file)."""
    return None if content is None else hashlib.sha256(content).hexdigest()


def exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def write_atomically(path: Path, content: bytes) -> None:
    """`path` appears whole or not at all, and survives a power cut once this returns."""
    temporary = path.with_name(path.name + ".tmp")
    write(temporary, content, sync=True)
    os.replace(temporary, path)


def write(path: Path, content: bytes, sync: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:
        file.write(content)
        if sync:
            file.flush()
            os.fsync(file.fileno())


def write_new_tree(directory: Path, files: Mapping[str, bytes], progress: ProgressCallback | None) -> None:
    """Every file of `files` (relative `/`-separated paths) into `directory`, a new, empty one; `progress`
    is told how many are written (by this thread: a progress bar draws from it alone).

    Its directories are made first, each once: asking for a file's parents anew made googleapis' 45,000
    files cost a `mkdir` each (and an exception each, for the ones there). A large tree's files are then
    written by `_WRITERS` threads: creating a file is mostly the kernel's work, outside the GIL."""
    base = os.fspath(directory)
    items = [(os.path.join(base, path), content) for path, content in files.items()]
    for parent in dict.fromkeys(os.path.dirname(full) for full, _ in items):
        os.makedirs(parent, exist_ok=True)
    done, stop = itertools.count(1), threading.Event()
    failed: list[BaseException] = []

    def write_all(part: list[tuple[str, bytes]], report: ProgressCallback | None) -> None:
        for full, content in part:
            if stop.is_set():
                return
            with open(full, "wb") as file:
                file.write(content)
            count = next(done)
            if report:
                report(count, len(items))

    if len(items) < _WRITERS_FROM:
        write_all(items, progress)
        return

    import unicodedata  # here: only a large tree needs it

    parts: list[list[tuple[str, bytes]]] = [[] for _ in range(_WRITERS)]
    writer_of: dict[str, int] = {}  # paths a file system may take for one file (`Foo_pb2.py` and `foo_pb2.py`
    for full, content in items:  # where case is folded, `café` composed or not) go to one writer, in order
        key = unicodedata.normalize("NFC", full).casefold()
        parts[writer_of.setdefault(key, len(writer_of) % _WRITERS)].append((full, content))

    def helper(part: list[tuple[str, bytes]]) -> None:
        try:
            write_all(part, None)
        except BaseException as error:  # noqa: BLE001 - raised in the calling thread, below
            failed.append(error)
            stop.set()

    helpers: list[threading.Thread] = []
    own = parts[0]
    try:
        for part in parts[1:]:
            helpers.append(threading.Thread(target=helper, args=(part,), name="scaffold-writer"))
            try:
                helpers[-1].start()
            except RuntimeError:  # no thread to be had (a container's pids limit): this one writes its part
                helpers.pop()
                own = own + part
        write_all(own, progress)
    except BaseException:
        stop.set()  # this thread failed (a full disk) or was interrupted: the helpers stop at their next file
        raise
    finally:
        _joined(helpers, stop)
    if failed:
        raise failed[0]
    if progress:
        progress(len(items), len(items))


def _joined(threads: list[threading.Thread], stop: threading.Event) -> None:
    """Wait for each of the started `threads` to end, even through a Ctrl-C (which sets `stop`, and is raised once they
    have): the caller takes the staged tree away next, which a writer still running could leave half there."""
    interrupted: KeyboardInterrupt | None = None
    for thread in threads:
        while True:
            try:
                if thread.ident is not None:  # started (a Ctrl-C may land between listing it and starting it)
                    thread.join()
                break
            except KeyboardInterrupt as error:
                interrupted = error
                stop.set()
    if interrupted is not None:
        raise interrupted


_WRITERS = 3
"""Threads writing a large new tree: creating a file mostly waits in the kernel (on this machine, on the
inode blocks the last runs' files are still being written back with), so more writers than cores help.
Writing temporalio's 1,089 files, medians of six rounds: 260 ms with one, 205 with two, 167 with three,
175 with four."""

_WRITERS_FROM = 256
"""Files from which `write_new_tree` writes with `_WRITERS` threads (a thread's start is about 0.1 ms)."""
