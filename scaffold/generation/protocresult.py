"""What a protoc run produced, as the stages after it read it (`scaffold.generation.protoc` runs it)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from google.protobuf import descriptor_pb2
from msgspec import Struct

from scaffold.core.errors import Diagnostic


class ProtoInput(Struct, frozen=True):
    """A proto file as protoc sees it: its path on disk and its name under an include root."""

    path: Path
    name: str


_Entry = TypeVar("_Entry")


class Lazy(Mapping[str, bytes], Generic[_Entry]):
    """Keys to bytes, in a given order: some at hand, the others read from their entry (`part(entry, key)`)
    when first asked for. protoc's outputs and descriptors that a regeneration reuses from its record are
    read only by the stages that need their bytes (`scaffold.generation.incremental.Body`)."""

    def __init__(
        self,
        order: Sequence[str],
        at_hand: Mapping[str, bytes],
        later: Mapping[str, _Entry],
        part: Callable[[_Entry, str], bytes],
    ) -> None:
        self._order, self._at_hand, self._later, self._part = order, at_hand, later, part

    def __getitem__(self, key: str) -> bytes:
        found = self._at_hand.get(key)
        if found is not None:
            return found
        return self._part(self._later[key], key)

    def __contains__(self, key: object) -> bool:
        return key in self._at_hand or key in self._later

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def at_hand(self) -> Mapping[str, bytes]:
        """The bytes read already (this run's protoc made them)."""
        return self._at_hand


# A dataclass, not a Struct (`scaffold.core.records`): equality leaves out the descriptors and hashes it caches
# (`compare=False`), which a Struct cannot say.
@dataclass(frozen=True)
class ProtocResult:
    """Everything protoc produced, held in memory.

    `outputs` maps paths relative to the output root (`a/common_pb2.py`) to
    their bytes, or, once placed in a project (`placed_in`, see
    `scaffold.generation.relocate.place`), project paths to the placed bytes; `descriptors`
    holds every file involved, imports included, with source info so that comments reach the model.
    """

    inputs: tuple[ProtoInput, ...]
    generated_names: tuple[str, ...]
    outputs: Mapping[str, bytes]
    descriptor_set: descriptor_pb2.FileDescriptorSet | bytes = dataclasses.field(compare=False)
    """Parsed, or serialized (parsed on first use of `descriptors`); b"": made then from `descriptor_bytes`."""
    warnings: tuple[Diagnostic, ...]
    compiled: tuple[str, ...]
    """The protos protoc generated in this run; the others' outputs were reused (`scaffold.generation.incremental`)."""
    placed_in: str = ""
    """The package directory `outputs` are placed in (`route_guide/generated`); "" for protoc's own."""
    provided: frozenset[str] = frozenset()
    """Protos an installed distribution provides (`Config.installed`): compiled against, not generated; the
    project imports their modules where the distribution installs them."""
    descriptor_bytes: Mapping[str, bytes] = dataclasses.field(default_factory=dict, compare=False)
    """Each file's descriptor as serialized, in protoc's order, where the run has them at hand
    (`scaffold.generation.incremental`): a regeneration describes from these and the memo, and never parses the
    whole set (half a second on googleapis)."""
    digests: Mapping[str, str] = dataclasses.field(default_factory=dict, compare=False)
    """The sha256 of outputs, by path, where the run has them at hand (`scaffold.generation.incremental`
    records them): a leaf change on googleapis no longer hashes the 147 MB of outputs it reuses."""
    descriptor_keys: Mapping[str, str] = dataclasses.field(default_factory=dict, compare=False)
    """Each file's `summary.descriptor_key`, where the run has it (the memo keys summaries by it): a
    reused proto's descriptor is then not even read."""

    @functools.cached_property
    def descriptors(self) -> descriptor_pb2.FileDescriptorSet:
        if isinstance(self.descriptor_set, descriptor_pb2.FileDescriptorSet):
            return self.descriptor_set
        parsed = descriptor_pb2.FileDescriptorSet.FromString(self.descriptor_set)
        for serialized in () if self.descriptor_set else self.descriptor_bytes.values():
            parsed.file.add().MergeFromString(serialized)
        return parsed
