"""`scaffold ... --help` (issue 30): the first request of a form is Typer's, kept in the user's cache;
the next prints that copy without loading Typer, byte for byte the same, for the terminal's width."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def _help(cache: Path, *argv: str, columns: str = "100") -> tuple[int, str, str, bool]:
    """Exit code, stdout, stderr (without importtime's lines) and whether Typer was imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "scaffold", *argv],
        cwd=REPO,
        env={**os.environ, "XDG_CACHE_HOME": str(cache), "COLUMNS": columns},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    said = "".join(line + "\n" for line in done.stderr.splitlines() if not line.startswith("import time:"))
    return done.returncode, done.stdout, said, " typer" in done.stderr


def test_help_is_typers_the_first_time_then_the_kept_copy_without_typer(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for form in (["--help"], ["gen", "--help"], ["-q", "templates", "export", "--help"]):
        first = _help(cache, *form)
        assert first[0] == 0 and first[1].startswith("Usage: ") and first[3], form
        again = _help(cache, *form)
        assert again[:3] == first[:3] and not again[3], form
    narrow = _help(cache, "gen", "--help", columns="60")
    assert narrow[3] and narrow[1] != first[1]  # another width: asked again, wrapped for it
    assert max(map(len, narrow[1].splitlines())) <= 58 < max(map(len, _help(cache, "gen", "--help")[1].splitlines()))
    assert _help(cache, "gen", "--help", columns="60")[:3] == narrow[:3]


def test_a_help_request_typer_refuses_is_never_kept(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for _ in range(2):
        code, out, err, typer = _help(cache, "nope", "--help")
        assert (code, out, typer) == (2, "", True) and "No such command 'nope'" in err
    assert not (cache / "scaffold/help").exists() or not any((cache / "scaffold/help").iterdir())
