"""An incremental protoc stage says what a full run says, on trees whose protos share packages and names.

Six protos in a few packages that overlap (`p`, `p.q`, a package `p.A` beside a message `p.A`), with
messages and top-level enum values drawn from small sets, imports (some public), fields of imported
messages, extensions of one base message and services, edited at random. After each edit the
incremental run (`scaffold.generation.incremental.run`, with the record of the last run that passed)
and a full protoc run must agree: the same outputs, descriptors and warnings, or the same errors, word
for word. What protoc says about a name depends on every file it has read (who declared it first, where
a type it cannot see is defined), and a full run reads them all.

One difference is left, and allowed here: protoc warns that two protos extend a message with one number
only when it reads both, which a run that compiles one of them does not.
"""

from __future__ import annotations

import functools
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from scaffold.core.errors import ScaffoldError
from scaffold.generation import incremental, protoc

_PACKAGES = ["p", "p.q", "r", "p.A"]
_MESSAGES = ["A", "B", "C", "D"]
_VALUES = ["X", "Y", "Z"]
_EDITS = ["message+", "message-", "enum", "import+", "import-", "package", "comment", "extension", "field"]
_EDITS += ["public", "service", "repair", "repair"]
_T = TypeVar("_T")


class _Proto:
    def __init__(self, index: int, rng: random.Random) -> None:
        self.index, self.package, self.messages = index, rng.choice(_PACKAGES), [f"M{index}"]  # a tree that passes
        self.values: list[str] = []
        self.imports: dict[int, str] = {}  # imported proto -> "" or "public "
        self.fields: list[str] = []
        self.extensions: list[int] = []
        self.service, self.comments = rng.random() < 0.4, 0

    def text(self, base_package: str) -> str:
        lines = ['syntax = "proto2";', f"package {self.package};"]
        lines += [f'import {kind}"f{i}.proto";' for i, kind in sorted(self.imports.items())]
        lines += [f"// comment {n}" for n in range(self.comments)]
        if self.index == 0:
            lines.append("message Base { extensions 100 to 120; }")
        for position, message in enumerate(dict.fromkeys(self.messages)):
            fields = self.fields if position == 0 else []
            lines.append(
                f"message {message} {{ {' '.join(f'optional {t} f{n} = {n + 1};' for n, t in enumerate(fields))} }}"
            )
        if self.values:
            lines.append(f"enum E{self.index} {{ {' '.join(f'{v} = {n};' for n, v in enumerate(self.values))} }}")
        lines += [f"extend {base_package}.Base {{ optional int32 x{self.index}_{n} = {n}; }}" for n in self.extensions]
        if self.service:
            lines.append(f"service S{self.index} {{ rpc Call({self.messages[0]}) returns ({self.messages[0]}); }}")
        return "\n".join(lines) + "\n"


def _edit(rng: random.Random, protos: list[_Proto]) -> None:
    proto, kind = rng.choice(protos), rng.choice(_EDITS)
    if kind == "message+":
        proto.messages.append(rng.choice(_MESSAGES))
    elif kind == "message-" and len(proto.messages) > 1:
        proto.messages.pop(rng.randrange(len(proto.messages)))
    elif kind == "enum":
        proto.values = [] if proto.values else rng.sample(_VALUES, rng.randint(1, 2))
    elif kind == "import+" and proto.index:
        proto.imports[rng.randrange(proto.index)] = ""
    elif kind == "import-" and proto.imports:
        del proto.imports[rng.choice(list(proto.imports))]  # its fields stay: "not imported" errors, until repaired
    elif kind == "package":
        proto.package = rng.choice(_PACKAGES)
    elif kind == "comment":
        proto.comments += 1
    elif kind == "extension" and proto.index:
        proto.imports.setdefault(0, "")
        proto.extensions.append(rng.choice([100, 101, 102, 103]))
    elif kind == "field" and proto.imports:
        imported = protos[rng.choice(list(proto.imports))]
        proto.fields.append(f".{imported.package}.{imported.messages[0]}")
    elif kind == "public" and proto.imports:
        chosen = rng.choice(list(proto.imports))
        proto.imports[chosen] = "" if proto.imports[chosen] else "public "
    elif kind == "service":
        proto.service = not proto.service
    elif kind == "repair":  # what names a type or number that may be gone, or a name others may declare, taken out
        proto.fields, proto.extensions, proto.messages, proto.values = [], [], proto.messages[:1], []


def _write(root: Path, protos: list[_Proto]) -> None:
    settled = time.time() - 10  # saved well before the run: recorded when compiled
    for proto in protos:
        path = root / f"f{proto.index}.proto"
        text = proto.text(protos[0].package)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        os.utime(path, (settled, settled))


def _said(run: Callable[[], _T]) -> tuple[_T | None, list[str]]:
    """What a run gave, or the errors it raised, as the user reads them."""
    try:
        return run(), []
    except ScaffoldError as error:
        return None, [str(problem) for problem in error.diagnostics]


@pytest.mark.parametrize("seed", range(12))
def test_an_incremental_run_says_what_a_full_run_says_when_protos_share_packages_and_names(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    protos = [_Proto(index, rng) for index in range(6)]
    for proto in protos[1:]:
        if rng.random() < 0.6:
            proto.imports[rng.randrange(proto.index)] = ""
    _write(tmp_path, protos)
    inputs = protoc.resolve_inputs(sorted(tmp_path.glob("*.proto")), [tmp_path])
    first, _ = _said(lambda: incremental.run(inputs, [tmp_path], None))
    record = first[1] if first else None
    failures = passes = 0
    for step in range(60):
        for _ in range(rng.choice((1, 2))):
            _edit(rng, protos)
        _write(tmp_path, protos)
        full, full_errors = _said(lambda: protoc.run(inputs, [tmp_path]))
        partial, errors = _said(functools.partial(incremental.run, inputs, [tmp_path], record))
        assert errors == full_errors, step
        if full is None or partial is None:
            failures += 1
            continue
        passes += 1
        result, record = partial
        assert result.outputs == full.outputs, step
        assert result.descriptors == full.descriptors, step
        differing = set(result.warnings) ^ set(full.warnings)
        assert all("Extension number" in warning.message for warning in differing), (step, differing)
    assert failures and passes  # each seed meets both
