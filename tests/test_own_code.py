"""scaffold's own code meets the bar its generated code meets: ruff's lint and format, and mypy --strict."""

from __future__ import annotations

import os

import pytest
from conftest import REPO, run_python


@pytest.mark.parametrize(
    "command",
    [
        ("ruff", "check", "--no-cache", "scaffold", "tests", "bench"),
        ("ruff", "format", "--check", "--no-cache", "scaffold", "tests", "bench"),
        ("mypy", "--strict", "--cache-dir", os.devnull, "scaffold"),
    ],
)
def test_scaffolds_own_code_is_clean(command: tuple[str, ...]) -> None:
    result = run_python("-m", *command, cwd=REPO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
