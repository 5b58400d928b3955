"""A real 3-way merge of one user-owned file.

base is scaffold's pristine last render, ours the file on disk, theirs the
new render. merge3 (the line-based merge of Breezy) does the work; around it
this module keeps the user's conventions: line endings (CRLF, CR, mixed),
tabs, quote style and a missing final newline survive the merge. Conflicts are written diff3-style, with
each side labelled, so the user sees what the template used to say too.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter

import merge3
from msgspec import Struct

from scaffold.core.text import lines as text_lines

YOURS = "yours (on disk)"
BASE = "scaffold's last render"
THEIRS = "scaffold's new render"
START, END = "<<<<<<<", ">>>>>>>"


class Merged(Struct, frozen=True):
    content: bytes
    conflicts: int
    kept: int = 0
    """Blocks of the user's that the new render drops, kept: reported, never a conflict."""


def merge(base: bytes, ours: bytes, theirs: bytes, python: bool = False) -> Merged:
    """Merge `theirs` (the new render) into `ours` (the user's file) over `base` (the last render).

    Lines are matched by their content alone, not by how it is written: line
    ending, trailing space, tabs or spaces in the indent, and quote style do
    not count, so a user who reformats their file (ruff with single quotes
    and tabs, an editor that writes CRLF) merges as cleanly as one who did
    not. Every line that comes from the user's file is written exactly as it
    was; every new line takes the file's indent style and most common ending.
    In `python` source, what both sides add at one point can be told apart (`_added_side_by_side`).
    """
    ours_lines = text_lines(ours.decode("utf-8"), keepends=True)
    endings = [line[len(line.rstrip("\r\n")) :] for line in ours_lines]
    usual = Counter(ending for ending in endings if ending).most_common(1)
    newline = usual[0][0] if usual else "\n"
    tabs = any(line.startswith("\t") for line in ours_lines)
    final_newline = not ours_lines or bool(endings[-1])
    theirs_lines = text_lines(theirs.decode("utf-8"), keepends=True)
    ours_keys = [_key(line) for line in ours_lines]
    theirs_keys = [_key(line) for line in theirs_lines]
    base_keys = [_key(line) for line in text_lines(base.decode("utf-8"), keepends=True)]
    merged_keys, conflicts, kept = _merge_keys(base_keys, ours_keys, theirs_keys, python)
    written = {key: _styled(line, tabs, newline) for line, key in zip(theirs_lines, theirs_keys, strict=True)}
    result = [written.get(key, key.rstrip("\n") + newline) for key in merged_keys]
    matcher = difflib.SequenceMatcher(None, merged_keys, ours_keys, autojunk=False)
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            line = ours_lines[block.b + offset]
            result[block.a + offset] = line if endings[block.b + offset] else line + newline
    merged = "".join(result)
    if not final_newline and merged.endswith(newline):
        merged = merged[: -len(newline)]
    return Merged(merged.encode("utf-8"), conflicts, kept)


def _merge_keys(base: list[str], ours: list[str], theirs: list[str], python: bool) -> tuple[list[str], int, int]:
    """merge3's regions, written diff3-style, with one rule of ours: where the new render drops
    lines the user changed (an RPC removed from the protos whose client or test code they edited),
    the user's lines stay, as their servicer method does; that is not a conflict. Where the user only
    wrote beside those lines (a helper right above a class whose service is gone), the user's lines
    stay and the dropped ones go: the render's lines kept for that alone would keep the class. Also
    counts both."""
    merged: list[str] = []
    conflicts = kept = 0
    for region in merge3.Merge3(base, ours, theirs).merge_regions():
        what = region[0]
        if what == "unchanged":
            merged += base[region[1] : region[2]]
        elif what in ("a", "same"):
            merged += ours[region[1] : region[2]]
        elif what == "b":
            merged += theirs[region[1] : region[2]]
        else:
            _, base_start, base_end, ours_start, ours_end, theirs_start, theirs_end = region  # type: ignore[misc]
            if theirs_start == theirs_end:
                added_alone = _written_beside(base[base_start:base_end], ours[ours_start:ours_end])
                if added_alone is not None:  # the user only wrote beside what the render drops: that goes
                    merged += added_alone
                    continue
                merged += ours[ours_start:ours_end]
                kept += 1
                continue
            around = _insertion_around(
                base[base_start:base_end], ours[ours_start:ours_end], theirs[theirs_start:theirs_end]
            )
            if around is not None:
                merged += [*around[0], *ours[ours_start:ours_end], *around[1]]
                continue
            beside = _insertion_around(
                base[base_start:base_end], theirs[theirs_start:theirs_end], ours[ours_start:ours_end]
            )
            if beside is not None:
                merged += [*beside[0], *theirs[theirs_start:theirs_end], *beside[1]]
                continue
            both = _added_side_by_side(ours[ours_start:ours_end], theirs[theirs_start:theirs_end])
            if python and base_start == base_end and both is not None:
                merged += both
                continue
            conflicts += 1
            merged += [f"{START} {YOURS}\n", *ours[ours_start:ours_end], f"||||||| {BASE}\n"]
            merged += [*base[base_start:base_end], "=======\n", *theirs[theirs_start:theirs_end], f"{END} {THEIRS}\n"]
    return merged, conflicts, kept


def whole(base: bytes, ours: bytes, theirs: bytes) -> Merged:
    """One conflict of the whole file: yours, the last render, the new one, for a merge that cannot be
    trusted line by line (see `scaffold.generation.rebind.misplaced`)."""

    def body(content: bytes) -> list[str]:
        lines = text_lines(content.decode("utf-8"), keepends=True)
        return [line if line.endswith(("\n", "\r")) else line + "\n" for line in lines]

    merged = [f"{START} {YOURS}\n", *body(ours), f"||||||| {BASE}\n", *body(base), "=======\n"]
    merged += [*body(theirs), f"{END} {THEIRS}\n"]
    return Merged("".join(merged).encode("utf-8"), 1)


