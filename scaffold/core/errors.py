"""Errors as located values.

Every stage reports problems as `Diagnostic` values; only the CLI turns them
into printed lines and exit codes, so the library API and tests see the same
structured information a user sees.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Exit codes, documented in the README.
EXIT_OK = 0
EXIT_NEEDS_USER = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
"""A bug in scaffold: the traceback, then `BUG_REPORT`."""
BUG_REPORT = "scaffold: internal error: a bug in scaffold, not in your project; please report it with the lines above"


@dataclass(frozen=True)
class Diagnostic:
    """One problem at one place.

    `line` and `col` are 1-based. Problems about a whole file (a missing
    proto, an error protoc reports without a position) point at 1:1 so that
    editors and CI annotators, which expect `path:line:col`, still jump to
    the file; problems about something that is not a source file (an output
    directory) carry no position at all.
    """

    path: str
    message: str
    line: int | None = None
    col: int | None = None
    severity: str = "error"

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        if self.line is None:
            return f"{self.path}: {prefix}{self.message}"
        return f"{self.path}:{self.line}:{self.col or 1}: {prefix}{self.message}"


class ScaffoldError(Exception):
    """Stops a run; carries every diagnostic that explains why.

    Raised rather than returned because no stage can do anything useful with
    a partial result, and raising keeps the "nothing written" guarantee
    simple: the write stage is never reached.
    """

    def __init__(self, diagnostics: Iterable[Diagnostic], exit_code: int = EXIT_BAD_INPUT) -> None:
        self.diagnostics = tuple(diagnostics)
        self.exit_code = exit_code
        super().__init__("\n".join(str(d) for d in self.diagnostics))


def fail(path: str, message: str, line: int | None = None, col: int | None = None) -> ScaffoldError:
    """Build the error for a single problem, for `raise fail(...)`."""
    return ScaffoldError([Diagnostic(path, message, line, col)])
