"""Stage: move the user's code when the project changes layout (`layout = "single"` <-> `"per-service"`).

A switch renders the user's code into other modules: a servicer class moves
from `servicer.py` to its service's module, a test function and a client call
to theirs. Rendering alone would give the new modules fresh stubs and leave the
user's implementation in a file scaffold no longer renders. So, before the
merge, every top-level definition that the new layout renders in another
module moves there, twice: the user's block into what the module "was" (the
merge's own side) and the recorded block into its merge base. The merge then
adds what the protos changed and keeps every line the user wrote; the merge
base moved with the code, so the next run merges as if the module had always
been there. A block is a definition with its decorators and the comments
directly above it; a definition the new layout renders in several modules
(a test fixture, a client helper) goes to each of them when the user edited it.

What is not a moved definition stays where it was: a module the new layout
no longer renders keeps the user's other lines (helpers, constants) and is
deleted only when nothing of the user's is left in it. A moved block that uses
an import the user added, or a helper the user defined beside it, takes the
import along and imports the helper from the module it stayed in; the user's
licence header goes with the code to every module it lands in.

A switch proves what it did before anything is written: every line the user
wrote is in the new tree, and every name the moved code reads resolves where
it lands (what ruff's F821 and F811 check). A switch that cannot (a module
that does not parse, two helpers of one name meeting in one module, a
statement left behind that names a moved class) is refused with the place
and the reason, and nothing changes.
"""

from __future__ import annotations

import ast
import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from scaffold.core.errors import Diagnostic, ScaffoldError
from scaffold.core.model import Service
from scaffold.core.text import lines as split_lines
from scaffold.generation import pysource
from scaffold.generation.generate import servicer_modules
from scaffold.generation.pysource import Source, Span
from scaffold.record.state import State


@dataclass(frozen=True)
class Move:
    """What a layout switch changes before the plan classifies the files."""

    currents: dict[str, bytes] = field(default_factory=dict)
    """A new module -> what it would hold had the user's code always been there (its merge's own side)."""
    bases: dict[str, bytes] = field(default_factory=dict)
    """A new module -> its merge base, the recorded blocks moved in."""
    leftovers: dict[str, bytes | None] = field(default_factory=dict)
    """An old module no longer rendered -> what stays of it (None: nothing of the user's, deleted)."""


@dataclass(frozen=True)
class _Old:
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
        had = {statement for statement, _ in self.base.imports} if self.base else set()
        return [(statement, bound) for statement, bound in self.ours.imports if statement not in had]


def move(
    read: Callable[[str], bytes | None],
    previous: State,
    rendered: Mapping[str, bytes],
    rendered_before: Mapping[str, bytes],
    package: str,
) -> Move:
    """The moves of a switch from `previous.layout` to the layout of `rendered`; raises with located reasons
    when the switch cannot keep every line and every name the user's code reads.

    `rendered` are the new render's user-owned Python modules; `rendered_before`
    the same layout rendered from what the protos had last time (the starting
    point of each new module's merge base); `read` reads the project's files.
    """
    olds = _olds(read, previous, rendered)
    parsed = {path: _parse_render(path, content) for path, content in rendered.items() if path not in previous.files}
    homes: dict[str, list[str]] = {}
    for path, source in sorted(parsed.items()):
        for name in source.blocks:
            homes.setdefault(name, []).append(path)
    arrivals, cut, problems = _arrivals(olds, homes)
    result = Move()
    carried: dict[str, set[str]] = {}
    for target, arriving in sorted(arrivals.items()):
        current, merge_base, taken, more = _arrive(target, arriving, olds, (rendered, rendered_before), read, package)
        problems += more
        for path, statements in taken.items():
            carried.setdefault(path, set()).update(statements)
        result.currents[target] = current.encode()
        result.bases[target] = merge_base.encode()
    moved = {name: target for target, arriving in arrivals.items() for name in arriving}
    for path, names in sorted(cut.items()):
        leftover, more = _leftover(olds[path], names, carried.get(path, set()), moved, arrivals)
        problems += more
        result.leftovers[path] = leftover
    if not problems:
        absorbed = {t: pysource.parse(t, c) for t in arrivals if (c := read(t)) is not None}
        problems = _lost_lines(olds, result, {t: s for t, s in absorbed.items() if isinstance(s, Source)})
    if problems:
        raise ScaffoldError(problems)
    return result


