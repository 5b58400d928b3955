"""Stage: the one frozen configuration object every later stage reads.

The config lives in the generated project's pyproject.toml under
`[tool.scaffold]`, so a project carries everything `scaffold gen` needs and
nothing is hidden elsewhere. Paths in it are relative to the project root.
"""

from __future__ import annotations

import difflib
import keyword
import math
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold.core.errors import Diagnostic, ScaffoldError, fail
from scaffold.core.text import lines as text_lines
from scaffold.generation.formatting import FORMATTERS
from scaffold.layout import CONFIG_FILE, PROTO_DIR, TABLE

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib


BREAKING_CATEGORIES = ("FILE", "PACKAGE", "WIRE_JSON", "WIRE", "CSR")
"""buf's categories of breaking rules, strictest first (CSR is buf's own, for Connect clients)."""


@dataclass(frozen=True)
class BreakingConfig:
    """`[tool.scaffold.breaking]`: what `scaffold breaking` compares against and what it leaves out.

    Like buf's: `category` picks the rule set, `ignore` takes paths out of
    every rule, `ignore_only` maps a rule ID or category to the paths it
    skips. Paths are proto names (`foo/v1/a.proto`) or directories of them,
    or the same under the project (`protos/foo/v1`).
    """

    against: str | None = None
    category: str = "FILE"
    ignore: tuple[str, ...] = ()
    ignore_only: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Config:
    """What to generate, and where.

    `protos` are the files to compile and `proto_paths` the include roots
    (protoc's -I), both relative to `root`; `package` is the Python package
    the project lives in and `generated` the sub-package protoc's modules go
    to. `aio` selects the asyncio flavour (grpc.aio) of every file scaffold
    writes. The rest are server options: `health` and `reflection` add the
    standard health and reflection services and `metrics` a Prometheus
    endpoint (off by default: each brings a dependency); `tls = true` makes
    the server refuse to start without a certificate; the others are the
    defaults of the server's flags.
    `templates` is a directory of templates searched before the built-in
    ones, file by file. `format = "ruff"` formats the user-owned Python files
    of every render before they are compared and written.
    """

    root: Path
    package: str
    protos: tuple[str, ...]
    proto_paths: tuple[str, ...] = ("protos",)
    generated: str = "generated"
    aio: bool = False
    health: bool = False
    reflection: bool = False
    max_workers: int = 10
    max_message_bytes: int = 4 * 1024 * 1024
    grace_seconds: float = 5.0
    tls: bool = False
    access_log: bool = True
    log_format: str = "text"
    metrics: bool = False
    metrics_port: int = 9464
    keepalive_seconds: float = 0.0
    max_connection_age_seconds: float = 0.0
    templates: str | None = None
    format: str | None = None
    layout: str = "single"
    """Where the user's per-service code lives: "single" (one servicer, client and test module for every
    service) or "per-service" (one of each per service, in trees that mirror the proto packages)."""
    breaking: BreakingConfig = BreakingConfig()

    @property
    def limits(self) -> dict[str, tuple[int, int]]:
        """The range of each number the generated server takes, as a key or a flag (`port` too): its
        flags refuse what this config refuses."""
        return {**_LIMITS, "port": _LIMITS["metrics_port"]}

    @property
    def distribution(self) -> str:
        return self.package.replace("_", "-")

    def proto_files(self) -> tuple[Path, ...]:
        """Each entry of `protos` is a file, a directory (every .proto below it) or a glob (`protos/**/*.proto`);
        a new proto under a listed directory is an input from the next `gen` on."""
        files: dict[Path, None] = {}
        for entry in self.protos:
            path = self.root / entry
            if any(char in entry for char in "*?["):
                found = sorted((p for p in self.root.glob(entry) if p.suffix == ".proto"), key=_path_order)
            elif path.is_dir():
                found = sorted(path.rglob("*.proto"), key=_path_order)
            else:
                found = []
            files.update(dict.fromkeys(found or [path]))  # an entry that names nothing: protoc's input check says so
        return tuple(files)

    def include_dirs(self) -> tuple[Path, ...]:
        return tuple(self.root / path for path in self.proto_paths)

    @property
    def generated_dir(self) -> str:
        """Where protoc's modules go, relative to the project root (`route_guide/generated`)."""
        return f"{self.package}/{self.generated.replace('.', '/')}"

    def template_dir(self) -> Path | None:
        """Normalised without touching the disk: `new` asks before the project directory exists."""
        return Path(os.path.normpath(self.root / self.templates)) if self.templates else None


