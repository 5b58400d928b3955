"""Issue 25, the merge and the write stage: what a line is, a new stub beside an edited method, a
deleted stub, a reshape reported once, a rename-save landing in the swap, and `gen --abort`; all
driven through the CLI (races made deterministic through `scaffold.core.seams`)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from conftest import run_python, run_scaffold, tree
from test_gen import (
    AGAIN,
    BYE,
    HELLO,
    HELLO_BODY,
    HELLO_STREAM,
    SERVICER,
    fresh_render,
    implement,
    make_project,
    set_rpcs,
    stub_body,
)
from test_trust import with_seam

CLIENT = "greeter/client.py"


def gen(project: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return run_scaffold("gen", "-C", project, *args, env=env)


def check(project: Path) -> int:
    return run_scaffold("check", "-C", project).returncode


# Item 8: lines are what Python's tokenizer calls lines.

ODD = (
    'SEPARATED = "a\u2028b"  # a line separator inside a string\n'
    "NEXT_LINE = 'x'  # caf\u0085e: NEL inside a comment\n"
    "\x0c\n"
    "PAGE = 1  # a form feed above, a page break; \x0c and \u2029 here too\n"
)


@pytest.mark.parametrize("path", [SERVICER, CLIENT])
def test_separators_python_does_not_split_at_survive_a_merge(tmp_path: Path, path: str) -> None:
    project = make_project(tmp_path, HELLO)
    implement(project, "SayHello", HELLO_BODY)
    module = project / path
    text = module.read_text(encoding="utf-8").replace("\n\n\n", "\n\n\n" + ODD + "\n\n", 1)
    module.write_bytes(text.encode("utf-8"))
    assert check(project) == 0
    set_rpcs(project, HELLO, AGAIN)
    assert check(project) == 1
    result = gen(project)
    assert result.returncode == 0 and f"merge     {path}" in result.stdout, result.stdout + result.stderr
    merged = module.read_bytes().decode("utf-8")
    assert ODD in merged
    ast.parse(merged)  # still one module: no literal cut in two
    assert "SayHelloAgain" in merged or "say_hello_again" in merged
    assert check(project) == 0
    assert gen(project).stdout.startswith("Up to date")


# Item 13: a new stub next to any edited method merges cleanly.

BYE_BODY = '        return greeter_pb2.HelloReply(message="Bye!")\n'


@pytest.mark.parametrize(
    ("edited", "after"),
    [
        ("SayHello", (HELLO, AGAIN, BYE)),  # right after the edited method
        ("SayBye", (HELLO, AGAIN, BYE)),  # right before it
        ("SayHello", (AGAIN, HELLO, BYE)),  # first in the class, before it
        ("SayBye", (HELLO, BYE, AGAIN)),  # last, after it
    ],
)
def test_a_new_stub_next_to_an_edited_method_merges_cleanly(
    tmp_path: Path, edited: str, after: tuple[str, ...]
) -> None:
    project = make_project(tmp_path, HELLO, BYE)
    body = HELLO_BODY if edited == "SayHello" else BYE_BODY
    implement(project, edited, body)
    set_rpcs(project, *after)
    result = gen(project)
    assert result.returncode == 0 and "conflict" not in result.stdout, result.stdout + result.stderr
    expected = fresh_render(tmp_path, *after)[SERVICER].decode().replace(stub_body(edited), body)
    assert (project / SERVICER).read_text() == expected
    assert check(project) == 0


STORE_A = """syntax = "proto3";
package shop.a.v1;
// A store.
service Store {{
  // Get an item.
  rpc Get (Item) returns (Item) {{}}
{added}  rpc List (Item) returns (stream Item) {{}}
}}
message Item {{ string name = 1; }}
"""
STORE_B = """syntax = "proto3";
package shop.b.v1;
service Store {
  rpc Put (Thing) returns (Thing) {}
}
service Catalog {
  rpc Find (Thing) returns (Thing) {}
}
message Thing { string name = 1; }
"""
UNARY_STUB = re.compile(
    r"( +)# TODO: return an? (\S+)\.\n +context\.abort\(\s*grpc\.StatusCode\.UNIMPLEMENTED,\s*\"(\w+) is not implemented yet\"\s*\)\n"
)


def implement_all(module: Path) -> str:
    """Every unary stub of `module` given a body of the user's."""
    text = UNARY_STUB.sub(lambda m: f'{m[1]}return {m[2]}(name="MY_{m[3]}")  # mine\n', module.read_text())
    module.write_text(text)
    return text


