"""Issue 31: a proto imported from the ecosystem (googleapis' `google/api`, `google/type`, protovalidate's
`buf/validate`) that no include root holds: `new` takes it from the distribution installed beside scaffold
that ships it, copies nothing and generates nothing of it: the project imports that distribution's modules
and depends on it (`installed`); where nothing can, it is named with where it comes from, located. A copy the
user vendors (their own -I) is the project's, checked against the installed file of its name."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest
from conftest import check_project, run_python, run_scaffold, run_tests_in_fresh_venv, tree
from google.protobuf import descriptor_pb2

from scaffold.generation import clash, providers
from scaffold.generation.protocresult import ProtocResult
from scaffold.record.memo import Memo

SHOP = """syntax = "proto3";
package shop.v1;
import "google/api/annotations.proto";
import "google/type/money.proto";
message Item { string name = 1; google.type.Money price = 2; }
service Store {
  rpc Get (Item) returns (Item) { option (google.api.http) = { get: "/v1/items/{name}" }; }
}
"""


def test_new_imports_an_installed_distributions_modules_and_depends_on_it(tmp_path: Path) -> None:
    source = tmp_path / "src/shop.proto"
    source.parent.mkdir()
    source.write_text(SHOP)
    project = tmp_path / "project"
    shipped = providers.installed("googleapis-common-protos")
    assert shipped is not None, "googleapis-common-protos (a dependency of the test extras) ships its .proto files"
    requirement = f"googleapis-common-protos>={shipped.version}"

    # `new` finds what googleapis-common-protos ships without -I, and neither copies nor generates it.
    made = run_scaffold("new", source, "-o", project)
    assert made.returncode == 0, made.stdout + made.stderr
    files = tree(project)
    assert not [path for path in files if path.startswith(("protos/google/", "shop/generated/google/"))]
    config = files["pyproject.toml"].decode()
    assert f'installed = ["{requirement}"]' in config and f'    "{requirement}",\n' in config
    assert b"from google.type import money_pb2 as " in files["shop/generated/shop_pb2.py"]
    # The project's modules and googleapis-common-protos' own are one set: they load in one process, with
    # grpcio-status' (which imports google/rpc/status.proto) and the project's tests and types pass.
    loaded = run_python(
        "-c",
        "import google.api.annotations_pb2, google.rpc.status_pb2\nimport shop.server\nprint('ok')",
        cwd=project,
    )
    assert loaded.returncode == 0 and loaded.stdout.strip() == "ok", loaded.stderr
    assert check_project(project, "shop").passed == 1

    # A later import of another of its protos needs nothing more; the project stays whole.
    proto = project / "protos/shop.proto"
    proto.write_text(
        proto.read_text()
        .replace(
            'import "google/type/money.proto";', 'import "google/type/money.proto";\nimport "google/type/date.proto";'
        )
        .replace("google.type.Money price = 2;", "google.type.Money price = 2; google.type.Date since = 3;")
    )
    assert run_scaffold("gen", "-C", project).returncode == 0
    assert not (project / "protos/google").exists() and run_scaffold("check", "-C", project).returncode == 0
    assert check_project(project, "shop").passed == 1


def test_an_installed_distribution_missing_or_too_old_stops_the_run_at_its_line(tmp_path: Path) -> None:
    source = tmp_path / "src/shop.proto"
    source.parent.mkdir()
    source.write_text(SHOP)
    project = tmp_path / "project"
    assert run_scaffold("new", source, "-o", project).returncode == 0
    config = project / "pyproject.toml"
    text = config.read_text()
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith("installed = "))
    for entry, said in (
        (
            "googleapis-common-protos>=999.0",
            "is installed, older than 999.0: pip install 'googleapis-common-protos>=999.0'",
        ),
        ("no-such-protos-dist>=1.0", "no-such-protos-dist is not installed: pip install 'no-such-protos-dist>=1.0'"),
    ):
        config.write_text(re.sub(r"^installed = .*$", f'installed = ["{entry}"]', text, flags=re.MULTILINE))
        before = tree(project)
        refused = run_scaffold("gen", "-C", project)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert refused.stderr.startswith(f"{config}:{line}:1: ") and said in refused.stderr, refused.stderr
        assert tree(project) == before


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("google/rpc/not_yet_shipped.proto", "it is in googleapis-common-protos: pip install googleapis-common-protos"),
        ("buf/validate/validate.proto", "`buf export buf.build/bufbuild/protovalidate -o DIR`, then pass `-I DIR`"),
    ],
)
def test_a_known_familys_proto_nothing_installed_ships_is_named_with_its_source(
    tmp_path: Path, name: str, said: str
) -> None:
    source = tmp_path / "src/shop.proto"
    source.parent.mkdir()
    source.write_text(f'syntax = "proto3";\npackage shop.v1;\nimport "{name}";\nmessage Item {{ string name = 1; }}\n')
    refused = run_scaffold("new", source, "-o", tmp_path / "project")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f'Import "{name}" was not found' in refused.stderr and said in refused.stderr, refused.stderr
    assert not (tmp_path / "project").exists()


def test_the_protos_installed_distributions_ship_are_read_from_their_file_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A RECORD is CSV (a path with a comma is quoted); a distribution without one lists its files another way;
    one that ships no proto costs no metadata parse, but is never mistaken for one that does."""
    site = tmp_path / "site"
    record = site / "vendored_protos-2.0.dist-info"
    record.mkdir(parents=True)
    (record / "METADATA").write_text("Metadata-Version: 2.1\nName: vendored-protos\nVersion: 2.0\n")
    (record / "RECORD").write_text(
        'vendored/v1/plain.proto,sha256=x,10\n"vendored/v1/a,b.proto",sha256=y,11\nvendored/__init__.py,,\n'
    )
    legacy = site / "legacy_protos-1.0.egg-info"
    legacy.mkdir()
    (legacy / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: legacy-protos\nVersion: 1.0\n")
    (legacy / "installed-files.txt").write_text("../legacy/v1/old.proto\n")
    (legacy / "SOURCES.txt").write_text("legacy/v1/old.proto\n")
    plain = site / "no_protos-1.0.dist-info"
    plain.mkdir()
    (plain / "METADATA").write_text("Metadata-Version: 2.1\nName: no-protos\nVersion: 1.0\n")
    (plain / "RECORD").write_text("no_protos/__init__.py,,\n")
    monkeypatch.setattr("sys.path", [str(site)])
    providers._shipped.cache_clear()
    try:
        shipped = providers._shipped()
    finally:
        providers._shipped.cache_clear()
    assert shipped == {
        "vendored/v1/plain.proto": ("vendored-protos", site.resolve()),
        "vendored/v1/a,b.proto": ("vendored-protos", site.resolve()),
        "legacy/v1/old.proto": ("legacy-protos", site.resolve()),
    }


STATUS_USER = """syntax = "proto3";

package demo.v1;

import "google/rpc/status.proto";

message Reply {
  google.rpc.Status status = 1;
}

service Demo {
  rpc Do (Reply) returns (Reply);
}
"""
BESIDE = """import sys
sys.path.insert(0, ".")
import google.rpc.status_pb2
import demo.generated.google.rpc.status_pb2
print("both loaded")
"""


def _installed_root() -> Path:
    """Where googleapis-common-protos is installed: passed as -I, its files are the user's own to vendor."""
    installed = providers.installed_root("google/rpc/status.proto")
    assert installed is not None
    return installed[1]


def test_a_copy_that_differs_from_the_installed_proto_of_its_name_is_refused_where_it_is(tmp_path: Path) -> None:
    """The project's copy of google/rpc/status.proto beside googleapis-common-protos' own: equal (a comment
    aside), both load in one process; a field added, protobuf would refuse the second ("duplicate file
    name"), so gen and check stop at the copy, naming the installed file, and nothing is written."""
    (tmp_path / "demo.proto").write_text(STATUS_USER)
    project = tmp_path / "p"
    made = run_scaffold("new", "demo.proto", "-o", project, "-I", str(_installed_root()), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    copy = project / "protos/google/rpc/status.proto"
    copy.write_text(copy.read_text() + "// a note of the project's\n")
    assert run_scaffold("gen", "-C", project).returncode == 0
    loaded = run_python("-c", BESIDE, cwd=project)
    assert loaded.returncode == 0 and "both loaded" in loaded.stdout, loaded.stderr
    copy.write_text(copy.read_text().replace("message Status {", "message Status {\n  string extra = 99;", 1))
    before = tree(project)
    for command in ("gen", "check"):
        refused = run_scaffold(command, "-C", project)
        assert refused.returncode == 2, (command, refused.stdout, refused.stderr)
        installed = providers.installed_root("google/rpc/status.proto")
        assert installed is not None
        assert refused.stderr.startswith(
            f"protos/google/rpc/status.proto:1:1: differs from {installed[1] / 'google/rpc/status.proto'} "
            "(googleapis-common-protos, installed) though both are google/rpc/status.proto"
        ), refused.stderr
    assert tree(project) == before


def test_new_warns_of_a_copy_that_cannot_load_beside_the_installed_one_and_gen_refuses_it(tmp_path: Path) -> None:
    """`new` says, as a warning at the file it copies, what `gen` will refuse: a differing
        google/rpc/status.proto under -I, and googleapis-common-protos' own operations_proto.proto, a second
        name for google/longrunning/operations.proto (its module registers that name), whose symbols protobuf
        cannot load twice whatever its bytes. It still makes the project (a PyPI project's vendored tree
        generates, as temporalio's does); `check` and `gen` stop at the copy, exit 2, from the first run on,
    until the copy is the installed file."""
    vendored = tmp_path / "vendored"
    (vendored / "google/rpc").mkdir(parents=True)
    shipped = _installed_root() / "google/rpc/status.proto"
    (vendored / "google/rpc/status.proto").write_text(
        shipped.read_text().replace("message Status {", "message Status {\n  string extra = 99;", 1)
    )
    (tmp_path / "demo.proto").write_text(STATUS_USER)
    made = run_scaffold("new", "demo.proto", "-o", tmp_path / "p", "-I", str(vendored), cwd=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    assert f"{vendored / 'google/rpc/status.proto'}:1:1: warning: differs from {shipped} " in made.stderr
    assert "leave out the -I that holds it" in made.stderr
    made_tree = tree(tmp_path / "p")
    for command in ("check", "gen", "check"):  # no run calls it up to date until the copy is settled
        refused = run_scaffold(command, "-C", tmp_path / "p")
        assert refused.returncode == 2, (command, refused.stdout, refused.stderr)
        assert refused.stderr.startswith("protos/google/rpc/status.proto:1:1: differs from"), refused.stderr
        assert tree(tmp_path / "p") == made_tree
    (tmp_path / "p/protos/google/rpc/status.proto").write_bytes(shipped.read_bytes())  # settled: the installed one
    assert run_scaffold("gen", "-C", tmp_path / "p").returncode == 0
    assert run_scaffold("check", "-C", tmp_path / "p").stdout == "Up to date.\n"

    second = run_scaffold(
        "new",
        str(_installed_root() / "google/longrunning/operations_proto.proto"),
        "-I",
        str(_installed_root()),
        "-o",
        tmp_path / "q",
        cwd=tmp_path,
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert "warning: defines what" in second.stderr
    assert "which its module registers as google/longrunning/operations.proto" in second.stderr
    assert run_scaffold("check", "-C", tmp_path / "q").returncode == 2


def test_a_distribution_changed_under_a_copy_of_its_proto_makes_the_project_stale(tmp_path: Path) -> None:
    """The installed file a copy must match is an input: when it changes (a distribution upgraded, here one
    put first on the import path), a no-op `check` no longer calls the project up to date, and the next
    `gen` compiles, checks the copy against what is installed, and records it."""
    (tmp_path / "demo.proto").write_text(STATUS_USER)
    project = tmp_path / "p"
    assert run_scaffold("new", "demo.proto", "-o", project, "-I", str(_installed_root()), cwd=tmp_path).returncode == 0
    assert run_scaffold("check", "-C", project).returncode == 0
    upgraded = tmp_path / "site" / "google" / "rpc"
    upgraded.mkdir(parents=True)
    text = (project / "protos/google/rpc/status.proto").read_text()
    (upgraded / "status.proto").write_text(text.replace("message Status {", "message Status {\n  string extra = 99;"))
    env = {"PYTHONPATH": str(tmp_path / "site")}
    stale = run_scaffold("check", "-C", project, env=env)
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert run_scaffold("gen", "-C", project, env=env).returncode == 0
    assert run_scaffold("check", "-C", project, env=env).returncode == 0
    assert run_scaffold("check", "-C", project).returncode == 1  # and back: the installed file is the input


PAYMENTS = """syntax = "proto3";
package pay.v1;
import "google/api/annotations.proto";
import "google/rpc/status.proto";
import "google/type/money.proto";

// Takes payments.
service Payments {
  // Charges an amount; the answer says how it went, as google.rpc.Status with details.
  rpc Charge (ChargeRequest) returns (google.rpc.Status) {
    option (google.api.http) = { post: "/v1/charges" body: "*" };
  }
}

message ChargeRequest {
  google.type.Money amount = 1;
}
"""
CHARGE = """        detail = any_pb2.Any()
        detail.Pack(request.amount)
        return status_pb2.Status(code=0, message="charged", details=[detail])
"""
CHARGE_TEST = """    amount = money_pb2.Money(currency_code="EUR", units=12)
    answer = payments_stub.Charge(pay_pb2.ChargeRequest(amount=amount), timeout=TIMEOUT_SECONDS)
    charged = money_pb2.Money()
    assert answer.message == "charged" and answer.details[0].Unpack(charged) and charged == amount
    # grpcio-status loads googleapis-common-protos' google/rpc/status.proto too: one and the same file.
    import sys

    from grpc_status import rpc_status

    assert rpc_status.to_status and sys.modules["google.rpc.status_pb2"].Status is type(answer)
"""


def test_a_project_on_googleapis_types_installs_in_a_fresh_venv_beside_grpcio_status(tmp_path: Path) -> None:
    """google.type.Money, google.rpc.Status with details and google.api annotations: the project made
    without -I installs from its own dependencies into a fresh virtual environment (PyPI), with grpcio-status
    beside it, and its tests pass there, the call's status details read back."""
    source = tmp_path / "pay.proto"
    source.write_text(PAYMENTS)
    project = tmp_path / "p"
    assert run_scaffold("new", source, "-o", project).returncode == 0
    servicer = project / "pay/servicer.py"
    text = re.sub(r"        # TODO: return a [^\n]*\n        context\.abort\([^\n]*\n", CHARGE, servicer.read_text())
    servicer.write_text(text.replace("import grpc\n", "import grpc\nfrom google.protobuf import any_pb2\n", 1))
    test = project / "tests/test_pay.py"
    text = test.read_text()
    body = text.index("\n", text.index("def test_charge(")) + 1
    text = text[:body] + CHARGE_TEST
    text = text.replace("import grpc\n", "").replace(", status_of", "")
    test.write_text(
        text.replace("from pay.generated import", "from google.type import money_pb2\n\nfrom pay.generated import", 1)
    )
    _, tested = run_tests_in_fresh_venv(project, tmp_path / "venv", "grpcio-status")
    assert tested.returncode == 0 and "1 passed" in tested.stdout, tested.stdout + tested.stderr


def test_a_vendored_project_meeting_an_installed_proto_it_does_not_hold_is_told_how_to_import_it(
    tmp_path: Path,
) -> None:
    """A project that vendors googleapis (made with its root as -I) and then imports one more of its protos,
    which it does not hold: `gen` stops at the import and says how to take it from where it is installed."""
    (tmp_path / "demo.proto").write_text(STATUS_USER)
    project = tmp_path / "p"
    assert run_scaffold("new", "demo.proto", "-o", project, "-I", str(_installed_root()), cwd=tmp_path).returncode == 0
    proto = project / "protos/demo.proto"
    proto.write_text(
        proto.read_text().replace(
            'import "google/rpc/status.proto";', 'import "google/rpc/status.proto";\nimport "google/type/date.proto";'
        )
    )
    before = tree(project)
    refused = run_scaffold("gen", "-C", project)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    shipped = providers.installed("googleapis-common-protos")
    assert shipped is not None
    first = refused.stderr.strip().splitlines()[0]
    assert first.startswith(f"{proto}:6:1: ") and 'Import "google/type/date.proto" was not found' in first, first
    assert f'add "{shipped.requirement}" to `installed` in [tool.scaffold]' in first, first
    assert tree(project) == before


def test_a_clash_verdict_is_kept_by_the_copy_and_the_installed_file_and_never_from_a_module_loaded_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether a copy loads beside the installed proto is kept in the memo, keyed by the copy's descriptor
    and the installed module's file: a later run does not import the module again; a module upgraded
    since is judged again; and a process that imported it already (`watch`) judges it as loaded, keeping
    nothing, since the file may no longer be what it loaded."""
    name = "scaffoldfake/thing.proto"
    ours = descriptor_pb2.FileDescriptorProto(name=name, package="fake").SerializeToString()
    site = tmp_path / "site"
    (site / "scaffoldfake").mkdir(parents=True)
    module = site / "scaffoldfake/thing_pb2.py"

    def install(package: str) -> None:
        theirs = descriptor_pb2.FileDescriptorProto(name=name, package=package).SerializeToString()
        module.write_text(f"class DESCRIPTOR:\n    serialized_pb = {theirs!r}\n")
        sys.modules.pop("scaffoldfake.thing_pb2", None)
        sys.modules.pop("scaffoldfake", None)

    monkeypatch.syspath_prepend(str(site))
    result = ProtocResult((), (name,), {}, b"", (), (), descriptor_bytes={name: ours}, descriptor_keys={name: "k" * 40})
    install("fake")
    first = Memo()
    assert clash._verdict(result, name, first, None) == (name, True) and first.used
    imported = []
    real = clash._installed
    monkeypatch.setattr(clash, "_installed", lambda n: imported.append(n) or real(n))
    sys.modules.pop("scaffoldfake.thing_pb2")
    assert clash._verdict(result, name, Memo(dict(first.used)), None) == (name, True) and not imported
    install("other")  # upgraded: another file, judged again
    assert clash._verdict(result, name, Memo(dict(first.used)), None) == (name, False) and imported == [name]
    install("fake")  # as first kept, but this process has it loaded: judged as loaded, kept under no key
    importlib.import_module("scaffoldfake.thing_pb2")
    module.write_text(module.read_text() + "# upgraded after it was loaded\n")
    again = Memo(dict(first.used))
    assert clash._verdict(result, name, again, None) == (name, True) and imported == [name, name]
    assert set(again.used) <= set(first.used)
