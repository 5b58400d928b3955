"""The steps of a fuzz sequence: what they are, how a seed draws them, how each is applied.

A step is a kind and a few numbers drawn once from the seed; the numbers are resolved against
the project as it is when the step runs (`pick % len(candidates)`), so every subsequence of a
sequence is still a valid sequence: that is what lets the shrinker drop steps freely. A step
that finds nothing to act on (no stub left to implement) does nothing.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .model import (
    FIELD_NAMES,
    FILE_NAMES,
    MESSAGE_NAMES,
    ODD_COMMENTS,
    RPC_NAMES,
    SCALARS,
    SERVICE_NAMES,
    Message,
    ProtoFile,
    Rpc,
    Service,
)

if TYPE_CHECKING:
    from .runner import World

MOMENTS = ["planned", "before-swap", "after-swap", "shard-written"]
DECOR = ["", " caf\u00e9", " \u65e5\u672c", " \U0001f642", " 'q' \"qq\"", " \\N{x} {{ y }}", " \u00df\u00f8"]


@dataclass(frozen=True)
class Step:
    kind: str
    args: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Step({self.kind!r}, {self.args!r})"


# kind -> weight. Proto and config edits change what gen writes; user edits change what the
# merge must keep; faults change how the run ends.
WEIGHTS: dict[str, int] = {
    "p.add_rpc": 8,
    "p.remove_rpc": 4,
    "p.rename_rpc": 4,
    "p.reshape_rpc": 4,
    "p.comment": 3,
    "p.add_service": 3,
    "p.remove_service": 2,
    "p.rename_service": 2,
    "p.add_message": 2,
    "p.remove_message": 1,
    "p.add_field": 2,
    "p.remove_field": 1,
    "p.add_file": 2,
    "p.remove_file": 1,
    "c.layout": 4,
    "c.root": 2,
    "c.aio": 1,
    # In the place "c.metrics" held (every seed draws the same kinds as before): one of the options below.
    "c.feature": 1,
    "c.tls": 1,
    "c.split": 2,
    "u.implement": 8,
    "u.helper": 3,
    "u.import": 3,
    "u.statement": 2,
    "u.comment": 4,
    "u.header": 2,
    "u.test": 3,
    "u.ruff": 2,
    "u.delete_stub": 2,
    "u.edit_generated": 2,
    "u.crlf": 1,
    "u.unicode": 1,
    "u.pyproject": 1,
    "u.module": 2,
    "f.kill": 4,
    "f.save": 3,
    "f.second": 2,
}


IMPORTING_WEIGHTS: dict[str, int] = {**WEIGHTS, "p.import_field": 3}
"""Also fields of another file's messages, which import it: each proto edit then reaches its importers,
where protoc's record reuses what it can (`bench/fuzz.py --imports`). A table of its own, so that the
sequences of `WEIGHTS` that tests replay stay what they were."""


def generate(seed: int, count: int, weights: dict[str, int] | None = None) -> list[Step]:
    """The `count` steps of `seed`: the same list on every machine, whatever the project does."""
    rng = random.Random(seed)
    table = weights or WEIGHTS
    kinds = [k for k in table if table[k] > 0]
    return [_draw(rng, rng.choices(kinds, [table[k] for k in kinds])[0]) for _ in range(count)]


def _draw(rng: random.Random, kind: str) -> Step:
    args: dict[str, Any] = {"pick": rng.randrange(1000)}
    if kind in ("p.add_rpc", "p.rename_rpc", "p.add_service"):
        args["name"] = rng.choice(RPC_NAMES)
    if kind in ("p.add_rpc", "p.reshape_rpc", "p.add_service"):
        args["shape"] = rng.randrange(4)
    if kind in ("p.add_rpc", "p.comment", "p.add_service"):
        args["comment"] = rng.randrange(-1, len(ODD_COMMENTS))
    if kind in ("p.add_service", "p.rename_service"):
        args["service"] = rng.choice(SERVICE_NAMES)
    if kind in ("p.add_message", "p.add_file"):
        args["message"] = rng.choice(MESSAGE_NAMES)
    if kind == "p.add_field":
        args["field"], args["type"] = rng.choice(FIELD_NAMES), rng.randrange(len(SCALARS) + 1)
    if kind == "p.import_field":
        args["field"], args["from"], args["public"] = rng.choice(FIELD_NAMES), rng.randrange(1000), rng.random() < 0.3
    if kind == "p.add_file":
        args["stem"], args["service"] = rng.choice(FILE_NAMES), rng.choice(SERVICE_NAMES + [""])
        args["name"] = rng.choice(RPC_NAMES)
    if kind.startswith("u."):
        args["where"] = rng.randrange(1000)
        args["decor"] = rng.randrange(len(DECOR))
    if kind == "u.implement":
        args["helper"] = rng.random() < 0.4
    if kind.startswith("f."):
        args["moment"] = rng.choice(MOMENTS[:3] if kind == "f.save" else MOMENTS)
        args["n"] = 1 if args["moment"] == "planned" else rng.randint(1, 8 if args["moment"].endswith("swap") else 3)
    if kind == "f.kill":
        args["edit_after"] = rng.random() < 0.5
    if kind.startswith("f."):  # a run with work to do, so the fault has moments to land at
        edit = rng.choice(FAULTED_EDITS)
        args["edit"], args["edit_args"] = edit, _draw(rng, edit).args
    return Step(kind, args)


FAULTED_EDITS = [
    "p.add_rpc",
    "p.add_rpc",
    "p.rename_rpc",
    "p.reshape_rpc",
    "p.remove_rpc",
    "p.add_service",
    "c.layout",
    "c.layout",
    "c.root",
]


def _pick(items: list[Any], pick: int) -> Any:
    return items[pick % len(items)] if items else None


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    number = 2
    while f"{name}{number}" in taken:
        number += 1
    return f"{name}{number}"


SHAPES = [(False, False), (False, True), (True, False), (True, True)]


# Proto edits. Each returns True when it changed the model.


def _file_with_messages(world: World, pick: int) -> ProtoFile:
    proto = _pick(world.protos.files, pick)
    if not proto.messages:
        proto.messages.append(Message("Item", [("name", "string")]))
    return proto


def p_add_rpc(world: World, a: dict[str, Any]) -> bool:
    pairs = world.protos.services()
    if not pairs:
        return p_add_service(world, a)
    proto, service = _pick(pairs, a["pick"])
    taken = {r.name.lower() for r in service.rpcs}
    name = _unique(a["name"], taken) if a["name"].lower() not in taken else _unique(a["name"] + "X", taken)
    if not proto.messages:
        proto.messages.append(Message("Item", [("name", "string")]))
    request = _pick(proto.messages, a["pick"] // 7).name
    response = _pick(proto.messages, a["pick"] // 13).name
    cs, ss = SHAPES[a["shape"]]
    comment = ODD_COMMENTS[a["comment"]] if a["comment"] >= 0 else None
    service.rpcs.insert(a["pick"] % (len(service.rpcs) + 1), Rpc(name, request, response, cs, ss, comment))
    return True


def p_remove_rpc(world: World, a: dict[str, Any]) -> bool:
    found = _pick(world.protos.rpcs(), a["pick"])
    if found is None:
        return False
    found[1].rpcs.remove(found[2])
    return True


def p_rename_rpc(world: World, a: dict[str, Any]) -> bool:
    found = _pick(world.protos.rpcs(), a["pick"])
    if found is None:
        return False
    _, service, rpc = found
    taken = {r.name.lower() for r in service.rpcs}
    rpc.name = _unique(a["name"] if a["name"].lower() not in taken else a["name"] + "Y", taken)
    return True


def p_reshape_rpc(world: World, a: dict[str, Any]) -> bool:
    found = _pick(world.protos.rpcs(), a["pick"])
    if found is None:
        return False
    proto, _, rpc = found
    new = SHAPES[a["shape"]]
    if new == (rpc.client_streaming, rpc.server_streaming):  # change the request type instead
        rpc.request = _pick(proto.messages, a["pick"] // 3 + 1).name
    rpc.client_streaming, rpc.server_streaming = new
    return True


def p_comment(world: World, a: dict[str, Any]) -> bool:
    text = ODD_COMMENTS[a["comment"]] if a["comment"] >= 0 else None
    targets: list[Any] = [r for _, _, r in world.protos.rpcs()] + [s for _, s in world.protos.services()]
    targets += [m for _, m in world.protos.messages()]
    target = _pick(targets, a["pick"])
    if target is None:
        return False
    target.comment = text
    return True


def p_add_service(world: World, a: dict[str, Any]) -> bool:
    proto = _file_with_messages(world, a["pick"])
    taken = {s.name for _, s in world.protos.services()}
    taken |= {s.name + "Stub" for _, s in world.protos.services()}
    name = _unique(a.get("service", "Store"), taken)
    message = proto.messages[0].name
    cs, ss = SHAPES[a.get("shape", 0)]
    comment = ODD_COMMENTS[a["comment"]] if a.get("comment", -1) >= 0 else None
    proto.services.append(Service(name, [Rpc(a.get("name", "Get"), message, message, cs, ss)], comment))
    return True


def p_remove_service(world: World, a: dict[str, Any]) -> bool:
    found = _pick(world.protos.services(), a["pick"])
    if found is None:
        return False
    found[0].services.remove(found[1])
    return True


def p_rename_service(world: World, a: dict[str, Any]) -> bool:
    found = _pick(world.protos.services(), a["pick"])
    if found is None:
        return False
    taken = {s.name for _, s in world.protos.services()}
    found[1].name = _unique(a["service"], taken | {s + "Stub" for s in taken})
    return True


def p_add_message(world: World, a: dict[str, Any]) -> bool:
    proto = _pick(world.protos.files, a["pick"])
    name = _unique(a["message"], {m.name for m in proto.messages})
    proto.messages.append(Message(name, [("name", "string")]))
    return True


def p_remove_message(world: World, a: dict[str, Any]) -> bool:
    candidates = [(f, m) for f, m in world.protos.messages() if len(f.messages) > 1]
    found = _pick(candidates, a["pick"])
    if found is None:
        return False
    proto, message = found
    proto.messages.remove(message)
    world.protos.drop_references(proto, message.name)
    keep = proto.messages[0].name
    for service in proto.services:
        for rpc in service.rpcs:
            rpc.request = keep if rpc.request == message.name else rpc.request
            rpc.response = keep if rpc.response == message.name else rpc.response
    for other in proto.messages:
        other.fields = [(n, t) for n, t in other.fields if t != message.name]
    return True


def p_add_field(world: World, a: dict[str, Any]) -> bool:
    found = _pick(world.protos.messages(), a["pick"])
    if found is None:
        return False
    proto, message = found
    kinds = SCALARS + [m.name for m in proto.messages if m is not message][:1]
    message.fields.append((_unique(a["field"], {n for n, _ in message.fields}), kinds[a["type"] % len(kinds)]))
    return True


def p_import_field(world: World, a: dict[str, Any]) -> bool:
    """A field of a message of another file, which the file then imports: one that does not see this file."""
    proto = _file_with_messages(world, a["pick"])
    seen = world.protos.seen_from
    others = [(f, m) for f, m in world.protos.messages() if f is not proto and proto.stem not in seen(f.stem)]
    found = _pick(others, a["from"])
    if found is None:
        return False
    other, used = found
    holder = _pick(proto.messages, a["pick"] // 7)
    holder.fields.append((_unique(a["field"], {n for n, _ in holder.fields}), f".{other.package}.{used.name}"))
    proto.imports[other.stem] = proto.imports.get(other.stem, False) or a["public"]
    return True


def p_remove_field(world: World, a: dict[str, Any]) -> bool:
    found = _pick([m for _, m in world.protos.messages() if m.fields], a["pick"])
    if found is None:
        return False
    found.fields.pop(a["pick"] % len(found.fields))
    return True


def p_add_file(world: World, a: dict[str, Any]) -> bool:
    taken = {f.stem for f in world.protos.files}
    stem = _unique(a["stem"], taken)
    proto = ProtoFile(stem, messages=[Message(a["message"], [("name", "string")])])
    if a["service"]:
        services = {s.name for _, s in world.protos.services()}
        name = _unique(a["service"], services | {s + "Stub" for s in services})
        proto.services.append(Service(name, [Rpc(a["name"], a["message"], a["message"])]))
    world.protos.files.append(proto)
    return True


def p_remove_file(world: World, a: dict[str, Any]) -> bool:
    if len(world.protos.files) < 2:
        return False
    world.protos.drop_references(world.protos.files.pop(a["pick"] % len(world.protos.files)))
    return True


# Config edits.


def c_layout(world: World, a: dict[str, Any]) -> bool:
    world.set_config("layout", '"single"' if world.config("layout") == '"per-service"' else '"per-service"')
    return True


def c_root(world: World, a: dict[str, Any]) -> bool:
    """`root_package` to another of the protos' packages, or to none: in a per-service layout each
    service's modules move whole; in a single one it only says where a later switch puts them."""
    current = world.config("root_package") or '""'
    choices = ['""', *sorted({f'"{f.package}"' for f in world.protos.files})]
    world.set_config("root_package", _pick([c for c in choices if c != current], a["pick"]))
    return True


