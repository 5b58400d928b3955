"""A module of the user's at a path scaffold renders, with no record of it: the render's parts added to it.

Such a file comes from `new --force` into a directory, or from a module the user wrote where a service
added later puts its own (`services/ledger.py` of the user's helpers, then a `Ledger` service). The
rest of the project imports the render's names from that path, so leaving the file as it is leaves a
project that does not import while `check` calls it up to date (fuzzer seed 36007). What it lacks of
the render is added around the user's lines, which all stay as they are; what it defines already, in
its own way, is the user's and is not touched.
"""

from __future__ import annotations

import ast

from scaffold.core.errors import Diagnostic
from scaffold.core.text import lacks_a_class
from scaffold.core.text import lines as split_lines
from scaffold.generation import pysource
from scaffold.generation.oldlayout import parse_render
from scaffold.generation.pysource import Source
from scaffold.generation.rebind import rebound


def adopted(
    path: str, current: bytes, render: bytes, package: str, classes_only: bool = False
) -> bytes | Diagnostic | None:
    """`current` with the render's top-level definitions it lacks, the imports they read and the render's
    `__main__` guard when it has none; None when it lacks nothing (left as it is); where and why it is not
    Python scaffold can add to.

    `classes_only`: of a module scaffold has a record of, only the classes it lacks (`restored_classes`)."""
    newline = _uniform_newline(current)  # a file all CRLF (or CR) gets what is added in its own endings
    source = pysource.parse(path, current.replace(newline, b"\n") if newline else current)
    if isinstance(source, Diagnostic):
        return source
    if not source.tree.body and source.text.strip() and not classes_only:
        # Comments alone (a licence header a layout switch left behind): the whole render goes below them.
        text = source.text.rstrip("\n") + "\n" + render.decode()
        return text.encode().replace(b"\n", newline) if newline else text.encode()
    into = parse_render(path, render)
    missing = [
        node
        for node in into.tree.body
        if not isinstance(node, (ast.Import, ast.ImportFrom))
        and (isinstance(node, ast.ClassDef) or not classes_only)
        and pysource.defined_by(node)
        and not pysource.defined_by(node) & source.defined
    ]
    guard = (
        None
        if classes_only or _has_main_guard(source.tree)
        else next((n for n in into.tree.body if _is_main_guard(n)), None)
    )
    if not missing and guard is None:
        return None
    blocks = {node.name: _text(into, node) for node in missing if isinstance(node, _BLOCKS)}
    text = pysource.put(source.text, blocks, [n.name for n in into.tree.body if isinstance(n, _BLOCKS)])
    assignments = [_text(into, node) for node in missing if not isinstance(node, _BLOCKS)]
    if assignments:
        text = _after_imports(text, "".join(assignments))
    if guard is not None:
        text = text.rstrip("\n") + "\n\n\n" + _text(into, guard)
    spans = [_span(into, node) for node in [*missing, *([guard] if guard else [])]]
    used = pysource.names_used(into, spans)
    for statement, binds in into.imports:
        if binds & used and not binds & source.defined:
            text = pysource.with_import(text, statement, package)
    if not any(isinstance(node, (ast.Import, ast.ImportFrom)) for node in source.tree.body):
        text = _spaced_after_imports(text)
    return text.encode().replace(b"\n", newline) if newline else text.encode()


def restored_classes(path: str, content: bytes, render: bytes, package: str) -> tuple[bytes, list[str]] | None:
    """`content`, a module of the user's that scaffold has a record of, with each class of the render it
    lacks put back, and their names; None when it lacks none (or does not parse: the user's to mend).

    The render's classes in a module of the user's are servicer classes, which the server or the registry
    imports from it: one dropped (a conflict resolved by keeping only "yours", say) leaves a project that
    does not import, while the merge, seeing the user delete what the render still has, would keep it
    deleted and `check` would call the project up to date (fuzzer seed 47032). A deleted method is the
    user's to delete: the generated base class answers UNIMPLEMENTED for it; a deleted class has no such
    stand-in."""
    if not path.endswith(".py") or not lacks_a_class(content, render):
        return None
    restored = adopted(path, content, render, package, classes_only=True)
    if restored is None or isinstance(restored, Diagnostic):
        return None
    restored = rebound(restored, render, content, package)  # what the class reads from a statement the module has
    had = pysource.parse(path, content)
    names = [
        node.name
        for node in parse_render(path, render).tree.body
        if isinstance(node, ast.ClassDef) and not isinstance(had, Diagnostic) and node.name not in had.defined
    ]
    return restored, names


def _spaced_after_imports(text: str) -> str:
    """Two blank lines between the imports and what follows, as isort wants, where imports were added to a
    module that had none."""
    tree = ast.parse(text)
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    if not imports:
        return text
    lines = split_lines(text, keepends=True)
    end = imports[-1].end_lineno or imports[-1].lineno
    if end < len(lines) and lines[end].strip():
        return "".join(lines[:end]) + "\n\n" + "".join(lines[end:])
    return text


def _uniform_newline(content: bytes) -> bytes | None:
    """b"\r\n" or b"\r" where every line of `content` ends so; None for "\n" or a mix (what is added then
    ends in "\n", and the user's lines keep theirs)."""
    crlf, cr, lf = content.count(b"\r\n"), content.count(b"\r"), content.count(b"\n")
    if crlf and crlf == cr == lf:
        return b"\r\n"
    return b"\r" if cr and not lf else None


_BLOCKS = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _span(source: Source, node: ast.stmt) -> tuple[int, int]:
    if isinstance(node, _BLOCKS):
        return source.blocks[node.name]
    index = source.tree.body.index(node)
    return pysource.statement_start(source, index), node.end_lineno or node.lineno


def _text(source: Source, node: ast.stmt) -> str:
    first, end = _span(source, node)
    return "".join(source.lines[first:end]).rstrip("\n") + "\n"


def _after_imports(text: str, added: str) -> str:
    """`text` with the statements `added` after its last top-level import (after its docstring, or at the
    top, when it has none): where a module's constants go, before anything that reads them."""
    tree = ast.parse(text)
    lines = split_lines(text, keepends=True)
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    docstring = tree.body[0] if tree.body and _is_docstring(tree.body[0]) else None
    anchor = imports[-1] if imports else docstring
    end = (anchor.end_lineno or anchor.lineno) if anchor else 0
    return "".join(lines[:end]) + ("\n" if end else "") + added + "\n" + "".join(lines[end:])


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _is_main_guard(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "__name__" in {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}


def _has_main_guard(tree: ast.Module) -> bool:
    return any(_is_main_guard(node) for node in tree.body)
