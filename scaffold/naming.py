"""Turning proto names and comments into safe Python text.

Kept in one place because every template depends on these rules and each of
them has broken a code generator somewhere: keywords as names, comments that
end a docstring early, backslashes that become escape sequences.
"""

from __future__ import annotations

import keyword
import re

from scaffold.text import lines as text_lines

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


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


def clean_comment(comment: str) -> str:
    """Protoc's raw comment text, dedented by the one space `// ` leaves, without blank edges."""
    lines = [line.removeprefix(" ") for line in text_lines(comment)]
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def docstring_body(text: str) -> str:
    """Text that can sit between triple quotes and mean exactly `text`.

    Backslashes are doubled (so `\\N{` or `\\p` is neither an escape nor a
    SyntaxWarning), every `"` that could close the string is escaped, and a
    trailing quote is escaped so it does not merge with the closing quotes.
    """
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text = text[:-1] + '\\"'
    return text
