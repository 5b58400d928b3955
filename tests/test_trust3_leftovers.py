"""Issue 25, what was left after round 3: a removed service's class kept by the merge, scaffold's import
block grown beside the user's lines, a lost record with a new service, a killed `new`, and the paths of a
replay file; all driven through the CLI."""

from __future__ import annotations

import ast
import marshal
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from conftest import REPO, run_python, run_scaffold, tree
from test_trust import lines_out_of_sight, with_seam

from scaffold.record import cache as cache_module


def gen(project: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return run_scaffold("gen", "-C", project, *args, env=env)


def check(project: Path) -> int:
    return run_scaffold("check", "-C", project).returncode


def imports(project: Path, *modules: str) -> None:
    """Every module in `modules` imports in a fresh interpreter, as the server and the tests import them."""
    loaded = run_python(
        "-c", "import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)", *modules, cwd=project
    )
    assert loaded.returncode == 0, loaded.stderr


def lint(project: Path, *paths: str) -> None:
    """Names defined twice or never (ruff F811, F821): a merge that duplicates or drops a definition."""
    found = run_python("-m", "ruff", "check", "--no-cache", "--select", "F811,F821", *paths, cwd=project)
    assert found.returncode == 0, found.stdout


# 1. A class of a removed service that the merge keeps (the user's lines touch it) is kept unserved.

SHOP = """syntax = "proto3";
package shop.v1;
message Item {{ string name = 1; }}
service Store {{
  rpc Get (Item) returns (Item) {{}}
}}
{catalog}"""
CATALOG = (
    "service Catalog {\n  rpc Find (Item) returns (Item) {}\n  rpc Chat (stream Item) returns (stream Item) {}\n}\n"
)


def shop(tmp_path: Path, layout: str, *options: str) -> Path:
    source = tmp_path / "src/shop.proto"
    source.parent.mkdir(parents=True)
    source.write_text(SHOP.format(catalog=CATALOG))
    project = tmp_path / "project"
    made = run_scaffold("new", source, "-o", project, "--layout", layout, *options)
    assert made.returncode == 0, made.stderr
    return project


@pytest.mark.parametrize("layout", ["single", "per-service"])
@pytest.mark.parametrize(
    "statement",
    [
        "EVERY_CATALOG = [CatalogServicer]  # names the class\n",
        "# a note of mine, right below the class\nLIMIT = 3\n",
    ],
)
def test_a_removed_services_class_the_merge_keeps_loses_its_base(tmp_path: Path, layout: str, statement: str) -> None:
    project = shop(tmp_path, layout)
    module = project / ("shop/servicer.py" if layout == "single" else "shop/services/catalog.py")
    module.write_text(module.read_text() + "\n" + statement)
    (project / "protos/shop.proto").write_text(SHOP.format(catalog=""))
    result = gen(project)
    assert result.returncode == 0 and "conflict" not in result.stdout, result.stdout + result.stderr
    text = module.read_text()
    assert text.endswith(statement)
    if "CatalogServicer" in statement or layout == "per-service":  # it names the class, or is its module's
        assert "Catalog (removed from the protos; its servicer class stays" in result.stdout, result.stdout
        assert "class CatalogServicer:  # its service is gone" in text, text
    else:  # lines written beside a class they never touched: theirs stay, the class goes with its service
        assert "Catalog (removed from the protos; its untouched code went with it)" in result.stdout
        assert "class CatalogServicer" not in text
    imports(project, "shop.server", module.relative_to(project).with_suffix("").as_posix().replace("/", "."))
    assert check(project) == 0
    assert gen(project).stdout.startswith("Up to date")


@pytest.mark.parametrize("note", ["# a closing note of mine\n", "    # an indented note of mine\n"])
def test_a_switch_lets_an_untouched_kept_class_go_and_leaves_the_comments_closing_its_module(
    tmp_path: Path, note: str
) -> None:
    """Seed 61405 of the fuzzer: a removed service's module, kept whole for a comment the user wrote at its
    end, held the class as scaffold wrote it. A switch to the single layout took the comment for part of
    the class's block, so the class counted as the user's code and moved into `servicer.py`, where the next
    run let it go, and `check` called the switched tree stale. The comment is not the class's code: the
    class goes, as a merge would drop it, and the comment stays where the user wrote it (indented or not: below
    the class's last line, it says nothing of its code)."""
    project = shop(tmp_path, "per-service")
    module = project / "shop/services/catalog.py"
    module.write_text(module.read_text() + note)
    (project / "protos/shop.proto").write_text(SHOP.format(catalog=""))
    assert gen(project).returncode == 0
    assert "class CatalogServicer:  # its service is gone" in module.read_text()
    config = project / "pyproject.toml"
    config.write_text(config.read_text().replace('layout = "per-service"', 'layout = "single"'))
    switched = gen(project)
    assert switched.returncode == 0, switched.stdout + switched.stderr
    assert not lines_out_of_sight(project, [note.strip()])
    assert "class CatalogServicer" not in (project / "shop/servicer.py").read_text()
    assert "CatalogServicer" not in module.read_text()
    imports(project, "shop.server", "shop.servicer")
    assert check(project) == 0
    assert gen(project).stdout.startswith("Up to date")


# 1b. A module whose service left the protos, where the user only took lines out, holds nothing of theirs.


def test_a_module_the_user_only_took_lines_from_goes_with_its_service(tmp_path: Path) -> None:
    """Seed 57518 of the fuzzer: the user deleted a stub and the import only it used; the service was then
    renamed. The merge kept the class for that edit, and the module came out exactly as rendered, so the
    next run (finding it as written) removed it, where `check` had said up to date. Every edit of theirs is
    one the render makes too: the module goes now, and a run from scratch agrees."""
    project = shop(tmp_path, "per-service")
    module = project / "shop/services/catalog.py"
    text = module.read_text()
    chat = text.index("    def Chat(")
    text = text[:chat] + text[text.index("    # scaffold adds the stubs") :]
    module.write_text(text.replace("from collections.abc import Iterator\n\n", ""))
    grown = SHOP.replace("string name = 1;", "string name = 1; string note = 2;")
    (project / "protos/shop.proto").write_text(grown.format(catalog=CATALOG))
    assert gen(project).returncode == 0 and check(project) == 0  # rendered again: the stub stays deleted
    (project / "protos/shop.proto").write_text(grown.format(catalog=CATALOG.replace("Catalog", "Inbox")))
    result = gen(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Catalog (removed from the protos; its untouched code went with it)" in result.stdout, result.stdout
    assert (
        "catalog.py  (no longer generated; each of your edits to it is one scaffold's render makes too)"
        in result.stdout
    )
    assert not module.exists()
    assert check(project) == 0
    shutil.rmtree(project / ".scaffold/cache")
    assert gen(project, "--full").stdout.startswith("Up to date"), "a run from scratch changes nothing"


def test_a_kept_class_whose_code_the_user_undid_is_stale_for_check(tmp_path: Path) -> None:
    """A class kept for the user's code stays only while that code is not scaffold's stub. Undoing it (the
    module exactly as last written) changes what `gen` writes, although every file is as recorded: `check`
    says so, as a run from scratch would find."""
    project = shop(tmp_path, "per-service")
    module = project / "shop/services/catalog.py"
    module.write_text(module.read_text().replace("# TODO: return a shop_pb2.Item.", "mine = True", 1))
    (project / "protos/shop.proto").write_text(SHOP.format(catalog=""))
    assert "its servicer class stays until you delete it" in gen(project).stdout
    module.write_bytes((project / ".scaffold/base/shop/services/catalog.py").read_bytes())
    assert check(project) == 1
    result = gen(project)
    assert "remove    shop/services/catalog.py" in result.stdout, result.stdout
    assert check(project) == 0


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("rpc Get (Item) returns (Item)", "rpc Get (Item) returns (Reply)"),
        ("// Gets one.", "// Gets one item."),
    ],
    ids=["shape", "docstring"],
)
def test_an_old_shape_or_docstring_kept_for_code_the_user_undid_is_stale_for_check(
    tmp_path: Path, before: str, after: str
) -> None:
    """A method the user implemented keeps its old signature (or its docstring) when the proto changes
    it; undone, the method is the stub again and `gen` renders the new one: `check` must not vouch for the
    tree meanwhile, although every file is as recorded."""
    proto = (
        'syntax = "proto3";\npackage shop.v1;\nmessage Item { string name = 1; }\nmessage Reply { string name = 1; }\n'
    )
    proto += "service Store {\n  // Gets one.\n  rpc Get (Item) returns (Item) {}\n}\n"
    source = tmp_path / "src/shop.proto"
    source.parent.mkdir(parents=True)
    source.write_text(proto)
    project = tmp_path / "project"
    assert run_scaffold("new", source, "-o", project, "--layout", "per-service").returncode == 0
    module = project / "shop/services/store.py"
    module.write_text(module.read_text().replace("# TODO: return a shop_pb2.Item.", "return request  # mine", 1))
    (project / "protos/shop.proto").write_text(proto.replace(before, after))
    assert gen(project).returncode == 0 and "return request  # mine" in module.read_text()
    module.write_bytes((project / ".scaffold/base/shop/services/store.py").read_bytes())
    assert check(project) == 1
    assert "update    shop/services/store.py" in gen(project).stdout
    assert check(project) == 0


