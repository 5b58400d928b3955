"""The protos of one side of a breaking-change check, as elements with places.

`scaffold breaking` compares two sets of FileDescriptorProtos. The raw
protos say what was written (an option set or not, a label as declared);
the rules also need what it means (a field's presence, an enum's openness,
a message field encoded as a group), which depends on the file's syntax or
edition and on features inherited from enclosing elements. This module
gives every element both, and its place in the source from the file's
`source_code_info`, looked up by the same paths buf uses so that both tools
point at the same line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from google.protobuf import descriptor_pb2

from scaffold.breaking.features import DEFAULTS, FEATURE_NUMBER, FEATURES_PATH, language_feature

_FILE = descriptor_pb2.FileDescriptorProto
_MESSAGE = descriptor_pb2.DescriptorProto
_FIELD = descriptor_pb2.FieldDescriptorProto
_ENUM = descriptor_pb2.EnumDescriptorProto
_SERVICE = descriptor_pb2.ServiceDescriptorProto
_FEATURES = descriptor_pb2.FeatureSet

SourcePath = tuple[int, ...]

MESSAGE_MAX = 536_870_911
MESSAGE_SET_MAX = 2_147_483_646
ENUM_MAX = 2_147_483_647


@dataclass(frozen=True)
class Location:
    """A place in a proto: the file's name under its include root, 1-based line and column."""

    file: str
    line: int
    col: int


class Element:
    """Something declared in a file, with its source path; `parent` is where features are inherited from."""

    kind = ""
    stand_in: Element | None = None
    """Where a synthetic element is written: a map entry and its key and value are the `map<,>` field."""

    def __init__(self, file: File, path: SourcePath, parent: Element | None) -> None:
        self.file = file
        self.path = path
        self.parent = parent
        self._resolved: dict[str, int] = {}

    def at(self, *sub: int) -> Location | None:
        """The place of this element (or of its part `sub`), or None when the source does not record one."""
        found = self.file.locate((*self.path, *sub))
        return found if found is not None or self.stand_in is None else self.stand_in.at()

    @property
    def location(self) -> Location | None:
        return self.at()

    @property
    def options(self) -> Any:
        return self.proto.options

    @property
    def proto(self) -> Any:
        raise NotImplementedError

    def feature(self, name: str) -> int:
        """The resolved value of a standard feature: set here, on an enclosing element, or the file's default."""
        resolved = self._resolved.get(name)
        if resolved is None:
            features = self.options.features
            if features.HasField(name):
                resolved = int(getattr(features, name))
            else:
                resolved = self.parent.feature(name) if self.parent is not None else DEFAULTS[self.file.syntax][name]
            self._resolved[name] = resolved
        return resolved

    def language_feature(self, extension: int, number: int) -> int | None:
        """A C++ or Java feature (`features.language_feature`) set here or on an enclosing element, or None."""
        found = language_feature(self.options.features, extension, number)
        return found if found is not None or self.parent is None else self.parent.language_feature(extension, number)

    def feature_location(self, name: str) -> Location | None:
        return self.at(*FEATURES_PATH[self.kind], FEATURE_NUMBER[name])


class File(Element):
    kind = "file"

    def __init__(self, proto: _FILE, text: str | None = None) -> None:
        super().__init__(self, (), None)
        self._proto = proto
        self.text = text
        """The source, when the side was read from .proto files (not from a descriptor set)."""
        self.name = proto.name
        self.package = proto.package
        self.syntax = "editions" if proto.syntax == "editions" else ("proto3" if proto.syntax == "proto3" else "proto2")
        self.messages = [Message(self, m, (4, i), None) for i, m in enumerate(proto.message_type)]
        self.enums = [Enum(self, e, (5, i), None) for i, e in enumerate(proto.enum_type)]
        self.services = [Service(self, s, (6, i)) for i, s in enumerate(proto.service)]
        self.extensions = [Field(self, f, (7, i), self, None) for i, f in enumerate(proto.extension)]

    @property
    def proto(self) -> _FILE:
        return self._proto

    @cached_property
    def _places(self) -> dict[SourcePath, tuple[int, int]]:
        places: dict[SourcePath, tuple[int, int]] = {}
        for location in self._proto.source_code_info.location:
            places.setdefault(tuple(location.path), (location.span[0] + 1, location.span[1] + 1))
        return places

    def locate(self, path: SourcePath) -> Location | None:
        place = self._places.get(path)
        return Location(self.name, *place) if place else None

    def prefixed(self, name: str) -> str:
        return f"{self.package}.{name}" if self.package else name

    def all_messages(self) -> list[Message]:
        return self._all_messages

    @cached_property
    def _all_messages(self) -> list[Message]:
        return [nested for message in self.messages for nested in message.walk()]

    def all_enums(self) -> Iterator[Enum]:
        yield from self.enums
        for message in self.all_messages():
            yield from message.enums

    def all_extensions(self) -> Iterator[Field]:
        yield from self.extensions
        for message in self.all_messages():
            yield from message.extensions


