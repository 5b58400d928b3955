"""A progress bar for runs that write many files, drawn on a terminal only.

The library reports progress through a plain callback `(done, total)`; the
CLI decides whether anyone is watching: a bar appears only when stderr is a
terminal, `--quiet` is off and the run touches at least `MINIMUM` files, and
it erases itself when done, so logs and pipes never see it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

MINIMUM = 50
WIDTH = 30

ProgressCallback = Callable[[int, int], None]


class Bar:
    """`writing [#########.........] 120/400`, redrawn in place with carriage returns."""

    def __init__(self, stream: TextIO, label: str = "writing", minimum: int = MINIMUM) -> None:
        self._stream = stream
        self._label = label
        self._minimum = minimum
        self._shown = -1
        self._width = 0

    def __call__(self, done: int, total: int) -> None:
        if total < self._minimum:
            return
        filled = WIDTH * done // total
        if filled == self._shown and done != total:
            return
        self._shown = filled
        line = f"{self._label} [{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total}"
        self._width = max(self._width, len(line))
        if done == total:
            line = " " * self._width  # erase: the summary line that follows says what happened
        self._stream.write("\r" + line + ("\r" if done == total else ""))
        self._stream.flush()


def for_terminal(stream: TextIO, quiet: bool) -> ProgressCallback | None:
    """A bar on `stream` if a person is watching it, else None."""
    return None if quiet or not stream.isatty() else Bar(stream)
