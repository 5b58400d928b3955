"""Issue 25, the class the fuzzer found last: code of the user's that reads what a regeneration took away
(a removed proto's module, a removed service's client module, a removed RPC's test) is kept, and `gen`
and `check` say where it is, located, with exit 1, until the user changes it; never "up to date"."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import run_scaffold, tree
from test_gen import HELLO, make_project
from test_trust import killed_after_swapping, swaps_of_a_run
from test_trust3_leftovers import gen, imports, lint

STORE = 'syntax = "proto3";\npackage shop.v1;\nmessage Item { string name = 1; }\nservice Store { rpc Get (Item) returns (Item); }\n'
LEDGER = (
    'syntax = "proto3";\npackage shop.v1;\nmessage Entry { string name = 1; }\n'
    "service Ledger {\n  rpc Put (Entry) returns (Entry);\n  rpc Audit (Entry) returns (stream Entry);\n}\n"
)
LOCATED = re.compile(
    r"^(\S+):(\d+):(\d+): (imports|reads) (\S+), which scaffold no longer (generates|writes)", re.MULTILINE
)


def two_files(tmp_path: Path, layout: str = "single") -> Path:
    source = tmp_path / "src"
    source.mkdir()
    (source / "store.proto").write_text(STORE)
    (source / "ledger.proto").write_text(LEDGER)
    project = tmp_path / "project"
    made = run_scaffold(
        "new", source / "store.proto", source / "ledger.proto", "-o", project, "--name", "shop", "--layout", layout
    )
    assert made.returncode == 0, made.stderr
    return project


def drop_proto(project: Path, name: str) -> None:
    (project / "protos" / name).unlink()
    config = project / "pyproject.toml"
    config.write_text(config.read_text().replace(f', "protos/{name}"', "").replace(f'"protos/{name}", ', ""))


def found(stderr: str) -> list[tuple[str, int, str, str]]:
    return [(m[1], int(m[2]), m[4], m[5]) for m in LOCATED.finditer(stderr)]


def test_a_kept_class_of_a_removed_proto_is_reported_until_the_user_changes_it(tmp_path: Path) -> None:
    project = two_files(tmp_path)
    servicer = project / "shop/servicer.py"
    text = servicer.read_text()
    stub = '        context.abort(grpc.StatusCode.UNIMPLEMENTED, "Put is not implemented yet")'
    assert stub in text
    servicer.write_text(text.replace(stub, "        return ledger_pb2.Entry(name=request.name)  # mine: Put"))
    (project / "tests/test_mine.py").write_text("from shop.generated import ledger_pb2  # mine: import\n")
    drop_proto(project, "ledger.proto")

    first = run_scaffold("gen", "-C", project)
    assert first.returncode == 1, first.stdout + first.stderr
    where = found(first.stderr)
    assert ("tests/test_mine.py", 1, "imports", "ledger_pb2") in where
    assert any(path == "shop/servicer.py" and verb == "reads" and what == "ledger_pb2" for path, _, verb, what in where)
    for path, line, _, _ in where:  # each location is the line that reads it
        assert "ledger_pb2" in (project / path).read_text().splitlines()[line - 1]
    assert "# mine: Put" in servicer.read_text() and "class LedgerServicer" in servicer.read_text()
    assert not (project / "shop/generated/ledger_pb2.py").exists()  # the new tree is written
    manifest = json.loads((project / ".scaffold/manifest.json").read_text())
    assert manifest["gone"] == ["shop/generated/ledger_pb2.py"] and manifest["inputs"] is None

    for _ in range(2):  # the no-op path never vouches while the finding stands
        again = run_scaffold("check", "-C", project)
        assert again.returncode == 1 and found(again.stderr) == where, again.stderr
        again = run_scaffold("gen", "-C", project)
        assert again.returncode == 1 and found(again.stderr) == where, again.stderr

    servicer.write_text(servicer.read_text().replace("ledger_pb2.Entry(name=request.name)", "request"))
    servicer.write_text(re.sub(r"ledger_pb2\.Entry", "object", servicer.read_text()))
    (project / "tests/test_mine.py").write_text("# mine: import, no longer needed\n")
    settled = run_scaffold("gen", "-C", project)
    assert settled.returncode == 0, settled.stderr
    assert "gone" not in json.loads((project / ".scaffold/manifest.json").read_text())
    assert run_scaffold("check", "-C", project).returncode == 0
    assert run_scaffold("check", "-C", project).returncode == 0  # now from the stamp
    imports(project, "shop.servicer", "shop.server")
    lint(project, ".")


def test_a_removed_rpcs_test_and_a_removed_services_client_read_by_the_user(tmp_path: Path) -> None:
    project = two_files(tmp_path, layout="per-service")
    tests = sorted(p.relative_to(project).as_posix() for p in (project / "tests").rglob("test_*.py"))
    ledger_test = next(p for p in tests if p.endswith("test_ledger.py"))
    text = (project / ledger_test).read_text()
    assert "def test_audit(" in text, text
    # before the first test, away from test_audit (a line added next to a block the render drops keeps it)
    first = text.index("\n\n\ndef test_")
    alias = "\n\n\ndef my_alias() -> object:\n    return test_audit  # mine: alias"
    (project / ledger_test).write_text(text[:first] + alias + text[first:])
    clients = sorted(
        p.relative_to(project).as_posix() for p in (project / "shop").rglob("*.py") if "clients" in p.parts
    )
    ledger_client = next(p for p in clients if p.endswith("ledger.py"))
    module = ledger_client.removesuffix(".py").replace("/", ".")
    (project / "shop/mine.py").write_text(f"import {module}  # mine: client\n")
    before = tree(project)

    ledger = project / "protos/ledger.proto"
    ledger.write_text(ledger.read_text().replace("  rpc Audit (Entry) returns (stream Entry);\n", ""))
    first = run_scaffold("gen", "-C", project)
    assert first.returncode == 1, first.stdout + first.stderr
    lines = (project / ledger_test).read_text().splitlines()
    alias = next(n for n, line in enumerate(lines, 1) if line.startswith("    return test_audit  # mine: alias"))
    assert "def test_audit(" not in "\n".join(lines)
    assert found(first.stderr) == [(ledger_test, alias, "reads", "`test_audit`")], first.stderr
    assert run_scaffold("check", "-C", project).returncode == 1

    drop_proto(project, "ledger.proto")  # the whole file now: its client module goes too
    second = run_scaffold("gen", "-C", project)
    assert second.returncode == 1, second.stdout + second.stderr
    assert ("shop/mine.py", 1, "imports", module) in found(second.stderr), second.stderr
    assert (project / "shop/mine.py").read_text() == before["shop/mine.py"].decode()
    assert not (project / ledger_client).exists()


def test_a_hand_edited_record_of_what_was_taken_away_is_refused_located(tmp_path: Path) -> None:
    project = two_files(tmp_path)
    manifest = project / ".scaffold/manifest.json"
    text = manifest.read_text()
    manifest.write_text(text[: text.rindex("}")].rstrip() + ',\n "gone": ["../outside.py"]\n}\n')
    before = tree(project)
    refused = run_scaffold("gen", "-C", project)
    assert refused.returncode == 2, refused.stderr
    assert re.search(r"manifest\.json:\d+:\d+: gone is not a list of paths", refused.stderr), refused.stderr
    assert tree(project) == before


def test_a_new_service_never_shadows_a_class_kept_for_the_users_code(tmp_path: Path) -> None:
    """Fuzzer seed 3005: shop.v1.Store removed with its class kept (implemented), then a service Store in
    another package: in one servicer module its new class would define StoreServicer a second time (F811,
    the user's code dead without a word). The run stops, located, until the user renames theirs."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "store.proto").write_text(STORE + "service Other { rpc Ping (Item) returns (Item); }\n")
    (source / "ledger.proto").write_text(LEDGER.replace("package shop.v1;", "package billing.v1;"))
    project = tmp_path / "project"
    made = run_scaffold(
        "new", source / "store.proto", source / "ledger.proto", "-o", project, "--name", "shop", "--layout", "single"
    )
    assert made.returncode == 0, made.stderr
    servicer = project / "shop/servicer.py"
    stub = '        context.abort(grpc.StatusCode.UNIMPLEMENTED, "Get is not implemented yet")'
    servicer.write_text(servicer.read_text().replace(stub, "        return request  # mine: Get"))
    store = project / "protos/store.proto"
    store.write_text(store.read_text().replace("service Store { rpc Get (Item) returns (Item); }\n", ""))
    assert run_scaffold("gen", "-C", project).returncode == 0
    ledger = project / "protos/ledger.proto"
    ledger.write_text(ledger.read_text() + "service Store { rpc Pay (Entry) returns (Entry); }\n")
    before = tree(project)
    refused = run_scaffold("gen", "-C", project)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    lines = servicer.read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if text.startswith("class StoreServicer"))
    assert f"shop/servicer.py:{line}:1: class StoreServicer is yours, kept from shop.v1.Store" in refused.stderr
    assert tree(project) == before

    servicer.write_text(servicer.read_text().replace("class StoreServicer:", "class OldStoreServicer:"))
    settled = run_scaffold("gen", "-C", project)
    assert settled.returncode == 0, settled.stdout + settled.stderr
    text = servicer.read_text()
    assert "class OldStoreServicer:" in text and "# mine: Get" in text and "class StoreServicer(" in text
    lint(project, ".")
    imports(project, "shop.server")


