"""protoc over the machine's cores for a large batch: the protos in groups, one child process each.

protoc is single-threaded, and on googleapis (7,234 protos) it was the larger half of
`new`: 37 s in one process, 24 to 27 s as two children on this 2-core machine, each
parsing its half of the files and the few they share (issue 30). A child costs a
`python -m grpc_tools.protoc` start (about 90 ms), so a batch below `SHARD_FROM_BYTES`
of proto text stays in one protoc, in-process. What a child generates for a file
depends only on that file and what it imports, so the groups' outputs are the single
run's, byte for byte; the descriptors are put back in the single run's order.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from google.protobuf import descriptor_pb2

SHARD_FROM_BYTES = 4_000_000
"""Proto text a batch must name before protoc is split: googleapis is 79 MB, temporalio's 97 protos 1.3 MB."""

_MOST_SHARDS = 4
"""Each child holds its group's outputs in memory until it exits; more children would cost memory, not time."""


def groups(names: Sequence[str], find: Callable[[str], Path | None]) -> list[list[str]]:
    """`names` in groups of about equal proto text, one per core, each in the batch's order; one group
    when the batch is small or the machine has one core. Deterministic: the largest file first into the
    lightest group, ties by name."""
    sizes = {name: _size(find(name)) for name in names}
    count = min(os.cpu_count() or 1, _MOST_SHARDS)
    if count < 2 or sum(sizes.values()) < SHARD_FROM_BYTES:
        return [list(names)]
    loads = [0] * count
    member: dict[str, int] = {}
    for name in sorted(names, key=lambda n: (-sizes[n], n)):
        lightest = loads.index(min(loads))
        member[name] = lightest
        loads[lightest] += sizes[name]
    return [group for index in range(count) if (group := [n for n in names if member[n] == index])]


def _size(path: Path | None) -> int:
    try:
        return os.stat(path).st_size if path is not None else 0
    except OSError:
        return 0  # protoc says what is wrong with it


def run_children(commands: Sequence[Sequence[str]]) -> list[tuple[int, str]]:
    """Each protoc command line (without the program) run as a child at once; each one's exit code and
    stderr. A run cut short (Ctrl-C, an exception) takes its children with it."""
    with contextlib.ExitStack() as stack:
        started = []
        for command in commands:
            stderr = stack.enter_context(tempfile.TemporaryFile())  # a pipe could fill and stall the child
            child = subprocess.Popen(
                [sys.executable, "-m", "grpc_tools.protoc", *command],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
            stack.callback(_stop, child)
            started.append((child, stderr))
        results = []
        for child, stderr in started:
            code = child.wait()
            stderr.seek(0)
            results.append((code, stderr.read().decode("utf-8", "replace")))
        return results


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.kill()
        child.wait()


def merged(sets: Iterable[descriptor_pb2.FileDescriptorSet], names: Sequence[str]) -> descriptor_pb2.FileDescriptorSet:
    """The groups' descriptor sets as one protoc run over `names` writes it (`protoc_order`)."""
    files = {file.name: file for file_set in sets for file in file_set.file}
    result = descriptor_pb2.FileDescriptorSet()
    result.file.extend(files[name] for name in protoc_order(names, lambda name: files[name].dependency))
    return result


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
