"""`root_package`: a per-service project's modules no deeper than they need to be, and where they stay.

`new` sets it to the package the services share, so one package's services sit at the top of
services/, clients/ and tests/; another package added later mirrors its whole name and moves
nothing; editing the key moves each service's modules whole, the user's code with them, and is one
transaction like any `gen` (killed at any swap: the old tree or the new one).
"""

from __future__ import annotations

import re
from pathlib import Path

from conftest import check_project, run_python, run_scaffold, served, tree
from test_trust import killed_after_swapping, lines_out_of_sight, swaps_of_a_run

INVENTORY = """syntax = "proto3";

package inventory.v1;

// Lists what is for sale.
service Catalog {
  // Finds one item.
  rpc Get (Item) returns (Item);
}

// Counts what is in the warehouse.
service Stock {
  rpc Count (Item) returns (Item);
}

message Item {
  string id = 1;
}
"""
BILLING = """syntax = "proto3";

package billing.v1;

service Ledger {
  rpc Post (Entry) returns (Entry);
}

message Entry {
  string id = 1;
}
"""
HEADER = "# Copyright the inventory team\n"
HELPER = "def shout(text: str) -> str:\n    return text.upper()\n"
GET = "        return inventory_pb2.Item(id=shout(request.id))\n"
TEST = '    assert catalog_stub.Get(inventory_pb2.Item(id="a"), timeout=TIMEOUT_SECONDS).id == "A"\n'
CLIENT_NOTE = "# asks for the apple, always\n"
TOP = ("inv/services/catalog.py", "inv/clients/catalog.py", "tests/test_catalog.py")
DEEP = (
    "inv/services/inventory/v1/catalog.py",
    "inv/clients/inventory/v1/catalog.py",
    "tests/inventory/v1/test_catalog.py",
)