def c_split(world: World, a: dict[str, Any]) -> bool:
    """A service in or out of `split_services` (per-service layout only): its modules go to parts, or parts
    back to one module, where they hold nothing of the user's; `gen` refuses, located, where they do."""
    if world.config("layout") != '"per-service"':
        return False
    names = sorted(f"{f.package}.{s.name}" for f in world.protos.files for s in f.services)
    if not names:
        return False
    found = re.search(r"\[(.*)\]", world.config("split_services") or "[]")
    listed = [item.strip().strip('"') for item in (found.group(1) if found else "").split(",") if item.strip()]
    name = _pick(names, a["pick"])
    listed = [n for n in listed if n != name] if name in listed else [*listed, name]
    world.set_config("split_services", "[" + ", ".join(f'"{n}"' for n in listed) + "]")
    return True


FEATURES = ("metrics", "health", "reflection", "otel", "web")
"""The options a `c.feature` step switches, by its pick: each adds or takes away runtime modules, dependencies
and lines of the user's `server.py` and tests, so each meets the user's edits there."""


def c_feature(world: World, a: dict[str, Any]) -> bool:
    return bool(_toggle(FEATURES[a["pick"] % len(FEATURES)])(world, a))


def _toggle(key: str) -> Any:
    def toggle(world: World, a: dict[str, Any]) -> bool:
        world.set_config(key, "false" if world.config(key) == "true" else "true")
        return True

    return toggle


