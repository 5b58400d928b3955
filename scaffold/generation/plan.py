"""Stage: classify every file of a regeneration before anything is written.

Each file is one of: create, identical, update, merge, conflict, orphan (no
longer rendered, kept), remove (no longer generated and untouched: deleted),
kept (a user file scaffold leaves alone, e.g. one the user deleted), or
unmerged (a user file that should change but cannot be merged now, e.g. not
UTF-8: left as it is, and stale until it can be). `gen --dry-run`, `diff`
and `check` are views of the same plan; `gen` writes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Literal

import tomllib
from msgspec import Struct
from msgspec.structs import replace

from scaffold.core.errors import Diagnostic
from scaffold.core.model import Owner
from scaffold.core.text import lacks_a_class
from scaffold.generation import adopt
from scaffold.generation.bydefinition import by_definition
from scaffold.generation.generate import OutputFile
from scaffold.generation.gone import Findings
from scaffold.generation.merge import Merged, merge, whole, yours_of
from scaffold.generation.rebind import misplaced, rebound
from scaffold.generation.reconcile import without_deleted
from scaffold.layout import BACKUP_SUFFIX, BASE_DIR, CONFIG_FILE, TABLE
from scaffold.record.bases import sha256_of
from scaffold.record.disk import Disk
from scaffold.record.state import BY_HASH, State, made_by_a_generator, sha256

Action = Literal["create", "identical", "update", "merge", "conflict", "orphan", "remove", "kept", "unmerged"]
WRITING: frozenset[Action] = frozenset({"create", "update", "merge", "conflict", "remove"})


class FilePlan(Struct, frozen=True):
    path: str
    action: Action
    owner: Owner
    content: bytes | None = None
    """What the file will hold; None when it is removed or left as it is."""
    current: bytes | None = None
    note: str = ""

    @property
    def writes(self) -> bool:
        return self.action in WRITING


# What a user file's content derives from the new render for: the render becomes its merge base.
_DERIVED: frozenset[Action] = frozenset({"create", "identical", "update", "merge", "conflict"})


class Plan(Struct, frozen=True):
    files: tuple[FilePlan, ...]
    state: dict[str, bytes]
    backups: dict[str, bytes]
    transaction: dict[str, tuple[bytes | None, bytes | None]]
    """Path -> (what it will hold, what the plan read there), for every path the plan changes."""
    gone: tuple[Diagnostic, ...] = ()
    """Code of the user's that names a generated module no longer generated (`scaffold.generation.gone`): theirs to change."""
    arrivals: frozenset[str] = frozenset()
    """The paths the user's code moves into (a layout switch, a `root_package` move): swapped in first."""

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

    @property
    def writes(self) -> dict[str, bytes | None]:
        """Path -> new bytes (None: delete) for everything this plan changes, state included."""
        return {path: content for path, (content, _) in self.transaction.items()}

    @property
    def expected(self) -> dict[str, bytes | None]:
        """What the plan read at each path it writes (None: no file), which the write stage checks
        again right before each swap: a file saved since is never overwritten."""
        return {path: read for path, (_, read) in self.transaction.items()}


