"""Promises the README makes that code can check: the set-up commands CI runs, shell completion."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def test_ci_runs_the_readme_set_up_commands_verbatim() -> None:
    readme = (REPO / "README.md").read_text()
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.+?)\n```", setup)
    assert len(commands) == 2, "the README gives exactly two set-up commands"
    ci = (REPO / ".ci/run").read_text()
    main, tests = commands
    assert f"<<'MAIN'\n{main}\nMAIN\n" in ci
    assert ci.rstrip().endswith(tests)


def test_the_main_command_leaves_the_shell_where_it_was_and_takes_a_free_port() -> None:
    """Pasted before the test command in one terminal, it must not leave the shell inside the demo."""
    setup = (REPO / "README.md").read_text().split("## Set up", 1)[1].split("\n## ", 1)[0]
    main = re.findall(r"```sh\n(.+?)\n```", setup)[0]
    top_level, depth = "", 0
    for character in main:
        depth += {"(": 1, ")": -1}.get(character, 0)
        top_level += character if depth == 0 else ""
    assert "cd " not in top_level and "cd demo" in main
    assert "50051" not in main and '--port "$port"' in main


def test_shell_completion_completes_commands() -> None:
    env = {**os.environ, "_SCAFFOLD_COMPLETE": "complete_bash", "COMP_WORDS": "scaffold ge", "COMP_CWORD": "1"}
    script = Path(sys.executable).with_name("scaffold")  # the console script: completion keys on its name
    result = subprocess.run(
        [str(script)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.split() == ["gen"]