class Message(Element):
    kind = "message"

    def __init__(self, file: File, proto: _MESSAGE, path: SourcePath, outer: Message | None) -> None:
        super().__init__(file, path, outer or file)
        self._proto = proto
        self.name = proto.name
        self.nested_name: str = f"{outer.nested_name}.{proto.name}" if outer else proto.name
        self.full_name = file.prefixed(self.nested_name)
        self.oneofs = [Oneof(self, o, (*path, 8, i)) for i, o in enumerate(proto.oneof_decl)]
        self.fields = [Field(file, f, (*path, 2, i), self, self) for i, f in enumerate(proto.field)]
        self.nested = [Message(file, m, (*path, 3, i), self) for i, m in enumerate(proto.nested_type)]
        self.enums = [Enum(file, e, (*path, 4, i), self) for i, e in enumerate(proto.enum_type)]
        self.extensions = [Field(file, f, (*path, 6, i), self, None) for i, f in enumerate(proto.extension)]
        entries = {f".{m.full_name}": m for m in self.nested if m.is_map_entry}
        for field in self.fields:
            entry = entries.get(field.type_name)
            for synthetic in (entry, *entry.fields) if entry else ():
                synthetic.stand_in = field

    @property
    def proto(self) -> _MESSAGE:
        return self._proto

    def walk(self) -> Iterator[Message]:
        yield self
        for nested in self.nested:
            yield from nested.walk()

    @property
    def is_map_entry(self) -> bool:
        return self._proto.options.map_entry

    @property
    def reserved_ranges(self) -> list[tuple[int, int]]:
        """Inclusive ranges (the descriptor's ends are exclusive)."""
        return [(r.start, r.end - 1) for r in self._proto.reserved_range]

    @property
    def extension_ranges(self) -> list[tuple[int, int]]:
        return [(r.start, r.end - 1) for r in self._proto.extension_range]

    @property
    def reserved_names(self) -> list[str]:
        return list(self._proto.reserved_name)

    @property
    def max_number(self) -> int:
        return MESSAGE_SET_MAX if self._proto.options.message_set_wire_format else MESSAGE_MAX


class Oneof(Element):
    kind = "oneof"

    def __init__(self, message: Message, proto: descriptor_pb2.OneofDescriptorProto, path: SourcePath) -> None:
        super().__init__(message.file, path, message)
        self._proto = proto
        self.name = proto.name
        self.message = message

    @property
    def proto(self) -> descriptor_pb2.OneofDescriptorProto:
        return self._proto

    @property
    def synthetic(self) -> bool:
        """The oneof protoc makes for a proto3 `optional` field: a way to model presence, not a oneof."""
        index = self.message.oneofs.index(self)
        members = [f for f in self.message.proto.field if f.HasField("oneof_index") and f.oneof_index == index]
        return len(members) == 1 and members[0].proto3_optional


class Field(Element):
    """A field of a message, or an extension (declared in a file or a message: `scope`)."""

    kind = "field"

    def __init__(self, file: File, proto: _FIELD, path: SourcePath, scope: Element, message: Message | None) -> None:
        oneof = message.oneofs[proto.oneof_index] if message and proto.HasField("oneof_index") else None
        super().__init__(file, path, oneof or scope)
        self._proto = proto
        self.name = proto.name
        self.number = proto.number
        self.message = message
        self.oneof = oneof
        self.extendee = proto.extendee
        nested = f"{scope.nested_name}.{proto.name}" if isinstance(scope, Message) else proto.name
        self.nested_name = nested
        self.full_name = file.prefixed(nested)
        self._kind: int | None = None
        self._cardinality: str | None = None

    @property
    def proto(self) -> _FIELD:
        return self._proto

    @property
    def type(self) -> int:
        return self._proto.type

    @property
    def type_name(self) -> str:
        return self._proto.type_name

    def kind_in(self, side: Side) -> int:
        """The field's type as encoded: an editions message field with DELIMITED encoding is a group."""
        if self._kind is None:
            delimited = self.type == _FIELD.TYPE_MESSAGE and self.feature("message_encoding") == _FEATURES.DELIMITED
            self._kind = _FIELD.TYPE_GROUP if delimited and not self.is_map(side) else self.type
        return self._kind

    def is_map(self, side: Side) -> bool:
        if self._proto.label != _FIELD.LABEL_REPEATED or self.type != _FIELD.TYPE_MESSAGE:
            return False
        target = side.types.get(self.type_name.lstrip("."))
        return isinstance(target, Message) and target.is_map_entry

    def cardinality(self, side: Side) -> str:
        """(Each field belongs to one side: what the first call works out is kept, like `kind_in`'s.)"""
        if self._cardinality is None:
            self._cardinality = self._cardinality_in(side)
        return self._cardinality

    def _cardinality_in(self, side: Side) -> str:
        if self._proto.label == _FIELD.LABEL_REPEATED:
            return "map" if self.is_map(side) else "repeated"
        if self._proto.label == _FIELD.LABEL_REQUIRED or self.feature("field_presence") == _FEATURES.LEGACY_REQUIRED:
            return "required"
        return "optional with explicit presence" if self.has_presence else "optional with implicit presence"

    @property
    def has_presence(self) -> bool:
        if self._proto.label == _FIELD.LABEL_REPEATED:
            return False
        if self.type in (_FIELD.TYPE_MESSAGE, _FIELD.TYPE_GROUP) or self.extendee or self.oneof is not None:
            return True
        return self.feature("field_presence") != _FEATURES.IMPLICIT

    @property
    def real_oneof(self) -> Oneof | None:
        return None if self.oneof is None or self.oneof.synthetic else self.oneof

    @property
    def in_map_entry(self) -> bool:
        return self.message is not None and self.message.is_map_entry

    @property
    def description(self) -> str:
        if self.extendee:
            return f"extension {self.number} {self.full_name!r} of {self.extendee.lstrip('.')}"
        assert self.message is not None
        return f"field {self.number} {self.name!r} of {self.message.full_name}"


