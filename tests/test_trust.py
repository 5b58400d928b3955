"""No run of scaffold loses a line the user wrote, or leaves a broken project that `check` calls up
to date: kills, saves landing mid-run, two runs at once, lost state, hostile names and config,
driven through the CLI. Races are made deterministic through `scaffold.core.seams` (SCAFFOLD_SEAM)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import DEADLINE_SECONDS, REPO, at_key, check_project, run_python, run_scaffold, served, tree
from test_gen import AGAIN, BYE, HELLO, HELLO_BODY, SERVICER, implement, make_project, set_rpcs, stub_body

from scaffold.core.errors import ScaffoldError
from scaffold.generation.merge import merge
from scaffold.record import lock, swap

SAVED = "# SAVED BY THE USER\n"


def with_seam(tmp_path: Path, body: str) -> dict[str, str]:
    """The environment that makes every scaffold run call `hook(moment, path)` defined by `body`."""
    hooks = tmp_path / "hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    (hooks / "seam_hook.py").write_text(
        "import os, subprocess, sys\nfrom pathlib import Path\n\n" + textwrap.dedent(body)
    )
    return {"SCAFFOLD_SEAM": "seam_hook:hook", "PYTHONPATH": str(hooks)}


def gen(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_scaffold("gen", "-C", project, *args, env=env)


# 1. Recovery after a kill keeps what the user saved since.


def test_a_kill_after_the_servicer_is_swapped_then_an_edit_keeps_the_edit(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    set_rpcs(project, HELLO, AGAIN)
    killed = gen(
        project,
        env=with_seam(
            tmp_path,
            f"def hook(moment, path):\n    if (moment, path) == ('after-swap', '{SERVICER}'):\n        os._exit(137)\n",
        ),
    )
    assert killed.returncode == 137
    assert (project / ".scaffold/txn").is_dir()
    with (project / SERVICER).open("a") as servicer:
        servicer.write(SAVED)  # the user goes on working in the file the dead run wrote

    recovered = gen(project)
    assert recovered.returncode == 0, recovered.stderr
    assert recovered.stdout.startswith("Rolled back an interrupted run before regenerating.\n")
    note = "changed after the interrupted run; your edits kept, onto what it held before that run"
    assert f"{project / SERVICER}: note: {note}" in recovered.stderr
    text = (project / SERVICER).read_text()
    assert text.endswith(SAVED) and text.count("    def SayHelloAgain(") == 1
    assert run_scaffold("check", "-C", project).returncode == 0
    assert not (project / ".scaffold/txn").exists()


def swaps_of_a_run(project: Path, tmp_path: Path, *args: str) -> tuple[dict[str, bytes], list[str]]:
    """What `gen ARGS` makes of `project` (run on a copy), and the paths it swaps in, in order."""
    swaps = tmp_path / "swaps"
    recorder = with_seam(
        tmp_path / "recorder",
        f"def hook(moment, path):\n    if moment == 'before-swap':\n        open({str(swaps)!r}, 'a').write(path + '\\n')\n",
    )
    probe = tmp_path / "probe"
    shutil.copytree(project, probe)
    assert gen(probe, *args, env=recorder).returncode == 0
    return tree(probe), swaps.read_text().split()


def killed_after_swapping(project: Path, victim: str, tmp_path: Path, *args: str) -> Path:
    """A copy of `project` whose `gen ARGS` was killed right after it swapped `victim` in."""
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    body = f"def hook(moment, path):\n    if (moment, path) == ('after-swap', {victim!r}):\n        os._exit(137)\n"
    assert gen(copy, *args, env=with_seam(tmp_path / "killer", body)).returncode == 137
    return copy


def lines_out_of_sight(project: Path, lines: list[str]) -> list[str]:
    """Which of the user's `lines` no file of `project` outside `.scaffold/` holds: a killed run's journal
    there may hold them until the next run rolls back, but the user would not look for them there."""
    files = [
        content.decode("utf-8", "replace")
        for path, content in tree(project).items()
        if not path.startswith(".scaffold/")
    ]
    return [line for line in lines if not any(line in text for text in files)]


def test_a_kill_at_every_swap_ends_in_the_old_tree_or_the_new_one(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    implement(project, "SayHello", HELLO_BODY)
    set_rpcs(project, HELLO, AGAIN)
    old = tree(project)
    new, paths = swaps_of_a_run(project, tmp_path)
    assert len(paths) > 8
    for index, victim in enumerate(paths):
        copy = killed_after_swapping(project, victim, tmp_path / f"kill{index}")
        assert gen(copy, "--dry-run").returncode in (0, 1)  # reading a half-done tree never crashes
        assert run_scaffold("gen", "-C", copy).returncode == 0
        assert tree(copy) == new, victim
    assert old != new


# 2. A save landing during a run is merged, never overwritten.


@pytest.mark.parametrize("moment", ["planned", "before-swap"])
def test_a_save_during_a_run_is_kept_and_merged(tmp_path: Path, moment: str) -> None:
    project = make_project(tmp_path, HELLO)
    set_rpcs(project, HELLO, AGAIN)
    once = tmp_path / "saved-once"
    body = f"""
    def hook(moment, path):
        if moment == {moment!r} and path in ('', {SERVICER!r}) and not os.path.exists({str(once)!r}):
            open({str(once)!r}, 'w').close()
            with open({str(project / SERVICER)!r}, 'a') as servicer:
                servicer.write({SAVED!r})
    """
    result = gen(project, env=with_seam(tmp_path, body))
    assert result.returncode == 0, result.stderr
    assert once.exists()
    text = (project / SERVICER).read_text()
    assert text.endswith(SAVED) and "    def SayHelloAgain(" in text
    assert run_scaffold("check", "-C", project).returncode == 0


def test_a_file_that_keeps_changing_stops_the_run_with_nothing_written(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    set_rpcs(project, HELLO, AGAIN)
    body = f"""
    def hook(moment, path):
        if moment == 'before-swap' and path == {SERVICER!r}:
            with open({str(project / SERVICER)!r}, 'a') as servicer:
                servicer.write({SAVED!r})
    """
    before = (project / SERVICER).read_text()
    result = gen(project, env=with_seam(tmp_path, body))
    assert result.returncode == 2
    assert result.stderr == (
        f"{project / SERVICER}: changed while scaffold was writing, 3 times in a row; nothing was written: run it again\n"
    )
    assert (project / SERVICER).read_text() == before + SAVED * 3
    assert "SayHelloAgain" not in (project / "greeter/client.py").read_text()


# 3, 4. Content scaffold did not write is never replaced silently; backups are never overwritten.


def test_unknown_content_at_a_generated_path_is_kept_as_a_backup(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    utils = project / "greeter/utils/__init__.py"
    utils.parent.mkdir()
    utils.write_text("def important() -> int:  # MY_UTILS\n    return 1\n")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('generated = "generated"', 'generated = "utils"'))
    result = gen(project)
    assert result.returncode == 0, result.stderr
    assert (
        "update    greeter/utils/__init__.py  (not written by scaffold; your copy is kept as __init__.py.mine)"
        in result.stdout
    )
    assert "MY_UTILS" in (project / "greeter/utils/__init__.py.mine").read_text()


def test_a_second_hand_edit_of_a_generated_module_gets_its_own_backup(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    module = project / "greeter/generated/greeter_pb2_grpc.py"
    for number, rpcs in enumerate([(HELLO, AGAIN), (HELLO, AGAIN, BYE)], 1):
        with module.open("a") as file:
            file.write(f"# EDIT{number}\n")
        set_rpcs(project, *rpcs)
        assert gen(project).returncode == 0
    assert (project / "greeter/generated/greeter_pb2_grpc.py.mine").read_text().endswith("# EDIT1\n")
    assert (project / "greeter/generated/greeter_pb2_grpc.py.mine.1").read_text().endswith("# EDIT2\n")


def test_a_kill_after_a_hand_edited_generated_module_is_rewritten_finds_the_edit_in_its_backup(
    tmp_path: Path,
) -> None:
    """The backup (`NAME.mine`, a new file) goes in before the module is rewritten: swapped in path order, the
    module went first, and a kill right after it left the hand edit only under `.scaffold/`."""
    project = make_project(tmp_path, HELLO)
    module = "greeter/generated/greeter_pb2_grpc.py"
    with (project / module).open("a") as file:
        file.write("# EDITED BY HAND\n")
    set_rpcs(project, HELLO, AGAIN)
    _, paths = swaps_of_a_run(project, tmp_path)
    assert paths.index(f"{module}.mine") < paths.index(module)
    copy = killed_after_swapping(project, module, tmp_path)
    assert not lines_out_of_sight(copy, ["# EDITED BY HAND"])
    assert gen(copy).returncode == 0
    assert (copy / f"{module}.mine").read_text().endswith("# EDITED BY HAND\n")


# 5. `new` never writes over a project.


def test_new_refuses_a_project_and_force_keeps_the_users_files(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    implement(project, "SayHello", HELLO_BODY)
    before = tree(project)
    for force in ([], ["--force"]):
        refused = run_scaffold("new", *force, tmp_path / "src/greeter.proto", "-o", project)
        assert refused.returncode == 2
        assert refused.stderr == (
            f"{project}: holds a scaffold project already; `scaffold gen -C {project}` regenerates it"
            " (nothing was written)\n"
        )
        assert tree(project) == before

    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "README.md").write_text("# My own notes\n")
    (existing / "greeter").mkdir()
    (existing / "greeter/servicer.py").write_text("MINE = 1\n")
    created = run_scaffold("new", "--force", tmp_path / "src/greeter.proto", "-o", existing)
    assert created.returncode == 0, created.stderr
    assert (existing / "README.md").read_text() == "# My own notes\n"
    servicer = (existing / "greeter/servicer.py").read_text()  # the server imports the servicer from it
    assert "\nMINE = 1\n" in servicer and "class GreeterServicer(" in servicer
    assert "merge     greeter/servicer.py  (scaffold had no record of it" in created.stdout
    assert (existing / "greeter/client.py").is_file()

    clash = tmp_path / "clash"
    clash.mkdir()
    (clash / "pyproject.toml").write_text("[project]\nname = 'mine'\n")
    refused = run_scaffold("new", "--force", tmp_path / "src/greeter.proto", "-o", clash)
    assert refused.returncode == 2
    assert "pyproject.toml: exists with other content; scaffold new needs this path" in refused.stderr
    assert sorted(p.name for p in clash.iterdir()) == ["pyproject.toml"]


def test_a_new_killed_half_way_is_rolled_back_by_the_next_new(tmp_path: Path) -> None:
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "NOTES.md").write_text("mine\n")
    body = "def hook(moment, path):\n    if (moment, path) == ('after-swap', 'greeter/client.py'):\n        os._exit(137)\n"
    source = tmp_path / "greeter.proto"
    source.write_text((REPO / "protos/helloworld.proto").read_text().replace("package helloworld;", "package greeter;"))
    killed = run_scaffold("new", "--force", source, "-o", existing, env=with_seam(tmp_path, body))
    assert killed.returncode == 137 and (existing / ".scaffold/txn").is_dir()
    again = run_scaffold("new", "--force", source, "-o", existing)
    assert again.returncode == 0, again.stderr
    assert (existing / "NOTES.md").read_text() == "mine\n"
    assert run_scaffold("check", "-C", existing).returncode == 0


# 7. Proto file names with dots.


def test_a_dotted_proto_file_name_generates_imports_and_stays_generated(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "v2").mkdir(parents=True)
    (source / "v2/k8s.min.proto").write_text(
        'syntax = "proto3";\npackage demo.v2;\nmessage Limits { int32 cpu = 1; }\n'
    )
    (source / "v2/svc.proto").write_text(
        'syntax = "proto3";\npackage demo.v2;\nimport "v2/k8s.min.proto";\n'
        "message Req { Limits limits = 1; }\nservice Svc {\n  rpc Get(Req) returns (Limits);\n}\n"
    )
    project = tmp_path / "p"
    assert run_scaffold("new", source / "v2/svc.proto", "-I", source, "-o", project).returncode == 0
    assert (project / "svc/generated/v2/k8s/min_pb2.py").is_file()
    with (project / "protos/v2/svc.proto").open("a") as proto:
        proto.write("// touched\n")
    regenerated = gen(project)
    assert regenerated.returncode == 0 and "remove" not in regenerated.stdout, regenerated.stdout
    assert (project / "svc/generated/v2/k8s/min_pb2.py").is_file()
    assert run_scaffold("check", "-C", project).returncode == 0
    assert check_project(project, "svc").passed == 1


# 8. A lost merge base, a file briefly not UTF-8, an RPC re-added after its orphan went.


@pytest.mark.parametrize("lost", [".scaffold/base", ".scaffold"])
def test_after_the_state_is_lost_a_new_rpc_still_gets_its_stub_everywhere(tmp_path: Path, lost: str) -> None:
    project = make_project(tmp_path, HELLO)
    implement(project, "SayHello", HELLO_BODY)
    shutil.rmtree(project / lost)
    set_rpcs(project, HELLO, AGAIN)
    result = gen(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "kept" not in result.stdout.replace("your copy is kept as", "")  # every user file took the change
    servicer = (project / SERVICER).read_text()
    assert HELLO_BODY in servicer and "    def SayHelloAgain(" in servicer
    assert "def say_hello_again(" in (project / "greeter/client.py").read_text()
    assert "def test_say_hello_again(" in (project / "tests/test_greeter.py").read_text()
    assert run_scaffold("check", "-C", project).returncode == 0
    tests = run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "again", cwd=project)
    assert "1 passed" in tests.stdout, tests.stdout


def test_a_servicer_briefly_not_utf8_is_kept_and_merged_once_it_is_text_again(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    text = implement(project, "SayHello", HELLO_BODY)
    (project / SERVICER).write_bytes(text.encode() + b"# \xff\n")
    set_rpcs(project, HELLO, AGAIN)
    kept = gen(project)
    assert "unmerged  greeter/servicer.py  (not UTF-8 text; cannot merge, left as is)" in kept.stdout
    for _ in range(3):  # the full path, and the no-op path that must not vouch for it
        stale = run_scaffold("check", "-C", project)
        assert (stale.returncode, stale.stderr.splitlines()[0]) == (1, "stale: greeter/servicer.py (unmerged)")
    (project / SERVICER).write_text(text)
    assert gen(project).returncode == 0
    assert "    def SayHelloAgain(" in (project / SERVICER).read_text()
    assert run_scaffold("check", "-C", project).returncode == 0


def test_an_rpc_added_again_after_its_orphan_was_deleted_gets_a_stub(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO, BYE)
    before = implement(project, "SayBye", '        return greeter_pb2.HelloReply(message="bye")\n')
    set_rpcs(project, HELLO)
    assert "  - SayBye (removed from the protos; your method stays)" in gen(project).stdout
    bye = before[before.index("    def SayBye(") : before.index("    # scaffold adds")]
    (project / SERVICER).write_text((project / SERVICER).read_text().replace(bye, ""))
    set_rpcs(project, HELLO, BYE)
    result = gen(project)
    assert "  + SayBye" in result.stdout
    assert stub_body("SayBye") in (project / SERVICER).read_text()


# 9. check tells the truth.


@pytest.mark.parametrize("damage", ["edit", "delete"])
def test_check_sees_a_generated_file_edited_or_deleted_after_a_stamped_no_op(tmp_path: Path, damage: str) -> None:
    project = make_project(tmp_path, HELLO)
    for _ in range(3):
        assert run_scaffold("check", "-C", project).returncode == 0  # content check, then the stamp
    module = project / "greeter/generated/greeter_pb2.py"
    if damage == "edit":
        with module.open("a") as file:
            file.write("# edited\n")
    else:
        module.unlink()
    stale = run_scaffold("check", "-C", project)
    assert stale.returncode == 1
    assert f"stale: greeter/generated/greeter_pb2.py ({'update' if damage == 'edit' else 'create'})" in stale.stderr


def test_a_config_the_full_path_rejects_is_never_up_to_date(tmp_path: Path) -> None:
    refused = run_scaffold("new", tmp_path / "nowhere.proto", "--templates", tmp_path / "none", "-o", tmp_path / "x")
    assert refused.returncode == 2
    project = make_project(tmp_path, HELLO)
    for _ in range(3):
        assert run_scaffold("check", "-C", project).returncode == 0
    templates = project / "mine"
    templates.mkdir()
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'templates = "mine"\n')
    assert gen(project).returncode == 0
    for _ in range(3):
        assert run_scaffold("check", "-C", project).returncode == 0
    templates.rmdir()
    for command in ("check", "gen"):
        result = run_scaffold(command, "-C", project)
        assert result.returncode == 2, (command, result.stdout)
        assert "templates: no directory" in result.stderr


def test_a_stamp_that_covers_nothing_vouches_for_nothing(tmp_path: Path) -> None:
    import marshal

    from scaffold import fastpath, run_identity

    project = make_project(tmp_path, HELLO)
    (project / fastpath.STAMP).write_bytes(marshal.dumps((fastpath.STAMP_FORMAT, run_identity(), [], 0, True)))
    set_rpcs(project, HELLO, AGAIN)
    assert run_scaffold("check", "-C", project).returncode == 1


# 10. Names that would break the project.


def test_names_that_shadow_modules_are_derived_or_refused(tmp_path: Path) -> None:
    (tmp_path / "logging.proto").write_text(
        'syntax = "proto3";\npackage logs;\nservice Logs {\n  rpc Tail(M) returns (stream M);\n}\nmessage M { string line = 1; }\n'
    )
    project = tmp_path / "p"
    assert run_scaffold("new", "logging.proto", "-o", project, cwd=tmp_path).returncode == 0
    assert (project / "logging_service/servicer.py").is_file()
    assert check_project(project, "logging_service").passed == 1
    for name in ("grpc", "google", "queue", "os"):
        refused = run_scaffold("new", "logging.proto", "-o", tmp_path / name, "--name", name, cwd=tmp_path)
        assert refused.returncode == 2
        assert (
            refused.stderr
            == f"--name: {name!r} would shadow the module of that name the project imports; choose another package name\n"
        )
        assert not (tmp_path / name).exists()


def test_rpc_names_that_collide_in_python_are_all_called_and_tested(tmp_path: Path) -> None:
    (tmp_path / "c.proto").write_text(
        'syntax = "proto3";\npackage c;\nservice S {\n  rpc GetThing (M) returns (M) {}\n  rpc getThing (M) returns (M) {}\n'
        "  rpc Main (M) returns (M) {}\n  rpc Channel (M) returns (M) {}\n  rpc Calls (M) returns (M) {}\n}\n"
        "message M { string x = 1; }\n"
    )
    project = tmp_path / "p"
    made = run_scaffold("new", "c.proto", "-o", project, cwd=tmp_path)
    assert made.returncode == 0, made.stderr  # `Calls` was refused: the client's own `calls` defined twice
    assert check_project(project, "c").passed == 5  # one test per RPC: none shadows another
    with served(project, "c") as server:
        client = run_python("-m", "c.client", "--target", f"127.0.0.1:{server.port}", cwd=project)
    assert client.stdout.count("UNIMPLEMENTED") == 5, client.stdout + client.stderr


def test_services_whose_grpc_names_collide_are_refused_at_their_line(tmp_path: Path) -> None:
    (tmp_path / "g.proto").write_text(
        'syntax = "proto3";\npackage g;\nmessage M {}\nservice Greeter {\n  rpc A (M) returns (M);\n}\n'
        "service GreeterStub {\n  rpc B (M) returns (M);\n}\n"
    )
    refused = run_scaffold("new", "g.proto", "-o", tmp_path / "p", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr == (
        "g.proto:7:1: service 'GreeterStub': grpc's module would define GreeterStub for both Greeter and"
        " GreeterStub; rename one\n"
    )
    assert not (tmp_path / "p").exists()


# 11. Config values the generated code cannot use.


@pytest.mark.parametrize(
    ("line", "key", "message"),
    [
        ("grace_seconds = nan", "grace_seconds", "grace_seconds must be a number from 0 to 86_400, not nan"),
        ("grace_seconds = inf", "grace_seconds", "grace_seconds must be a number from 0 to 86_400, not inf"),
        (
            "max_workers = 100000000000",
            "max_workers",
            "max_workers must be a whole number from 1 to 10_000, not 100000000000",
        ),
        ("max_wokers = 4", "max_wokers", "has no key 'max_wokers'; did you mean 'max_workers'?"),
        ('log_format = "xml"', "log_format", 'log_format must be one of "text", "json", not \'xml\''),
        ("metrics_port = 70000", "metrics_port", "metrics_port must be a whole number from 0 to 65_535, not 70000"),
        ('tls = "yes"', "tls", "tls must be true or false"),
        (
            'proto_paths = ["/"]',
            "proto_paths",
            "proto_paths: '/' holds the whole project; name the directory of the protos",
        ),
    ],
)
def test_bad_config_values_are_located_and_change_nothing(tmp_path: Path, line: str, key: str, message: str) -> None:
    project = make_project(tmp_path, HELLO)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    original = f"{key} = " + re.search(rf"^{key} = (.*)$", text, re.MULTILINE)[1] if f"\n{key} = " in text else None
    pyproject.write_text(text.replace(original, line) if original else text + line + "\n")
    set_rpcs(project, HELLO, AGAIN)
    before = tree(project)
    result = gen(project)
    assert (result.returncode, result.stderr) == (2, f"{at_key(pyproject, key)}: [tool.scaffold] {message}\n")
    assert tree(project) == before


# 12. A proto added to a directory of protos.


def test_a_proto_added_under_a_directory_the_config_names_is_generated(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.proto").write_text(
        'syntax = "proto3";\npackage a;\nservice A {\n  rpc X(M) returns (M);\n}\nmessage M {}\n'
    )
    project = tmp_path / "p"
    assert run_scaffold("new", source, "--name", "api", "-o", project).returncode == 0
    assert 'protos = ["protos"]' in (project / "pyproject.toml").read_text()
    (project / "protos/b.proto").write_text(
        'syntax = "proto3";\npackage b;\nservice B {\n  rpc Y(N) returns (N);\n}\nmessage N {}\n'
    )
    result = gen(project)
    assert result.returncode == 0 and "b.B\n  + Y\n" in result.stdout, result.stdout
    assert check_project(project, "api").passed == 2

    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('protos = ["protos"]', 'protos = ["protos/a*.proto"]'))
    assert "b.B (removed from the protos; its untouched code went with it)" in gen(project).stdout
    assert "class BServicer" not in (project / "api/servicer.py").read_text()


# 13. What Python cannot import is refused.


def test_an_import_chain_too_deep_to_import_is_refused_at_its_line(tmp_path: Path) -> None:
    for n in range(70):
        imports = f'import "m{n + 1}.proto";\n' if n < 69 else ""
        field = f"  M{n + 1} next = 1;\n" if n < 69 else ""
        (tmp_path / f"m{n}.proto").write_text(f'syntax = "proto3";\npackage c;\n{imports}message M{n} {{\n{field}}}\n')
    refused = run_scaffold("new", "m0.proto", "-o", tmp_path / "p", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr == (
        "m0.proto:3:1: imports a chain of 69 protos (through 'm1.proto'); Python cannot import generated"
        " modules nested deeper than 64: flatten the imports\n"
    )
    assert not (tmp_path / "p").exists()


# 14. Two runs at once.


def test_a_second_run_waits_for_the_first_and_both_end_correct(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    set_rpcs(project, HELLO, AGAIN)
    second = tmp_path / "second.out"
    body = f"""
    def hook(moment, path):
        if moment == 'before-swap' and path == 'README.md':  # half of the first run is committed
            out = open({str(second)!r}, 'w')
            env = {{k: v for k, v in os.environ.items() if k != 'SCAFFOLD_SEAM'}}
            subprocess.Popen([sys.executable, '-m', 'scaffold', 'gen', '-C', {str(project)!r}], stdout=out, stderr=out, env=env)
            deadline = __import__('time').monotonic() + 2
            while __import__('time').monotonic() < deadline and os.path.getsize({str(second)!r}) == 0:
                __import__('time').sleep(0.02)  # give the second run every chance to barge in
    """
    first = gen(project, env=with_seam(tmp_path, body))
    assert first.returncode == 0, first.stderr
    deadline = time.monotonic() + DEADLINE_SECONDS
    while "Up to date" not in second.read_text():
        assert time.monotonic() < deadline, second.read_text()
        time.sleep(0.02)
    assert "    def SayHelloAgain(" in (project / SERVICER).read_text()
    assert run_scaffold("check", "-C", project).returncode == 0


def test_watch_and_gen_side_by_side_both_end_correct(tmp_path: Path) -> None:
    import threading

    from scaffold.live.watch import Watcher, WatchEvent

    project = make_project(tmp_path, HELLO)
    implement(project, "SayHello", HELLO_BODY)
    events: list[WatchEvent] = []
    stop = threading.Event()
    thread = threading.Thread(target=Watcher(project, events.append, stop).run, daemon=True)
    thread.start()
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not events:
        assert time.monotonic() < deadline, "no startup run"
        time.sleep(0.01)
    try:
        for rpcs in [(HELLO, AGAIN), (HELLO, AGAIN, BYE)]:
            set_rpcs(project, *rpcs)  # the watcher regenerates this save while gen does too
            result = gen(project)
            assert result.returncode == 0, result.stderr
        deadline = time.monotonic() + DEADLINE_SECONDS
        while run_scaffold("check", "-C", project).returncode != 0:
            assert time.monotonic() < deadline, events
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(DEADLINE_SECONDS)
    assert not [e for e in events if e.kind == "crashed"], [e.traceback for e in events]
    servicer = (project / SERVICER).read_text()
    assert HELLO_BODY in servicer
    assert servicer.count("    def SayHelloAgain(") == 1 and servicer.count("    def SayBye(") == 1


def test_a_run_that_cannot_get_the_lock_names_the_holder(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time; from pathlib import Path; from scaffold.record import lock\n"
                "with lock.held(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)"
            ),
            str(project),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(ScaffoldError) as refused, lock.held(project, wait_seconds=0.2):
            pass
        assert str(refused.value) == (
            f"{project}: another scaffold run (pid {holder.pid}) is writing this project; try again when it has ended"
        )
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    with lock.held(project, wait_seconds=0.2):  # a killed holder leaves no lock behind
        pass


# 15, 16. Faults in the environment: one line, the documented exit code, the old tree.


def test_a_broken_journal_never_blocks_later_runs(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    for content in (b"", b'{"paths": {"greeter/servicer.py": '):
        (project / ".scaffold/txn").mkdir(exist_ok=True)
        (project / ".scaffold/txn/journal.json").write_bytes(content)
        result = gen(project)
        assert result.returncode == 0, result.stderr
        assert not (project / ".scaffold/txn").exists()
    assert run_scaffold("check", "-C", project).returncode == 0


@pytest.mark.parametrize("errno_name", ["ENOSPC", "EROFS", "EPERM"])
def test_a_write_the_system_refuses_is_one_line_and_the_old_tree(tmp_path: Path, errno_name: str) -> None:
    project = make_project(tmp_path, HELLO)
    set_rpcs(project, HELLO, AGAIN)
    before = tree(project)
    body = f"""
    import errno
    def hook(moment, path):
        if moment == 'before-swap' and path == 'greeter/client.py':
            raise OSError(errno.{errno_name}, os.strerror(errno.{errno_name}), path)
    """
    result = gen(project, env=with_seam(tmp_path, body))
    assert result.returncode == 2
    assert (
        result.stderr
        == f"greeter/client.py: {os.strerror(getattr(__import__('errno'), errno_name))}; nothing was changed\n"
    )
    assert tree(project) == before


def test_a_directory_at_a_generated_path_is_refused(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    (project / "greeter/generated/greeter_pb2.py").unlink()
    (project / "greeter/generated/greeter_pb2.py").mkdir()
    before = tree(project)
    result = gen(project)
    assert result.returncode == 2
    assert result.stderr == (
        f"{project / 'greeter/generated/greeter_pb2.py'}: is a directory; scaffold writes a file here (nothing was changed)\n"
    )
    assert tree(project) == before


def test_a_file_where_a_generated_directory_goes_is_refused(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    shutil.rmtree(project / "greeter/generated")
    (project / "greeter/generated").write_text("MINE = 1\n")
    before = tree(project)
    result = gen(project)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines and all(
        line.startswith(f"{project / 'greeter/generated'}: is a file; scaffold writes greeter/generated/")
        for line in lines
    ), result.stderr
    assert tree(project) == before


def test_a_manifest_of_the_wrong_shape_is_one_line(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    manifest = project / ".scaffold/manifest.json"
    for broken in (
        '{"files": []}',
        '{"files": {"../../x": {"owner": "user", "sha256": null}}}',
        '{"files": {"a": {"owner": 3, "sha256": 1}}}',
    ):
        manifest.write_text(broken)
        for command in ("gen", "check"):
            result = run_scaffold(command, "-C", project)
            assert result.returncode == 2, (broken, result.stderr)
            assert re.match(rf"{re.escape(str(manifest))}:\d+:\d+: ", result.stderr), result.stderr
            assert result.stderr.count("\n") == 1


def test_a_rollback_that_fails_keeps_the_transaction_for_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scaffold.api import regenerate

    project = make_project(tmp_path, HELLO)
    set_rpcs(project, HELLO, AGAIN)
    before = tree(project)
    real_replace = os.replace
    broken = {"on": True}

    def replace(source: object, target: object, **options: object) -> None:
        if broken["on"] and "/txn/old/" in str(source):
            raise OSError(5, "Input/output error")
        if broken["on"] and str(target).endswith("tests/test_greeter.py"):
            raise OSError(28, "No space left on device")
        real_replace(source, target, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(swap.os, "replace", replace)  # os itself: the rollback calls it too
    monkeypatch.setattr(swap, "_exchange", lambda first, second: False)  # every swap a rename: fails here
    with pytest.raises(ScaffoldError, match="could not be put back .Input/output error.; the next run tries again"):
        regenerate(project)
    assert (project / ".scaffold/txn/journal.json").is_file()
    broken["on"] = False
    assert regenerate(project, dry_run=True).plan  # reading is fine meanwhile
    report = regenerate(project)
    assert report.recovered and tree(project) != before
    assert run_scaffold("check", "-C", project).returncode == 0


def test_a_symlinked_transaction_directory_is_never_followed(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / ".scaffold/txn").symlink_to(outside)
    set_rpcs(project, HELLO, AGAIN)
    result = gen(project)
    assert result.returncode == 2
    assert result.stderr == f"{project / '.scaffold/txn'}: is a symbolic link; scaffold does not write through links\n"
    assert list(outside.iterdir()) == []


# 17. What the user's file was like stays so.


def test_a_merged_file_keeps_its_mode(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    implement(project, "SayHello", HELLO_BODY)
    (project / SERVICER).chmod(0o755)
    (project / "greeter/client.py").chmod(0o444)
    set_rpcs(project, HELLO, AGAIN)
    assert gen(project).returncode == 0
    assert (project / SERVICER).stat().st_mode & 0o777 == 0o755
    assert (project / "greeter/client.py").stat().st_mode & 0o777 == 0o444


@pytest.mark.parametrize(
    ("ours", "merged"),
    [
        (b"a\r\nb\r\nc\r\n", b"a\r\nb\r\nNEW\r\nc\r\n"),
        (b"a\rb\rc\r", b"a\rb\rNEW\rc\r"),
        (b"a\nb\r\nc\n", b"a\nb\r\nNEW\nc\n"),
        (b"a\nb\nc", b"a\nb\nNEW\nc"),
    ],
)
def test_line_endings_survive_a_merge(ours: bytes, merged: bytes) -> None:
    result = merge(b"a\nb\nc\n", ours, b"a\nb\nNEW\nc\n")
    assert (result.content, result.conflicts) == (merged, 0)


# 18. watch resumes once a conflict is resolved.


def test_watch_notices_a_resolved_conflict_and_goes_on(tmp_path: Path) -> None:
    import threading

    from scaffold.live.watch import Watcher, WatchEvent

    project = make_project(tmp_path, HELLO)
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("| SayHello |", "| SayHello (mine) |"))
    events: list[WatchEvent] = []
    stop = threading.Event()
    thread = threading.Thread(target=Watcher(project, events.append, stop).run, daemon=True)
    thread.start()

    def wait(condition, what: str) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {events}"
            time.sleep(0.01)

    try:
        wait(lambda: events, "the startup run")
        set_rpcs(project, HELLO, AGAIN)
        wait(lambda: any(e.report and e.report.plan.conflicts for e in events), "the conflict")
        set_rpcs(project, HELLO, AGAIN, BYE)  # refused while the conflict stands
        wait(lambda: events[-1].kind == "failed", "the refusal")
        assert "def say_bye(" not in (project / "greeter/client.py").read_text()
        text = readme.read_text()
        readme.write_text(re.sub(r"<<<<<<< .*?=======\n(.*?)>>>>>>> .*?\n", r"\1", text, flags=re.DOTALL))
        wait(lambda: "def say_bye(" in (project / "greeter/client.py").read_text(), "the run after the resolution")
    finally:
        stop.set()
        thread.join(DEADLINE_SECONDS)


# 19, 20. Hints that compile; comment rewording and reformatting that merge.


def test_following_the_reshape_hint_leaves_a_clean_project(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    implement(project, "SayHello", HELLO_BODY)
    set_rpcs(project, HELLO.replace("returns (HelloReply)", "returns (stream HelloReply)"))
    result = gen(project)
    hint = re.search(r"change it to `(.*)`\)", result.stdout)
    assert hint is not None, result.stdout
    servicer = (project / SERVICER).read_text()
    start = servicer.index("    def SayHello(")
    end = servicer.index("        return greeter_pb2.HelloReply(")
    servicer = servicer[:start] + f"    {hint[1]}:\n" + servicer[end:].replace("return", "yield", 1)
    (project / SERVICER).write_text(servicer)
    lint = run_python("-m", "ruff", "check", "--no-cache", "greeter", cwd=project)
    assert lint.returncode == 0, lint.stdout
    types = run_python("-m", "mypy", "--cache-dir", os.devnull, "greeter", cwd=project)
    assert types.returncode == 0, types.stdout


def test_rewording_the_comment_of_an_implemented_rpc_does_not_conflict(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    implemented = implement(project, "SayHello", HELLO_BODY)
    for wording in ("Says hello warmly.", "Greets by name.", "Says hello."):
        set_rpcs(project, HELLO.replace("Says hello.", wording), AGAIN if wording != "Says hello." else "")
        result = gen(project)
        assert result.returncode == 0 and "conflict" not in result.stdout, result.stdout
    assert (project / SERVICER).read_text() == implemented  # the comment came back to its first wording
    assert run_scaffold("check", "-C", project).returncode == 0


def test_a_servicer_reformatted_with_tabs_and_single_quotes_merges_a_new_rpc(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    implement(project, "SayHello", HELLO_BODY)
    text = (project / SERVICER).read_text()
    reformatted = "".join(
        re.sub(r"^((?:    )+)", lambda m: "\t" * (len(m[1]) // 4), line).replace('"', "'")
        for line in text.splitlines(True)
    )
    (project / SERVICER).write_text(reformatted)
    set_rpcs(project, HELLO, AGAIN)
    result = gen(project)
    assert result.returncode == 0 and "merge     greeter/servicer.py" in result.stdout, result.stdout
    merged = (project / SERVICER).read_text()
    assert merged.startswith(reformatted[: reformatted.index("\tdef SayHello(")])
    assert "\tdef SayHelloAgain(\n\t\tself,\n" in merged  # the new stub in the file's own indent
    assert HELLO_BODY.replace("    ", "\t").replace('"', "'") in merged


# 21. A removed RPC: untouched code goes everywhere, changed code stays everywhere.


def test_a_removed_rpc_takes_its_untouched_stub_along_and_reports_once(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO, BYE)
    set_rpcs(project, HELLO)
    result = gen(project)
    assert "  - SayBye (removed from the protos; its untouched stub went with it)" in result.stdout
    assert "SayBye" not in (project / SERVICER).read_text()
    assert "say_bye" not in (project / "greeter/client.py").read_text()
    set_rpcs(project, HELLO.replace("Says hello.", "Says hi."))
    assert "SayBye" not in gen(project).stdout


def test_a_removed_rpc_keeps_the_client_and_test_code_the_user_changed(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO, BYE)
    client = project / "greeter/client.py"
    text = client.read_text()
    start = text.index("def say_bye(")
    changed = text[:start] + "# MY NOTE ON SAY_BYE\n" + text[start:]
    client.write_text(changed)
    set_rpcs(project, HELLO)
    result = gen(project)
    assert result.returncode == 0, result.stdout
    assert "merge     greeter/client.py  (kept 1 changed block of yours the new render drops)" in result.stdout
    after = client.read_text()
    assert "# MY NOTE ON SAY_BYE\ndef say_bye(" in after
    assert "def say_bye(" not in (project / "tests/test_greeter.py").read_text()  # untouched: gone


# 23. Global options anywhere; inspect in a project; a hint for an import below.


def test_global_options_after_the_command_inspect_in_a_project_and_an_include_hint(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    assert run_scaffold("gen", "-q", "-C", project).stdout == ""
    verbose = run_scaffold("check", "-C", project, "--verbose")
    assert verbose.returncode == 0
    inspected = run_scaffold("inspect", "--json", cwd=project / "greeter")
    assert inspected.returncode == 0 and '"rpc": "SayHello"' in inspected.stdout

    (tmp_path / "vendor/third").mkdir(parents=True)
    (tmp_path / "vendor/third/common.proto").write_text('syntax = "proto3";\npackage c;\nmessage C {}\n')
    (tmp_path / "a.proto").write_text('syntax = "proto3";\npackage a;\nimport "third/common.proto";\n')
    missing = run_scaffold("new", "a.proto", "-o", tmp_path / "p", cwd=tmp_path)
    assert missing.returncode == 2
    assert (
        'a.proto:3:1: Import "third/common.proto" was not found or had errors; it is at'
        " vendor/third/common.proto: add `-I vendor` (or, in a project, vendor to proto_paths)"
    ) in missing.stderr
