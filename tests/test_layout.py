"""`layout = "per-service"`: one servicer, client and test module per service, in trees that mirror the
proto packages; and a switch of layout through `gen` that moves the user's code, merge base and all."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import check_project, run_python, run_scaffold, served, tree
from test_trust import killed_after_swapping, lines_out_of_sight, swaps_of_a_run

from scaffold import api
from scaffold.generation.render import Renderer

STORE_A = """syntax = "proto3";

package shop.a.v1;

// Keeps items.
service Store {
  // Stores an item.
  rpc Put (Item) returns (Item);
  // Streams the items stored.
  rpc Watch (Item) returns (stream Item);
}

message Item {
  string name = 1;
}
"""
STORE_B = """syntax = "proto3";

package shop.b.v1;

// Keeps things.
service Store {
  rpc Put (Thing) returns (Thing);
  rpc Gather (stream Thing) returns (Thing);
}

// Talks.
service Chatter {
  rpc Chat (stream Thing) returns (stream Thing);
}

message Thing {
  string name = 1;
}
"""
ROOT = """syntax = "proto3";

service Root {
  rpc Ping (Empty) returns (Empty);
}

message Empty {}
"""
PER_SERVICE = {
    "shop/services/shop/a/v1/store.py": "ShopAV1StoreServicer",
    "shop/services/shop/b/v1/store.py": "ShopBV1StoreServicer",
    "shop/services/shop/b/v1/chatter.py": "ChatterServicer",
    "shop/services/root.py": "RootServicer",
}
TESTS = ("tests/shop/a/v1/test_store.py", "tests/shop/b/v1/test_store.py", "tests/shop/b/v1/test_chatter.py")
CLIENTS = ("shop/clients/shop/a/v1/store.py", "shop/clients/shop/b/v1/store.py", "shop/clients/root.py")


def make(tmp_path: Path, *options: str) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    for name, text in (("a.proto", STORE_A), ("b.proto", STORE_B), ("root.proto", ROOT)):
        (source / name).write_text(text)
    made = run_scaffold(
        "new",
        source / "a.proto",
        source / "b.proto",
        source / "root.proto",
        "-o",
        tmp_path / "p",
        "--name",
        "shop",
        *options,
    )
    assert made.returncode == 0, made.stderr
    return tmp_path / "p"


def gen(project: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return run_scaffold("gen", "-C", project, *args, env=env)


def set_layout(project: Path, layout: str) -> None:
    config = project / "pyproject.toml"
    text = re.sub(r'^layout = ".*"\n', "", config.read_text(), flags=re.MULTILINE)
    config.write_text(text.replace("[tool.scaffold]\n", f'[tool.scaffold]\nlayout = "{layout}"\n'))


def implement(path: Path, rpc: str, body: str) -> None:
    """Replaces the stub of the unary `rpc` in the servicer module `path` with `body`."""
    text = path.read_text()
    stub = re.compile(
        rf'        # TODO: return an? [^\n]*\n        context\.abort\([^)]*"{rpc} is not implemented yet"\s*\)\n'
    )
    assert stub.search(text), (path, rpc)
    path.write_text(stub.sub(lambda _: body, text, count=1))


@pytest.mark.parametrize("aio", [False, True], ids=["sync", "aio"])
def test_several_services_get_a_module_each_served_called_and_typed(tmp_path: Path, aio: bool) -> None:
    project = make(tmp_path, *(["--aio"] if aio else []))
    config = (project / "pyproject.toml").read_text()
    assert 'layout = "per-service"' in config and "--import-mode=importlib" in config
    files = tree(project)
    for path, servicer in PER_SERVICE.items():
        assert f"class {servicer}(" in files[path].decode(), path
    assert not {"shop/servicer.py", "shop/client.py", "tests/test_shop.py"} & set(files)
    assert set(TESTS) | set(CLIENTS) <= set(files)
    registry = files["shop/services/__init__.py"].decode()
    assert "from shop.services.shop.a.v1.store import ShopAV1StoreServicer" in registry
    assert '"shop.a.v1.Store", "shop.b.v1.Store", "shop.b.v1.Chatter", "Root"' in registry
    manifest = files[".scaffold/manifest.json"].decode()
    assert '\n  "shop/services/__init__.py": {"owner": "generated", "sha256": "' in manifest
    assert '\n  "shop/services/root.py": {"owner": "user", "sha256": "' in manifest

    checked = check_project(project, "shop")  # two test modules named test_store.py: importlib mode, mypy bases
    assert checked.passed == 6
    with served(project, "shop") as server:
        called = run_python("-m", "shop.clients.shop.b.v1.store", "--target", f"127.0.0.1:{server.port}", cwd=project)
    assert called.returncode == 1  # the skeleton answers UNIMPLEMENTED: each call says so
    assert called.stdout.splitlines() == [
        "Put failed: UNIMPLEMENTED: Put is not implemented yet",
        "Gather failed: UNIMPLEMENTED: Gather is not implemented yet",
    ], called.stdout
    assert gen(project).returncode == 0 and run_scaffold("check", "-C", project).returncode == 0


def test_one_service_keeps_one_module_and_layout_is_a_choice(tmp_path: Path) -> None:
    source = tmp_path / "root.proto"
    source.write_text(ROOT)
    assert run_scaffold("new", source, "-o", tmp_path / "one").returncode == 0
    assert (tmp_path / "one/root/servicer.py").is_file()
    assert "layout" not in (tmp_path / "one/pyproject.toml").read_text().split("[tool.scaffold]")[1]
    assert run_scaffold("new", source, "-o", tmp_path / "many", "--layout", "per-service").returncode == 0
    assert (tmp_path / "many/root/services/root.py").is_file()
    set_layout(tmp_path / "one", "by-file")
    bad = gen(tmp_path / "one")
    assert bad.returncode == 2 and 'layout must be one of "single", "per-service"' in bad.stderr


USER_IMPORT = "import string\n"
HELPER = 'def shout(text: str) -> str:\n    return string.capwords(text) + "!"\n'
PUT_A = "        return a_pb2.Item(name=shout(request.name))\n"
PUT_B = '        return b_pb2.Thing(name="b:" + request.name)\n'
PING = "        return root_pb2.Empty()  # the user's own line\n"
TEST_A = """    reply = shop_av1_store_stub.Put(a_pb2.Item(name="hat"), timeout=TIMEOUT_SECONDS)
    assert reply.name == "Hat!"
