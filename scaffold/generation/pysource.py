"""A Python module's top level as line ranges: what a layout switch cuts, carries and checks.

The switch moves whole top-level statements between modules, so it needs only
what the compiler itself knows: where each statement starts and ends (ast),
which comment lines belong to it, which names a module leaves unresolved
(symtable, the compiler's own scope analysis, as pyflakes' F821 reports them).
Lines are split as the tokenizer splits them (`scaffold.core.text`).
"""

from __future__ import annotations

import ast
import builtins
import symtable
import sys
from collections.abc import Iterable, Mapping
from functools import cached_property

from msgspec import Struct

from scaffold.core.errors import Diagnostic
from scaffold.core.text import lines as split_lines

Span = tuple[int, int]
"""Lines [first, end), 0-based."""

_MODULE_NAMES = frozenset({*dir(builtins), "__file__", "__name__", "__doc__", "__spec__", "__loader__", "__path__"})


class Source(Struct, frozen=True, dict=True):
    """One module, parsed once."""

    text: str
    lines: list[str]
    tree: ast.Module

    @cached_property
    def blocks(self) -> dict[str, Span]:
        """Top-level classes and functions with their lines: decorators and the comments directly above
        included (the comment says what follows), trailing blank lines not."""
        return _blocks(self)

    @cached_property
    def defined(self) -> set[str]:
        """The names the module defines at top level (functions, classes, assignments)."""
        return {name for node in self.tree.body for name in defined_by(node)}

    @cached_property
    def imports(self) -> list[tuple[str, set[str]]]:
        """Top-level import statements (not `__future__`) as written, with the names each binds."""
        found = []
        for node in self.tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)) and not (
                isinstance(node, ast.ImportFrom) and node.module == "__future__"
            ):
                segment = "".join(self.lines[node.lineno - 1 : node.end_lineno]).strip()
                found.append((segment, defined_by(node)))
        return found

    @cached_property
    def header(self) -> list[str]:
        """The comment lines above the first statement (a licence, a shebang), blank lines between included."""
        first = statement_start(self, 0) if self.tree.body else len(self.lines)
        end = first
        while end > 0 and not self.lines[end - 1].strip():
            end -= 1
        return (
            self.lines[:end]
            if all(not line.strip() or line.lstrip().startswith("#") for line in self.lines[:end])
            else []
        )


