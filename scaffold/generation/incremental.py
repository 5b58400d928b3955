"""Stage: run protoc only for the protos whose output can have changed.

A proto's Python output depends on its own source and on the protos it can
see: the ones it imports, and what those re-export with `import public`.
Nothing else: the files that import it, or the imports of its imports, do
not reach its modules. So after one proto changes, protoc has to generate
only that proto and the protos that can see it; every other proto's output,
and its descriptor, are taken from the record of the previous run.

The record lives in `.scaffold/cache/` (ignored by git, like `__pycache__`):
per proto, the file protoc read and its hash, its descriptor (with source
info, for comments) and its three outputs with their hashes. Any doubt about
the record (a different grpcio-tools, include path, Python, or a record that
does not read) means a full run, never a wrong one. The result is assembled
in the order protoc itself uses, so the model and every file rendered from it
are the same bytes a full run writes (`tests/test_incremental.py` holds that).
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2
from grpc_tools import grpc_version  # type: ignore[import-untyped]
from msgspec import Struct

from scaffold import __version__
from scaffold.core import paths
from scaffold.core.errors import Diagnostic
from scaffold.core.naming import module_path
from scaffold.generation import protoc
from scaffold.generation.protocresult import ProtocResult, ProtoInput
from scaffold.generation.relocate import place
from scaffold.generation.sharding import protoc_order
from scaffold.layout import PROTOC_RECORD
from scaffold.record import cache, shards
from scaffold.record.hashes import Hashes

_RECORD = PROTOC_RECORD
_FORMAT = 4
_SETTLED_NS = 1_000_000_000
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")

_Dependencies = Callable[[str], Sequence[str]]
Source = tuple[str, str]


class CompiledProto(Struct, frozen=True):
    """What protoc made of one proto file, and what it was made from."""

    origin: str
    sha256: str
    dependencies: tuple[str, ...]
    public: tuple[str, ...]
    descriptor: bytes
    outputs: dict[str, bytes]
    warnings: tuple[Diagnostic, ...]
    digests: dict[str, str]
    """Each output's sha256: a run that reuses the outputs does not hash them again (147 MB on googleapis)."""


class Record(dict[str, CompiledProto]):
    """Proto name -> what protoc made of it: the previous run's, or the next run's.

    Kept in shards (`scaffold.record.shards`), so a run that compiled a few protos
    rewrites a few shards, not the whole record (226 MB on googleapis).
    `stored` is what the shards held when read: an entry a run reuses stays
    that very object, and a shard of such entries is not written again.
    """

    def __init__(self, entries: Mapping[str, CompiledProto] = {}, stored: shards.Stored | None = None) -> None:
        super().__init__(entries)
        self.stored: shards.Stored = stored or {}


def _provided(name: str, provided: frozenset[str]) -> bool:
    return name in provided or protoc.provided_by_runtime(name)


def stored_from(record: Mapping[str, CompiledProto]) -> shards.Stored:
    return record.stored if isinstance(record, Record) else {}