# 2. scaffold's import block replaces its old lines, whatever the user put right beside them.

PROTO = """syntax = "proto3";
package {name}.v1;
message {message} {{ string name = 1; }}
service {service} {{
  rpc Sync ({message}) returns ({message}) {{}}
}}
"""


@pytest.mark.parametrize("where", ["below", "above"])
def test_a_grown_import_block_replaces_the_old_lines_beside_the_users(tmp_path: Path, where: str) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name, message, service in (("ledger", "Entry", "Ledger"), ("orders", "Order", "Orders")):
        (source / f"{name}.proto").write_text(PROTO.format(name=name, message=message, service=service))
    project = tmp_path / "project"
    made = run_scaffold("new", source, "-o", project, "--name", "shop", "--layout", "single")
    assert made.returncode == 0, made.stderr
    servicer = project / "shop/servicer.py"
    text = servicer.read_text()
    line = next(line for line in text.splitlines(keepends=True) if line.startswith("from shop.generated import "))
    mine = "import decimal  # mine\n\nPRECISION = decimal.getcontext().prec  # mine\n"
    servicer.write_text(text.replace(line, line + mine if where == "below" else mine + line))
    (project / "protos/invoicing.proto").write_text(PROTO.format(name="invoicing", message="Bill", service="Billing"))
    result = gen(project)
    assert result.returncode == 0 and "conflict" not in result.stdout, result.stdout + result.stderr
    merged = servicer.read_text()
    assert line not in merged and "    invoicing_pb2_grpc,\n" in merged and mine in merged, merged
    lint(project, "shop/servicer.py")
    imports(project, "shop.server")
    assert check(project) == 0


