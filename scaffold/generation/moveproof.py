"""The proofs of a layout switch, before anything is written: no name left unresolved, no line lost.

Every name the moved code reads must resolve where it lands, once (what
ruff's F821 and F811 check), unless it was already so where the code came
from; and every line the user wrote must stand in the new tree as many
times as before. The planning (`scaffold.generation.relayout`) asks both,
and refuses the switch, located, rather than write a tree that fails either.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Mapping

from scaffold.core.errors import Diagnostic
from scaffold.core.text import lines as split_lines
from scaffold.generation import pysource
from scaffold.generation.oldlayout import Old, module_of, parse_render
from scaffold.generation.pysource import Source


def unresolved_after(
    target: str, current: str, render: bytes, arriving: Mapping[str, str], olds: Mapping[str, Old]
) -> list[Diagnostic]:
    """Names the moved code reads that would be undefined in `target`, or defined twice there, except what
    was already so where the code came from (the user's own unfinished code is not the switch's to judge)."""
    problems = []
    # what the new render defines arrives with the merge (an import a kept method needs, say)
    parsed = parse_render(target, current.encode())
    missing = set(pysource.unresolved(current, parsed.tree)) - parse_render(target, render).defined
    twice = pysource.redefined(current, parsed.tree)
    for path in sorted(set(arriving.values())):
        old = olds[path]
        spans = [old.ours.blocks[n] for n, p in arriving.items() if p == path and n in old.ours.blocks]
        reads = pysource.names_used(old.ours, spans)
        already = old.unresolved
        for name in sorted(missing & reads - set(already)):
            line = pysource.line_reading(old.ours, name)
            message = f"code moving to {target} reads `{name}`, which would be undefined there"
            problems.append(
                Diagnostic(path, message + "; import or define it beside the code, then run scaffold gen", line, 1)
            )
        for name in sorted(set(twice) - old.redefined):
            message = f"`{name}` would be defined twice in {target}; rename one, then run scaffold gen"
            problems.append(Diagnostic(path, message, pysource.line_defining(old.ours, name), 1))
    return problems


def lost_lines(
    olds: Mapping[str, Old],
    currents: Mapping[str, bytes],
    leftovers: Mapping[str, bytes | None],
    absorbed: Mapping[str, Source],
) -> list[Diagnostic]:
    """The last word before anything is written: each line the user wrote in a module the switch empties, or
    in a file of theirs a new module absorbs, must stand in the new tree as many times as before; the switch
    stops rather than lose one."""
    written = Counter(
        line.strip()
        for content in [*currents.values(), *(c for c in leftovers.values() if c is not None)]
        for line in split_lines(content.decode())
    )
    mine: dict[str, tuple[Source, Counter[str]]] = {}
    for path in leftovers:
        old = olds[path]
        lines = Counter(line.strip() for line in split_lines(old.ours.text) if line.strip())
        if old.base:
            lines -= Counter(line.strip() for line in split_lines(old.base.text))
            lines = Counter({line: n for line, n in lines.items() if line not in old.scaffolds_imports})
        mine[path] = (old.ours, lines)
    for path, source in absorbed.items():
        docstring = source.tree.body[0] if source.tree.body and isinstance(source.tree.body[0], ast.Expr) else None
        skip = range(docstring.lineno - 1, docstring.end_lineno or 0) if docstring else range(0)
        mine[path] = (
            source,
            Counter(line.strip() for n, line in enumerate(source.lines) if line.strip() and n not in skip),
        )
    problems = []
    for path, (source, lines) in mine.items():
        for module in map(module_of, currents):  # an import of what now lives in the module itself goes
            lines = Counter({line: n for line, n in lines.items() if not line.startswith(f"from {module} import ")})
        for line, count in sorted(lines.items()):
            if written[line] < count:
                number = next(i for i, text in enumerate(source.lines, 1) if text.strip() == line)
                message = "the layout switch would lose this line of yours (a bug in scaffold: please report it)"
                problems.append(Diagnostic(path, message, number, 1))
                break
    return problems
