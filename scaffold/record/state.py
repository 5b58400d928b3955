"""scaffold's own record of a project, under `.scaffold/`.

The manifest holds, for every file scaffold renders, its owner and the hash
of what was rendered; the RPCs the protos had; and the services the
servicer module was rendered from (orphans included). `base/` holds the
pristine last render of every user-owned file: the base of the next 3-way
merge. All of it is written in the same transaction as the project's files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msgspec import Struct

from scaffold import __version__
from scaffold.core import paths
from scaffold.core.errors import fail
from scaffold.core.imports import Import
from scaffold.core.model import MessageRef, Owner, Rpc, Service
from scaffold.core.records import field_names
from scaffold.layout import BASE_DIR, MANIFEST
from scaffold.record.bases import Bases
from scaffold.record.fileops import write_atomically
from scaffold.record.hashes import Hashes
from scaffold.record.written import Lines


class FileRecord(Struct, frozen=True):
    owner: Owner
    sha256: str | None
    """Of the render (generated) or of the merge base (user; None: it has none)."""


# A dataclass, not a Struct (`scaffold.core.records`): equality leaves out the manifest's text as read
# (`compare=False`), which a Struct cannot say.
@dataclass(frozen=True)
class State:
    files: dict[str, FileRecord]
    rpcs: dict[str, dict[str, str]]
    servicer: tuple[Service, ...]
    base: Mapping[str, bytes] = field(default_factory=dict)
    layout: str = "single"
    """The layout the user's files were last rendered in; a manifest without one is a single-module project's."""
    gone: tuple[str, ...] = ()
    """What scaffold took away (a module, `path::name`) that the user's code still read (`scaffold.generation.gone`)."""
    root_package: str = ""
    """The per-service trees' root package they were last rendered with (config `root_package`)."""
    text: str = field(default="", repr=False, compare=False)
    """The manifest as read: its lines are written again where their entries are (`scaffold.record.written`)."""


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def read(root: Path, hashes: Hashes | None = None) -> State | None:
    """The state of the project at `root`, or None for a project scaffold has no record of; its merge bases
    are read when asked for (`scaffold.record.bases`, with `hashes`).

    A hand-edited or foreign manifest stops the run with one line at the entry that is wrong, never a
    traceback, and never names a file outside the project or one file by two names (`a//b`)."""
    path = root / MANIFEST
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise fail(
            str(path), f"not JSON ({error.msg}); restore it from version control", error.lineno, error.colno
        ) from None
    except (OSError, ValueError) as error:
        raise fail(str(path), f"unreadable state ({error}); restore it from version control", 1, 1) from None
    try:
        return dataclasses.replace(_state(data, root, hashes), text=text)
    except _Malformed as error:
        line, col = _located(text, error.key)
        raise fail(str(path), f"{error.message}; restore it from version control", line, col) from None
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        message = f"unreadable state ({type(error).__name__}: {error}); restore it from version control"
        raise fail(str(path), message, 1, 1) from None