# 3. A lost `.scaffold/` and a new service: the rebuilt merge base has no trace of the new service.

TWO = """syntax = "proto3";
package two;
message Note {{ string text = 1; }}
service Alpha {{
  rpc Ping (Note) returns (Note) {{}}
}}
service Beta {{
  rpc Pong (Note) returns (Note) {{}}
}}
{more}"""


@pytest.mark.parametrize("layout", ["per-service", "single"])
def test_a_lost_record_and_a_new_service_merge_every_shared_file(tmp_path: Path, layout: str) -> None:
    source = tmp_path / "src/two.proto"
    source.parent.mkdir(parents=True)
    source.write_text(TWO.format(more=""))
    project = tmp_path / "project"
    made = run_scaffold("new", source, "-o", project, "--layout", layout)
    assert made.returncode == 0, made.stderr
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nMy notes.\n")
    shutil.rmtree(project / ".scaffold")
    (project / "protos/two.proto").write_text(
        TWO.format(more="service Gamma {\n  rpc Go (Note) returns (Note) {}\n}\n")
    )
    result = gen(project)
    assert result.returncode == 0 and "conflict" not in result.stdout, result.stdout + result.stderr
    text = readme.read_text()
    assert "| `two.Gamma` | Go |" in text and text.endswith("\nMy notes.\n"), text
    assert "class GammaServicer(" in "".join(p.read_text() for p in (project / "two").rglob("*.py"))
    imports(project, "two.server")
    assert check(project) == 0


# 4. A killed `new` rolls back to the directory as it was: no empty directory of its own is left.

KILL = "def hook(moment, path):\n    if (moment, path) == ({moment!r}, {path!r}):\n        os._exit(137)\n"


def directories(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir())


@pytest.mark.parametrize(
    ("moment", "path"),
    [
        ("after-swap", "protos/helloworld.proto"),
        ("swapping", "helloworld/generated/helloworld_pb2.py"),
        ("after-swap", ".scaffold/manifest.json"),
    ],
)
def test_a_killed_new_leaves_the_output_directory_as_it_was(tmp_path: Path, moment: str, path: str) -> None:
    proto = REPO / "protos/helloworld.proto"
    hook = with_seam(tmp_path, KILL.format(moment=moment, path=path))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_scaffold("new", proto, "-o", empty, env=hook).returncode == 137
    again = run_scaffold("new", proto, "-o", empty)  # no --force: rolled back, the directory is empty again
    assert again.returncode == 0, again.stderr
    assert check(empty) == 0

    mine = tmp_path / "mine"
    (mine / "notes/old").mkdir(parents=True)
    (mine / "notes/old/NOTES.md").write_text("mine\n")
    (mine / "helloworld").mkdir()
    before, dirs = tree(mine), directories(mine)
    assert run_scaffold("new", "--force", proto, "-o", mine, env=hook).returncode == 137
    refused = run_scaffold("new", proto, "-o", mine)  # rolls the killed run back, then refuses: not empty
    assert refused.returncode == 2 and "output directory is not empty" in refused.stderr, refused.stderr
    assert tree(mine) == before and directories(mine) == dirs


def test_gen_after_a_killed_new_rolls_it_back_to_an_empty_directory(tmp_path: Path) -> None:
    proto = REPO / "protos/helloworld.proto"
    empty = tmp_path / "empty"
    empty.mkdir()
    hook = with_seam(tmp_path, KILL.format(moment="after-swap", path=".scaffold/manifest.json"))
    assert run_scaffold("new", proto, "-o", empty, env=hook).returncode == 137
    rolled = gen(empty)
    assert rolled.returncode == 2 and rolled.stderr.count("\n") == 1, rolled.stderr
    assert "run that `scaffold new` again" in rolled.stderr
    assert list(empty.iterdir()) == []  # as it was: not even scaffold's lock
    again = run_scaffold("new", proto, "-o", empty)
    assert again.returncode == 0, again.stderr


