"""A .proto file's text, printed from its FileDescriptorProto: what the validation tests compile.

No distribution this machine can reach ships `buf/validate/validate.proto` as text (buf's registry is
out of reach; protovalidate's PyPI sdist ships the module protoc generated from it, npm's package
the descriptor). A user vendors the file with `buf export`; the tests print it from the descriptor
protovalidate's own sdist holds, and `python tests/prototext.py MODULE OUT` checks that the printed
text compiles back to that very descriptor before writing it.
"""

from __future__ import annotations

from pathlib import Path

from google.protobuf import descriptor_pb2, text_encoding, text_format
from google.protobuf.descriptor import FieldDescriptor

_SCALARS = {
    getattr(descriptor_pb2.FieldDescriptorProto, f"TYPE_{name.upper()}"): name
    for name in (
        "double",
        "float",
        "int64",
        "uint64",
        "int32",
        "fixed64",
        "fixed32",
        "bool",
        "string",
        "bytes",
        "uint32",
        "sfixed32",
        "sfixed64",
        "sint32",
        "sint64",
    )
}
_LABELS = {1: "optional", 2: "required", 3: "repeated"}


def _value(field: FieldDescriptor, value: object) -> str:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return "{ " + text_format.MessageToString(value, as_one_line=True) + " }"
    if field.type == FieldDescriptor.TYPE_ENUM:
        return field.enum_type.values_by_number[value].name
    if field.type == FieldDescriptor.TYPE_BOOL:
        return "true" if value else "false"
    if field.type in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES):
        raw = value.encode() if isinstance(value, str) else value
        return '"' + text_encoding.CEscape(raw, as_utf8=False) + '"'
    return repr(value)


def _options(options) -> list[str]:
    out = []
    for field, value in options.ListFields():
        name = f"({field.full_name})" if field.is_extension else field.name
        for item in value if field.is_repeated else [value]:
            out.append(f"{name} = {_value(field, item)}")
    return out


def _field(field: descriptor_pb2.FieldDescriptorProto, in_oneof: bool, extension: bool = False) -> str:
    kind = _SCALARS.get(field.type) or field.type_name
    label = "" if in_oneof else _LABELS[field.label] + " "
    options = _options(field.options)
    if field.HasField("default_value"):
        options.insert(0, f"default = {field.default_value}")
    if field.HasField("json_name") and not extension:
        options.insert(0, f'json_name = "{field.json_name}"')
    suffix = f" [{', '.join(options)}]" if options else ""
    return f"{label}{kind} {field.name} = {field.number}{suffix};"


def _end(end: int) -> str:
    return "max" if end == 536870912 else str(end - 1)


def _message(message: descriptor_pb2.DescriptorProto, indent: str) -> list[str]:
    lines = [f"{indent}message {message.name} {{"]
    inner = indent + "  "
    lines += [f"{inner}option {option};" for option in _options(message.options)]
    for reserved in message.reserved_range:
        end = reserved.end - 1
        lines.append(f"{inner}reserved {reserved.start}{'' if end == reserved.start else f' to {end}'};")
    for name in message.reserved_name:
        lines.append(f'{inner}reserved "{name}";')
    for nested in message.nested_type:
        lines += _message(nested, inner)
    for enum in message.enum_type:
        lines += _enum(enum, inner)
    open_oneof = None
    for field in message.field:
        oneof = field.oneof_index if field.HasField("oneof_index") else None
        if oneof != open_oneof and open_oneof is not None:
            lines.append(f"{inner}}}")
            open_oneof = None
        if oneof is not None and oneof != open_oneof:
            decl = message.oneof_decl[oneof]
            lines.append(f"{inner}oneof {decl.name} {{")
            lines += [f"{inner}  option {option};" for option in _options(decl.options)]
            open_oneof = oneof
        lines.append((inner + "  " if oneof is not None else inner) + _field(field, oneof is not None))
    if open_oneof is not None:
        lines.append(f"{inner}}}")
    for extension_range in message.extension_range:
        lines.append(f"{inner}extensions {extension_range.start} to {_end(extension_range.end)};")
    lines.append(f"{indent}}}")
    return lines


def _enum(enum: descriptor_pb2.EnumDescriptorProto, indent: str) -> list[str]:
    lines = [f"{indent}enum {enum.name} {{"]
    lines += [f"{indent}  option {option};" for option in _options(enum.options)]
    for reserved in enum.reserved_range:  # inclusive, unlike a message's
        lines.append(
            f"{indent}  reserved {reserved.start}{'' if reserved.end == reserved.start else f' to {reserved.end}'};"
        )
    lines += [f'{indent}  reserved "{name}";' for name in enum.reserved_name]
    for value in enum.value:
        options = _options(value.options)
        suffix = f" [{', '.join(options)}]" if options else ""
        lines.append(f"{indent}  {value.name} = {value.number}{suffix};")
    lines.append(f"{indent}}}")
    return lines


