"""Issue 32: a service too large for one module of the user's is split in parts, a module per resource
its RPCs act on (`scaffold.core.parts`), and the parts keep every promise the whole modules keep."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import check_project, run_python, run_scaffold

from scaffold.core.parts import class_of, resource_of

RESOURCES = ("Account", "Property", "DataStream", "AccessBinding", "Audience", "KeyEvent", "Report", "Widget")
VERBS = (("Get", ""), ("List", "s"), ("Create", ""), ("Delete", ""), ("BatchUpdate", "s"))


def _proto(resources: tuple[str, ...] = RESOURCES[:-1], extra: str = "") -> str:
    lines = ['syntax = "proto3";', "package admin.v1;", "", "message Thing {", "  string name = 1;", "}", ""]
    lines += ["// Administers the things of an account.", "service Admin {"]
    for resource in resources:
        for verb, plural in VERBS:
            name = f"{verb}{resource}{plural}"
            lines += [f"  // {verb} {resource.lower()}{plural}: line {n} of what the RPC does." for n in range(14)]
            lines.append(f"  rpc {name}(Thing) returns (Thing);")
    lines += [extra, "}", "", "service Ping {", "  rpc Ping(Thing) returns (Thing);", "}", ""]
    return "\n".join(lines)


def _new(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    (source / "admin.proto").write_text(_proto())
    made = run_scaffold("new", source / "admin.proto", "-o", tmp_path / "admin", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    return tmp_path / "admin"


def _mark(module: Path, rpc: str, text: str) -> None:
    """Code of the user's in a stub: its abort says `text`."""
    module.write_text(module.read_text().replace(f'"{rpc} is not implemented yet"', f'"{text}"'))


def _user_modules(project: Path) -> dict[str, int]:
    """Lines of every module of the user's (not protoc's, not scaffold's record)."""
    return {
        path.relative_to(project).as_posix(): len(path.read_text().splitlines())
        for path in project.rglob("*.py")
        if ".scaffold" not in path.parts and "generated" not in path.parts
    }


def test_a_resource_is_its_rpcs_name_without_the_verb_singular() -> None:
    assert resource_of("ListAccounts") == resource_of("GetAccount") == "account"
    assert resource_of("BatchCreateAccessBindings") == "access_binding"
    assert resource_of("ListAddresses") == "address" and resource_of("ListIndexes") == "index"
    assert resource_of("GetStatus") == "status" and resource_of("ListSchemas") == "schema"
    assert resource_of("Ping") == "ping"  # one word: its own part
    assert resource_of("GetIAMPolicy") == "iam_policy"