def build(
    disk: Disk,
    files: Mapping[str, OutputFile],
    state: State | None,
    record: Callable[
        [Mapping[str, tuple[str, bytes | None]], bool, Mapping[str, str], Sequence[str]], dict[str, bytes]
    ],
    recreate: frozenset[str] = frozenset(),
    bases: Mapping[str, bytes] | None = None,
    moved_in: Mapping[str, bytes] = {},
    left_behind: Mapping[str, bytes | None] = {},
    scan: Callable[[Sequence[FilePlan]], Findings] = lambda planned: Findings(),
    package: str = "",
    spent: frozenset[str] = frozenset(),
) -> Plan:
    """Classify every file; `record` renders the state files from what each file is recorded as,
    whether the project is settled (no file left unmerged, no code naming a gone module: the no-op
    path may vouch for it), the hashes of the recorded contents this classification took, and the
    gone modules still named (`scan` finds them in the planned tree).

    `bases` are the merge bases of user files (by default the state's); a
    user file is recorded with the new render as its base only where its new
    content derives from that render, so a file left as it is never claims
    to hold what it does not (the next merge would then lose the difference).

    A layout switch (`scaffold.generation.relayout`) gives `moved_in`, a new module's
    content as if the user's moved code had always been in it (merged like a
    file on disk, written as a new one), and `left_behind`, what stays of a
    module no longer rendered (None: nothing of the user's, removed), or of a
    path rendered again for another service (`root_package` moves one module
    away, another's comes: the render is written over what moves).
    `package` is the project's own: where an import a merge puts back goes. `spent` are modules no longer
    rendered that hold nothing of the user's although they differ from their base
    (`scaffold.generation.mergechecks.spent`): removed.
    """
    if bases is None:
        bases = state.base if state else {}
    taken_away = {path for path in (state.files if state else ()) if path.endswith(".py") and path not in files}

    def gone(module: str) -> bool:
        path = module.replace(".", "/")
        return f"{path}.py" in taken_away or f"{path}/__init__.py" in taken_away

    # A path the user's code moves away from that this run renders again (another service's module comes
    # where a `root_package` change moves one away): what is on disk is not what the render merges into.
    vacated = {path for path in left_behind if path in files and path not in moved_in}
    planned = []
    backups: dict[str, bytes] = {}
    recorded: dict[str, tuple[str, bytes | None]] = {}
    digests: dict[str, str] = {}
    as_rendered: set[str] = set()  # recorded as the render: its digest is of what is recorded
    for path in sorted(files):
        output = files[path]
        entry = state.files.get(path) if state and path not in vacated else None
        digests[path] = output.sha256 or sha256(output.content)
        untouched = (
            None
            if path in moved_in or path in recreate or path in vacated
            else _untouched(disk, path, output, bases, digests[path])
        )
        if untouched is not None:
            planned.append(untouched)
            # A generated file by its hash alone: protoc's reused outputs are not even read (`OutputFile`).
            recorded[path] = (output.owner, BY_HASH if output.owner == "generated" else output.content)
            as_rendered.add(path)
            continue
        if output.sha256:  # the file is read below: a kept hash unlike the disk's is not taken on trust
            digests[path] = sha256(output.content)
        current = moved_in[path] if path in moved_in else left_behind[path] if path in vacated else disk.read(path)
        if output.owner == "generated":
            planned.append(_generated(path, output.content, current, entry.sha256 if entry else None))
            if planned[-1].note and current is not None:
                backup, fresh = _backup_name(disk, path, current, backups)
                if fresh:
                    backups[backup] = current
                planned[-1] = replace(planned[-1], note=planned[-1].note.format(backup=PurePosixPath(backup).name))
            recorded[path] = ("generated", output.content)
            as_rendered.add(path)
        else:
            base = None if path in vacated else bases.get(path)
            planned.append(
                _user(path, output.content, current, base, entry is not None and path not in recreate, package, gone)
            )
            if path in vacated and planned[-1].writes and (there := disk.read(path)) is not None:
                # Written over what moves away (the transaction keeps the bytes on disk to roll back to).
                note = "its code moved with root_package; this run's module for the path is written here"
                planned[-1] = replace(planned[-1], action="update", current=there, note=note)
            if path in moved_in and (planned[-1].action == "identical" or planned[-1].content is None):
                # It still has to be written: as merged, or, where it could not merge (no record of it, not
                # UTF-8), as the user had it, which is what moves.
                action: Action = "create" if disk.read(path) is None else "update"
                merged = planned[-1].content is not None
                note = "your code moved here" + ("" if merged else " as it was, not merged")
                content = planned[-1].content if merged else current
                planned[-1] = replace(planned[-1], action=action, content=content, note=note)
            # A module of the user's scaffold had no record of, left as it is (`_unrecorded`), is recorded
            # with the render as its base, as the next run would rebuild it (`pipeline.merge_bases`): a
            # full `gen` then finds the record as `new` left it, where `check` already said up to date.
            unrecorded = planned[-1].action == "kept" and base is None and current is not None
            derived = planned[-1].action in _DERIVED or unrecorded
            keep = output.content if derived else (state.base.get(path) if state else None)
            recorded[path] = ("user", keep)
            if derived:
                as_rendered.add(path)
    for path, entry in sorted(state.files.items() if state else ()):
        if path in left_behind and path not in files:
            planned.append(_left_behind(path, left_behind[path], disk.read(path)))
        elif path in spent and path not in files and (current := disk.read(path)) is not None:
            note = "no longer generated; each of your edits to it is one scaffold's render makes too"
            planned.append(FilePlan(path, "remove", entry.owner, None, current, note))
        elif path not in files:
            planned.append(_orphan(path, entry.owner, entry.sha256, disk.read(path), _successor(path, files)))
    findings = scan(planned)
    settled = not any(f.action == "unmerged" for f in planned) and not findings.diagnostics
    taken = {path: digests[path] for path in as_rendered}
    new_state = record(recorded, settled, taken, findings.named)
    transaction = _transaction(disk, planned, backups, new_state, frozenset({*moved_in, *vacated}))
    return Plan(tuple(planned), new_state, backups, transaction, findings.diagnostics, frozenset(moved_in))


