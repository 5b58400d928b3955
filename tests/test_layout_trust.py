"""A layout switch keeps every line the user wrote and leaves a project that imports, or is refused with the
place and the reason and changes nothing (issue 25: the switch held to "never lose a line")."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import IMPORT_EVERYTHING, run_python, run_scaffold, tree
from test_layout import PING, ROOT, gen, implement, make, set_layout

from scaffold.generation import pysource

HEADER = "# Copyright 2026 Example Corp.\n# SPDX-License-Identifier: Apache-2.0\n"
ABOVE_CLASS = "# MARK-above-class: Root answers pings from the load balancer.\n"
HELPER = 'def loud(text: str) -> str:\n    """MARK-helper"""\n    return text.upper()\n'
PUT_A = "        return a_pb2.Item(name=loud(json.dumps(request.name)))  # MARK-put-a\n"
FIXTURE = '@pytest.fixture\ndef greeting() -> str:\n    return "MARK-fixture"\n'
ODD = '        return b_pb2.Thing(name="MARK-odd \u2028 \x0c \x85 end")\n'


def _sound(project: Path) -> int:
    """The project imports under -W error, pytest collects its tests, and no name is undefined or defined
    twice (ruff's F821, F811); the number of tests collected."""
    imported = run_python("-W", "error", "-c", IMPORT_EVERYTHING, "shop", cwd=project)
    assert imported.returncode == 0, imported.stderr
    names = run_python("-m", "ruff", "check", "--no-cache", "--select", "F821,F811", ".", cwd=project)
    assert names.returncode == 0, names.stdout
    collected = run_python("-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider", cwd=project)
    assert collected.returncode == 0, collected.stdout
    return int(re.findall(r"(\d+) tests? collected", collected.stdout)[-1])


def _marks(files: dict[str, bytes]) -> list[str]:
    return sorted(
        line.strip()
        for path, content in files.items()
        if path.endswith(".py") and not path.startswith(".scaffold/")
        for line in content.decode().split("\n")
        if "MARK" in line
    )


def _edit_single(project: Path) -> None:
    """A licence header, a comment above a class, a helper with its import, a method using both, a method
    with line separators in a string, a fixture of the user's used by a moved test, the shared fixture edited."""
    servicer = project / "shop/servicer.py"
    text = HEADER + servicer.read_text()
    text = text.replace("from collections.abc", "import json\nfrom collections.abc", 1)
    text = text.replace("\n\nclass ShopAV1StoreServicer", "\n\n" + HELPER + "\n\nclass ShopAV1StoreServicer", 1)
    servicer.write_text(text.replace("\n\nclass RootServicer", "\n\n" + ABOVE_CLASS + "class RootServicer", 1))
    implement(servicer, "Put", PUT_A)
    implement(servicer, "Put", ODD)
    implement(servicer, "Ping", PING)
    test = project / "tests/test_shop.py"
    text = test.read_text() + "\n\n" + FIXTURE
    text = text.replace("def test_ping(", "def test_ping(greeting: str, ", 1)
    fixture_line = "    with served_channel(create_server) as channel:\n"
    test.write_text(text.replace(fixture_line, fixture_line.rstrip("\n") + "  # MARK-fixture-of-a-service\n", 1))


def test_a_round_trip_keeps_every_line_comment_header_helper_and_fixture(tmp_path: Path) -> None:
    project = make(tmp_path, "--layout", "single")
    _edit_single(project)
    marks = _marks(tree(project))
    collected = _sound(project)
    assert len(marks) == 6

    set_layout(project, "per-service")
    switched = gen(project)
    assert switched.returncode == 0, switched.stderr
    files = tree(project)
    assert set(_marks(files)) == set(marks)  # a fixture of the user's is copied where its tests go
    assert files["shop/services/root.py"].decode().startswith(HEADER)
    assert ABOVE_CLASS + "class RootServicer" in files["shop/services/root.py"].decode()
    edited = [path for path, content in files.items() if path.startswith("tests/") and b"MARK-fixture-of-a" in content]
    assert len(edited) == 1, edited  # with the tests of its service
    assert FIXTURE in files["tests/test_root.py"].decode()  # a copy: pytest finds fixtures by name
    assert _sound(project) == collected
    assert run_scaffold("check", "-C", project).returncode == 0

    set_layout(project, "single")
    back = gen(project)
    assert back.returncode == 0, back.stderr
    files = tree(project)
    assert _marks(files) == marks
    servicer = files["shop/servicer.py"].decode()
    assert (
        servicer.startswith(HEADER) and servicer.count(HEADER) == 1 and ABOVE_CLASS + "class RootServicer" in servicer
    )
    assert not [path for path in files if path.startswith(("shop/services/", "shop/clients/", "tests/shop/"))]
    assert _sound(project) == collected
    assert run_scaffold("check", "-C", project).returncode == 0


@pytest.mark.parametrize("to", ["single", "per-service"])
def test_a_service_removed_in_the_same_run_as_a_switch_keeps_its_code(tmp_path: Path, to: str) -> None:
    start = "per-service" if to == "single" else "single"
    project = make(tmp_path, "--layout", start)
    module = project / ("shop/services/root.py" if start == "per-service" else "shop/servicer.py")
    implement(module, "Ping", PING)
    root = project / "protos/root.proto"
    root.write_text(root.read_text().replace("service Root {\n  rpc Ping (Empty) returns (Empty);\n}\n", ""))
    set_layout(project, to)
    switched = gen(project)
    assert switched.returncode == 0, switched.stderr
    files = tree(project)
    kept = files["shop/servicer.py" if to == "single" else "shop/services/root.py"].decode()
    assert "class RootServicer:" in kept and PING in kept
    assert _sound(project) >= 4
    assert run_scaffold("check", "-C", project).returncode == 0


def _syntax_error(project: Path) -> str:
    servicer = project / "shop/servicer.py"
    servicer.write_text(servicer.read_text().replace("    def Ping(", "    def Ping((", 1))
    return r"shop/servicer\.py:\d+:\d+: does not parse"


def _latin1(project: Path) -> str:
    servicer = project / "shop/servicer.py"
    servicer.write_bytes(servicer.read_bytes().replace(b"Ping is not implemented yet", b"Ping \xe9", 1))
    return r"shop/servicer\.py:\d+:\d+: not UTF-8 \(byte 0xe9\)"


def _statement_naming_a_moved_class(project: Path) -> str:
    servicer = project / "shop/servicer.py"
    servicer.write_text(servicer.read_text() + "\n\nEVERY_SERVICER = [RootServicer, ChatterServicer]\n")
    return r"shop/servicer\.py:\d+:1: this line stays in shop/servicer\.py but reads `ChatterServicer`"


@pytest.mark.parametrize(
    "breakage", [_syntax_error, _latin1, _statement_naming_a_moved_class], ids=lambda f: f.__name__.strip("_")
)
def test_a_switch_that_cannot_keep_the_project_importable_is_refused_and_changes_nothing(
    tmp_path: Path, breakage: object
) -> None:
    project = make(tmp_path, "--layout", "single")
    wanted = breakage(project)  # type: ignore[operator]
    set_layout(project, "per-service")
    before = tree(project)
    for command in ("gen", "check"):
        refused = run_scaffold(command, "-C", project)
        assert refused.returncode == 2, refused.stderr
        assert re.search(wanted, refused.stderr), refused.stderr
        assert "Traceback" not in refused.stderr
    assert tree(project) == before


def test_two_helpers_of_one_name_meeting_in_one_module_are_refused(tmp_path: Path) -> None:
    project = make(tmp_path)  # per-service
    for path, rpc in (("shop/services/shop/a/v1/store.py", "Put"), ("shop/services/root.py", "Ping")):
        module = project / path
        module.write_text(module.read_text() + f'\n\ndef tag(text: str) -> str:\n    return "{path}" + text\n')
        body = "        return a_pb2.Item(name=tag(request.name))\n" if rpc == "Put" else f"        tag('x')\n{PING}"
        implement(module, rpc, body)
    set_layout(project, "single")
    before = tree(project)
    refused = gen(project)
    assert refused.returncode == 2
    assert re.search(
        r"shop/services/\S+\.py:\d+:1: `tag`, which code moving to shop/servicer\.py uses, is also defined",
        refused.stderr,
    )
    assert tree(project) == before


def test_a_lost_record_with_code_in_the_other_layout_is_refused(tmp_path: Path) -> None:
    project = make(tmp_path)  # per-service
    implement(project / "shop/services/root.py", "Ping", PING)
    shutil.rmtree(project / ".scaffold")
    set_layout(project, "single")
    before = tree(project)
    refused = gen(project)
    assert refused.returncode == 2
    assert re.search(r"shop/services/root\.py:\d+:1: RootServicer is here, but layout 'single'", refused.stderr)
    assert tree(project) == before


def test_a_module_whose_record_is_lost_switches_without_binding_an_import_twice(tmp_path: Path) -> None:
    """Found by the fuzzer (seed 17005): a per-service module whose recorded render is gone (a kill) has all
    its imports taken for the user's; the switch to one module brought them beside the render's own, every
    name bound twice, and refused the switch. Now the user's statements stay and the render's statement
    gives up the names they bind: the switch goes through, every line kept, the project sound."""
    project = make(tmp_path)  # per-service
    implement(project / "shop/services/shop/a/v1/store.py", "Put", PUT_A.replace("loud(json.dumps(", "(("))
    implement(project / "shop/services/root.py", "Ping", PING)
    for module in ("shop/services/shop/a/v1/store.py", "shop/services/root.py"):
        (project / ".scaffold/base" / module).unlink()
    set_layout(project, "single")
    result = gen(project)
    assert result.returncode == 0, result.stdout + result.stderr
    servicer = (project / "shop/servicer.py").read_text()
    assert "MARK-put-a" in servicer and PING in servicer
    assert "from shop.generated import a_pb2, a_pb2_grpc\n" in servicer  # the moved module's own line, whole
    assert _sound(project) > 0
    assert run_scaffold("check", "-C", project).returncode == 0


@pytest.mark.parametrize(
    ("source", "blocks"),
    [
        ("# licence\n\nclass A:\n    pass\n", {"A": (2, 4)}),  # a module's header is not its first block's
        (
            "import x\n# about A\nclass A:\n    x = 1\n\n    # end of A\n# about f\n\ndef f(): ...\n",
            {"A": (1, 6), "f": (6, 9)},
        ),
        ("X = 1\n@d\ndef f(): ...\n\n\n# trailing\n", {"f": (1, 6)}),
    ],
)
def test_a_block_takes_the_comments_above_it_and_leaves_the_header(
    source: str, blocks: dict[str, tuple[int, int]]
) -> None:
    parsed = pysource.parse("m.py", source.encode())
    assert isinstance(parsed, pysource.Source) and parsed.blocks == blocks


@pytest.mark.parametrize(
    ("source", "missing"),
    [
        ("import json\ndef f():\n    return json, helper\n", {"helper": 3}),
        ("class A:\n    x = B\ndef f(a):\n    return [q for q in a], A\n", {"B": 2}),
        ("from m import *\ndef f():\n    return anything\n", {}),
        ("def f():\n    return len(__name__)\n", {}),
    ],
)
def test_unresolved_names_are_what_the_compiler_finds_unbound(source: str, missing: dict[str, int]) -> None:
    assert pysource.unresolved(source) == missing


def test_a_file_of_the_users_defining_a_name_the_switch_renders_is_refused_located(tmp_path: Path) -> None:
    """A file of the user's where the new layout renders its module (what an earlier switch left: a test of a
    removed RPC) defines a name the render defines otherwise: both cannot stand, and the user's would have
    been dropped. Refused at its line, not as a bug in scaffold, and nothing changes (found by the fuzzer,
    seed 15029)."""
    project = make(tmp_path)  # per-service
    leftover = project / "tests/test_shop.py"
    leftover.write_text("def test_ping() -> None:\n    assert 'MARK-leftover'\n")
    set_layout(project, "single")
    before = tree(project)
    refused = gen(project)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.strip() == (
        "tests/test_shop.py:1:1: your `test_ping` here and scaffold's would be defined twice in this module after the "
        "switch; rename or remove yours, then run scaffold gen"
    ), refused.stderr
    assert tree(project) == before
    leftover.write_text("def test_ping_by_hand() -> None:\n    assert 'MARK-leftover'\n")
    moved = gen(project)
    assert moved.returncode == 0, moved.stderr
    assert "MARK-leftover" in leftover.read_text()


def test_a_file_of_the_users_importing_what_the_render_imports_is_absorbed_whole(tmp_path: Path) -> None:
    """A file of the user's where the new layout renders its module imports some of the names the render
    imports, in a statement of its own: its line stays whole and the render's statement gives up those
    names (found by the fuzzer, seed 18007, where the user's statement was narrowed and the switch then
    refused as "a bug in scaffold")."""
    project = make(tmp_path)  # per-service
    leftover = project / "tests/test_shop.py"
    mine = "from shop.generated import a_pb2, root_pb2  # MARK-imports\n"
    leftover.write_text(f"{mine}\n\ndef test_by_hand() -> None:\n    assert a_pb2.Item and root_pb2.Empty\n")
    set_layout(project, "single")
    moved = gen(project)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    text = leftover.read_text()
    assert mine in text and "def test_by_hand() -> None:" in text
    assert _sound(project) > 0
    assert run_scaffold("check", "-C", project).returncode == 0


def test_a_file_left_behind_and_taken_back_keeps_its_loose_comments(tmp_path: Path) -> None:
    """A comment of the user's between two statements of a module the switch leaves behind is in no parse
    tree; switching back takes the file into the new module, the comment included (found by the fuzzer)."""
    project = make(tmp_path, "--layout", "single")
    client = project / "shop/client.py"
    text = client.read_text()
    at = text.index("\nTIMEOUT_SECONDS")
    client.write_text(text[:at] + "\n# MARK-loose: kept between two constants\n" + text[at:])
    set_layout(project, "per-service")
    assert gen(project).returncode == 0
    assert "# MARK-loose" in (project / "shop/client.py").read_text()  # what stays of the old module
    set_layout(project, "single")
    back = gen(project)
    assert back.returncode == 0, back.stderr
    assert "# MARK-loose: kept between two constants" in (project / "shop/client.py").read_text()
    assert run_scaffold("check", "-C", project).returncode == 0


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from m import a, b\nimport grpc\n\nx = a\n", "from m import a\n\nx = a\n"),
        ("from m import a, b\n\nx = a, b\n", "from m import a, b\n\nx = a, b\n"),
        ("from m import a as z, b\n\nx = z\n", "from m import a as z\n\nx = z\n"),
        ("from m import a, b\nfrom n import c, d\n\nx = a, c\n", "from m import a\nfrom n import c, d\n\nx = a, c\n"),
    ],
)
def test_scaffolds_imports_narrow_to_what_arrived_code_uses(source: str, expected: str) -> None:
    """Code moved by a switch may use fewer of scaffold's imports than the module it left; the user's own
    imports (`from n import ...` here) are never touched."""
    scaffolds = {"from m import a, b", "import grpc", "from m import a as z, b"}
    assert pysource.without_unused_names(source, scaffolds) == expected


