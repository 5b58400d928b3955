"""Early cutoff in protoc's stage (`scaffold.generation.incremental`): an edited proto whose descriptor,
source info aside, is what the record holds leaves its importers' outputs as they were. Seeded random
edits of a tree whose protos import each other (some publicly), share a custom option and an enum; after
each, the incremental result is compared with a full protoc run of the same tree."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from scaffold.core.errors import ScaffoldError
from scaffold.generation import incremental, protoc
from scaffold.generation.protocresult import ProtoInput

_PROTOS = 9


class _Tree:
    """Protos t0..t8 in packages of their own. t0 defines a field option and an enum; each later proto
    imports one or two earlier ones (t0 among them where it uses the option), uses a message (and maybe the
    enum) of each, and serves one RPC whose response comes from an import."""

    def __init__(self, rng: random.Random, root: Path) -> None:
        self.root = root
        self.imports: dict[int, list[tuple[int, bool]]] = {}  # proto -> (imported proto, public)
        self.fields: dict[int, list[tuple[str, list[str]]]] = {}  # proto -> (declaration, options)
        self.comments: dict[int, list[str]] = {}
        self.option_number, self.enum_values = 50001, ["COLOR_UNSPECIFIED", "RED"]
        for n in range(1, _PROTOS):
            picked = sorted(rng.sample(range(n), min(n, rng.choice((1, 2)))))
            self.imports[n] = [(i, rng.random() < 0.3) for i in picked]
            self.fields[n] = [(f"t{i}.M{i} from{i} = {k}", []) for k, (i, _) in enumerate(self.imports[n], 1)]
            if 0 in picked and rng.random() < 0.7:
                self.fields[n][0][1].append(f"(t0.weight) = {n}")
            self.comments[n] = []
        self.fields[0], self.comments[0] = [("string name = 1", []), ("t0.Color color = 2", [])], []

    def text(self, n: int) -> str:
        lines = ['syntax = "proto3";', "", f"package t{n};", ""]
        if n == 0:
            lines += ['import "google/protobuf/descriptor.proto";', ""]
            lines += [f"extend google.protobuf.FieldOptions {{\n  int32 weight = {self.option_number};\n}}", ""]
            lines += ["enum Color {", *(f"  {v} = {i};" for i, v in enumerate(self.enum_values)), "}", ""]
        lines += [f'import {"public " if public else ""}"t{i}.proto";' for i, public in self.imports.get(n, [])]
        lines += ["", *self.comments[n], f"message M{n} {{", *(f"  {_field(*f)};" for f in self.fields[n]), "}", ""]
        if n:
            response = self.imports[n][-1][0]
            lines += [
                f"// Serves M{n}.",
                f"service S{n} {{",
                f"  rpc Call(M{n}) returns (t{response}.M{response});",
                "}",
            ]
        return "\n".join(lines) + "\n"

    def write(self) -> list[Path]:
        settled = time.time() - 10  # saved well before the run: recorded when first compiled
        paths = []
        for n in range(_PROTOS):
            path = self.root / f"t{n}.proto"
            if not path.exists() or path.read_text() != self.text(n):
                path.write_text(self.text(n))
            os.utime(path, (settled, settled))
            paths.append(path)
        return paths

    def edit(self, rng: random.Random, step: int) -> tuple[int, bool]:
        """One edit of one proto: which, and whether it keeps every declaration."""
        n = rng.randrange(_PROTOS)
        kind = rng.choice(["comment", "blank", "field", "deprecated", "weight", "public", "option", "enum"])
        options = self.fields[n][-1][1]
        weighted = [o for o in self.fields[n][0][1] if o.startswith("(t0.weight)")]
        if kind == "blank":
            self.comments[n].append("")
        elif kind == "field":
            self.fields[n].append((f"string extra{step} = {100 + step}", []))
        elif kind == "deprecated":
            if "deprecated = true" in options:
                options.remove("deprecated = true")
            else:
                options.append("deprecated = true")
        elif kind == "weight" and weighted:
            self.fields[n][0][1][self.fields[n][0][1].index(weighted[0])] = f"(t0.weight) = {1000 + step}"
        elif kind == "public" and n:
            i, public = self.imports[n][0]
            self.imports[n][0] = (i, not public)
        elif kind == "option":
            n, self.option_number = 0, self.option_number + 1
        elif kind == "enum":
            n = 0
            self.enum_values.append(f"SHADE{step}")
        else:  # a comment, or an edit this proto has nothing for
            kind = "comment"
            self.comments[n].append(f'// Note {step}: "quoted", {{braces}}, caf\u00e9.')
        return n, kind in ("comment", "blank")


def _field(declaration: str, options: list[str]) -> str:
    return f"{declaration} [{', '.join(options)}]" if options else declaration


@pytest.mark.parametrize("seed", range(6))
def test_an_incremental_run_after_random_edits_equals_a_full_one_and_skips_importers_only_where_nothing_declared_changed(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    tree = _Tree(rng, tmp_path)
    inputs = protoc.resolve_inputs(tree.write(), [tmp_path])
    _, record = incremental.run(inputs, [tmp_path], None)
    skipped = 0
    for step in range(12):
        edited = {tree.edit(rng, step) for _ in range(rng.choice((1, 1, 2)))}
        tree.write()
        result, record = incremental.run(inputs, [tmp_path], record)
        full = protoc.run(inputs, [tmp_path])
        assert result.outputs == full.outputs, (seed, step, edited)
        assert result.descriptors == full.descriptors
        assert result.generated_names == full.generated_names
        assert set(result.warnings) == set(full.warnings)
        names = {f"t{n}.proto" for n, _ in edited}
        assert names <= set(result.compiled)
        if all(kept for _, kept in edited):
            assert set(result.compiled) == names  # comments and layout only: not one importer
            skipped += 1
        assert incremental.run(inputs, [tmp_path], record)[0].compiled == ()
    assert skipped  # every seed edits comments or layout alone at least once


_A = 'syntax = "proto3";\npackage p;\nmessage Foo {}\nenum E { E_UNSPECIFIED = 0; RED = 1; }\n'
_B = 'syntax = "proto3";\npackage p;\nmessage Bar {}\nservice S { rpc M(Bar) returns (Bar); }\n'
_Y = 'syntax = "proto3";\npackage y;\nimport "google/protobuf/descriptor.proto";\nimport "v.proto";\n'
_CASES = {
    # Options kept only in source bind the importers: stripped from the descriptor, seen only in the text.
    "an extension declaration": (
        {
            "v.proto": 'syntax = "proto2";\npackage v;\nmessage Ext {\n  extensions 100 to 200 [\n    declaration'
            ' = { number: 100, full_name: ".x.foo", type: "int32" }\n  ];\n}\n',
            "x.proto": 'syntax = "proto2";\npackage x;\nimport "v.proto";\nextend v.Ext { optional int32 foo = 100; }\n',
        },
        {"v.proto": ('type: "int32"', 'type: "string"')},
    ),
    "a symbol's visibility": (
        {
            "v.proto": 'edition = "2024";\npackage v;\noption features.default_symbol_visibility = EXPORT_ALL;\n'
            "message M { int32 a = 1; }\n",
            "x.proto": 'edition = "2024";\npackage x;\nimport "v.proto";\nmessage X { v.M m = 1; }\n',
        },
        {"v.proto": ("EXPORT_ALL", "LOCAL_ALL")},
    ),
    # An option's value is encoded by types its setter does not see.
    "an option's enum and message, renumbered": (
        {
            "v.proto": 'syntax = "proto3";\npackage v;\nenum Kind { A = 0; B = 1; }\nmessage Box { int32 a = 1; }\n',
            "y.proto": _Y + "extend google.protobuf.FieldOptions {\n  v.Kind kind = 50000;\n  v.Box box = 50001;\n}\n",
            "z.proto": 'syntax = "proto3";\npackage z;\nimport "y.proto";\n'
            "message Z { int32 f = 1 [(y.kind) = B, (y.box) = { a: 7 }]; }\n",
        },
        {"v.proto": ("B = 1; }\nmessage Box { int32 a = 1;", "B = 2; }\nmessage Box { int32 a = 3;")},
    ),
    "an option's enum value, renamed": (
        {
            "v.proto": 'syntax = "proto3";\npackage v;\nenum Kind { A = 0; B = 1; }\n',
            "y.proto": _Y + "extend google.protobuf.FieldOptions { v.Kind kind = 50000; }\n",
            "z.proto": 'syntax = "proto3";\npackage z;\nimport "y.proto";\nmessage Z { int32 f = 1 [(y.kind) = B]; }\n',
        },
        {"v.proto": ("B = 1", "C = 1")},
    ),
    "an option's type, resolved elsewhere": (
        {
            "v.proto": 'syntax = "proto3";\npackage a.b;\nmessage Other {}\n',
            "w.proto": 'syntax = "proto3";\npackage a;\nmessage T { int32 x = 1; }\n',
            "y.proto": 'syntax = "proto3";\npackage a.b;\nimport "google/protobuf/descriptor.proto";\nimport "w.proto";\n'
            'import "v.proto";\nextend google.protobuf.FieldOptions { T t = 50000; }\n',
            "z.proto": 'syntax = "proto3";\npackage z;\nimport "y.proto";\nmessage Z { int32 f = 1 [(a.b.t).x = 5]; }\n',
        },
        {"v.proto": ("message Other {}", "message Other {}\nmessage T { int32 y = 1; int32 x = 2; }")},
    ),
    "an option's own declarer, its type two imports away": (
        {
            "v.proto": 'syntax = "proto3";\npackage v;\nmessage Inner { int32 b = 1; }\n',
            "w.proto": 'syntax = "proto3";\npackage w;\nimport "v.proto";\nmessage Msg { v.Inner a = 1; }\n',
            "y.proto": 'syntax = "proto3";\npackage y;\nimport "google/protobuf/descriptor.proto";\nimport "w.proto";\n'
            "extend google.protobuf.FieldOptions { w.Msg opt = 50000; }\n"
            "message M { int32 f = 1 [(opt) = { a: { b: 7 } }]; }\n",
        },
        {"v.proto": ("b = 1", "b = 3")},
    ),
    "an extension inside an option, its type from a proto the setter does not see": (
        {
            "v.proto": 'syntax = "proto2";\npackage v;\nmessage Inner { optional int32 b = 1; }\n',
            "w.proto": 'syntax = "proto2";\npackage w;\nmessage Msg { optional int32 a = 1; extensions 100 to 200; }\n',
            "p.proto": 'syntax = "proto2";\npackage p;\nimport "w.proto";\nimport "v.proto";\n'
            "extend w.Msg { optional v.Inner pin = 100; }\n",
            "y.proto": 'syntax = "proto2";\npackage y;\nimport "google/protobuf/descriptor.proto";\nimport "w.proto";\n'
            "extend google.protobuf.FieldOptions { optional w.Msg opt = 50000; }\n",
            "z.proto": 'syntax = "proto2";\npackage z;\nimport "y.proto";\nimport "p.proto";\n'
            "message Z { optional int32 f = 1 [(y.opt) = { a: 1 [p.pin] { b: 7 } }]; }\n",
        },
        {"v.proto": ("b = 1", "b = 3")},
    ),
    "an Any inside an option": (
        {
            "v.proto": 'syntax = "proto3";\npackage v;\nenum Kind { A = 0; B = 1; }\n',
            "p.proto": 'syntax = "proto3";\npackage p;\nimport "v.proto";\nmessage Packed { v.Kind kind = 1; }\n',
            "y.proto": 'syntax = "proto3";\npackage y;\nimport "google/protobuf/descriptor.proto";\n'
            'import "google/protobuf/any.proto";\nextend google.protobuf.MessageOptions { google.protobuf.Any opt = 50000; }\n',
            "z.proto": 'syntax = "proto3";\npackage z;\nimport "y.proto";\nimport "p.proto";\n'
            "message Z { option (y.opt) = { [type.googleapis.com/p.Packed] { kind: B } }; }\n",
        },
        {"v.proto": ("B = 1", "B = 2")},
    ),
    # A name another proto declares, which protoc refuses only when it reads both: a full run reads all.
    "a message a proto that is not imported declares": (
        {"a.proto": _A, "b.proto": _B},
        {"b.proto": ("message Bar {}", "message Bar {}\nmessage Foo {}")},
    ),
    "an enum value beside its enum, at the package's top level": (
        {"a.proto": _A, "b.proto": _B},
        {"b.proto": ("message Bar {}", "message Bar {}\nmessage RED {}")},
    ),
    "a package named as another proto's message": (
        {"a.proto": _A, "b.proto": _B},
        {"b.proto": ("package p;", "package p.Foo;")},
    ),
    # Edition 2024's `import option` is not an import, yet the option's value is encoded by what it brings.
    "an extension brought by import option": (
        {
            "opts.proto": 'edition = "2023";\npackage my;\nimport "google/protobuf/descriptor.proto";\n'
            "extend google.protobuf.MessageOptions { int32 tag = 50001; }\n",
            "x.proto": 'edition = "2024";\npackage x;\nimport option "opts.proto";\n'
            "message M { option (my.tag) = 7; }\n",
        },
        {"opts.proto": ("50001", "50002")},
    ),
}


def _recorded(root: Path, files: dict[str, str]) -> tuple[list[ProtoInput], incremental.Record]:
    """`files` written under `root` well before the run, and the record of their first run."""
    settled = time.time() - 10
    for name, text in files.items():
        (root / name).write_text(text)
        os.utime(root / name, (settled, settled))
    inputs = protoc.resolve_inputs(sorted(root.glob("*.proto")), [root])
    return inputs, incremental.run(inputs, [root], None)[1]


@pytest.mark.parametrize("case", _CASES)
def test_an_edit_that_reaches_importers_only_through_what_descriptors_drop_or_their_options_types_compiles_them(
    tmp_path: Path, case: str
) -> None:
    """Each case keeps the edited proto's stripped descriptor (or the descriptors its importer sees) as they
    were, yet a full run gives its importer other bytes or an error: the incremental run gives the same."""
    files, edits = _CASES[case]
    inputs, record = _recorded(tmp_path, files)
    assert set(files) <= set(record)
    for name, (old, new) in edits.items():
        text = (tmp_path / name).read_text()
        assert old in text
        (tmp_path / name).write_text(text.replace(old, new))
    try:
        full = protoc.run(inputs, [tmp_path])
    except ScaffoldError as error:
        with pytest.raises(ScaffoldError) as raised:
            incremental.run(inputs, [tmp_path], record)
        assert raised.value.diagnostics == error.diagnostics
        return
    result, _ = incremental.run(inputs, [tmp_path], record)
    assert len(result.compiled) > len(edits)
    assert result.outputs == full.outputs and result.descriptors == full.descriptors
    assert set(result.warnings) == set(full.warnings)


def test_a_comment_in_a_proto_whose_extension_number_an_importer_uses_too_keeps_the_importers_warning(
    tmp_path: Path,
) -> None:
    """protoc warns about the later of two protos extending a message with one number, at its extension:
    the warning is the importer's, kept with it, so a comment in the other compiles that one alone."""
    files = {
        "y.proto": 'syntax = "proto2";\npackage y;\nmessage M { extensions 100 to 200; }\n',
        "v.proto": 'syntax = "proto2";\npackage v;\nimport "y.proto";\nextend y.M { optional int32 vf = 100; }\n'
        "message V {}\n",
        "x.proto": 'syntax = "proto2";\npackage x;\nimport "y.proto";\nimport "v.proto";\n'
        "extend y.M { optional int32 xf = 100; }\nmessage X { optional v.V v = 1; }\n",
    }
    inputs, record = _recorded(tmp_path, files)
    (tmp_path / "v.proto").write_text(files["v.proto"] + "// a comment\n")
    result, _ = incremental.run(inputs, [tmp_path], record)
    full = protoc.run(inputs, [tmp_path])
    assert result.compiled == ("v.proto",)
    assert result.outputs == full.outputs and result.warnings == full.warnings
    assert [(w.path, w.line) for w in full.warnings] == [((tmp_path / "x.proto").as_posix(), 5)]
