"""What a generation reads, and one digest of it.

Standard library only: the no-op path (`scaffold.uptodate`) uses this before
protoc, Jinja or even the CLI framework are imported. The digest covers the
tool's version, the `[tool.scaffold]` table, every .proto under the proto
roots and every built-in template. Not the tool's own code: that would make
every commit to scaffold churn the record in every project; a release changes
the version, and in this repository the golden test (which regenerates with
`new`, never the no-op path) catches any output a code change alters.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from scaffold import __version__
from scaffold.hashes import Hashes
from scaffold.layout import CONFIG_FILE

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib


def builtin_templates() -> Path:
    """The built-in templates: inside the installed package, or beside it in a source checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "templates"
    return packaged if packaged.is_dir() else here.parent / "templates"


def config_table(root: Path) -> dict[str, Any] | None:
    """The raw `[tool.scaffold]` table, or None when there is none (or the file is not TOML)."""
    try:
        return table_of((root / CONFIG_FILE).read_text(encoding="utf-8"))
    except OSError:
        return None


def table_of(pyproject: str) -> dict[str, Any] | None:
    try:
        data = tomllib.loads(pyproject)
    except ValueError:
        return None
    table = data.get("tool", {}).get("scaffold")
    return table if isinstance(table, dict) else None


def digest(root: Path, table: dict[str, Any], hashes: Hashes | None = None) -> str:
    """The digest of everything a generation of the project at `root` reads (`hashes`: what the files'
    status says of their contents, see `scaffold.hashes`)."""
    hashes = hashes or Hashes(root)
    protos = [
        (path.relative_to(root).as_posix(), hashes.sha256(path))
        for r in _proto_roots(root, table)
        if r.is_dir()
        for path in r.rglob("*.proto")  # in any order: the digest sorts by path
    ]
    return _digest_of_hashes(table, protos, _custom_templates(root, table), hashes)


def directories_read(root: Path, table: dict[str, Any]) -> list[Path]:
    """The directories whose files the digest reads, existing or not: the proto roots, the templates."""
    directories = [*_proto_roots(root, table), builtin_templates(), _custom_templates(root, table)]
    return [d for d in directories if d is not None]


def _proto_roots(root: Path, table: dict[str, Any]) -> list[Path]:
    return [root / p for p in table.get("proto_paths", ["protos"]) if isinstance(p, str)]


def _custom_templates(root: Path, table: dict[str, Any]) -> Path | None:
    custom = table.get("templates")
    return Path(os.path.normpath(root / custom)) if isinstance(custom, str) else None


def digest_of(table: dict[str, Any], protos: Iterable[tuple[str, bytes]], custom: Path | None = None) -> str:
    """The same digest from contents in memory: `protos` are (path relative to the project, bytes);
    `custom` is the directory of the user's own templates, if any."""
    hashed = [(path, hashlib.sha256(content).hexdigest()) for path, content in protos]
    return _digest_of_hashes(table, hashed, custom, Hashes())


def _digest_of_hashes(
    table: dict[str, Any], protos: Iterable[tuple[str, str]], custom: Path | None, hashes: Hashes
) -> str:
    result = hashlib.sha256(json.dumps([__version__, table], sort_keys=True).encode())
    named = []
    for kind, directory in (("template", builtin_templates()), ("custom", custom)):
        if directory is not None and directory.is_dir():
            files = sorted(p for p in directory.rglob("*") if p.is_file())
            named += [(f"{kind}:{p.relative_to(directory).as_posix()}", hashes.sha256(p)) for p in files]
    for name, sha256 in [*((f"proto:{path}", sha256) for path, sha256 in sorted(protos)), *named]:
        result.update(name.encode() + b"\0" + bytes.fromhex(sha256))
    return result.hexdigest()
