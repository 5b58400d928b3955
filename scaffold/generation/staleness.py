"""Which protos an edit reaches: the protos protoc compiles again (`scaffold.generation.incremental`).

A proto's outputs are made from its own source and from the declarations of
what it sees, and, where it can set custom options, of its whole import
closure; `seeing_a_change` finds the protos a changed one reaches, and
`settles` whether an edited proto leaves its importers as they were: the same
declarations (`same_declarations`: an edit of its comments reaches no other
proto) and the same warnings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from google.protobuf import descriptor_pb2

from scaffold.core.errors import Diagnostic
from scaffold.record import shards

_DESCRIPTOR = "google/protobuf/descriptor.proto"
_Dependencies = Callable[[str], Sequence[str]]


class Body(Protocol):
    """A recorded proto's descriptor and outputs, read when asked (`scaffold.generation.incremental.Body`)."""

    def get(self) -> tuple[bytes, Any]: ...


class Recorded(Protocol):
    """What the record holds of a proto (`scaffold.generation.incremental.CompiledProto`)."""

    @property
    def origin(self) -> str: ...
    @property
    def warnings(self) -> tuple[Diagnostic, ...]: ...
    @property
    def body(self) -> Body: ...


def settles(
    name: str,
    fresh: descriptor_pb2.FileDescriptorProto | None,
    recorded: Recorded,
    warnings: Iterable[Diagnostic],
    shown: Mapping[str, str],
) -> bool:
    """Whether an edited proto leaves its importers as they were: the same declarations, and the warnings
    the record keeps for it (compiled alone, it may lose one: that it extends a message with a number a
    proto it does not import uses too). A warning names the proto by its name, the path it was given as,
    or, where it is only imported, the path protoc read it from."""
    about = (name, shown.get(name))
    said = {w.message for w in warnings if w.path in about or os.path.abspath(w.path) == recorded.origin}
    return said == {w.message for w in recorded.warnings} and same_declarations(fresh, recorded.body)


def seeing_a_change(
    order: Sequence[str], unchanged: set[str], dependencies: _Dependencies, public: _Dependencies
) -> set[str]:
    """The protos that can see one not `unchanged`: a proto sees its imports and, through them, what they
    import publicly, transitively; and one that can set custom options, what it imports however deeply
    (`_importing`). Found backwards from the changed protos, through who re-exports them
    to who imports those: walking what each of googleapis' 7,234 protos sees took a tenth of a leaf
    change's time."""
    known: set[str] = set()
    pending = list(order)
    while pending:  # every proto reached from `order` (a record's public imports are walked too, as given)
        name = pending.pop()
        if name not in known:
            known.add(name)
            pending += [*dependencies(name), *public(name)]
    importers: dict[str, list[str]] = {}
    exporters: dict[str, list[str]] = {}
    for name in known:
        for dependency in dependencies(name):
            importers.setdefault(dependency, []).append(name)
        for exported in public(name):
            exporters.setdefault(exported, []).append(name)
    changed = {name for name in known if name not in unchanged}
    showing = set(changed)  # a changed proto, or one that re-exports one
    pending = list(showing)
    while pending:
        for exporter in exporters.get(pending.pop(), ()):
            if exporter not in showing:
                showing.add(exporter)
                pending.append(exporter)
    seeing = {importer for name in showing for importer in importers.get(name, ())}
    return seeing | (_importing(changed, importers) & _importing({_DESCRIPTOR}, importers))


def _importing(names: set[str], importers: Mapping[str, list[str]]) -> set[str]:
    """The protos that import one of `names`, however deeply.

    Custom options reach further than what a proto sees: protoc encodes an option's value by the types of
    its extension, and of the extensions and `Any` types written inside it, which come from anywhere in
    the import closure of the proto that sets it, seen by it or not (an enum's numbers, a message's
    fields). A proto that can set one has descriptor.proto in its closure; such a proto is compiled again
    when anything in its closure changed."""
    found, pending = set(), list(names)
    while pending:
        for importer in importers.get(pending.pop(), ()):
            if importer not in found:
                found.add(importer)
                pending.append(importer)
    return found


def same_declarations(fresh: descriptor_pb2.FileDescriptorProto | None, recorded: Body) -> bool:
    """Whether protoc compiled a proto to the descriptor the record holds but for its source info (where
    its comments are), so that what its importers are made from and checked against is as it was: they
    never read its comments (protoc's Python, stub and gRPC generators print only a file's own). Options
    kept only in source are stripped from the descriptor, so a proto that may hold ones its importers are
    checked against never is: an editions file (`default_symbol_visibility`), or one with an extension
    range (`declaration`)."""
    if fresh is None or fresh.syntax == "editions" or _extension_ranges(fresh.message_type):
        return False
    try:
        before = descriptor_pb2.FileDescriptorProto.FromString(recorded.get()[0])
    except shards.Broken:  # compiled again all the same: no reason to read the record's other bodies
        return False
    now = descriptor_pb2.FileDescriptorProto()
    now.CopyFrom(fresh)
    before.ClearField("source_code_info")
    now.ClearField("source_code_info")
    return now == before


def _extension_ranges(messages: Iterable[descriptor_pb2.DescriptorProto]) -> bool:
    return any(m.extension_range or _extension_ranges(m.nested_type) for m in messages)
