"""What a generation reads, and one digest of it.

Standard library only: the no-op path (`scaffold.generation.uptodate`) uses this before
protoc, Jinja or even the CLI framework are imported. The digest covers the
tool's version, the `[tool.scaffold]` table, every .proto under the proto
roots and every built-in template. Not the tool's own code: that would make
every commit to scaffold churn the record in every project; a release changes
the version, and in this repository the golden test (which regenerates with
`new`, never the no-op path) catches any output a code change alters.

It covers what protoc and Jinja read, which is more than the files below
each root as listed: both follow links (a vendored proto directory linked
into `protos/`, a linked directory of shared includes), so the digest does
too, entering each directory once; and protoc searches the
directory of a listed proto that lies under no proto root, so the digest
searches it as well. `[tool.scaffold.breaking]` is left out: it changes what
`breaking` compares, never a file scaffold writes. A proto of the project that
an installed distribution ships differently is covered with that installed file
(`installed_counterparts`): a copy that no longer matches it may not be
importable beside it, which the next `gen` checks.
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
from scaffold.layout import CONFIG_FILE
from scaffold.record.hashes import Hashes

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib


def builtin_templates() -> Path:
    """The built-in templates: inside the installed package, or beside it in a source checkout."""
    here = Path(__file__).resolve().parent.parent  # the `scaffold` package
    packaged = here / "templates"
    return packaged if packaged.is_dir() else here.parent / "templates"


def config_table(root: Path) -> dict[str, Any] | None:
    """The raw `[tool.scaffold]` table, or None when there is none (or the file is not TOML, or not UTF-8)."""
    try:
        return table_of((root / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
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
    status says of their contents, see `scaffold.record.hashes`)."""
    hashes = hashes or Hashes(root)
    roots, implied, listed = _proto_roots(root, table), *_outside_roots(root, table)
    # Paths as strings: on googleapis, a `Path` for each of 7,000 protos, twice, was a third of the digest.
    found = [path for r in roots for path in _strings_below(r, ".proto")]  # in any order: the digest sorts
    found += dict.fromkeys([*(path for r in implied for path in _strings_below(r, ".proto")), *map(str, listed)])
    protos = [(relative(path, root), hashes.sha256(path)) for path in found]
    copies = {name: hashes.sha256(os.path.join(r, name)) for r in roots for name in _names_below(r, found)}
    installed = [*_differing(copies, root), *_provider_versions(table)]
    return _digest_of_hashes(table, protos, _custom_templates(root, table), hashes, installed)


