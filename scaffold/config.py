"""Stage: the one frozen configuration object every later stage reads.

The config lives in the generated project's pyproject.toml under
`[tool.scaffold]`, so a project carries everything `scaffold gen` needs and
nothing is hidden elsewhere. Paths in it are relative to the project root.
"""

from __future__ import annotations

import keyword
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold.errors import Diagnostic, ScaffoldError
from scaffold.formatting import FORMATTERS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

CONFIG_FILE = "pyproject.toml"
TABLE = "tool.scaffold"


@dataclass(frozen=True)
class Config:
    """What to generate, and where.

    `protos` are the files to compile and `proto_paths` the include roots
    (protoc's -I), both relative to `root`; `package` is the Python package
    the project lives in and `generated` the sub-package protoc's modules go
    to. `aio` selects the asyncio flavour (grpc.aio) of every file scaffold
    writes. The rest are server options: `health` and `reflection` add the
    standard health and reflection services (off by default: each brings a
    dependency), the others are the defaults of the server's flags.
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
    templates: str | None = None
    format: str | None = None

    @property
    def distribution(self) -> str:
        return self.package.replace("_", "-")

    def proto_files(self) -> tuple[Path, ...]:
        return tuple(self.root / proto for proto in self.protos)

    def include_dirs(self) -> tuple[Path, ...]:
        return tuple(self.root / path for path in self.proto_paths)

    def template_dir(self) -> Path | None:
        """Normalised without touching the disk: `new` asks before the project directory exists."""
        return Path(os.path.normpath(self.root / self.templates)) if self.templates else None


def check_package_name(name: str, origin: str) -> str:
    """`name` if it can be a Python package name, else a located error naming `origin`."""
    if not name.isidentifier() or keyword.iskeyword(name) or not name.isascii():
        raise ScaffoldError(
            [Diagnostic(origin, f"{name!r} is not a valid Python package name (use letters, digits and _)")]
        )
    return name


def load(root: Path) -> Config:
    """The config of the project at `root`, with a located error for every bad key."""
    path = root / CONFIG_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScaffoldError([Diagnostic(str(path), "no such file")]) from None
    except tomllib.TOMLDecodeError as error:
        raise ScaffoldError([Diagnostic(str(path), f"not valid TOML: {error}", 1, 1)]) from None
    table = data.get("tool", {}).get("scaffold")
    if not isinstance(table, dict):
        raise ScaffoldError([Diagnostic(str(path), f"no [{TABLE}] table")])
    return Config(
        root=root,
        package=check_package_name(_string(table, "package", path), f"{path}: [{TABLE}] package"),
        protos=_strings(table, "protos", path),
        proto_paths=_strings(table, "proto_paths", path, default=("protos",)),
        generated=_dotted_name(table, "generated", path),
        aio=_bool(table, "aio", path, default=False),
        health=_bool(table, "health", path, default=False),
        reflection=_bool(table, "reflection", path, default=False),
        max_workers=int(_number(table, "max_workers", path, default=10, integer=True)),
        max_message_bytes=int(_number(table, "max_message_bytes", path, default=4 * 1024 * 1024, integer=True)),
        grace_seconds=float(_number(table, "grace_seconds", path, default=5.0)),
        templates=_templates(table, root, path),
        format=_format(table, path),
    )


def _string(table: dict[str, Any], key: str, path: Path, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value:
        raise ScaffoldError([Diagnostic(str(path), f"[{TABLE}] {key} must be a non-empty string")])
    return value


def _templates(table: dict[str, Any], root: Path, path: Path) -> str | None:
    if "templates" not in table:
        return None
    value = _string(table, "templates", path)
    if not (root / value).is_dir():
        raise ScaffoldError([Diagnostic(str(path), f"[{TABLE}] templates: no directory {root / value}")])
    return value


def _format(table: dict[str, Any], path: Path) -> str | None:
    if "format" not in table:
        return None
    value = table["format"]
    if value not in FORMATTERS:
        choices = ", ".join(f'"{name}"' for name in FORMATTERS)
        raise ScaffoldError([Diagnostic(str(path), f"[{TABLE}] format must be one of {choices}, not {value!r}")])
    return str(value)


def _dotted_name(table: dict[str, Any], key: str, path: Path) -> str:
    """A sub-package name like `generated` or `api.v1`: never a path that could leave the project."""
    value = _string(table, key, path, default="generated")
    parts = value.split(".")
    if not all(part.isidentifier() and part.isascii() and not keyword.iskeyword(part) for part in parts):
        message = f"[{TABLE}] {key} must be a dotted Python package name inside the project, not {value!r}"
        raise ScaffoldError([Diagnostic(str(path), message)])
    return value


def _bool(table: dict[str, Any], key: str, path: Path, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ScaffoldError([Diagnostic(str(path), f"[{TABLE}] {key} must be true or false")])
    return value


def _number(table: dict[str, Any], key: str, path: Path, default: float, integer: bool = False) -> float:
    value = table.get(key, default)
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value <= 0:
        what = "a positive whole number" if integer else "a positive number"
        raise ScaffoldError([Diagnostic(str(path), f"[{TABLE}] {key} must be {what}")])
    return value


def _strings(table: dict[str, Any], key: str, path: Path, default: tuple[str, ...] | None = None) -> tuple[str, ...]:
    value = table.get(key, default)
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) and v for v in value):
        raise ScaffoldError([Diagnostic(str(path), f"[{TABLE}] {key} must be a non-empty list of strings")])
    return tuple(value)
