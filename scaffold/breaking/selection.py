"""Which rules a configuration selects, as buf selects them for each version of its config.

buf's `use` lists categories and rule IDs (FILE when empty), `except` takes
categories and IDs away. What a name selects depends on the config's
version: v1 has no CSR category and lacks three rules of v2; v1beta1 also
lacks the wire-compatible type rules, so its FIELD_SAME_TYPE and
FIELD_SAME_CARDINALITY are in every category, and its FILE_SAME_PACKAGE in
FILE alone. v1 and v1beta1 also take the IDs buf deprecated, each standing
for its replacements (or for nothing). The differential test compares these
sets with `buf config ls-breaking-rules --configured-only` for each version.

Unstable packages (`ignore_unstable_packages`) are buf's too: a package of
two parts or more whose last is a version of major 1 or more with an alpha or
beta suffix (`v1alpha1`, `v2beta`, `v1p1beta2`) or a test one (`v1test`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from scaffold.breaking.rulebook import RULES

VERSIONS = ("v1beta1", "v1", "v2")
_V1_CATEGORIES = ("FILE", "PACKAGE", "WIRE_JSON", "WIRE")
CATEGORIES: dict[str, tuple[str, ...]] = {
    "v1beta1": _V1_CATEGORIES,
    "v1": _V1_CATEGORIES,
    "v2": (*_V1_CATEGORIES, "CSR"),
}

_NOT_IN_V1 = frozenset({"EXTENSION_NO_DELETE", "FIELD_SAME_DEFAULT", "PACKAGE_EXTENSION_NO_DELETE"})
_NOT_IN_V1BETA1 = _NOT_IN_V1 | {"FIELD_WIRE_COMPATIBLE_TYPE", "FIELD_WIRE_JSON_COMPATIBLE_TYPE"}
_V1BETA1_CATEGORIES = {
    "FIELD_SAME_TYPE": ("FILE", "PACKAGE", "WIRE_JSON", "WIRE"),
    "FIELD_SAME_CARDINALITY": ("FILE", "PACKAGE", "WIRE_JSON", "WIRE"),
    "FILE_SAME_PACKAGE": ("FILE",),
}
DEPRECATED: Mapping[str, tuple[str, ...]] = {
    "FIELD_SAME_CTYPE": ("FIELD_SAME_CPP_STRING_TYPE",),
    "FIELD_SAME_LABEL": (
        "FIELD_SAME_CARDINALITY",
        "FIELD_WIRE_COMPATIBLE_CARDINALITY",
        "FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY",
    ),
    "FILE_SAME_JAVA_STRING_CHECK_UTF8": ("FIELD_SAME_JAVA_UTF8_VALIDATION",),
    "FILE_SAME_PHP_GENERIC_SERVICES": (),
}
"""v1 and v1beta1 IDs buf deprecated, and what each stands for now (v2 knows none of them)."""

_UNSTABLE = re.compile(r"v0*[1-9]\d*(?:test.*|(?:p0*[1-9]\d*)?(?:alpha|beta)(?:0*[1-9]\d*)?)")


def categories(version: str) -> dict[str, tuple[str, ...]]:
    """Each rule of `version` with its categories there."""
    if version == "v2":
        return {rule.id: rule.categories for rule in RULES.values()}
    left_out = _NOT_IN_V1 if version == "v1" else _NOT_IN_V1BETA1
    table = {
        rule.id: tuple(c for c in rule.categories if c != "CSR") for rule in RULES.values() if rule.id not in left_out
    }
    if version == "v1beta1":
        table.update(_V1BETA1_CATEGORIES)
    return table


def select(version: str, use: Sequence[str], leave_out: Sequence[str] = ()) -> tuple[str, ...] | str:
    """The rule IDs `use` minus `leave_out` selects under `version`, in buf's order of the rules; or why
    none can be (a name the version does not know, or nothing selected)."""
    table = categories(version)
    chosen: list[set[str]] = []
    for names in (use or ("FILE",), leave_out):
        rules: set[str] = set()
        for name in names:
            if name in CATEGORIES[version]:
                rules |= {rule for rule, found in table.items() if name in found}
            elif name in table:
                rules.add(name)
            elif version != "v2" and name in DEPRECATED:
                rules |= set(DEPRECATED[name]) & set(table)
            else:
                return f"{name!r} is not a rule or category of buf's {version} configuration"
        chosen.append(rules)
    selected = tuple(rule for rule in table if rule in chosen[0] - chosen[1])
    return selected or "selects no rule"


def unstable(package: str) -> bool:
    """Whether buf's `ignore_unstable_packages` takes `package` out (`foo.v1alpha1`, not `foo.v1`, `v1beta1`)."""
    parts = package.split(".")
    return len(parts) > 1 and _UNSTABLE.fullmatch(parts[-1]) is not None