def _untouched(disk: Disk, path: str, output: OutputFile, bases: Mapping[str, bytes], rendered: str) -> FilePlan | None:
    """`identical`, decided from hashes alone: a generated file whose bytes are the render's (hash
    `rendered`), a user file whose merge base is the render (whatever the user made of it); None when
    deciding takes reading the file.

    On googleapis' 43,000 files a leaf change leaves all but a handful so: their status vouches for their
    hashes (`scaffold.record.hashes`), and none of them is read.
    """
    if output.owner == "generated":
        if disk.sha256(path) != rendered:
            return None
        return FilePlan(path, "identical", "generated")  # left as it is: its bytes are not needed
    if sha256_of(bases, path) != rendered or disk.sha256(path) is None:
        return None
    if disk.sha256(path) != rendered and lacks_a_class(disk.read(path) or b"", output.content):
        return None  # an edited servicer module may lack a class the project imports (`adopt.restored_classes`)
    return FilePlan(path, "identical", "user")  # the user's, whatever they are (read above only if edited)


def _transaction(
    disk: Disk, planned: list[FilePlan], backups: dict[str, bytes], new_state: dict[str, bytes], moved: frozenset[str]
) -> dict[str, tuple[bytes | None, bytes | None]]:
    changes: dict[str, tuple[bytes | None, bytes | None]] = {
        f.path: (f.content, disk.read(f.path) if f.path in moved else f.current) for f in planned if f.writes
    }
    changes |= {path: (content, None) for path, content in backups.items()}
    for path, content in new_state.items():
        if disk.sha256(path) != sha256(content):
            changes[path] = (content, disk.read(path))
    for path in disk.files_under(BASE_DIR):
        if path not in new_state:  # the base of a file scaffold no longer renders
            changes[path] = (None, disk.read(path))
    return changes


def _backup_name(disk: Disk, path: str, current: bytes, taken: Mapping[str, bytes]) -> tuple[str, bool]:
    """Where `current` is kept: `x.py.mine`, else `x.py.mine.1`, ...; never over a backup that exists.
    The flag is False when a backup holding exactly `current` is there already."""
    number = 0
    while True:
        name = f"{path}{BACKUP_SUFFIX}" + (f".{number}" if number else "")
        existing = disk.read(name)
        if existing == current:
            return name, False
        if existing is None and name not in taken and not disk.exists(name):
            return name, True
        number += 1


def _generated(path: str, new: bytes, current: bytes | None, recorded: str | None) -> FilePlan:
    if current is None:
        return FilePlan(path, "create", "generated", new)
    if current == new:
        return FilePlan(path, "identical", "generated", new, current)
    note = ""
    if recorded is None:
        if not made_by_a_generator(path, current):  # a generator's output (the record lost): taken back
            note = "not written by scaffold; your copy is kept as {backup}"
    elif sha256(current) != recorded:
        note = "edited by hand; your copy is kept as {backup}"
    return FilePlan(path, "update", "generated", new, current, note)


