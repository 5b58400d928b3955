"""Stage: classify every file of a regeneration before anything is written.

Each file is one of: create, identical, update, merge, conflict, orphan (no
longer rendered, kept), remove (no longer generated and untouched: deleted),
kept (a user file scaffold leaves alone, e.g. one the user deleted), or
unmerged (a user file that should change but cannot be merged now, e.g. not
UTF-8: left as it is, and stale until it can be). `gen --dry-run`, `diff`
and `check` are views of the same plan; `gen` writes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
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


# What a user file's content derives from the new render for: the render becomes its merge base.
_DERIVED = frozenset({"create", "identical", "update", "merge", "conflict"})


@dataclass(frozen=True)
class Plan:
    files: tuple[FilePlan, ...]
    state: dict[str, bytes]
    backups: dict[str, bytes]

    @property
    def changed(self) -> tuple[FilePlan, ...]:
        return tuple(f for f in self.files if f.action != "identical")

    @property
    def stale(self) -> tuple[FilePlan, ...]:
        """What `check` fails on: every file the plan writes, and every one it should but cannot."""
        return tuple(f for f in self.files if f.writes or f.action == "unmerged")

    @property
    def conflicts(self) -> tuple[FilePlan, ...]:
        return tuple(f for f in self.files if f.action == "conflict")

    def writes(self, root: Path) -> dict[str, bytes | None]:
        """Path -> new bytes (None: delete) for everything this plan changes, state included."""
        return self.transaction(root)[0]

    def transaction(self, root: Path) -> tuple[dict[str, bytes | None], dict[str, bytes | None]]:
        """`writes`, and what the plan read at each of those paths (None: no file), which the
        write stage checks again right before each swap: a file saved since is never overwritten."""
        changes: dict[str, bytes | None] = {f.path: f.content for f in self.files if f.writes}
        expected: dict[str, bytes | None] = {f.path: f.current for f in self.files if f.writes}
        for path, content in self.backups.items():
            changes[path], expected[path] = content, None
        for path, content in self.state.items():
            current = read_file(root / path)
            if current != content:
                changes[path], expected[path] = content, current
        for path in _stale_state(root, self.state):
            changes[path], expected[path] = None, read_file(root / path)
        return changes, expected


def build(
    root: Path,
    files: Mapping[str, OutputFile],
    state: State | None,
    record: Callable[[Mapping[str, tuple[str, bytes | None]], bool], dict[str, bytes]],
    recreate: frozenset[str] = frozenset(),
    bases: Mapping[str, bytes] | None = None,
) -> Plan:
    """Classify every file; `record` renders the state files from what each file is recorded as,
    and whether the project is settled (no file left unmerged: the no-op path may vouch for it).

    `bases` are the merge bases of user files (by default the state's); a
    user file is recorded with the new render as its base only where its new
    content derives from that render, so a file left as it is never claims
    to hold what it does not (the next merge would then lose the difference).
    """
    bases = state.base if bases is None and state else bases or {}
    planned = []
    backups: dict[str, bytes] = {}
    recorded: dict[str, tuple[str, bytes | None]] = {}
    for path, output in sorted(files.items()):
        current = read_file(root / path)
        entry = state.files.get(path) if state else None
        if output.owner == "generated":
            planned.append(_generated(path, output.content, current, entry.sha256 if entry else None))
            if planned[-1].note and current is not None:
                backup, fresh = _backup_name(root, path, current, backups)
                if fresh:
                    backups[backup] = current
                planned[-1] = replace(planned[-1], note=planned[-1].note.format(backup=PurePosixPath(backup).name))
            recorded[path] = ("generated", output.content)
        else:
            base = bases.get(path)
            planned.append(_user(path, output.content, current, base, entry is not None and path not in recreate))
            keep = output.content if planned[-1].action in _DERIVED else (state.base.get(path) if state else None)
            recorded[path] = ("user", keep)
    for path, entry in sorted(state.files.items() if state else ()):
        if path not in files:
            planned.append(_orphan(path, entry.owner, entry.sha256, read_file(root / path)))
    settled = not any(f.action == "unmerged" for f in planned)
    return Plan(tuple(planned), record(recorded, settled), backups)


def _backup_name(root: Path, path: str, current: bytes, taken: Mapping[str, bytes]) -> tuple[str, bool]:
    """Where `current` is kept: `x.py.mine`, else `x.py.mine.1`, ...; never over a backup that exists.
    The flag is False when a backup holding exactly `current` is there already."""
    number = 0
    while True:
        name = f"{path}{BACKUP_SUFFIX}" + (f".{number}" if number else "")
        existing = read_file(root / name)
        if existing == current:
            return name, False
        if existing is None and name not in taken and not (root / name).is_symlink() and not (root / name).exists():
            return name, True
        number += 1


def _generated(path: str, new: bytes, current: bytes | None, recorded: str | None) -> FilePlan:
    if current is None:
        return FilePlan(path, "create", "generated", new)
    if current == new:
        return FilePlan(path, "identical", "generated", new, current)
    note = ""
    if recorded is None:
        note = "not written by scaffold; your copy is kept as {backup}"
    elif sha256(current) != recorded:
        note = "edited by hand; your copy is kept as {backup}"
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
        return FilePlan(path, "unmerged", "user", current=current, note="not UTF-8 text; cannot merge, left as is")
    if merged.conflicts:
        noun = "conflict" if merged.conflicts == 1 else "conflicts"
        return FilePlan(path, "conflict", "user", merged.content, current, f"{merged.conflicts} {noun} to resolve")
    note = (
        f"kept {merged.kept} changed block{'s' if merged.kept != 1 else ''} of yours the new render drops"
        if merged.kept
        else ""
    )
    return FilePlan(path, "merge", "user", merged.content, current, note)


def _orphan(path: str, owner: str, recorded: str | None, current: bytes | None) -> FilePlan:
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
