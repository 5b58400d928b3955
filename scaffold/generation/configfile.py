"""The project's config file: found, read as TOML, its `[tool.scaffold]` table made a `Config`.

The config lives in the generated project's pyproject.toml under
`[tool.scaffold]`, so a project carries everything `scaffold gen` needs and
nothing is hidden elsewhere. This module finds that file (`-C DIR`, or the
nearest one upward), reads it (a TOML error located where tomllib says),
and hands the table to `scaffold.generation.configkeys`, which checks each key.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from scaffold.core.errors import ScaffoldError, fail
from scaffold.core.text import lines as text_lines
from scaffold.generation.config import Config
from scaffold.generation.configkeys import parse
from scaffold.layout import CONFIG_FILE, TABLE

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib


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
    return parse(table, root, path, text), table


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