@pytest.mark.parametrize("layout", ["single", "per-service"])
def test_an_rpc_declared_after_an_implemented_one_merges_in_either_layout(tmp_path: Path, layout: str) -> None:
    protos = tmp_path / "src/shop"
    for package, text in (("a", STORE_A.format(added="")), ("b", STORE_B)):
        (protos / package / "v1").mkdir(parents=True)
        (protos / package / "v1/store.proto").write_text(text)
    project = tmp_path / "shop"
    made = run_scaffold("new", tmp_path / "src", "-o", project, "--name", "shop", "--layout", layout)
    assert made.returncode == 0, made.stderr
    modules = [
        p for p in (project / "shop").rglob("*.py") if "generated" not in p.parts and "Servicer)" in p.read_text()
    ]
    implemented = {module: implement_all(module) for module in modules}
    added = "  rpc Added (Item) returns (Item) {}\n"
    (project / "protos/shop/a/v1/store.proto").write_text(STORE_A.format(added=added))
    result = gen(project)
    assert result.returncode == 0 and "conflict" not in result.stdout, result.stdout + result.stderr
    for module, before in implemented.items():
        text = module.read_text()
        assert [line for line in before.splitlines() if "MY_" in line] == [
            line for line in text.splitlines() if "MY_" in line
        ]
    servicer = "".join(module.read_text() for module in modules)
    assert servicer.index('name="MY_Get"') < servicer.index("def Added(") < servicer.index("def List(")
    assert check(project) == 0


def test_a_method_the_user_wrote_before_the_protos_had_the_rpc_gets_no_stub(tmp_path: Path) -> None:
    """A stub added beside (or after) the user's own method for the new RPC would shadow it."""
    project = make_project(tmp_path, HELLO, BYE)
    own = HELLO_BODY + "\n    def SayHelloAgain(self, request, context):\n        return None\n"
    written = implement(project, "SayHello", own)
    set_rpcs(project, HELLO, AGAIN, BYE)
    result = gen(project)
    assert result.returncode == 0 and "+ SayHelloAgain" in result.stdout, result.stdout + result.stderr
    assert (project / SERVICER).read_text() == written
    assert check(project) == 0


# Item 15: a stub the user deleted stays deleted (the base class answers UNIMPLEMENTED), and the next
# RPC merges cleanly beside where it was.


@pytest.mark.parametrize("implemented", [True, False])
@pytest.mark.parametrize("deleted", ["the newest stub", "a stub in the middle"])
def test_a_deleted_stub_is_up_to_date_and_the_next_rpc_merges_cleanly(
    tmp_path: Path, deleted: str, implemented: bool
) -> None:
    project = make_project(tmp_path, HELLO)
    if implemented:
        implement(project, "SayHello", HELLO_BODY)
    before = (project / SERVICER).read_text()
    set_rpcs(project, HELLO, AGAIN)
    assert gen(project).returncode == 0
    if deleted == "the newest stub":
        (project / SERVICER).write_text(before)  # `git checkout servicer.py`: SayHelloAgain's stub is gone
        rpcs: tuple[str, ...] = (HELLO, AGAIN, BYE)
    else:
        rpcs = (HELLO, BYE, AGAIN)  # SayBye declared between SayHello and the stub the user deleted
        (project / SERVICER).write_text(before)
    assert check(project) == 0  # a legitimate choice: nothing to regenerate
    untouched = tree(project)
    full = gen(project, "--full")  # plans every file: the merge leaves the servicer as the user has it
    assert full.stdout == "Up to date; scaffold's record (.scaffold/) was refreshed.\n", full.stdout
    assert {k: v for k, v in tree(project).items() if not k.startswith(".scaffold")} == {
        k: v for k, v in untouched.items() if not k.startswith(".scaffold")
    }
    set_rpcs(project, *rpcs)
    result = gen(project)
    assert result.returncode == 0 and "conflict" not in result.stdout, result.stdout + result.stderr
    text = (project / SERVICER).read_text()
    assert "    def SayBye(" in text and "    def SayHelloAgain(" not in text
    expected = fresh_render(tmp_path, HELLO, BYE)[SERVICER].decode()
    assert text == (expected.replace(stub_body("SayHello"), HELLO_BODY) if implemented else expected)
    assert check(project) == 0
    assert gen(project).stdout.startswith("Up to date")