class _Malformed(Exception):
    """A manifest entry that is not what `render` writes: `key` is the JSON key where it stands."""

    def __init__(self, key: str | None, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def _state(data: Any, root: Path, hashes: Hashes | None) -> State:
    if not isinstance(data, dict):
        raise _Malformed(None, "not a JSON object of scaffold's record")
    if not isinstance(data.get("files"), dict):
        raise _Malformed("files", "files is not a table of paths")
    wrong = paths.first_recorded_problem(data["files"])
    if wrong is not None:
        raise _Malformed(str(wrong[0]), f"file {wrong[0]!r} {wrong[1]}")
    files = {p: _file_record(p, entry) for p, entry in data["files"].items()}
    rpcs = data.get("rpcs", {})
    if not isinstance(rpcs, dict) or not all(
        isinstance(v, dict) and all(isinstance(s, str) for s in v.values()) for v in rpcs.values()
    ):
        raise _Malformed("rpcs", "rpcs is not a table of services to RPCs")
    try:
        servicer = tuple(service_from_record(record) for record in data.get("servicer", []))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise _Malformed(
            "servicer", f"servicer holds a record of the wrong shape ({type(error).__name__}: {error})"
        ) from None
    layout = data.get("layout", "single")
    if layout not in ("single", "per-service"):
        raise _Malformed("layout", f"layout {layout!r} is not one scaffold writes")
    gone = data.get("gone", [])
    if not isinstance(gone, list) or not all(isinstance(e, str) and _taken_away_entry(e) for e in gone):
        raise _Malformed("gone", "gone is not a list of paths (or path::name) in the project")
    root_package = data.get("root_package", "")
    if not isinstance(root_package, str) or not all(
        part.isidentifier() for part in root_package.split(".") if root_package
    ):
        raise _Malformed("root_package", f"root_package {root_package!r} is not a proto package name")
    base = Bases(root / BASE_DIR, [p for p, record in files.items() if record.owner == "user"], hashes)
    return State(files, rpcs, servicer, base, layout, tuple(gone), root_package)


GONE_SEPARATOR = "::"
"""Between the path and the name of a top-level name taken away (`scaffold.generation.gone`)."""


def _taken_away_entry(entry: str) -> bool:
    """A module's path, or `path::name`, the path as scaffold records paths."""
    path, separator, name = entry.partition(GONE_SEPARATOR)
    return paths.recorded_problem(path) is None and (not separator or name.isidentifier())


def _file_record(path: str, entry: Any) -> FileRecord:
    """The record of one file (its path checked already, with every other, by `paths.first_recorded_problem`)."""
    if (
        not isinstance(entry, dict)
        or entry.get("owner") not in ("generated", "user")
        or not isinstance(entry.get("sha256"), (str, type(None)))
    ):
        raise _Malformed(path, f"file {path!r} has an entry of the wrong shape (expected owner and sha256)")
    return FileRecord(entry["owner"], entry["sha256"])


def _located(text: str, key: str | None) -> tuple[int, int]:
    """The line and column of `key` as a JSON key in `text` (as `render` writes it), else 1:1."""
    at = -1 if key is None else text.find(f"{json.dumps(key)}:")
    if at < 0:
        return 1, 1
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


_GENERATOR_MARKS = (
    b"# Generated by the protocol buffer compiler.  DO NOT EDIT!",
    b"# Generated by the gRPC Python protocol compiler plugin. DO NOT EDIT!",
    b"scaffold rewrites this package on every `scaffold gen`",
    b"scaffold rewrites this module on every `scaffold gen`",
    b"scaffold writes this file on every `scaffold gen`",
)
_PROTOC_STUB = b"from google.protobuf import descriptor as _descriptor\n"
"""The first line of every `_pb2.pyi` protoc writes (it carries no mark)."""


def made_by_a_generator(path: str, content: bytes) -> bool:
    """Whether `content`, found at a path scaffold generates but has no record of (`.scaffold/` lost), is a
    generator's output: protoc's or grpc's module (marked DO NOT EDIT), protoc's stub, or one of scaffold's
    own generated modules (marked too). Such a file is taken back as it is regenerated, not kept as the
    user's `.mine`: nobody writes a module that says it is rewritten on every run."""
    head = content[:1024]
    if path.endswith("_pb2.pyi") and head.startswith(_PROTOC_STUB):
        return True
    return any(mark in head for mark in _GENERATOR_MARKS)


def rpc_summary(services: Iterable[Service]) -> dict[str, dict[str, str]]:
    """Service -> RPC -> proto signature, to tell later what was added, removed or reshaped."""
    return {s.full_name: {r.name: r.proto_signature for r in s.rpcs} for s in services}


class _ByHash(bytes):
    """The type of `BY_HASH`: bytes, so that it stands where a file's content does, and one object only."""


BY_HASH = _ByHash()
"""Recorded as a generated file's content whose hash the plan took (`digests`) without reading the file's
bytes (`scaffold.generation.plan`): protoc's reused outputs. Never hashed itself."""


def render(
    files: Mapping[str, tuple[str, bytes | None]],
    rpcs: dict[str, dict[str, str]],
    servicer: Iterable[Service],
    inputs: str | None = None,
    layout: str = "single",
    digests: Mapping[str, str] = {},
    gone: Iterable[str] = (),
    root_package: str = "",
    written: Lines | None = None,
    kept_for_code: bool = False,
) -> dict[str, bytes]:
    """The state files for `files` (path -> (owner, what it is recorded as)); `digests` holds the hashes
    of those contents that were taken already (hashing googleapis' 43,000 files twice took half a second).

    A generated file is recorded as its render; a user file as its merge base,
    or None where it has none (a file scaffold never wrote, that it keeps).

    `inputs` is the digest of what the generation read (see `scaffold.generation.inputs`),
    which lets the no-op path answer without generating; None when unknown. `gone` lists what
    scaffold took away that the user's code still reads (`scaffold.generation.gone`). `written` holds
    the lines of the manifest this version wrote last, written again where their entries are the same.
    `kept_for_code`: the servicer holds what the protos alone would not render (`scaffold.generation.reconcile`:
    a dropped service's class, a removed RPC's method, an old signature or docstring kept for the user's
    code), which each run judges again from that code.
    """
    reused = written.files if written else {}
    file_lines = []
    for p, (owner, content) in sorted(files.items()):
        entry = (
            owner,
            None if content is None else digests[p] if content is BY_HASH else digests.get(p) or sha256(content),
        )
        kept = reused.get(p)
        file_lines.append(
            kept[1] if kept is not None and kept[0] == entry else f"  {json.dumps(p)}: {_file_entry(*entry)}"
        )
    known = written.servicer if written else {}
    manifest: dict[str, Any] = {
        "scaffold": __version__,
        "inputs": inputs,
        "files": _Section("{}", file_lines),
        "rpcs": rpcs,
        "servicer": _Section("[]", [_kept(known, s) or f"  {json.dumps(service_record(s))}" for s in servicer]),
    }
    if layout != "single":  # absent means single: the manifests of projects made before layouts stay as they were
        manifest["layout"] = layout
    if root_package and layout != "single":  # absent: every package's whole name is mirrored
        manifest["root_package"] = root_package
    if gone:  # absent when no code reads what was taken away: other manifests stay as they were
        manifest["gone"] = sorted(gone)
    if kept_for_code:  # absent otherwise, as `gone`
        manifest["kept_for_code"] = True
    # Key order is construction order (sorted paths, declaration-ordered records): deterministic as is.
    # `inputs` stays on its own line near the top: the no-op check reads it there (`scaffold.generation.uptodate`).
    state = {MANIFEST: _text(manifest).encode()}
    for p, (owner, content) in files.items():
        if owner == "user" and content is not None:
            state[f"{BASE_DIR}/{p}"] = content
    return state


def add_gone(root: Path, entries: Iterable[str]) -> None:
    """Record `entries` as taken away that code still reads (`gone`), beside what the manifest holds: the
    runs after this one look for them until nothing reads them, and `check` is not up to date till then."""
    path = root / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["gone"] = sorted({*manifest.get("gone", []), *entries})
    write_atomically(path, _text(manifest).encode())


def _text(manifest: dict[str, Any]) -> str:
    """The manifest as JSON with one line per file, per service's RPCs and per servicer record: each
    change is one line of a diff, and each line comes from json's C encoder (an indented dump, which
    takes the pure-Python one, spent 4 s on googleapis' manifest)."""
    entries = []
    for key, value in manifest.items():
        if isinstance(value, _Section):
            entries.append(value.text(key))
        elif key == "files" and value:
            inner = ",\n".join(f"  {json.dumps(k)}: {_file_entry(v['owner'], v['sha256'])}" for k, v in value.items())
            entries.append(f" {json.dumps(key)}: {{\n{inner}\n }}")
        elif isinstance(value, dict) and value:
            inner = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in value.items())
            entries.append(f" {json.dumps(key)}: {{\n{inner}\n }}")
        elif isinstance(value, list) and value:
            inner = ",\n".join(f"  {json.dumps(v)}" for v in value)
            entries.append(f" {json.dumps(key)}: [\n{inner}\n ]")
        else:
            entries.append(f" {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(entries) + "\n}\n"