def run(
    inputs: Sequence[ProtoInput],
    include_dirs: Sequence[Path],
    previous: Mapping[str, CompiledProto] | None,
    placed_in: str = "",
    hashes: Hashes | None = None,
    provided: frozenset[str] = frozenset(),
) -> tuple[ProtocResult, Record]:
    """protoc's result for `inputs`, compiling only what the `previous` run's record cannot provide;
    and the record of this result, for the next run.

    `provided` are protos an installed distribution provides: compiled against, never generated, like the
    runtime's well-known types. With `placed_in` (a package directory), the outputs are placed there
    (`scaffold.generation.relocate.place`): those protoc compiled now; the others come
    placed from the record, which must have been made for the same directory.
    """
    started_ns = time.time_ns()
    roots = protoc.include_roots(inputs, include_dirs)
    searched = (*roots, protoc.WELL_KNOWN_INCLUDE)
    record: Mapping[str, CompiledProto] = previous or {}
    # Hashed before protoc reads them: an edit racing this run is then seen as a change by the next one.
    hashes = hashes or Hashes()
    sources = {name: find_source(name, searched, hashes) for name in record}
    unchanged = {name for name, compiled in record.items() if sources[name] == (compiled.origin, compiled.sha256)}
    names = [item.name for item in inputs]
    fresh: dict[str, descriptor_pb2.FileDescriptorProto] = {}

    def dependencies(name: str) -> Sequence[str]:
        if name in fresh:
            return fresh[name].dependency
        return record[name].dependencies if name in unchanged else ()

    def public(name: str) -> Sequence[str]:
        if name in fresh:
            return [fresh[name].dependency[i] for i in fresh[name].public_dependency]
        return record[name].public if name in unchanged else ()

    def stale(order: Iterable[str], done: Iterable[str]) -> list[str]:
        """Protos to generate: new or edited, or able to see one that is."""
        return [
            name
            for name in order
            if name not in done
            and not _provided(name, provided)
            and (name not in unchanged or not _visible(name, dependencies, public) <= unchanged)
        ]

    outputs: dict[str, bytes] = {}
    warnings: list[Diagnostic] = []
    compiled: list[str] = []
    # Twice at most: protos first reached through an edited one are only known once protoc has parsed it.
    for with_descriptors in (True, False):
        batch = stale(protoc_order(names, dependencies), compiled)
        if batch:
            call = protoc.compile_files(batch, roots, inputs, with_descriptors)
            fresh |= {f.name: f for f in call.descriptors.file} if call.descriptors else {}
            outputs |= call.outputs
            warnings += call.warnings
            compiled += batch
    order = protoc_order(names, dependencies)
    given, generated_now = set(names), set(compiled)  # sets: googleapis' 7,000 names made list scans quadratic
    imported = [name for name in order if name not in given and not _provided(name, provided)]
    if placed_in:
        outputs = place(outputs, (*names, *imported), placed_in)
    reused = [name for name in order if name not in generated_now and name in unchanged]
    shown = {item.name: item.path.as_posix() for item in inputs}
    digests = {path: hashlib.sha256(content).hexdigest() for path, content in outputs.items()}
    for name in reused:
        outputs |= record[name].outputs
        digests |= record[name].digests
        warnings += _shown_at(record[name].warnings, shown.get(name))
    serialized = {name: fresh[name].SerializeToString() if name in fresh else record[name].descriptor for name in order}
    result = ProtocResult(
        inputs=tuple(inputs),
        generated_names=(*names, *imported),
        outputs=dict(sorted(outputs.items())),
        descriptor_set=b"",  # made from `serialized` when asked for (`ProtocResult.descriptors`)
        warnings=protoc.in_order(warnings),
        compiled=tuple(compiled),
        placed_in=placed_in,
        descriptor_bytes=serialized,
        provided=provided,
        digests=digests,
    )
    for name in order:
        if name not in sources:
            sources[name] = _settled_source(name, searched, started_ns, hashes)
    # The entries of protos reused as they were stay the same objects: their shards need no rewriting.
    kept = {name: record[name] for name in reused}
    made = record_of(result, sources, skip=kept)
    return result, Record(
        {name: kept.get(name) or made[name] for name in order if name in kept or name in made}, stored_from(record)
    )


def record_of(result: ProtocResult, sources: Mapping[str, Source | None], skip: Mapping[str, object] = {}) -> Record:
    """Every proto of `result` whose source is known as protoc read it, with its outputs (but those in `skip`)."""
    displayed = {item.name: item.path.as_posix() for item in result.inputs}
    warnings_of: dict[str, list[int]] = {}  # indexes by the path they name: gathered once, not per file
    for index, warning in enumerate(result.warnings):
        warnings_of.setdefault(warning.path, []).append(index)
    record = Record()
    prefix = f"{result.placed_in}/" if result.placed_in else ""
    serialized = result.descriptor_bytes or {f.name: f.SerializeToString() for f in result.descriptors.file}
    for name, descriptor in serialized.items():
        source = sources.get(name)
        if source is None or name in skip:
            continue  # not recorded: the next run compiles it again
        file = descriptor_pb2.FileDescriptorProto.FromString(descriptor)
        stem = prefix + module_path(file.name)
        paths = (f"{stem}_pb2.py", f"{stem}_pb2.pyi", f"{stem}_pb2_grpc.py")
        record[file.name] = CompiledProto(
            origin=source[0],
            sha256=source[1],
            dependencies=tuple(file.dependency),
            public=tuple(file.dependency[i] for i in file.public_dependency),
            descriptor=descriptor,
            outputs={path: result.outputs[path] for path in paths if path in result.outputs},
            warnings=tuple(result.warnings[i] for i in _about(warnings_of, file.name, displayed.get(file.name))),
            digests={path: _digest(result, path) for path in paths if path in result.outputs},
        )
    return record


def _digest(result: ProtocResult, path: str) -> str:
    return result.digests.get(path) or hashlib.sha256(result.outputs[path]).hexdigest()


def _shown_at(warnings: tuple[Diagnostic, ...], path: str | None) -> tuple[Diagnostic, ...]:
    """A reused proto's warnings at the path this run reads it from: the run that recorded them may have
    read it elsewhere (`new` from the user's directory; `gen` from the project's, or with another -C)."""
    if path is None:
        return warnings  # imported from an include root: protoc names it as it did then
    return tuple(w if w.path == path else replace(w, path=path) for w in warnings)


