"""Stage: move the user's code when the project changes layout (`layout = "single"` <-> `"per-service"`).

A switch renders the user's code into other modules: a servicer class moves
from `servicer.py` to its service's module, a test function and a client call
to theirs. Rendering alone would give the new modules fresh stubs and leave the
user's implementation in a file scaffold no longer renders. So, before the
merge, every top-level definition that the new layout renders in exactly one
other module moves there, twice: the user's block into what the module "was"
(the merge's own side) and the recorded block into its merge base. The merge
then adds what the protos changed and keeps every line the user wrote; the merge
base moved with the code, so the next run merges as if the module had always
been there.

What is not a moved definition stays where it was: a module the new layout
no longer renders keeps the user's other lines (helpers, constants) and is
deleted only when nothing of the user's is left in it. A moved block that uses
an import the user added, or a helper the user defined beside it, takes the
import along and imports the helper from the module it stayed in.
"""

from __future__ import annotations

import ast
import functools
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from scaffold.state import State

Blocks = dict[str, tuple[int, int]]
"""Top-level definition name -> its lines, [first, end) (0-based), decorators included, trailing blanks not."""


@dataclass(frozen=True)
class Move:
    """What a layout switch changes before the plan classifies the files."""

    currents: dict[str, bytes] = field(default_factory=dict)
    """A new module -> what it would hold had the user's code always been there (its merge's own side)."""
    bases: dict[str, bytes] = field(default_factory=dict)
    """A new module -> its merge base, the recorded blocks moved in."""
    leftovers: dict[str, bytes | None] = field(default_factory=dict)
    """An old module no longer rendered -> what stays of it (None: nothing of the user's, deleted)."""


def move(
    read: Callable[[str], bytes | None],
    previous: State,
    rendered: Mapping[str, bytes],
    rendered_before: Mapping[str, bytes],
    package: str,
) -> Move:
    """The moves of a switch from `previous.layout` to the layout of `rendered`.

    `rendered` are the new render's user-owned Python modules; `rendered_before`
    the same layout rendered from what the protos had last time (the starting
    point of each new module's merge base); `read` reads the project's files.
    """
    old_paths = [p for p, r in sorted(previous.files.items()) if r.owner == "user" and p.endswith(".py")]
    old: dict[str, tuple[bytes, bytes | None, Blocks, Blocks]] = {}
    for path in old_paths:
        ours = read(path)
        if ours is None:
            continue
        base = previous.base.get(path)
        old[path] = (ours, base, _blocks(ours), _blocks(base) if base is not None else {})
    new_defs = {path: _blocks(content) for path, content in rendered.items()}
    homes = _unique_homes((path, names) for path, names in new_defs.items())
    sources = _unique_homes((path, {*b_ours, *b_base}) for path, (_, _, b_ours, b_base) in old.items())
    moving: dict[str, dict[str, str]] = {}  # new path -> name -> old path
    for name, source in sources.items():
        target = homes.get(name)
        # Only from a module the new layout no longer renders into one it did not render before: a module
        # of both layouts (server.py) keeps its own code, and nothing is ever defined twice.
        if target is None or source in rendered or target in previous.files:
            continue
        moving.setdefault(target, {})[name] = source
    every_moved = {name for names in moving.values() for name in names}
    result = Move()
    cut: dict[str, set[str]] = {}
    carried_imports: dict[str, set[str]] = {}
    added: dict[str, tuple[list[tuple[str, set[str]]], set[str]]] = {}
    for target, arriving in sorted(moving.items()):
        merge_base = current = rendered_before.get(target, rendered[target]).decode()
        additions: list[str] = []
        for name, source in sorted(arriving.items()):
            ours, old_base, ours_blocks, base_blocks = old[source]
            if name in base_blocks and old_base is not None:
                merge_base = _replace(merge_base, name, _text(_lines(old_base), base_blocks[name]))
            if name in ours_blocks:
                current = _replace(current, name, _text(_lines(ours), ours_blocks[name]))
            else:
                current = _replace(current, name, "")  # the user deleted it: the deletion moves too
            cut.setdefault(source, set()).add(name)
        for source in sorted(set(arriving.values())):
            ours, old_base, ours_blocks, _ = old[source]
            used = _names_used(
                _lines(ours), [ours_blocks[n] for n, s in arriving.items() if s == source and n in ours_blocks]
            )
            if source not in added:  # parsed once per module: googleapis' single servicer is 191,000 lines
                added[source] = (_added_imports(ours, old_base), _defined(ours) - _defined(old_base) - every_moved)
            imports, extra = added[source]
            taken = [statement for statement, bound in imports if bound & used]
            carried_imports.setdefault(source, set()).update(taken)
            helpers = sorted(extra & used)
            additions += taken
            if helpers:
                module = source.removesuffix(".py").replace("/", ".")
                additions.append(f"from {module} import {', '.join(helpers)}")
        module = target.removesuffix(".py").replace("/", ".")
        additions = [line for line in additions if not _imports_from(line, module)]
        existing = read(target)
        if existing is not None:  # the user's own file there (what an earlier switch left): absorbed, not lost
            current = _absorb(current, existing, module, package)
        if additions:
            current = _with_imports(current, additions, package)
        result.currents[target] = current.encode()
        result.bases[target] = merge_base.encode()
    for source, gone in cut.items():
        ours, old_base, ours_blocks, base_blocks = old[source]
        left = _without(ours.decode(), [ours_blocks[n] for n in gone if n in ours_blocks], carried_imports[source])
        left_base = (
            _without(old_base.decode(), [base_blocks[n] for n in gone if n in base_blocks], set())
            if old_base is not None
            else None
        )
        if left == left_base or not left.strip():
            result.leftovers[source] = None
        else:
            scaffolds = {statement for statement, _ in _imports(old_base)} if old_base is not None else set()
            result.leftovers[source] = _tidy(_without_unused_imports(left, scaffolds)).encode()
    return result