def test_what_a_conflicted_module_still_reads_is_reported_once_the_user_keeps_their_side(tmp_path: Path) -> None:
    """Found by the fuzzer (seed 6022): switching to asyncio conflicts in a test module the user edited; the
    run takes `served_channel` out of the runtime, but the conflicted module does not parse, so nothing was
    found reading it, and once the user resolved by keeping their (sync) side, `gen` and `check` said up to
    date over a module that does not import. The record keeps what a file it could not read may read."""
    project = make_project(tmp_path, HELLO)
    module = project / "tests/test_greeter.py"
    module.write_text(module.read_text().replace("HelloRequest()", 'HelloRequest(name="me")'))
    assert "served_channel" in module.read_text()
    config = project / "pyproject.toml"
    config.write_text(config.read_text().replace("aio = false", "aio = true"))
    mine = module.read_text()
    assert gen(project).returncode == 1 and "<<<<<<< " in module.read_text()
    module.write_text(mine)  # resolved as `git checkout --ours` would: the whole file as the user had it
    result = gen(project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "imports `served_channel`, which scaffold no longer writes in greeter/generated/runtime/testing.py" in (
        result.stderr
    )
    assert run_scaffold("check", "-C", project).returncode == 1


GONE_FROM_A_PROTO_THAT_STAYS = {
    # Found by the fuzzer (seed 6015): a service leaves a proto that stays, and code of the user's still reads
    # its classes through the `_pb2_grpc` module (`shop_pb2_grpc.LedgerStub`, a kept class's base).
    "a service's stub class": (
        "service Ledger { rpc Put (Item) returns (Item); }\n",
        "tests/test_shop.py",
        "def ledger_of(channel: grpc.Channel) -> object:\n    return shop_pb2_grpc.LedgerStub(channel)\n",
        ("    return shop_pb2_grpc.LedgerStub(channel)", 12, "`LedgerStub`", "shop_pb2_grpc.py"),
    ),
    # Found by the fuzzer (CI seed 2, once `c.split` was among the steps): a message leaves a proto that stays,
    # and a kept class of the user's still names it, in a module of theirs without `from __future__ import
    # annotations`: the project did not import, and `check` said up to date. A message module defines its
    # classes at run time; its `.pyi` lists them.
    "a message": (
        "message Note { string text = 1; }\n",
        "shop/servicer.py",
        "def note_of(text: str) -> shop_pb2.Note:\n    return shop_pb2.Note(text=text)\n",
        ("def note_of(text: str) -> shop_pb2.Note:", 27, "`Note`", "shop_pb2.py"),
    ),
}


@pytest.mark.parametrize("gone", GONE_FROM_A_PROTO_THAT_STAYS)
def test_a_read_of_what_left_a_proto_that_stays_is_reported(tmp_path: Path, gone: str) -> None:
    """The module imports, the attribute is gone: each read of it is reported, located, until the user
    changes that code; never "up to date"."""
    extra, path, helper, (read_line, column, name, module_file) = GONE_FROM_A_PROTO_THAT_STAYS[gone]
    source = tmp_path / "src" / "shop.proto"
    source.parent.mkdir()
    source.write_text(STORE.replace("}\n", "}\n" + extra, 1))
    project = tmp_path / "project"
    assert run_scaffold("new", source, "-o", project, "--layout", "single").returncode == 0
    module = project / path
    module.write_text(module.read_text() + "\n\n" + helper)
    (project / "protos/shop.proto").write_text(STORE)
    result = gen(project)
    assert result.returncode == 1, result.stdout + result.stderr
    line = module.read_text().splitlines().index(read_line) + 1
    said = f"{path}:{line}:{column}: reads {name}, which scaffold no longer writes in shop/generated/{module_file}"
    assert said in result.stderr, result.stderr
    assert run_scaffold("check", "-C", project).returncode == 1
    module.write_text(module.read_text().replace("\n\n" + helper, ""))
    assert gen(project).returncode == 0 and run_scaffold("check", "-C", project).returncode == 0


def test_a_removed_rpcs_test_read_by_the_user_is_reported_in_a_module_of_cr_line_ends(tmp_path: Path) -> None:
    """An editor may save CR alone: the names a module defines are still found at the start of its lines
    (found by the fuzzer, seed 8003: the alias's read was called up to date)."""
    project = two_files(tmp_path)
    test_module = project / "tests/test_shop.py"
    text = test_module.read_text()
    assert "def test_audit(" in text, text
    first = text.index("\n\n\ndef test_")  # away from test_audit, which stays when written beside it
    text = text[:first] + "\n\n\nMY_ALIAS = test_audit  # mine: alias" + text[first:]
    test_module.write_bytes(text.replace("\n", "\r").encode())
    ledger = project / "protos/ledger.proto"
    ledger.write_text(ledger.read_text().replace("  rpc Audit (Entry) returns (stream Entry);\n", ""))

    first = run_scaffold("gen", "-C", project)
    assert first.returncode == 1, first.stdout + first.stderr
    lines = test_module.read_bytes().decode().split("\r")
    alias = next(n for n, line in enumerate(lines, 1) if line.startswith("MY_ALIAS = test_audit  # mine: alias"))
    assert "def test_audit(" not in "\r".join(lines)
    assert found(first.stderr) == [("tests/test_shop.py", alias, "reads", "`test_audit`")], first.stderr
    assert run_scaffold("check", "-C", project).returncode == 1


def _killed_adding_relay(tmp_path: Path) -> Path:
    """A project whose run adding service Relay was killed right after its last swap (seed 30014)."""
    project = two_files(tmp_path)
    (project / "protos/store.proto").write_text(STORE + "service Relay { rpc Pass (Item) returns (Item); }\n")
    _, swapped = swaps_of_a_run(project, tmp_path)
    return killed_after_swapping(project, swapped[-1], tmp_path / "killed")


def test_a_file_kept_by_a_rollback_that_reads_what_the_rollback_took_back_is_reported(tmp_path: Path) -> None:
    """Fuzzer seed 30014: a run that adds a service is killed after its last swap; the user saves the servicer
    module (now holding the new class) before the next run, whose rollback keeps that file as it is and puts
    the grpc module back without the service's base class. Taking the proto edit back, `gen` then wrote a tree
    that does not import, and `check` called it up to date. The rollback now records what it took away that
    kept code reads: reported, located, exit 1, until the user changes it."""
    killed = _killed_adding_relay(tmp_path)
    servicer = killed / "shop/servicer.py"
    assert "class RelayServicer(store_pb2_grpc.RelayServicer)" in servicer.read_text()
    mine = '    """Implements shop.v1.Relay."""\n    # saved after the kill\n'  # an edit inside the run's class
    servicer.write_text(servicer.read_text().replace('    """Implements shop.v1.Relay."""\n', mine))
    (killed / "protos/store.proto").write_text(STORE)  # the user takes the edit back

    result = run_scaffold("gen", "-C", killed)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "changed after the interrupted run; kept as it is" in result.stderr
    reads = [(path, what) for path, _, verb, what in found(result.stderr) if verb == "reads"]
    assert reads and all(path == "shop/servicer.py" and "RelayServicer" in what for path, what in reads), result.stderr
    assert run_scaffold("check", "-C", killed).returncode == 1
    assert "# saved after the kill" in servicer.read_text()

    text = servicer.read_text()  # the user removes the class, as asked: the project is whole again
    start = text.index("class RelayServicer(")
    end = text.find("\n\n\nclass ", start)
    servicer.write_text(text[:start] + (text[end + 3 :] if end >= 0 else "# saved after the kill\n"))
    assert run_scaffold("gen", "-C", killed).returncode == 0
    assert run_scaffold("check", "-C", killed).returncode == 0
    imports(killed, "shop.servicer", "shop.server")


def test_an_edit_after_a_killed_run_is_kept_onto_the_tree_before_that_run(tmp_path: Path) -> None:
    """Fuzzer seeds 37003 and 37005: the user saves a file the killed run wrote (a line of their own at its
    end). Kept as it was, the file went on holding the run's code (a client of a service the proto no longer
    has, or without a function the user's line reads). The rollback now merges the user's edit onto what the
    file held before the run: the tree the run never changed, with the user's line."""
    killed = _killed_adding_relay(tmp_path)
    servicer = killed / "shop/servicer.py"
    before = (killed / ".scaffold/txn/old/shop/servicer.py").read_text()
    servicer.write_text(servicer.read_text() + "\n\nMY_LIMIT = 3  # saved after the kill\n")
    (killed / "protos/store.proto").write_text(STORE)  # the user takes the edit back

    result = run_scaffold("gen", "-C", killed)
    assert result.returncode == 0, result.stdout + result.stderr
    note = "changed after the interrupted run; your edits kept, onto what it held before that run"
    assert f"{servicer}: note: {note}" in result.stderr
    assert servicer.read_text() == before + "\n\nMY_LIMIT = 3  # saved after the kill\n"
    assert not list(killed.rglob("*.mine*"))
    assert run_scaffold("check", "-C", killed).returncode == 0
    imports(killed, "shop.servicer", "shop.server")


def test_the_rollbacks_record_survives_a_conflicting_run_undone_by_abort(tmp_path: Path) -> None:
    """Seed 30014 as the fuzzer ran it: the proto edit still in place, the run after the rollback writes the
    service back and conflicts on the class the kept file holds; the user aborts that run and takes the edit
    back. `gen --abort` puts back the manifest the rollback wrote, with its record of what was taken back, so
    the run after it still reports the kept class's read, and `check` is not up to date."""
    killed = _killed_adding_relay(tmp_path)
    servicer = killed / "shop/servicer.py"
    servicer.write_text(servicer.read_text().replace("class RelayServicer(", "class RelayServicer(  # mine\n    ", 1))

    again = run_scaffold("gen", "-C", killed)  # the edit still there: the run writes Relay's class back
    assert again.returncode == 1 and "conflict" in again.stdout, again.stdout + again.stderr
    aborted = run_scaffold("gen", "--abort", "-C", killed)
    assert aborted.returncode == 0, aborted.stdout + aborted.stderr
    (killed / "protos/store.proto").write_text(STORE)  # the user takes the edit back

    result = run_scaffold("gen", "-C", killed)
    assert result.returncode == 1, result.stdout + result.stderr
    reads = [(path, what) for path, _, verb, what in found(result.stderr) if verb == "reads"]
    assert reads and all(path == "shop/servicer.py" and "RelayServicer" in what for path, what in reads), result.stderr
    assert run_scaffold("check", "-C", killed).returncode == 1
    assert "# mine" in servicer.read_text()
