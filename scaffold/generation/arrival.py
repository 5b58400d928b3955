"""A new module of a layout switch: the user's code arrived in it, with what that code needs.

The planning (`scaffold.generation.relayout`) says which definitions go to
which new module; this builds each one twice, as the merge's own side (the
user's blocks) and as its merge base (the recorded blocks), and brings along
what the moved code needs: the imports the user added, the helpers the user
defined beside it (imported from where they stay, or copied when pytest
finds them by name), the user's licence header, and a file of the user's
already at that path, absorbed rather than lost.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping

from scaffold.core.errors import Diagnostic
from scaffold.generation import pysource
from scaffold.generation.moveproof import unresolved_after
from scaffold.generation.oldlayout import Old, module_of, parse_render
from scaffold.generation.pysource import Source
from scaffold.generation.rebind import undoubled


def arrive(
    target: str,
    arriving: Mapping[str, str],
    olds: Mapping[str, Old],
    renders: tuple[Mapping[str, bytes], Mapping[str, bytes]],
    read: Callable[[str], bytes | None],
    package: str,
) -> tuple[str, str, dict[str, set[str]], list[Diagnostic]]:
    """The new module `target` as it would be had the user's code always been there, and its merge base;
    with the imports taken from each old module and the problems that stop the switch."""
    rendered, rendered_before = renders
    merge_base = current = rendered_before.get(target, rendered[target]).decode()
    order = list(parse_render(target, rendered[target]).blocks)
    recorded = {n: olds[p].block(n, recorded=True) for n, p in arriving.items()}
    merge_base = pysource.put(merge_base, {n: block for n, block in recorded.items() if block is not None}, order)
    # a definition the user deleted stays deleted ("")
    current = pysource.put(current, {n: olds[p].block(n) or "" for n, p in arriving.items()}, order)
    module = module_of(target)
    additions: list[str] = []
    taken: dict[str, set[str]] = {}
    helpers: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for path in sorted(set(arriving.values())):
        old = olds[path]
        spans = [old.ours.blocks[n] for n, p in arriving.items() if p == path and n in old.ours.blocks]
        used = pysource.names_used(old.ours, spans)
        taken[path] = {statement for statement, bound in old.added_imports if bound & used}
        additions += sorted(taken[path])
        for name in sorted(old.own_names & used - set(arriving)):
            if name in helpers or name in parse_render(target, current.encode()).defined:
                line = pysource.line_defining(old.ours, name)
                elsewhere = helpers.get(name, target)
                message = f"`{name}`, which code moving to {target} uses, is also defined in {elsewhere}"
                problems.append(Diagnostic(path, message + "; rename one of them, then run scaffold gen", line, 1))
                continue
            helpers[name] = path
            if pysource.is_fixture(
                old.ours, name
            ):  # pytest finds a fixture by its name in the module: a copy, not an import
                current = pysource.put(current, {name: old.block(name) or ""}, [])
            else:
                additions.append(f"from {module_of(path)} import {name}")
        if old.header and "".join(old.header) not in current:
            current = "".join(old.header).rstrip("\n") + "\n" + current
    additions = [line for line in dict.fromkeys(additions) if not pysource.imports_from(line, module)]
    for statement in additions:
        current = pysource.with_import(current, statement, package)
    existing = read(target)
    brought = list(additions)
    if existing is not None:  # the user's own file there (what an earlier switch left): absorbed, not lost
        current, clashes = _absorb(current, existing, module, package)
        problems += [Diagnostic(target, *clash) for clash in clashes]
        absorbed = pysource.parse(module, existing)
        brought += [statement for statement, _ in absorbed.imports] if isinstance(absorbed, Source) else []
    # scaffold's own statements may narrow to what the arrived code reads; one the absorbed file has word
    # for word is that file's line too, and stays whole (seed 18006)
    scaffolds = {statement for statement, _ in parse_render(target, rendered[target]).imports} - set(brought)
    # a statement the moved code or an absorbed file brings that binds what the render's binds too (an old
    # module's imports, all taken for the user's when its record was lost): theirs stays, the render's goes
    current = undoubled(current, "".join(f"{statement}\n" for statement in brought).encode())
    current = pysource.without_unused_names(current, scaffolds)
    problems += unresolved_after(target, current, rendered[target], arriving, olds)
    return current, merge_base, taken, problems


def _absorb(current: str, existing: bytes, module: str, package: str) -> tuple[str, list[tuple[str, int, int]]]:
    """`current` with what the file `existing` adds to it: its header, its imports (not those from `module`
    itself) and its top-level statements that define what `current` does not, before its first definition;
    and each definition of the file's that `current` defines otherwise (both cannot stand: seed 15029, a
    test of a removed RPC left by an earlier switch, named like a test the render now has)."""
    source = pysource.parse(module, existing)
    if isinstance(source, Diagnostic):
        return current, []  # not Python: left out of the move, and the merge reports it
    into = parse_render(module, current.encode())
    have = {statement for statement, _ in into.imports}
    imports = [s for s, _ in source.imports if s not in have and not pysource.imports_from(s, module)]
    extra: list[str] = []
    clashes: list[tuple[str, int, int]] = []
    has = {ast.dump(n) for n in into.tree.body}
    rendered = {ast.dump(n) for n in into.tree.body if pysource.defined_by(n)}
    for index, node in enumerate(source.tree.body):
        if isinstance(node, (ast.Import, ast.ImportFrom)) or (index == 0 and isinstance(node, ast.Expr)):
            continue
        both = pysource.defined_by(node) & into.defined
        if both and ast.dump(node) not in rendered and not isinstance(node, (ast.Assign, ast.AnnAssign)):
            message = f"your `{min(both)}` here and scaffold's would be defined twice in this module after the switch"
            clashes.append((message + "; rename or remove yours, then run scaffold gen", node.lineno, 1))
        if both or ast.dump(node) in has:
            continue  # what the new module defines already, or has word for word (the `__main__` guard)
        first = pysource.statement_start(source, index)
        extra.append("".join(source.lines[first : node.end_lineno]).rstrip("\n") + "\n")
    extra += [line for line in _loose_comments(source) if line.strip() not in current]
    if extra:
        first = min((start for start, _ in into.blocks.values()), default=len(into.lines))
        current = "".join(into.lines[:first]) + "\n\n".join(extra) + "\n\n" + "".join(into.lines[first:])
    header = "".join(source.header)
    if header.strip() and header not in current:
        current = header.rstrip("\n") + "\n" + current
    for statement in imports:
        current = pysource.with_import(current, statement, package)
    return current, clashes


def _loose_comments(source: Source) -> list[str]:
    """Comment lines between top-level statements (not the header): nothing the parse tree holds."""
    taken: set[int] = set(range(len(source.header)))
    for index, node in enumerate(source.tree.body):
        taken.update(range(pysource.statement_start(source, index), node.end_lineno or node.lineno))
    return [line for number, line in enumerate(source.lines) if number not in taken and line.lstrip().startswith("#")]
