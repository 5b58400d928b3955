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
  (Python code cannot name that attribute anyway; `E.Value("None")` works);
  likewise a message named after a keyword, whose `class None(...)` is
  dropped from the stub (an RPC using one is refused at its proto line).
- a field named like a type it annotates with (`float`, `int`, `datetime`)
  shadows that type for the rest of the class body, so `float: float` makes
  every later `float` in that class a variable; those references are
  qualified (`_builtins.float`, `_datetime.datetime`), as mypy-protobuf does;
  a field named like a message or enum of its own file (`Thing Thing = 1;`)
  likewise, through an alias the stub declares at its end.
- for a proto2 message with extension ranges it declares `Extensions:
  _python_message._ExtensionDict`, a name the type stubs do not have; the
  declaration is dropped (`Message.Extensions` is typed by the stubs already).
- for `option py_generic_services = true` it imports `google.protobuf.service`,
  which protobuf 7 and its stubs no longer have, to subclass its `service`;
  at run time the classes protoc builds subclass nothing, and the stub now says so.
"""

from __future__ import annotations

import functools
import keyword
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from scaffold.core.naming import docstring_body

_DOCSTRING_OPEN = re.compile(r'^(?P<indent> *)"""(?P<first>.*)$')
_MODULE_CLASSVAR = re.compile(rb"^(?P<name>\w+): _ClassVar\[(?P<type>\w+)\]$", re.MULTILINE)
_KEYWORD_DECLARATION = re.compile(rb"^ *(?:" + "|".join(keyword.kwlist).encode() + rb"): .*\n", re.MULTILINE)
_KEYWORD_CLASS = re.compile(
    rb"^(?P<indent> *)class (?:" + "|".join(keyword.kwlist).encode() + rb")\(.*\n(?:(?:(?P=indent) .*)?\n)*",
    re.MULTILINE,
)
_UNTYPED_KWARGS = re.compile(rb"\*\*kwargs\) -> None: \.\.\.$", re.MULTILINE)
_EXTENSIONS_DECLARATION = re.compile(rb"^ +Extensions: _python_message\._ExtensionDict\n", re.MULTILINE)
_PYTHON_MESSAGE_IMPORT = re.compile(
    rb"^from google\.protobuf\.internal import python_message as _python_message\n", re.MULTILINE
)
_SERVICE_IMPORT = re.compile(rb"^from google\.protobuf import service as _service\n", re.MULTILINE)
_GENERIC_SERVICE = re.compile(rb"^class (?P<name>\w+)\(_service\.service\): \.\.\.$", re.MULTILINE)


def repair(outputs: Mapping[str, bytes]) -> dict[str, bytes]:
    """protoc's outputs with the defects above fixed; other files unchanged."""
    repaired = {}
    for path, content in outputs.items():
        if path.endswith("_pb2_grpc.py") and _docstrings_may_need_repair(content):
            content = _repair_docstrings(content)
        elif path.endswith("_pb2.pyi"):
            content = _sub(_MODULE_CLASSVAR, rb"\g<name>: \g<type>", content)
            content = _UNTYPED_KWARGS.sub(rb"**kwargs: object) -> None: ...", content)
            content = _sub(_KEYWORD_CLASS, b"", content)
            content = _sub(_KEYWORD_DECLARATION, b"", content)
            content = _unshadow(content)
            content = _without_missing_names(content)
        repaired[path] = content
    return repaired


def _without_missing_names(content: bytes) -> bytes:
    """The stub without what it takes from modules protobuf 7 and its stubs lack (see the module's docstring)."""
    content = _sub(_EXTENSIONS_DECLARATION, b"", content)
    if b"_python_message." not in content:
        content = _sub(_PYTHON_MESSAGE_IMPORT, b"", content)
    content = _sub(_GENERIC_SERVICE, rb"class \g<name>: ...", content)
    if b"_service." not in content:
        content = _sub(_SERVICE_IMPORT, b"", content)
    return content