# 5. The paths a replay file names are checked before anything is written.


@pytest.mark.parametrize(
    "bad",
    [
        "helloworld/generated//helloworld_pb2.py",
        "./helloworld/generated/x_pb2.py",
        "helloworld/generated/x\0_pb2.py",
        "helloworld\\generated\\x_pb2.py",
        "helloworld/generated/../../../outside.py",
        "/tmp/outside.py",
    ],
)
@pytest.mark.parametrize("field", ["outputs", "generated_names"])
def test_a_replay_file_naming_a_path_not_in_normal_form_is_refused(tmp_path: Path, bad: str, field: str) -> None:
    project = tmp_path / "project"
    made = run_scaffold("new", REPO / "protos/helloworld.proto", "-o", project)
    assert made.returncode == 0, made.stderr
    dumped = gen(project, "--full", env={"SCAFFOLD_DUMP": str(tmp_path / "dump")})
    assert dumped.returncode == 0, dumped.stderr
    saved = tmp_path / "dump/protoc-result.marshal"
    data = list(marshal.loads(saved.read_bytes()))
    if field == "outputs":
        data[3] = {**data[3], bad: b"X = 1\n"}
    else:
        data[2] = [*data[2], bad.removeprefix("helloworld/generated/").replace("_pb2.py", ".proto")]
    crafted = tmp_path / "crafted.marshal"
    crafted.write_bytes(marshal.dumps(tuple(data)))
    before = tree(project)
    for command in (["gen", "--full", "-C", project], ["new", REPO / "protos/helloworld.proto", "-o", tmp_path / "n"]):
        refused = run_scaffold(*command, env={"SCAFFOLD_REPLAY": str(crafted)})
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert refused.stderr.count("\n") == 1 and refused.stderr.startswith(f"SCAFFOLD_REPLAY={crafted}: "), (
            refused.stderr
        )
        assert "Traceback" not in refused.stderr
    assert tree(project) == before
    assert not (tmp_path / "n").exists() and not (tmp_path / "outside.py").exists()
    assert not Path("/tmp/outside.py").exists()


# 2. What the user appends to a module and what a new service appends to it both land, without a conflict.


@pytest.mark.parametrize(
    "trailing",
    [
        "# fz-0022: saved while gen ran\n",
        '\n\nif __name__ == "__main__":\n    print(__doc__)  # mine: a main block stays last\n',
    ],
)
def test_a_new_services_class_lands_above_what_the_user_appended(tmp_path: Path, trailing: str) -> None:
    """Found by the fuzzer (seed 8100): both sides adding at the end of a module was a conflict, and a user
    keeping their side dropped the new class the server imports."""
    source = tmp_path / "src/shop.proto"
    source.parent.mkdir(parents=True)
    source.write_text(SHOP.format(catalog=""))
    project = tmp_path / "project"
    assert run_scaffold("new", source, "-o", project, "--layout", "single").returncode == 0
    for path in ("shop/servicer.py", "tests/test_shop.py"):
        (project / path).write_text((project / path).read_text() + trailing)
    (project / "protos/shop.proto").write_text(SHOP.format(catalog=CATALOG))

    result = gen(project)
    assert result.returncode == 0, result.stdout + result.stderr
    servicer = (project / "shop/servicer.py").read_text()
    assert servicer.endswith(trailing) and "class CatalogServicer(" in servicer, servicer
    assert (project / "tests/test_shop.py").read_text().endswith(trailing)
    assert check(project) == 0
    imports(project, "shop.server", "shop.servicer")
    lint(project, "shop", "tests")


def _kept_catalog_beside_another(tmp_path: Path, rpcs: str, beside_kept: str = "") -> tuple[Path, Path, str]:
    """shop.v1.Catalog removed, its class kept for the user's code in `services/catalog.py` (with
    `beside_kept` appended there); other.v1.Catalog, a class of the same name, served from its own module
    with `rpcs`. (project, that module, other.proto's text)"""
    project = shop(tmp_path, "per-service")
    module = project / "shop/services/catalog.py"
    implemented = module.read_text().replace("# TODO: yield each shop_pb2.Item", "yield from request_iterator  #", 1)
    module.write_text(implemented + beside_kept)
    (project / "protos/shop.proto").write_text(SHOP.format(catalog=""))
    assert "its servicer class stays until you delete it" in gen(project).stdout
    other = 'syntax = "proto3";\npackage other.v1;\nmessage Thing { string name = 1; }\n'
    other += f"service Catalog {{\n{rpcs}}}\n"
    (project / "protos/other.proto").write_text(other)
    config = project / "pyproject.toml"
    config.write_text(config.read_text().replace('"protos/shop.proto"]', '"protos/shop.proto", "protos/other.proto"]'))
    assert gen(project).returncode == 0
    return project, project / "shop/services/other/v1/catalog.py", other