@pytest.mark.parametrize("layout", ["single", "per-service"])
def test_the_imports_of_a_deleted_stub_stay_as_the_user_has_them_whichever_run_renders(
    tmp_path: Path, layout: str
) -> None:
    """Fuzzer seeds 55000, 55007 and 55011: the user deletes every stub of a servicer. A no-op `gen` leaves the
    module alone and `check` says up to date; a `gen --full` then rendered it without the stubs' imports (no
    RPC left to need `grpc` or the message module) and took the user's import lines away: `check` and a full
    run disagreed, and scaffold edited imports for an edit of the user's. The render keeps the imports of a
    deleted stub, so every run leaves the module as the user has it, until the protos change."""
    project = make_project(tmp_path, HELLO, layout=layout)
    module = project / (SERVICER if layout == "single" else "greeter/services/greeter.py")
    text = module.read_text()
    mine = text.replace(text[text.index("    def SayHello(") : text.index("    # scaffold adds")], "")
    assert "def SayHello(" not in mine and "import grpc\n" in mine
    module.write_text(mine)
    assert check(project) == 0
    full = gen(project, "--full")
    assert full.returncode == 0 and full.stdout.startswith("Up to date"), full.stdout + full.stderr
    assert module.read_text() == mine
    assert check(project) == 0

    set_rpcs(project, HELLO, BYE)  # the protos change: the new RPC's stub merges in beside the user's imports
    grown = gen(project)
    assert grown.returncode == 0 and "conflict" not in grown.stdout, grown.stdout + grown.stderr
    text = module.read_text()
    assert "    def SayBye(" in text and "    def SayHello(" not in text and text.count("import grpc\n") == 1
    assert check(project) == 0
    assert gen(project, "--full").stdout.startswith("Up to date")


# Item 14: a changed shape is reported once, in the run that changes it.


def test_a_changed_shape_is_reported_once_and_the_fixed_method_stays(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    implement(project, "SayHello", HELLO_BODY)
    set_rpcs(project, HELLO_STREAM)
    result = gen(project)
    hint = re.search(r"~ SayHello changed shape \(your implementation kept: change it to `(.*)`\)", result.stdout)
    assert result.returncode == 0 and hint is not None, result.stdout
    servicer = (project / SERVICER).read_text()
    start, end = servicer.index("    def SayHello("), servicer.index("        return greeter_pb2.HelloReply(")
    fixed = servicer[:start] + f"    {hint[1]}:\n" + servicer[end:].replace("return", "yield", 1)
    (project / SERVICER).write_text(fixed)  # the user follows the hint
    again = gen(project, "--full")
    assert again.returncode == 0 and "changed shape" not in again.stdout, again.stdout
    assert check(project) == 0
    set_rpcs(project, HELLO_STREAM, AGAIN)
    grown = gen(project)
    assert grown.returncode == 0 and "changed shape" not in grown.stdout, grown.stdout
    assert "+ SayHelloAgain" in grown.stdout
    text = (project / SERVICER).read_text()
    assert text.startswith(fixed[: fixed.index("    # scaffold adds")]) and "    def SayHelloAgain(" in text
    assert check(project) == 0


# Item 3: a save landing between the last comparison and the swap is never replaced.

SAVED = "# SAVED BY THE EDITOR\n"


def saving_at(tmp_path: Path, target: Path, path: str, how: str, times: int = 1) -> dict[str, str]:
    """A seam hook that saves `target` at the moment `swapping` of `path`, `times` times: by writing a
    temporary file renamed over it (vim, JetBrains, VS Code) or in place."""
    count = tmp_path / "saves"
    body = f"""
    def hook(moment, path):
        count = Path({str(count)!r})
        done = len(count.read_text()) if count.exists() else 0
        if moment != 'swapping' or path != {path!r} or done >= {times}:
            return
        count.write_text('x' * (done + 1))
        target = Path({str(target)!r})
        text = target.read_text() + {SAVED!r}
        if {how!r} == 'rename':
            temporary = target.with_name('.' + target.name + '.swp')
            temporary.write_text(text)
            os.replace(temporary, target)
        else:
            target.write_text(text)
    """
    return with_seam(tmp_path, body)


@pytest.mark.parametrize("how", ["rename", "in place"])
def test_a_save_between_the_last_comparison_and_the_swap_is_kept_and_merged(tmp_path: Path, how: str) -> None:
    project = make_project(tmp_path, HELLO)
    implement(project, "SayHello", HELLO_BODY)
    set_rpcs(project, HELLO, AGAIN)
    result = gen(project, env=saving_at(tmp_path, project / SERVICER, SERVICER, how))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "saves").read_text() == "x"  # the save did land in the window
    text = (project / SERVICER).read_text()
    assert text.endswith(SAVED) and "    def SayHelloAgain(" in text and HELLO_BODY in text
    assert check(project) == 0