"""
TEST_BODIES = {
    "test_shop_av1_store_put": TEST_A,
    "test_shop_bv1_store_put": '    assert shop_bv1_store_stub.Put(b_pb2.Thing(name="x")).name == "b:x"\n',
    "test_ping": "    assert root_stub.Ping(root_pb2.Empty()) == root_pb2.Empty()\n",
}


def _user_edits(project: Path) -> None:
    """Methods implemented in three services, a helper and an import beside them, a test and a client call."""
    servicer = project / "shop/servicer.py"
    text = servicer.read_text().replace("from collections.abc", USER_IMPORT + "from collections.abc", 1)
    servicer.write_text(
        text.replace("\n\nclass ShopAV1StoreServicer", "\n\n" + HELPER + "\n\nclass ShopAV1StoreServicer", 1)
    )
    implement(servicer, "Put", PUT_A)
    implement(servicer, "Put", PUT_B)
    implement(servicer, "Ping", PING)
    test = project / "tests/test_shop.py"
    for name, body in TEST_BODIES.items():
        text = test.read_text()
        body_start = text.index("\n", text.index(f"def {name}(")) + 1
        body_end = text.find("\n\n\n", body_start) + 1 or len(text)  # the last test ends the module
        test.write_text(text[:body_start] + body + text[body_end:])
    client = project / "shop/client.py"
    client.write_text(
        client.read_text().replace(
            "request = root_pb2.Empty()  # TODO: fill in the request.",
            "request = root_pb2.Empty()  # pinged by the user",
        )
    )


def _lines(files: dict[str, bytes]) -> list[str]:
    return [
        line
        for path, content in files.items()
        if path.endswith(".py") and not path.startswith(".scaffold/")
        for line in content.decode().splitlines()
    ]


def test_switching_layout_moves_the_users_code_merges_later_and_moves_it_back(tmp_path: Path) -> None:
    project = make(tmp_path, "--layout", "single")
    _user_edits(project)
    assert check_project(project, "shop").passed == 6
    before = tree(project)

    set_layout(project, "per-service")
    switched = gen(project)
    assert switched.returncode == 0, switched.stderr
    after = tree(project)
    for line in (
        *USER_IMPORT.splitlines(),
        *HELPER.splitlines(),
        PUT_A.rstrip(),
        PUT_B.rstrip(),
        PING.rstrip(),
        *(line for body in TEST_BODIES.values() for line in body.splitlines()),
        "    request = root_pb2.Empty()  # pinged by the user",
    ):
        assert line in _lines(after), line  # no line of the user's lost
    store_a = after["shop/services/shop/a/v1/store.py"].decode()
    assert PUT_A in store_a and "from shop.servicer import shout" in store_a
    assert PUT_B in after["shop/services/shop/b/v1/store.py"].decode()
    assert PING in after["shop/services/root.py"].decode()
    assert TEST_A in after["tests/shop/a/v1/test_store.py"].decode()
    left = after["shop/servicer.py"].decode()  # the helper stays where the user wrote it, with its import
    assert HELPER in left and USER_IMPORT in left and "class " not in left and "grpc" not in left
    assert not {"shop/client.py", "tests/test_shop.py"} & set(after)  # nothing of the user's was left there
    assert "shop/services/shop/a/v1/store.py" in switched.stdout and "your code moved here" in switched.stdout
    assert check_project(project, "shop").passed == 6  # the user's test now asserts the user's answer
    assert run_scaffold("check", "-C", project).returncode == 0

    # The merge base moved with the code: a new RPC is one stub in one module, the rest untouched.
    b_proto = project / "protos/b.proto"
    b_proto.write_text(
        b_proto.read_text().replace("  rpc Gather", "  rpc Count (Thing) returns (Thing);\n  rpc Gather")
    )
    assert gen(project).returncode == 0
    grown = tree(project)
    store_b = grown["shop/services/shop/b/v1/store.py"].decode()
    assert PUT_B in store_b and store_b.count("def Count(") == 1
    for path in ("shop/services/shop/a/v1/store.py", "shop/services/root.py", "tests/shop/a/v1/test_store.py"):
        assert grown[path] == after[path], path

    set_layout(project, "single")
    back = gen(project)
    assert back.returncode == 0, back.stderr
    final = tree(project)
    servicer = final["shop/servicer.py"].decode()
    assert all(piece in servicer for piece in (USER_IMPORT, HELPER, PUT_A, PUT_B, PING, "def Count("))
    assert "from shop.servicer import" not in servicer
    assert TEST_A in final["tests/test_shop.py"].decode()
    assert not [path for path in final if path.startswith(("shop/services/", "shop/clients/", "tests/shop/"))]
    assert final["shop/client.py"].decode().count("# pinged by the user") == 1
    assert check_project(project, "shop").passed == 7
    assert run_scaffold("check", "-C", project).returncode == 0
    assert before.keys() - final.keys() == set()


def test_a_switch_killed_at_any_swap_ends_in_the_old_tree_or_the_new_one(tmp_path: Path) -> None:
    project = make(tmp_path, "--layout", "single")
    _user_edits(project)
    set_layout(project, "per-service")
    switched, paths = swaps_of_a_run(project, tmp_path)
    assert len(paths) > 20
    recovered = {0, len(paths) // 3, len(paths) // 2, len(paths) - 1}
    for index, path in enumerate(paths):
        if index not in recovered and path.startswith(".scaffold/"):
            continue  # every file of the project is in by then
        copy = killed_after_swapping(project, path, tmp_path / f"kill{index}")
        # new files are in before the ones they replace go: the user's lines stay where the user can see them
        assert not lines_out_of_sight(copy, [HELPER, PUT_A, PUT_B, PING, TEST_A, "# pinged by the user"]), path
        if index in recovered:
            assert gen(copy).returncode == 0
            assert tree(copy) == switched, path


ROOT_MODULE = {"single": "shop/servicer.py", "per-service": "shop/services/root.py"}
"""Where each layout serves the Root service."""


def _switched_back_onto_a_leftover(tmp_path: Path, layout: str) -> Path:
    """A project in `layout` with Ping implemented and a top-level line of the user's beside it; switched away,
    which leaves that module behind for the line; a line of the user's added to the other layout's module;
    and `layout` set again, not yet generated: the next `gen` moves Ping back into the module left behind (a
    file that is there, absorbed) out of one that stays for its line. Both ends of the move are rewrites."""
    other = "single" if layout == "per-service" else "per-service"
    project = make(tmp_path, "--layout", layout)
    first, second = project / ROOT_MODULE[layout], project / ROOT_MODULE[other]
    implement(first, "Ping", PING)
    first.write_text(first.read_text() + f'\nprint("left in {first.stem}")\n')
    set_layout(project, other)
    assert gen(project).returncode == 0
    assert f'print("left in {first.stem}")' in first.read_text()
    second.write_text(second.read_text() + f'\nprint("left in {second.stem}")\n')
    set_layout(project, layout)
    return project


def test_a_switch_moving_code_between_two_files_that_stay_swaps_its_new_home_in_first(tmp_path: Path) -> None:
    """Found by a review: code that moves from a file that stays (a line of the user's is left there) into one
    that is there already (a module the last switch left behind, absorbed) is a rewrite at both ends; in path
    order `shop/servicer.py` went first, and a kill right after it left the user's method only in the journal
    under `.scaffold/`. The file it moves into goes first now, and a rollback puts the old one back first."""
    project = _switched_back_onto_a_leftover(tmp_path, "per-service")
    switched, paths = swaps_of_a_run(project, tmp_path)
    assert PING in switched["shop/services/root.py"].decode()
    assert 'print("left in servicer")' in switched["shop/servicer.py"].decode()
    assert paths.index("shop/services/root.py") < paths.index("shop/servicer.py")
    for path in ("shop/services/root.py", "shop/servicer.py"):
        copy = killed_after_swapping(project, path, tmp_path / path.replace("/", "_"))
        assert not lines_out_of_sight(copy, [PING]), path
        assert gen(copy).returncode == 0
        assert tree(copy) == switched, path


def test_an_undo_of_a_switch_killed_at_any_swap_keeps_the_users_lines_in_sight(tmp_path: Path) -> None:
    """Found by a review: `gen --abort` swapped the files back in path order, so undoing a switch that moved
    the user's method into `shop/servicer.py` (a file left behind, absorbed) out of `shop/services/root.py`
    (which stays, a line of the user's in it) took the method out of the first before the second had it
    back. An undo now goes through the run's own swaps backwards."""
    project = _switched_back_onto_a_leftover(tmp_path, "single")
    switched = gen(project)
    assert switched.returncode == 0, switched.stderr
    assert PING in (project / ROOT_MODULE["single"]).read_text()
    assert PING not in (project / ROOT_MODULE["per-service"]).read_text()
    switched_tree = tree(project)
    before, paths = swaps_of_a_run(project, tmp_path, "--abort")
    assert PING in before["shop/services/root.py"].decode()
    for index, path in enumerate(paths):
        if path.startswith(".scaffold/"):
            continue
        copy = killed_after_swapping(project, path, tmp_path / f"kill{index}", "--abort")
        assert not lines_out_of_sight(copy, [PING, 'print("left in servicer")', 'print("left in root")']), path
        again = run_scaffold("gen", "-C", copy)  # rolls the killed undo back: the switched tree, whole
        assert again.returncode == 0, (path, again.stderr)
        assert tree(copy) == switched_tree, path


def test_an_aio_switch_with_a_new_rpc_in_the_same_run_keeps_the_code_and_adds_the_stub(tmp_path: Path) -> None:
    project = make(tmp_path, "--layout", "single", "--aio")
    servicer = project / "shop/servicer.py"
    text = servicer.read_text()
    abort = '        await context.abort(\n            grpc.StatusCode.UNIMPLEMENTED, "Ping is not implemented yet"\n        )\n'
    stub = "        # TODO: return a root_pb2.Empty.\n" + abort
    assert stub in text
    servicer.write_text(text.replace(stub, PING))
    a_proto = project / "protos/a.proto"
    a_proto.write_text(a_proto.read_text().replace("  rpc Watch", "  rpc Drop (Item) returns (Item);\n  rpc Watch"))
    set_layout(project, "per-service")
    assert gen(project).returncode == 0
    files = tree(project)
    assert PING in files["shop/services/root.py"].decode()
    store_a = files["shop/services/shop/a/v1/store.py"].decode()
    assert store_a.count("    async def Drop(") == 1 and "shop/servicer.py" not in files
    assert "\ndef test_drop() -> None:\n" in files["tests/shop/a/v1/test_store.py"].decode()
    for tool in (("ruff", "check", "--no-cache", "."), ("mypy", "--cache-dir", os.devnull, "shop", "tests")):
        checked = run_python("-m", *tool, cwd=project)
        assert checked.returncode == 0, checked.stdout
    assert run_scaffold("check", "-C", project).returncode == 0


def test_a_change_to_one_service_renders_only_its_modules_and_equals_a_clean_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-service renders are kept between runs (`scaffold.generation.renders`), keyed by what each reads."""
    project = make(tmp_path)
    b_proto = project / "protos/b.proto"
    b_proto.write_text(b_proto.read_text().replace("// Talks.", "// Talks, and listens."))
    rendered: list[str] = []
    real = Renderer._render_one

    def counting(self: Renderer, name: str, context: dict[str, object]) -> str:
        if "__service__" in name:
            rendered.append(name)
        return real(self, name, context)

    monkeypatch.setattr(Renderer, "_render_one", counting)
    report = api.regenerate(project)
    assert report.written
    # Chatter's servicer, client and tests: its doc changed. Nothing of the other three services.
    assert sorted(rendered) == [
        "__package__/clients/__service__.py.jinja",
        "__package__/services/__service__.py.jinja",
        "tests/test___service__.py.jinja",
    ]
    clean = tmp_path / "clean"
    clean.mkdir()
    shutil.copytree(project / "protos", clean / "src")
    made = run_scaffold(
        "new", *(clean / "src" / n for n in ("a.proto", "b.proto", "root.proto")), "-o", clean / "p", "--name", "shop"
    )
    assert made.returncode == 0, made.stderr
    ours, theirs = tree(project), tree(clean / "p")
    assert ours == theirs
    rendered.clear()
    assert api.regenerate(project, full=True).up_to_date and len(rendered) == 12  # --full renders everything again
