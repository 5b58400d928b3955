"""What a protoc run produced, as the stages after it read it (`scaffold.generation.protoc` runs it)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import descriptor_pb2
from msgspec import Struct

from scaffold.core.errors import Diagnostic


class ProtoInput(Struct, frozen=True):
    """A proto file as protoc sees it: its path on disk and its name under an include root."""

    path: Path
    name: str


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
    outputs: dict[str, bytes]
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

    @functools.cached_property
    def descriptors(self) -> descriptor_pb2.FileDescriptorSet:
        if isinstance(self.descriptor_set, descriptor_pb2.FileDescriptorSet):
            return self.descriptor_set
        parsed = descriptor_pb2.FileDescriptorSet.FromString(self.descriptor_set)
        for serialized in () if self.descriptor_set else self.descriptor_bytes.values():
            parsed.file.add().MergeFromString(serialized)
        return parsed