def test_a_new_service_named_like_a_kept_class_of_another_package_gets_its_stubs(tmp_path: Path) -> None:
    """Fuzzer seed 58705: a removed service's class stays in its per-service module (the user's code in it);
    a service of another package with the same name comes, and its module is rendered beside. Reconcile
    looked methods up by class name in every module: it took the kept class's stubs for methods the user
    wrote before the protos had them and left the new service's stubs out (the next run called them
    deleted and changed the imports, while `check` had called the tree up to date). Each service's methods
    are now looked up in its own module only."""
    helper = "\n\ndef loud(text: str) -> str:\n    return text.upper()\n"
    project, served, other = _kept_catalog_beside_another(tmp_path, "  rpc Find (Thing) returns (Thing) {}\n", helper)
    assert "def Find(" in served.read_text() and '"Find is not implemented yet"' in served.read_text()
    assert check(project) == 0
    assert gen(project, "--full").stdout.startswith("Up to date")
    imports(project, "shop.server")
    # A method the user writes there before the protos have its RPC stays theirs, stub-free, although the
    # kept class of the same name has a stub of that name in its own module.
    mine = "    def Chat(self, request_iterator, context):  # mine\n        return iter(request_iterator)\n\n"
    text = served.read_text()
    served.write_text(text.replace("    # scaffold adds the stubs", mine + "    # scaffold adds the stubs", 1))
    other = other.replace(
        "returns (Thing) {}\n}", "returns (Thing) {}\n  rpc Chat (stream Thing) returns (stream Thing) {}\n}"
    )
    (project / "protos/other.proto").write_text(other)
    result = gen(project)
    assert result.returncode == 0 and "conflict" not in result.stdout, result.stdout
    assert served.read_text().count("def Chat(") == 1 and "# mine" in served.read_text()
    assert check(project) == 0


@pytest.mark.parametrize("aio", [False, True])
def test_a_class_written_before_its_service_moves_in_a_switch_without_a_stub_over_its_method(
    tmp_path: Path, aio: bool
) -> None:
    """A switch to per-service modules in the run that adds a service whose class the user wrote first in
    `servicer.py`: the new service's module is not written yet, so its methods are read where the class
    is (reconcile's lookup by module must not miss it), and no stub is rendered over the user's method."""
    project = shop(tmp_path, "single", *(["--aio"] if aio else []))
    servicer = project / "shop/servicer.py"
    mine = '\n\nclass FooServicer(shop_pb2_grpc.FooServicer):\n    """Mine."""\n\n    def Bar(self, request, context):  # mine\n'
    servicer.write_text(servicer.read_text() + mine + "        return request\n")
    proto = project / "protos/shop.proto"
    foo = "service Foo {\n  rpc Bar (Item) returns (Item) {}\n  rpc Baz (Item) returns (Item) {}\n}\n"
    proto.write_text(proto.read_text() + foo)
    config = project / "pyproject.toml"
    text = re.sub(r'(?m)^layout = ".*"\n', "", config.read_text())
    config.write_text(text.replace("[tool.scaffold]\n", '[tool.scaffold]\nlayout = "per-service"\n', 1))
    result = gen(project)
    assert result.returncode == 0 and "conflict" not in result.stdout, result.stdout
    [module] = (project / "shop/services").rglob("foo.py")
    text = module.read_text()
    assert text.count("def Bar(") == 1 and "# mine" in text and "def Baz(" in text, text
    assert check(project) == 0


def _project(tmp_path: Path, protos: dict[str, str], *options: str) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    for name, text in protos.items():
        (source / name).write_text('syntax = "proto3";\n' + text)
    project = tmp_path / "project"
    made = run_scaffold("new", *(source / name for name in protos), "-o", project, "--name", "a", *options)
    assert made.returncode == 0, made.stderr
    return project


def test_a_new_service_gets_every_stub_though_the_user_has_a_class_of_its_name_elsewhere(tmp_path: Path) -> None:
    """Per-service modules, no switch: a class the user wrote in another service's module is not the new
    service's (nothing moves it), so the new module gets every stub; 25ce954 left `Post` out for good."""
    messages = "message Req { string a = 1; }\nmessage Res { string b = 1; }\n"
    project = _project(
        tmp_path,
        {
            "a.proto": "package a.v1;\n" + messages + "service Catalog { rpc Get(Req) returns (Res); }\n"
            "service Orders { rpc Place(Req) returns (Res); }\n"
        },
        "--layout",
        "per-service",
    )
    [catalog] = (project / "a/services").rglob("catalog.py")
    mine = "\n\nclass LedgerServicer:\n    def Post(self, request, context):  # mine\n        return None\n"
    catalog.write_text(catalog.read_text() + mine)
    proto = project / "protos/a.proto"
    proto.write_text(
        proto.read_text() + "service Ledger { rpc Post(Req) returns (Res); rpc Void(Req) returns (Res); }\n"
    )
    assert gen(project).returncode == 0
    [ledger] = (project / "a/services").rglob("ledger.py")
    assert (
        '"Post is not implemented yet"' in ledger.read_text() and '"Void is not implemented yet"' in ledger.read_text()
    )
    assert check(project) == 0