def _provider_versions(table: dict[str, Any]) -> list[tuple[str, str]]:
    """The version of each distribution of `installed` (the config's): their protos are compiled against
    where they are installed, so an upgrade is an input."""
    if not table.get("installed"):
        return []
    import importlib.metadata  # here: about 6 ms of every no-op run and `scaffold call` otherwise (issue 30)

    versions = []
    for entry in table.get("installed", []):
        name = str(entry).partition(">=")[0]
        try:
            versions.append((f"distribution:{name}", importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            versions.append((f"distribution:{name}", ""))
    return versions


def _differing(copies: dict[str, str], root: Path) -> list[tuple[str, str]]:
    """(name, hash) of each installed counterpart whose bytes are not its copy's: a copy that is the installed
    file adds nothing, so the digest of such a project is the same with or without the distribution."""
    found = []
    for name, path in installed_counterparts(copies, root):
        sha256 = _sha256(path)
        if sha256 != copies[name]:
            found.append((name, sha256))
    return found


_SHIPPED = ("google/", "grpc/", "buf/", "opentelemetry/")
"""Where installed distributions keep their protos (googleapis-common-protos, grpcio-status, ...)."""


def installed_counterparts(names: Iterable[str], root: Path) -> list[tuple[str, Path]]:
    """For each proto name of the project that an installed distribution may also ship, that installed file,
    found as protobuf's own packages lay them out: the `.proto` beside its `_pb2` module on the import path.
    A copy that differs from it cannot be imported beside it (`scaffold.generation.clash`), so an upgrade of
    the distribution is an input: the digest covers these files and the no-op stamp their status."""
    project = os.path.realpath(root) + os.sep
    directories = [
        entry
        for entry in sys.path
        if entry and os.path.isdir(entry) and not (os.path.realpath(entry) + os.sep).startswith(project)
    ]
    holding = {top: [d for d in directories if os.path.isdir(os.path.join(d, top))] for top in _SHIPPED}
    # Each directory's names, listed once: googleapis' 7,234 names lie in 700 directories, and looking for each
    # in each distribution's (14,000 stats) took 25 ms; a name listed there is then checked to be a file.
    listed: dict[tuple[str, str], frozenset[str] | None] = {}
    found = []
    for name in sorted(set(names)):
        top = name[: name.find("/") + 1]
        if top not in holding or name.startswith("google/protobuf/"):
            continue
        parent, _, leaf = name.rpartition("/")
        for directory in holding[top]:
            if (directory, parent) not in listed:
                listed[directory, parent] = _names_in(os.path.join(directory, parent))
            names_there = listed[directory, parent]
            if (names_there is None or leaf in names_there) and os.path.isfile(os.path.join(directory, name)):
                found.append((name, Path(directory) / name))
                break
    return found


def _names_in(directory: str) -> frozenset[str] | None:
    """The names in `directory` (empty where it is missing); None where it cannot be listed but may be
    entered (mode 0711): each name is then looked for there."""
    try:
        return frozenset(os.listdir(directory))
    except PermissionError:
        return None
    except OSError:
        return frozenset()


def _names_below(proto_root: Path, files: Iterable[str]) -> list[str]:
    """The names, relative to `proto_root`, of those of `files` below it."""
    prefix = _prefix(proto_root)
    names = []
    for path in files:
        if prefix and path.startswith(prefix):
            names.append(path[len(prefix) :].replace(os.sep, "/"))
            continue
        try:
            names.append(Path(path).relative_to(proto_root).as_posix())
        except ValueError:
            continue
    return names


def _prefix(directory: Path) -> str:
    """What the paths of files below `directory` start with, as `walk` joins them ("" for the working
    directory, which `Path` spells without a prefix)."""
    text = os.fspath(directory)
    return "" if text == "." else os.path.join(text, "")


def _sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def installed_read(root: Path, table: dict[str, Any]) -> list[Path]:
    """The installed files the digest reads beside the project's protos (`installed_counterparts`), and the
    metadata of the distributions of `installed`, which an upgrade replaces."""
    roots = _proto_roots(root, table)
    files = [path for r in roots for path in _strings_below(r, ".proto")]
    found = [path for _, path in installed_counterparts([n for r in roots for n in _names_below(r, files)], root)]
    if not table.get("installed"):
        return found  # without importing importlib.metadata: ~20 ms of every run a proto change starts
    import importlib.metadata  # not at the top: see `_provider_versions`

    for entry in table.get("installed", []):
        try:
            distribution = importlib.metadata.distribution(str(entry).partition(">=")[0])
        except importlib.metadata.PackageNotFoundError:
            continue
        metadata = [f for f in distribution.files or () if str(f).endswith(".dist-info/METADATA")]
        found += [Path(str(distribution.locate_file(f))) for f in metadata]
    return found


def directories_read(root: Path, table: dict[str, Any]) -> list[Path]:
    """The directories whose files the digest reads, existing or not: the proto roots (those a listed proto
    outside them implies too), the templates."""
    implied, _ = _outside_roots(root, table)
    directories = [*_proto_roots(root, table), *implied, builtin_templates(), _custom_templates(root, table)]
    return [d for d in directories if d is not None]


def walk(directory: Path) -> list[tuple[str, list[str]]]:
    """Each directory below `directory` (itself first) with the names of its files, in a stable order,
    following links as protoc's and Jinja's file lookups do. Each directory is entered once, under the first
    name met (a link back up the tree, `protos/loop -> .`, or a second link to one directory is not entered
    again: the walk stays as long as the tree), and scaffold's own `.scaffold/` never. Nothing for a
    directory that does not exist."""
    found: list[tuple[str, list[str]]] = []
    seen: set[tuple[int, int]] = set()
    pending = [str(directory)]
    while pending:
        path = pending.pop()
        try:
            status = os.stat(path)
            if (status.st_dev, status.st_ino) in seen:
                continue
            seen.add((status.st_dev, status.st_ino))
            entries = sorted(os.scandir(path), key=lambda entry: entry.name)
        except OSError:
            continue
        files, subdirectories = [], []
        for entry in entries:
            try:
                if entry.is_dir():
                    subdirectories.append(entry.name)
                elif entry.is_file():
                    files.append(entry.name)
            except OSError:
                continue
        found.append((path, files))
        pending += [_child(path, d) for d in reversed(subdirectories) if d != ".scaffold"]
    return found


def files_below(directory: Path, suffix: str = "") -> list[Path]:
    """Every file below `directory` whose name ends in `suffix`, links followed (see `walk`)."""
    return [Path(path) for path in _strings_below(directory, suffix)]


def _strings_below(directory: Path, suffix: str) -> list[str]:
    return [_child(parent, n) for parent, names in walk(directory) for n in names if n.endswith(suffix)]


def _child(directory: str, name: str) -> str:
    """`name` in `directory`, spelled as `Path` spells it (`x`, not `./x`): files are told apart by these strings."""
    return name if directory == "." else os.path.join(directory, name)


def _proto_roots(root: Path, table: dict[str, Any]) -> list[Path]:
    """The proto roots, but one that holds the whole project (`"/"`), which the config refuses: walked
    with its links followed, that is the whole file system, before the full pipeline says what is wrong."""
    project = os.path.realpath(root) + os.sep
    roots = [root / p for p in table.get("proto_paths", ["protos"]) if isinstance(p, str)]
    return [r for r in roots if not project.startswith(os.path.join(os.path.realpath(r), ""))]


def _outside_roots(root: Path, table: dict[str, Any]) -> tuple[list[Path], list[Path]]:
    """What protoc also searches and reads for the entries of `protos` that lie under no proto root: the
    directory of each such file (and each such directory, or a glob's fixed part), and the files named."""
    roots = [os.path.realpath(r) + os.sep for r in _proto_roots(root, table)]
    implied: dict[Path, None] = {}
    listed: dict[Path, None] = {}
    for entry in table.get("protos", []):
        if not isinstance(entry, str):
            continue
        fixed = entry.split("*")[0].split("?")[0].split("[")[0]
        path = root / (fixed.rpartition("/")[0] if fixed != entry else entry)
        if any((os.path.realpath(path) + os.sep).startswith(r) for r in roots):
            continue
        if fixed != entry or path.is_dir():
            implied[path] = None
        else:
            implied[path.parent] = None
            listed[path] = None
    return list(implied), list(listed)


def relative(path: str, root: Path) -> str:
    """`path` (a string, as `walk` joins them) relative to `root`, `/`-separated."""
    prefix = _prefix(root)
    if prefix and path.startswith(prefix):
        return path[len(prefix) :].replace(os.sep, "/")
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:  # outside the project: a listed proto, an installed one
        return Path(os.path.relpath(path, root)).as_posix()


def _custom_templates(root: Path, table: dict[str, Any]) -> Path | None:
    custom = table.get("templates")
    return Path(os.path.normpath(root / custom)) if isinstance(custom, str) else None


def digest_of(
    table: dict[str, Any], protos: Iterable[tuple[str, bytes]], custom: Path | None = None, root: Path | None = None
) -> str:
    """The same digest from contents in memory: `protos` are (path relative to the project, bytes);
    `custom` is the directory of the user's own templates, if any; `root` the project's directory to be."""
    protos = list(protos)
    hashed = [(path, hashlib.sha256(content).hexdigest()) for path, content in protos]
    prefixes = [f"{p.strip('/')}/" for p in table.get("proto_paths", ["protos"]) if isinstance(p, str)]
    copies = {path[len(p) :]: sha256 for path, sha256 in hashed for p in prefixes if path.startswith(p)}
    installed = [*_differing(copies, root if root is not None else Path.cwd()), *_provider_versions(table)]
    return _digest_of_hashes(table, hashed, custom, Hashes(), installed)


def _digest_of_hashes(
    table: dict[str, Any],
    protos: Iterable[tuple[str, str]],
    custom: Path | None,
    hashes: Hashes,
    installed: Iterable[tuple[str, str]] = (),
) -> str:
    generating = {key: value for key, value in table.items() if key != "breaking"}
    result = hashlib.sha256(json.dumps([__version__, generating], sort_keys=True).encode())
    named = []
    for kind, directory in (("template", builtin_templates()), ("custom", custom)):
        if directory is not None:
            files = sorted(files_below(directory))
            named += [(f"{kind}:{p.relative_to(directory).as_posix()}", hashes.sha256(p)) for p in files]
    for name, sha256 in [*((f"proto:{path}", sha256) for path, sha256 in sorted(protos)), *named]:
        result.update(name.encode() + b"\0" + bytes.fromhex(sha256))
    for name, sha256 in sorted(installed):  # absent while every copy is the installed file, or none is installed
        result.update(f"installed:{name}".encode() + b"\0" + sha256.encode())
    return result.hexdigest()
