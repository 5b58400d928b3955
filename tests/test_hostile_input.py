"""Protos real teams have, and input that breaks naive generators: each case
is generated through the CLI and what it wrote is imported, served and called
in subprocesses, or refused with one located line and nothing written."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from conftest import TEST_PROTOS, check_project, run_python, run_scaffold, tree

FLAVOURS = pytest.mark.parametrize("aio", [False, True], ids=["sync", "aio"])


@FLAVOURS
def test_hostile_names_and_comments_generate_code_that_imports_serves_and_type_checks(
    tmp_path: Path, aio: bool
) -> None:
    out = tmp_path / "out"
    result = run_scaffold("new", TEST_PROTOS / "hostile/hostile.proto", "-o", out, *(["--aio"] if aio else []))
    assert result.returncode == 0, result.stderr
    docs = check_project(out, "hostile").docs

    comment = (
        'Ends a docstring early """ and holds escapes: \\N{BULLET} \\p{L} \\* \\x \\u12,\n'
        "non-ASCII (café, 東京), and template syntax: {{ name }} {% if x %}."
    )
    # grpc's own module, repaired, and our servicer: each docstring means the comment, exactly.
    assert inspect.cleandoc(docs["hostile.generated.hostile_pb2_grpc"]["HostileServicer"] or "") == comment
    # Two services: one module each (the per-service layout), at the top: both are in hostile.v1.
    assert inspect.cleandoc(docs["hostile.services.hostile"]["HostileServicer"] or "") == comment

    files = tree(out)
    client = files["hostile/clients/hostile.py"].decode()
    assert "def import_(stub: hostile_pb2_grpc.HostileStub)" in client  # `Import` snake_cased is a keyword
    assert '"sayHello"' in client and "Deprecated" in client
    assert "EmptyStub" not in client  # nothing to call on a service without RPCs, nor to test
    assert "hostile/services/empty.py" in files
    assert not {"hostile/clients/empty.py", "tests/test_empty.py"} & set(files)
    stubs = files["hostile/generated/hostile_pb2.pyi"].decode()
    assert "float: _builtins.float" in stubs and "**kwargs: object" in stubs
    # A field named like a message or enum of its own file (issue 27, item 1): named through an alias.
    assert "    Phrase: _global___Phrase\n" in stubs and stubs.endswith("_global___Phrase = Phrase\n")
    # An enum value named None cannot be declared in a stub (Modifier.Value("None") works at runtime).
    assert "\n    None:" not in stubs and "\nNone:" not in stubs


PROTO2_STUB_DEFECTS = """syntax = "proto2";
package legacy.v1;
option py_generic_services = true;
message Base {
  optional string name = 1;
  extensions 100 to 199;
}
extend Base { optional int32 weight = 100; }
service Things { rpc Get (Base) returns (Base); }
"""


def test_proto2_extension_ranges_and_generic_services_type_check(tmp_path: Path) -> None:
    """Issue 27, items 2 and 3: protoc's stub names `_python_message._ExtensionDict` and subclasses
    `google.protobuf.service.service`, neither of which protobuf 7's stubs have (mypy name-defined)."""
    source = tmp_path / "legacy.proto"
    source.write_text(PROTO2_STUB_DEFECTS)
    out = tmp_path / "out"
    result = run_scaffold("new", source, "-o", out)
    assert result.returncode == 0, result.stderr
    check_project(out, "legacy")
    stubs = tree(out)["legacy/generated/legacy_pb2.pyi"].decode()
    assert "_python_message" not in stubs and "_service" not in stubs
    assert "class Things: ...\n" in stubs and "class Things_Stub(Things): ...\n" in stubs
    # What the stub says is what the module has: the extension, and the two plain classes protoc builds.
    probe = "from legacy.generated import legacy_pb2 as m\nb = m.Base()\nb.Extensions[m.weight] = 3\n"
    probe += "assert b.Extensions[m.weight] == 3 and m.Things.__bases__ == (object,) and m.Things_Stub.__bases__ == (m.Things,)"
    ran = run_python("-W", "error", "-c", probe, cwd=out)
    assert ran.returncode == 0, ran.stderr