def test_a_new_service_whose_home_a_removed_one_keeps_gets_its_stubs_in_its_own_module(tmp_path: Path) -> None:
    """`root_package` puts two packages' modules in one folder: a removed service's class, kept, holds the
    path the new service of the same name would have had, and the new one is rendered beside it
    (`catalog_2.py`). Its methods are not the kept class's: it gets its stubs."""
    messages = "message Req { string a = 1; }\nmessage Res { string b = 1; }\n"
    project = _project(
        tmp_path,
        {
            "a.proto": "package shop.v1;\n" + messages + "service Catalog { rpc Get(Req) returns (Res); }\n",
            "b.proto": "package v1;\nmessage Req { string a = 1; }\nmessage Res { string b = 1; }\n"
            "service Orders { rpc Place(Req) returns (Res); }\n",
        },
        "--layout",
        "per-service",
    )
    config = project / "pyproject.toml"
    text = re.sub(r'(?m)^root_package = ".*"\n', "", config.read_text())
    config.write_text(text.replace('layout = "per-service"\n', 'layout = "per-service"\nroot_package = "shop"\n', 1))
    assert gen(project).returncode == 0
    [catalog] = (project / "a/services").rglob("catalog.py")
    catalog.write_text(catalog.read_text().replace("# TODO: return a", "mine = True  #", 1))
    (project / "protos/a.proto").write_text('syntax = "proto3";\npackage shop.v1;\n' + messages)
    b = project / "protos/b.proto"
    b.write_text(b.read_text() + "service Catalog { rpc Get(Req) returns (Res); rpc Put(Req) returns (Res); }\n")
    result = gen(project)
    assert result.returncode == 0, result.stdout + result.stderr
    [served] = (project / "a/services").rglob("catalog_2.py")
    assert '"Get is not implemented yet"' in served.read_text() and '"Put is not implemented yet"' in served.read_text()
    assert "mine = True" in catalog.read_text()
    assert check(project) == 0


