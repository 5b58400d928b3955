"""The small rules everything else rests on, tested directly."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from scaffold.core import seams
from scaffold.core.errors import Diagnostic
from scaffold.core.imports import Import, import_lines
from scaffold.core.model import Service, service_paths
from scaffold.core.naming import clean_comment, docstring_body, safe_identifier, snake_case
from scaffold.generation import protoc, pysource
from scaffold.generation.bydefinition import by_definition
from scaffold.generation.gone import still_there
from scaffold.generation.leftover import stays
from scaffold.generation.merge import whole
from scaffold.generation.oldlayout import Old
from scaffold.generation.protoc import parse_diagnostics
from scaffold.generation.protocresult import ProtoInput
from scaffold.generation.rebind import misplaced, rebound
from scaffold.generation.relocate import package_dirs, relocate
from scaffold.generation.repair import repair
from scaffold.record.write import apply, swap_order


@pytest.mark.parametrize(
    "text",
    [
        'ends with a quote"',
        'has """ inside',
        "backslashes \\* \\p{L} \\N{DASH} \\x and \\",
        "non-ASCII: Grüße, 日本語, emoji 🚀",
        "template syntax {{ x }} {% if %}",
        'four """" quotes and \'\'\' singles',
        "",
    ],
)
def test_docstring_body_means_exactly_the_text(text: str) -> None:
    source = f'"""{docstring_body(text)}"""'
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert eval(compile(source, "<doc>", "eval")) == text


@pytest.mark.parametrize(
    ("name", "snake"),
    [
        ("GetFeature", "get_feature"),
        ("sayHello", "say_hello"),
        ("HTTPRequest", "http_request"),
        ("ListV2Items", "list_v2_items"),
    ],
)
def test_snake_case(name: str, snake: str) -> None:
    assert snake_case(name) == snake


def test_safe_identifier_suffixes_keywords_only() -> None:
    assert [safe_identifier(n) for n in ["import", "class", "None", "match", "get"]] == [
        "import_",
        "class_",
        "None_",
        "match_",
        "get",
    ]


def test_clean_comment_dedents_and_trims() -> None:
    assert clean_comment(" First line.\n  indented\n\n Last.  \n") == "First line.\n indented\n\nLast."


def test_protoc_messages_become_located_diagnostics() -> None:
    inputs = [ProtoInput(Path("protos/a.proto"), "a.proto")]
    stderr = (
        'a.proto:3:7: Expected ";".\n'
        "b/c.proto: File not found.\n"
        "a.proto:2:1: warning: Import b/c.proto is unused.\n"
        "something without a place\n"
    )
    assert parse_diagnostics(stderr, inputs) == [
        Diagnostic("protos/a.proto", 'Expected ";".', 3, 7),
        Diagnostic("b/c.proto", "File not found.", 1, 1),
        Diagnostic("protos/a.proto", "Import b/c.proto is unused.", 2, 1, "warning"),
        Diagnostic("protos/a.proto", "something without a place", 1, 1),
    ]
    assert str(parse_diagnostics(stderr, inputs)[2]) == "protos/a.proto:2:1: warning: Import b/c.proto is unused."


def test_a_warning_protoc_also_logs_is_said_once_at_its_place_in_the_proto_it_is_about(tmp_path: Path) -> None:
    """protoc says an extension number two protos use twice: located, and again through its log as `x.proto
    x.xf: ...`, which names the other proto too (the log line once went to the first input it names)."""
    (tmp_path / "y.proto").write_text('syntax = "proto2";\npackage y;\nmessage M { extensions 100 to 200; }\n')
    for name in ("v", "x"):
        extension = f'import "y.proto";\nextend y.M {{ optional int32 {name}f = 100; }}\n'
        (tmp_path / f"{name}.proto").write_text(f'syntax = "proto2";\npackage {name};\n{extension}')
    inputs = protoc.resolve_inputs([tmp_path / "v.proto", tmp_path / "x.proto"], [tmp_path])
    said = [str(warning) for warning in protoc.run(inputs, [tmp_path]).warnings]
    used = 'Extension number 100 has already been used in "y.M" by extension "v.vf" defined in v.proto.'
    assert said == [f"{tmp_path / 'x.proto'}:4:34: warning: {used}"]
    logged = "W0000 00:00:1.5 8253 descriptor.cc:5286] x.proto x.xf: Extension number 100 is used.\n"
    assert parse_diagnostics(logged, inputs)[0].path == (tmp_path / "x.proto").as_posix()  # not v.proto's


