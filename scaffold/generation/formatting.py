"""Stage: `format = "ruff"` — user-owned Python files formatted in memory before they are compared.

Formatting the render itself (rather than the files on disk afterwards)
keeps every comparison formatted against formatted: the merge base in
`.scaffold/base/`, the new render and the user's file all went through the
same formatter, so a merge sees only real changes and `scaffold check` stays
quiet after `ruff format` runs in a pre-commit hook.

One ruff process formats every file at once, in a scratch copy that holds the
project's pyproject.toml (the one on disk if there is one, else the one being
rendered), so the project's own `[tool.ruff]` settings apply.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from scaffold.core.errors import Diagnostic, ScaffoldError, fail
from scaffold.core.text import lines as text_lines

FORMATTERS = ("ruff",)


def ruff_command() -> list[str] | None:
    """How to run ruff here: the one installed beside scaffold first, else the one on PATH."""
    if importlib.util.find_spec("ruff") is not None:
        return [sys.executable, "-m", "ruff"]
    found = shutil.which("ruff")
    return [found] if found else None


def format_python(files: Mapping[str, bytes], pyproject: bytes, origin: str) -> dict[str, bytes]:
    """`files` (path -> source) as `ruff format` writes them under the config in `pyproject`."""
    if not files:
        return {}
    command = ruff_command()
    if command is None:
        raise fail(origin, 'format = "ruff" needs ruff installed (pip install ruff)')
    import subprocess  # here: only a project with `format = "ruff"` runs it, and the import is ~3 ms
    import tempfile

    with tempfile.TemporaryDirectory(prefix="scaffold-format-") as tmp:
        scratch = Path(tmp)
        (scratch / "pyproject.toml").write_bytes(pyproject)
        for path, content in files.items():
            target = scratch / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        done = subprocess.run(
            [*command, "format", "--no-cache", "--quiet", *files],
            check=False,
            cwd=scratch,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            problem = text_lines((done.stderr or done.stdout).strip())
            raise ScaffoldError(
                [Diagnostic(origin, f"ruff format failed: {problem[0] if problem else done.returncode}")]
            )
        return {path: (scratch / path).read_bytes() for path in files}
