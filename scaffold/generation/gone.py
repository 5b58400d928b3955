"""Code of the user's that still reads what a regeneration took away.

A run takes away what the protos no longer call for: a removed proto's
`_pb2` and `_pb2_grpc` modules, a removed message or enum (read from the
`_pb2.pyi`, since the module defines them at run time), the client and test
modules of a removed service, the stub, test or helper of a removed RPC. The
user's code that used them stays: scaffold keeps an implemented class of a removed service,
a layout switch leaves a module behind, a test of theirs imports the module
or aliases the function by name. That code is the user's to change, and
scaffold never deletes a line of it; what it must not do is call the
project up to date while it cannot import. So each run takes note of what
it removes (whole modules, and the top-level names its writes no longer
define), looks for them in the project's Python files, and reports every
import of one and every read of one that nothing defines now, located:
`gen` writes the new tree and exits 1, `check` exits 1, and the record keeps
each such thing (`path` or `path::name`) until no code reads it.

A file is parsed only when it holds the name of something taken away, and
only when something was: a run that removes nothing reads nothing more.
"""

from __future__ import annotations

import ast
import keyword
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator

from msgspec import Struct

from scaffold.core.errors import Diagnostic
from scaffold.generation import pysource
from scaffold.record.state import GONE_SEPARATOR as SEPARATOR

_PROTOC = ("_pb2.py", "_pb2_grpc.py")
_MESSAGES_STUB = "_pb2.pyi"
"""protoc's stub of a message module: the classes (messages, enums) the module defines when it runs."""
_LINE_START = rb"(?:\A|(?<=[\r\n]))"
_DEFINES = re.compile(
    _LINE_START + rb"(?:(?:async[ \t]+)?def|class)[ \t]+(\w+)|" + _LINE_START + rb"(\w+)[ \t]*(?::[^=\r\n]*)?=(?!=)"
)
"""A top-level definition's name, at the start of a line however lines end (an editor may save CR alone)."""


class Findings(Struct, frozen=True):
    diagnostics: tuple[Diagnostic, ...] = ()
    named: tuple[str, ...] = ()
    """What was taken away that some code still reads (`path` or `path::name`): the record keeps it until none does."""


def taken_away(written: Iterable[tuple[str, bytes | None, bytes | None]], recorded: Iterable[str]) -> list[str]:
    """What a run's writes (path, before, after) take away from the Python modules, with what an earlier run
    took away that code still read (`recorded`), less what this run puts back."""
    away: set[str] = set()
    back: set[str] = set()
    for path, before, after in written:
        if path.endswith(_MESSAGES_STUB):  # a message module defines its names at run time; its .pyi lists them
            module = path.removesuffix("i")
            names_after = _top_level_names(after) if after is not None else set()
            if before is not None and after is not None:
                away.update(f"{module}{SEPARATOR}{name}" for name in _top_level_names(before) - names_after)
            back.update(f"{module}{SEPARATOR}{name}" for name in names_after)
            continue
        if not path.endswith(".py"):
            continue
        if after is None:
            away.add(path) if before is not None else None
            continue
        back.add(path)
        if before is None or path.endswith("_pb2.py"):  # protoc's message modules define their names at run time
            continue
        names_after = _top_level_names(after)
        away.update(f"{path}{SEPARATOR}{name}" for name in _top_level_names(before) - names_after)
        back.update(f"{path}{SEPARATOR}{name}" for name in names_after)
    return sorted((away | set(recorded)) - back)


def rolled_back(
    restored: Iterable[tuple[str, bytes | None, bytes | None]],
    files: Iterable[str],
    read: Callable[[str], bytes | None],
    generated_dir: str,
) -> tuple[str, ...]:
    """What a rollback took out of the modules it put back (`restored`: path, the killed run's version, the
    one back) that code in `files` still reads: a file the user edited after the killed run is kept as it is,
    and may hold a class that run added, reading a grpc servicer the rollback took away again."""
    away = [entry for entry in taken_away(restored, ()) if not still_there(entry, read)]
    return scan(away, files, read, generated_dir).named


def still_there(entry: str, read: Callable[[str], bytes | None]) -> bool:
    """Whether what `entry` names is back in the tree (`read`), whichever run put it back: the record may hold
    it from a run that ended in a conflict, and a later run may restore it without writing it again."""
    path, _, name = entry.partition(SEPARATOR)
    content = read(path)
    if content is None:
        return False
    if name and path.endswith("_pb2.py"):  # its names are in its .pyi
        content = read(path + "i")
        return content is None or name in _top_level_names(content)
    return not name or name in _top_level_names(content)


def path_of(entry: str) -> str:
    return entry.partition(SEPARATOR)[0]