def test_relocate_rewrites_only_imports_of_this_runs_modules() -> None:
    outputs = {
        "svc_pb2_grpc.py": b"import grpc\nimport svc_pb2 as svc__pb2\nfrom a import common_pb2 as a_dot_common__pb2\n"
        b"from google.protobuf import empty_pb2 as google_dot_protobuf_dot_empty__pb2\n    import svc_pb2\n",
        "a/common_pb2.pyi": b"from a import other_pb2 as _other_pb2\n",
        "data.txt": b"import svc_pb2\n",
    }
    relocated = relocate(outputs, ["svc.proto", "a/common.proto"], "pkg/gen")
    assert relocated["pkg/gen/svc_pb2_grpc.py"] == (
        b"import grpc\nfrom pkg.gen import svc_pb2 as svc__pb2\nfrom pkg.gen.a import common_pb2 as a_dot_common__pb2\n"
        b"from google.protobuf import empty_pb2 as google_dot_protobuf_dot_empty__pb2\n    import svc_pb2\n"
    )
    assert relocated["pkg/gen/a/common_pb2.pyi"] == b"from a import other_pb2 as _other_pb2\n"  # not of this run
    assert relocated["pkg/gen/data.txt"] == b"import svc_pb2\n"


def test_package_dirs_lists_every_directory_that_needs_an_init() -> None:
    paths = ["pkg/gen/a_pb2.py", "pkg/gen/x/y/b_pb2.py"]
    assert package_dirs(paths, "pkg/gen") == ["pkg/gen", "pkg/gen/x", "pkg/gen/x/y"]


def test_import_lines_group_by_package_and_wrap_like_ruff_format() -> None:
    imports = [
        Import("pkg.gen", "b_pb2", "b_pb2"),
        Import("pkg.gen", "a_pb2", "a_pb2"),
        Import("google.protobuf", "empty_pb2", "empty_pb2"),
        Import("pkg.gen.x", "a_pb2", "x_a_pb2"),
    ]
    lines = import_lines(imports, "pkg")
    assert lines.third_party == ("from google.protobuf import empty_pb2",)
    assert lines.first_party == ("from pkg.gen import a_pb2, b_pb2", "from pkg.gen.x import a_pb2 as x_a_pb2")
    many = [Import("pkg.generated", f"module_number_{i}_pb2", f"module_number_{i}_pb2") for i in range(4)]
    wrapped = import_lines(many, "pkg").first_party[0]
    assert wrapped.startswith("from pkg.generated import (\n    module_number_0_pb2,\n")
    assert wrapped.endswith("module_number_3_pb2,\n)")