def make(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    (source / "inventory.proto").write_text(INVENTORY)
    made = run_scaffold("new", source / "inventory.proto", "-o", tmp_path / "p", "--name", "inv")
    assert made.returncode == 0, made.stderr
    return tmp_path / "p"


def gen(project: Path):  # type: ignore[no-untyped-def]
    return run_scaffold("gen", "-C", project)


def set_root(project: Path, value: str | None) -> None:
    config = project / "pyproject.toml"
    text = re.sub(r'^root_package = ".*"\n', "", config.read_text(), flags=re.MULTILINE)
    if value is not None:
        text = text.replace('layout = "per-service"\n', f'layout = "per-service"\nroot_package = "{value}"\n')
    config.write_text(text)


def edit(project: Path) -> None:
    """A licence header, a helper and an implementation in Catalog's servicer; a test; a client note."""
    servicer = project / TOP[0]
    text = servicer.read_text()
    stub = re.compile(r"        # TODO: return an? [^\n]*\n        context\.abort\([^)]*\)\n")
    text = stub.sub(lambda _: GET, text, count=1)
    text = text.replace("\n\nclass CatalogServicer", "\n\n" + HELPER + "\n\nclass CatalogServicer", 1)
    servicer.write_text(HEADER + text)
    test = project / TOP[2]
    text = test.read_text().replace("import grpc\n", "").replace("served_channel, status_of", "served_channel")
    body = text.index("\n", text.index("def test_get(")) + 1  # the last test: its body ends the module
    test.write_text(text[:body] + TEST)
    client = project / TOP[1]
    client.write_text(client.read_text() + "\n" + CLIENT_NOTE)


def test_one_packages_services_sit_at_the_top_and_a_new_package_moves_nothing(tmp_path: Path) -> None:
    project = make(tmp_path)
    files = tree(project)
    assert 'layout = "per-service"\nroot_package = "inventory.v1"\n' in files["pyproject.toml"].decode()
    assert set(TOP) | {"inv/services/stock.py", "tests/test_stock.py"} <= set(files)
    assert not [path for path in files if "/inventory/" in path and "/generated/" not in path]
    edit(project)
    before = tree(project)

    (project / "protos/billing.proto").write_text(BILLING)
    config = project / "pyproject.toml"
    config.write_text(
        config.read_text().replace('"protos/inventory.proto"', '"protos/inventory.proto", "protos/billing.proto"')
    )
    grown = gen(project)
    assert grown.returncode == 0, grown.stderr
    after = tree(project)
    for path in (*TOP, "inv/services/stock.py"):
        assert after[path] == before[path], path  # nothing already there moved, nor changed
    assert {"inv/services/billing/v1/ledger.py", "tests/billing/v1/test_ledger.py"} <= set(after)
    assert check_project(project, "inv").passed == 3  # the user's test, Stock's and Ledger's
    with served(project, "inv") as server:
        called = run_python("-m", "inv.clients", "--target", f"127.0.0.1:{server.port}", cwd=project)
    assert called.returncode == 1  # Stock and Ledger answer UNIMPLEMENTED; Catalog answers
    assert "Get -> " in called.stdout and "Count failed: UNIMPLEMENTED" in called.stdout
    assert "Post failed: UNIMPLEMENTED" in called.stdout, called.stdout


def test_editing_root_package_moves_each_module_whole_and_back(tmp_path: Path) -> None:
    project = make(tmp_path)
    edit(project)
    before = tree(project)

    set_root(project, None)  # absent: every package's whole name
    moved = gen(project)
    assert moved.returncode == 0, moved.stderr
    after = tree(project)
    assert not set(TOP) & set(after) and set(DEEP) <= set(after)
    servicer = after[DEEP[0]].decode()
    assert servicer.startswith(HEADER) and HELPER in servicer and GET in servicer
    assert TEST in after[DEEP[2]].decode()
    client = after[DEEP[1]].decode()
    assert client.endswith(CLIENT_NOTE) and "python -m inv.clients.inventory.v1.catalog" in client
    assert f"create    {DEEP[0]}  (your code moved here)" in moved.stdout
    assert run_scaffold("check", "-C", project).returncode == 0
    assert check_project(project, "inv").passed == 2

    set_root(project, "inventory.v1")
    back = gen(project)
    assert back.returncode == 0, back.stderr
    final = tree(project)
    for path in (*TOP, "inv/services/stock.py", "tests/test_stock.py", "inv/clients/stock.py"):
        assert final[path] == before[path], path  # the round trip gives every module back as it was
    assert not set(DEEP) & set(final)
    assert run_scaffold("check", "-C", project).returncode == 0


def test_a_move_with_a_new_rpc_in_the_same_run_keeps_the_code_and_adds_the_stub(tmp_path: Path) -> None:
    project = make(tmp_path)
    edit(project)
    proto = project / "protos/inventory.proto"
    proto.write_text(
        proto.read_text().replace("  rpc Get (Item)", "  rpc Find (Item) returns (Item);\n  rpc Get (Item)")
    )
    set_root(project, "inventory")
    result = gen(project)
    assert result.returncode == 0, result.stderr
    servicer = (project / "inv/services/v1/catalog.py").read_text()
    assert GET in servicer and servicer.count("def Find(") == 1 and HEADER in servicer
    assert check_project(project, "inv").passed == 3


def test_a_move_onto_a_file_that_is_there_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    project = make(tmp_path)
    edit(project)
    mine = project / DEEP[2]
    mine.parent.mkdir(parents=True)
    mine.write_text("def test_mine() -> None:\n    pass\n")
    set_root(project, None)
    before = tree(project)
    refused = gen(project)
    assert refused.returncode == 2
    assert (
        f"{TOP[2]}:1:1: root_package moves this module to {DEEP[2]}, which is there already; move or remove"
        in refused.stderr
    ), refused.stderr
    assert tree(project) == before


def test_a_move_killed_at_any_swap_ends_in_the_old_tree_or_the_new_one(tmp_path: Path) -> None:
    project = make(tmp_path)
    edit(project)
    set_root(project, "inventory")
    moved, paths = swaps_of_a_run(project, tmp_path)
    assert len(paths) > 10
    recovered = {0, len(paths) // 2, len(paths) - 1}
    for index, path in enumerate(paths):
        if index not in recovered and path.startswith(".scaffold/"):
            continue  # every file of the project is in by then
        copy = killed_after_swapping(project, path, tmp_path / f"kill{index}")
        # a moved module is in before its old path goes: the user's lines stay where the user can see them
        assert not lines_out_of_sight(copy, [HEADER, GET, HELPER, TEST, CLIENT_NOTE]), path
        if index in recovered:
            assert gen(copy).returncode == 0
            assert tree(copy) == moved, path


def test_a_root_package_that_is_no_package_name_is_a_located_error(tmp_path: Path) -> None:
    project = make(tmp_path)
    set_root(project, "inventory..v1")
    before = tree(project)
    result = gen(project)
    assert result.returncode == 2
    line = (project / "pyproject.toml").read_text().splitlines().index('root_package = "inventory..v1"') + 1
    assert re.search(
        rf"pyproject\.toml:{line}:\d+: \[tool\.scaffold\] root_package: 'inventory\.\.v1' is not a proto package",
        result.stderr,
    ), result.stderr
    assert tree(project) == before


def test_without_the_record_modules_under_another_root_are_refused_not_stranded(tmp_path: Path) -> None:
    project = make(tmp_path)
    edit(project)
    for path in sorted((project / ".scaffold").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (project / ".scaffold").rmdir()
    set_root(project, None)
    result = gen(project)
    assert result.returncode == 2
    assert (
        f"{TOP[0]}:" in result.stderr and "set layout = 'per-service', root_package = 'inventory.v1'" in result.stderr
    ), result.stderr