def _path_order(path: Path) -> tuple[str, ...]:
    """The order of sorting the paths themselves (by their parts), with each path's parts taken once:
    comparing 7,000 Paths pairwise took a third of a second."""
    return path.parts


# Top-level packages a generated project imports besides the standard library's: a project package of
# one of these names shadows it, and the project fails on import (`logging.proto`, `--name grpc`).
TAKEN_PACKAGES = frozenset(
    {"grpc", "grpc_tools", "grpc_health", "grpc_reflection", "google", "pytest", "mypy", "ruff", "typing_extensions"}
    | {"prometheus_client", "scaffold", "tests", "setuptools", "hatchling", "pip", "_pytest"}
)


def shadows(name: str) -> bool:
    """Whether the project cannot take `name` as its package (`_taken_because`)."""
    return _taken_because(name) is not None


def _taken_because(name: str) -> str | None:
    """Why a top-level package `name` cannot be the project's: it would hide a module the project
    needs, stand where the project keeps its proto copies, or mean something to Python (`__main__`)."""
    if name in sys.stdlib_module_names or name in TAKEN_PACKAGES or name in sys.builtin_module_names:
        return "would shadow the module of that name the project imports"
    if name == PROTO_DIR:
        return f"is the directory the project keeps its protos in ({PROTO_DIR}/)"
    if name.startswith("__") and name.endswith("__"):
        return "is a name Python reserves"
    return None


def check_package_name(name: str, origin: str) -> str:
    """`name` if it can be a Python package name, else a located error naming `origin`."""
    if keyword.iskeyword(name):
        raise fail(origin, f"{name!r} is not a valid Python package name (a Python keyword)")
    if not name.isidentifier() or not name.isascii():
        raise ScaffoldError(
            [Diagnostic(origin, f"{name!r} is not a valid Python package name (use letters, digits and _)")]
        )
    reason = _taken_because(name)
    if reason is not None:
        raise fail(origin, f"{name!r} {reason}; choose another package name")
    return name


KEYS = (
    "package",
    "protos",
    "proto_paths",
    "generated",
    "aio",
    "health",
    "reflection",
    "max_workers",
    "max_message_bytes",
    "grace_seconds",
    "tls",
    "access_log",
    "log_format",
    "metrics",
    "metrics_port",
    "keepalive_seconds",
    "max_connection_age_seconds",
    "templates",
    "format",
    "layout",
    "breaking",
)
BREAKING_KEYS = ("against", "category", "ignore", "ignore_only")
# What the generated server can use: grpc takes message sizes as a C int, a thread pool needs a thread.
_LIMITS = {
    "max_workers": (1, 10_000),
    "max_message_bytes": (1, 2**31 - 1),
    "grace_seconds": (0, 86_400),
    "metrics_port": (0, 65_535),
    "keepalive_seconds": (0, 86_400),
    "max_connection_age_seconds": (0, 365 * 86_400),
}
LOG_FORMATS = ("text", "json")
LAYOUTS = ("single", "per-service")


