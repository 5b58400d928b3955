"""`.scaffold/cache/`: what makes the next run fast, never what makes it right.

Everything here can be deleted at any time (the next run is slower, not
different), so writing is atomic and quiet: a cache that cannot be written
only costs time. The directory ignores itself in git, like `__pycache__`.
"""

from __future__ import annotations

import os

from scaffold.layout import CACHE_DIR

_IGNORE = "# scaffold's cache: safe to delete, never worth committing\n*\n"


def directory(root: str | os.PathLike[str]) -> str:
    """The cache directory of the project at `root`, made (with its .gitignore) if missing; OSError if it cannot be."""
    path = os.path.join(root, CACHE_DIR)
    os.makedirs(path, exist_ok=True)
    ignore = os.path.join(path, ".gitignore")
    if not os.path.exists(ignore):
        with open(ignore, "w", encoding="utf-8") as file:
            file.write(_IGNORE)
    return path


def write(root: str | os.PathLike[str], name: str, content: bytes) -> None:
    """Replace `name` in the cache of the project at `root` with `content`, all at once or not at all."""
    import tempfile  # not at the top: the no-op path imports this module

    try:
        target = os.path.join(directory(root), name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=os.path.dirname(target), delete=False) as staged:
            staged.write(content)
        os.replace(staged.name, target)
    except OSError:
        pass


def remove(root: str | os.PathLike[str], name: str) -> None:
    """Remove `name` from the cache, if it is there (what an older version kept under another name)."""
    try:
        os.remove(os.path.join(root, CACHE_DIR, name))
    except OSError:
        pass
