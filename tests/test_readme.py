"""The README's promises that code can check: its set-up commands are the ones CI runs."""

from __future__ import annotations

import re

from conftest import REPO


def test_ci_runs_the_readme_set_up_commands_verbatim() -> None:
    readme = (REPO / "README.md").read_text()
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.+?)\n```", setup)
    assert len(commands) == 2, "the README gives exactly two set-up commands"
    ci = (REPO / ".ci/run").read_text()
    main, tests = commands
    assert f"bash -c '{main}'" in ci
    assert ci.rstrip().endswith(tests)