# User edits: every line the user writes carries a fresh mark (`fz-0007`), tracked until found lost.

STUB_TODO = re.compile(r"^(?P<indent>[ \t]+)# TODO: (?:return an? |yield each )")
TOP_LEVEL = re.compile(r"^(?:async def|def|class) \w+")


def _servicer_modules(world: World) -> list[str]:
    return [
        p
        for p in world.user_python()
        if re.search(r"^class \w+\(", world.text(p), re.MULTILINE) and "Servicer" in world.text(p)
    ]


def _lines(world: World, path: str) -> list[str]:
    """The lines of a file as Python's tokenizer counts them (never split at U+2028, U+0085, form feed)."""
    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", world.text(path))


def _literal(text: str) -> str:
    """A Python string literal holding `text` with its odd characters as they are (not escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _eol(lines: list[str]) -> str:
    first = lines[0] if lines else "\n"
    return "\r\n" if first.endswith("\r\n") else "\r" if first.endswith("\r") else "\n"


def u_implement(world: World, a: dict[str, Any]) -> bool:
    stubs = [
        (p, i) for p in _servicer_modules(world) for i, line in enumerate(_lines(world, p)) if STUB_TODO.match(line)
    ]
    found = _pick(stubs, a["pick"])
    if found is None:
        return False
    path, index = found
    lines = _lines(world, path)
    indent, eol = STUB_TODO.match(lines[index]).group("indent"), _eol(lines)  # type: ignore[union-attr]
    mark = world.mark(path, "implemented method")
    helpers = re.findall(r"^def (fz_helper_\d+)\(", "".join(lines), re.MULTILINE)
    value = (
        f'{helpers[a["where"] % len(helpers)]}("{mark}")'
        if a["helper"] and helpers
        else _literal(f"{mark}{DECOR[a['decor']]}")
    )
    lines[index : index + 1] = [
        f"{indent}# {mark}: the user's code{DECOR[a['decor']]}{eol}",
        f"{indent}detail = {value}{eol}",
    ]
    world.write(path, "".join(lines))
    return True


def _insert_top_level(world: World, path: str, where: int, block: list[str]) -> None:
    """Insert `block` (lines without endings) before a top-level def/class, or at the end."""
    lines = _lines(world, path)
    eol = _eol(lines)
    spots = [i for i, line in enumerate(lines) if TOP_LEVEL.match(line)] + [len(lines)]
    at = spots[where % len(spots)]
    while at > 0 and at < len(lines) and (lines[at - 1].startswith("#") or lines[at - 1].startswith("@")):
        at -= 1  # a def's comments and decorators stay with it
    text = "".join(f"{line}{eol}" for line in ["", "", *block, "", ""])
    if at == len(lines) and lines and not lines[-1].endswith(("\n", "\r")):
        text = eol + text
    lines.insert(at, text)
    world.write(path, "".join(lines))


def u_helper(world: World, a: dict[str, Any]) -> bool:
    path = _pick(_servicer_modules(world) or world.user_python(), a["pick"])
    if path is None:
        return False
    mark = world.mark(path, "helper function")
    name = f"fz_helper_{mark[3:]}"
    block = [
        f"def {name}(value: str) -> str:",
        f'    """{mark}: a helper of the user."""  # {DECOR[a["decor"]]}',
        f'    return value + "{mark}"',
    ]
    _insert_top_level(world, path, a["where"], block)
    return True


def u_import(world: World, a: dict[str, Any]) -> bool:
    path = _pick(world.user_python(), a["pick"])
    if path is None:
        return False
    lines = _lines(world, path)
    imports = [i for i, line in enumerate(lines) if re.match(r"(import|from) \w", line) and "__future__" not in line]
    if not imports:
        return False
    eol = _eol(lines)
    choices = [
        m for m in ("fractions", "decimal", "textwrap", "statistics") if f"import {m}  #" not in world.text(path)
    ]
    if not choices:
        return False  # a user does not import the same module twice: that F811 would be theirs, not scaffold's
    # Marked only once the lines will be written: a mark for lines never written is "lost" (seed 13000).
    mark, mark2 = world.mark(path, "import"), world.mark(path, "module statement using the import")
    module = choices[a["where"] % len(choices)]
    at = imports[a["where"] % len(imports)] + 1
    while at < len(lines) and lines[at].startswith((" ", ")")):
        at += 1  # after a parenthesised import
    lines.insert(at, f"import {module}  # {mark}{eol}")
    last = max(i for i, line in enumerate(lines) if re.match(r"(import|from) \w", line)) + 1
    while last < len(lines) and lines[last].startswith((" ", ")")):
        last += 1
    lines.insert(last, f'{eol}FZ_{mark2[3:]} = {module}.__name__ + "{mark2}"{eol}')
    world.write(path, "".join(lines))
    return True


def u_statement(world: World, a: dict[str, Any]) -> bool:
    path = _pick(world.user_python(), a["pick"])
    if path is None:
        return False
    names = re.findall(r"^(?:class|def) (\w+)", world.text(path), re.MULTILINE)
    if not names:
        return False
    mark = world.mark(path, "module statement naming a class or function")
    name = names[a["where"] % len(names)]
    lines = _lines(world, path)
    eol = _eol(lines)
    tail = "" if not lines or lines[-1].endswith(("\n", "\r")) else eol
    world.write(path, "".join(lines) + f"{tail}{eol}FZ_ALIAS_{mark[3:]} = {name}  # {mark}{DECOR[a['decor']]}{eol}")
    return True


def u_comment(world: World, a: dict[str, Any]) -> bool:
    path = _pick(world.user_python(), a["pick"])
    if path is None:
        return False
    lines = _lines(world, path)
    eol = _eol(lines)
    mark = world.mark(path, "comment")
    text = f"# {mark}: a comment of the user{DECOR[a['decor']]}"
    bodies = [i + 1 for i, line in enumerate(lines[:-1]) if re.match(r"\s*(async )?def .*:\s*$", line)]
    tops = [i for i, line in enumerate(lines) if TOP_LEVEL.match(line)]
    if a["where"] % 2 and bodies:
        at = bodies[a["where"] % len(bodies)]
        indent = re.match(r"[ \t]*", lines[at]).group(0)  # type: ignore[union-attr]
        lines.insert(at, f"{indent}{text}{eol}")
    elif tops:
        lines.insert(tops[a["where"] % len(tops)], f"{text}{eol}")  # a column-0 comment above a def/class
    else:
        lines.append(f"{text}{eol}")
    world.write(path, "".join(lines))
    return True


def u_header(world: World, a: dict[str, Any]) -> bool:
    path = _pick(world.user_python(), a["pick"])
    if path is None:
        return False
    lines = _lines(world, path)
    eol = _eol(lines)
    mark = world.mark(path, "licence header")
    header = [f"# Copyright 2026 The Fuzzers{DECOR[a['decor']]} ({mark})", "# SPDX-License-Identifier: Apache-2.0", ""]
    world.write(path, "".join(f"{line}{eol}" for line in header) + "".join(lines))
    return True


def u_test(world: World, a: dict[str, Any]) -> bool:
    tests = [p for p in world.user_python() if p.startswith("tests/") and p.rsplit("/", 1)[-1].startswith("test_")]
    path = _pick(tests, a["pick"])
    if path is None:
        return False
    mark, mark2 = world.mark(path, "fixture of the user"), world.mark(path, "test of the user")
    text = mark2 + DECOR[a["decor"]]
    block = [
        "@pytest.fixture",
        f"def fz_fixture_{mark[3:]}() -> str:",
        f'    return "{mark}"',
        "",
        "",
        f"def test_fz_{mark2[3:]}(fz_fixture_{mark[3:]}: str) -> None:",
        f"    assert fz_fixture_{mark[3:]} != {_literal(text)}",
    ]
    _insert_top_level(world, path, a["where"], block)
    if not any(re.match(r"import pytest\b", line) for line in _lines(world, path)):  # CR-only lines too
        _import_pytest(world, path)  # a user who writes a fixture imports pytest (seed 16000, shrunk)
    return True


def _import_pytest(world: World, path: str) -> None:
    lines = _lines(world, path)
    imports = [i for i, line in enumerate(lines) if re.match(r"(import|from) \w", line) and "__future__" not in line]
    at = imports[0] if imports else 0
    lines.insert(at, f"import pytest{_eol(lines)}")
    world.write(path, "".join(lines))


def u_ruff(world: World, a: dict[str, Any]) -> bool:
    path = _pick(world.user_python(), a["pick"])
    if path is None:
        return False
    world.ruff_format(path)
    return True


def u_delete_stub(world: World, a: dict[str, Any]) -> bool:
    stubs = []
    for path in _servicer_modules(world):
        lines = _lines(world, path)
        for i, line in enumerate(lines):
            if re.match(r"    (async )?def \w+\($", line.rstrip("\r\n")):
                end = i + 1
                while end < len(lines) and (
                    not lines[end].strip() or lines[end].startswith("        ") or lines[end].startswith("    )")
                ):
                    end += 1
                body = "".join(lines[i:end])
                if "# TODO: " in body and "fz-" not in body:
                    while end > i and not lines[end - 1].strip():
                        end -= 1
                    stubs.append((path, i, end))
    found = _pick(stubs, a["pick"])
    if found is None:
        return False
    path, start, end = found
    lines = _lines(world, path)
    del lines[start:end]
    if start < len(lines) and not lines[start].strip() and start > 0 and not lines[start - 1].strip():
        del lines[start]
    world.write(path, "".join(lines))
    return True


def u_edit_generated(world: World, a: dict[str, Any]) -> bool:
    path = _pick(world.generated(), a["pick"])
    if path is None:
        return False
    mark = world.mark(path, "hand edit of a generated file")
    world.write(path, world.text(path) + f"# {mark}: edited by hand{DECOR[a['decor']]}\n")
    world.expect_stale = True
    return True


def u_crlf(world: World, a: dict[str, Any]) -> bool:
    path = _pick(world.user_python(), a["pick"])
    if path is None:
        return False
    text = world.text(path).replace("\r\n", "\n")
    world.write(path, text.replace("\n", "\r\n") if a["where"] % 3 else text.replace("\n", "\r"))
    return True


def u_unicode(world: World, a: dict[str, Any]) -> bool:
    path = _pick(world.user_python(), a["pick"])
    if path is None:
        return False
    mark = world.mark(path, "string with line separators")
    odd = ["\u2028", "\u0085", "\x0c", "\u2029", "\x1c"][a["where"] % 5]
    lines = _lines(world, path)
    eol = _eol(lines)
    tail = "" if not lines or lines[-1].endswith(("\n", "\r")) else eol
    value = _literal(f"{mark} a{odd}b{DECOR[a['decor']]}")
    statement = f"FZ_TEXT_{mark[3:]} = {value}  # {odd} in a comment{eol}"
    world.write(path, "".join(lines) + tail + statement)
    return True


def u_module(world: World, a: dict[str, Any]) -> bool:
    """A module of the user's own beside the servicer modules, named as a service of the pool would be:
    when a later edit adds or renames a service to that name, scaffold renders its module at that path
    and must take the user's lines in (seed 36007), not leave the project without the servicer."""
    modules = _servicer_modules(world)
    if not modules:
        return False
    directory = modules[a["pick"] % len(modules)].rpartition("/")[0]
    service = SERVICE_NAMES[a["where"] % len(SERVICE_NAMES)]
    path = f"{directory}/{re.sub(r'(?<!^)(?=[A-Z])', '_', service).lower()}.py"
    if (world.project / path).exists():
        return False
    mark = world.mark(path, "module of the user's")
    world.write(
        path,
        f'"""{mark}: helpers of the user, written before any service of this name."""\n\n'
        f"FZ_LIMIT_{mark[3:]} = 3  # {DECOR[a['decor']]}\n\n\n"
        f"def fz_module_{mark[3:]}(value: str) -> str:\n"
        f'    return value + "{mark}"\n',
    )
    return True