def refuse_stranded(
    read: Callable[[str], bytes | None], package: str, layout: str, services: Sequence[Service]
) -> None:
    """Without scaffold's record (`.scaffold/` lost) nothing says which layout the code is in, so nothing can
    move: a servicer class in the other layout's module would stay there unserved while `layout`'s gets
    fresh stubs. Refuse, saying how to get back to a record."""
    other = "single" if layout == "per-service" else "per-service"
    here = servicer_modules(package, layout, services)
    home = {service.class_name: path for path, shown in here.items() for service in shown}
    problems = []
    for path, shown in sorted(servicer_modules(package, other, services).items()):
        content = None if path in here else read(path)
        if content is None:
            continue
        names = {service.class_name for service in shown}
        for number, line in enumerate(split_lines(content.decode("utf-8", "replace")), 1):
            found = re.match(r"class (\w+)", line)
            if found and found.group(1) in names:
                message = (
                    f"{found.group(1)} is here, but layout {layout!r} serves it from {home[found.group(1)]} and"
                    f" without scaffold's record (.scaffold/) it cannot move: set layout = {other!r}, run"
                    " scaffold gen, then switch"
                )
                problems.append(Diagnostic(path, message, number, 1))
    if problems:
        raise ScaffoldError(problems)


def _olds(read: Callable[[str], bytes | None], previous: State, rendered: Mapping[str, bytes]) -> dict[str, _Old]:
    """The old layout's user modules the new one no longer renders; one that does not parse stops the switch,
    since its code could be neither moved nor left importable."""
    olds: dict[str, _Old] = {}
    problems: list[Diagnostic] = []
    for path, record in sorted(previous.files.items()):
        if record.owner != "user" or not path.endswith(".py") or path in rendered:
            continue
        content = read(path)
        if content is None:
            continue
        ours = pysource.parse(path, content)
        if isinstance(ours, Diagnostic):
            reason = f"{ours.message}: the layout switch cannot move its code; fix it, then run scaffold gen"
            problems.append(Diagnostic(path, reason, ours.line, ours.col))
            continue
        recorded = previous.base.get(path)
        base = pysource.parse(path, recorded) if recorded is not None else None
        olds[path] = _Old(path, ours, base if isinstance(base, Source) else None)
    if problems:
        raise ScaffoldError(problems)
    return olds


@functools.lru_cache(maxsize=64)  # a module is asked for several times in a row while code arrives in it
def _parse_render(path: str, content: bytes) -> Source:
    source = pysource.parse(path, content)
    assert isinstance(source, Source), source  # scaffold's own render always parses
    return source


def _arrivals(
    olds: Mapping[str, _Old], homes: Mapping[str, list[str]]
) -> tuple[dict[str, dict[str, str]], dict[str, set[str]], list[Diagnostic]]:
    """Which definition goes where from which old module (target -> name -> old path), and what each old
    module loses. A name several old modules define (a fixture of every per-service test module) arrives
    once: the user's edit of it, or any copy when none is edited; two different edits cannot become one."""
    holders: dict[str, list[str]] = {}
    for path, old in olds.items():
        for name in {*old.ours.blocks, *(old.base.blocks if old.base else ())}:
            holders.setdefault(name, []).append(path)
    arrivals: dict[str, dict[str, str]] = {}
    cut: dict[str, set[str]] = {}
    problems: list[Diagnostic] = []
    for name, paths in sorted(holders.items()):
        targets = homes.get(name, [])
        if not targets or (len(paths) > 1 and len(targets) > 1):
            continue
        edited = {olds[path].block(name): path for path in paths if olds[path].edited(name)}
        if len(edited) > 1:
            first, second = sorted(edited.values())[:2]
            line = olds[second].ours.blocks.get(name, (0, 0))[0] + 1
            message = f"`{name}` is edited differently here and in {first}, which both move into {targets[0]}"
            problems.append(Diagnostic(second, message + "; make them the same, then run scaffold gen", line, 1))
            continue
        for path in paths:
            cut.setdefault(path, set()).add(name)
        if not edited and (len(paths) > 1 or len(targets) > 1):
            continue  # a shared definition as scaffold wrote it: each new module has its own render of it
        chosen = next(iter(edited.values()), min(paths))
        for target in targets:
            arrivals.setdefault(target, {})[name] = chosen
    _gather_copies(olds, holders, arrivals, cut)
    return arrivals, cut, problems