def _user(
    path: str,
    new: bytes,
    current: bytes | None,
    base: bytes | None,
    rendered_before: bool,
    package: str = "",
    gone: Callable[[str], bool] = lambda module: False,
) -> FilePlan:
    if current is None:
        if rendered_before:
            return FilePlan(
                path, "kept", "user", note=f"you deleted it; `scaffold gen --recreate {path}` brings it back"
            )
        return FilePlan(path, "create", "user", new)
    if current == new:
        return FilePlan(path, "identical", "user", current, current)
    if base == new:
        return _with_classes(path, current, current, new, package, "identical", "")
    if base is None:
        return _unrecorded(path, new, current, package)
    if current == base:
        return FilePlan(path, "update", "user", new, current)
    try:
        python = path.endswith(".py")
        merged = merge(without_deleted(base, current, new) if python else base, current, new, python)
        if path == CONFIG_FILE and (merged.conflicts or not _valid_toml(merged.content)):
            merged = merge(base, current, _with_table_of(new, current))
    except UnicodeDecodeError:
        return FilePlan(path, "unmerged", "user", current=current, note="not UTF-8 text; cannot merge, left as is")
    if path.endswith(".py") and merged.conflicts and _broke_around_conflicts(merged, new, current, package, gone):
        merged = _by_definition(base, current, new, package, gone)
    elif path.endswith(".py") and not merged.conflicts:
        merged = replace(merged, content=rebound(merged.content, new, current, package, gone))
        if misplaced(merged.content, new, current):
            merged = _by_definition(base, current, new, package, gone)
    if merged.conflicts:
        noun = "conflict" if merged.conflicts == 1 else "conflicts"
        return FilePlan(path, "conflict", "user", merged.content, current, f"{merged.conflicts} {noun} to resolve")
    note = (
        f"kept {merged.kept} changed block{'s' if merged.kept != 1 else ''} of yours the new render drops"
        if merged.kept
        else ""
    )
    # A merge that leaves the file as it is (what the render changed, the user had already) writes nothing:
    # only the record takes the render as the new base.
    action: Action = "identical" if merged.content == current and not note else "merge"
    return _with_classes(path, merged.content, current, new, package, action, note)


def _broke_around_conflicts(
    merged: Merged, new: bytes, current: bytes, package: str, gone: Callable[[str], bool]
) -> bool:
    """Whether a merge with conflicts broke code around them: judged as a clean merge is (its imports bound
    again, `rebound`), with each conflict resolved to the user's side."""
    return bool(misplaced(rebound(yours_of(merged.content), new, current, package, gone), new, current))


def _by_definition(base: bytes, current: bytes, new: bytes, package: str, gone: Callable[[str], bool]) -> Merged:
    """The merge by definitions, for a line merge that broke code neither side had broken; the whole file as
    one conflict where that merge cannot be made."""
    rewritten = by_definition(base, current, new, package)
    if rewritten is None:
        return whole(base, current, new)
    if rewritten[1]:
        return Merged(*rewritten)
    return Merged(rebound(rewritten[0], new, current, package, gone), 0)


def _with_classes(
    path: str, content: bytes, current: bytes, new: bytes, package: str, action: Action, note: str
) -> FilePlan:
    """The plan of `content` for a module of the user's, with the render's classes it lacks put back
    (`adopt.restored_classes`), said in the note."""
    restored = adopt.restored_classes(path, content, new, package)
    if restored is None:
        return FilePlan(path, action, "user", content, current, note)
    said = f"put back {', '.join(restored[1])}, which the project imports from it and it lacked"
    return FilePlan(path, "merge", "user", restored[0], current, f"{note}; {said}" if note else said)