_DEFINES = re.compile(r"\s*(?:async\s+)?(?:def|class)\s+(\w+)")


def _written_beside(base: list[str], ours: list[str]) -> list[str] | None:
    """The lines the user added among `base`'s, when that is all they did, every addition starts at the
    top level (a helper, an import, a comment between definitions) and none names what `base` defines;
    None when they changed a line of the base, added inside one of its blocks (their method in a class) or
    use what it defines: then all of the region stays."""
    added: list[str] = []
    defined = {match[1] for line in base if (match := _DEFINES.match(line))}
    matcher = difflib.SequenceMatcher(None, base, ours, autojunk=False)
    for tag, _, _, ours_start, ours_end in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag != "insert":
            return None  # a line of the base changed or deleted
        chunk = ours[ours_start:ours_end]
        first = next((line for line in chunk if line.strip()), "")
        following = ours[ours_end] if ours_end < len(ours) else ""
        attached = chunk[-1].strip() and (_DEFINES.match(following) or following.startswith("@"))
        if first[:1] in (" ", "\t") or attached:
            return None  # an addition inside a block, or a comment on the definition below
        added += chunk
    if any(re.search(rf"\b{name}\b", line) for name in defined for line in added):
        return None  # what they wrote names what the render drops (`ALL = [CatalogServicer]`): it stays
    return added


def _insertion_around(base: list[str], ours: list[str], theirs: list[str]) -> tuple[list[str], list[str]] | None:
    """Where `theirs` only adds lines before or after the base lines `ours` changed: (before, after).

    Called both ways round, since the merge is symmetric here: the new render
    adding around lines the user changed, and the user adding around lines
    the new render changed (their `import decimal` right below scaffold's
    import of the generated modules, which a new proto grows into a
    parenthesised block: merge3 calls the neighbours a conflict, and a user
    resolving it by keeping both imports every module twice). What the
    other side changed goes between what this side added.

    A stub for an RPC declared right after a method the user implemented (or
    deleted) is such an insertion. The line diff is free to align the new
    stub's blank line before it or after it, and one of the two touches the
    user's edit, which merge3 calls a conflict; but the render kept every
    base line, so the user's version of them goes between what it added.
    Not when both sides only inserted at one point (no base lines: nothing
    says which goes first), nor when the addition defines a name the other
    side's lines define (the user's own method for the new RPC: the stub
    would shadow it).
    """
    if not base or len(theirs) <= len(base):
        return None
    for start in range(len(theirs) - len(base) + 1):
        if theirs[start : start + len(base)] == base:
            before, after = theirs[:start], theirs[start + len(base) :]
            break
    else:
        return None
    defined = {match[1] for line in ours if (match := _DEFINES.match(line))}
    if any((match := _DEFINES.match(line)) and match[1] in defined for line in [*before, *after]):
        return None
    return before, after


def _added_side_by_side(ours: list[str], theirs: list[str]) -> list[str] | None:
    """Both sides' lines, when both only added Python at one point and the render's lines are whole
    top-level blocks (a new service's class or test at the end of the module, where the user appended a
    helper or a `__main__` block): the user's lines stay next to what they continue, the lines above when
    indented (a method of the class above), else the lines below (their trailing block stays last).
    None when the render adds inside a block, or either side defines a name the other does (the user's
    own class for the new service: that is theirs to choose)."""
    first_theirs = next((line for line in theirs if line.strip()), "")
    first_ours = next((line for line in ours if line.strip()), "")
    if not first_theirs or not first_ours or first_theirs[:1] in (" ", "\t"):
        return None
    defined = {match[1] for line in ours if (match := _DEFINES.match(line))}
    if any((match := _DEFINES.match(line)) and match[1] in defined for line in theirs):
        return None
    if first_ours[:1] in (" ", "\t"):
        return [*ours, *theirs]
    return [*theirs, *ours]


def _key(line: str) -> str:
    """What a line says, whatever its ending, trailing space, indent characters or quote style."""
    text = line.rstrip()
    body = text.lstrip(" \t")
    indent = text[: len(text) - len(body)].expandtabs(4)
    return indent + body.replace("'", '"') + "\n"


def _styled(line: str, tabs: bool, newline: str) -> str:
    """A rendered line in the user's style: their indent character and line ending."""
    text = line.rstrip("\r\n")
    if tabs:
        body = text.lstrip(" ")
        levels, rest = divmod(len(text) - len(body), 4)
        text = "\t" * levels + " " * rest + body
    return text + newline


def conflict_lines(content: bytes) -> list[int]:
    """1-based numbers of the lines that open or close a conflict."""
    if f"{START} ".encode() not in content and f"{END} ".encode() not in content:
        return []  # the common case, without splitting the file into lines
    return [
        number
        for number, line in enumerate(text_lines(content.decode("utf-8", "replace")), 1)
        if line.startswith((f"{START} ", f"{END} "))
    ]


def yours_of(content: bytes) -> bytes:
    """`content`, a merge this module wrote, with each conflict resolved to the user's side: what a user
    who keeps their lines gets, for judging what the merge did around its conflicts."""
    kept: list[str] = []
    side = "both"
    for line in content.decode("utf-8", "replace").splitlines(keepends=True):
        if line.startswith(f"{START} {YOURS}"):
            side = "yours"
        elif side == "yours" and line.startswith(f"||||||| {BASE}"):
            side = "others"
        elif side != "both" and line.startswith(f"{END} {THEIRS}"):
            side = "both"
        elif side != "others":
            kept.append(line)
    return "".join(kept).encode("utf-8")
