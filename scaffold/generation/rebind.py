"""Imports a clean merge must not drop: the ones the merged module still reads.

A line merge knows nothing of names. The new render can stop importing a
name (`Iterator`, once no RPC streams its requests; a proto's `_pb2_grpc`,
once its services are gone) while code of the user's that reads it stays,
kept because they changed it; or it can put back a line that reads a name
(a service back in the protos, its servicer's base class again) beside the
user's import statement that no longer binds it. Either way the merge is
clean and the module does not import. So every name the merged module reads
and nothing binds, that the user's file did bind or did not read, gets its
import back: the new render's statement for it, else the user's own. A name
neither side imports is left to the run's report of what it took away.
The other way round, both sides can add the same import (the user's
`import pytest` for a fixture, the render's once a test needs it): the
render's copy of the binding goes, the user's line stays.

`misplaced` is the other half of the check: what a clean merge broke that no
import mends (a read torn from its definition, a method or a decorator twice),
for which the plan merges by definitions instead (`bydefinition`).
"""

from __future__ import annotations

import ast
import functools
from collections import Counter
from collections.abc import Callable

from scaffold.core.imports import LINE_LIMIT, member_key
from scaffold.core.text import lines as split_lines
from scaffold.generation import pysource

Binding = tuple[ast.Import | ast.ImportFrom, ast.alias]


def rebound(
    merged: bytes, render: bytes, current: bytes, package: str, gone: Callable[[str], bool] = lambda module: False
) -> bytes:
    """`merged` (a clean merge of `current` and `render`) with an import for each name it reads that
    `current` did not leave unbound and `render` or `current` imports, unless from a module this run
    takes away (`gone`, by dotted name): that read is the report's to name, not an import to put back;
    and without a second binding of a name both sides import (`_undoubled`)."""
    try:
        text = undoubled(merged.decode("utf-8"), current)
        missing = set(pysource.unresolved(text, ast.parse(text)))
    except (UnicodeDecodeError, SyntaxError, ValueError):
        return merged
    if not missing:
        return text.encode("utf-8")
    missing -= _unresolved(current)
    bindings: list[Binding] = []
    for side in (render, current):
        for binding in _imports(side):
            name = _bound_name(binding[1])
            if name in missing and not any(gone(module) for module in _modules(*binding)):
                missing.discard(name)
                bindings.append(binding)
    if not bindings:
        return text.encode("utf-8")
    newline = _usual_newline(text)
    for node, alias in bindings:
        text = _with_binding(text, node, alias, package, newline)
    try:
        ast.parse(text)
    except SyntaxError:  # never expected; the merge as it was is still the user's lines
        return merged
    return text.encode("utf-8")


def undoubled(text: str, kept: bytes) -> str:
    """`text` without the second binding of a name two of its import statements bind to the same thing,
    where `kept` did not already: both sides added the import (the user's `import pytest` beside the
    render's, the user's `from m import a` kept while the render's `from m import a, b` came back; a layout
    switch carrying a module's imports, taken for the user's without its record, beside the render's), and
    ruff would call it F811. The binding dropped is one in a statement `kept` does not have (of a statement
    both have, the later copy): with the user's file as `kept`, every line the user wrote stays."""
    tree = ast.parse(text)
    try:
        theirs = Counter(_statements(kept.decode("utf-8"), ast.parse(kept.decode("utf-8"))))
    except (UnicodeDecodeError, SyntaxError, ValueError):
        return text
    groups: dict[tuple[str, tuple[object, ...]], list[tuple[Binding, bool]]] = {}
    seen: Counter[str] = Counter()
    nodes = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    for node, statement in zip(nodes, _statements(text, tree), strict=True):
        seen[statement] += 1
        added = seen[statement] > theirs[statement]  # this copy is not one the user's file has
        for alias in node.names:
            identity = _identity(node, alias)
            if identity is not None:
                groups.setdefault(identity, []).append(((node, alias), added))
    drop: list[Binding] = []
    for group in groups.values():
        if len(group) > 1:
            copies = [binding for binding, was_added in group if was_added]
            drop += copies if len(copies) < len(group) else copies[1:]
    return _without(text, drop) if drop else text


def _statements(text: str, tree: ast.Module) -> list[str]:
    lines = split_lines(text, keepends=True)
    return [
        "".join(lines[n.lineno - 1 : n.end_lineno]).strip()
        for n in tree.body
        if isinstance(n, (ast.Import, ast.ImportFrom))
    ]


def _identity(node: ast.Import | ast.ImportFrom, alias: ast.alias) -> tuple[str, tuple[object, ...]] | None:
    """The name `alias` binds and what it binds it to; None for `import a.b` (binds `a` only beside it) and `*`."""
    if alias.name == "*" or (isinstance(node, ast.Import) and "." in alias.name and not alias.asname):
        return None
    if isinstance(node, ast.Import):
        return alias.asname or alias.name, ("import", alias.name)
    return alias.asname or alias.name, ("from", node.module, node.level, alias.name)


