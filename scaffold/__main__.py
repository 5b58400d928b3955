"""The `scaffold` command's entry point (console script and `python -m scaffold`).

A `gen` or `check` with nothing to do is answered by `scaffold.fastpath`
before the CLI framework is even imported, and so are a `call` in the forms
`scaffold.cli.calling` reads and a help request Typer answered before
(`scaffold.helptext`); everything else goes to the Typer app in
`scaffold.cli.app`.
"""

from __future__ import annotations

import sys

GLOBAL_FLAGS = frozenset({"-q", "--quiet", "-v", "--verbose"})


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
    if "call" in sys.argv[1:3]:
        from scaffold.cli import calling

        arguments = calling.parse(sys.argv[1:])
        if arguments is not None:
            sys.exit(calling.perform(arguments))
    _typer()


def _typer() -> None:
    """The Typer app on `sys.argv`; a bug in scaffold said as one, with its traceback."""
    from scaffold.cli.app import app

    try:
        app()
    except Exception:  # noqa: BLE001 - what reaches here is a bug in scaffold, not in the user's project: say so
        import traceback

        from scaffold.core.errors import BUG_REPORT, EXIT_INTERNAL

        traceback.print_exc()
        print(BUG_REPORT, file=sys.stderr)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
