"""Stage: classify every file of a regeneration before anything is written.

Each file is one of: create, identical, update, merge, conflict, orphan (no
longer rendered, kept), remove (no longer generated and untouched: deleted),
or kept (a user file scaffold leaves alone, e.g. one the user deleted). `gen --dry-run`, `diff`
and `check` are views of the same plan; `gen` writes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from scaffold.generate import OutputFile
from scaffold.merge import merge
from scaffold.state import State, sha256

BACKUP_SUFFIX = ".mine"
WRITING = frozenset({"create", "update", "merge", "conflict", "remove"})


@dataclass(frozen=True)
class FilePlan:
    path: str
    action: str
    owner: str
    content: bytes | None = None
    """What the file will hold; None when it is removed or left as it is."""
    current: bytes | None = None
    note: str = ""

    @property
    def writes(self) -> bool:
        return self.action in WRITING


@dataclass(frozen=True)
class Plan:
    files: tuple[FilePlan, ...]
    state: dict[str, bytes]
    backups: dict[str, bytes]

    @property
    def changed(self) -> tuple[FilePlan, ...]:
        return tuple(f for f in self.files if f.action != "identical")

    @property
    def conflicts(self) -> tuple[FilePlan, ...]:
        return tuple(f for f in self.files if f.action == "conflict")

    def writes(self, root: Path) -> dict[str, bytes | None]:
        """Path -> new bytes (None: delete) for everything this plan changes, state included."""
        changes: dict[str, bytes | None] = {f.path: f.content for f in self.files if f.writes}
        changes.update(self.backups)
        for path, content in self.state.items():
            if read_file(root / path) != content:
                changes[path] = content
        for path in _stale_state(root, self.state):
            changes[path] = None
        return changes


def build(
    root: Path,
    files: Mapping[str, OutputFile],
    state: State | None,
    new_state: dict[str, bytes],
    recreate: frozenset[str] = frozenset(),
) -> Plan:
    planned = []
    backups = {}
    for path, output in sorted(files.items()):
        current = read_file(root / path)
        record = state.files.get(path) if state else None
        if output.owner == "generated":
            planned.append(_generated(path, output.content, current, record.sha256 if record else None))
            if planned[-1].note and current is not None:
                backups[path + BACKUP_SUFFIX] = current
        else:
            base = state.base.get(path) if state else None
            planned.append(_user(path, output.content, current, base, record is not None and path not in recreate))
    for path, record in sorted(state.files.items() if state else ()):
        if path not in files:
            planned.append(_orphan(path, record.owner, record.sha256, read_file(root / path)))
    return Plan(tuple(planned), new_state, backups)


def _generated(path: str, new: bytes, current: bytes | None, recorded: str | None) -> FilePlan:
    if current is None:
        return FilePlan(path, "create", "generated", new)
    if current == new:
        return FilePlan(path, "identical", "generated", new, current)
    note = ""
    if recorded is not None and sha256(current) != recorded:
        note = f"edited by hand; your copy is kept as {PurePosixPath(path).name}{BACKUP_SUFFIX}"
    return FilePlan(path, "update", "generated", new, current, note)


def _user(path: str, new: bytes, current: bytes | None, base: bytes | None, rendered_before: bool) -> FilePlan:
    if current is None:
        if rendered_before:
            return FilePlan(
                path, "kept", "user", note=f"you deleted it; `scaffold gen --recreate {path}` brings it back"
            )
        return FilePlan(path, "create", "user", new)
    if current == new or base == new:
        return FilePlan(path, "identical", "user", current, current)
    if base is None:
        return FilePlan(
            path, "kept", "user", current=current, note="exists but scaffold has no record of it; left as is"
        )
    if current == base:
        return FilePlan(path, "update", "user", new, current)
    try:
        merged = merge(base, current, new)
    except UnicodeDecodeError:
        return FilePlan(path, "kept", "user", current=current, note="not UTF-8 text; cannot merge, left as is")
    if merged.conflicts:
        noun = "conflict" if merged.conflicts == 1 else "conflicts"
        return FilePlan(path, "conflict", "user", merged.content, current, f"{merged.conflicts} {noun} to resolve")
    return FilePlan(path, "merge", "user", merged.content, current)


def _orphan(path: str, owner: str, recorded: str, current: bytes | None) -> FilePlan:
    if current is None:
        return FilePlan(path, "identical", owner)
    if owner == "generated" and sha256(current) == recorded:
        return FilePlan(path, "remove", owner, None, current, "no longer generated")
    reason = "edited by hand" if owner == "generated" else "yours"
    return FilePlan(path, "orphan", owner, current=current, note=f"no longer generated; kept because it is {reason}")


def _stale_state(root: Path, state: Mapping[str, bytes]) -> list[str]:
    base = root / ".scaffold" / "base"
    if not base.is_dir():
        return []
    present = (p.relative_to(root).as_posix() for p in base.rglob("*") if p.is_file())
    return sorted(p for p in present if p not in state)


def read_file(path: Path) -> bytes | None:
    """The file's bytes, or None where there is no file."""
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
