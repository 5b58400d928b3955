"""The house's parts and their arrows: no part imports a part above it, no module is over 450 lines.

The layer order, lowest first (docs/architecture.md draws it):

    layout < core < record < generation < breaking < api < live < cli < entry

`scaffold.layout` (constants) and `scaffold/__init__.py` are the base;
`scaffold.api` is the library API; `scaffold.__main__`, `scaffold.fastpath` and
`scaffold.helptext` are the entry. A module may import its own part and the parts below it,
whether at the top of the file or inside a function. Each subpackage's
`__init__.py` only says what its part does: it imports nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "scaffold"
LAYERS = ["base", "core", "record", "generation", "breaking", "api", "live", "cli", "entry"]
ROOT = {
    "scaffold": "base",
    "layout": "base",
    "api": "api",
    "fastpath": "entry",
    "helptext": "entry",
    "__main__": "entry",
}
MAX_LINES = 450
# Modules still to split by job (issue 26), at their size when the cap came in: each may only shrink,
# and leaves this list once it is under the cap.
TO_SPLIT: dict[str, int] = {}
# Imports that go upward, each with its reason. Keep this short.
ALLOWED = {
    # A config names buf's rule IDs in [tool.scaffold.breaking] ignore_only: checked against the rules
    # themselves, imported only when the table names some (the no-op path loads the config).
    ("scaffold.generation.configkeys", "scaffold.breaking.rules"),
    # The same for the rule IDs and categories of `use` and `except`.
    ("scaffold.generation.configkeys", "scaffold.breaking.selection"),
    # A rollback puts the user's edits since a killed run onto the file as it was before that run, with
    # the 3-way merge of a regeneration (text only; imported only when such an edit is found).
    ("scaffold.record.journal", "scaffold.generation.merge"),
}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def part(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return ROOT["scaffold"]
    if module.count(".") == 1 and parts[1] in ROOT:
        return ROOT[parts[1]]
    assert parts[1] in LAYERS, f"{module} is in no part: add its package to LAYERS"
    return parts[1]


def imported(module: str, path: Path) -> list[tuple[int, str]]:
    """Each scaffold module `module` imports (at any depth), absolute, with its line."""
    found = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "scaffold"]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.split(".")[0] != "scaffold":
                continue
            for alias in node.names:  # `from scaffold.core import errors` imports scaffold.core.errors
                candidate = f"{base}.{alias.name}"
                found.append((node.lineno, candidate if candidate in modules() else base))
    return found


def test_no_part_imports_a_part_above_it():
    upward = []
    for module, path in modules().items():
        for line, target in imported(module, path):
            if LAYERS.index(part(target)) > LAYERS.index(part(module)) and (module, target) not in ALLOWED:
                upward.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line}: {module} ({part(module)}) imports "
                    f"{target} ({part(target)})"
                )
    assert not upward, "\n".join(upward)


def test_the_allowed_exceptions_are_still_needed():
    """An exception nothing uses any more is taken out of ALLOWED."""
    used = {(module, target) for module, path in modules().items() for _, target in imported(module, path)}
    assert ALLOWED <= used


def test_parts_say_what_they_do_and_import_nothing():
    for module, path in modules().items():
        if path.name != "__init__.py" or module == "scaffold":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), f"{path}: say what the part does and what it may import"
        assert len(tree.body) == 1, f"{path}: a docstring only (importing a part must cost nothing)"


def test_every_package_is_a_part():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages <= set(LAYERS)


def test_no_module_over_450_lines():
    counts = {
        str(path.relative_to(PACKAGE.parent)): len(path.read_text(encoding="utf-8").splitlines())
        for path in modules().values()
    }
    long = {name: count for name, count in counts.items() if count > max(MAX_LINES, TO_SPLIT.get(name, 0))}
    assert not long, f"split these by job (at most {MAX_LINES} lines each): {long}"
    done = {name for name in TO_SPLIT if counts.get(name, 0) <= MAX_LINES}
    assert not done, f"under the cap now: take them out of TO_SPLIT: {done}"