def test_proto2_editions_and_the_same_names_in_two_packages(tmp_path: Path) -> None:
    root = TEST_PROTOS / "editions"
    out = tmp_path / "out"
    protos = (root / "alpha/greeter.proto", root / "beta/greeter.proto")
    result = run_scaffold("new", "-I", root, *protos, "--name", "greeters", "-o", out)
    assert result.returncode == 0, result.stderr
    check_project(out, "greeters")  # required fields filled in, or the calls could not serialize
    files = tree(out)
    alpha, beta = (files[f"greeters/clients/{name}/greeter.py"].decode() for name in ("alpha", "beta"))
    assert "def alpha_greeter_hello(stub: alpha_greeter_pb2_grpc.GreeterStub)" in alpha
    assert "def beta_greeter_hello(stub: beta_greeter_pb2_grpc.GreeterStub)" in beta
    assert 'alpha_greeter_pb2.Request(id=0, inner={"x": 0}, kind="KIND_FIRST", **{"from": ""})' in alpha
    assert "beta_greeter_pb2.Request(id=0)" in beta
    assert "class AlphaGreeterServicer(" in files["greeters/services/alpha/greeter.py"].decode()
    assert "class BetaGreeterServicer(" in files["greeters/services/beta/greeter.py"].decode()


def test_same_file_name_in_two_directories_without_a_common_root_names_both(tmp_path: Path) -> None:
    root = TEST_PROTOS / "editions"
    result = run_scaffold("new", "alpha/greeter.proto", "beta/greeter.proto", "-o", tmp_path / "out", cwd=root)
    assert result.returncode == 2
    assert result.stderr == (
        "beta/greeter.proto:1:1: has the import name 'greeter.proto', like alpha/greeter.proto;"
        " protoc needs distinct names: pass an include root above both (-I DIR)\n"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("proto", "message"),
    [
        ("service S { rpc class(M) returns (M); }", "3:13: RPC name 'class' is a Python keyword"),
        ("service S { rpc None(M) returns (M); }", "3:13: RPC name 'None' is a Python keyword"),
        ("service None { rpc Get(M) returns (M); }", "3:1: service name 'None' is a Python keyword"),
        ("service S { rpc __init__(M) returns (M); }", "3:13: RPC name '__init__' is a Python special method name"),
    ],
    ids=["rpc-keyword", "rpc-None", "service-keyword", "dunder"],
)
def test_names_that_cannot_be_made_safe_point_at_their_proto_line(tmp_path: Path, proto: str, message: str) -> None:
    (tmp_path / "names.proto").write_text(f'syntax = "proto3";\nmessage M {{}}\n{proto}\n')
    result = run_scaffold("new", "names.proto", "-o", "out", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"names.proto:{message}; grpc's plugin cannot generate it\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["names.proto"]


@pytest.mark.parametrize(
    ("rpc", "where", "side", "name"),
    [
        ("rpc Get(None) returns (M);", "3:21", "request", "None"),
        ("rpc Get(M) returns (Outer.True);", "3:33", "response", "Outer.True"),
    ],
)
def test_an_rpc_whose_message_python_cannot_name_is_refused_at_the_type(
    tmp_path: Path, rpc: str, where: str, side: str, name: str
) -> None:
    """Issue 27, item 7: `x_pb2.None` is a SyntaxError in every module that would call or serve the RPC; the
    refusal is at the type in the RPC's line, not at six generated paths. An unused `message None` is fine
    (tests/protos/hostile has one: its stub class is left out of the .pyi)."""
    messages = "message M {} message None {} message Outer { message True {} }"
    (tmp_path / "names.proto").write_text(f'syntax = "proto3";\n{messages}\nservice S {{ {rpc} }}\n')
    result = run_scaffold("new", "names.proto", "-o", "out", cwd=tmp_path)
    assert result.returncode == 2
    keyword_part = name.rpartition(".")[2]
    assert result.stderr == (
        f"names.proto:{where}: RPC 'Get': its {side} type {name!r} holds {keyword_part!r}, a Python keyword,"
        " which generated code cannot name; rename the message\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["names.proto"]


BAD_INPUT = {
    "unknown-type": (
        {"a.proto": 'syntax = "proto3";\nmessage A { Missing m = 1; }\n'},
        ['a.proto:2:13: "Missing" is not defined.'],
    ),
    "missing-import": (
        {"a.proto": 'syntax = "proto3";\nimport "nothere.proto";\n'},
        ['a.proto:2:1: Import "nothere.proto" was not found or had errors.'],  # said once, where it is imported
    ),
    "duplicate-field-number": (
        {"a.proto": 'syntax = "proto3";\nmessage A { int32 a = 1; int32 b = 1; }\n'},
        ['a.proto:2:36: Field number 1 has already been used in "A" by field "a". Next available field number is 2.'],
    ),
    "import-cycle": (
        {"a.proto": 'syntax = "proto3";\nimport "b.proto";\n', "b.proto": 'syntax = "proto3";\nimport "a.proto";\n'},
        ["a.proto:2:1: File recursively imports itself: a.proto -> b.proto -> a.proto"],
    ),
    "same-symbols-in-two-files": (
        {
            "a.proto": 'syntax = "proto3";\npackage p;\nmessage T {}\n',
            "b.proto": 'syntax = "proto3";\npackage p;\nmessage T {}\n',
        },
        ['b.proto:3:9: "p.T" is already defined in file "a.proto".'],
    ),
    "binary-garbage": (
        {"a.proto": b'syntax = "proto3";\n\xb6\x00\xff'},
        ["a.proto:2:1: not UTF-8 text (byte 0xb6); a .proto file is UTF-8 source"],
    ),
    "nul-byte": (
        {"a.proto": 'syntax = "proto3";\nmes\x00sage\n'},
        ["a.proto:2:4: holds a NUL character; a .proto file is text"],
    ),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_is_located_lines_exit_2_and_nothing_written(tmp_path: Path, case: str) -> None:
    files, expected = BAD_INPUT[case]
    for name, content in files.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = run_scaffold("new", *sorted(files), "-o", "out", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert all(line in lines for line in expected), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files)


def test_a_directory_where_a_proto_file_is_expected(tmp_path: Path) -> None:
    (tmp_path / "dir.proto").mkdir()
    result = run_scaffold("new", "dir.proto", "-o", "out", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (2, "dir.proto: no .proto file in this directory\n")


def test_warnings_are_shown_and_do_not_fail_the_run(tmp_path: Path) -> None:
    (tmp_path / "dep.proto").write_text('syntax = "proto3";\nmessage D {}\n')
    (tmp_path / "a.proto").write_text(
        'syntax = "proto3";\nimport "dep.proto";\nmessage M {}\nservice S { rpc Get(M) returns (M); }\n'
    )
    result = run_scaffold("new", "a.proto", "-o", "out", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr == "a.proto:2:1: warning: Import dep.proto is unused.\n"


def test_a_warning_of_a_proto_not_compiled_again_names_it_where_this_run_reads_it(tmp_path: Path) -> None:
    (tmp_path / "dep.proto").write_text('syntax = "proto3";\nmessage D {}\n')
    (tmp_path / "a.proto").write_text('syntax = "proto3";\nimport "dep.proto";\nmessage M {}\n')
    (tmp_path / "b.proto").write_text('syntax = "proto3";\nmessage N {}\nservice S { rpc Get(N) returns (N); }\n')
    assert run_scaffold("new", "a.proto", "b.proto", "-o", "out", cwd=tmp_path).returncode == 0
    for cwd, shown in ((tmp_path, "out/protos/a.proto"), (tmp_path / "out", "protos/a.proto")):
        with (tmp_path / "out/protos/b.proto").open("a") as proto:
            proto.write("// an edit that leaves a.proto as it was\n")
        result = run_scaffold("gen", "-C", "out" if cwd == tmp_path else ".", cwd=cwd)
        assert result.returncode == 0, result.stderr
        assert result.stderr == f"{shown}:2:1: warning: Import dep.proto is unused.\n"


def test_symlinks_in_the_output_tree_are_not_followed(tmp_path: Path) -> None:
    root = TEST_PROTOS / "editions"
    project = tmp_path / "project"
    assert (
        run_scaffold("new", "-I", root, root / "beta/greeter.proto", "--name", "project", "-o", project).returncode == 0
    )
    elsewhere = tmp_path / "elsewhere"
    (project / "project/generated").rename(elsewhere)
    (project / "project/generated").symlink_to(elsewhere)
    proto = project / "protos/beta/greeter.proto"
    proto.write_text(proto.read_text().replace("rpc Hello(", "rpc Wave(Request) returns (Request);\n  rpc Hello("))
    before = tree(project), tree(elsewhere)

    result = run_scaffold("gen", "-C", project)
    assert result.returncode == 2
    assert result.stderr == f"{project}/project/generated: is a symbolic link; scaffold does not write through links\n"
    assert (tree(project), tree(elsewhere)) == before


@FLAVOURS
def test_a_project_without_any_rpc_yet_lints_type_checks_and_tests(tmp_path: Path, aio: bool) -> None:
    (tmp_path / "draft.proto").write_text('syntax = "proto3";\npackage draft;\nmessage Note {}\nservice Notes {}\n')
    result = run_scaffold("new", "draft.proto", "-o", "out", *(["--aio"] if aio else []), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    checked = check_project(tmp_path / "out", "draft")
    assert checked.passed == 1  # the server accepts connections


def test_an_import_public_is_relocated_and_its_names_reexported(tmp_path: Path) -> None:
    """protoc writes `from base_pb2 import *` for `import public` (googleapis has such files); moved into
    the generated package, that import must move with it or the module never imports."""
    source = tmp_path / "src"
    (source / "lib").mkdir(parents=True)
    (source / "lib/base.proto").write_text('syntax = "proto3";\npackage lib;\nmessage Thing {\n  string name = 1;\n}\n')
    (source / "lib/reexport.proto").write_text('syntax = "proto3";\npackage lib;\nimport public "lib/base.proto";\n')
    (source / "svc.proto").write_text(
        'syntax = "proto3";\npackage svc;\nimport "lib/reexport.proto";\n'
        "service Keeper {\n  rpc Keep (lib.Thing) returns (lib.Thing);\n}\n"
    )
    out = tmp_path / "out"
    result = run_scaffold("new", source / "svc.proto", "-I", source, "-o", out, "--name", "keeper")
    assert result.returncode == 0, result.stderr
    reexport = (out / "keeper/generated/lib/reexport_pb2.py").read_text()
    assert "from keeper.generated.lib.base_pb2 import *\n" in reexport
    check_project(out, "keeper")  # every module imports, under -W error; the tests pass
    probe = "from keeper.generated.lib import reexport_pb2; print(reexport_pb2.Thing(name='x').name)"
    assert run_python("-c", probe, cwd=out).stdout == "x\n"


def test_a_keyword_rpc_in_an_imported_proto_is_refused_at_its_line(tmp_path: Path) -> None:
    """Issue 27, item 6: grpc's module of an imported proto that defines `rpc lambda` would not compile; the
    refusal names the imported proto's line, not a generated path that is never written."""
    (tmp_path / "kw.proto").write_text(
        'syntax = "proto3";\npackage kw.v1;\nmessage M { string a = 1; }\nservice KW { rpc lambda (M) returns (M); }\n'
    )
    (tmp_path / "main.proto").write_text(
        'syntax = "proto3";\npackage main.v1;\nimport "kw.proto";\nservice Main { rpc Get (kw.v1.M) returns (kw.v1.M); }\n'
    )
    result = run_scaffold("new", "main.proto", "-o", "out", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "kw.proto:4:14: RPC name 'lambda' is a Python keyword; grpc's plugin cannot generate it\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kw.proto", "main.proto"]


def test_a_field_named_debug_is_generated_as_protoc_writes_it(tmp_path: Path) -> None:
    """protoc's stub declares the field (`__debug__: int`), which the compiler refuses and a parser, as
    type checkers read a stub, takes: a stub is checked by parsing it, a module by compiling it."""
    proto = tmp_path / "protos/debugged.proto"
    proto.parent.mkdir()
    proto.write_text(
        'syntax = "proto3";\npackage debugged.v1;\n'
        "message Flags { int32 __debug__ = 1; int32 level = 2; }\n"
        "service Switches { rpc Get (Flags) returns (Flags); }\n"
    )
    out = tmp_path / "out"
    made = run_scaffold("new", proto, "-o", out)
    assert made.returncode == 0, made.stderr
    assert "    __debug__: int\n" in (out / "debugged/generated/debugged_pb2.pyi").read_text()
    checked = run_scaffold("check", "-C", out)
    assert (checked.returncode, checked.stdout) == (0, "Up to date.\n"), checked.stderr