@pytest.mark.parametrize(
    ("statement", "original", "narrower"),
    [
        ("from m import a", "from m import a, b", True),
        ("from m import a, b", "from m import a, b", False),  # the same statement: scaffold's as it is
        ("from n import a", "from m import a, b", False),  # another module: the user's import
        ("from m import a as z", "from m import a, b", False),
        ("import m", "from m import a, b", False),
    ],
)
def test_an_import_narrowed_from_scaffolds_is_told_from_one_the_user_added(
    statement: str, original: str, narrower: bool
) -> None:
    assert pysource.narrows(statement, original) is narrower


ANNOTATED = 'def describe(servicer: "RootServicer") -> str:\n    return type(servicer).__name__\n'
KEPT_BESIDE = {  # what the user has in the module beside the kept class -> what stays of it after the switch
    "helper": (lambda text: text + "\n\n" + HELPER, "from __future__ import annotations\n\n\n" + HELPER),
    "header": (lambda text: HEADER + text, HEADER),
    "crlf": (lambda text: (text + "\n\n" + HELPER).replace("\n", "\r\n"), None),
    "annotation": (lambda text: text + "\n\n" + ANNOTATED, None),
    "comment": (lambda text: text + "\n\nRETRIES = 3  # how often RootServicer retries a ping\n", None),
}


