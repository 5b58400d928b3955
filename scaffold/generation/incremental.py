"""Stage: run protoc only for the protos whose output can have changed.

A proto's Python output depends on its own source and on the declarations
of the protos it can see: the ones it imports, and what those re-export with
`import public`. Nothing else: the files that import it, the imports of its
imports, and the comments of any other file do not reach its modules, with one
exception: a custom option's value is encoded by the types of its extension,
which may come from anywhere in the import closure, so a proto that can set
options (descriptor.proto is in its closure) depends on its whole closure
(`scaffold.generation.staleness`). So after one proto changes, protoc
generates that proto, and only where its declarations changed (its descriptor
without source info), the protos that can see it; every other proto's output,
and its descriptor, are taken from the record of the previous run. On
googleapis, a comment edited in google/api/annotations.proto compiles that one
proto, not the 1,580 that import it. (Options kept only in source are stripped
from the descriptor, yet some bind the importers: an editions file, or one with
an extension range, always passes an edit on; so does one whose warnings differ
from the record's, which protoc may have given while compiling an importer.)

The record lives in `.scaffold/cache/` (ignored by git, like `__pycache__`):
per proto, the file protoc read and its hash, its descriptor (with source
info, for comments) and its three outputs with their hashes. Any doubt about
the record (a different grpcio-tools, include path, Python, or a record that
does not read) means a full run, never a wrong one. The result is assembled
in the order protoc itself uses, so the model and every file rendered from it
are the same bytes a full run writes (`tests/test_incremental.py` holds that).
"""

from __future__ import annotations

import functools
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
from scaffold.core.errors import Diagnostic, ScaffoldError
from scaffold.core.naming import module_path
from scaffold.generation import clashes, protoc, providers, sharding, staleness
from scaffold.generation.protocresult import Lazy, ProtocResult, ProtoInput
from scaffold.generation.relocate import place
from scaffold.generation.summary import descriptor_key
from scaffold.layout import PROTOC_RECORD
from scaffold.record import cache, shards
from scaffold.record.hashes import Hashes

_RECORD = PROTOC_RECORD
_PROTOS_PER_SHARD = 16
"""A proto's entry carries its descriptor and outputs (tens of kB): a change rewrites its shard's bodies."""
_FORMAT = 6
_SETTLED_NS = 1_000_000_000
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_HEX_KEY = re.compile(r"[0-9a-f]{40}")

Source = tuple[str, str]


class Body:
    """A proto's descriptor and outputs: at hand where this run compiled the proto, else read from the
    record's shard when a stage first asks for them (`scaffold.record.shards.Bodies`). They are 225 of
    the record's 231 MB on googleapis, and a leaf change asks for a handful."""

    __slots__ = ("_fetch", "_value")

    def __init__(
        self, value: tuple[bytes, dict[str, bytes]] | None = None, fetch: Callable[[], Any] | None = None
    ) -> None:
        self._value, self._fetch = value, fetch

    def get(self) -> tuple[bytes, dict[str, bytes]]:
        if self._value is None:
            assert self._fetch is not None
            self._value = self._fetch()
        return self._value