def test_import_lines_are_exactly_what_ruffs_isort_writes(tmp_path: Path) -> None:
    """Natural order (v2 < v10), aliases on their own lines, CONSTANTS < Classes < modules, case-insensitive."""
    imports = [
        Import("pkg.gen.v10", "x_pb2", "x_pb2"),
        Import("pkg.gen.v2", "x_pb2", "v2_x_pb2"),
        Import("pkg.gen.v2", "a10_pb2", "a10_pb2"),
        Import("pkg.gen.v2", "a2_pb2", "a2_pb2"),
        Import("pkg.gen.v2", "Foo_pb2", "Foo_pb2"),
        Import("pkg.gen.v1_beta", "z_pb2", "z_pb2"),
        Import("pkg.gen.v1_beta", "a_pb2", "q_pb2"),
        Import("pkg.gen.v1", "z_pb2", "zz_pb2"),
        Import("pkg.servicer", "HTTPServicer", "HTTPServicer"),
        Import("pkg.servicer", "HealthServicer", "HealthServicer"),
        Import("pkg.gen.c", "request_response_pb2", "temporal_api_cloud_cloudservice_v1_request_response_pb2"),
        Import("pkg.gen.c", "service_pb2_grpc", "svc_pb2_grpc"),
        Import("google.protobuf", "empty_pb2", "empty_pb2"),
    ]
    lines = import_lines(imports, "pkg")
    source = "\n".join(["import grpc", *lines.third_party, "", *lines.first_party, ""])
    (tmp_path / "pyproject.toml").write_text(
        '[tool.ruff]\nline-length = 88\n[tool.ruff.lint]\nselect = ["I"]\n[tool.ruff.lint.isort]\nknown-first-party = ["pkg"]\n'
    )
    (tmp_path / "imports.py").write_text(source)
    for command in (["check", "--fix"], ["format"]):
        subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--no-cache", "-q", "imports.py"], cwd=tmp_path, check=False
        )
    assert (tmp_path / "imports.py").read_text() == source


def test_repair_makes_grpcs_docstrings_mean_the_comment_and_leaves_clean_output_alone() -> None:
    broken = (
        b'class S:\n    """Has """ quotes and \\N{BULLET} and ends with a quote "\n    more\n    """\n\n'
        b"    def M(self):\n"
        b'        """Missing associated documentation comment in .proto file."""\n'
        b"        pass\n"
    )
    repaired = repair({"a_pb2_grpc.py": broken})["a_pb2_grpc.py"]
    namespace: dict[str, type] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(repaired, "a_pb2_grpc.py", "exec"), namespace)  # noqa: S102 - the code under test
    assert namespace["S"].__doc__ == 'Has """ quotes and \\N{BULLET} and ends with a quote "\n    more\n    '
    clean = b'class S:\n    """A plain comment.\n    """\n'
    assert repair({"a_pb2_grpc.py": clean}) == {"a_pb2_grpc.py": clean}


def test_repair_fixes_protocs_stubs_where_they_cannot_type_check() -> None:
    stub = (
        b"import datetime\n"
        b"from typing import ClassVar as _ClassVar\n\n"
        b"EXT_FIELD_NUMBER: _ClassVar[int]\n"
        b"class E(int):\n    None: _ClassVar[E]\n    Idf: _ClassVar[E]\n"
        b"None: E\n"
        b"class M(_message.Message):\n"
        b'    __slots__ = ("float", "datetime", "other")\n'
        b"    float: float\n"
        b"    datetime: str\n"
        b"    other: int\n"
        b"    def __init__(self, float: _Optional[float] = ..., datetime: _Optional[datetime.datetime] = ..., **kwargs) -> None: ...\n"
    )
    text = repair({"a_pb2.pyi": stub})["a_pb2.pyi"].decode()
    assert text.startswith("import builtins as _builtins\nimport datetime as _datetime\nimport datetime\n")
    assert "\nEXT_FIELD_NUMBER: int\n" in text
    assert "None:" not in text.replace("-> None:", "") and "    Idf: _ClassVar[E]\n" in text
    assert "    float: _builtins.float\n    datetime: str\n    other: int\n" in text
    assert (
        "def __init__(self, float: _Optional[_builtins.float] = ..., datetime: _Optional[_datetime.datetime] = ...,"
        " **kwargs: object) -> None: ..." in text
    )