def _gather_copies(
    olds: Mapping[str, _Old],
    holders: Mapping[str, list[str]],
    arrivals: dict[str, dict[str, str]],
    cut: dict[str, set[str]],
) -> None:
    """A definition of the user's in old modules whose moved code all goes to one module goes there too, once
    (the same words in each: a fixture an earlier switch copied to each test module), rather than stay
    behind in a module the layout no longer has."""
    goes_to: dict[str, set[str]] = {}
    for target, arriving in arrivals.items():
        for path in arriving.values():
            goes_to.setdefault(path, set()).add(target)
    for name, paths in sorted(holders.items()):
        if any(name in arriving for arriving in arrivals.values()):
            continue
        targets = {target for path in paths for target in goes_to.get(path, {""})}
        copies = {olds[path].block(name) for path in paths}
        if (
            len(targets) == 1
            and "" not in targets
            and len(copies) == 1
            and all(name in olds[p].own_names for p in paths)
        ):
            arrivals[targets.pop()][name] = min(paths)
            for path in paths:
                cut.setdefault(path, set()).add(name)


def _arrive(
    target: str,
    arriving: Mapping[str, str],
    olds: Mapping[str, _Old],
    renders: tuple[Mapping[str, bytes], Mapping[str, bytes]],
    read: Callable[[str], bytes | None],
    package: str,
) -> tuple[str, str, dict[str, set[str]], list[Diagnostic]]:
    """The new module `target` as it would be had the user's code always been there, and its merge base;
    with the imports taken from each old module and the problems that stop the switch."""
    rendered, rendered_before = renders
    merge_base = current = rendered_before.get(target, rendered[target]).decode()
    order = list(_parse_render(target, rendered[target]).blocks)
    recorded = {n: olds[p].block(n, recorded=True) for n, p in arriving.items()}
    merge_base = pysource.put(merge_base, {n: block for n, block in recorded.items() if block is not None}, order)
    # a definition the user deleted stays deleted ("")
    current = pysource.put(current, {n: olds[p].block(n) or "" for n, p in arriving.items()}, order)
    module = _module(target)
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
            if name in helpers or name in _parse_render(target, current.encode()).defined:
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
                additions.append(f"from {_module(path)} import {name}")
        if old.header and "".join(old.header) not in current:
            current = "".join(old.header).rstrip("\n") + "\n" + current
    additions = [line for line in dict.fromkeys(additions) if not pysource.imports_from(line, module)]
    for statement in additions:
        current = pysource.with_import(current, statement, package)
    existing = read(target)
    if existing is not None:  # the user's own file there (what an earlier switch left): absorbed, not lost
        current = _absorb(current, existing, module, package)
    problems += _unresolved_after(target, current, rendered[target], arriving, olds)
    return current, merge_base, taken, problems


def _absorb(current: str, existing: bytes, module: str, package: str) -> str:
    """`current` with what the file `existing` adds to it: its header, its imports (not those from `module`
    itself) and its top-level statements that define what `current` does not, before its first definition."""
    source = pysource.parse(module, existing)
    if isinstance(source, Diagnostic):
        return current  # not Python: left out of the move, and the merge reports it
    into = _parse_render(module, current.encode())
    have = {statement for statement, _ in into.imports}
    imports = [s for s, _ in source.imports if s not in have and not pysource.imports_from(s, module)]
    extra: list[str] = []
    has = {ast.dump(n) for n in into.tree.body}
    for index, node in enumerate(source.tree.body):
        if isinstance(node, (ast.Import, ast.ImportFrom)) or (index == 0 and isinstance(node, ast.Expr)):
            continue
        if pysource.defined_by(node) & into.defined or ast.dump(node) in has:
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
    return current


def _loose_comments(source: Source) -> list[str]:
    """Comment lines between top-level statements (not the header): nothing the parse tree holds."""
    taken: set[int] = set(range(len(source.header)))
    for index, node in enumerate(source.tree.body):
        taken.update(range(pysource.statement_start(source, index), node.end_lineno or node.lineno))
    return [line for number, line in enumerate(source.lines) if number not in taken and line.lstrip().startswith("#")]


