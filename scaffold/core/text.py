"""Lines as Python's tokenizer counts them: a line ends at `\\n`, `\\r\\n` or `\\r`, nowhere else.

`str.splitlines` also ends a line at a form feed, U+2028, U+0085 and five
other separators, any of which may stand inside a string literal or a comment
of the user's code: splitting there cuts one line of Python in two, and a
merge or a move then writes a module that no longer compiles. Every place
scaffold splits text into lines goes through here.
"""

from __future__ import annotations

import re

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def lines(text: str, keepends: bool = False) -> list[str]:
    """`text`'s lines (with their ends when `keepends`), as `str.splitlines` but at line ends only."""
    found = _LINE.findall(text)
    if keepends:
        return found
    return [line.rstrip("\r\n") if line.endswith(("\n", "\r")) else line for line in found]


_CLASS_LINE = re.compile(rb"^class (\w+)", re.MULTILINE)


def lacks_a_class(content: bytes, render: bytes) -> bool:
    """Whether `content` has no line starting `class NAME` for some such line of `render`: cheap enough for
    the no-op path; True only says to look closer (`scaffold.generation.adopt.restored_classes` decides)."""
    return any(
        re.search(rb"^class " + re.escape(name) + rb"\b", content, re.MULTILINE) is None
        for name in _CLASS_LINE.findall(render)
    )
