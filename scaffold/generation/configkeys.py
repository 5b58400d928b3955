"""Each key of `[tool.scaffold]` read and checked: every bad one a located error at its line.

The schema and its defaults are `scaffold.generation.config`; finding and
reading the file is `scaffold.generation.configfile`. This module turns the
table into a `Config`, one key at a time: an unknown key (with the closest
known one), a value of the wrong kind, a number out of the generated
server's range, a path that leaves the project or holds all of it, a
sub-package that collides with the package's own modules, and the
`[tool.scaffold.breaking]` table, whose `ignore_only` names buf's rule IDs
(checked against `scaffold.breaking.rules`, imported only when it names any).
"""

from __future__ import annotations

import difflib
import keyword
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scaffold.core.errors import Diagnostic, ScaffoldError
from scaffold.core.text import lines as text_lines
from scaffold.generation.config import (
    BREAKING_CATEGORIES,
    BREAKING_KEYS,
    KEYS,
    LAYOUTS,
    LIMITS,
    LOG_FORMATS,
    BreakingConfig,
    Config,
)
from scaffold.generation.formatting import FORMATTERS
from scaffold.generation.packagename import check_package_name
from scaffold.layout import TABLE


class _Located:
    """`path:line:col` of a key of the table, so that every config error points at its line."""

    def __init__(self, path: Path, text: str, table: str = TABLE) -> None:
        self.path, self.text, self.table = path, text, table  # split into lines only for an error

    def error(self, key: str, message: str) -> ScaffoldError:
        return ScaffoldError([self.at(key, message)])

    def at(self, key: str, message: str) -> Diagnostic:
        self.lines = text_lines(self.text)
        header = next((i for i, line in enumerate(self.lines) if line.strip() == f"[{self.table}]"), None)
        self.start = header + 1 if header is not None else 0
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for number in range(self.start, len(self.lines)):
            if self.lines[number].startswith("["):
                break
            if pattern.match(self.lines[number]):
                column = self.lines[number].index(key) + 1
                return Diagnostic(str(self.path), message, number + 1, column)
        return Diagnostic(str(self.path), message)


