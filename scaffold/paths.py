"""Paths that come from outside scaffold: checked before anything is written or removed by them.

A git tree (`breaking --against REV`), a hand-edited manifest or a crafted
cache can name any string. Joined to a directory, `..`, an absolute path or
an alias (`a//b`, `a/./b`) reaches a file other than the one it seems to
name, and a NUL byte makes the system call raise. So every such path must
be in the one form scaffold itself writes: relative, `/`-separated, each
component a plain name.
"""

from __future__ import annotations


def problem(path: object) -> str | None:
    """Why `path` is not a plain relative path in normal form (None: it is one)."""
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
            return "is not in normal form (an empty or `.` component); expected a path like a/b.proto"
    return None