def _kept(known: Mapping[Service, str], service: Service) -> str | None:
    """The line `known` holds for `service`; None for none, or for a service that cannot be looked up (a
    record read from a hand-edited manifest may hold a list where a name goes)."""
    if not known:
        return None
    try:
        return known.get(service)
    except TypeError:
        return None


class _Section(Struct, frozen=True):
    """A list or table of the manifest with its entries written already, one per line (`_text`)."""

    brackets: str
    lines: list[str]

    def text(self, key: str) -> str:
        opening, closing = self.brackets[0], self.brackets[1]
        inner = ",\n".join(self.lines)
        return (
            f" {json.dumps(key)}: {opening}\n{inner}\n {closing}"
            if self.lines
            else f" {json.dumps(key)}: {self.brackets}"
        )


def _file_entry(owner: str | None, digest: str | None) -> str:
    """`json.dumps` of a file's entry, byte for byte, by formatting (43,000 encoder calls were a third of
    writing googleapis' manifest): an owner is one of two words, a hash is hex or null."""
    assert owner in ("generated", "user") and (digest is None or digest.isalnum())
    encoded = "null" if digest is None else f'"{digest}"'
    return f'{{"owner": "{owner}", "sha256": {encoded}}}'


def service_record(service: Service) -> dict[str, Any]:
    """`service` as plain JSON data, so the manifest can remember what the servicer was rendered from.

    Built field by field (in declaration order, so the JSON is deterministic)
    rather than by `dataclasses.asdict`, whose deep copies cost more than the
    rest of writing the manifest of a large tree; each class's fields are
    looked up once (googleapis: 1,700 services, 300,000 values).
    """
    record: dict[str, Any] = _flat(service)
    for name in _ONLY_WHEN_SET:  # a service that is not split is recorded as before there were parts
        if not record[name]:
            del record[name]
    return record


_ONLY_WHEN_SET = ("part", "parts")
"""Fields of `Service` recorded only when they hold something (`scaffold.core.parts`)."""


def _flat(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is bool or kind is int or value is None:
        return value
    if kind is tuple:
        return [_flat(item) for item in value]
    names = field_names(kind)
    return {name: _flat(getattr(value, name)) for name in names} if names is not None else value


def service_from_record(record: dict[str, Any]) -> Service:
    def ref(data: dict[str, Any]) -> MessageRef:
        return MessageRef(data["full_name"], Import(**data["module"]), data["name"], data.get("required", ""))

    rpcs = tuple(
        Rpc(**{**rpc, "request": ref(rpc["request"]), "response": ref(rpc["response"])}) for rpc in record["rpcs"]
    )
    parts = tuple((str(name), str(cls)) for name, cls in record.get("parts", ()))
    return Service(**{**record, "grpc_import": Import(**record["grpc_import"]), "rpcs": rpcs, "parts": parts})
