"""`scaffold templates`: the group of commands on the built-in templates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import typer.core

from scaffold.cli.common import _run, _say

templates_app = typer.Typer(help="Work with the templates scaffold renders from.", no_args_is_help=True)


@templates_app.command("export")
def export_templates(
    directory: Annotated[Path, typer.Argument(help="Where to copy the built-in templates.", show_default=False)],
    force: Annotated[bool, typer.Option("--force", help="Write into a directory that is not empty.")] = False,
) -> None:
    """Copy the built-in templates, to edit and use with `templates = "DIR"` in [tool.scaffold]."""
    from scaffold.api import export_templates as export

    copied = _run(lambda: export(directory, force))
    _say(f"Copied {len(copied)} templates to {directory}/. Keep the ones you change; the rest fall back.")
