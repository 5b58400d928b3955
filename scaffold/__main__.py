"""The `scaffold` command's entry point (console script and `python -m scaffold`).

A `gen` or `check` with nothing to do is answered by `scaffold.fastpath`
before the CLI framework is even imported, and so are a `call` in the forms
`scaffold.cli.calling` reads, a `gen`, `check` or `new` in the forms
`scaffold.cli.regenerating` and `scaffold.cli.creating` read, and a help request Typer answered before
(`scaffold.helptext`); everything else goes to the Typer app in
`scaffold.cli.app`.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable

GLOBAL_FLAGS = frozenset({"-q", "--quiet", "-v", "--verbose"})
_PLAIN_READERS = {"call": "calling", "gen": "regenerating", "check": "regenerating", "new": "creating"}
"""The commands whose plain forms a module of `scaffold.cli` reads (`parse`) and runs (`perform`) without Typer."""


def hoist_global_flags(argv: list[str]) -> list[str]:
    """`scaffold gen -v` means `scaffold -v gen`: global flags may stand anywhere before `--`."""
    end = argv.index("--") if "--" in argv else len(argv)
    head = argv[:end]
    return [a for a in head if a in GLOBAL_FLAGS] + [a for a in head if a not in GLOBAL_FLAGS] + argv[end:]


def main() -> None:
    from scaffold import fastpath, helptext

    sys.argv[1:] = hoist_global_flags(sys.argv[1:])
    if fastpath.run(sys.argv[1:]):
        return
    if helptext.is_request(sys.argv[1:]):
        main_module = sys.modules.get("__main__")
        helptext.print_help(sys.argv[1:], f"{sys.argv[0]}|{getattr(main_module, '__package__', '')}", _typer)
        return
    command = next((word for word in sys.argv[1:4] if word in _PLAIN_READERS), None)
    if command is not None:
        reader = importlib.import_module(f"scaffold.cli.{_PLAIN_READERS[command]}")
        arguments = reader.parse(sys.argv[1:])
        if arguments is not None:
            sys.exit(_as_typer_would(lambda: reader.perform(arguments)))
    _typer()


def _as_typer_would(command: Callable[[], int]) -> int:
    """A command run without Typer, ending as it would through Typer: Ctrl-C is a quiet exit 130, an end of
    input "Aborted!" and exit 1, a reader gone from the pipe a quiet exit 1, a bug in scaffold said as one."""
    try:
        return command()
    except KeyboardInterrupt:
        return 130
    except EOFError:
        print("\nAborted!", file=sys.stderr)
        return 1
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception:  # noqa: BLE001 - what reaches here is a bug in scaffold, not in the user's project: say so
        return _bug()


def _typer() -> None:
    """The Typer app on `sys.argv`; a bug in scaffold said as one, with its traceback."""
    from scaffold.cli.app import app

    try:
        app()
    except Exception:  # noqa: BLE001 - what reaches here is a bug in scaffold, not in the user's project: say so
        sys.exit(_bug())


def _bug() -> int:
    """The exception being handled, said as a bug in scaffold with its traceback; the exit code."""
    import traceback

    from scaffold.core.errors import BUG_REPORT, EXIT_INTERNAL

    traceback.print_exc()
    print(BUG_REPORT, file=sys.stderr)
    return EXIT_INTERNAL


if __name__ == "__main__":
    main()