def _without(text: str, drop: list[Binding]) -> str:
    """`text` without the bindings `drop`: a statement left binding nothing goes with its lines, one left
    binding fewer names is spelled anew (as ruff format would, wrapped when long)."""
    lines = split_lines(text, keepends=True)
    by_node: dict[int, tuple[ast.Import | ast.ImportFrom, list[ast.alias]]] = {}
    for node, alias in drop:
        by_node.setdefault(id(node), (node, []))[1].append(alias)
    for node, aliases in sorted(by_node.values(), key=lambda pair: -pair[0].lineno):
        first, end = node.lineno - 1, node.end_lineno or node.lineno
        kept = [alias for alias in node.names if alias not in aliases]
        ending = lines[end - 1][len(lines[end - 1].rstrip("\r\n")) :]
        comment = "#" in "".join(lines[first:end])
        if not kept:
            lines[first:end] = []
            if first < len(lines) and not lines[first].strip() and (first == 0 or not lines[first - 1].strip()):
                del lines[first]  # the blank line that set it apart, now one of two in a row
        elif not comment:
            lines[first:end] = [_spelled(node, kept, ending or "\n") + ending]
    return "".join(lines)


def _spelled(node: ast.Import | ast.ImportFrom, aliases: list[ast.alias], newline: str) -> str:
    names = [alias.name + (f" as {alias.asname}" if alias.asname else "") for alias in aliases]
    if isinstance(node, ast.Import):
        return f"import {', '.join(names)}"
    source = "." * node.level + (node.module or "")
    statement = f"from {source} import {', '.join(names)}"
    if len(statement) > LINE_LIMIT:
        statement = f"from {source} import (" + newline + "".join(f"    {n},{newline}" for n in names) + ")"
    return statement


def misplaced(merged: bytes, render: bytes, current: bytes) -> list[str]:
    """What a clean line merge broke that neither side had broken: a name read where nothing binds it, though
    the render binds it where it reads it and the user's file did too (the merge put a read apart from its
    definition, aligning lines on the wrong blank line when the render rewrote the module: a sync test
    module become asyncio's), or a name defined twice in one class or module (a method's lines aligned with
    another class's), or a module that no longer parses though both sides did (the user's lines put between
    the last two lines of a block, the line diff having aligned a removed block's twin last line with the
    one that stays), or a definition both sides have that the merge has not where they have it (a method
    whose class line went: a revived service's class rendered where the user's module had another class
    with the same stubs, the kept class's methods left below a helper of the user's), or a definition in a
    function's body that neither side has there (a new RPC's stub aligned below the `return` of a helper of
    the user's: unreachable, its class without it). Such a merge is no merge; the caller calls it a
    conflict."""
    if not _parses(merged) and _parses(current) and _parses(render):
        return ["<the merged module does not parse>"]
    twice = _defined_twice(merged) - _defined_twice(current) - _defined_twice(render)
    twice |= (_defined(current) & _defined(render)) - _defined(merged)
    twice |= _nested(merged) - _nested(current) - _nested(render)
    twice |= _put_in_another_class(merged, render, current)
    suspects = _unresolved(merged) - _unresolved(current) - _unresolved(render)
    if not suspects:
        return sorted(twice)
    tree = _tree(render)
    if tree is None:
        return sorted(twice)
    named = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    named |= {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    return sorted(twice | (suspects & named))


def _defined_twice(content: bytes) -> set[str]:
    """`Class.name` or `name` for each function or class defined twice in one class body or module, and
    `@decorator name` for a definition that carries one decorator twice (a removed fixture's
    `@pytest.fixture` line left on the user's fixture below it)."""
    tree = _tree(content)
    if tree is None:
        return set()
    twice: set[str] = set()
    scopes: list[tuple[str, list[ast.stmt]]] = [("", tree.body)]
    scopes += [(f"{node.name}.", node.body) for node in tree.body if isinstance(node, ast.ClassDef)]
    for prefix, body in scopes:
        seen: set[str] = set()
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + node.name
                (twice if name in seen else seen).add(name)
                decorators = [ast.dump(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list]
                if len(set(decorators)) < len(decorators):
                    twice.add(f"@decorator {name}")
    return twice


def _put_in_another_class(merged: bytes, render: bytes, current: bytes) -> set[str]:
    """`Class.name` for a method the render adds to one class that the merge put in another, where neither
    side has it (a new RPC's stub aligned on the lines a kept class shares with its service's class, which the
    user had edited there: the stub served by no one, the record holding it where the file does not)."""
    merged_names, render_names, current_names = _defined(merged), _defined(render), _defined(current)
    added = {name.partition(".")[2] for name in render_names - current_names - merged_names if "." in name}
    return {
        name for name in merged_names - current_names - render_names if "." in name and name.partition(".")[2] in added
    }


def _defined(content: bytes) -> set[str]:
    """`name` for each top-level function and class, `Class.name` for each function of a top-level class."""
    tree = _tree(content)
    if tree is None:
        return set()
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
        if isinstance(node, ast.ClassDef):
            found |= {
                f"{node.name}.{item.name}"
                for item in node.body
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
            }
    return found


def _nested(content: bytes) -> set[str]:
    """`function>name` (`Class.method>name`) for each function or class defined in the body of a top-level
    function or of a method of a top-level class."""
    tree = _tree(content)
    if tree is None:
        return set()
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    bodies = [(node.name, node) for node in tree.body if isinstance(node, functions)]
    bodies += [
        (f"{node.name}.{item.name}", item)
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        for item in node.body
        if isinstance(item, functions)
    ]
    return {
        f"{name}>{inner.name}"
        for name, function in bodies
        for inner in ast.walk(function)
        if inner is not function and isinstance(inner, (*functions, ast.ClassDef))
    }


@functools.lru_cache(maxsize=8)
def _tree(content: bytes) -> ast.Module | None:
    """The module `content` holds, None where it is not UTF-8 Python; parsed once for the several questions
    `misplaced` asks of each of its three modules (nothing here changes a tree)."""
    try:
        return ast.parse(content.decode("utf-8"))
    except (UnicodeDecodeError, SyntaxError, ValueError):
        return None


def _parses(content: bytes) -> bool:
    return _tree(content) is not None


def _unresolved(content: bytes) -> set[str]:
    tree = _tree(content)
    try:  # symtable refuses some modules the parser takes (`nonlocal` at module level)
        return set() if tree is None else set(pysource.unresolved(content.decode("utf-8"), tree))
    except (SyntaxError, ValueError):
        return set()


def _imports(content: bytes) -> list[Binding]:
    tree = _tree(content)
    if tree is None:
        return []
    return [
        (node, alias)
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom)) and getattr(node, "module", None) != "__future__"
        for alias in node.names
        if alias.name != "*"
    ]


