"""Values of scalar fields made to keep protovalidate's rules, or to break one (`scaffold.generation.rulesamples`),
and the Python literals the generated code builds requests with."""

from __future__ import annotations

import json
import keyword
import re
import struct
from typing import Any

from google.protobuf import descriptor

_T = descriptor.FieldDescriptor

UNSET = object()
"""A field left unset."""
WELL_KNOWN = {
    "email": "user@example.com",
    "hostname": "example.com",
    "address": "example.com",
    "host_and_port": "example.com:443",
    "ip": "192.0.2.1",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uri": "https://example.com/",
    "uri_ref": "https://example.com/",
    "uuid": "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
    "tuuid": "3f2504e04f8941d39a0c0305e82c3301",
}
_NOT_WELL_KNOWN = "not valid"


class Unbuildable(Exception):
    """A rule whose meaning is not known here: no request that keeps it can be promised."""


def scalar(field: descriptor.FieldDescriptor, rules: Any, nonzero: bool, index: int) -> Any:
    """A value of the scalar `field` that keeps `rules` (non-zero when `nonzero`); `index` varies it."""
    kind = field.type
    if kind == descriptor.FieldDescriptor.TYPE_STRING:
        return _string(field, rules, nonzero or index > 0, index)
    if kind == descriptor.FieldDescriptor.TYPE_BYTES:
        return _string(field, rules, nonzero or index > 0, index).encode("latin-1")
    if kind == descriptor.FieldDescriptor.TYPE_BOOL:
        return bool(rules.const) if rules is not None and rules.HasField("const") else nonzero or index > 0
    if kind == descriptor.FieldDescriptor.TYPE_ENUM:
        return _enum(field, rules, nonzero, index)
    return _number(field, rules, nonzero or index > 0, index)


def _text(value: str | bytes) -> str:
    """A string rule's value, or a bytes rule's as text (one character per byte)."""
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _string(field: descriptor.FieldDescriptor, rules: Any, nonzero: bool, index: int) -> str:
    if rules is None:
        return f"a{index or ''}" if nonzero else ""
    if rules.HasField("const") or getattr(rules, "in"):  # the listed values that keep the other rules too
        listed = [rules.const] if rules.HasField("const") else list(getattr(rules, "in"))
        choices = [
            _text(c)
            for c in listed
            if c not in rules.not_in and (c or not nonzero) and _string_keeps(_text(c), rules, field)
        ]
        if not choices:
            raise Unbuildable(f"{field.full_name}: {'const' if rules.HasField('const') else 'in'} with its other rules")
        return choices[min(index, len(choices) - 1)]
    well_known = _well_known(field, rules)
    if well_known:  # a format's sample as it is, or none: padding or affixes would break the format
        text = WELL_KNOWN[well_known]
        if not _string_keeps(text, rules, field):
            raise Unbuildable(f"{field.full_name}: string.{well_known} with other string rules")
        return text
    prefix, suffix, contains = _text(rules.prefix), _text(rules.suffix), _text(getattr(rules, "contains", ""))
    text = prefix + contains + suffix
    least = max(rules.min_len, rules.len, getattr(rules, "min_bytes", 0), getattr(rules, "len_bytes", 0))
    if nonzero or index:
        least = max(least, 1)
    pad = max(least - len(text), 0)
    if index and not well_known:
        text = prefix + f"{index}" + text[len(prefix) :]
        pad = max(least - len(text), 0)
    text = prefix + "a" * pad + text[len(prefix) :]
    if getattr(rules, "pattern", "") and not well_known:  # a few guesses, each checked against the pattern
        guesses = (prefix + guess + suffix for guess in ("", "AAA", "aaa", "a", "A", "0", "x", "X"))
        text = next((g for g in guesses if len(g) >= least and _string_keeps(g, rules, field)), text)
    if not _string_keeps(text, rules, field):
        raise Unbuildable(
            f"{field.full_name}: {'string.pattern' if getattr(rules, 'pattern', '') else 'its rules together'}"
        )
    return text