def _imports_from(statement: str, module: str) -> bool:
    try:
        node = ast.parse(statement).body[0]
    except (SyntaxError, IndexError):
        return False
    return isinstance(node, ast.ImportFrom) and node.module == module


def _absorb(current: str, existing: bytes, module: str, package: str) -> str:
    """`current` with what the file `existing` adds to it: its imports (not those from `module` itself)
    and its top-level statements that define what `current` does not, placed before its first definition."""
    try:
        text = existing.decode("utf-8")
        tree = ast.parse(text)
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return current  # not Python: left out of the move, and the merge reports it
    have = {statement for statement, _ in _imports(current.encode())}
    defined = _defined(current.encode())
    imports = [s for s, _ in _imports(existing) if s not in have and not _imports_from(s, module)]
    lines = text.splitlines(True)
    extra: list[str] = []
    for index, node in enumerate(tree.body):
        if isinstance(node, (ast.Import, ast.ImportFrom)) or (index == 0 and isinstance(node, ast.Expr)):
            continue
        if _defined_by(node) & defined:
            continue
        extra.append("".join(lines[_first_line(node) : node.end_lineno]).rstrip("\n") + "\n")
    if extra:
        spans = _blocks(current.encode())
        first = min((start for start, _ in spans.values()), default=len(current.splitlines()))
        body = current.splitlines(True)
        current = "".join(body[:first]) + "\n\n".join(extra) + "\n\n" + "".join(body[first:])
    return _with_imports(current, imports, package) if imports else current


def _defined_by(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {t.id for t in targets if isinstance(t, ast.Name)}
    return set()


def _unique_homes(entries: Iterable[tuple[str, Iterable[str]]]) -> dict[str, str]:
    """Name -> the one path that defines it; names defined in several paths have no home."""
    homes: dict[str, str] = {}
    shared: set[str] = set()
    for path, names in entries:
        for name in names:
            if name in homes and homes[name] != path:
                shared.add(name)
            homes[name] = path
    return {name: path for name, path in homes.items() if name not in shared}


def _blocks(source: bytes) -> Blocks:
    """Top-level classes and functions of `source` with their line ranges; none when it does not parse.

    A block runs to the next top-level statement, so a class's trailing comments
    (`# scaffold adds the stubs ... above this line.`) go with it.
    """
    try:
        text = source.decode("utf-8")
        tree = ast.parse(text)
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return {}
    lines = text.splitlines()
    starts = [_first_line(node) for node in tree.body] + [len(lines)]
    blocks: Blocks = {}
    for index, node in enumerate(tree.body):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            end = starts[index + 1]
            while end > starts[index] and not lines[end - 1].strip():
                end -= 1
            if index + 1 < len(tree.body):  # comments at column 0 just above the next statement are its own
                while end > node.end_lineno and lines[end - 1].startswith("#"):  # type: ignore[operator]
                    end -= 1
                while end > starts[index] and not lines[end - 1].strip():
                    end -= 1
            blocks[node.name] = (starts[index], end)
    return blocks


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)]) - 1


@functools.lru_cache(maxsize=8)
def _lines(source: bytes) -> list[str]:
    """`source`'s lines, split once for all the blocks a switch takes from one module."""
    return source.decode("utf-8").splitlines(True)


def _text(lines: list[str], span: tuple[int, int]) -> str:
    block = "".join(lines[span[0] : span[1]])
    return block if block.endswith("\n") else block + "\n"


def _replace(text: str, name: str, block: str) -> str:
    """`text` with the definition `name` replaced by `block` ("" removes it and the blank lines before it)."""
    spans = _blocks(text.encode())
    if name not in spans:
        return text
    first, end = spans[name]
    lines = text.splitlines(True)
    if not block:
        while first > 0 and not lines[first - 1].strip():
            first -= 1
    return "".join(lines[:first]) + block + "".join(lines[end:])