class _Located:
    """`path:line:col` of a key of the table, so that every config error points at its line."""

    def __init__(self, path: Path, text: str, table: str = TABLE) -> None:
        self.path = path
        self.lines = text_lines(text)
        header = next((i for i, line in enumerate(self.lines) if line.strip() == f"[{table}]"), None)
        self.start = header + 1 if header is not None else 0

    def error(self, key: str, message: str) -> ScaffoldError:
        return ScaffoldError([self.at(key, message)])

    def at(self, key: str, message: str) -> Diagnostic:
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for number in range(self.start, len(self.lines)):
            if self.lines[number].startswith("["):
                break
            if pattern.match(self.lines[number]):
                column = self.lines[number].index(key) + 1
                return Diagnostic(str(self.path), message, number + 1, column)
        return Diagnostic(str(self.path), message)


def load(root: Path) -> Config:
    """The config of the project at `root`, with a located error for every bad key."""
    return load_with_table(root)[0]


_TOML_PLACE = re.compile(r" \(at (?:line (\d+), column (\d+)|end of document)\)$")


def _toml_error(path: Path, text: str, error: tomllib.TOMLDecodeError) -> ScaffoldError:
    """tomllib's error at the place its text names (`(at line 62, column 7)`), not at 1:1; the end of the
    document is its last line."""
    message = str(error)
    place = _TOML_PLACE.search(message)
    if place is None:
        return fail(str(path), f"not valid TOML: {message}", 1, 1)
    if place[1]:
        line, col = int(place[1]), int(place[2])
    else:
        line, col = max(len(text_lines(text)), 1), 1
    return fail(str(path), f"not valid TOML: {message[: place.start()]}", line, col)


def load_with_table(root: Path) -> tuple[Config, dict[str, Any]]:
    """The config, and the raw `[tool.scaffold]` table it was read from (the inputs' digest covers it)."""
    path = root / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise fail(str(path), "no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise fail(str(path), f"cannot be read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise _toml_error(path, text, error) from None
    table = data.get("tool", {}).get("scaffold")
    if not isinstance(table, dict):
        raise fail(str(path), f"no [{TABLE}] table")
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
        keepalive_seconds=float(_number(table, "keepalive_seconds", where, default=0.0)),
        max_connection_age_seconds=float(_number(table, "max_connection_age_seconds", where, default=0.0)),
        templates=_templates(table, root, where),
        format=_format(table, where),
        layout=_choice(table, "layout", LAYOUTS, where, default="single") or "single",
        breaking=_breaking(table, path, text),
    )
    return config, table


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
    """A number the generated server can use: finite, within `_LIMITS` (nan, inf and 10**30 are not)."""
    value = table.get(key, default)
    kinds = (int,) if integer else (int, float)
    low, high = _LIMITS[key]
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
    return BreakingConfig(against, category, tuple(ignore), _ignore_only(value.get("ignore_only", {}), path, text))


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


def project_dir(path: Path) -> Path:
    """`path` as `-C` names a project: an existing directory whose pyproject.toml has a [tool.scaffold]
    table (read as text: a config broken mid-edit is still a project, for `watch` to wait on)."""
    if not path.exists():
        raise fail(str(path), "no such directory")
    if not path.is_dir():
        raise fail(str(path), "not a directory")
    candidate = path / CONFIG_FILE
    try:
        text = candidate.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise fail(str(candidate), "no such file; `scaffold new` makes a project") from None
    except OSError as error:
        raise fail(str(candidate), f"cannot be read: {error.strerror or error}") from None
    if f"[{TABLE}]" not in text:
        raise fail(str(candidate), f"no [{TABLE}] table; `scaffold new` makes a project")
    return path


def find_project(start: Path) -> Path:
    """The nearest directory from `start` upward whose pyproject.toml has a [tool.scaffold] table."""
    start = start.resolve()
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_FILE
        if candidate.is_file() and f"[{TABLE}]" in candidate.read_text(encoding="utf-8", errors="replace"):
            return directory
    raise fail(str(start), "no pyproject.toml with [tool.scaffold] here or above; run `scaffold new`")