def test_repairs_line_patterns_are_found_after_a_newline_as_at_every_line_start() -> None:
    """`repair` looks for a `^` pattern after a newline (fast) and at the text's start: it finds one where
    `search` does, for every such pattern, and the same matches as `finditer` for those whose matches are
    counted or read (`_matches`), on lines that make them match, repeat and span lines. Seeded, so a
    failure replays."""
    from scaffold.generation import repair as module

    pieces = [
        "class A(_message.Message):",
        '    """',
        '"""',
        '    """x"""',
        '        """',
        "    def f(self):",
        "",
        '    __slots__ = ("float", "A")',
        "import datetime",
        "X_FIELD_NUMBER: _ClassVar[int]",
        "class None(_m.M):",
        "    None: _ClassVar[E]",
        "    from: str",
        "        pass",
        "from google.protobuf import service as _service",
        "from google.protobuf.internal import python_message as _python_message",
        "   ",
        "class S:",
        "\r",
    ]
    patterns = [
        value for value in vars(module).values() if isinstance(value, re.Pattern) and value.flags & re.MULTILINE
    ]
    assert len(patterns) >= 10
    listed = {
        module._LINE_START_QUOTES,
        module._ONE_LINER,
        module._OPENER,
        module._SLOTS,
        module._MODULE_IMPORT,
        module._TOP_LEVEL_CLASS,
    }
    generator = random.Random(30)
    for _ in range(3000):
        text = "\n".join(generator.choice(pieces) for _ in range(generator.randint(0, 12))) + generator.choice(
            ["", "\n"]
        )
        for pattern in patterns:
            subject = text if isinstance(pattern.pattern, str) else text.encode()
            if not pattern.pattern.startswith("^" if isinstance(subject, str) else b"^"):
                continue
            assert module._found(pattern, subject) == (pattern.search(subject) is not None), (pattern, text)
            if pattern in listed:
                expected = [(m.end(), m.groups()) for m in pattern.finditer(subject)]
                assert [(m.end(), m.groups()) for m in module._matches(pattern, subject)] == expected, (pattern, text)


_KEPT_READS_ITERATOR = (
    "from collections.abc import Iterator\n"
    "\n"
    "from shop.generated import shop_pb2\n"
    "\n"
    "\n"
    "def upload_requests() -> Iterator[shop_pb2.Item]:\n"
    "    yield shop_pb2.Item(name='mine')\n"
)