def u_pyproject(world: World, a: dict[str, Any]) -> bool:
    mark = world.mark("pyproject.toml", "comment in pyproject.toml")
    text = world.text("pyproject.toml")
    world.write("pyproject.toml", text + f"# {mark}: a note of the user{DECOR[a['decor']]}\n")
    return True


EDITS = {
    "p.add_rpc": p_add_rpc,
    "p.remove_rpc": p_remove_rpc,
    "p.rename_rpc": p_rename_rpc,
    "p.reshape_rpc": p_reshape_rpc,
    "p.comment": p_comment,
    "p.add_service": p_add_service,
    "p.remove_service": p_remove_service,
    "p.rename_service": p_rename_service,
    "p.add_message": p_add_message,
    "p.remove_message": p_remove_message,
    "p.add_field": p_add_field,
    "p.remove_field": p_remove_field,
    "p.import_field": p_import_field,
    "p.add_file": p_add_file,
    "p.remove_file": p_remove_file,
    "c.layout": c_layout,
    "c.root": c_root,
    "c.aio": _toggle("aio"),
    "c.metrics": _toggle("metrics"),  # replays of sequences drawn before "c.feature"
    "c.feature": c_feature,
    "c.split": c_split,
    "c.tls": _toggle("tls"),
    "u.implement": u_implement,
    "u.helper": u_helper,
    "u.import": u_import,
    "u.statement": u_statement,
    "u.comment": u_comment,
    "u.header": u_header,
    "u.test": u_test,
    "u.ruff": u_ruff,
    "u.delete_stub": u_delete_stub,
    "u.edit_generated": u_edit_generated,
    "u.crlf": u_crlf,
    "u.unicode": u_unicode,
    "u.pyproject": u_pyproject,
    "u.module": u_module,
}