def _well_known(field: descriptor.FieldDescriptor, rules: Any) -> str | None:
    """The format a string field's rules name (`email`, `uuid`, ...); None for none, or one set to false."""
    if field.type != descriptor.FieldDescriptor.TYPE_STRING:
        return None
    chosen = rules.WhichOneof("well_known")
    return chosen if chosen is not None and getattr(rules, chosen) is not False else None


def _string_keeps(text: str, rules: Any, field: descriptor.FieldDescriptor) -> bool:
    """Whether `text` keeps every rule read here of a string (or, as ASCII, bytes) field."""
    size = len(text)
    checks = [
        not rules.HasField("len") or size == rules.len,
        not rules.HasField("min_len") or size >= rules.min_len,
        not rules.HasField("max_len") or size <= rules.max_len,
        text.startswith(_text(rules.prefix)) and text.endswith(_text(rules.suffix)),
        _text(getattr(rules, "contains", "")) in text,
        not getattr(rules, "not_contains", "") or rules.not_contains not in text,
        text not in [_text(excluded) for excluded in rules.not_in],
    ]
    if field.type == descriptor.FieldDescriptor.TYPE_STRING:
        checks += [
            not rules.HasField("len_bytes") or len(text.encode()) == rules.len_bytes,
            not rules.HasField("min_bytes") or len(text.encode()) >= rules.min_bytes,
            not rules.HasField("max_bytes") or len(text.encode()) <= rules.max_bytes,
        ]
        if rules.pattern:
            try:
                checks.append(re.search(rules.pattern, text) is not None)
            except re.error:
                raise Unbuildable(f"{field.full_name}: string.pattern (not a pattern Python reads)") from None
    return all(checks)


def _number(field: descriptor.FieldDescriptor, rules: Any, nonzero: bool, index: int) -> int | float:
    whole = field.cpp_type not in (descriptor.FieldDescriptor.CPPTYPE_FLOAT, descriptor.FieldDescriptor.CPPTYPE_DOUBLE)
    step = 1 if whole else 1.0
    if rules is None:
        return step * (index or (1 if nonzero else 0))
    low = rules.gt if rules.HasField("gt") else rules.gte if rules.HasField("gte") else None
    high = rules.lt if rules.HasField("lt") else rules.lte if rules.HasField("lte") else None
    if field.type in _UNSIGNED and low is None:
        low = 0  # as `gte`: an unsigned field holds nothing below it
    if rules.HasField("const") or getattr(rules, "in"):
        candidates = [rules.const] if rules.HasField("const") else list(getattr(rules, "in"))[index:]
    elif low is not None and high is not None and low < high and not whole:
        candidates = [low + (high - low) / (index + 2)]
    elif low is not None:  # also when above `high`: gt above lt keeps what is outside the range
        candidates = [low + step * (index + more) for more in range(4)]
    elif high is not None:
        candidates = [min(high, 0) - step * (index + more) for more in range(4)]
    else:  # past a `not_in` of zero, either way
        candidates = [step * (index or (1 if nonzero else 0)), step * (index + 1), -step * (index + 1)]
    for value in candidates:
        stored = _stored(field, value)
        if stored is not None and _number_keeps(stored, rules, nonzero):
            return stored
    raise Unbuildable(f"{field.full_name}: its number rules together")


def _stored(field: descriptor.FieldDescriptor, value: float) -> int | float | None:
    """`value` as the field holds it (a `float` keeps 32 bits); None when the field's type cannot hold it."""
    limits = _LIMITS.get(field.type)
    if limits is not None:
        return int(value) if limits[0] <= value <= limits[1] else None
    if field.type == descriptor.FieldDescriptor.TYPE_FLOAT:
        try:
            held: float = struct.unpack("f", struct.pack("f", value))[0]
        except OverflowError:
            return None
        return held
    return value


def _number_keeps(value: float, rules: Any, nonzero: bool) -> bool:
    listed = [rules.const] if rules.HasField("const") else list(getattr(rules, "in"))
    return (
        (not listed or value in listed)
        and value not in rules.not_in
        and (value != 0 or not nonzero)
        and _in_range(value, rules)
    )