def test_a_file_saved_in_every_swap_window_stops_the_run_with_one_line(tmp_path: Path) -> None:
    project = make_project(tmp_path, HELLO)
    set_rpcs(project, HELLO, AGAIN)
    before = tree(project)
    result = gen(project, env=saving_at(tmp_path, project / SERVICER, SERVICER, "rename", times=3))
    assert result.returncode == 2
    assert result.stderr == (
        f"{project / SERVICER}: changed while scaffold was writing, 3 times in a row; nothing was written: run it again\n"
    )
    after = tree(project)
    assert after.pop(SERVICER) == before.pop(SERVICER) + SAVED.encode() * 3
    assert after == before
    assert not (project / ".scaffold/txn").exists()


TWO_SERVICES = """syntax = "proto3";
package two;
service Alpha {{
  rpc Ping (Note) returns (Note) {{}}
}}
{beta}message Note {{ string text = 1; }}
"""
BETA = "service Beta {\n  rpc Pong (Note) returns (Note) {}\n}\n"


def test_a_save_landing_as_an_untouched_module_is_removed_is_kept(tmp_path: Path) -> None:
    source = tmp_path / "src/two.proto"
    source.parent.mkdir(parents=True)
    source.write_text(TWO_SERVICES.format(beta=BETA))
    project = tmp_path / "project"
    assert run_scaffold("new", source, "-o", project, "--layout", "per-service").returncode == 0
    beta = next(p for p in (project / "two/services").rglob("beta.py"))
    path = beta.relative_to(project).as_posix()
    (project / "protos/two.proto").write_text(TWO_SERVICES.format(beta=""))
    result = gen(project, env=saving_at(tmp_path, beta, path, "rename"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "saves").read_text() == "x"
    assert beta.read_text().endswith(SAVED)  # kept: the user's now, no longer scaffold's to remove
    # Kept as a removed service's class is: unserved, without the generated base the protos no longer define.
    assert f"merge     {path}" in result.stdout and "class BetaServicer:  # its service is gone" in beta.read_text()
    assert check(project) == 0


# Item 16: `gen --abort` puts back what the last run changed.


def conflicted(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A project whose last `gen` ended in a conflict, and its tree before that run."""
    project = make_project(tmp_path, HELLO)
    implement(project, "SayHello", HELLO_BODY)
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("| SayHello |", "| SayHello (greets by name) |"))
    set_rpcs(project, HELLO, AGAIN)
    before = tree(project)
    result = gen(project)
    assert result.returncode == 1 and "conflict  README.md" in result.stdout, result.stdout
    assert "    def SayHelloAgain(" in (project / SERVICER).read_text()
    return project, before


def test_gen_abort_puts_back_a_conflicted_run(tmp_path: Path) -> None:
    project, before = conflicted(tmp_path)
    aborted = run_scaffold("gen", "--abort", "-C", project)
    assert aborted.returncode == 0, aborted.stderr
    assert f"restore   {SERVICER}" in aborted.stdout and "restore   .scaffold/manifest.json" in aborted.stdout
    assert aborted.stdout.splitlines()[-1].startswith("Put back what the last run changed: ")
    assert tree(project) == before
    assert check(project) == 1  # the protos still say what the aborted run was for
    again = run_scaffold("gen", "--abort", "-C", project)
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "nothing to undo" in again.stderr
    assert tree(project) == before


def test_gen_abort_refuses_when_a_file_was_edited_since(tmp_path: Path) -> None:
    project, _ = conflicted(tmp_path)
    (project / "greeter/client.py").write_text((project / "greeter/client.py").read_text() + "# mine\n")
    edited = tree(project)
    aborted = run_scaffold("gen", "--abort", "-C", project)
    assert aborted.returncode == 1
    assert aborted.stderr == (
        f"{project / 'greeter/client.py'}: changed since the last run; nothing was put back"
        " (undo your edits first, or keep this run)\n"
    )
    assert tree(project) == edited


def test_gen_abort_killed_half_way_ends_in_one_tree_or_the_other(tmp_path: Path) -> None:
    project, before = conflicted(tmp_path)
    after = tree(project)
    body = "def hook(moment, path):\n    if moment == 'after-swap' and path == 'greeter/client.py':\n        os._exit(137)\n"
    killed = run_scaffold("gen", "--abort", "-C", project, env=with_seam(tmp_path, body))
    assert killed.returncode == 137
    assert run_scaffold("gen", "--dry-run", "-C", project).returncode in (0, 1)  # a half-done abort is readable
    aborted = run_scaffold("gen", "--abort", "-C", project)  # rolls the killed abort back, then aborts
    assert aborted.returncode == 0, aborted.stderr
    assert tree(project) == before != after


def test_gen_abort_never_follows_an_undo_record_outside_the_project(tmp_path: Path) -> None:
    project, _ = conflicted(tmp_path)
    record = project / ".scaffold/undo/undo.json"
    outside = tmp_path / "outside.txt"
    outside.write_text("not scaffold's\n")
    record.write_text(record.read_text().replace('"README.md"', '"../outside.txt"'))
    before = tree(project)
    aborted = run_scaffold("gen", "--abort", "-C", project)
    assert aborted.returncode == 2 and aborted.stderr.count("\n") == 1, aborted.stderr
    assert aborted.stderr.startswith(f"{record}: names '../outside.txt', which has a `..` component")
    assert tree(project) == before and outside.read_text() == "not scaffold's\n"


# A clean merge that drops an import the kept code reads (found by the fuzzer, seeds 6008 and 6039).

UPLOAD = "  // Uploads names.\n  rpc Upload (stream HelloRequest) returns (HelloReply) {}\n"


def test_a_kept_request_generator_keeps_the_import_it_reads(tmp_path: Path) -> None:
    """The user fills in a client-streaming RPC's request generator; the RPC stops streaming its requests,
    and the new render no longer imports `Iterator`. The merge keeps the user's generator (changed by
    them), so it keeps the import it reads: the module still imports and ruff finds every name."""
    project = make_project(tmp_path, HELLO, UPLOAD)
    client = project / CLIENT
    mine = '    for name in ("Ada", "Grace"):  # mine\n        yield greeter_pb2.HelloRequest(name=name)\n'
    text = client.read_text()
    assert "    yield greeter_pb2.HelloRequest()\n" in text
    client.write_text(text.replace("    yield greeter_pb2.HelloRequest()\n", mine))
    set_rpcs(project, HELLO, UPLOAD.replace("(stream HelloRequest)", "(HelloRequest)"))
    result = gen(project)
    assert result.returncode == 0, result.stdout + result.stderr
    merged = client.read_text()
    assert mine in merged and "from collections.abc import Iterator\n" in merged
    lint = run_python("-m", "ruff", "check", "--no-cache", "--select", "F821,I", CLIENT, cwd=project)
    assert lint.returncode == 0, lint.stdout
    assert run_python("-c", "import greeter.client", cwd=project).returncode == 0
    assert check(project) == 0


MY_TESTS = """

@pytest.fixture
def greeting() -> str:
    return "hi"


def test_mine(greeting: str) -> None:
    assert greeting == "hi"
"""


@pytest.mark.parametrize("aio", ["true", "false"])
def test_a_module_the_render_rewrites_merges_by_definition(tmp_path: Path, aio: str) -> None:
    """Found by the fuzzer (seed 6022): the user adds a fixture and a test between two generated tests, then
    switches `aio`, which rewrites every test. The line merge aligned the user's lines on a blank line inside
    a new asyncio test and split it around them: clean, and `scenario` read where nothing binds it. The
    merge goes by definitions instead: the new render with the user's definitions where they were."""
    project = make_project(tmp_path, HELLO, AGAIN)
    if aio == "false":  # the other way round: from asyncio's tests to plain ones
        config = project / "pyproject.toml"
        config.write_text(config.read_text().replace("aio = false", "aio = true"))
        assert gen(project).returncode == 0
    module = project / "tests/test_greeter.py"
    text = module.read_text()
    first_test_ends = text.index("\n\n\ndef test_say_hello_again")
    module.write_text(text[:first_test_ends] + "\n" + MY_TESTS.rstrip("\n") + text[first_test_ends:])
    config = project / "pyproject.toml"
    config.write_text(re.sub(r"(?m)^aio = \w+$", f"aio = {aio}", config.read_text()))
    result = gen(project)
    assert result.returncode == 0 and "merge     tests/test_greeter.py" in result.stdout, result.stdout + result.stderr
    merged = module.read_text()
    assert MY_TESTS.strip("\n") in merged
    lint = run_python("-m", "ruff", "check", "--no-cache", "--select", "F821,F811,I", "tests", cwd=project)
    assert lint.returncode == 0, lint.stdout
    tests = run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=project)
    assert "3 passed" in tests.stdout, tests.stdout + tests.stderr
    assert check(project) == 0


