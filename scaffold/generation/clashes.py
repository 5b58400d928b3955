"""A name two protos both declare: what a full protoc run refuses and a run that compiles a few protos
cannot see (`scaffold.generation.incremental`).

protoc puts every file it reads into one pool, where a name is declared once: a message, enum, service or
extension at a package's top level, a top-level enum's values (which C++ scoping puts beside their enum),
and the names of each package (`a` and `a.b` for `package a.b;`), which only another package may share.
A full run reads every proto of the project, so it refuses a message declared by two protos that never
import each other; a run that compiles an edited proto reads it with what it imports, and would not. So
the record keeps what each proto declares, and a run in which a proto protoc read declares what its record
did not looks for a clash among all the protos of the project. Declarations below the top level live in
their message's scope, which only one proto can own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from google.protobuf import descriptor_pb2

Declared = tuple[str, tuple[str, ...]]
"""A proto's package and the full names it declares at the package's top level."""


def declared(file: descriptor_pb2.FileDescriptorProto) -> Declared:
    prefix = f"{file.package}." if file.package else ""
    names = [
        *(message.name for message in file.message_type),
        *(enum.name for enum in file.enum_type),
        *(value.name for enum in file.enum_type for value in enum.value),
        *(service.name for service in file.service),
        *(extension.name for extension in file.extension),
    ]
    return file.package, tuple(prefix + name for name in names)


def well_formed(value: object) -> bool:
    """Whether a record's entry holds its declarations as `declared` gives them."""
    return type(value) is tuple and len(value) == 2 and type(value[0]) is str and names(value[1])


def names(value: object) -> bool:
    """Whether `value` is a tuple of strings, as a record's entry holds names."""
    return type(value) is tuple and all(type(name) is str for name in value)


def declared_twice(
    order: Sequence[str],
    fresh: Mapping[str, descriptor_pb2.FileDescriptorProto],
    recorded: Callable[[str], Declared | None],
) -> bool:
    """Whether two protos of `order` declare one name, looked for only when a proto protoc read now (one it
    compiled, or an import, which an installed distribution may have changed) declares what the record
    does not hold for it: the protos of a record never clash (a run that finds a clash fails, and records
    nothing)."""
    now = {name: declared(fresh[name]) for name in fresh}
    if all(recorded(name) == found for name, found in now.items()):
        return False
    return any_clash(order, lambda name: now.get(name) or recorded(name) or ("", ()))  # each is one or the other


def any_clash(order: Sequence[str], declared_by: Callable[[str], Declared]) -> bool:
    """Whether two of the protos in `order` declare one name (a package may be shared, by packages only)."""
    declarations: set[str] = set()
    packages: set[str] = set()
    for name in order:
        package, names = declared_by(name)
        for full_name in names:
            if full_name in declarations or full_name in packages:
                return True
            declarations.add(full_name)
        parts = package.split(".") if package else []
        for end in range(1, len(parts) + 1):
            prefix = ".".join(parts[:end])
            if prefix in declarations:
                return True
            packages.add(prefix)
    return False
