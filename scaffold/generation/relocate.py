"""Stage: move protoc's modules into the project's generated sub-package.

protoc writes imports as if its output directory were on sys.path
(`import route_guide_pb2`, `from a import common_pb2`). Inside a package
those imports fail, so each one that names a module of this run is
rewritten to an absolute import from the sub-package, in .py and .pyi
alike; imports of the protobuf runtime (well-known types) stay as they are.
Only whole top-level import lines are touched, matched against the exact
set of modules protoc produced, so no other text can change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from scaffold.core.naming import module_path
from scaffold.generation.repair import repair

# Each line after its newline: the regex engine finds a pattern that begins with one by searching for it,
# where it tries a `^` pattern at every character (1.6 s of googleapis' 74 MB of outputs). `relocate` puts
# a newline before the text, so its first line has one too; no pattern takes the newline that ends a line.
_IMPORT = re.compile(rb"\nimport (?P<module>[\w.]+)(?P<alias> as \w+)?$", re.MULTILINE)
_FROM_IMPORT = re.compile(rb"\nfrom (?P<package>[\w.]+) import (?P<module>\w+)(?P<alias> as \w+)?$", re.MULTILINE)
_STAR_IMPORT = re.compile(rb"\nfrom (?P<module>[\w.]+) import \*$", re.MULTILINE)
"""What protoc writes for an `import public`: the imported module's names, re-exported."""


def generated_modules(proto_names: Iterable[str]) -> frozenset[str]:
    """Dotted names protoc gives the modules of `proto_names` (`a.common_pb2`, `a.common_pb2_grpc`)."""
    modules = set()
    for name in proto_names:
        stem = module_path(name).replace("/", ".")
        modules.update({f"{stem}_pb2", f"{stem}_pb2_grpc"})
    return frozenset(modules)


def relocate(outputs: Mapping[str, bytes], proto_names: Iterable[str], package_dir: str) -> dict[str, bytes]:
    """protoc's outputs placed under `package_dir` (`route_guide/generated`) with imports that work there."""
    modules = generated_modules(proto_names)
    target = package_dir.replace("/", ".").encode()

    def rewrite_import(match: re.Match[bytes]) -> bytes:
        module = match["module"].decode()
        if module not in modules:
            return match[0]
        parent, _, leaf = match["module"].rpartition(b".")
        return b"\nfrom " + b".".join(filter(None, [target, parent])) + b" import " + leaf + (match["alias"] or b"")

    def rewrite_from(match: re.Match[bytes]) -> bytes:
        # A module of this run (`from a import common_pb2`), or a name from one (`from a.common_pb2 import
        # Thing as Thing`: what the .pyi of an `import public` re-exports).
        package = match["package"].decode()
        if f"{package}.{match['module'].decode()}" not in modules and package not in modules:
            return match[0]
        return b"\nfrom " + target + b"." + match["package"] + b" import " + match["module"] + (match["alias"] or b"")

    def rewrite_star(match: re.Match[bytes]) -> bytes:
        if match["module"].decode() not in modules:
            return match[0]
        return b"\nfrom " + target + b"." + match["module"] + b" import *"

    relocated = {}
    for path, content in outputs.items():
        if path.endswith((".py", ".pyi")):
            lines = _FROM_IMPORT.sub(rewrite_from, _IMPORT.sub(rewrite_import, b"\n" + content))
            if b" import *" in lines:
                lines = _STAR_IMPORT.sub(rewrite_star, lines)
            content = lines[1:]
        relocated[f"{package_dir}/{path}"] = content
    return relocated


def place(outputs: Mapping[str, bytes], proto_names: Iterable[str], package_dir: str) -> dict[str, bytes]:
    """protoc's outputs as the project holds them: repaired (`scaffold.generation.repair`), then relocated.

    Each module's result depends only on its own bytes and on which of the
    modules it imports protoc generated; for an unchanged proto those are its
    imports, generated or provided by the runtime as before. So a module placed
    once stays placed, and the protoc record keeps the placed bytes
    (`scaffold.generation.incremental`): a run places only what protoc compiled.
    """
    return relocate(repair(outputs), proto_names, package_dir)


def package_dirs(paths: Iterable[str], package_dir: str) -> list[str]:
    """Every directory from `package_dir` down that holds a file in `paths`: each needs an __init__.py."""
    dirs = {package_dir}
    prefix = f"{package_dir}/"
    for path in paths:  # string operations: pathlib's took 6 s for googleapis' 22,000 outputs
        if path.startswith(prefix):
            parts = path[len(prefix) :].split("/")[:-1]
            dirs.update(prefix + "/".join(parts[: depth + 1]) for depth in range(len(parts)))
    return sorted(dirs)