@pytest.mark.parametrize(
    ("merged", "render", "current", "gone", "expected"),
    [
        pytest.param(  # the render puts back a base class; the user's import, narrowed, lacks its module
            "from shop.generated import shop_pb2\n\n\nclass Store(shop_pb2_grpc.StoreServicer):\n    x: shop_pb2.Item\n",
            "from shop.generated import shop_pb2, shop_pb2_grpc\n",
            "from shop.generated import shop_pb2\n\n\nclass Store:\n    x: shop_pb2.Item\n",
            (),
            "from shop.generated import shop_pb2, shop_pb2_grpc\n\n\nclass Store(shop_pb2_grpc.StoreServicer):\n"
            "    x: shop_pb2.Item\n",
            id="render's binding joins the user's statement",
        ),
        pytest.param(  # the render drops `Iterator`; the user's changed generator, kept, reads it
            _KEPT_READS_ITERATOR.replace("from collections.abc import Iterator\n\n", "").replace("\n", "\r\n"),
            "from shop.generated import shop_pb2\n",
            _KEPT_READS_ITERATOR.replace("\n", "\r\n"),
            (),
            _KEPT_READS_ITERATOR.replace("\n", "\r\n"),
            id="the user's import comes back, in the file's line endings",
        ),
        pytest.param(
            "from shop.generated import shop_pb2  # noqa: F401\n\nx = shop_pb2_grpc.StoreStub\n",
            "from shop.generated import shop_pb2_grpc\n",
            "from shop.generated import shop_pb2  # noqa: F401\n",
            (),
            "from shop.generated import shop_pb2  # noqa: F401\nfrom shop.generated import shop_pb2_grpc\n\n"
            "x = shop_pb2_grpc.StoreStub\n",
            id="a statement holding a comment is left as written",
        ),
        pytest.param(
            "def f() -> None:\n    shop_pb2.Item()\n",
            "",
            "from shop.generated import shop_pb2\n\n\ndef f() -> None:\n    shop_pb2.Item()\n",
            ("shop.generated.shop_pb2",),
            "def f() -> None:\n    shop_pb2.Item()\n",
            id="not from a module the run takes away: that read is reported",
        ),
        pytest.param(
            "def f() -> None:\n    unknown()\n",
            "import unknown\n",
            "def f() -> None:\n    unknown()\n",
            (),
            "def f() -> None:\n    unknown()\n",
            id="what the user's own file left unbound stays theirs",
        ),
        pytest.param(  # the user imported pytest for a fixture; the render's test module needs it too
            "import pytest\nimport grpc\nimport pytest\n\nx = pytest.fixture, grpc\n",
            "import grpc\nimport pytest\n",
            "import pytest\nimport grpc\n\nx = pytest.fixture, grpc\n",
            (),
            "import pytest\nimport grpc\n\nx = pytest.fixture, grpc\n",
            id="an import both sides added is kept once, as the user wrote it",
        ),
        pytest.param(  # the user's import kept; the render's comes back binding one more name
            "from m import a, b\nfrom m import a\n\nx = a, b\n",
            "from m import a, b\n",
            "from m import a\n\nx = a, b\n",
            (),
            "from m import b\nfrom m import a\n\nx = a, b\n",
            id="the render's statement gives up the name the user's binds",
        ),
        pytest.param(
            "import os\nimport os\n\nx = os\n",
            "import os\n",
            "import os\nimport os\n\nx = os\n",
            (),
            "import os\nimport os\n\nx = os\n",
            id="a name the user's file already bound twice is theirs",
        ),
    ],
)
def test_a_clean_merge_keeps_the_imports_its_code_reads(
    merged: str, render: str, current: str, gone: tuple[str, ...], expected: str
) -> None:
    result = rebound(merged.encode(), render.encode(), current.encode(), "shop", gone.__contains__)
    assert result.decode() == expected


def test_a_merge_by_definition_never_leaves_out_a_line_of_the_users() -> None:
    """The user's added top-level definitions go in; a statement of theirs outside any definition has no
    place in a rewritten module, so the merge is refused (the plan writes the whole file as one conflict)."""
    base = b"import os\n\n\ndef a() -> None:\n    pass\n\n\ndef b() -> None:\n    pass\n"
    theirs = b"import os\n\n\nasync def a() -> None:\n    pass\n\n\nasync def b() -> None:\n    pass\n"
    mine = b"\n\n\ndef mine() -> int:\n    return 1\n"
    ours = base.replace(b"\n\n\ndef b", mine + b"\n\ndef b")
    merged = by_definition(base, ours, theirs, "shop")
    assert merged == (theirs.replace(b"\n\n\nasync def b", mine + b"\n\nasync def b"), 0)
    assert by_definition(base, ours + b"\nLIMIT = 3\n", theirs, "shop") is None
    # A definition both sides changed is a conflict of it alone; the render's new definition goes in regardless.
    edited = ours.replace(b"def a() -> None:\n    pass", b"def a() -> None:\n    print('mine')")
    grown = theirs + b"\n\nasync def c() -> None:\n    pass\n"
    content, conflicts = by_definition(base, edited, grown, "shop") or (b"", 0)
    assert conflicts == 1 and b"async def c() -> None" in content and b"print('mine')" in content
    assert content.count(b"<<<<<<< ") == 1 and b"def mine() -> int:" in content
    conflict = whole(base, ours, theirs)
    assert conflict.conflicts == 1 and conflict.content.startswith(b"<<<<<<< yours (on disk)\n" + ours)


