"""Stage: turn plans and changes into the lines a user reads.

Shared by `gen`, `diff`, `check` (and `watch`), so one situation always reads
the same way.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from scaffold.core.model import PART_SEPARATOR, title_of, whole_of
from scaffold.core.text import lines as text_lines
from scaffold.generation.plan import FilePlan, Plan
from scaffold.generation.reconcile import Changes


def file_lines(plan: Plan) -> list[str]:
    """One line per file that is not identical: `action  path  (note)`."""
    return [_file_line(f) for f in plan.changed] + [f"{'backup':<9} {path}" for path in sorted(plan.backups)]


def _file_line(f: FilePlan) -> str:
    return f"{f.action:<9} {f.path}" + (f"  ({f.note})" if f.note else "")


def change_lines(changes: Changes) -> list[str]:
    """Per service: RPCs added (+), removed (-), reshaped (~); each once, in the run that sees it."""
    by_service: dict[str, list[str]] = {}

    def add(route: str, line: str) -> None:
        service, _, rpc = route.rpartition("/")
        by_service.setdefault(whole_of(service), []).append(line.format(rpc=rpc))  # a part's under its service

    for route in changes.added:
        add(route, "  + {rpc}")
    for orphan in changes.removed:
        hint = f"; did you rename {{rpc}} to {orphan.rename_hint}?" if orphan.rename_hint else ""
        what = "your method stays" if orphan.kept else "its untouched stub went with it"
        add(orphan.route, "  - {rpc} (removed from the protos; " + what + hint + ")")
    for item in (item for item in changes.reshaped if item.news):  # once, in the run that reshapes it
        what = "your implementation kept: change it to" if item.kept else "stub updated to"
        add(item.route, f"  ~ {{rpc}} changed shape ({what} `{item.signature.replace('{', '{{').replace('}', '}}')}`)")
    lines = []
    for name in sorted(by_service):
        lines += [name, *by_service[name]]
    wholes = {gone.route for gone in changes.removed_services}
    for gone in changes.removed_services:
        if PART_SEPARATOR not in gone.route:
            what = "its servicer class stays until you delete it" if gone.kept else "its untouched code went with it"
            lines.append(f"{gone.route} (removed from the protos; {what})")
        elif gone.kept or whole_of(gone.route) not in wholes:  # a part of a service that went is said with it
            what = "their class stays until you delete it" if gone.kept else "their untouched code went with them"
            lines.append(f"{title_of(gone.route)} (gone from the protos; {what})")
    return lines


def unified_diff(f: FilePlan) -> list[str]:
    """The file's change as a unified diff, lines without their newlines."""
    before = text_lines((f.current or b"").decode("utf-8", "replace"))
    after = text_lines((f.content or b"").decode("utf-8", "replace"))
    old = f"a/{f.path}" if f.current is not None else "/dev/null"
    new = f"b/{f.path}" if f.content is not None else "/dev/null"
    return list(difflib.unified_diff(before, after, old, new, lineterm=""))


def summary(files: Iterable[FilePlan], seconds: float) -> str:
    written = [f for f in files if f.writes]
    return f"{len(written)} file{'s' if len(written) != 1 else ''} changed in {seconds:.2f} s"
