"""What a regeneration changes in the messages, read from protoc's own modules, for `scaffold diff`.

A `_pb2.py` holds its file's descriptor serialized (`AddSerializedFile(b'...')`):
a diff of it is bytes nobody reads, so `diff` leaves it out and says instead,
per message, which fields were added, removed or retyped. Both sides come from
the plan (what the module holds now, what it will hold), so the summary needs
neither protoc nor the old protos.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from google.protobuf import descriptor_pb2

from scaffold.generation.plan import FilePlan

Field = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    number: name.removeprefix("TYPE_").lower()
    for name, number in Field.Type.items()
    if name not in ("TYPE_MESSAGE", "TYPE_ENUM", "TYPE_GROUP")
}


def serialized_descriptor(module: bytes | None) -> descriptor_pb2.FileDescriptorProto | None:
    """The file descriptor a `_pb2.py` registers; None for no module or one without it."""
    if module is None:
        return None
    try:
        tree = ast.parse(module)
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "AddSerializedFile" and node.args:
            try:
                return descriptor_pb2.FileDescriptorProto.FromString(ast.literal_eval(node.args[0]))
            except (ValueError, TypeError, SyntaxError):
                return None
    return None


def messages_of(file: descriptor_pb2.FileDescriptorProto | None) -> dict[str, dict[str, tuple[int, str]]]:
    """Every message of `file` (nested ones too, map entries left out) by full name: field name -> (number, type)."""
    found: dict[str, dict[str, tuple[int, str]]] = {}
    if file is None:
        return found
    prefix = f"{file.package}." if file.package else ""
    stack = [(prefix, message) for message in file.message_type]
    while stack:
        scope, message = stack.pop()
        name = scope + message.name
        entries = {f".{name}.{nested.name}": nested for nested in message.nested_type if nested.options.map_entry}
        found[name] = {f.name: (f.number, _type_of(f, entries)) for f in message.field}
        stack += [(f"{name}.", nested) for nested in message.nested_type if not nested.options.map_entry]
    return found


def _type_of(field: Field, entries: dict[str, descriptor_pb2.DescriptorProto]) -> str:
    """The field's type as a proto reads: `int64`, `repeated string`, `map<string, Point>`."""
    entry = entries.get(field.type_name)
    if entry is not None:
        key, value = entry.field[0], entry.field[1]
        return f"map<{_type_of(key, {})}, {_type_of(value, {})}>"
    named = _SCALARS.get(field.type) or field.type_name.lstrip(".")
    return f"repeated {named}" if field.label == Field.LABEL_REPEATED else named


def message_lines(files: Iterable[FilePlan]) -> list[str]:
    """Per message whose fields change: `+ name (type, field N)`, `- name`, `~ name: old -> new`."""
    before: dict[str, dict[str, tuple[int, str]]] = {}
    after: dict[str, dict[str, tuple[int, str]]] = {}
    for f in files:
        if f.path.endswith("_pb2.py"):
            before |= messages_of(serialized_descriptor(f.current))
            after |= messages_of(serialized_descriptor(f.content))
    lines = []
    for name in sorted(before.keys() | after.keys()):
        if name not in before:
            lines.append(f"{name} (new message)")
        elif name not in after:
            lines.append(f"{name} (removed from the protos)")
        else:
            changed = _field_lines(before[name], after[name])
            lines += [name, *changed] if changed else []
    return lines


def _field_lines(old: dict[str, tuple[int, str]], new: dict[str, tuple[int, str]]) -> list[str]:
    lines = [f"  + {name} ({new[name][1]}, field {new[name][0]})" for name in new if name not in old]
    lines += [f"  - {name} ({old[name][1]}, field {old[name][0]})" for name in old if name not in new]
    for name in (name for name in new if name in old and new[name] != old[name]):
        (old_number, old_type), (new_number, new_type) = old[name], new[name]
        if old_type != new_type:
            lines.append(f"  ~ {name}: {old_type} -> {new_type}")
        if old_number != new_number:
            lines.append(f"  ~ {name}: field {old_number} -> field {new_number}")
    return lines
