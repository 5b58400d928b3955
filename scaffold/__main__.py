"""The `scaffold` command's entry point (console script and `python -m scaffold`).

A `gen` or `check` with nothing to do is answered by `scaffold.fastpath`
before the CLI framework is even imported; everything else goes to the Typer
app in `scaffold.cli`.
"""

from __future__ import annotations

import sys


def main() -> None:
    from scaffold import fastpath

    if fastpath.run(sys.argv[1:]):
        return
    from scaffold.cli import app

    app()


if __name__ == "__main__":
    main()