def test_new_splits_a_service_over_the_limit_and_the_parts_serve_every_rpc(tmp_path: Path) -> None:
    project = _new(tmp_path)
    config = (project / "pyproject.toml").read_text()
    assert 'split_services = ["admin.v1.Admin"]' in config  # Ping is small: whole
    parts = sorted(p.stem for p in (project / "admin/services/admin_parts").glob("*.py") if p.stem != "__init__")
    assert parts == ["access_binding", "account", "audience", "data_stream", "key_event", "property", "report"]
    main = (project / "admin/services/admin.py").read_text()
    assert "from admin.services.admin_parts.account import AdminAccountMethods" in main
    assert re.search(r"class AdminServicer\(\n    AdminAccessBindingMethods,\n    AdminAccountMethods,", main)
    assert "def Get" not in main  # the methods are the parts'
    account = (project / "admin/services/admin_parts/account.py").read_text()
    assert "class AdminAccountMethods(admin_pb2_grpc.AdminServicer):" in account
    assert re.findall(r"def (\w+)\(", account) == [
        "GetAccount",
        "ListAccounts",
        "CreateAccount",
        "DeleteAccount",
        "BatchUpdateAccounts",
    ]
    assert (project / "tests/admin_parts/test_account.py").is_file() and (
        project / "admin/clients/admin_parts/account.py"
    ).is_file()
    assert not (project / "tests/test_admin.py").exists() and (project / "tests/test_ping.py").is_file()
    sizes = _user_modules(project)
    assert max(sizes.values()) < 1_000, sizes
    check_project(project, "admin")  # imports, every RPC called over loopback by the tests, ruff, mypy --strict
    clients = (project / "admin/clients/__init__.py").read_text()
    assert '"admin.clients.admin_parts.account",' in clients and '"admin.clients.ping",' in clients
    checked = run_scaffold("check", cwd=project)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_users_code_in_parts_stays_as_rpcs_and_resources_come_and_go(tmp_path: Path) -> None:
    project = _new(tmp_path)
    account = project / "admin/services/admin_parts/account.py"
    text = account.read_text()
    stub = re.search(
        r"(        # TODO: return an? admin_pb2\.Thing\.\n        context\.abort\(\n.*?\n        \)\n)", text, re.DOTALL
    )
    assert stub and "def GetAccount" in text[: stub.start()]
    account.write_text(
        text[: stub.start()]
        + "        return admin_pb2.Thing(name=self.prefix + request.name)  # mine\n"
        + text[stub.end() :]
    )
    main = project / "admin/services/admin.py"
    main.write_text(
        main.read_text().replace(
            '    """Administers the things of an account."""\n',
            '    """Administers the things of an account."""\n\n    prefix = "acct/"  # mine too\n',
        )
    )
    prop = project / "admin/services/admin_parts/property.py"
    _mark(prop, "GetProperty", "GetProperty: not yet, says me")
    test = project / "tests/admin_parts/test_account.py"
    test.write_text(
        re.sub(
            r"(def test_get_account\(.*?\n)(.*?)(?=\n\ndef )",
            lambda m: (
                m.group(1)
                + '    assert admin_stub.GetAccount(admin_pb2.Thing(name="a"), timeout=TIMEOUT_SECONDS).name == "acct/a"\n'
            ),
            test.read_text(),
            flags=re.DOTALL,
        )
    )
    proto = next((project / "protos").rglob("admin.proto"))
    text = proto.read_text()
    text = text.replace(
        "  rpc GetAccount(Thing) returns (Thing);",
        "  rpc GetAccount(Thing) returns (Thing);\n  rpc ArchiveAccount(Thing) returns (Thing);\n  rpc GetWidget(Thing) returns (Thing);",
    )
    text = re.sub(r"(  // [^\n]*\n)*  rpc \w+Propert\w+\(Thing\) returns \(Thing\);\n", "", text)  # every Property RPC
    proto.write_text(text)

    gen = run_scaffold("gen", cwd=project)
    assert gen.returncode == 0, gen.stdout + gen.stderr
    assert "admin.v1.Admin\n  + ArchiveAccount" in gen.stdout and "  + GetWidget" in gen.stdout
    assert (
        "the property RPCs of admin.v1.Admin (gone from the protos; their class stays until you delete it)"
        in gen.stdout
    )
    assert "# mine\n" in account.read_text() and "def ArchiveAccount(" in account.read_text()
    assert 'prefix = "acct/"  # mine too' in main.read_text() and "AdminWidgetMethods," in main.read_text()
    assert "AdminPropertyMethods" not in main.read_text()  # no longer served: out of the bases
    kept = prop.read_text()
    assert "class AdminPropertyMethods:  # its service is gone" in kept and "says me" in kept
    assert (project / "admin/services/admin_parts/widget.py").is_file()
    checked = run_scaffold("check", cwd=project)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    full = run_scaffold("gen", "--full", cwd=project)
    assert full.returncode == 0 and full.stdout.startswith("Up to date"), full.stdout
    answered = run_python(
        "-c",
        "from admin.services.admin import AdminServicer; from admin.generated import admin_pb2;"
        " print(AdminServicer().GetAccount(admin_pb2.Thing(name='b'), None).name)",
        cwd=project,
    )
    assert answered.stdout.strip() == "acct/b", answered.stderr
    imported = run_python(
        "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/admin_parts/test_account.py", cwd=project
    )
    assert imported.returncode == 0, imported.stdout


def test_moving_code_between_parts_and_whole_modules_is_refused_located_and_nothing_changes(tmp_path: Path) -> None:
    project = _new(tmp_path)
    _mark(project / "admin/services/admin_parts/account.py", "GetAccount", "mine")
    _mark(project / "admin/services/ping.py", "Ping", "mine")
    config = project / "pyproject.toml"
    original = config.read_text()
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file() and ".scaffold" not in p.parts}
    cases = {
        'split_services = ["admin.v1.Admin", "admin.v1.Ping"]': "admin.v1.Ping has its modules whole already",
        "split_services = []": "admin.v1.Admin has its modules in parts already",
    }
    for line, said in cases.items():
        config.write_text(re.sub(r"(?m)^split_services = .*$", line, original))
        refused = run_scaffold("gen", cwd=project)
        assert refused.returncode == 2 and said in refused.stderr, refused.stderr
        assert re.match(rf"{re.escape(str(config))}:\d+:1: split_services: ", refused.stderr), refused.stderr
    config.write_text(original.replace('layout = "per-service"', 'layout = "single"'))
    refused = run_scaffold("gen", cwd=project)
    assert refused.returncode == 2 and "only the per-service layout has parts" in refused.stderr, refused.stderr
    config.write_text(original)
    after = {p: p.read_bytes() for p in project.rglob("*") if p.is_file() and ".scaffold" not in p.parts}
    assert after == before
    assert run_scaffold("check", cwd=project).returncode == 0