@pytest.mark.parametrize("aio", [False, True])
def test_a_service_renamed_to_a_kept_class_s_name_never_tears_the_class_from_its_methods(
    tmp_path: Path, aio: bool
) -> None:
    """Fuzzer seed 59005: Catalog is removed, its class kept for the user's code, a helper of theirs above
    it; then Store is renamed Catalog. The new render's class took Store's stub lines, and the line merge,
    clean, dropped the kept class's line: its method with the user's code was left in the helper's body
    (`check` called the tree up to date; the next run dropped the method). A merge that loses a definition
    both sides have is no merge: whatever comes out, the user's method stays a method of its class."""
    project = shop(tmp_path, "single", *(["--aio"] if aio else []))
    module = project / "shop/servicer.py"
    text = module.read_text()
    head, catalog = text.split("class CatalogServicer", 1)
    todo = "        # TODO: yield each shop_pb2.Item of the response stream.\n"
    assert todo in catalog
    catalog = catalog.replace(todo, "        detail = 'mine'  # my code\n", 1)
    module.write_text(
        head + "def loud(text: str) -> str:\n    return text.upper()\n\n\nclass CatalogServicer" + catalog
    )
    (project / "protos/shop.proto").write_text(SHOP.format(catalog=""))
    assert "its servicer class stays until you delete it" in gen(project).stdout
    (project / "protos/shop.proto").write_text(SHOP.format(catalog="").replace("service Store", "service Catalog"))
    result = gen(project)
    assert result.returncode in (0, 1), result.stderr
    text = module.read_text()
    assert "detail = 'mine'  # my code" in text
    yours = text.split("||||||| ")[0] if "<<<<<<< " in text else text
    tree = ast.parse(yours.replace("<<<<<<< yours (on disk)\n", ""))
    methods = {
        (node.name, item.name)
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        for item in node.body
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    assert ("CatalogServicer", "Chat") in methods, yours
    if result.returncode == 0:
        assert check(project) == 0
        assert gen(project).stdout.startswith("Up to date")
    else:
        assert "conflict" in result.stdout and check(project) != 0


def _noted_find(served: Path) -> None:
    """The user's comment right below the Find stub of `served`: the merge keeps the stub for it."""
    stub_end = '"Find is not implemented yet")\n'
    served.write_text(served.read_text().replace(stub_end, stub_end + "    # my note on Find\n", 1))


FIND_AND_LOOK = "  rpc Find (Thing) returns (Thing) {}\n  rpc Look (Thing) returns (Thing) {}\n"


def test_a_dropped_stub_the_merge_keeps_is_reported_kept_beside_a_kept_class_of_its_name(tmp_path: Path) -> None:
    """What reconcile dropped and the merge kept was keyed by class name across modules: other.v1.Catalog's
    Find stub, kept by the merge for the user's comment below it, was taken for the kept shop.v1.Catalog
    class's Find, still shown, so the run said the stub went while it stayed. Keyed by service now."""
    project, served, other = _kept_catalog_beside_another(tmp_path, FIND_AND_LOOK)
    _noted_find(served)
    (project / "protos/other.proto").write_text(other.replace("  rpc Find (Thing) returns (Thing) {}\n", ""))
    result = gen(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "- Find (removed from the protos; your method stays)" in result.stdout
    assert "# my note on Find" in served.read_text() and "def Find(" in served.read_text()
    assert check(project) == 0
    assert gen(project, "--full").stdout.startswith("Up to date")
    imports(project, "shop.server", "shop.services.other.v1.catalog")


def test_a_removed_services_class_the_merge_keeps_loses_its_base_beside_a_kept_class_of_its_name(
    tmp_path: Path,
) -> None:
    """The same keying, for a whole service: other.v1.Catalog removed while the user's comment sits in its
    class. The merge kept the class, but the run took it for the other kept class of that name: it kept its
    generated base, gone from the protos, and the run ended in exit 1 with the module no longer importing."""
    project, served, other = _kept_catalog_beside_another(tmp_path, FIND_AND_LOOK)
    _noted_find(served)
    (project / "protos/other.proto").write_text(other.split("service Catalog")[0])
    result = gen(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "other.v1.Catalog (removed from the protos; its servicer class stays until you delete it)" in result.stdout
    text = served.read_text()
    assert "# my note on Find" in text and "class CatalogServicer:  # its service is gone" in text
    assert check(project) == 0
    assert gen(project, "--full").stdout.startswith("Up to date")
    imports(project, "shop.server", "shop.services.other.v1.catalog", "shop.services.catalog")


@pytest.mark.parametrize("layout", ["single", "per-service"])
def test_a_package_renamed_keeps_every_class_in_its_module_and_lets_the_old_services_go(
    tmp_path: Path, layout: str
) -> None:
    """Keyed by service, a removed service's class and the class of the service that replaces it have one
    name in one module (shop.v1.Catalog's and shop.v2.Catalog's `CatalogServicer`): the merged module's
    class is the live service's, not the old one's kept (which refused the run in one module, and in
    per-service modules, with `root_package` following the package, revived the old classes where they
    were and removed the live services' modules)."""
    project = shop(tmp_path, layout)
    proto = project / "protos/shop.proto"
    proto.write_text(proto.read_text().replace("package shop.v1;", "package shop.v2;"))
    config = project / "pyproject.toml"
    config.write_text(config.read_text().replace('root_package = "shop.v1"', 'root_package = "shop.v2"'))
    result = gen(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "remove    shop/services/catalog.py" not in result.stdout and "stays until you delete it" not in result.stdout
    )
    assert check(project) == 0
    assert gen(project, "--full").stdout.startswith("Up to date")
    imports(project, "shop.server")
    modules = ["shop/servicer.py"] if layout == "single" else ["shop/services/catalog.py", "shop/services/store.py"]
    for module in modules:
        text = (project / module).read_text()
        assert "kept for your code" not in text and text.count("\nclass ") == 3 - len(modules), text


OTHER_CATALOG = (
    'syntax = "proto3";\npackage other.v1;\nmessage Thing { string name = 1; }\n'
    "service Catalog {\n  rpc Find (Thing) returns (Thing) {}\n  rpc Chat (stream Thing) returns (stream Thing) {}\n}\n"
)


def _catalog_to_other_package(project: Path, root_package: str) -> None:
    """shop.v1.Catalog (its Find the user's) becomes other.v1.Catalog; `root_package` set as given."""
    module = project / "shop/services/catalog.py"
    mine = 'context.abort(grpc.StatusCode.UNIMPLEMENTED, "Find is not implemented yet")'
    module.write_text(module.read_text().replace(mine, "return request  # mine", 1))
    (project / "protos/shop.proto").write_text(SHOP.format(catalog=""))
    (project / "protos/other.proto").write_text(OTHER_CATALOG)
    config = project / "pyproject.toml"
    text = config.read_text().replace('"protos/shop.proto"]', '"protos/shop.proto", "protos/other.proto"]')
    config.write_text(text.replace('root_package = "shop.v1"', f'root_package = "{root_package}"'))


def _served_and_kept(project: Path) -> None:
    """other.v1.Catalog served from `services/catalog.py`; shop.v1.Catalog's class, with the user's line,
    kept in `services/shop/v1/catalog.py`; the tree up to date and importing."""
    assert check(project) == 0
    assert gen(project, "--full").stdout.startswith("Up to date")
    served = (project / "shop/services/catalog.py").read_text()
    kept = (project / "shop/services/shop/v1/catalog.py").read_text()
    assert "class CatalogServicer(other_pb2_grpc.CatalogServicer):" in served and "# mine" not in served
    assert "class CatalogServicer:  # its service is gone" in kept and "return request  # mine" in kept
    imports(project, "shop.server", "shop.services.shop.v1.catalog")


@pytest.mark.parametrize(
    "killed",
    [
        None,
        ("swapping", "shop/services/catalog.py"),
        ("after-swap", "shop/services/catalog.py"),
        ("swapping", "shop/services/shop/v1/catalog.py"),
    ],
)
def test_a_module_rendered_where_root_package_moves_one_away_is_written_not_removed(
    tmp_path: Path, killed: tuple[str, str] | None
) -> None:
    """In one run shop.v1.Catalog (the user's code in it) leaves the protos for other.v1, and `root_package`
    follows: the kept class's module moves to `services/shop/v1/`, and other.v1.Catalog's is rendered at the
    path it leaves. The plan had both, the render's write and the move's removal, and the removal won: the
    live service's module was gone and the project no longer imported. A kill while either file is swapped
    in loses nothing: the next run rolls back and does it all."""
    project = shop(tmp_path, "per-service")
    _catalog_to_other_package(project, "other.v1")
    if killed is not None:
        hook = with_seam(tmp_path, KILL.format(moment=killed[0], path=killed[1]))
        assert gen(project, env=hook).returncode == 137
        # the moved module is in before the new one replaces the old: the user's line is in one of them
        assert not lines_out_of_sight(project, ["return request  # mine"])
    result = gen(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "remove    shop/services/catalog.py" not in result.stdout
    _served_and_kept(project)


def test_a_module_that_would_move_where_another_moves_away_from_is_refused_untouched(tmp_path: Path) -> None:
    """The same in two runs: other.v1.Catalog first, then `root_package` would move its module to
    `services/catalog.py`, which the kept class's module leaves in the same run. A move never lands on a
    file that is there (rehome): refused, located, with nothing written; the user's lines where they were."""
    project = shop(tmp_path, "per-service")
    _catalog_to_other_package(project, "shop.v1")
    assert gen(project).returncode == 0
    other = project / "shop/services/other/v1/catalog.py"
    stub = 'context.abort(grpc.StatusCode.UNIMPLEMENTED, "Chat is not implemented yet")'
    other.write_text(other.read_text().replace(stub, "yield from request_iterator  # other mine", 1))
    config = project / "pyproject.toml"
    config.write_text(config.read_text().replace('root_package = "shop.v1"', 'root_package = "other.v1"'))
    before = tree(project)
    refused = gen(project)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.startswith("shop/services/other/v1/catalog.py:1:1: root_package moves this module to")
    assert tree(project) == before


def test_temporaries_killed_cache_writes_left_are_taken_away_by_the_next_gen_that_writes(tmp_path: Path) -> None:
    """A kill between a cache file's staged write and its rename leaves `.NAME.<12 hex>.tmp` (up to a shard's
    size); a `gen` that writes takes those older than `cache.STALE_SECONDS` away, in the cache and its
    folders, and nothing else: not a live run's (fresh), not a name of another form, not through a link."""
    project = _project(
        tmp_path, {"a.proto": "package a.v1;\nmessage Req {}\nservice S { rpc Get(Req) returns (Req); }\n"}
    )
    cache = project / ".scaffold/cache"
    outside = tmp_path / "outside.tmp"
    outside.write_bytes(b"not scaffold's")
    stale = [cache / ".hashes.marshal.0123456789ab.tmp", cache / "protoc/.00.body.abcdefabcdef.tmp"]
    kept = [cache / "protoc/.00.fedcba987654.tmp", cache / ".notes.tmp", cache / "memo/.00.0123456789AB.tmp"]
    for path in [*stale, *kept]:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"half a shard")
    link = cache / ".index.000000000000.tmp"
    link.symlink_to(outside)
    old = time.time() - cache_module.STALE_SECONDS - 60
    for path in [*stale, *kept[1:]]:
        os.utime(path, (old, old))
    os.utime(link, (old, old), follow_symlinks=False)
    assert gen(project).returncode == 0  # nothing changed: nothing written, nothing swept
    assert all(path.exists() for path in [*stale, *kept])
    proto = project / "protos/a.proto"
    proto.write_text(proto.read_text() + "// saved\n")
    assert gen(project).returncode == 0
    assert not any(path.exists() for path in stale)
    assert all(path.exists() for path in kept) and link.is_symlink() and outside.read_bytes() == b"not scaffold's"
    assert check(project) == 0
