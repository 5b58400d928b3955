"""A real 3-way merge of one user-owned file.

base is scaffold's pristine last render, ours the file on disk, theirs the
new render. merge3 (the line-based merge of Breezy) does the work; around it
this module keeps the user's conventions: CRLF line endings and a missing
final newline survive the merge. Conflicts are written diff3-style, with
each side labelled, so the user sees what the template used to say too.
"""

from __future__ import annotations

from dataclasses import dataclass

import merge3

YOURS = "yours (on disk)"
BASE = "scaffold's last render"
THEIRS = "scaffold's new render"
START, END = "<<<<<<<", ">>>>>>>"


@dataclass(frozen=True)
class Merged:
    content: bytes
    conflicts: int


def merge(base: bytes, ours: bytes, theirs: bytes) -> Merged:
    ours_text = ours.decode("utf-8")
    crlf = "\r\n" in ours_text and ours_text.count("\r\n") == ours_text.count("\n")
    ours_text = ours_text.replace("\r\n", "\n")
    final_newline = ours_text.endswith("\n") or not ours_text
    if not final_newline:
        ours_text += "\n"
    lines = merge3.Merge3(
        base.decode("utf-8").splitlines(True), ours_text.splitlines(True), theirs.decode("utf-8").splitlines(True)
    ).merge_lines(name_a=YOURS, name_b=THEIRS, name_base=BASE, base_marker="|||||||")
    merged = "".join(lines)
    conflicts = sum(1 for line in merged.splitlines() if line.startswith(f"{START} "))
    if not final_newline and merged.endswith("\n"):
        merged = merged[:-1]
    if crlf:
        merged = merged.replace("\n", "\r\n")
    return Merged(merged.encode("utf-8"), conflicts)


def conflict_lines(content: bytes) -> list[int]:
    """1-based numbers of the lines that open or close a conflict."""
    return [
        number
        for number, line in enumerate(content.decode("utf-8", "replace").splitlines(), 1)
        if line.startswith((f"{START} ", f"{END} "))
    ]
