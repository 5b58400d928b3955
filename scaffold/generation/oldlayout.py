"""A module of the old layout, as a layout switch reads it (`scaffold.generation.relayout`).

Every step of a switch asks the same questions of a module the new layout no
longer renders: the block of a definition as the user has it and as scaffold
recorded it, whether the user edited it, the user's own header, helpers and
imports, and what the module already leaves undefined. They are answered
here once, for the planning (`relayout`), the new modules (`arrival`), what
stays behind (`leftover`) and the proofs (`moveproof`).
"""

from __future__ import annotations

import ast
import functools
from functools import cached_property

from msgspec import Struct

from scaffold.core.text import lines as split_lines
from scaffold.generation import pysource
from scaffold.generation.pysource import Source


class Old(Struct, frozen=True, dict=True):
    """A module of the old layout that the new one no longer renders: the user's and scaffold's record of it."""

    path: str
    ours: Source
    base: Source | None

    def block(self, name: str, recorded: bool = False) -> str | None:
        source = self.base if recorded else self.ours
        if source is None or name not in source.blocks:
            return None
        first, end = source.blocks[name]
        text = "".join(source.lines[first:end])
        return text if text.endswith("\n") else text + "\n"

    def recorded_span(self, name: str) -> pysource.Span | None:
        """The lines of the user's block of `name` that are scaffold's block as recorded (line ends aside),
        where the user's block is that and nothing below it but comments of theirs (None otherwise). Such a
        comment says nothing of the definition's code: cut as scaffold wrote it, the definition leaves it."""
        if self.base is None or name not in self.base.blocks or name not in self.ours.blocks:
            return None
        first, end = self.ours.blocks[name]
        recorded = split_lines(self.block(name, recorded=True) or "")
        below = first + len(recorded)
        if below > end or split_lines("".join(self.ours.lines[first:below])) != recorded:
            return None
        if any(line.strip() and not line.lstrip().startswith("#") for line in self.ours.lines[below:end]):
            return None
        return first, below

    @cached_property
    def unresolved(self) -> set[str]:
        """What the user's module already leaves undefined: not the switch's doing, so not its to refuse."""
        return set(pysource.unresolved(self.ours.text, self.ours.tree))

    @cached_property
    def redefined(self) -> set[str]:
        return set(pysource.redefined(self.ours.text, self.ours.tree))

    def edited(self, name: str) -> bool:
        return self.block(name) != self.block(name, recorded=True)

    @cached_property
    def header(self) -> list[str]:
        """The user's own header lines (a licence): those scaffold's record of the module does not have."""
        recorded = set(self.base.header) if self.base else set()
        mine = self.ours.header
        return mine if any(line.strip() and line not in recorded for line in mine) else []

    @cached_property
    def own_names(self) -> set[str]:
        """What the user defined at top level beside scaffold's code (helpers, constants), imports aside."""
        recorded = self.base.defined if self.base else set()
        return {
            name
            for node in self.ours.tree.body
            if not isinstance(node, (ast.Import, ast.ImportFrom))
            for name in pysource.defined_by(node)
        } - recorded

    @cached_property
    def added_imports(self) -> list[tuple[str, set[str]]]:
        """The user's imports: those the recorded render did not have. One of scaffold's narrowed to fewer
        names (what a switch does when moved code needs fewer, `pysource.without_unused_names`) is not."""
        if self.base is None:
            return list(self.ours.imports)
        had = [statement for statement, _ in self.base.imports]
        return [
            (statement, bound)
            for statement, bound in self.ours.imports
            if statement not in had and not any(pysource.narrows(statement, original) for original in had)
        ]

    @cached_property
    def scaffolds_imports(self) -> set[str]:
        """The import statements of this module that are scaffold's: as rendered, or narrowed since."""
        users = {statement for statement, _ in self.added_imports}
        return {statement for statement, _ in self.ours.imports if statement not in users}


@functools.lru_cache(maxsize=64)  # a module is asked for several times in a row while code arrives in it
def parse_render(path: str, content: bytes) -> Source:
    source = pysource.parse(path, content)
    assert isinstance(source, Source), source  # scaffold's own render always parses
    return source


def module_of(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def names_in_code(tree: ast.Module, outside: str = "") -> set[str]:
    """Every name the module's code reads, imports or binds (outside its top-level definition `outside`):
    names, attributes, imported and parameter names, and the names of string annotations and of `__all__`.
    Comments and other strings are not code. Broader than `pysource.names_used` (what moving lines read)
    and `pysource.unresolved` (what the compiler leaves unbound): it answers whether anything at all may
    still need a definition the switch would let go, so it errs toward keeping it."""
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == outside:
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name):
                found.add(inner.id)
            elif isinstance(inner, ast.Attribute):
                found.add(inner.attr)
            elif isinstance(inner, ast.alias):
                found.update({*inner.name.split("."), inner.asname or ""})
            elif isinstance(inner, ast.arg):
                found.add(inner.arg)
        spoken = [n for a in pysource.annotations_in(node) for n in ast.walk(a)]
        if any(isinstance(inner, ast.Name) and inner.id == "__all__" for inner in ast.walk(node)):
            spoken += list(ast.walk(node))  # `__all__ = [...]`, `+=`, `.append(...)`: each string a name
        for constant in spoken:
            if isinstance(constant, ast.Constant) and isinstance(constant.value, str):
                try:
                    found |= {
                        n.id
                        for n in ast.walk(ast.parse(constant.value.strip(), mode="eval"))
                        if isinstance(n, ast.Name)
                    }
                except SyntaxError:
                    found.add(constant.value)
    return found