def test_a_line_merge_that_splits_a_definition_or_doubles_a_method_is_called_misplaced() -> None:
    render = b"def t() -> None:\n    async def scenario() -> None:\n        pass\n\n    run(scenario)\n"
    split = b"def t() -> None:\n    async def scenario() -> None:\n        pass\n\n\ndef mine() -> None:\n    run(scenario)\n"
    assert misplaced(split, render, render) == ["scenario"]
    cls = b"class Catalog:\n    def Watch(self) -> None:\n        pass\n"
    doubled = cls + b"\n    def Watch(self) -> None:\n        pass\n"
    assert misplaced(doubled, cls, cls) == ["Catalog.Watch"]
    assert misplaced(doubled, cls, doubled) == []  # the user's own file had it so: theirs to fix, not the merge's
    fixture = b"@pytest.fixture\ndef mine() -> int:\n    return 1\n"
    twice = b'@pytest.fixture(scope="module")\n' + fixture  # a removed fixture's decorator left on the user's
    assert misplaced(twice, b"", fixture) == ["@decorator mine"]
    # The user's lines put between a block's last two lines (seed 9005): a module that no longer parses.
    torn = b"def t() -> None:\n    x = 1\nMINE = 2\n    assert x\n"
    assert misplaced(torn, render, b"def t() -> None:\n    x = 1\n    assert x\n\n\nMINE = 2\n") != []
    assert misplaced(torn, render, torn) == []  # the user's own file did not parse either: not the merge's doing
    # A method both sides have in their class, left by the merge in the body of the user's helper (seed 59005).
    helper = b"def loud(text: str) -> str:\n    return text.upper()\n"
    mine = helper + b"\n\nclass Catalog:\n    def Chat(self) -> None:\n        pass\n"
    torn_away = helper + b"    def Chat(self) -> None:\n        pass\n"
    assert misplaced(torn_away, b"class Catalog:\n    def Chat(self) -> None:\n        pass\n", mine) == [
        "Catalog",
        "Catalog.Chat",
        "loud>Chat",
    ]
    assert misplaced(helper, helper, mine) == []  # the render dropped the class: a merge may too
    # Seed 61406: a new RPC's stub, only the render's, aligned below the helper's return.
    ledger = b"\n\nclass Ledger:\n    pass\n"
    render = b"class Ledger:\n    def Delete(self) -> None:\n        pass\n"
    stub_in_helper = helper + b"\n    def Delete(self) -> None:\n        pass\n" + ledger
    assert misplaced(stub_in_helper, render, helper + ledger) == ["loud>Delete"]
    closure = b"def loud(text: str) -> str:\n    def inner() -> str:\n        return text\n    return inner()\n"
    assert misplaced(closure + ledger, render, closure + ledger) == []  # the user's own closure


@pytest.mark.parametrize("ending", [b"\r", b"\r\n"])
def test_a_merge_by_definition_keeps_the_users_line_ends(ending: bytes) -> None:
    """A module saved with CR or CRLF merges by definitions as one with LF does, and is written back with
    the user's line ends (it was refused, and the whole file became one conflict: seed 9005)."""
    base = b"import os\n\n\ndef a() -> None:\n    pass\n"
    theirs = b"import os\n\n\nasync def a() -> None:\n    pass\n"
    ours = (base + b"\n\ndef mine() -> int:\n    return 1\n").replace(b"\n", ending)
    merged = by_definition(base, ours, theirs, "shop")
    assert merged == ((theirs + b"\n\ndef mine() -> int:\n    return 1\n").replace(b"\n", ending), 0)
    more = b"\n\ndef more() -> None:\n    pass\n"
    assert by_definition(base, ours + more.replace(b"\n", ending), theirs, "shop") is not None
    assert by_definition(base, ours + more, theirs, "shop") is None  # mixed ends: one whole conflict


