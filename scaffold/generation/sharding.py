"""protoc over the machine's cores for a large batch: the protos in groups, one child process each.

protoc is single-threaded, and on googleapis (7,234 protos) it was the larger half of
`new`: 33 s in one process on this 2-core machine, 26 s as two children. Each child
holds every output of its group until it exits, so two children at once took 1.27x
the memory of the one process; four groups, two at a time, took 28 s and 0.79x
spread by size, and 17.6 s as runs of the path order (`groups`), with `new`'s whole
peak at 0.74x of the one protoc (issue 30 asks for at most 1.3x). A child costs a
start (about 10 ms, `_CHILD`) and a parse of what its group imports, so a batch below `SHARD_FROM_BYTES`
of proto text is not split in groups. What a child generates for a file
depends only on that file and what it imports, so the groups' outputs are the single
run's, byte for byte; the descriptors are put back in the single run's order.

A medium batch (temporalio's 72 protos, 864 KB of proto text) is not worth groups, whose children each parse what
their group imports; its generators are split instead, the messages' modules and the descriptors written
by this process's protoc while a child writes the stubs and the grpc modules (`generators_apart`).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from google.protobuf import descriptor_pb2

from scaffold.core.errors import fail
from scaffold.core.processes import usable_cores

if TYPE_CHECKING:
    import subprocess

SHARD_FROM_BYTES = 4_000_000
"""Proto text a batch must name before protoc is split: googleapis is 79 MB, temporalio's 97 protos 1.3 MB."""

GENERATORS_APART_FROM_BYTES = 150_000
"""Proto text from which one protoc's generators are split over two processes (`generators_apart`). Timed
in process on temporalio's smallest protos, one run against the two: 58 KB, 39 ms against 45; 115 KB, 59
against 58; 240 KB, 98 against 84; all 864 KB, 279 against 203."""

_MOST_AT_ONCE = 4
"""Children running at once: one per core, and no more than this (each holds its group's outputs in memory)."""

_GROUPS_PER_CHILD = 2
"""Groups per child running at once: smaller groups hold less in memory; each parses the files it shares again."""


def groups(names: Sequence[str], find: Callable[[str], Path | None]) -> list[list[str]]:
    """`names` in groups of about equal proto text, `_GROUPS_PER_CHILD` for each child `at_once` runs,
    each in the batch's order; one group when the batch is small or the machine has one core.

    A group is a run of the protos in path order, not a spread of them: a package's files import each
    other, and a child parses every file its group imports. Spread by size over four groups, googleapis'
    groups each parsed most of the tree (24 s on two cores); in runs of the path order, 17.6 s. A group is
    cut where its text reaches an equal share of what is left (a file larger than a share does not leave
    the groups after it one file each), and early enough that every group holds a file; fewer protos than
    groups make a group each. Deterministic."""
    sizes = {name: _size(find(name)) for name in names}
    total = sum(sizes.values())
    if at_once() < 2 or total < SHARD_FROM_BYTES:
        return [list(names)]
    ordered = sorted(set(names))
    count = min(at_once() * _GROUPS_PER_CHILD, len(ordered))
    member: dict[str, int] = {}
    current = held = files = 0  # the group filled now, its text and its files
    left = total  # the text of this group and of those after it
    for position, name in enumerate(ordered):
        groups_after = count - 1 - current
        if files and groups_after and (held >= left / (count - current) or len(ordered) - position <= groups_after):
            current, left, held, files = current + 1, left - held, 0, 0
        member[name] = current
        held += sizes[name]
        files += 1
    return [[name for name in names if member[name] == index] for index in range(count)]


def generators_apart(names: Sequence[str], find: Callable[[str], Path | None]) -> bool:
    """Whether a batch protoc compiles in one run is worth a second run beside it, in a child, that generates
    the stubs and the grpc modules while this process's run writes the messages' modules and descriptors:
    each parses the whole batch, so it pays only where generating costs more than parsing again and a
    child's start (`GENERATORS_APART_FROM_BYTES`)."""
    return at_once() >= 2 and sum(_size(find(name)) for name in names) >= GENERATORS_APART_FROM_BYTES


def below_split(names: Sequence[str], find: Callable[[str], Path | None]) -> bool:
    """Whether `names` hold less proto text than a batch protoc is split at: parsed whole in a blink."""
    return sum(_size(find(name)) for name in names) < SHARD_FROM_BYTES


def _size(path: Path | None) -> int:
    try:
        return os.stat(path).st_size if path is not None else 0
    except OSError:
        return 0  # protoc says what is wrong with it


def at_once() -> int:
    """How many children run at once: the cores this process may use (a container's share, not the host's);
    one, this process, in a frozen build, whose `sys.executable` runs no `python -c`."""
    return 1 if getattr(sys, "frozen", False) else min(usable_cores(), _MOST_AT_ONCE)


