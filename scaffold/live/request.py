"""The request of `scaffold call`: JSON documents read into protobuf messages, every mistake located.

Requests are JSON documents in protobuf's JSON mapping; a streaming request
is one document per line. A bad document (not JSON, not an object, a field
the message has no such name for, a key given twice, a value of the wrong
form, nesting deeper than protobuf reads) is a located error
(`-d:1:17: ...`, exit 2) before anything is sent. This is its own module
because it needs no channel and no server: text in, a message or a located
error out (`read_data` only reads the file `-d @FILE` names).
"""

from __future__ import annotations

import difflib
import itertools
import json
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from google.protobuf import json_format, message
from google.protobuf.descriptor import FieldDescriptor

from scaffold.core.errors import ScaffoldError, fail
from scaffold.core.text import lines as text_lines

# protobuf's JSON parser reads messages nested at most this deep; deeper JSON is refused alike.
_DEPTH_LIMIT = 100
_FAILED_FIELD = re.compile(r"Failed to parse (\w+) field: ")


def parse(text: str, cls: type[message.Message], origin: str, line_offset: int = 0) -> message.Message:
    """`text` (one JSON document) as a `cls` message; a located error for anything that is not one."""
    try:
        document = json.loads(text, object_pairs_hook=_unique_keys) if text.strip() else {}
        if not isinstance(document, dict):
            line, col = _start(text)
            kind = f"{_JSON_KINDS.get(type(document), 'a value')}"
            raise fail(origin, f"a request is a JSON object ({{...}}), not {kind}", line + line_offset, col)
        problem = _unknown_field(document, cls.DESCRIPTOR)
        if problem is not None:
            key, message_name, known = problem
            line, col = _position_of_key(text, key)
            close = difflib.get_close_matches(key, known, n=1)
            hint = f'; did you mean "{close[0]}"?' if close else ""
            raise fail(origin, f'no field "{key}" in {message_name}{hint}', line + line_offset, col)
        return json_format.ParseDict(document, cls(), max_recursion_depth=_DEPTH_LIMIT)
    except json.JSONDecodeError as error:
        raise fail(origin, f"not valid JSON: {error.msg}", error.lineno + line_offset, error.colno) from None
    except _DuplicateKey as duplicate:
        line, col = _position_of_key(text, duplicate.key, occurrence=2)
        message = f'"{duplicate.key}" twice in one object: JSON would keep the last, silently'
        raise fail(origin, message, line + line_offset, col) from None
    except RecursionError:  # Python's own limit, met first by the JSON reader or the field check
        raise _too_deep(text, origin, line_offset) from None
    except (json_format.ParseError, ValueError, TypeError) as error:
        if "too deep" in str(error):
            raise _too_deep(text, origin, line_offset) from None
        raise _bad_value(str(error), text, origin, line_offset) from None