def test_what_the_record_says_was_taken_away_is_checked_against_the_tree() -> None:
    """Found by the fuzzer (seed 7003): an entry recorded while a conflict was open stayed after the user took
    the edit back, reported on every run although the tree defines the name again."""
    tree = {"shop/generated/shop_pb2_grpc.py": b"class CatalogServicer(object):\n    pass\n", "shop/x.py": b""}
    assert still_there("shop/generated/shop_pb2_grpc.py::CatalogServicer", tree.get)
    assert not still_there("shop/generated/shop_pb2_grpc.py::LedgerServicer", tree.get)
    assert still_there("shop/x.py", tree.get) and not still_there("shop/gone.py", tree.get)


def _service(full_name: str) -> Service:
    package, _, name = full_name.rpartition(".")
    grpc_import = Import("x", "x_pb2_grpc", "x_pb2_grpc")
    return Service(name, full_name, snake_case(name), grpc_import, f"{name}Servicer", "", False, (), package)


def test_per_service_paths_start_below_the_root_package_and_never_meet_a_directory() -> None:
    services = [
        _service("inventory.v1.Catalog"),
        _service("inventory.v1.admin.Audit"),
        _service("inventory.v1.Admin"),  # `admin` is a directory of the root's sub-package: a plain name is taken
        _service("billing.v1.Ledger"),  # outside the root: its package's whole name
        _service("Root"),
    ]
    assert service_paths(services, "inventory.v1") == {
        "inventory.v1.Catalog": "catalog",
        "inventory.v1.admin.Audit": "admin/audit",
        "inventory.v1.Admin": "admin_2",  # its unique snake name is `admin` here too: numbered
        "billing.v1.Ledger": "billing/v1/ledger",
        "Root": "root",
    }
    assert service_paths(services)["inventory.v1.Catalog"] == "inventory/v1/catalog"  # no root: the whole name
    assert service_paths(services, "inventory")["inventory.v1.Catalog"] == "v1/catalog"


def test_a_transaction_swaps_new_files_in_before_it_rewrites_and_removes(tmp_path: Path) -> None:
    """A kill between two swaps leaves the lines a run moves in a file of the project: a module's new home
    (a new file, or one the user's code moves into) is in before its old path is rewritten or removed."""
    for path in ("a_old.py", "b_rewritten.py", "c_moved_into.py", "d_unread.py", ".scaffold/manifest.json"):
        (tmp_path / path).parent.mkdir(exist_ok=True)
        (tmp_path / path).write_text("")
    changes = {
        "a_old.py": None,
        "b_rewritten.py": b"x",
        "c_moved_into.py": b"x",
        "d_unread.py": b"x",
        "e_unread_new.py": b"x",
        "z_new.py": b"x",
        ".scaffold/manifest.json": b"{}",
        ".scaffold/base/z_new.py": b"x",
    }
    expected = {"a_old.py": b"", "b_rewritten.py": b"", "c_moved_into.py": b"", "z_new.py": None}
    assert swap_order(tmp_path, changes, expected, first={"c_moved_into.py"}) == [
        "c_moved_into.py",
        "e_unread_new.py",
        "z_new.py",
        "b_rewritten.py",
        "d_unread.py",
        "a_old.py",
        ".scaffold/base/z_new.py",
        ".scaffold/manifest.json",
    ]