def _in_range(value: float, rules: Any) -> bool:
    kept = [
        (not rules.HasField("gt") or value > rules.gt) and (not rules.HasField("gte") or value >= rules.gte),
        (not rules.HasField("lt") or value < rules.lt) and (not rules.HasField("lte") or value <= rules.lte),
    ]
    low_set, high_set = rules.HasField("gt") or rules.HasField("gte"), rules.HasField("lt") or rules.HasField("lte")
    if (
        low_set
        and high_set
        and (rules.gt if rules.HasField("gt") else rules.gte) > (rules.lt if rules.HasField("lt") else rules.lte)
    ):
        return kept[0] or kept[1]
    return all(kept)


def _enum(field: descriptor.FieldDescriptor, rules: Any, nonzero: bool, index: int) -> str:
    assert field.enum_type is not None  # an enum field
    values = field.enum_type.values
    if rules is not None and rules.HasField("const"):
        chosen = [v for v in values if v.number == rules.const]
    else:
        allowed = set(getattr(rules, "in")) if rules is not None and getattr(rules, "in") else None
        excluded = set(rules.not_in) if rules is not None else set()
        chosen = [
            v
            for v in values
            if (allowed is None or v.number in allowed) and v.number not in excluded and (v.number or not nonzero)
        ]
    if not chosen:
        raise Unbuildable(f"{field.full_name}: its enum rules together")
    return Enum(chosen[min(index, len(chosen) - 1)].name)


def broken_scalar(field: descriptor.FieldDescriptor, rules: Any, kind: str, value: Any) -> Any:
    """A value of a scalar field that breaks one of `rules`; UNSET when none is known."""
    if kind in ("string", "bytes"):
        text = _text(value)
        candidates = []
        if rules.HasField("min_len") and rules.min_len > 0:
            candidates.append(text[: rules.min_len - 1])
        if rules.HasField("max_len"):
            candidates.append(text + "a" * (rules.max_len + 1 - len(text)))
        if _well_known(field, rules):
            candidates.append(_NOT_WELL_KNOWN)
        if rules.prefix or rules.suffix or getattr(rules, "contains", ""):
            candidates.append("")
        if kind == "string" and rules.pattern:
            candidates += ["", "!", " "]
        if rules.HasField("const") or getattr(rules, "in"):
            candidates.append(f"{text}-other")
        for candidate in candidates:
            if kind == "bytes" or not _string_keeps(candidate, rules, field) or candidate == _NOT_WELL_KNOWN:
                return candidate.encode("latin-1") if kind == "bytes" else candidate
        return UNSET
    if kind == "enum":
        if rules.HasField("const") or getattr(rules, "in"):
            kept = {rules.const} if rules.HasField("const") else set(getattr(rules, "in"))
            assert field.enum_type is not None  # an enum field
            other = [v.name for v in field.enum_type.values if v.number not in kept]
            return Enum(other[0]) if other else UNSET
        return UNSET
    if kind == "bool":
        return (not rules.const) if rules.HasField("const") else UNSET
    whole = not isinstance(value, float)
    step = 1 if whole else 1.0
    listed = [rules.const] if rules.HasField("const") else list(getattr(rules, "in"))
    numbers = _number_breakers(rules, step) + list(rules.not_in[:1]) + ([max(listed) + step] if listed else [])
    for number in numbers:
        stored = _stored(field, number)
        if stored is not None and not _number_keeps(stored, rules, nonzero=False):
            return stored
    return UNSET


def _number_breakers(rules: Any, step: float) -> list[float]:
    found = []
    for bound, move in (("gt", 0), ("gte", -step), ("lt", 0), ("lte", step)):
        if rules.HasField(bound):
            found.append(getattr(rules, bound) + move)
    return found