def print_file(file: descriptor_pb2.FileDescriptorProto) -> str:
    lines = [f'syntax = "{file.syntax or "proto2"}";', "", f"package {file.package};", ""]
    lines += [f'import "{name}";' for name in file.dependency]
    lines += [""] + [f"option {option};" for option in _options(file.options)] + [""]
    for enum in file.enum_type:
        lines += _enum(enum, "")
    for message in file.message_type:
        lines += _message(message, "")
    for extendee in dict.fromkeys(e.extendee for e in file.extension):
        lines.append(f"extend {extendee} {{")
        lines += ["  " + _field(e, False, extension=True) for e in file.extension if e.extendee == extendee]
        lines.append("}")
    return "\n".join(lines) + "\n"


def main(module: str, out: str) -> None:
    """Prints the proto that `module` (a generated `_pb2.py`) was made from to `out`, once the text
    compiles back to the module's own descriptor."""
    import ast
    import importlib.util
    import os
    import re
    import sys
    import tempfile

    import grpc_tools
    from grpc_tools import protoc

    source = Path(module).read_text()
    literal = re.search(r"AddSerializedFile\((b'.*?')\)\n", source, re.DOTALL)
    assert literal is not None, f"{module} holds no serialized descriptor"
    serialized = ast.literal_eval(literal[1])
    package = descriptor_pb2.FileDescriptorProto.FromString(serialized).package
    spec = importlib.util.spec_from_file_location(f"{package}.{Path(module).stem}", module)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = loaded
    spec.loader.exec_module(loaded)
    # Parsed again now that its extensions are known: options print by their names, not as unknown fields.
    original = descriptor_pb2.FileDescriptorProto.FromString(serialized)
    text = print_file(original)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch, original.name)
        path.parent.mkdir(parents=True)
        path.write_text(text)
        well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
        made = Path(scratch, "set.pb")
        arguments = ["protoc", f"-I{scratch}", f"-I{well_known}", f"--descriptor_set_out={made}", original.name]
        assert protoc.main(arguments) == 0, "the printed proto does not compile"
        again = descriptor_pb2.FileDescriptorSet.FromString(made.read_bytes()).file[0]
    assert again == original, "the printed proto compiles to another descriptor"
    Path(out).write_text(text)


_SDIST_SHA256 = {"1.2.0": "4cb9a5065f32abc9baf2cf25c5bd09a139f7dffb7b8692f636a8e3e6883bb9a2"}
"""The sdists whose rules the tests print, by version, as PyPI lists them."""


def protovalidate_rules(version: str) -> Path:
    """buf/validate/validate.proto as protovalidate `version` was built from, printed from the module its
    PyPI sdist holds (fetched with pip once, then kept in the user's cache)."""
    import os
    import shutil
    import subprocess
    import sys
    import tarfile
    import tempfile

    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "scaffold-tests"
    printed = cache / f"protovalidate-{version}" / "buf/validate/validate.proto"
    if printed.is_file():
        return printed
    with tempfile.TemporaryDirectory() as scratch:
        # Pinned by its hash: pip checks the sdist before it reads anything of it.
        requirement = Path(scratch) / "requirement.txt"
        requirement.write_text(f"protovalidate=={version} --hash=sha256:{_SDIST_SHA256[version]}\n")
        fetch = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", "--require-hashes"]
        fetched = subprocess.run(
            [*fetch, "-r", str(requirement), "-d", scratch], capture_output=True, text=True, check=False
        )
        if fetched.returncode != 0:
            raise RuntimeError(f"protovalidate {version}'s sdist (PyPI) is needed: {fetched.stderr}")
        member = f"protovalidate-{version}/gen/buf/validate/validate_pb2.py"
        with tarfile.open(Path(scratch) / f"protovalidate-{version}.tar.gz") as sdist:
            sdist.extract(member, scratch, filter="data")
        written = Path(scratch) / "validate.proto"
        made = subprocess.run(
            [sys.executable, __file__, str(Path(scratch, member)), str(written)],
            capture_output=True,
            text=True,
            check=False,
        )
        if made.returncode != 0:
            raise RuntimeError(f"validate.proto could not be printed: {made.stderr}")
        printed.parent.mkdir(parents=True, exist_ok=True)
        beside = printed.with_name(f".{printed.name}.{os.getpid()}")
        shutil.copyfile(written, beside)
        os.replace(beside, printed)  # whole or not at all, also when two runs print it at once
    return printed


if __name__ == "__main__":
    import sys

    main(sys.argv[1], sys.argv[2])