def test_a_rollback_puts_old_homes_back_before_it_takes_new_files_away(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after every swap (here the last one) rolls back in the swaps' order undone: the file the
    user's line moved out of is put back before the one it moved into is taken away, so the line is in one
    of them at every step of the rollback too (a second Ctrl-C lands somewhere in it)."""
    (tmp_path / "old.py").write_text("mine\n")
    rolling, visible = [False], []

    def fail_after_the_last_swap(moment: str, path: str) -> None:
        if (moment, path) == (seams.AFTER_SWAP, "old.py"):
            rolling[0] = True
            raise KeyboardInterrupt

    def seen() -> None:
        if rolling[0]:
            homes = [tmp_path / "new.py", tmp_path / "old.py"]
            visible.append(any(home.exists() and "mine" in home.read_text() for home in homes))

    real_replace, real_unlink = os.replace, Path.unlink
    monkeypatch.setattr(os, "replace", lambda source, target: (real_replace(source, target), seen())[0])
    monkeypatch.setattr(Path, "unlink", lambda self, missing_ok=False: (real_unlink(self, missing_ok), seen())[0])
    monkeypatch.setenv(seams.ENVIRONMENT, "test:hook")
    monkeypatch.setattr(seams, "_loaded_for", "test:hook")
    monkeypatch.setattr(seams, "_hook", fail_after_the_last_swap)
    with pytest.raises(KeyboardInterrupt):
        apply(tmp_path, {"new.py": b"mine\n", "old.py": None}, {"new.py": None, "old.py": b"mine\n"})
    assert len(visible) >= 2 and all(visible), visible
    assert (tmp_path / "old.py").read_text() == "mine\n" and not (tmp_path / "new.py").exists()


RECORDED = (
    "import grpc\n\n\nclass A:\n    def f(self) -> None:\n        pass\n\n    # scaffold adds stubs above this line.\n"
)


@pytest.mark.parametrize(
    ("recorded_tail", "appended", "cut"),
    [
        ("", "", 8),  # as recorded: the whole block
        ("", "# a note of mine\n", 8),  # a comment at column 0 below it: the user's, not the class's code
        ("", "    # an indented note\n\n# and another\n", 8),
        ("# the end of a custom template's module\n", "", 9),  # scaffold's own closing comment is the block's
        ("", "    x = 1\n", None),  # code below it: the user's edit of the class
        ("", "\n\nLIMIT = 3\n", 8),  # a statement of its own: another block, the class is as recorded
    ],
)
def test_a_definition_as_recorded_leaves_the_users_comments_below_it(
    recorded_tail: str, appended: str, cut: int | None
) -> None:
    """A layout switch lets go a class still as scaffold recorded it (fuzzer seed 61405): comments the user
    wrote below it, which its block takes along, are not its code and stay; scaffold's own are its code."""
    base = pysource.parse("a.py", (RECORDED + recorded_tail).encode())
    ours = pysource.parse("a.py", (RECORDED + recorded_tail + appended).encode())
    assert isinstance(base, pysource.Source) and isinstance(ours, pysource.Source)
    old = Old("a.py", ours, base)
    assert old.recorded_span("A") == (None if cut is None else (3, cut))
    if cut is not None:  # cut as recorded, the class leaves; what stays of the module is the user's alone
        assert stays(old, {"A"}, set(), {}, [], False)[0] == (
            pysource.tidy(appended).encode() if appended.strip() else None
        )


def test_a_new_stub_the_line_merge_put_in_another_class_is_called_misplaced() -> None:
    """Seed 67007: a kept class shares a method's lines with its service's class, where the user had edited
    them; the line merge aligned the service's new stub on the kept class's copy. Served by no one, and the
    record held it where the file did not (`check` then called the `gen` stale)."""
    ledger = "class LedgerServicer:\n    def Watch(self) -> int:\n        return {body}\n\n{extra}"
    kept = "\nclass Store2Servicer:\n    def Watch(self) -> int:\n        return 0\n\n{extra}"
    count = "    def Count(self) -> int:\n        return 0\n\n"
    current = (ledger.format(body=1, extra="") + kept.format(extra="")).encode()
    render = (ledger.format(body=0, extra=count) + kept.format(extra="")).encode()
    merged = (ledger.format(body=1, extra="") + kept.format(extra=count)).encode()
    assert misplaced(merged, render, current) == ["Store2Servicer.Count"]
    right = (ledger.format(body=1, extra=count) + kept.format(extra="")).encode()
    assert misplaced(right, render, current) == []
    renamed = right.replace(b"LedgerServicer", b"BookServicer")  # the user's methods in a class the render renamed
    assert (
        misplaced(renamed.replace(b"Count", b"Helper"), render.replace(b"LedgerServicer", b"BookServicer"), current)
        == []
    )