def _unresolved_after(
    target: str, current: str, render: bytes, arriving: Mapping[str, str], olds: Mapping[str, _Old]
) -> list[Diagnostic]:
    """Names the moved code reads that would be undefined in `target`, or defined twice there, except what
    was already so where the code came from (the user's own unfinished code is not the switch's to judge)."""
    problems = []
    # what the new render defines arrives with the merge (an import a kept method needs, say)
    parsed = _parse_render(target, current.encode())
    missing = set(pysource.unresolved(current, parsed.tree)) - _parse_render(target, render).defined
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


def _leftover(
    old: _Old, names: set[str], carried: set[str], moved: Mapping[str, str], targets: Iterable[str]
) -> tuple[bytes | None, list[Diagnostic]]:
    """What stays of `old` once `names` left it (None: nothing of the user's); a statement that stays and
    names what moved would fail at import, so it stops the switch."""
    ours = pysource.without(
        old.ours, [old.ours.blocks[n] for n in names if n in old.ours.blocks] + _follows(old.ours, old, names)
    )
    recorded = (
        pysource.without(
            old.base, [old.base.blocks[n] for n in names if n in old.base.blocks] + _follows(old.base, old, names)
        )
        if old.base
        else None
    )
    # scaffold's imports, those carried away with the code and those of what moved, where nothing left uses them
    removable = {statement for statement, _ in old.base.imports} if old.base else set()
    removable |= carried | {
        s for s, _ in old.ours.imports if any(pysource.imports_from(s, _module(t)) for t in targets)
    }
    ours = pysource.without_unused_imports(ours, removable)
    if old.header:  # carried to every module the code went to
        ours = ours.replace("".join(old.header), "", 1).lstrip("\n")
    if not ours.strip() or (recorded is not None and ours == pysource.without_unused_imports(recorded, removable)):
        return None, []
    text = pysource.tidy(ours)
    if old.header:
        text = "".join(old.header).rstrip("\n") + "\n" + text
    problems = []
    for name in pysource.unresolved(text):
        if (name in moved or name in names) and name not in old.unresolved:
            where = f"moves to {moved[name]}" if name in moved else "the new layout renders under another name"
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


def _follows(source: Source, old: _Old, gone: set[str]) -> list[Span]:
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
    return spans


def _lost_lines(olds: Mapping[str, _Old], result: Move, absorbed: Mapping[str, Source]) -> list[Diagnostic]:
    """The last word before anything is written: each line the user wrote in a module the switch empties, or
    in a file of theirs a new module absorbs, must stand in the new tree as many times as before; the switch
    stops rather than lose one."""
    written = Counter(
        line.strip()
        for content in [*result.currents.values(), *(c for c in result.leftovers.values() if c is not None)]
        for line in split_lines(content.decode())
    )
    mine: dict[str, tuple[Source, Counter[str]]] = {}
    for path in result.leftovers:
        old = olds[path]
        lines = Counter(line.strip() for line in split_lines(old.ours.text) if line.strip())
        mine[path] = (
            old.ours,
            lines - Counter(line.strip() for line in split_lines(old.base.text)) if old.base else lines,
        )
    for path, source in absorbed.items():
        docstring = source.tree.body[0] if source.tree.body and isinstance(source.tree.body[0], ast.Expr) else None
        skip = range(docstring.lineno - 1, docstring.end_lineno or 0) if docstring else range(0)
        mine[path] = (
            source,
            Counter(line.strip() for n, line in enumerate(source.lines) if line.strip() and n not in skip),
        )
    problems = []
    for path, (source, lines) in mine.items():
        for module in map(_module, result.currents):  # an import of what now lives in the module itself goes
            lines = Counter({line: n for line, n in lines.items() if not line.startswith(f"from {module} import ")})
        for line, count in sorted(lines.items()):
            if written[line] < count:
                number = next(i for i, text in enumerate(source.lines, 1) if text.strip() == line)
                message = "the layout switch would lose this line of yours (a bug in scaffold: please report it)"
                problems.append(Diagnostic(path, message, number, 1))
                break
    return problems


def _module(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")
