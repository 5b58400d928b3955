"""A project's `buf.yaml`, read as buf reads it, for `scaffold breaking`.

Teams that already keep a buf.yaml should not say the same thing twice. The
one at the project root, else the first in a proto root, gives the rules
(`use`, `except`), the paths left out (`ignore`, `ignore_only`) and
`ignore_unstable_packages`; `[tool.scaffold.breaking]` overrides it key by
key. Versions differ in where paths start, as in buf: v1beta1 from each
`build.roots` entry, v1 from the buf.yaml's directory (the module root), v2
from the workspace (the buf.yaml's directory, module path included), where a
module's own `breaking` replaces the workspace's. What scaffold cannot
honour (plugins, policies) is named in one line, not half-applied.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold.breaking import selection
from scaffold.core.errors import Diagnostic, ScaffoldError
from scaffold.generation.config import BreakingConfig, Config

NAME = "buf.yaml"
_KEYS = ("use", "except", "ignore", "ignore_only", "ignore_unstable_packages")


@dataclass(frozen=True)
class BufBreaking:
    """The breaking settings of a buf.yaml, its paths made project-relative."""

    path: Path
    version: str
    settings: dict[str, Any]
    unhonoured: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    """The module's `excludes` (v1beta1 and v1 `build.excludes`, a v2 module's), project-relative."""


def find(config: Config) -> Path | None:
    for directory in (".", *config.proto_paths):
        candidate = config.root / directory / NAME
        if candidate.is_file():
            return candidate
    return None


def read(path: Path, config: Config) -> BufBreaking:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as error:
        raise ScaffoldError([Diagnostic(str(path), f"cannot read: {error}")]) from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        problem = getattr(error, "problem", None) or "not YAML"
        raise ScaffoldError([Diagnostic(str(path), f"not YAML: {problem}", line, col)]) from error
    where = _Where(path, text)
    if not isinstance(data, dict):
        raise where.error("version", "a buf.yaml is a mapping with a version key")
    version = data.get("version")
    if version not in selection.VERSIONS:
        raise where.error("version", f"version must be one of {', '.join(selection.VERSIONS)}, not {version!r}")
    unhonoured = tuple(key for key in ("plugins", "policies") if data.get(key))
    base = path.parent
    if version == "v2":
        breaking, roots, excludes = _v2_module(data, base, config, where)
    else:
        breaking = data.get("breaking") or {}
        build = data.get("build") or {}
        if not isinstance(build, dict):
            raise where.error("build", "build must be a mapping")
        named_roots = _strings(build.get("roots"), "roots", where, "build") or ["."]
        roots = [base / root for root in named_roots] if version == "v1beta1" else [base]
        excludes = build.get("excludes")
    if not isinstance(breaking, dict):
        raise where.error("breaking", "breaking must be a mapping")
    settings = _settings(breaking, version, roots, config.root, where)
    # what the module excludes is no part of it: buf checks none of it, whatever `ignore` says
    left_out = _paths(
        _strings(excludes, "excludes", where, "build" if version != "v2" else "modules"), [base], config.root
    )
    return BufBreaking(path, version, settings, unhonoured, left_out)


def applied(table: BreakingConfig, buf: BufBreaking) -> BreakingConfig:
    """`table` with what it leaves unsaid taken from the buf.yaml; the names read in the buf.yaml's version
    when its rules are taken."""
    own_rules = {"use", "category"}.intersection(table.given)
    changes: dict[str, Any] = {
        field: value
        for key, value in buf.settings.items()
        if key not in table.given and not (key == "use" and own_rules)
        for field in [{"except": "leave_out"}.get(key, key)]
    }
    if "use" in changes or "leave_out" in changes:
        changes["version"] = buf.version
    if buf.excluded:
        changes["ignore"] = (*changes.get("ignore", table.ignore), *buf.excluded)
    return dataclasses.replace(table, **changes)


def _v2_module(data: dict[str, Any], base: Path, config: Config, where: _Where) -> tuple[Any, list[Path], Any]:
    """The breaking section of the v2 module holding the project's protos (its own, else the workspace's),
    the roots its paths start from, and its `excludes`."""
    modules = data.get("modules") or [{"path": "."}]
    if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
        raise where.error("modules", "modules must be a list of mappings with a path")
    protos = [(config.root / p).resolve() for p in config.proto_paths]
    for module in modules:
        root = (base / str(module.get("path", "."))).resolve()
        if any(p == root or root in p.parents or p in root.parents for p in protos):
            return module.get("breaking", data.get("breaking") or {}), [base], module.get("excludes")
    return data.get("breaking") or {}, [base], None


def _settings(
    breaking: dict[str, Any], version: str, roots: list[Path], project: Path, where: _Where
) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for key in breaking:
        if key not in _KEYS and key != "disallow_comment_ignores":
            raise where.error(key, f"breaking has no key {key!r} scaffold reads; it reads {', '.join(_KEYS)}")
    for key in ("use", "except"):
        if key in breaking:
            names = _strings(breaking[key], key, where)
            problem = selection.select(version, names if key == "use" else [], names if key == "except" else [])
            if isinstance(problem, str) and problem != "selects no rule":
                raise where.error(key, f"breaking.{key}: {problem}")
            settings[key] = tuple(names)
    if "ignore" in breaking:
        settings["ignore"] = _paths(_strings(breaking["ignore"], "ignore", where), roots, project)
    if "ignore_only" in breaking:
        value = breaking["ignore_only"] or {}
        if not isinstance(value, dict):
            raise where.error("ignore_only", "breaking.ignore_only must map rule IDs and categories to paths")
        only = []
        for rule, paths in sorted(value.items()):
            if isinstance(selection.select(version, [str(rule)]), str):
                raise where.error(str(rule), f"breaking.ignore_only: {rule!r} is no rule or category of {version}")
            only.append((str(rule), _paths(_strings(paths, str(rule), where, "breaking.ignore_only"), roots, project)))
        settings["ignore_only"] = tuple(only)
    if "ignore_unstable_packages" in breaking:
        if not isinstance(breaking["ignore_unstable_packages"], bool):
            raise where.error("ignore_unstable_packages", "ignore_unstable_packages must be true or false")
        settings["ignore_unstable_packages"] = breaking["ignore_unstable_packages"]
    return settings


def _strings(value: object, key: str, where: _Where, section: str = "breaking") -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise where.error(key, f"{section}.{key} must be a list of strings")
    return list(value)


def _paths(paths: list[str], roots: list[Path], project: Path) -> tuple[str, ...]:
    """Each path as the project sees it (`protos/foo`), once per root it may start from."""
    found = []
    for root in roots:
        for path in paths:
            found.append(Path(os.path.relpath((root / path).resolve(), project.resolve())).as_posix())
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class _Where:
    """Errors at the line of the key they are about (the first line naming it), else the file's first."""

    path: Path
    text: str

    def error(self, key: str, message: str) -> ScaffoldError:
        pattern = re.compile(rf"^(\s*-?\s*){re.escape(key)}\s*:", re.MULTILINE)
        found = pattern.search(self.text)
        if found is None:
            return ScaffoldError([Diagnostic(str(self.path), message, 1, 1)])
        line = self.text.count("\n", 0, found.start()) + 1
        return ScaffoldError([Diagnostic(str(self.path), message, line, len(found[1]) + 1)])