_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "true or false"}
_JSON_KINDS[type(None)] = "null"


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's members, refusing a key given twice (Python's reader would drop the first)."""
    members: dict[str, Any] = {}
    for key, value in pairs:
        if key in members:
            raise _DuplicateKey(key)
        members[key] = value
    return members


def _start(text: str) -> tuple[int, int]:
    """Line and column of the first character of `text` that is not white space."""
    stripped = len(text) - len(text.lstrip())
    before = text[:stripped]
    return before.count("\n") + 1, stripped - (before.rfind("\n") + 1) + 1


def _too_deep(text: str, origin: str, line_offset: int) -> ScaffoldError:
    """The error for a document nested too deep, at the bracket that opens level `_DEPTH_LIMIT + 1`."""
    depth = 0
    line, col = _start(text)
    for token in re.finditer(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[{]|[\]}]', text):
        if token[0] in "[{":
            depth += 1
            if depth > _DEPTH_LIMIT:
                before = text[: token.start()]
                line, col = before.count("\n") + 1, token.start() - (before.rfind("\n") + 1) + 1
                break
        elif token[0] in "]}":
            depth -= 1
    return fail(origin, f"nested deeper than {_DEPTH_LIMIT} levels: protobuf reads no deeper", line + line_offset, col)


def _bad_value(reason: str, text: str, origin: str, line_offset: int) -> ScaffoldError:
    """protobuf's error for a value of the wrong form, on one line, at the outermost field it names:
    `Failed to parse a field: Failed to parse b field: why` is `field a.b: why`."""
    fields = _FAILED_FIELD.findall(reason)
    why = " ".join(_FAILED_FIELD.sub("", reason).split())
    why = re.sub(r"\.{2,}$", ".", why)  # protobuf ends a nested field's message with a second period
    line, col = _position_of_key(text, fields[0]) if fields else _start(text)
    where = f"field {'.'.join(fields)}: " if fields else ""
    return fail(origin, where + why, line + line_offset, col)


def _unknown_field(document: Any, descriptor: Any) -> tuple[str, str, list[str]] | None:
    """The first key of `document` that `descriptor` has no field for (JSON name or proto name), recursively."""
    if not isinstance(document, dict) or descriptor.full_name.startswith("google.protobuf."):
        return None  # well-known types have JSON forms of their own
    fields = {f.json_name: f for f in descriptor.fields} | {f.name: f for f in descriptor.fields}
    for key, value in document.items():
        found = fields.get(key)
        if found is None:
            return key, descriptor.full_name, sorted({f.json_name for f in descriptor.fields})
        if found.type == FieldDescriptor.TYPE_MESSAGE and found.message_type is not None:
            if found.message_type.GetOptions().map_entry:
                inner_type = found.message_type.fields_by_name["value"].message_type
                if inner_type is None or not isinstance(value, dict):
                    continue
                values = list(value.values())
                for item in values:
                    inner = _unknown_field(item, inner_type)
                    if inner is not None:
                        return inner
                continue
            values = value if isinstance(value, list) else [value]
            for item in values:
                inner = _unknown_field(item, found.message_type)
                if inner is not None:
                    return inner
    return None


def _position_of_key(text: str, key: str, occurrence: int = 1) -> tuple[int, int]:
    """Line and column of the `occurrence`th `"key":` in `text` (1:1 when there is none)."""
    matches = re.finditer(rf'"{re.escape(key)}"\s*:', text)
    match = next(itertools.islice(matches, occurrence - 1, None), None)
    if match is None:
        return 1, 1
    before = text[: match.start()]
    return before.count("\n") + 1, match.start() - (before.rfind("\n") + 1) + 1


def requests(source: BinaryIO | str, cls: type[message.Message], origin: str) -> Iterator[message.Message]:
    """One message per JSON document, one document per non-empty line, parsed as it is read."""
    numbered: Iterable[tuple[int, str | bytes]] = enumerate(text_lines(source) if isinstance(source, str) else source)
    for number, line in numbered:
        text = line if isinstance(line, str) else decoded(line, origin, number)
        if text.strip():
            yield parse(text, cls, origin, line_offset=number)


def decoded(raw: bytes, origin: str, line_offset: int = 0) -> str:
    """`raw` as UTF-8 text (a leading byte-order mark dropped); a located error at the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        col = len(before[before.rfind(b"\n") + 1 :].decode("utf-8-sig")) + 1
        line = before.count(b"\n") + 1 + line_offset
        raise fail(origin, f"not UTF-8: byte 0x{raw[error.start]:02x}", line, col) from None


def read_data(data: str | None) -> BinaryIO | str:
    """`-d JSON`, `-d @FILE` (read and decoded now) or `-d @-` (standard input, read as it is sent);
    no `-d`: an empty request."""
    if data is None:
        return ""
    if data == "@-":
        return sys.stdin.buffer
    if data.startswith("@"):
        try:
            raw = Path(data[1:]).read_bytes()
        except OSError as error:
            raise fail(data[1:], f"cannot be read: {error.strerror}") from None
        return decoded(raw, data[1:])
    return data