AnyText = TypeVar("AnyText", str, bytes)


def _sub(pattern: re.Pattern[bytes], replacement: bytes, content: bytes) -> bytes:
    """`pattern.sub`, only where the pattern, one of whole lines, is found at all."""
    return pattern.sub(replacement, content) if _found(pattern, content) else content


def _found(pattern: re.Pattern[AnyText], text: AnyText) -> bool:
    """`pattern.search(text) is not None` for a pattern of whole lines, found faster (see `_matches`)."""
    return pattern.match(text) is not None or _after_newline(pattern).search(text) is not None


def _matches(pattern: re.Pattern[AnyText], text: AnyText) -> list[re.Match[AnyText]]:
    """Every match of `pattern`, a pattern of whole lines (`^...`, multiline) whose matches do not end
    with a newline, as `pattern.finditer` finds them, found faster: the same pattern after a newline
    (`_after_newline`), which the regex engine looks for by searching for the newline, where it tries a
    `^` pattern at every character (0.2 to 0.4 s of googleapis' 40 MB of stubs for each pattern, found
    nowhere in most of them). A line starts at the text's start or after a newline, so the matches are the
    same, one character later. (A match that ended with the newline would hide the next line's from the
    second scan: `_sub` only asks whether there is one.)"""
    first = pattern.match(text)
    later: list[re.Match[AnyText]] = list(_after_newline(pattern).finditer(text))
    return ([first] if first else []) + later


@functools.cache
def _after_newline(pattern: re.Pattern[AnyText]) -> re.Pattern[AnyText]:
    source = pattern.pattern
    if not source.startswith("^" if isinstance(source, str) else b"^"):
        raise AssertionError(f"not a pattern of whole lines: {source!r}")
    newline: Any = "\n" if isinstance(source, str) else b"\n"
    return re.compile(newline + source[1:], pattern.flags)


def _docstrings_may_need_repair(content: bytes) -> bool:
    """Cheap test that a file's docstrings hold only what needs no escape.

    The plugin's own code uses single quotes, so in a file that needs no
    repair every `"` is in the `\"\"\"` that opens a docstring below a `class`
    or `def` line (or the module's), in the `\"\"\"` that closes it (alone on a
    line, or ending a one-line docstring); with no backslash and no control
    character. A comment line that begins or ends with `\"\"\"` adds a line
    beginning with quotes or turns an opener into a one-liner, which the
    count of openers (fixed by the code, not by comments: a comment line is
    never at column 0, nor a `def` line at indentation 4 followed by one at 8)
    exposes; any other quote breaks the count of quotes.
    """
    if b"\\" in content or _has_control(content):
        return True
    starts = len(_matches(_LINE_START_QUOTES, content))
    one_liners = len(_matches(_ONE_LINER, content))
    openers = len(_matches(_OPENER, content))
    return content.count(b'"') != 3 * (starts + one_liners) or starts != 2 * openers - one_liners