def test_a_helper_written_right_above_an_untouched_class_stays_when_its_service_goes(tmp_path: Path) -> None:
    """Found by the fuzzer (seed 6015): a helper of the user's right above a servicer class they never
    touched made the line merge keep the whole class when its service left the protos ("its servicer
    class stays until you delete it"), and with it a read of the proto's module that is gone. The
    helper stays; the untouched class goes, as it would without the helper."""
    project = make_project(tmp_path, HELLO)
    servicer = project / SERVICER
    helper = "def shout(text: str) -> str:  # mine\n    return text.upper()\n\n\n"
    servicer.write_text(servicer.read_text().replace("class GreeterServicer", helper + "class GreeterServicer", 1))
    proto = project / "protos/greeter.proto"
    proto.write_text(re.sub(r"// Greets people.\nservice Greeter \{.*?\n\}\n", "", proto.read_text(), flags=re.DOTALL))
    result = gen(project)
    assert result.returncode == 0, result.stdout + result.stderr
    text = servicer.read_text()
    assert helper.rstrip("\n") in text and "class GreeterServicer" not in text
    assert "stays until you delete it" not in result.stdout
    assert run_python("-c", "import greeter.server", cwd=project).returncode == 0
    assert check(project) == 0


@pytest.mark.parametrize("spot", ["above the others", "where isort puts it"])
def test_an_import_the_user_and_the_render_both_add_is_kept_once(tmp_path: Path, spot: str) -> None:
    """Found by the fuzzer (seed 16000): the user imports pytest for a fixture of theirs while the tests
    need none; an RPC arrives and the render's tests import pytest too. Both lines merged in was pytest
    bound twice (F811) and the run refused; the render's copy goes, the user's line stays."""
    project = make_project(tmp_path)
    module = project / "tests/test_greeter.py"
    text = module.read_text()
    assert "import pytest" not in text
    mine = "import pytest\nimport grpc\n" if spot == "above the others" else "import grpc\nimport pytest\n"
    module.write_text(text.replace("import grpc\n", mine, 1) + MY_TESTS)
    set_rpcs(project, HELLO)
    result = gen(project)
    assert result.returncode == 0, result.stdout + result.stderr
    merged = module.read_text()
    assert merged.count("import pytest\n") == 1 and MY_TESTS.strip("\n") in merged
    assert "def test_say_hello(" in merged
    lint = run_python("-m", "ruff", "check", "--no-cache", "--select", "F821,F811", "tests", cwd=project)
    assert lint.returncode == 0, lint.stdout
    tests = run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=project)
    assert tests.returncode == 0 and "2 passed" in tests.stdout, tests.stdout + tests.stderr  # theirs and mine
    assert check(project) == 0