def _unrecorded(path: str, new: bytes, current: bytes, package: str) -> FilePlan:
    """A file of the user's where scaffold renders one, with no record of it: a module gets what it lacks of
    the render (`scaffold.generation.adopt`), which the rest of the project imports from it."""
    adopted = adopt.adopted(path, current, new, package) if path.endswith(".py") else None
    if adopted is None:
        note = "exists but scaffold has no record of it; left as is" + (
            ", as it defines all scaffold's would" if path.endswith(".py") else ""
        )
        return FilePlan(path, "kept", "user", current=current, note=note)
    if isinstance(adopted, Diagnostic):  # the user's to mend: nothing of scaffold's is in it to be stale
        note = f"exists but scaffold has no record of it; left as is (line {adopted.line}: {adopted.message})"
        return FilePlan(path, "kept", "user", current=current, note=note)
    note = "scaffold had no record of it: your lines kept, what it lacked of scaffold's added"
    return FilePlan(path, "merge", "user", adopted, current, note)


def _left_behind(path: str, left: bytes | None, current: bytes | None) -> FilePlan:
    if current is None:
        return FilePlan(path, "identical", "user")
    if left is None:
        return FilePlan(path, "remove", "user", None, current, "its code moved to the new layout's modules")
    if left == current:
        return FilePlan(path, "orphan", "user", current=current, note="no longer generated; kept because it is yours")
    note = "its code moved to the new layout's modules; your other lines stay here"
    return FilePlan(path, "update", "user", left, current, note)


def _valid_toml(content: bytes) -> bool:
    try:
        tomllib.loads(content.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False
    return True


def _with_table_of(rendered: bytes, current: bytes) -> bytes:
    """`rendered` with the `[tool.scaffold]` table as `current` has it.

    The render's table is a projection of the very table the config was read
    from, so where merging the two breaks the TOML (a key the user added at
    the top of the table that the render adds at its end: twice), or where the
    two conflict (a key the user moved that the render rewrites in place), the
    user's table is the one to keep: regenerating from it gives the same config.
    """
    mine = _table(current.decode("utf-8"))
    text = rendered.decode("utf-8")
    theirs = _table(text)
    if mine is None or theirs is None:
        return rendered
    return text.replace(theirs, mine, 1).encode("utf-8")


def _table(text: str) -> str | None:
    start = text.find(f"\n[{TABLE}]\n")
    if start < 0:
        return None
    end = text.find("\n[", start + 1)
    return text[start : end if end >= 0 else len(text)]


def _orphan(path: str, owner: Owner, recorded: str | None, current: bytes | None, successor: str | None) -> FilePlan:
    if current is None:
        return FilePlan(path, "identical", owner)
    if sha256(current) == recorded:  # exactly what scaffold wrote (for a user file: its merge base)
        return FilePlan(path, "remove", owner, None, current, "no longer generated")
    reason = "edited by hand" if owner == "generated" else "yours"
    note = f"no longer generated; kept because it is {reason}"
    if successor is not None:
        name = PurePosixPath(path).name
        note += (
            f"; nothing imports it now: {successor} does its job ({_EXTENSION_POINTS.get(name, 'see its docstring')})"
        )
    return FilePlan(path, "orphan", owner, current=current, note=note)


_EXTENSION_POINTS = {
    "interceptors.py": "your interceptors go in INTERCEPTORS of server.py",
    "tls.py": "server.py's --tls-* flags, the client's --tls, --ca, --cert, --key",
    "metrics.py": "[tool.scaffold] metrics, --metrics-port",
}
"""What replaces each module a project made before scaffold's runtime (`GENERATED/runtime/`) held itself:
an edited one stays the user's, its note says where that job is done now and how to change it."""


def _successor(path: str, files: Mapping[str, OutputFile]) -> str | None:
    """The module of scaffold's runtime that took over the job of the user's module `path`, if one did."""
    directory, _, name = path.rpartition("/")
    taken_over = (p for p, f in files.items() if f.owner == "generated" and p.endswith(f"/runtime/{name}"))
    return next((p for p in sorted(taken_over) if p.startswith(f"{directory}/")), None)