# What `docstring_body` escapes, as UTF-8: C0 controls but tab and newline, DEL, U+0085, U+2028, U+2029.
_CONTROL_BYTES = bytes([*range(0x09), *range(0x0B, 0x20), 0x7F])
_CONTROL_SEQUENCES = (b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9")


def _has_control(content: bytes) -> bool:
    """Whether `content` holds one of them: by `bytes.translate` and `in`, which run at memory speed,
    where a regular expression of them took half a second of googleapis' 34 MB of grpc modules."""
    return len(content.translate(None, _CONTROL_BYTES)) != len(content) or any(
        sequence in content for sequence in _CONTROL_SEQUENCES
    )


_LINE_START_QUOTES = re.compile(rb'^ *"""', re.MULTILINE)
_ONE_LINER = re.compile(rb'^ *""".*"""$', re.MULTILINE)
_OPENER = re.compile(rb'^(?:|class [^\n]*:\n    |    def [^\n]*:\n        )"""', re.MULTILINE)
_HEADER = re.compile(r"^(?P<indent> *)(?:class|def) .*:$")


def _repair_docstrings(content: bytes) -> bytes:
    """Re-escape every docstring the plugin wrote from a comment, right below a `class` or `def` line.

    The plugin writes `\"\"\"` and the first comment line, the other lines
    stripped and indented, then the closing quotes alone on a line; a comment
    line may itself be `\"\"\"` or look like any line of code, so where the
    docstring ends is found by indentation, which a comment cannot fake
    (`_closer`). An opener with no closer is a one-line docstring of the
    plugin's own, left as it is.
    """
    lines = content.decode("utf-8").split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        out.append(lines[index])
        header = _HEADER.match(lines[index])
        opener = _DOCSTRING_OPEN.match(lines[index + 1]) if header and index + 1 < len(lines) else None
        index += 1
        if header is None or opener is None:
            continue
        if len(opener["indent"]) != len(header["indent"]) + 4:
            continue
        closer = _closer(lines, index, len(header["indent"]))
        if closer is None:
            continue
        # A CRLF proto's comment lines keep their CR: part of the line end, not of the text.
        body = "\n".join(line.removesuffix("\r") for line in [opener["first"], *lines[index + 1 : closer]])
        out += [f'{opener["indent"]}"""{docstring_body(body)}', lines[closer]]
        index = closer + 1
    return "\n".join(out).encode("utf-8")


def _closer(lines: list[str], opener: int, header_indent: int) -> int | None:
    """The line that closes the docstring opened at `opener`, below a line indented `header_indent`.

    Every line of the docstring is blank or indented deeper than its header,
    so the docstring lies within the lines before the next line that is not
    (the next member of the class, the next top-level statement). The code
    the plugin writes after the docstring in that stretch (a class's methods,
    a method's body) is indented deeper still or is not bare quotes, so the
    closer is the last line of bare quotes at the docstring's own indentation.
    """
    closing = " " * (header_indent + 4) + '"""'
    found = None
    for number in range(opener + 1, len(lines)):
        line = lines[number]
        stripped = line.lstrip(" ")
        if stripped and len(line) - len(stripped) <= header_indent:
            break
        if line == closing:
            found = number
    return found


_SLOTS = re.compile(r"^(?P<indent> *)__slots__ = \((?P<names>[^)]*)\)$", re.MULTILINE)
_SHADOWABLE = {name: f"_builtins.{name}" for name in ("float", "int", "str", "bool", "bytes")}
_MODULE_IMPORT = re.compile(r"^import (\w+)$", re.MULTILINE)
_TOP_LEVEL_CLASS = re.compile(r"^class (\w+)\(", re.MULTILINE)
_OWN_ALIAS = "_global___"
"""A message or enum of the file a field shadows is named through a module-level alias, as mypy-protobuf does."""


def _unshadow(content: bytes) -> bytes:
    """Qualify the type names a message's own fields shadow in its class body (see the module docstring)."""
    text = content.decode("utf-8")
    own = {match[1]: f"{_OWN_ALIAS}{match[1]}" for match in _matches(_TOP_LEVEL_CLASS, text)}
    replacement = {**_SHADOWABLE, **{match[1]: f"_{match[1]}" for match in _matches(_MODULE_IMPORT, text)}, **own}
    slot_names = {name for slots in _matches(_SLOTS, text) for name in re.findall(r'"(\w+)"', slots["names"])}
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
    imports = [f"import {alias.removeprefix('_')} as {alias}" for alias in sorted(needed - set(own.values()))]
    aliases = [f"{alias} = {name}" for name, alias in sorted(own.items()) if alias in needed]
    return "\n".join([*imports, *lines, *aliases, ""] if aliases else [*imports, *lines]).encode("utf-8")