def run_children(commands: Sequence[Sequence[str]]) -> list[tuple[int, str]]:
    """Each protoc command line (without the program) run as a child, `at_once()` at a time; each one's
    exit code and stderr, in the commands' order. A run cut short (Ctrl-C, an exception) stops its
    children, and starts no more."""
    import concurrent.futures  # here: with subprocess, 6 ms of every small run's imports, used only on large trees

    started: list[subprocess.Popen[bytes]] = []
    stopping = threading.Event()
    lock = threading.Lock()  # a child is started and listed, or not started at all, once the run stops

    def run(command: Sequence[str]) -> tuple[int, str]:
        with tempfile.TemporaryFile() as stderr:  # a pipe could fill and stall the child
            with lock:
                if stopping.is_set():
                    return -1, ""
                try:
                    child = _start(command, stderr)
                except OSError as error:
                    raise fail(sys.executable, f"cannot start protoc in a child process: {error.strerror}") from None
                started.append(child)
            return _finished(child, stderr)

    pool = concurrent.futures.ThreadPoolExecutor(at_once())
    try:
        futures = [pool.submit(run, command) for command in commands]
        while True:
            # Woken now and then: a Ctrl-C the kernel handed to a worker thread is raised here only
            # once this thread runs again (a wait without end was never interrupted: the children,
            # blocked, were never stopped).
            done, waiting = concurrent.futures.wait(futures, 0.25, concurrent.futures.FIRST_EXCEPTION)
            for future in done:
                if future.exception() is not None:
                    future.result()  # raises it
            if not waiting:
                return [future.result() for future in futures]
    finally:
        with lock:
            stopping.set()
        pool.shutdown(wait=False, cancel_futures=True)
        for child in started:
            _stop(child)


def beside_a_child(
    child_command: Sequence[str], own: Callable[[], tuple[int, str]], ran: Callable[[tuple[int, str]], bool]
) -> list[tuple[int, str]] | None:
    """`own` protoc run (in this process) while a child runs `child_command`; each one's exit code and stderr,
    or only `own`'s where it failed (one protoc stops at its first generator that fails, and this process
    runs the first). None where the child could not be started (a process limit) or did not do its part
    (`ran`: killed, say, with no error said): the caller then runs the batch itself. Leaving early
    (Ctrl-C, an exception) stops the child."""
    with tempfile.TemporaryFile() as stderr:
        try:
            child = _start(child_command, stderr)
        except OSError:
            return None
        try:
            said = own()
            if said[0] != 0:
                return [said]
            theirs = _finished(child, stderr)
            return [said, theirs] if ran(theirs) else None
        finally:
            _stop(child)


_CHILD = (
    "import os, sys\n"
    "try:\n"
    "    import ctypes\n"
    "    ctypes.CDLL(None).prctl(1, 9)\n"  # PR_SET_PDEATHSIG, SIGKILL: gone with the run that started it
    "except Exception:\n"
    "    pass\n"
    "if os.getppid() != int(os.environ['SCAFFOLD_PROTOC_PARENT']):\n"  # that run died before it was set
    "    sys.exit(1)\n"
    "from grpc_tools import _protoc_compiler\n"
    "sys.exit(_protoc_compiler.run_main([b'grpc_tools.protoc', *map(os.fsencode, sys.argv[1:])]))\n"
)
"""A child's program: grpcio-tools' compiler and nothing else. `python -m grpc_tools.protoc` took 30 ms to
start here, this 10 ms; what that module adds, an -I of the well-known protos, every command here names.
It dies with the process that started it (Linux), as the compile check's workers do."""


def _start(command: Sequence[str], stderr: IO[bytes]) -> subprocess.Popen[bytes]:
    """A protoc child, started; OSError where it cannot be."""
    import subprocess  # here: with concurrent.futures, 6 ms of every small run's imports

    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, *command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr,  # a file: a pipe could fill and stall the child
        env=_child_environment(),
    )


def _finished(child: subprocess.Popen[bytes], stderr: IO[bytes]) -> tuple[int, str]:
    code = child.wait()
    stderr.seek(0)
    return code, stderr.read().decode("utf-8", "replace")


def _child_environment() -> dict[str, str]:
    """This process's environment, with what a child needs to import what this process imports (a
    zipapp's or a wrapper's `sys.path`), without the working directory first on its path (Python
    3.11's safe path; 3.10 ignores it), and without PYTHONINSPECT (which makes the child's exit print
    `SystemExit` and fail)."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONINSPECT"}
    return environment | {
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "PYTHONSAFEPATH": "1",
        "SCAFFOLD_PROTOC_PARENT": str(os.getpid()),
    }


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.kill()
        child.wait()


def merged(sets: Iterable[descriptor_pb2.FileDescriptorSet], names: Sequence[str]) -> descriptor_pb2.FileDescriptorSet:
    """The groups' descriptor sets as one protoc run over `names` writes it (`protoc_order`)."""
    files = {file.name: file for file_set in sets for file in file_set.file}
    result = descriptor_pb2.FileDescriptorSet()
    result.file.extend(files[name] for name in protoc_order(names, lambda name: read_before(files[name])))
    return result


def read_before(file: descriptor_pb2.FileDescriptorProto) -> tuple[str, ...]:
    """The protos protoc reads before `file`, in its order: its imports, then its option imports (edition
    2024's `import option`, which bring the extensions its options name and nothing else)."""
    return (*file.dependency, *file.option_dependency)


def protoc_order(names: Iterable[str], dependencies: Callable[[str], Sequence[str]]) -> list[str]:
    """The order of `protoc --include_imports`: each input after everything it imports, depth first."""
    order: list[str] = []
    seen: set[str] = set()
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        stack = [(name, iter(dependencies(name)))]  # a stack rather than recursion: import chains can be deep
        while stack:
            current, pending = stack[-1]
            dependency = next((d for d in pending if d not in seen), None)
            if dependency is None:
                stack.pop()
                order.append(current)
            else:
                seen.add(dependency)
                stack.append((dependency, iter(dependencies(dependency))))
    return order