def test_modules_as_rendered_go_to_parts_and_back_and_only_the_moves_are_reported(tmp_path: Path) -> None:
    project = _new(tmp_path)
    config = project / "pyproject.toml"
    original = config.read_text()
    config.write_text(original.replace('split_services = ["admin.v1.Admin"]', 'split_services = ["admin.v1.Ping"]'))
    gen = run_scaffold("gen", cwd=project)
    assert gen.returncode == 0, gen.stderr
    assert not re.search(r"(?m)^  [-+] ", gen.stdout) and " RPCs of " not in gen.stdout, gen.stdout  # no RPC "added"
    assert (project / "admin/services/admin.py").read_text().count("    def ") == 35
    assert (project / "admin/services/ping_parts/ping.py").is_file()
    assert not list((project / "admin/services").glob("admin_parts/*.py"))
    assert run_scaffold("check", cwd=project).returncode == 0
    check_project(project, "admin")


def test_a_root_package_change_moves_every_part_with_the_users_code(tmp_path: Path) -> None:
    project = _new(tmp_path)
    account = project / "admin/services/admin_parts/account.py"
    _mark(account, "GetAccount", "mine, moved")
    config = project / "pyproject.toml"
    config.write_text(config.read_text().replace('root_package = "admin.v1"', 'root_package = "admin"'))
    gen = run_scaffold("gen", cwd=project)
    assert gen.returncode == 0, gen.stdout + gen.stderr
    moved = project / "admin/services/v1/admin_parts/account.py"
    assert "mine, moved" in moved.read_text() and not account.exists()
    assert (
        "from admin.services.v1.admin_parts.account import AdminAccountMethods"
        in (project / "admin/services/v1/admin.py").read_text()
    )
    assert run_scaffold("check", cwd=project).returncode == 0
    check_project(project, "admin")


def test_part_classes_are_named_after_their_service() -> None:
    from scaffold.core.model import Import, Service

    service = Service(
        "Admin", "a.Admin", "admin", Import("a", "admin_pb2_grpc", "admin_pb2_grpc"), "AdminServicer", "", False, ()
    )
    assert class_of(service, "access_binding") == "AdminAccessBindingMethods"


def test_a_service_without_rpcs_is_whole_listed_or_not(tmp_path: Path) -> None:
    """Split, a service without RPCs has no parts: listing it moves nothing, so it is not refused; a run
    from scaffold's record and one from scratch (`--full`) agree (the fuzzer's seed 57230 had the
    second refuse what the first called up to date)."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "admin.proto").write_text(_proto() + "\nservice Quiet {\n}\n")
    made = run_scaffold("new", source / "admin.proto", "-o", tmp_path / "admin", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    project = tmp_path / "admin"
    quiet = project / "admin/services/quiet.py"
    quiet.write_text(quiet.read_text() + "\n\ndef helper() -> int:\n    return 1  # mine\n")
    config = project / "pyproject.toml"
    config.write_text(config.read_text().replace('["admin.v1.Admin"]', '["admin.v1.Admin", "admin.v1.Quiet"]'))
    for run in (["gen"], ["gen", "--full"], ["check"]):
        result = run_scaffold(*run, cwd=project)
        assert result.returncode == 0, (run, result.stdout, result.stderr)
    assert "return 1  # mine" in quiet.read_text()


def test_a_split_service_that_loses_every_rpc_is_not_refused(tmp_path: Path) -> None:
    """Its parts were its modules; the protos took every RPC away: nothing is left to move, and the listing
    that split it is not a change (found by the review of the fix above: every run was refused)."""
    project = _new(tmp_path)
    _mark(project / "admin/services/admin_parts/account.py", "GetAccount", "mine")
    (project / "protos/admin.proto").write_text(_proto(resources=()))
    result = run_scaffold("gen", cwd=project)
    assert result.returncode in (0, 1), result.stderr  # 1: the user's code reads what went (reported)
    assert "split_services" not in result.stderr, result.stderr
    assert '"mine"' in (project / "admin/services/admin_parts/account.py").read_text()
    full = run_scaffold("gen", "--full", cwd=project)
    assert "split_services" not in full.stderr and full.returncode == result.returncode, full.stderr
