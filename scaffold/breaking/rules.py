"""buf's breaking-change rules, over two `protosource.Side`s.

Rule IDs, categories and what each rule flags are buf's (1.75), so that a
team can move between `buf breaking` and `scaffold breaking` without
relearning anything; the differential test holds the two to the same
findings. Pairing is buf's too: messages, enums and services are paired by
full name across all checked files (so moving a message to another file of
its package keeps its fields compared), fields by number, RPCs by name,
extensions by extendee and number; the FILE rules pair files by name.

Each finding is located in the current proto when the element (or the
closest enclosing one that survived) still exists there, else only by file;
`against` is its place in the old proto. The wording of the messages is ours.

The rules themselves are in modules by what they compare (`deleted`,
`declarations`, `fields`, `defaults`, `services`), over the rulebook's
pairing (`rulebook`); importing this module registers them all.
"""

from __future__ import annotations

# isort: off
# Registration order is the order `RULES` lists the rules in (as when they were one module).
from scaffold.breaking import deleted, declarations, fields, defaults, services  # noqa: F401

# isort: on
from scaffold.breaking.protosource import Side
from scaffold.breaking.rulebook import RULES, Break, Rule, Subject

__all__ = ["RULES", "Break", "Rule", "Subject", "find"]


def find(current: Side, previous: Side, rules: tuple[str, ...]) -> list[Break]:
    """Every break the named rules find, in a stable order (by place, then rule)."""
    found = [b for rule in rules for b in RULES[rule].check(current, previous)]
    return sorted(found, key=_order)


def _order(item: Break) -> tuple[object, ...]:
    return (
        item.file or item.against_file or "",
        item.location.line if item.location else 0,
        item.location.col if item.location else 0,
        item.rule,
        item.message,
    )
