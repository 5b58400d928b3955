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

This module plans the switch: which definition goes to which new module,
from which old one. The old modules are read through
`scaffold.generation.oldlayout`, each new module is built by
`scaffold.generation.arrival`, what stays behind by
`scaffold.generation.leftover`, and the proofs are `scaffold.generation.moveproof`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from msgspec import Struct, field

from scaffold.core.errors import Diagnostic, ScaffoldError
from scaffold.core.model import Service
from scaffold.core.text import lines as split_lines
from scaffold.generation import pysource
from scaffold.generation.arrival import arrive
from scaffold.generation.generate import servicer_modules
from scaffold.generation.leftover import stays
from scaffold.generation.moveproof import lost_lines
from scaffold.generation.oldlayout import Old, names_in_code, parse_render
from scaffold.generation.pysource import Source
from scaffold.record.disk import Disk
from scaffold.record.state import State


class Move(Struct, frozen=True):
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
    """The moves of a switch from `previous.layout` to the layout of `rendered`; raises with located reasons
    when the switch cannot keep every line and every name the user's code reads.

    `rendered` are the new render's user-owned Python modules; `rendered_before`
    the same layout rendered from what the protos had last time (the starting
    point of each new module's merge base); `read` reads the project's files.
    """
    olds = _olds(read, previous, rendered)
    parsed = {path: parse_render(path, content) for path, content in rendered.items() if path not in previous.files}
    homes: dict[str, list[str]] = {}
    for path, source in sorted(parsed.items()):
        for name in source.blocks:
            homes.setdefault(name, []).append(path)
    arrivals, cut, problems = _arrivals(olds, homes)
    result = Move()
    carried: dict[str, set[str]] = {}
    for target, arriving in sorted(arrivals.items()):
        current, merge_base, taken, more = arrive(target, arriving, olds, (rendered, rendered_before), read, package)
        problems += more
        for path, statements in taken.items():
            carried.setdefault(path, set()).update(statements)
        result.currents[target] = current.encode()
        result.bases[target] = merge_base.encode()
    moved = {name: target for target, arriving in arrivals.items() for name in arriving}
    for path, names in sorted(cut.items()):
        header_moved = any(path in arriving.values() for arriving in arrivals.values())
        leftover, more = stays(olds[path], names, carried.get(path, set()), moved, arrivals, header_moved)
        problems += more
        result.leftovers[path] = leftover
    if not problems:
        absorbed = {t: pysource.parse(t, c) for t in arrivals if (c := read(t)) is not None}
        problems = lost_lines(
            olds, result.currents, result.leftovers, {t: s for t, s in absorbed.items() if isinstance(s, Source)}
        )
    if problems:
        raise ScaffoldError(problems)
    return result


def refuse_stranded(disk: Disk, package: str, layout: str, services: Sequence[Service], root_package: str = "") -> None:
    """Without scaffold's record (`.scaffold/` lost) nothing says which layout the code is in, so nothing can
    move: a servicer class in another layout's module (or under another `root_package`) would stay there
    unserved while `layout`'s gets fresh stubs. Refuse, saying how to get back to a record."""
    here = servicer_modules(package, layout, services, root_package)
    home = {service.class_name: path for path, shown in here.items() for service in shown}
    of_class = {service.class_name: service for service in services}
    candidates = [f"{package}/servicer.py", *disk.files_under(f"{package}/services")]
    problems = []
    for path in candidates:
        content = None if path in here or not path.endswith(".py") else disk.read(path)
        if content is None:
            continue
        for number, line in enumerate(split_lines(content.decode("utf-8", "replace")), 1):
            found = re.match(r"class (\w+)", line)
            if found and found.group(1) in home:
                setting = _setting_of(path, package, of_class[found.group(1)], services)
                message = (
                    f"{found.group(1)} is here, but layout {layout!r} serves it from {home[found.group(1)]} and"
                    f" without scaffold's record (.scaffold/) it cannot move: set {setting}, run"
                    " scaffold gen, then switch"
                )
                problems.append(Diagnostic(path, message, number, 1))
    if problems:
        raise ScaffoldError(problems)


def _setting_of(path: str, package: str, service: Service, services: Sequence[Service]) -> str:
    """The config that puts `service`'s servicer at `path`: the layout, and the root package it takes."""
    if path == f"{package}/servicer.py":
        return "layout = 'single'"
    parts = service.package.split(".") if service.package else []
    for root in [".".join(parts[:n]) for n in range(len(parts), -1, -1)]:
        if path in servicer_modules(package, "per-service", services, root):
            return f"layout = 'per-service', root_package = {root!r}"
    return "layout and root_package to where this module is"


def _olds(read: Callable[[str], bytes | None], previous: State, rendered: Mapping[str, bytes]) -> dict[str, Old]:
    """The old layout's user modules the new one no longer renders; one that does not parse stops the switch,
    since its code could be neither moved nor left importable."""
    olds: dict[str, Old] = {}
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
        olds[path] = Old(path, ours, base if isinstance(base, Source) else None)
    if problems:
        raise ScaffoldError(problems)
    return olds


def _arrivals(
    olds: Mapping[str, Old], homes: Mapping[str, list[str]]
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
    read_by: dict[tuple[str, str], set[str]] = {}
    for name, paths in sorted(holders.items()):
        targets = homes.get(name, [])
        if not targets and all(_as_recorded_and_unread(olds, path, name, read_by) for path in paths):
            for path in paths:  # scaffold's code the new layout renders nowhere: gone, as a merge would drop it
                cut.setdefault(path, set()).add(name)
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


def _as_recorded_and_unread(
    olds: Mapping[str, Old], path: str, name: str, read_by: dict[tuple[str, str], set[str]]
) -> bool:
    """Whether `name` in the old module `path` is scaffold's definition as recorded (line ends, and comments
    of the user's below it, aside: a kept class of a service gone from the protos, its stubs untouched; the
    comments stay, `scaffold.generation.leftover`), and no code of the old modules names it
    (a helper, its string annotation, `__all__`, code moving elsewhere that imports it; a comment is no
    reader). Left behind, it would hold the module for the merge to bring back as code of the user's, into
    the new layout's module exactly as rendered, where the next run lets it go
    (`scaffold.generation.mergechecks.left_as_rendered`). `read_by` keeps what each module's code names
    (outside one definition, or none: ""), each module walked once however many names are asked about."""
    old = olds[path]
    if old.recorded_span(name) is None:  # no record of it, or not as recorded
        return False
    for other, module in olds.items():
        outside = name if other == path else ""
        if (other, outside) not in read_by:
            read_by[other, outside] = names_in_code(module.ours.tree, outside)
        if name in read_by[other, outside]:
            return False
    return True


def _gather_copies(
    olds: Mapping[str, Old],
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
