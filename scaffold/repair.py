"""Stage: fix the known defects of protoc's and grpc's own output, before it is relocated.

Every repair here answers a defect of an upstream generator that breaks a
real proto tree, and is a no-op on output without that defect, so protos
that never hit one get protoc's bytes unchanged:

- grpc's plugin copies proto comments into docstrings verbatim. A comment
  holding `\"\"\"` ends the docstring early (a SyntaxError), and `\\N{` or `\\p`
  become escapes (a SyntaxError or a SyntaxWarning). The text between the
  plugin's quotes is re-escaped so the docstring means the comment, exactly.
- protoc's `.pyi` generator annotates module-level extension numbers as
  `_ClassVar[int]`, which type checkers reject outside a class body.
- for a message with a field named after a keyword (`from`, `in`) it writes
  `**kwargs` without an annotation, which `mypy --strict` rejects.
- for an enum value named after a keyword (`None`, used by real APIs) it
  declares `None: _ClassVar[E]`, a SyntaxError: the declaration is dropped
  (Python code cannot name that attribute anyway; `E.Value("None")` works).
- a field named like a type it annotates with (`float`, `int`, `datetime`)
  shadows that type for the rest of the class body, so `float: float` makes
  every later `float` in that class a variable; those references are
  qualified (`_builtins.float`, `_datetime.datetime`), as mypy-protobuf does.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping

from scaffold.naming import docstring_body

_DOCSTRING_OPEN = re.compile(r'^(?P<indent> *)"""(?P<first>.*)$')
_MODULE_CLASSVAR = re.compile(rb"^(?P<name>\w+): _ClassVar\[(?P<type>\w+)\]$", re.MULTILINE)
_KEYWORD_DECLARATION = re.compile(rb"^ *(?:" + "|".join(keyword.kwlist).encode() + rb"): .*\n", re.MULTILINE)
_UNTYPED_KWARGS = re.compile(rb"\*\*kwargs\) -> None: \.\.\.$", re.MULTILINE)


def repair(outputs: Mapping[str, bytes]) -> dict[str, bytes]:
    """protoc's outputs with the defects above fixed; other files unchanged."""
    repaired = {}
    for path, content in outputs.items():
        if path.endswith("_pb2_grpc.py") and _docstrings_may_need_repair(content):
            content = _repair_docstrings(content)
        elif path.endswith("_pb2.pyi"):
            content = _MODULE_CLASSVAR.sub(rb"\g<name>: \g<type>", content)
            content = _UNTYPED_KWARGS.sub(rb"**kwargs: object) -> None: ...", content)
            content = _KEYWORD_DECLARATION.sub(b"", content)
            content = _unshadow(content)
        repaired[path] = content
    return repaired


def _docstrings_may_need_repair(content: bytes) -> bool:
    """Cheap test: the plugin's own strings use single quotes, so a file whose
    only double quotes are docstring delimiters and holds no backslash is fine."""
    return b"\\" in content or content.count(b'"') != 3 * content.count(b'"""')


# The docstrings the plugin writes on one line itself, not from comments.
_PLUGIN_ONE_LINERS = frozenset(
    {
        'Client and server classes corresponding to protobuf-defined services."""',
        'Missing associated documentation comment in .proto file."""',
    }
)


def _repair_docstrings(content: bytes) -> bytes:
    """Re-escape every docstring the plugin wrote as `\"\"\"text` ... `<indent>\"\"\"`.

    The plugin prints each comment line stripped and indented, then the closing
    quotes alone on a line at the same indentation: the first such line closes
    the docstring. (A comment line holding nothing but `\"\"\"` would look like
    the closer; what that leaves fails validation, which names the file.)
    """
    lines = content.decode("utf-8").split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        match = _DOCSTRING_OPEN.match(lines[index])
        closer = len(lines)
        if match and match["first"] not in _PLUGIN_ONE_LINERS:
            closing_line = f'{match["indent"]}"""'
            closer = next((n for n in range(index + 1, len(lines)) if lines[n] == closing_line), len(lines))
        if match is None or closer == len(lines):
            out.append(lines[index])
            index += 1
            continue
        body = "\n".join([match["first"], *lines[index + 1 : closer]])
        out += [f'{match["indent"]}"""{docstring_body(body)}', lines[closer]]
        index = closer + 1
    return "\n".join(out).encode("utf-8")


_SLOTS = re.compile(r"^(?P<indent> *)__slots__ = \((?P<names>[^)]*)\)$", re.MULTILINE)
_SHADOWABLE = {name: f"_builtins.{name}" for name in ("float", "int", "str", "bool", "bytes")}
_MODULE_IMPORT = re.compile(r"^import (\w+)$", re.MULTILINE)


def _unshadow(content: bytes) -> bytes:
    """Qualify the type names a message's own fields shadow in its class body (see the module docstring)."""
    text = content.decode("utf-8")
    replacement = {**_SHADOWABLE, **{module: f"_{module}" for module in _MODULE_IMPORT.findall(text)}}
    slot_names = {name for slots in _SLOTS.finditer(text) for name in re.findall(r'"(\w+)"', slots["names"])}
    if not slot_names & replacement.keys():
        return content
    lines = text.split("\n")
    needed: set[str] = set()
    for index, line in enumerate(lines):
        slots = _SLOTS.match(line)
        if slots is None:
            continue
        shadowed = [name for name in re.findall(r'"(\w+)"', slots["names"]) if name in replacement]
        if not shadowed:
            continue
        reference = re.compile(r"(?<![.\w])(" + "|".join(shadowed) + r")\b(?!:)")
        member = slots["indent"]
        end = index + 1
        while end < len(lines) and (lines[end].startswith(member) or not lines[end]):
            if lines[end].startswith(member) and not lines[end][len(member)].isspace():
                lines[end] = reference.sub(lambda m: replacement[m[1]], lines[end])
            end += 1
        needed.update(replacement[name].split(".")[0] for name in shadowed)
    if not needed:
        return content
    imports = [f"import {alias.removeprefix('_')} as {alias}" for alias in sorted(needed)]
    return "\n".join([*imports, *lines]).encode("utf-8")