def _about(indexes: Mapping[str, list[int]], name: str, displayed: str | None) -> list[int]:
    """The indexes of the warnings that name a proto by its import name or by the path protoc displayed."""
    found = indexes.get(name, [])
    if displayed is not None and displayed != name:
        found = sorted(found + indexes.get(displayed, []))
    return found


def load(root: Path, placed_in: str) -> Record | None:
    """The previous run's record of a project whose generated package is `placed_in`, or None when there
    is none this run can trust. A shard a killed run left unnamed by the index is left out (see
    `scaffold.record.shards`): its protos are compiled again."""
    loaded = shards.load(root, _RECORD, (_key(root), placed_in), _decode)
    if loaded is None:
        return None
    entries, stored = loaded
    return Record(entries, stored)


def save(root: Path, record: Record, placed_in: str = "") -> None:
    """Keep `record` for the next run: the shards whose entries changed, then the index that names them."""
    shards.save(root, _RECORD, (_key(root), placed_in), record, stored_from(record), _encode)
    cache.remove(root, "protoc.marshal")  # the record as one file, as kept before it was sharded


def _decode(entry: tuple[Any, ...]) -> CompiledProto:
    origin, sha256, dependencies, public, descriptor, outputs, warnings, digests = entry
    if not isinstance(outputs, dict) or any(paths.problem(path) for path in outputs):
        raise ValueError("an output path in another form")  # its shard is left out (`scaffold.record.shards`)
    if not isinstance(digests, dict) or digests.keys() != outputs.keys() or not all(map(_is_digest, digests.values())):
        raise ValueError("output hashes that do not match the outputs")
    return CompiledProto(origin, sha256, dependencies, public, descriptor, outputs, _diagnostics(warnings), digests)


def _is_digest(value: object) -> bool:
    """A sha256 as `hexdigest` writes it: what the manifest records of the file, and compares with the disk's."""
    return isinstance(value, str) and _HEX_DIGEST.fullmatch(value) is not None


def _encode(c: CompiledProto) -> tuple[Any, ...]:
    warnings = _warning_tuples(c.warnings)
    return (c.origin, c.sha256, c.dependencies, c.public, c.descriptor, c.outputs, warnings, c.digests)


def _key(root: Path) -> tuple[object, ...]:
    """What the record is only valid for: marshal's format, the tools that wrote the outputs, the project."""
    return (
        _FORMAT,
        sys.version_info[:2],
        __version__,
        grpc_version.VERSION,
        os.path.abspath(root),
    )


def _settled_source(name: str, roots: Sequence[Path], started_ns: int, hashes: Hashes) -> Source | None:
    """`name`'s source now, if it was last modified well before the run began (so protoc read these bytes).

    Protos first met in this run were not hashed before protoc read them; one
    written in the second before (file times are coarse) is left out of the
    record rather than risk recording bytes protoc never saw.
    """
    for root in roots:
        path = root / name
        try:
            modified = path.stat().st_mtime_ns
        except OSError:
            continue
        return find_source(name, (root,), hashes) if modified < started_ns - _SETTLED_NS else None
    return None


def find_source(name: str, roots: Sequence[Path], hashes: Hashes | None = None) -> Source | None:
    """The file protoc reads for `name` (the first root that has it) and its hash."""
    hashes = hashes or Hashes()
    for root in roots:
        path = os.path.abspath(
            os.path.join(root, name)
        )  # strings: pathlib's joins cost 7,000 protos a third of a second
        try:
            return path, hashes.sha256(path)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            continue
        except OSError:
            return None
    return None


def source(path: Path, content: bytes) -> Source:
    """How the record names a proto's source: its absolute path and the hash of `content`."""
    return os.path.abspath(path), hashlib.sha256(content).hexdigest()


def _visible(name: str, dependencies: _Dependencies, public: _Dependencies) -> set[str]:
    """The protos whose definitions `name` can use: its imports and, through them, what they import publicly."""
    visible: set[str] = set()
    pending = list(dependencies(name))
    while pending:
        dependency = pending.pop()
        if dependency not in visible:
            visible.add(dependency)
            pending += public(dependency)
    return visible


def _diagnostics(warnings: Iterable[tuple[Any, ...]]) -> tuple[Diagnostic, ...]:
    return tuple(Diagnostic(*warning) for warning in warnings)


def _warning_tuples(warnings: Iterable[Diagnostic]) -> tuple[tuple[object, ...], ...]:
    return tuple((w.path, w.message, w.line, w.col, w.severity) for w in warnings)