def parse(path: str, content: bytes) -> Source | Diagnostic:
    """`content` parsed, or where and why it is not Python scaffold can move code out of."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        col = error.start - (content.rfind(b"\n", 0, error.start) + 1) + 1
        return Diagnostic(path, f"not UTF-8 (byte 0x{content[error.start]:02x})", line, col)
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        return Diagnostic(path, f"does not parse: {error.msg}", error.lineno or 1, error.offset or 1)
    except ValueError as error:  # a NUL byte
        return Diagnostic(path, f"does not parse: {error}", 1, 1)
    return Source(text, split_lines(text, keepends=True), tree)


def statement_start(source: Source, index: int) -> int:
    """The first line of top-level statement `index`, its decorators included."""
    node = source.tree.body[index]
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)]) - 1


def _blocks(source: Source) -> dict[str, Span]:
    lines, body = source.lines, source.tree.body
    starts = [statement_start(source, index) for index in range(len(body))]
    ends = [node.end_lineno or node.lineno for node in body]
    # Between two statements, an indented comment belongs to the one above (the end of a class body);
    # comments at column 0 after the last of those belong to the statement below.
    splits = [_split(lines, ends[index], starts[index + 1]) for index in range(len(body) - 1)] + [len(lines)]
    blocks: dict[str, Span] = {}
    for index, node in enumerate(body):
        if not isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        first = starts[index]
        if index:  # above the first statement is the module's header, not the block's
            first = splits[index - 1]
            while first < starts[index] and not lines[first].strip():
                first += 1
        end = splits[index]
        while end > ends[index] and not lines[end - 1].strip():
            end -= 1
        blocks[node.name] = (first, end)
    return blocks


def _split(lines: list[str], end: int, start: int) -> int:
    split = end
    for number in range(end, start):
        if lines[number].strip() and not lines[number].startswith("#"):
            split = number + 1
    return split


def defined_by(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {t.id for t in targets if isinstance(t, ast.Name)}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return set()


def names_used(source: Source, spans: list[Span]) -> set[str]:
    """The names the lines `spans` read, and the parameters of test functions there (pytest's fixtures are
    named by their parameters, not read)."""
    used: set[str] = set()
    for first, end in spans:
        try:
            tree = ast.parse("".join(source.lines[first:end]))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                used.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                used.update(argument.arg for argument in node.args.args)
    return used


def unresolved(text: str, tree: ast.Module | None = None) -> dict[str, int]:
    """The names `text` (parsed: `tree`) reads that nothing defines (ruff's F821), each with the line it is
    first read on; none when a star import could define anything."""
    tree = tree or ast.parse(text)
    if any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names) for n in tree.body):
        return {}
    table = symtable.symtable(text, "<module>", "exec")
    defined = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    missing: set[str] = set()

    def visit(scope: symtable.SymbolTable) -> None:
        for symbol in scope.get_symbols():
            name = symbol.get_name()
            if symbol.is_referenced() and symbol.is_global() and name not in defined and name not in _MODULE_NAMES:
                missing.add(name)
        for child in scope.get_children():
            visit(child)

    visit(table)
    # Under `from __future__ import annotations` symtable does not see the names annotations read; ruff does.
    bound = set(defined)

    def bind(scope: symtable.SymbolTable) -> None:  # a class-level alias may be what a method's annotation reads
        bound.update(
            s.get_name() for s in scope.get_symbols() if s.is_assigned() or s.is_imported() or s.is_parameter()
        )
        for child in scope.get_children():
            bind(child)

    bind(table)
    missing |= {name for name in _annotation_names(tree) if name not in bound and name not in _MODULE_NAMES}
    first: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in missing:
            first[node.id] = min(first.get(node.id, node.lineno), node.lineno)
    return {name: first.get(name, 1) for name in sorted(missing)}


def _annotation_names(tree: ast.Module) -> set[str]:
    """The first name of every dotted name an annotation reads (`shop_pb2` of `shop_pb2.Item`), strings aside."""
    return {n.id for a in annotations_in(tree) for n in ast.walk(a) if isinstance(n, ast.Name)}


def annotations_in(tree: ast.AST) -> list[ast.expr]:
    """Every annotation in `tree`: of parameters, returns and annotated assignments."""
    found: list[ast.expr | None] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append(node.returns)
            arguments = node.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]
            found += [argument.annotation for argument in every if argument is not None]
        elif isinstance(node, ast.AnnAssign):
            found.append(node.annotation)
    return [annotation for annotation in found if annotation is not None]


def redefined(text: str, tree: ast.Module | None = None) -> dict[str, int]:
    """Top-level names `text` (parsed: `tree`) defines twice by `def`, `class` or import (ruff's F811), with
    the second line."""
    seen: set[str] = set()
    twice: dict[str, int] = {}
    for node in (tree or ast.parse(text)).body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.Import, ast.ImportFrom)):
            names = defined_by(node)
            if isinstance(node, ast.Import):  # `import grpc.aio` beside `import grpc` binds the same package
                names = {(a.asname or a.name) for a in node.names if a.asname or "." not in a.name}
            for name in names:
                if name in seen and name not in twice:
                    twice[name] = node.lineno
                seen.add(name)
    return twice


def import_key(node: ast.stmt, package: str) -> tuple[int, int, str]:
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


def with_import(text: str, statement: str, package: str, newline: str = "\n") -> str:
    """`text` with the import `statement` placed where ruff's isort would put it: in its section (standard
    library, third party, the project's own), `import x` before `from x import`, by module; the lines it
    adds end in `newline`."""
    tree = ast.parse(text)
    key = import_key(ast.parse(statement).body[0], package)
    lines = split_lines(text, keepends=True)
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    added = statement.rstrip("\n").replace("\n", newline) + newline
    later = [node for node in imports if import_key(node, package) > key]
    if later:
        at = later[0]
        same_section = import_key(at, package)[0] == key[0]
        return (
            "".join(lines[: at.lineno - 1])
            + added
            + ("" if same_section else newline)
            + "".join(lines[at.lineno - 1 :])
        )
    if imports:
        last = imports[-1]
        same_section = import_key(last, package)[0] == key[0]
        end = last.end_lineno or last.lineno
        return "".join(lines[:end]) + ("" if same_section else newline) + added + "".join(lines[end:])
    docstring = tree.body[0] if tree.body and isinstance(tree.body[0], ast.Expr) else None
    end = (docstring.end_lineno or 0) if docstring else 0
    return "".join(lines[:end]) + (newline if end else "") + added + "".join(lines[end:])


def put(text: str, blocks: Mapping[str, str], order: list[str]) -> str:
    """`text` with each definition of `blocks` replaced by its block, or inserted where `order` (the render's
    order of definitions) puts it when `text` does not have it; "" removes one and the blank lines before it.

    All at once, by the places the definitions have in `text`: one at a time, a comment at the end of a
    block put in would read as the comment above the next definition, and go with it when that is put."""
    source = _parsed(text)
    lines = source.lines
    splices: list[tuple[int, int, int, str]] = []  # (first, end, rank, new text): [first, end) becomes it
    for rank, (name, block) in enumerate(sorted(blocks.items())):
        if name in source.blocks:
            first, end = source.blocks[name]
            if not block:
                while first > 0 and not lines[first - 1].strip():
                    first -= 1
            splices.append((first, end, rank, block))
        elif block:
            following = order[order.index(name) + 1 :] if name in order else []
            at = next((source.blocks[n][0] for n in following if n in source.blocks), None)
            if at is None:
                splices.append((len(lines), len(lines), rank, "\n\n" + block))
            else:
                splices.append((at, at, rank, block + "\n\n"))
    out = list(lines)
    if any(first == len(lines) for first, *_ in splices) and out and not out[-1].endswith("\n"):
        out[-1] += "\n"
    # from the bottom up; at one place, what replaces lines there before what goes in front of them
    for first, end, _, new in sorted(splices, key=lambda s: (s[0], s[1] > s[0], s[2]), reverse=True):
        out[first:end] = [new]
    return "".join(out)


def without(source: Source, spans: list[Span]) -> str:
    """`source` with the line ranges `spans` (and the blank lines before each) cut."""
    lines = source.lines
    drop: set[int] = set()
    for first, end in spans:
        while first > 0 and not lines[first - 1].strip() and first - 1 not in drop:
            first -= 1
        drop.update(range(first, end))
    result = "".join(line for number, line in enumerate(lines) if number not in drop)
    return result.rstrip("\n") + "\n" if result.strip() else ""


def tidy(text: str) -> str:
    """Two blank lines before each top-level definition, and none above the first line, as cutting blocks
    out (a module docstring among them) may leave one or three."""
    source = parse("", text.encode())
    if isinstance(source, Diagnostic):
        return text
    starts = {first for first, _ in list(source.blocks.values())[0:] if first > 0}
    out: list[str] = []
    for number, line in enumerate(source.lines):
        if number in starts:
            while out and not out[-1].strip():
                out.pop()
            out += ["\n", "\n"] if out else []
        if out or line.strip():
            out.append(line)
    return "".join(out)


def without_unused_imports(text: str, removable: set[str]) -> str:
    """`text` without the import statements of `removable` (scaffold's, or carried away) that nothing left
    in it uses."""
    source = parse("", text.encode())
    if isinstance(source, Diagnostic):
        return text
    used = {node.id for node in ast.walk(source.tree) if isinstance(node, ast.Name)}
    unused = {statement for statement, bound in source.imports if statement in removable and not bound & used}
    if not unused:
        return text
    lines = source.lines
    drop: set[int] = set()
    for node in source.tree.body:
        end = node.end_lineno or node.lineno
        if isinstance(node, (ast.Import, ast.ImportFrom)) and "".join(lines[node.lineno - 1 : end]).strip() in unused:
            drop.update(range(node.lineno - 1, end))
            before = node.lineno - 2
            alone = before < 0 or before in drop or not lines[before].strip()
            if alone and end < len(lines) and not lines[end].strip():
                drop.add(end)  # the blank line that separated its section, which it was alone in
    return "".join(line for number, line in enumerate(lines) if number not in drop)


def without_unused_names(text: str, statements: set[str]) -> str:
    """`text` with each of `statements` (scaffold's own imports) narrowed to the names something in it
    uses, and dropped when it uses none: code that arrived from another module may not need all of them."""
    text = without_unused_imports(text, statements)
    source = parse("", text.encode())
    if isinstance(source, Diagnostic):
        return text
    used = {node.id for node in ast.walk(source.tree) if isinstance(node, ast.Name)} | _annotation_names(source.tree)
    for node in source.tree.body:
        if not isinstance(node, ast.ImportFrom) or node.module is None or node.level:
            continue
        statement = "".join(source.lines[node.lineno - 1 : node.end_lineno]).strip()
        kept = [alias for alias in node.names if (alias.asname or alias.name) in used]
        if statement in statements and 0 < len(kept) < len(node.names):
            names = ", ".join(alias.name + (f" as {alias.asname}" if alias.asname else "") for alias in kept)
            text = text.replace(statement, f"from {node.module} import {names}", 1)
    return text


def narrows(statement: str, original: str) -> bool:
    """Whether `statement` imports, from the module `original` imports from, fewer of its names
    (what `without_unused_names` makes of it)."""
    ours, theirs = ast.parse(statement).body[0], ast.parse(original).body[0]
    if not (isinstance(ours, ast.ImportFrom) and isinstance(theirs, ast.ImportFrom)):
        return False
    names = {(alias.name, alias.asname) for alias in ours.names}
    return (ours.module, ours.level) == (theirs.module, theirs.level) and names < {
        (alias.name, alias.asname) for alias in theirs.names
    }


def imports_from(statement: str, module: str) -> bool:
    node = ast.parse(statement).body[0]
    return isinstance(node, ast.ImportFrom) and node.module == module


def line_defining(source: Source, name: str) -> int:
    for node in source.tree.body:
        if name in defined_by(node):
            return node.lineno
    return 1


def line_reading(source: Source, name: str, outside: Iterable[str] = ()) -> int:
    """The first line of `source` that reads `name` (outside the definitions `outside`)."""
    skip = set(outside)
    for node in source.tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in skip:
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name) and inner.id == name:
                return inner.lineno
    return 1


def is_fixture(source: Source, name: str) -> bool:
    for node in source.tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return any("fixture" in ast.unparse(decorator) for decorator in node.decorator_list)
    return False


def _parsed(text: str) -> Source:
    source = parse("", text.encode())
    assert isinstance(source, Source), source  # scaffold's own text, which always parses
    return source
