"""The plain forms of a command's arguments, read without Typer (`scaffold.cli.regenerating`,
`scaffold.cli.creating`): global flags first (as `scaffold.__main__` puts them), the command, then
options and arguments in any order, a value after its option or attached with `=`. Anything else
(help, shell completion, `--`, `-oVALUE`, an unknown option, a value that looks like an option but
`-`) is None: Typer's to read and, where it is wrong, to say so the way it does for every command."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping

from scaffold.cli.output import NORMAL, QUIET, VERBOSE

_GLOBAL = {"-q": QUIET, "--quiet": QUIET, "-v": VERBOSE, "--verbose": VERBOSE}


def read(
    argv: list[str],
    command: str,
    flags: Mapping[str, str],
    valued: Mapping[str, str],
    repeated: Collection[str] = (),
    arguments: str | None = None,
) -> tuple[int, dict[str, object]] | None:
    """The verbosity and `{key: value}` of `[-q|-v]... COMMAND ...`: a flag's key True, an option's its value
    (the last one, or all of them as a tuple where its key is in `repeated`), the arguments a tuple under
    `arguments` (none allowed when it is None); None where Typer should read them."""
    levels = []
    while argv and argv[0] in _GLOBAL:
        levels.append(_GLOBAL[argv[0]])
        argv = argv[1:]
    if argv[:1] != [command] or any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ):
        return None
    values: dict[str, object] = {}
    rest = iter(argv[1:])
    for token in rest:
        name, equals, attached = token.partition("=") if token.startswith("--") else (token, "", "")
        if token in flags:
            values[flags[token]] = True
        elif name in valued:
            value = attached if equals else next(rest, None)
            if not value or (value.startswith("-") and value != "-" and not equals):
                return None
            key = valued[name]
            values[key] = (*_tuple(values.get(key)), value) if key in repeated else value
        elif token.startswith("-") or arguments is None:
            return None
        else:
            values[arguments] = (*_tuple(values.get(arguments)), token)
    level = QUIET if QUIET in levels else VERBOSE if VERBOSE in levels else NORMAL
    return level, values


def _tuple(value: object) -> tuple[object, ...]:
    return value if isinstance(value, tuple) else ()