class Enum(Element):
    kind = "enum"

    def __init__(self, file: File, proto: _ENUM, path: SourcePath, outer: Message | None) -> None:
        super().__init__(file, path, outer or file)
        self._proto = proto
        self.name = proto.name
        self.nested_name = f"{outer.nested_name}.{proto.name}" if outer else proto.name
        self.full_name = file.prefixed(self.nested_name)
        self.values = [EnumValue(self, v, (*path, 2, i)) for i, v in enumerate(proto.value)]

    @property
    def proto(self) -> _ENUM:
        return self._proto

    @property
    def closed(self) -> bool:
        return self.feature("enum_type") == _FEATURES.CLOSED

    @property
    def reserved_ranges(self) -> list[tuple[int, int]]:
        return [(r.start, r.end) for r in self._proto.reserved_range]

    @property
    def reserved_names(self) -> list[str]:
        return list(self._proto.reserved_name)

    def by_number(self) -> dict[int, dict[str, EnumValue]]:
        numbers: dict[int, dict[str, EnumValue]] = {}
        for value in self.values:
            numbers.setdefault(value.number, {})[value.name] = value
        return numbers


class EnumValue(Element):
    kind = "enum_value"

    def __init__(self, enum: Enum, proto: descriptor_pb2.EnumValueDescriptorProto, path: SourcePath) -> None:
        super().__init__(enum.file, path, enum)
        self._proto = proto
        self.enum = enum
        self.name = proto.name
        self.number = proto.number

    @property
    def proto(self) -> descriptor_pb2.EnumValueDescriptorProto:
        return self._proto


class Service(Element):
    kind = "service"

    def __init__(self, file: File, proto: _SERVICE, path: SourcePath) -> None:
        super().__init__(file, path, file)
        self._proto = proto
        self.name = proto.name
        self.full_name = file.prefixed(proto.name)
        self.methods = [Method(self, m, (*path, 2, i)) for i, m in enumerate(proto.method)]

    @property
    def proto(self) -> _SERVICE:
        return self._proto


class Method(Element):
    kind = "method"

    def __init__(self, service: Service, proto: descriptor_pb2.MethodDescriptorProto, path: SourcePath) -> None:
        super().__init__(service.file, path, service)
        self._proto = proto
        self.service = service
        self.name = proto.name

    @property
    def proto(self) -> descriptor_pb2.MethodDescriptorProto:
        return self._proto


class Side:
    """One side of the comparison: the files it checks, and every file it has (imports too) for resolving types.

    `origin` maps a checked file's name to the path a user opens (`protos/a.proto`), `texts` to its source.
    """

    def __init__(
        self,
        files: Iterable[_FILE],
        checked: Iterable[str],
        origin: dict[str, str] | None = None,
        texts: dict[str, str] | None = None,
    ) -> None:
        texts = texts or {}
        self.all = {proto.name: File(proto, texts.get(proto.name)) for proto in files}
        wanted = set(checked)
        self.files = {name: file for name, file in sorted(self.all.items()) if name in wanted}
        self.origin = origin or {}
        self.memo: dict[object, Any] = {}
        """What the rules work out once per pair of sides (`breaking_rules._fields`)."""
        self.types: dict[str, Message | Enum] = {}
        for file in self.all.values():
            for message in file.all_messages():
                self.types[message.full_name] = message
            for enum in file.all_enums():
                self.types[enum.full_name] = enum

    def shown(self, name: str) -> str:
        return self.origin.get(name, name)

    # Indexes of the checked files, built once: every rule pairs through them (googleapis: 7,000 files).

    @cached_property
    def messages(self) -> dict[str, Message]:
        return {m.full_name: m for f in self.files.values() for m in f.all_messages()}

    @cached_property
    def enums(self) -> dict[str, Enum]:
        return {e.full_name: e for f in self.files.values() for e in f.all_enums()}

    @cached_property
    def services(self) -> dict[str, Service]:
        return {s.full_name: s for f in self.files.values() for s in f.services}

    @cached_property
    def extensions(self) -> dict[tuple[str, int], Field]:
        return {(x.extendee, x.number): x for f in self.files.values() for x in f.all_extensions()}

    @cached_property
    def packages(self) -> dict[str, list[File]]:
        found: dict[str, list[File]] = {}
        for file in self.files.values():
            found.setdefault(file.package, []).append(file)
        return found