_LIMITS = {
    **dict.fromkeys((_T.TYPE_INT32, _T.TYPE_SINT32, _T.TYPE_SFIXED32), (-(2**31), 2**31 - 1)),
    **dict.fromkeys((_T.TYPE_INT64, _T.TYPE_SINT64, _T.TYPE_SFIXED64), (-(2**63), 2**63 - 1)),
    **dict.fromkeys((_T.TYPE_UINT32, _T.TYPE_FIXED32), (0, 2**32 - 1)),
    **dict.fromkeys((_T.TYPE_UINT64, _T.TYPE_FIXED64), (0, 2**64 - 1)),
}
"""What each integer type holds."""
_UNSIGNED = {
    descriptor.FieldDescriptor.TYPE_UINT32,
    descriptor.FieldDescriptor.TYPE_UINT64,
    descriptor.FieldDescriptor.TYPE_FIXED32,
    descriptor.FieldDescriptor.TYPE_FIXED64,
}


_Cpp = descriptor.FieldDescriptor
ZERO: dict[int, Any] = {
    _Cpp.CPPTYPE_STRING: "",
    _Cpp.CPPTYPE_BOOL: False,
    _Cpp.CPPTYPE_FLOAT: 0.0,
    _Cpp.CPPTYPE_DOUBLE: 0.0,
    **{kind: 0 for kind in (_Cpp.CPPTYPE_INT32, _Cpp.CPPTYPE_INT64, _Cpp.CPPTYPE_UINT32, _Cpp.CPPTYPE_UINT64)},
    _Cpp.CPPTYPE_ENUM: 0,
}


class Enum(str):
    """An enum value, by its name: protobuf's constructors take the name."""


def refuse_keywords(values: dict[str, Any]) -> None:
    """Unbuildable when a field set is named like a keyword (`from`): `**{"from": ...}` would be checked by
    mypy against every other parameter of the constructor."""
    for name in values:
        if keyword.iskeyword(name):
            raise Unbuildable(f"{name} (a field named like a Python keyword)")


def arguments(values: dict[str, Any]) -> str:
    """Constructor arguments on one line (`email="user@example.com", items=[{"sku": "aaa"}]`)."""
    return ", ".join(f"{name}={_literal(value)}" for name, value in values.items())


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (str, Enum)):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, bytes):
        return 'b"' + "".join(chr(c) if 32 <= c < 127 and c not in b'"\\' else f"\\x{c:02x}" for c in value) + '"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    return repr(value)


WIDTH = 88
"""ruff's line length (the generated projects set no other): a request wider than it is laid out as ruff would."""


def statement(python_type: str, values: dict[str, Any], indent: int, head: str, tail: str = "") -> str:
    """`head` + the constructor call of `values` + `tail`, indented, in the lines `ruff format` keeps:
    one line when it fits, else one argument (and, inside it, one item) per line, each collection split
    ending in a comma, which ruff keeps split ("magic trailing comma")."""
    return "\n".join(_lines(_Call(python_type, values), indent, head, tail))


class _Call:
    """A message's constructor call, for `_lines`."""

    def __init__(self, python_type: str, values: dict[str, Any]) -> None:
        self.python_type, self.values = python_type, values


def _lines(value: Any, indent: int, head: str, tail: str) -> list[str]:
    pad = " " * indent
    flat = f"{pad}{head}{_flat(value)}{tail}"
    if len(flat) <= WIDTH or not isinstance(value, (_Call, dict, list)) or not _entries(value):
        return [flat]
    opener, closer = (
        (f"{value.python_type}(", ")")
        if isinstance(value, _Call)
        else ("{", "}")
        if isinstance(value, dict)
        else ("[", "]")
    )
    lines = [f"{pad}{head}{opener}"]
    for prefix, item in _entries(value):
        lines += _lines(item, indent + 4, prefix, ",")
    return [*lines, f"{pad}{closer}{tail}"]


def _entries(value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, _Call):
        return [(f"{name}=", item) for name, item in value.values.items()]
    if isinstance(value, dict):
        return [(f"{_literal(key)}: ", item) for key, item in value.items()]
    return [("", item) for item in value]


def _flat(value: Any) -> str:
    if isinstance(value, _Call):
        return f"{value.python_type}({arguments(value.values)})"
    return _literal(value)