class CompiledProto(Struct, frozen=True):
    """What protoc made of one proto file, and what it was made from."""

    origin: str
    sha256: str
    dependencies: tuple[str, ...]
    public: tuple[str, ...]
    warnings: tuple[Diagnostic, ...]
    digests: dict[str, str]
    """Each output's sha256: a run that reuses the outputs does not hash them again (147 MB on googleapis)."""
    descriptor_key: str
    """The descriptor's digest, which the memo keys its summary by (`scaffold.generation.summary`)."""
    declared: clashes.Declared
    body: Body

    @property
    def descriptor(self) -> bytes:
        return self.body.get()[0]

    @property
    def outputs(self) -> dict[str, bytes]:
        return self.body.get()[1]


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
            return sharding.read_before(fresh[name])
        return record[name].dependencies if name in unchanged else ()

    def public(name: str) -> Sequence[str]:
        if name in fresh:
            return [fresh[name].dependency[i] for i in fresh[name].public_dependency]
        return record[name].public if name in unchanged else ()

    gone = {name for name, found in sources.items() if found is None} - set(names)

    def stale(order: Sequence[str], done: Iterable[str], settled: set[str]) -> list[str]:
        """Protos to generate: new or edited, or able to see one whose declarations are not `settled`. One
        that is gone is left to the protos that import it, whose errors say where (as a full run's do)."""
        seeing = staleness.seeing_a_change(order, settled, dependencies, public)
        return [
            name
            for name in order
            if name not in done
            and name not in gone
            and not _provided(name, provided)
            and (name not in unchanged or name in seeing)
        ]

    outputs: dict[str, bytes] = {}
    warnings: list[Diagnostic] = []
    compiled: list[str] = []
    shown = {item.name: item.path.as_posix() for item in inputs}
    # The edited protos first, alone: one compiled to the declarations the record holds (a comment, a
    # reordered option) changes nothing its importers' outputs are made from, so they are not compiled
    # again. Then who sees a changed declaration, and protos first reached through an edited one (known
    # once protoc has parsed it), until no proto is left to compile.
    settled = set(unchanged)
    whole = [name for name in names if not _provided(name, provided)]  # a full run's command line
    order = sharding.protoc_order(names, dependencies)
    batch = [name for name in order if name not in unchanged and name not in gone and not _provided(name, provided)]
    batch = batch or stale(order, compiled, settled)  # none edited: an installed proto may have changed
    while batch:
        try:
            call = protoc.compile_files(batch, roots, inputs, any(name not in fresh for name in batch))
        except ScaffoldError:
            if sharding.below_split(whole, providers.holder(searched)):
                protoc.linked(whole, roots, inputs)  # the full run's errors: what protoc says depends on all it read
            elif not compiled:  # a large tree: the errors of the edited protos with their importers
                protoc.compile_files(stale(order, (), unchanged), roots, inputs, False)
            raise
        fresh |= {f.name: f for f in call.descriptors.file} if call.descriptors else {}
        outputs |= call.outputs
        warnings += call.warnings
        compiled += batch
        settled |= {
            n for n in batch if n in record and staleness.settles(n, fresh.get(n), record[n], call.warnings, shown)
        }
        batch = stale(sharding.protoc_order(names, dependencies), compiled, settled)
    order = sharding.protoc_order(names, dependencies)
    if clashes.declared_twice(order, fresh, lambda name: record[name].declared if name in record else None):
        protoc.linked(whole, roots, inputs)  # compiled apart (now, by the record's run, in groups): protoc's error
    given, generated_now = set(names), set(compiled)  # sets: googleapis' 7,000 names made list scans quadratic
    imported = [name for name in order if name not in given and not _provided(name, provided)]
    if placed_in:
        outputs = place(outputs, (*names, *imported), placed_in)
    reused = [name for name in order if name not in generated_now and name in unchanged]
    digests = {path: hashlib.sha256(content).hexdigest() for path, content in outputs.items()}
    later: dict[str, CompiledProto] = {}  # each reused output's entry: its bytes are read only if asked for
    for name in reused:
        later |= dict.fromkeys(record[name].digests, record[name])
        digests |= record[name].digests
        warnings += _shown_at(record[name].warnings, shown.get(name))
    serialized = {name: fresh[name].SerializeToString() for name in order if name in fresh}
    result = ProtocResult(
        inputs=tuple(inputs),
        generated_names=(*names, *imported),
        outputs=Lazy(sorted({*outputs, *later}), outputs, later, _output_of),
        descriptor_set=b"",  # made from `descriptor_bytes` when asked for (`ProtocResult.descriptors`)
        warnings=protoc.in_order(warnings),
        compiled=tuple(compiled),
        placed_in=placed_in,
        descriptor_bytes=Lazy(order, serialized, {n: record[n] for n in order if n not in fresh}, _descriptor_of),
        provided=provided,
        digests=digests,
        descriptor_keys={
            name: descriptor_key(serialized[name]) if name in serialized else record[name].descriptor_key
            for name in order
        },
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
    warnings_of: dict[str, set[int]] = {}  # indexes by the path they name, as shown and absolute: gathered once
    for index, warning in enumerate(result.warnings):
        for path in (warning.path, os.path.abspath(warning.path)):  # an import's is where protoc read it
            warnings_of.setdefault(path, set()).add(index)
    record = Record()
    prefix = f"{result.placed_in}/" if result.placed_in else ""
    serialized = result.descriptor_bytes or {f.name: f.SerializeToString() for f in result.descriptors.file}
    for name in serialized:  # by name: a reused proto's descriptor is not even read (`Body`)
        source = sources.get(name)
        if source is None or name in skip:
            continue  # not recorded: the next run compiles it again
        descriptor = serialized[name]
        file = descriptor_pb2.FileDescriptorProto.FromString(descriptor)
        stem = prefix + module_path(file.name)
        paths = [
            path for path in (f"{stem}_pb2.py", f"{stem}_pb2.pyi", f"{stem}_pb2_grpc.py") if path in result.outputs
        ]
        record[file.name] = CompiledProto(
            origin=source[0],
            sha256=source[1],
            dependencies=sharding.read_before(file),
            public=tuple(file.dependency[i] for i in file.public_dependency),
            warnings=tuple(
                result.warnings[i] for i in _about(warnings_of, file.name, displayed.get(file.name), source[0])
            ),
            digests={path: _digest(result, path) for path in paths},
            descriptor_key=result.descriptor_keys.get(name) or descriptor_key(descriptor),
            declared=clashes.declared(file),
            body=Body((descriptor, {path: result.outputs[path] for path in paths})),
        )
    return record


def _output_of(entry: CompiledProto, path: str) -> bytes:
    return entry.outputs[path]


def _descriptor_of(entry: CompiledProto, name: str) -> bytes:
    return entry.descriptor


def _digest(result: ProtocResult, path: str) -> str:
    return result.digests.get(path) or hashlib.sha256(result.outputs[path]).hexdigest()


def _shown_at(warnings: tuple[Diagnostic, ...], path: str | None) -> tuple[Diagnostic, ...]:
    """A reused proto's warnings at the path this run reads it from: the run that recorded them may have
    read it elsewhere (`new` from the user's directory; `gen` from the project's, or with another -C)."""
    if path is None:
        return warnings  # imported from an include root: protoc names it as it did then
    return tuple(w if w.path == path else replace(w, path=path) for w in warnings)


def _about(indexes: Mapping[str, set[int]], *paths: str | None) -> list[int]:
    """The indexes of the warnings about a proto: by its import name, the path it was given as, where it was read."""
    return sorted({index for path in paths if path is not None for index in indexes.get(path, ())})


def load(root: Path, placed_in: str, lazy: bool = False) -> Record | None:
    """The previous run's record of a project whose generated package is `placed_in`, or None when there
    is none this run can trust. A shard a killed run left unnamed by the index is left out (see
    `scaffold.record.shards`): its protos are compiled again. `lazy` reads each proto's descriptor and
    outputs only when a stage asks for them (`Body`): for a run that holds the project's lock, which no
    other run then rewrites the record under."""
    loaded = shards.load(root, _RECORD, (_key(root), placed_in), _decode, bodies=True)
    if loaded is None:
        return None
    entries, stored = loaded
    try:
        for entry in () if lazy else entries.values():
            entry.body.get()
    except shards.Broken:
        return None
    return Record(entries, stored)


def save(root: Path, record: Record, placed_in: str = "") -> None:
    """Keep `record` for the next run: the shards whose entries changed, then the index that names them.
    An entry this run made or changed whose hashes do not name its outputs is not kept (compiled again)."""
    kept = {id(entry) for _, entries in stored_from(record).values() for entry in entries.values()}
    try:
        entries = {name: c for name, c in record.items() if id(c) in kept or c.digests.keys() == c.outputs.keys()}
        key = (_key(root), placed_in)
        shards.save(root, _RECORD, key, entries, stored_from(record), _encode, _encode_body, _PROTOS_PER_SHARD)
    except shards.Broken:  # a body to write again that cannot be read: the next run compiles every proto
        cache.remove(root, f"{_RECORD}/{shards.INDEX}")
    cache.remove(root, "protoc.marshal")  # the record as one file, as kept before it was sharded


def _decode(entry: tuple[Any, ...], read: Callable[[Callable[[Any], Any]], Any]) -> CompiledProto:
    origin, sha256, dependencies, public, warnings, digests, key, declared = entry
    if not (clashes.names(dependencies) and clashes.names(public)):
        raise ValueError("imports in another form")
    if not isinstance(digests, dict) or any(paths.problem(path) for path in digests):
        raise ValueError("an output path in another form")  # its shard is left out (`scaffold.record.shards`)
    if not all(map(_is_digest, digests.values())) or not _is_key(key) or not clashes.well_formed(declared):
        raise ValueError("output hashes or declarations in another form")
    fetch = functools.partial(read, functools.partial(_checked_body, frozenset(digests)))
    warned = _diagnostics(warnings)
    return CompiledProto(origin, sha256, dependencies, public, warned, digests, key, declared, Body(fetch=fetch))


def _checked_body(paths: frozenset[str], found: Any) -> tuple[bytes, dict[str, bytes]]:
    """An entry's descriptor and outputs as read from its shard's body file, checked against its head: the
    outputs its hashes name, as bytes."""
    if not (isinstance(found, tuple) and len(found) == 2 and isinstance(found[0], bytes)):
        raise ValueError("a body in another form")
    descriptor, outputs = found
    if not isinstance(outputs, dict) or outputs.keys() != paths or not all(type(v) is bytes for v in outputs.values()):
        raise ValueError("outputs unlike the hashes that name them")
    return descriptor, outputs


def _is_digest(value: object) -> bool:
    """A sha256 as `hexdigest` writes it: what the manifest records of the file, and compares with the disk's."""
    return isinstance(value, str) and _HEX_DIGEST.fullmatch(value) is not None


def _is_key(value: object) -> bool:
    return isinstance(value, str) and _HEX_KEY.fullmatch(value) is not None


def _encode(c: CompiledProto) -> tuple[Any, ...]:
    warnings = _warning_tuples(c.warnings)
    return (c.origin, c.sha256, c.dependencies, c.public, warnings, c.digests, c.descriptor_key, c.declared)


def _encode_body(c: CompiledProto) -> tuple[bytes, dict[str, bytes]]:
    return c.body.get()


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
        path = os.path.abspath(os.path.join(root, name))  # strings: pathlib's cost 7,000 protos 0.3 s
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


def _diagnostics(warnings: Iterable[tuple[Any, ...]]) -> tuple[Diagnostic, ...]:
    return tuple(Diagnostic(*warning) for warning in warnings)


def _warning_tuples(warnings: Iterable[Diagnostic]) -> tuple[tuple[object, ...], ...]:
    return tuple((w.path, w.message, w.line, w.col, w.severity) for w in warnings)