@pytest.mark.parametrize("beside", sorted(KEPT_BESIDE))
def test_a_kept_class_as_scaffold_wrote_it_is_let_go_by_a_switch_not_carried_into_the_new_module(
    tmp_path: Path, beside: str
) -> None:
    """Fuzzer seed 58407: a per-service module keeps a removed service's class, its stubs untouched, because
    the user's lines stand beside it. Switched to one module, the class landed in `servicer.py` exactly as
    rendered, where the next run let it go: `check` called the switch's tree stale. The switch lets it go
    now (line ends aside), the user's lines stay where they were (a licence header alone too), and a class
    something else names (a helper's annotation) moves with it as before."""
    edit, stays = KEPT_BESIDE[beside]
    project = make(tmp_path, "--layout", "per-service")
    module = project / "shop/services/root.py"
    module.write_bytes(edit(module.read_text()).encode())
    root = project / "protos/root.proto"
    root.write_text(root.read_text().replace("service Root {\n  rpc Ping (Empty) returns (Empty);\n}\n", ""))
    assert gen(project).returncode == 0
    assert "class RootServicer:" in module.read_text()  # kept: the module holds the user's lines
    assert run_scaffold("check", "-C", project).returncode == 0

    set_layout(project, "single")
    switched = gen(project)
    assert switched.returncode == 0, switched.stderr
    servicer = (project / "shop/servicer.py").read_text()
    assert ("class RootServicer:" in servicer) == (beside == "annotation"), servicer
    if stays is not None:
        assert module.read_text() == stays
    assert run_scaffold("check", "-C", project).returncode == 0
    assert gen(project, "--full").stdout.startswith("Up to date")
    _sound(project)
    if beside != "header":
        return
    root.write_text(ROOT)  # the service back, and the layout, in one run: the header stays on top of its module
    set_layout(project, "per-service")
    assert gen(project).returncode == 0
    assert module.read_text().startswith(HEADER + '"""')
    assert run_scaffold("check", "-C", project).returncode == 0
    _sound(project)


def test_a_kept_class_that_moving_code_imports_is_not_let_go_by_a_switch(tmp_path: Path) -> None:
    """Code of another module imports the kept class: letting it go would leave the import reading nothing,
    so the switch does not (and, the class meeting itself in one module, is refused as before)."""
    project = make(tmp_path, "--layout", "per-service")
    module = project / "shop/services/root.py"
    module.write_text(module.read_text() + "\n\n" + HELPER)
    store = project / "shop/services/shop/a/v1/store.py"
    text = store.read_text().replace(
        "from shop.generated", "from shop.services.root import RootServicer\nfrom shop.generated"
    )
    store.write_text(text)
    implement(store, "Put", "        return a_pb2.Item(name=RootServicer.__name__)\n")
    root = project / "protos/root.proto"
    root.write_text(root.read_text().replace("service Root {\n  rpc Ping (Empty) returns (Empty);\n}\n", ""))
    assert gen(project).returncode == 0
    set_layout(project, "single")
    before = tree(project)
    switched = gen(project)
    assert switched.returncode != 0 and "Traceback" not in switched.stderr
    assert tree(project) == before
