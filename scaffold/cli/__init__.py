"""The `scaffold` command: one module per command or group of commands, each a
thin layer that parses flags, calls the library and turns its reports into
lines (`report`, `messages`, `pager`) and exit codes. `app` assembles them.

May import every part below it; nothing imports the CLI but
`scaffold.__main__`. Imports nothing here (commands import what they need
inside themselves, so `--help` stays fast).
"""
