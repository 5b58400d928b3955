"""What a plan's merges made, checked before anything is written.

Reconcile guesses, from the user's modules as they are, which classes of services the protos dropped
stay (kept for the user's code) and which go; only the merge knows where the user's lines end up. So the
pipeline asks it both ways (`kept_by_merge`: code reconcile let go that the merge keeps; `left_as_rendered`:
a class reconcile kept that the merge leaves as scaffold wrote it) and plans again where it disagrees. And no
merge may leave one name defined twice where the user's module defined it once.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping, Sequence

from scaffold.core.errors import Diagnostic, ScaffoldError
from scaffold.core.model import Service
from scaffold.core.text import lines as text_lines
from scaffold.generation import pysource
from scaffold.generation.generate import OutputFile
from scaffold.generation.plan import Plan
from scaffold.generation.reconcile import CLASS, methods_of


def refuse_a_kept_class_shadowed(
    view: Sequence[Service], live: Sequence[Service], read: Callable[[str], bytes | None], modules: list[str]
) -> None:
    """A class kept for the user's code after its service left the protos keeps its name; another class of
    that name in the same module (a service of the protos, or a second kept class a switch to one module
    brings beside it) would shadow one of them (ruff F811, the user's code dead without a word), so the run
    stops until the user renames or removes theirs."""
    serving = {service.full_name for service in live}
    by_name: dict[str, list[Service]] = {}
    for service in view:
        by_name.setdefault(service.class_name, []).append(service)
    problems = []
    for name, services in sorted(by_name.items()):
        kept = [s.full_name for s in services if s.full_name not in serving]
        if len(services) < 2 or not kept:
            continue
        others = ", ".join(s.full_name for s in services if s.full_name != kept[0])
        message = (
            f"class {name} is yours, kept from {kept[0]} (gone from the protos); {others} needs that name in the"
            " same module: rename or remove your class, then run scaffold gen"
        )
        places = [(module, line) for module in modules for line in _class_lines(read(module), name)]
        path, line = places[0] if places else (modules[0] if modules else "servicer.py", 1)
        problems.append(Diagnostic(path, message, line, 1))
    if problems:
        raise ScaffoldError(problems)


def refuse_a_second_definition(classified: Plan, read: Callable[[str], bytes | None]) -> None:
    """No run writes a module of the user's that defines a top-level name twice where the module on disk
    defined it once (ruff F811: the first definition, often the user's code, silently dead); whatever led
    there (a kept class meeting a moved one, two merges of the same block), the run stops, located."""
    problems = []
    for planned in classified.files:
        if planned.owner != "user" or not planned.writes or not planned.path.endswith(".py") or not planned.content:
            continue
        if planned.current is None:  # a render where nothing stands: no code of the user's to meet
            continue
        try:
            twice = pysource.redefined(planned.content.decode())
        except (SyntaxError, ValueError):
            continue  # conflict markers: the conflict is reported on its own
        if not twice:
            continue
        before = (read(planned.path) or b"").decode(errors="replace")
        try:
            already = set(pysource.redefined(before))
        except (SyntaxError, ValueError):
            already = set()
        for name in sorted(set(twice) - already):
            lines = _class_lines(before.encode(), name) or _def_lines(before, name)
            message = (
                f"this run would define `{name}` a second time in this module (your code and scaffold's meet);"
                " rename or remove yours, then run scaffold gen"
            )
            problems.append(Diagnostic(planned.path, message, lines[0] if lines else 1, 1))
    if problems:
        raise ScaffoldError(problems)


def _def_lines(text: str, name: str) -> list[int]:
    return _lines_opening(text, rf"(?:async )?def {name}\b")


def _class_lines(content: bytes | None, name: str) -> list[int]:
    return _lines_opening((content or b"").decode(errors="replace"), rf"class {name}\b")


def _lines_opening(text: str, pattern: str) -> list[int]:
    """The numbers of the lines that start with `pattern`, however the file ends its lines (CR alone too)."""
    return [number for number, line in enumerate(text_lines(text), 1) if re.match(pattern, line)]


def kept_by_merge(
    classified: Plan, modules: Mapping[str, Sequence[Service]], lost: frozenset[tuple[str, str]]
) -> frozenset[tuple[str, str]]:
    """Which of the classes and methods reconcile dropped (`lost`, by service: see
    `scaffold.generation.reconcile.dropped`) the servicer modules (path -> the services whose classes are
    or were there) still define once merged: the line merge keeps code of the user's that the render
    drops, and the user's lines may touch a dropped class or stub. A class counts in its own module only."""
    found: set[tuple[str, str]] = set()
    for planned in classified.files:
        services = modules.get(planned.path)
        if not services or planned.action == "remove":
            continue
        content = planned.content if planned.content is not None else planned.current
        defined = methods_of(content, classes=True)
        found |= lost & {(s.full_name, member) for s in services for cls, member in defined if cls == s.class_name}
    return frozenset(found)


def left_as_rendered(
    classified: Plan, files: Mapping[str, OutputFile], dropped_kept: Mapping[str, list[tuple[str, str, str]]]
) -> frozenset[tuple[str, str]]:
    """The classes ((service, CLASS)) and methods ((service, RPC)) in `dropped_kept` (module path -> those
    of services and RPCs the protos dropped, kept for the user's code, as (service, class, member)) that the
    merged module holds exactly as the render wrote them. The merge took the user's code elsewhere (into a
    renamed service's class, or a renamed RPC's method, whose lines were the old one's), so what stays is
    the render's stub: the next run would let it go, and `check` would call this run's tree stale."""
    by_path = {planned.path: planned for planned in classified.files}
    found: set[tuple[str, str]] = set()
    for path, keys in dropped_kept.items():
        planned = by_path.get(path)
        if not keys or planned is None or planned.action == "remove" or path not in files:
            continue
        merged = _member_texts(planned.content if planned.content is not None else planned.current)
        rendered = _member_texts(files[path].content)
        found |= {
            (service, member)
            for service, cls, member in keys
            if (cls, member) in merged and merged[(cls, member)] == rendered.get((cls, member))
        }
    return frozenset(found)


def spent(
    classified: Plan,
    files: Mapping[str, OutputFile],
    modules: Mapping[str, Sequence[Service]],
    kept: frozenset[tuple[str, str]],
) -> dict[str, frozenset[tuple[str, str]]]:
    """The servicer modules (path -> their classes and methods in `kept`, by service) that hold only
    classes the merge kept (`kept_by_merge`) and came out of the merge exactly as rendered: every edit of
    the user's there is one the render makes too (an import taken out that the kept class no longer
    needs). The next run, finding each such file as scaffold wrote it, would let the classes go and
    remove it; `check` would call this run's tree up to date wrongly."""
    by_path = {planned.path: planned for planned in classified.files}
    found = {}
    for path, services in modules.items():
        classes = {(service.full_name, CLASS) for service in services}
        planned = by_path.get(path)
        if not classes or not classes <= kept or planned is None or path not in files:
            continue
        if (planned.content if planned.content is not None else planned.current) == files[path].content:
            found[path] = frozenset(key for key in kept if (key[0], CLASS) in classes)
    return found


def _member_texts(content: bytes | None) -> dict[tuple[str, str], str]:
    """Each top-level class ((class, CLASS)) and each of its methods, as their lines say them."""
    classes = {(name, CLASS): text for name, text in _class_texts(content).items()}
    return classes | methods_of(content)


def _class_texts(content: bytes | None) -> dict[str, str]:
    """Each top-level class of a module, by name, as its lines say it; nothing when it does not parse."""
    try:
        text = (content or b"").decode("utf-8")
        tree = ast.parse(text)
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return {}
    lines = text_lines(text)
    return {
        node.name: "\n".join(lines[node.lineno - 1 : node.end_lineno])
        for node in tree.body
        if isinstance(node, ast.ClassDef)
    }
