"""Long output through a pager on a terminal, as git does: `$PAGER`, else `less -FRX`.

`less -F` quits at once when the text fits on one screen, `-R` keeps the
colours, `-X` leaves the text on the screen afterwards; so a short diff reads
as if printed. A pipe, a file, `NO_PAGER` or `--no-pager` never see a pager:
scripts and CI logs get the plain lines.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence

DEFAULT_PAGER = "less -FRX"


def pager_command(on_terminal: bool, refused: bool) -> str | None:
    """The shell command to page through, or None to print: only on a terminal, and never when refused
    (`--no-pager`, `NO_PAGER`) or when `$PAGER` is empty or `cat` (git's reading of them)."""
    if refused or not on_terminal or os.environ.get("NO_PAGER"):
        return None
    if "PAGER" not in os.environ:  # the default, where it is installed (a bare container may lack less)
        return DEFAULT_PAGER if shutil.which(DEFAULT_PAGER.split()[0]) else None
    pager = os.environ["PAGER"].strip()
    return None if pager in ("", "cat") else pager


def show(lines: Sequence[str], refused: bool = False) -> None:
    """Print `lines`, through the pager when `pager_command` names one."""
    pager = pager_command(sys.stdout.isatty(), refused) if lines else None
    if pager is None or not _paged(pager, lines):
        for line in lines:
            print(line)


def _paged(pager: str, lines: Sequence[str]) -> bool:
    """Feed `lines` to `pager` (through the shell, as git runs `$PAGER`) and wait for it; False when it
    cannot start, so the lines are printed instead."""
    sys.stdout.flush()
    try:
        process = subprocess.Popen(pager, shell=True, stdin=subprocess.PIPE)
    except OSError:
        return False
    encoding = sys.stdout.encoding or "utf-8"
    text = "".join(f"{line}\n" for line in lines).encode(encoding, "replace")
    try:
        process.communicate(text)  # a pager quit before the end (a broken pipe) is no error
    except KeyboardInterrupt:  # Ctrl-C belongs to the pager (less stops a search with it)
        _wait_out(process)
    return True


def _wait_out(process: subprocess.Popen[bytes]) -> None:
    """Wait for the pager whatever Ctrl-C the user presses in it: the terminal is its until it exits."""
    while True:
        try:
            process.wait()
            return
        except KeyboardInterrupt:
            continue