def _modules(node: ast.Import | ast.ImportFrom, alias: ast.alias) -> list[str]:
    """The modules an import may load for `alias` (absolute imports only: scaffold renders no other)."""
    if isinstance(node, ast.Import):
        return [alias.name]
    if node.level or node.module is None:
        return []
    return [node.module, f"{node.module}.{alias.name}"]


def _bound_name(alias: ast.alias) -> str:
    return alias.asname or alias.name.partition(".")[0]


def _usual_newline(text: str) -> str:
    endings = Counter(line[len(line.rstrip("\r\n")) :] for line in split_lines(text, keepends=True))
    endings.pop("", None)
    return endings.most_common(1)[0][0] if endings else "\n"


def _with_binding(text: str, node: ast.Import | ast.ImportFrom, alias: ast.alias, package: str, newline: str) -> str:
    """`text` binding `alias` as `node` did: joined to a `from` statement of the same module when there is
    one (as ruff's isort combines them), else a statement of its own where isort would place it."""
    spelled = alias.name + (f" as {alias.asname}" if alias.asname else "")
    if isinstance(node, ast.Import):
        return pysource.with_import(text, f"import {spelled}", package, newline)
    source = "." * node.level + (node.module or "")
    if not alias.asname:
        for existing in ast.parse(text).body:
            if (
                isinstance(existing, ast.ImportFrom)
                and (existing.module, existing.level) == (node.module, node.level)
                and not any(other.asname or other.name == "*" for other in existing.names)
                and "#" not in "".join(split_lines(text)[existing.lineno - 1 : existing.end_lineno])
            ):
                return _joined(text, existing, source, alias.name, newline)
    return pysource.with_import(text, f"from {source} import {spelled}", package, newline)


def _joined(text: str, existing: ast.ImportFrom, source: str, name: str, newline: str) -> str:
    """`text` with `name` added to the statement `existing` (which holds no comment), its names in ruff's
    order and wrapped as ruff format wraps a statement too long for one line."""
    lines = split_lines(text, keepends=True)
    first, end = existing.lineno - 1, existing.end_lineno or existing.lineno
    names = sorted({*(other.name for other in existing.names), name}, key=member_key)
    statement = f"from {source} import {', '.join(names)}"
    if len(statement) > LINE_LIMIT:
        statement = f"from {source} import (" + newline + "".join(f"    {n},{newline}" for n in names) + ")"
    ending = lines[end - 1][len(lines[end - 1].rstrip("\r\n")) :] or newline
    return "".join([*lines[:first], statement + ending, *lines[end:]])
