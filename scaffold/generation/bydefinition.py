"""A merge by top-level definitions, for a module the new render rewrote around the user's code.

A line merge aligns what the user added on lines the two renders share. When
the render rewrites the module (its tests become asyncio's, and every line
but the blank ones differs) it can align on a blank line inside a new
function and split that function around the user's addition: clean, and
wrong (found by the fuzzer, seed 6022). Top-level definitions are what a
user adds, changes and deletes in such a module, so this merge works on
them: the new render, with each definition the user changed or added put in
(before the definition that followed it in their file), each one they
deleted left out, and the imports they added; a definition both sides
changed is a conflict of that definition alone, so the render's new
definitions go in whichever side the user keeps. It is accepted only when
every line the user wrote is in the result and, without conflicts, every
name it reads is bound; otherwise the caller writes the whole file as one
conflict.
"""

from __future__ import annotations

import re

from scaffold.core.errors import Diagnostic
from scaffold.core.text import lines
from scaffold.generation import pysource
from scaffold.generation.merge import BASE, END, START, THEIRS, YOURS
from scaffold.generation.pysource import Source
from scaffold.generation.rebind import misplaced


def by_definition(base: bytes, ours: bytes, theirs: bytes, package: str) -> tuple[bytes, int] | None:
    """`theirs` with the user's top-level changes of `ours` over `base`, and how many definitions both sides
    changed (each written as one conflict of that definition alone); None where that would leave out a line
    of the user's or a name unbound."""
    ending = _one_line_end(ours)
    if ending is None:
        return None  # mixed line ends: the merged lines would end differently; the conflict keeps each as it is
    if ending != b"\n":  # an editor's CR or CRLF: merged as LF, written back in the user's
        merged = by_definition(_as_lf(base), _as_lf(ours), _as_lf(theirs), package)
        return None if merged is None else (merged[0].replace(b"\n", ending), merged[1])
    sources = [pysource.parse("", content) for content in (base, ours, theirs)]
    if any(isinstance(source, Diagnostic) for source in sources):
        return None
    before, mine, render = sources
    assert isinstance(before, Source) and isinstance(mine, Source) and isinstance(render, Source)
    blocks = {
        name: _block(mine, name)
        for name in mine.blocks
        if name not in before.blocks or _block(before, name) != _block(mine, name)
    }
    both = [n for n in blocks if n in before.blocks and n in render.blocks and _block(render, n) != _block(before, n)]
    for name in both:  # whose change wins is the user's to say: a conflict of that definition, the rest merged
        blocks[name] = "".join(
            [f"{START} {YOURS}\n", blocks[name], f"||||||| {BASE}\n", _block(before, name), "=======\n"]
            + [_block(render, name), f"{END} {THEIRS}\n"]
        )
    blocks |= {name: "" for name in before.blocks if name not in mine.blocks and name in render.blocks}
    text = render.text
    theirs_imports = {statement for statement, _ in render.imports} | {s for s, _ in before.imports}
    for statement, _ in mine.imports:
        if statement not in theirs_imports:
            text = pysource.with_import(text, statement, package)
    result = pysource.put(text, blocks, list(mine.blocks)).encode("utf-8")
    written = {line.strip() for line in mine.lines} - {line.strip() for line in before.lines}
    if not written <= {line.strip() for line in lines(result.decode("utf-8"))}:
        return None
    if not both and (isinstance(pysource.parse("", result), Diagnostic) or misplaced(result, theirs, ours)):
        return None
    return result, len(both)


def _block(source: Source, name: str) -> str:
    first, end = source.blocks[name]
    text = "".join(source.lines[first:end])
    return text if text.endswith("\n") else text + "\n"


def _one_line_end(content: bytes) -> bytes | None:
    """The one way `content` ends its lines (LF when it has no line end); None when it mixes them."""
    found = {match for match in re.findall(rb"\r\n|\r|\n", content)}
    if len(found) > 1:
        return None
    return found.pop() if found else b"\n"


def _as_lf(content: bytes) -> bytes:
    return content.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
