"""Paths that come from outside scaffold: checked before anything is written or removed by them.

A git tree (`breaking --against REV`), a hand-edited manifest or a crafted
cache can name any string. Joined to a directory, `..`, an absolute path or
an alias (`a//b`, `a/./b`) reaches a file other than the one it seems to
name, and a NUL byte makes the system call raise. So every such path must
be in the one form scaffold itself writes: relative, `/`-separated, each
component a plain name.
"""

from __future__ import annotations

from collections.abc import Iterable

from scaffold.layout import STATE_DIR


def problem(path: object) -> str | None:
    """Why `path` is not a plain relative path in normal form (None: it is one)."""
    if isinstance(path, str) and _plain(path):
        return None  # the common case, answered without splitting: a manifest names 43,000 paths
    if not isinstance(path, str):
        return "is not a path"
    if not path:
        return "is an empty path"
    if "\0" in path:
        return "holds a NUL byte"
    if "\\" in path:
        return "holds a backslash (paths are separated by /)"
    if path.startswith("/"):
        return "is an absolute path; expected one relative to the project"
    for part in path.split("/"):
        if part == "..":
            return "has a `..` component: it would lead outside"
        if part in ("", "."):
            return "is not in normal form (an empty or `.` component); expected a path like a/b"
    return None


def recorded_problem(path: object) -> str | None:
    """Why `path` cannot name a file in scaffold's manifest (None: it can): `problem`, or a path inside
    scaffold's own record, which no manifest entry may name (deleting it as an orphan would lose the record)."""
    found = problem(path)
    if found is None and (path == STATE_DIR or str(path).startswith(f"{STATE_DIR}/")):
        return "is scaffold's own record, not a file it renders"
    return found


def first_recorded_problem(found: Iterable[object]) -> tuple[object, str] | None:
    """The first of `found` that cannot name a file in the manifest, with why; None when all can. One call
    for a whole manifest: its 43,000 paths are checked in one loop, not one call each."""
    for path in found:
        if not (isinstance(path, str) and _plain(path)):  # a plain path never starts with `.scaffold/`
            why = recorded_problem(path)
            if why is not None:
                return path, why
    return None


def _plain(path: str) -> bool:
    """No component is empty or starts with a dot (so none is `.` or `..`), no NUL, no backslash."""
    return (
        bool(path)
        and "\0" not in path
        and "\\" not in path
        and "//" not in path
        and path[0] != "/"
        and path[-1] != "/"
        and "/." not in "/" + path
    )