def scan(away: list[str], files: Iterable[str], read: Callable[[str], bytes | None], generated_dir: str) -> Findings:
    """Every place in `files` (read with `read`) that imports or reads something of `away`."""
    if not away:
        return Findings()
    modules = {_module(entry): entry for entry in away if SEPARATOR not in entry}
    names = {(_module(path_of(e)), e.partition(SEPARATOR)[2]): e for e in away if SEPARATOR in e}
    stems = {module.rpartition(".")[2]: entry for module, entry in modules.items()}
    by_word = [(module.rpartition(".")[2], entry) for module, entry in modules.items()]
    by_word += [(name, entry) for (_, name), entry in names.items()]
    words = {word for word, _ in by_word}
    found: list[Diagnostic] = []
    named: set[str] = set()
    for path in sorted(set(files)):
        content = read(path)
        if content is None or not any(word.encode() in content for word in words):
            continue
        try:
            text = content.decode("utf-8")
            tree = ast.parse(text, path)
        except (UnicodeDecodeError, SyntaxError, ValueError):
            # not Python scaffold can read (conflict markers): the run reports that on its own, and the record
            # keeps what the file may read until it parses (the user may resolve by keeping their side)
            named.update(entry for word, entry in by_word if word.encode() in content)
            continue
        here = _module(path)
        for statement, module, name in _imports(tree, _package_of(path)):
            entry = modules.get(f"{module}.{name}") or modules.get(module) or names.get((module, name))
            if entry is not None:
                named.add(entry)
                found.append(_diagnostic(path, statement, entry, generated_dir, "imports"))
        for attribute, module in _attributes_of_modules(tree, _package_of(path)):
            entry = names.get((module, attribute.attr))
            if entry is not None:  # `shop_pb2_grpc.LedgerStub`, the service gone from the protos
                named.add(entry)
                found.append(_diagnostic(path, attribute, entry, generated_dir, "reads"))
        unread = pysource.unresolved(text, tree)
        reads = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in unread]
        for node in sorted(reads, key=lambda n: (n.lineno, n.col_offset)):
            entry = names.get((here, node.id)) or stems.get(node.id)
            if entry is not None and node.id in unread:
                named.add(entry)
                found.append(_diagnostic(path, node, entry, generated_dir, "reads"))
                del unread[node.id]  # its first read stands for the others
    unique = sorted(set(found), key=lambda d: (d.path, d.line or 0, d.col or 0, d.message))
    return Findings(tuple(unique), tuple(sorted(named)))


def _top_level_names(content: bytes) -> set[str]:
    """The names a module's top-level `def`, `class` and assignments define, read without parsing."""
    found = {(match[1] or match[2]).decode() for match in _DEFINES.finditer(content)}
    return {name for name in found if not keyword.iskeyword(name)}


def _module(path: str) -> str:
    module = path.removesuffix(".py").replace("/", ".")
    return module.removesuffix(".__init__")


def _package_of(path: str) -> str:
    package = posixpath.dirname(path).replace("/", ".")
    return _module(path) if path.endswith("/__init__.py") else package


def _imports(tree: ast.Module, package: str) -> Iterator[tuple[ast.stmt, str, str]]:
    """Each import statement with each (module, name) it loads: `import a.b` gives ("a", "b") and ("a.b", "")."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                module, _, name = alias.name.rpartition(".")
                yield node, module, name
                yield node, alias.name, ""
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join([*parts, *([base] if base else [])])
            for alias in node.names:
                yield node, base, alias.name


def _attributes_of_modules(tree: ast.Module, package: str) -> Iterator[tuple[ast.Attribute, str]]:
    """Each `alias.name` read of a module the file imports, with the module's dotted name; where the file
    binds the alias to nothing else."""
    modules: dict[str, str] = {}
    for statement, module, name in _imports(tree, package):
        for alias in statement.names:  # type: ignore[attr-defined]
            if isinstance(statement, ast.Import) and alias.name == (f"{module}.{name}" if module else name):
                modules[alias.asname or alias.name] = alias.name
            elif isinstance(statement, ast.ImportFrom) and alias.name == name:
                modules[alias.asname or name] = f"{module}.{name}" if module else name
    bound_else = {t.id for t in ast.walk(tree) if isinstance(t, ast.Name) and isinstance(t.ctx, ast.Store)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            found = modules.get(node.value.id)
            if found is not None and node.value.id not in bound_else:
                yield node, found


def _diagnostic(path: str, node: ast.AST, entry: str, generated_dir: str, verb: str) -> Diagnostic:
    where, _, name = entry.partition(SEPARATOR)
    if name:
        what = f"`{name}`, which scaffold no longer writes in {where}"
    elif where.endswith(_PROTOC):
        relative = posixpath.relpath(where, generated_dir) if where.startswith(generated_dir + "/") else where
        proto = relative.removesuffix("_grpc.py").removesuffix(".py").removesuffix("_pb2") + ".proto"
        what = (
            f"{_module(where).rpartition('.')[2]}, which scaffold no longer generates ({proto} is not among the protos)"
        )
    else:
        what = f"{_module(where)}, which scaffold no longer writes"
    message = f"{verb} {what}; this code is yours: change or remove it"
    return Diagnostic(path, message, getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1)