def at_key(path: Path, key: str, message: str) -> Diagnostic:
    """`message` located at `key` of the `[tool.scaffold]` table in the config file `path` (its line when
    the file has the key, else the file alone): for a key whose value only a later stage can judge."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return Diagnostic(str(path), message)
    return _Located(path, text).at(key, message)


def parse(table: dict[str, Any], root: Path, path: Path, text: str) -> Config:
    """The config the `[tool.scaffold]` table `table` of `path` (whose text is `text`) says."""
    where = _Located(path, text)
    unknown = [where.at(key, f"[{TABLE}] has no key {key!r}" + _closest(key)) for key in table if key not in KEYS]
    if unknown:
        raise ScaffoldError(unknown)
    config = Config(
        root=root,
        package=check_package_name(_string(table, "package", where), f"{path}: [{TABLE}] package"),
        protos=_strings(table, "protos", where),
        proto_paths=_proto_paths(table, root, where),
        generated=_generated(table, root, where),
        aio=_bool(table, "aio", where, default=False),
        health=_bool(table, "health", where, default=False),
        reflection=_bool(table, "reflection", where, default=False),
        max_workers=int(_number(table, "max_workers", where, default=10, integer=True)),
        max_message_bytes=int(_number(table, "max_message_bytes", where, default=4 * 1024 * 1024, integer=True)),
        grace_seconds=float(_number(table, "grace_seconds", where, default=5.0)),
        tls=_bool(table, "tls", where, default=False),
        access_log=_bool(table, "access_log", where, default=True),
        log_format=_choice(table, "log_format", LOG_FORMATS, where, default="text") or "text",
        metrics=_bool(table, "metrics", where, default=False),
        metrics_port=int(_number(table, "metrics_port", where, default=9464, integer=True)),
        otel=_bool(table, "otel", where, default=False),
        web=_bool(table, "web", where, default=False),
        http_port=int(_number(table, "http_port", where, default=8080, integer=True)),
        cors_origins=_origins(table, where),
        validate=_bool(table, "validate", where, default=False),
        validate_responses=_bool(table, "validate_responses", where, default=False),
        keepalive_seconds=float(_number(table, "keepalive_seconds", where, default=0.0)),
        max_connection_age_seconds=float(_number(table, "max_connection_age_seconds", where, default=0.0)),
        templates=_templates(table, root, where),
        format=_format(table, where),
        layout=_choice(table, "layout", LAYOUTS, where, default="single") or "single",
        root_package=_root_package(table, where),
        installed=_installed(table, where),
        split_services=_split_services(table, where),
        breaking=_breaking(table, path, text),
    )
    if config.split_services and config.layout != "per-service":
        message = f'[{TABLE}] split_services: only the per-service layout has parts (layout = "per-service")'
        raise where.error("split_services", message)
    if config.validate_responses and not config.validate:
        raise where.error(
            "validate_responses", f"[{TABLE}] validate_responses: responses are validated only with `validate = true`"
        )
    return config


def _origins(table: dict[str, Any], where: _Located) -> tuple[str, ...]:
    """Origins as a browser sends them (`https://app.example.com`, no path), or "*"."""
    if table.get("cors_origins", []) == []:
        return ()
    origins = _strings(table, "cors_origins", where)
    for origin in origins:
        if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
            message = f'[{TABLE}] cors_origins: {origin!r} is not an origin (scheme://host[:port], or "*")'
            raise where.error("cors_origins", message)
    return origins


def _root_package(table: dict[str, Any], where: _Located) -> str:
    """A proto package name (`inventory.v1`), or "" (absent): every package's whole name is mirrored."""
    value = table.get("root_package", "")
    if value == "":
        return ""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", value):
        message = f"[{TABLE}] root_package: {value!r} is not a proto package name (such as 'inventory.v1')"
        raise where.error("root_package", message)
    return value


def _split_services(table: dict[str, Any], where: _Located) -> tuple[str, ...]:
    """Full names of services (`pkg.v1.Admin`), each once, in the order given."""
    value = table.get("split_services", [])
    name = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"
    if not isinstance(value, list) or not all(isinstance(entry, str) and re.fullmatch(name, entry) for entry in value):
        message = f"[{TABLE}] split_services must be a list of services' full names (such as 'inventory.v1.Catalog')"
        raise where.error("split_services", message)
    if len(set(value)) != len(value):
        raise where.error("split_services", f"[{TABLE}] split_services names a service twice")
    return tuple(value)


REQUIREMENT = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:>=(?P<floor>[0-9][0-9A-Za-z.+!-]*))?")
"""An entry of `installed`: a distribution's name, with the lowest version it may be (`name>=1.2`)."""


def _installed(table: dict[str, Any], where: _Located) -> tuple[str, ...]:
    value = table.get("installed", [])
    if not isinstance(value, list) or not all(isinstance(entry, str) for entry in value):
        raise where.error("installed", f"[{TABLE}] installed must be a list of distributions (name>=version)")
    for entry in value:
        if not REQUIREMENT.fullmatch(entry):
            message = f"[{TABLE}] installed: {entry!r} is not a distribution with its lowest version (name>=version)"
            raise where.error("installed", message)
    return tuple(value)


def locate(path: Path, text: str, key: str, message: str) -> Diagnostic:
    """`message` at the line of `key` in the `[tool.scaffold]` table of `path`, whose text is `text`."""
    return _Located(path, text).at(key, message)


