"""Turning proto names and comments into safe Python text.

Kept in one place because every template depends on these rules and each of
them has broken a code generator somewhere: keywords as names, comments that
end a docstring early, backslashes that become escape sequences.
"""

from __future__ import annotations

import keyword
import re

from scaffold.core.text import lines as text_lines

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


# C0 controls but tab and newline, DEL, and what str.splitlines ends a line at beyond them.
_DOCSTRING_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029]")


def _escape_char(match: re.Match[str]) -> str:
    """The character as the shortest escape Python reads back as it (`\\r`, `\\x0c`, `\\u2028`)."""
    char = match[0]
    return "\\r" if char == "\r" else f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def module_path(proto_name: str) -> str:
    """Where protoc puts a proto's Python module, without suffix: `a/b-c/x.min.proto` -> `a/b_c/x/min`.

    protoc's Python generators (and grpc's plugin) turn every `-` of the path
    into `_` and every `.` of the file's stem into a package level; code that
    names a generated module must apply the same rules or miss such trees
    (googleapis has `google/cloud/run/v2/k8s.min.proto`).
    """
    return proto_name.removesuffix(".proto").replace("-", "_").replace(".", "/")


def snake_case(name: str) -> str:
    """`GetFeature` -> `get_feature`, `HTTPRequest` -> `http_request`, `sayHello` -> `say_hello`."""
    return _WORD_BOUNDARY.sub("_", name).lower()


def safe_identifier(name: str) -> str:
    """A Python identifier for `name`: keywords and soft keywords get a trailing underscore (PEP 8)."""
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in {"None", "True", "False"}:
        return name + "_"
    return name


def module_name(name: str) -> str:
    """A module or package name for `name` that means nothing special to Python: keywords as
    `safe_identifier` makes them, and a name Python reserves (`__init__`, `__main__`: any `__x__`) as
    a plain one with a trailing underscore (`init_`), so a service or package named `__init__` never
    stands where a package's own `__init__.py` does."""
    if len(name) > 4 and name.startswith("__") and name.endswith("__"):
        return name.strip("_") + "_"
    return safe_identifier(name)


def clean_comment(comment: str) -> str:
    """Protoc's raw comment text, dedented by the one space `// ` leaves, without blank edges."""
    lines = [line.removeprefix(" ") for line in text_lines(comment)]
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def docstring_body(text: str) -> str:
    """Text that can sit between triple quotes and mean exactly `text`, and read like it.

    Backslashes are doubled (so `\\N{` or `\\p` is neither an escape nor a
    SyntaxWarning, and a trailing one does not escape the closing quotes);
    the third quote of every run of three is escaped (`""\\"`), so no run closes
    the string; a trailing run of quotes is escaped whole, so it does not merge
    with the closing quotes. Characters Python or a tool would read as a line
    end or could not hold in source (`\\r`, NUL, a form feed, U+2028, ...)
    become escapes: the source keeps the text's lines, and Jinja's `indent`
    (which splits like `str.splitlines`) cannot cut it.
    """
    body = text.rstrip('"')
    trailing = len(text) - len(body)
    body = body.replace("\\", "\\\\").replace('"""', '""\\"')
    return _DOCSTRING_CONTROL.sub(_escape_char, body) + '\\"' * trailing