def _without(text: str, spans: list[tuple[int, int]], statements: set[str]) -> str:
    """`text` with the line ranges `spans` (and the blank lines before each) and the import `statements` cut."""
    lines = text.splitlines(True)
    drop: set[int] = set()
    for first, end in spans:
        while first > 0 and not lines[first - 1].strip() and first - 1 not in drop:
            first -= 1
        drop.update(range(first, end))
    kept = [line for number, line in enumerate(lines) if number not in drop]
    result = "".join(kept)
    for statement in statements:
        result = result.replace(statement + "\n", "", 1)
    return result.rstrip("\n") + "\n" if result.strip() else ""


def _tidy(text: str) -> str:
    """Two blank lines before each top-level definition, as cutting blocks out may leave one or three."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    starts = {
        _first_line(node)
        for node in tree.body[1:]
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
    }
    lines = text.splitlines(True)
    out: list[str] = []
    for number, line in enumerate(lines):
        if number in starts:
            while out and not out[-1].strip():
                out.pop()
            out += ["\n", "\n"]
        out.append(line)
    return "".join(out)


def _without_unused_imports(text: str, scaffolds: set[str]) -> str:
    """`text` without the import statements scaffold wrote (`scaffolds`) that nothing left in it uses."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    used |= {
        node.value.id for node in ast.walk(tree) if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
    }
    unused = {statement for statement, bound in _imports(text.encode()) if statement in scaffolds and not bound & used}
    if not unused:
        return text
    lines = text.splitlines(True)
    drop: set[int] = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) and ast.get_source_segment(text, node) in unused:
            drop.update(range(node.lineno - 1, node.end_lineno or node.lineno))
            if node.end_lineno is not None and node.end_lineno < len(lines) and not lines[node.end_lineno].strip():
                drop.add(node.end_lineno)  # the blank line that separated its section
    return "".join(line for number, line in enumerate(lines) if number not in drop)


def _added_imports(ours: bytes, base: bytes | None) -> list[tuple[str, set[str]]]:
    """The top-level import statements in `ours` that `base` does not have, with the names each binds."""
    had = {statement for statement, _ in _imports(base)} if base is not None else set()
    return [(statement, bound) for statement, bound in _imports(ours) if statement not in had]


def _imports(source: bytes) -> list[tuple[str, set[str]]]:
    try:
        text = source.decode("utf-8")
        tree = ast.parse(text)
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return []
    found = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) and not (
            isinstance(node, ast.ImportFrom) and node.module == "__future__"
        ):
            segment = ast.get_source_segment(text, node) or ""
            bound = {(alias.asname or alias.name).split(".")[0] for alias in node.names}
            found.append((segment, bound))
    return found


def _defined(source: bytes | None) -> set[str]:
    """The names `source` defines at top level (functions, classes, assignments)."""
    if source is None:
        return set()
    try:
        tree = ast.parse(source.decode("utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return set()
    return {name for node in tree.body for name in _defined_by(node)}


def _names_used(lines: list[str], spans: list[tuple[int, int]]) -> set[str]:
    """The names the blocks `spans` of a module (its `lines`) read."""
    used: set[str] = set()
    for first, end in spans:
        try:
            tree = ast.parse("".join(lines[first:end]))
        except SyntaxError:
            continue
        used.update(node.id for node in ast.walk(tree) if isinstance(node, ast.Name))
    return used


def _with_imports(text: str, statements: list[str], package: str) -> str:
    """`text` with each import statement of `statements` placed where ruff's isort would put it: in its
    section (standard library, third party, the project's own), `import x` before `from x import`, by module."""
    for statement in dict.fromkeys(statements):
        text = _with_import(text, statement, package)
    return text


def _with_import(text: str, statement: str, package: str) -> str:
    tree = ast.parse(text)
    new = ast.parse(statement).body[0]
    key = _import_key(new, package)
    lines = text.splitlines(True)
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    added = statement.rstrip("\n") + "\n"
    later = [node for node in imports if _import_key(node, package) > key]
    if later:
        at = later[0]
        same_section = _import_key(at, package)[0] == key[0]
        return (
            "".join(lines[: at.lineno - 1]) + added + ("" if same_section else "\n") + "".join(lines[at.lineno - 1 :])
        )
    if imports:
        last = imports[-1]
        same_section = _import_key(last, package)[0] == key[0]
        end = last.end_lineno or last.lineno
        return "".join(lines[:end]) + ("" if same_section else "\n") + added + "".join(lines[end:])
    docstring = tree.body[0] if tree.body and isinstance(tree.body[0], ast.Expr) else None
    end = (docstring.end_lineno or 0) if docstring else 0
    return "".join(lines[:end]) + ("\n" if end else "") + added + "".join(lines[end:])


def _import_key(node: ast.stmt, package: str) -> tuple[int, int, str]:
    """(section, `import` before `from`, module) as ruff's isort orders statements."""
    module = (node.module or "") if isinstance(node, ast.ImportFrom) else node.names[0].name  # type: ignore[attr-defined]
    top = module.split(".")[0]
    if top == "__future__":
        section = 0
    elif top in sys.stdlib_module_names:
        section = 1
    elif top == package:
        section = 3
    else:
        section = 2
    return section, int(isinstance(node, ast.ImportFrom)), module.lower()