def _closest(key: str) -> str:
    close = difflib.get_close_matches(key, KEYS, n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; the keys are {', '.join(KEYS)}"


def _proto_paths(table: dict[str, Any], root: Path, where: _Located) -> tuple[str, ...]:
    """Include roots; never one that holds the project (it would search the virtualenv, or the whole disk)."""
    paths = _strings(table, "proto_paths", where, default=("protos",))
    project = root.resolve()
    for value in paths:
        directory = (root / value).resolve()
        if directory == project or directory in project.parents:
            message = f"[{TABLE}] proto_paths: {value!r} holds the whole project; name the directory of the protos"
            raise where.error("proto_paths", message)
    return paths


def _string(table: dict[str, Any], key: str, where: _Located, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value:
        raise where.error(key, f"[{TABLE}] {key} must be a non-empty string")
    return value


def _templates(table: dict[str, Any], root: Path, where: _Located) -> str | None:
    if "templates" not in table:
        return None
    value = _string(table, "templates", where)
    if not (root / value).is_dir():
        raise where.error("templates", f"[{TABLE}] templates: no directory {root / value}")
    return value


def _format(table: dict[str, Any], where: _Located) -> str | None:
    return _choice(table, "format", tuple(FORMATTERS), where, default=None)


def _choice(
    table: dict[str, Any], key: str, choices: Sequence[str], where: _Located, default: str | None
) -> str | None:
    value = table.get(key, default)
    if value is not None and value not in choices:
        listed = ", ".join(f'"{name}"' for name in choices)
        raise where.error(key, f"[{TABLE}] {key} must be one of {listed}, not {value!r}")
    return value


def _dotted_name(table: dict[str, Any], key: str, where: _Located) -> str:
    """A sub-package name like `generated` or `api.v1`: never a path that could leave the project."""
    value = _string(table, key, where, default="generated")
    parts = value.split(".")
    if not all(part.isidentifier() and part.isascii() and not keyword.iskeyword(part) for part in parts):
        message = f"[{TABLE}] {key} must be a dotted Python package name inside the project, not {value!r}"
        raise where.error(key, message)
    return value


def _generated(table: dict[str, Any], root: Path, where: _Located) -> str:
    """protoc's sub-package: a dotted name that is none of the package's own modules or directories
    (`services`, `clients`, `server`, ...): scaffold would own the user's modules below it, or they it."""
    value = _dotted_name(table, "generated", where)
    first = value.split(".")[0]
    owned = _package_entries(root, table.get("templates"))
    if first in owned:
        message = (
            f"[{TABLE}] generated: {first!r} is where the project keeps {owned[first]}; "
            'name protoc\'s sub-package something else (the default is "generated")'
        )
        raise where.error("generated", message)
    return value


def _package_entries(root: Path, templates: object) -> dict[str, str]:
    """Each name the templates write directly in the package (a module without `.py`, a directory),
    with the template that writes it: the built-in templates, and the project's own when it has any."""
    from scaffold.generation.inputs import builtin_templates

    directories = [builtin_templates() / "__package__"]
    if isinstance(templates, str):
        directories.insert(0, root / templates / "__package__")
    entries: dict[str, str] = {}
    for directory in directories:
        for entry in sorted(directory.iterdir()) if directory.is_dir() else ():
            name = entry.name.removesuffix(".jinja").removesuffix(".py")
            if not (name.startswith("_") and not name.startswith("__")) and name != "__generated__":
                entries.setdefault(name, f"{entry.name}/" if entry.is_dir() else f"{name}.py")
    return entries


def _bool(table: dict[str, Any], key: str, where: _Located, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise where.error(key, f"[{TABLE}] {key} must be true or false")
    return value


def _number(table: dict[str, Any], key: str, where: _Located, default: float, integer: bool = False) -> float:
    """A number the generated server can use: finite, within `LIMITS` (nan, inf and 10**30 are not)."""
    value = table.get(key, default)
    kinds = (int,) if integer else (int, float)
    low, high = LIMITS[key]
    usable = not isinstance(value, bool) and isinstance(value, kinds) and math.isfinite(value)
    if not usable or not (value > 0 if low == 1 else value >= low) or value > high:
        what = "a whole number" if integer else "a number"
        raise where.error(key, f"[{TABLE}] {key} must be {what} from {low} to {high:_}, not {value!r}")
    return float(value)


def _strings(
    table: dict[str, Any], key: str, where: _Located, default: tuple[str, ...] | None = None
) -> tuple[str, ...]:
    value = table.get(key, default)
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) and v for v in value):
        raise where.error(key, f"[{TABLE}] {key} must be a non-empty list of strings")
    return tuple(value)


def _breaking(table: dict[str, Any], path: Path, text: str) -> BreakingConfig:
    value = table.get("breaking", {})
    if not isinstance(value, dict):
        raise _Located(path, text).error("breaking", f"[{TABLE}] breaking must be a table")
    where = _Located(path, text, f"{TABLE}.breaking")
    name = f"{TABLE}.breaking"
    for key in value:
        if key not in BREAKING_KEYS:
            close = difflib.get_close_matches(key, BREAKING_KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; the keys are {', '.join(BREAKING_KEYS)}"
            raise where.error(key, f"[{name}] has no key {key!r}{hint}")
    against = value.get("against")
    if against is not None and (not isinstance(against, str) or not against):
        raise where.error("against", f"[{name}] against must be a git revision, a directory or a descriptor set file")
    category = value.get("category", "FILE")
    if category not in BREAKING_CATEGORIES:
        listed = ", ".join(f'"{c}"' for c in BREAKING_CATEGORIES)
        raise where.error("category", f"[{name}] category must be one of {listed}, not {category!r}")
    ignore = value.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(v, str) and v for v in ignore):
        raise where.error("ignore", f"[{name}] ignore must be a list of paths")
    if "category" in value and "use" in value:
        raise where.error("use", f"[{name}] sets both category and use: keep one (use lists categories too)")
    use, leave_out = (_rule_names(value, key, where) for key in ("use", "except"))
    unstable = value.get("ignore_unstable_packages", False)
    if not isinstance(unstable, bool):
        raise where.error("ignore_unstable_packages", f"[{name}] ignore_unstable_packages must be true or false")
    ignore_only = _ignore_only(value.get("ignore_only", {}), path, text)
    return BreakingConfig(
        against, category, tuple(ignore), ignore_only, use, leave_out, unstable, given=tuple(sorted(value))
    )


def _rule_names(value: dict[str, Any], key: str, where: _Located) -> tuple[str, ...]:
    """`use` or `except`: buf's categories and rule IDs (v2 names), checked when listed (the rules are
    imported only then: the no-op path loads this config)."""
    names = value.get(key, [])
    name = f"{TABLE}.breaking"
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise where.error(key, f"[{name}] {key} must be a list of rule IDs and categories")
    if names:
        from scaffold.breaking.selection import select

        problem = select("v2", names if key == "use" else ["FILE"], names if key == "except" else [])
        if isinstance(problem, str) and problem != "selects no rule":
            raise where.error(key, f"[{name}] {key}: {problem}")
    return tuple(names)


def _ignore_only(value: object, path: Path, text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if value == {}:
        return ()  # and the rules (protobuf) stay unimported: the no-op path loads this config
    from scaffold.breaking.rules import RULES

    name = f"{TABLE}.breaking"
    where = _Located(path, text, name)
    if not isinstance(value, dict):
        raise where.error("ignore_only", f"[{name}] ignore_only must be a table of rule IDs to lists of paths")
    inner = _Located(path, text, f"{name}.ignore_only")
    for rule, paths in value.items():
        if rule not in RULES and rule not in BREAKING_CATEGORIES:
            close = difflib.get_close_matches(rule, [*RULES, *BREAKING_CATEGORIES], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ScaffoldError(
                [_either(inner, where, rule, f"[{name}] ignore_only: no rule or category {rule!r}{hint}")]
            )
        if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
            raise ScaffoldError([_either(inner, where, rule, f"[{name}] ignore_only: {rule} must list paths")])
    return tuple((rule, tuple(paths)) for rule, paths in sorted(value.items()))


def _either(inner: _Located, outer: _Located, key: str, message: str) -> Diagnostic:
    """The key's line in `[...ignore_only]`, or the `ignore_only = {...}` line when written inline."""
    found = inner.at(key, message)
    return found if found.line is not None else outer.at("ignore_only", message)
