"""What stays of a module of the old layout once the switch has moved its definitions out.

The user's other lines (helpers, constants) stay where they were, tidied of
the imports nothing left uses; a module with nothing of the user's left is
deleted. A statement that stays and reads what moved away would fail at
import, so it stops the switch, located (`scaffold.generation.relayout`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping

from scaffold.core.errors import Diagnostic
from scaffold.generation import pysource
from scaffold.generation.oldlayout import Old, module_of
from scaffold.generation.pysource import Source, Span


def stays(
    old: Old,
    names: set[str],
    carried: set[str],
    moved: Mapping[str, str],
    targets: Iterable[str],
    header_moved: bool,
) -> tuple[bytes | None, list[Diagnostic]]:
    """What stays of `old` once `names` left it (None: nothing of the user's); a statement that stays and
    names what moved would fail at import, so it stops the switch. The user's header stays alone when
    nothing else of theirs does and no code took it along (`header_moved`: it went with the moved code)."""
    # A definition that moved took the comments below it along; one cut as scaffold recorded it
    # (`relayout._as_recorded_and_unread`) leaves the user's comments below it here.
    spans = [
        old.ours.blocks[n] if n in moved else old.recorded_span(n) or old.ours.blocks[n]
        for n in names
        if n in old.ours.blocks
    ]
    ours = pysource.without(old.ours, spans + _follows(old.ours, old, names))
    recorded = (
        pysource.without(
            old.base, [old.base.blocks[n] for n in names if n in old.base.blocks] + _follows(old.base, old, names)
        )
        if old.base
        else None
    )
    # scaffold's imports, those carried away with the code and those of what moved, where nothing left uses them
    removable = {statement for statement, _ in old.base.imports} if old.base else set()
    removable |= old.scaffolds_imports
    removable |= carried | {
        s for s, _ in old.ours.imports if any(pysource.imports_from(s, module_of(t)) for t in targets)
    }
    ours = pysource.without_unused_imports(ours, removable)
    if old.header:  # carried to every module the code went to
        ours = ours.replace("".join(old.header), "", 1).lstrip("\n")
    if not ours.strip() or (
        recorded is not None and ours.strip() == pysource.without_unused_imports(recorded, removable).strip()
    ):
        return (None if header_moved or not old.header else "".join(old.header).encode()), []
    text = pysource.tidy(ours)
    if old.header:
        text = "".join(old.header).rstrip("\n") + "\n" + text
    problems = []
    for name in pysource.unresolved(text):
        if (name in moved or name in names) and name not in old.unresolved:
            where = f"moves to {moved[name]}" if name in moved else "leaves this module in the switch"
            message = f"this line stays in {old.path} but reads `{name}`, which {where}"
            problems.append(
                Diagnostic(
                    old.path,
                    message + "; move or remove it, then run scaffold gen",
                    pysource.line_reading(old.ours, name, outside=names),
                    1,
                )
            )
    return text.encode(), problems


def _follows(source: Source, old: Old, gone: set[str]) -> list[Span]:
    """Statements of scaffold's, as it wrote them, that read what left the module (`if __name__ == "__main__": main()`):
    the new modules have their own, and left behind they would read a name that is gone."""
    if old.base is None:
        return []
    recorded = {ast.dump(node) for node in old.base.tree.body}
    spans = []
    for index, node in enumerate(source.tree.body):
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        reads = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        if reads & gone and ast.dump(node) in recorded:
            spans.append((pysource.statement_start(source, index), node.end_lineno or node.lineno))
    moved = [source.blocks[name] for name in gone if name in source.blocks]
    return spans + _scaffolds_own(source, old.base, spans, moved)


def _scaffolds_own(source: Source, base: Source, taken: list[Span], moved: list[Span]) -> list[Span]:
    """The rest of scaffold's module-level statements, exactly as it wrote them with the comments right above
    (the docstring, a service config, constants): the new layout's modules have their own, and left behind
    they would make scaffold's lines look like the user's to the next switch, which then could not place
    them. One that a line staying behind reads stays too."""
    mine = {index: _commented(source, index) for index in _statements(source)}
    theirs = {_text(base, _commented(base, index)) for index in _statements(base)}
    candidates = {index for index, span in mine.items() if _text(source, span) in theirs and span not in taken}
    while True:
        staying = [n for i, n in enumerate(source.tree.body) if i not in candidates]
        gone_spans = [*taken, *moved, *(mine[i] for i in candidates)]
        reads = {
            name.id
            for node in staying
            if not any(start <= node.lineno - 1 < end for start, end in gone_spans)
            for name in ast.walk(node)
            if isinstance(name, ast.Name)
        }
        needed = {i for i in candidates if pysource.defined_by(source.tree.body[i]) & reads}
        if not needed:
            return [mine[i] for i in sorted(candidates)]
        candidates -= needed


def _statements(source: Source) -> list[int]:
    kinds = (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return [i for i, node in enumerate(source.tree.body) if not isinstance(node, kinds)]


def _commented(source: Source, index: int) -> Span:
    """Statement `index` with the comment lines directly above it (above the first, they are the module's
    header, which the switch carries on its own)."""
    node = source.tree.body[index]
    start = pysource.statement_start(source, index)
    while index and start > 0 and source.lines[start - 1].lstrip().startswith("#"):  # a header is no comment
        start -= 1
    return start, node.end_lineno or node.lineno


def _text(source: Source, span: Span) -> str:
    return "".join(source.lines[span[0] : span[1]])
