"""The no-op path: `gen`/`check` with nothing to do answer without importing
protoc, Jinja or the CLI framework, from file status alone once a content
check has stamped the project, and any change at all goes the full way."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DEADLINE_SECONDS, REPO, run_scaffold

NO_OP = "Up to date (no input changed).\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    assert run_scaffold("new", REPO / "protos/helloworld.proto", "-o", root).returncode == 0
    return root  # `new` records the digest of the inputs: the next gen is already a no-op


def imports_of(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    result = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True, check=False)
    return result, {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}


def no_op_imports(project: Path) -> set[str]:
    """The modules a `scaffold gen` imports, which must answer as a no-op.

    Less what this interpreter imports before any of scaffold runs: site's
    `.pth` files (an editable install of another project, as the README's
    first command makes) may import `pathlib` at start-up, and that is not
    scaffold's doing.
    """
    _, at_start_up = imports_of("-c", "pass")
    result, imported = imports_of("-m", "scaffold", "gen", "-C", str(project))
    assert result.returncode == 0
    assert result.stdout == NO_OP
    return imported - at_start_up


def stamped(project: Path) -> Path:
    """Run no-op gens until one answers from the stamp alone (files written in the stamp's clock tick are
    checked by content, and the stamp renewed), within a deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while "scaffold.generation.uptodate" in no_op_imports(project):
        assert time.monotonic() < deadline, "the no-op path never answered from its stamp"
    return project


def test_no_op_imports_nothing_heavy(project: Path) -> None:
    imported = {name.split(".")[0] for name in no_op_imports(project)}
    assert imported.isdisjoint({"grpc_tools", "grpc", "jinja2", "typer", "google", "merge3", "watchfiles"}), imported
    assert run_scaffold("check", "-C", project).stdout == "Up to date.\n"


def test_a_stamped_no_op_reads_no_file_content(project: Path) -> None:
    imported = no_op_imports(stamped(project))
    assert imported.isdisjoint({"scaffold.generation.uptodate", "hashlib", "json", "pathlib", "tomllib"}), imported


def edit_proto(root: Path) -> None:
    proto = root / "protos/helloworld.proto"
    proto.write_text(proto.read_text().replace("Greets people by name.", "Greets people."))


def edit_config(root: Path) -> None:
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("grace_seconds = 5.0", "grace_seconds = 2.0"))


def edit_generated(root: Path) -> None:
    with (root / "helloworld/generated/helloworld_pb2.py").open("a") as module:
        module.write("# tweak\n")


def delete_base(root: Path) -> None:
    (root / ".scaffold/base/helloworld/servicer.py").unlink()


def leave_conflict_markers(root: Path) -> None:
    servicer = root / "helloworld/servicer.py"
    servicer.write_text(servicer.read_text() + "<<<<<<< yours\n=======\n>>>>>>> theirs\n")


def leave_a_transaction(root: Path) -> None:
    (root / ".scaffold/txn").mkdir()


def edit_proto_keeping_size_and_times(root: Path) -> None:
    proto = root / "protos/helloworld.proto"
    before = proto.stat()
    proto.write_text(proto.read_text().replace("Greets people by name.", "Greets persons by name"))
    os.utime(proto, ns=(before.st_atime_ns, before.st_mtime_ns))  # only the change time tells
    assert proto.stat().st_size == before.st_size


def add_a_proto(root: Path) -> None:
    (root / "protos/extra").mkdir()
    (root / "protos/extra/more.proto").write_text('syntax = "proto3";\n\nmessage More {}\n')


def create_a_configured_proto_root(root: Path) -> None:
    """A proto root named in the config before it exists: creating it is a change, like any new proto."""
    (root / "shared").mkdir()
    (root / "shared/more.proto").write_text('syntax = "proto3";\n\nmessage More {}\n')


@pytest.mark.parametrize(
    "change",
    [
        edit_proto,
        edit_proto_keeping_size_and_times,
        add_a_proto,
        create_a_configured_proto_root,
        edit_config,
        edit_generated,
        delete_base,
        leave_conflict_markers,
        leave_a_transaction,
    ],
)
def test_any_change_takes_the_full_pipeline(project: Path, change: Callable[[Path], None]) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('proto_paths = ["protos"]', 'proto_paths = ["protos", "shared"]')
    )
    assert run_scaffold("gen", "-C", project).returncode == 0  # the config change itself
    stamped(project)
    change(project)
    result = run_scaffold("gen", "-C", project)
    assert result.stdout != NO_OP
    assert "(no input changed)" not in result.stdout + result.stderr


def test_user_edits_alone_keep_the_fast_answer(project: Path) -> None:
    stamped(project)
    servicer = project / "helloworld/servicer.py"
    servicer.write_text(servicer.read_text().replace("# TODO: return a helloworld_pb2.HelloReply.", "pass  # mine"))
    assert run_scaffold("gen", "-C", project).stdout == NO_OP
    stamped(project)  # the content check renewed the stamp


def test_the_project_is_found_from_a_subdirectory_like_the_full_cli_finds_it(project: Path) -> None:
    nested = project / "tools"
    nested.mkdir()
    (nested / "pyproject.toml").write_text('[project]\nname = "tools"\n')  # not scaffold's: look further up
    assert run_scaffold("gen", cwd=nested).stdout == NO_OP
    assert run_scaffold("gen", cwd=project / "helloworld").stdout == NO_OP


def test_a_proto_of_another_size_goes_the_full_way_without_the_content_check(project: Path) -> None:
    """The content check would hash every input only to find the digest changed: a proto whose size is not
    the stamp's, or that is gone, says so from its status. Only while the stamp is of the last generation."""
    from scaffold import fastpath

    proto = project / "protos/helloworld.proto"
    stamped(project)
    assert fastpath.stamp_says(str(project)) == fastpath.HOLDS
    (project / "protos/.helloworld.proto.swp").write_bytes(b"an editor's")  # its directory's times change
    assert fastpath.stamp_says(str(project)) == fastpath.UNKNOWN
    assert run_scaffold("gen", "-C", project).stdout == NO_OP  # the content check says so
    stamped(project)
    edit_proto_keeping_size_and_times(project)
    assert fastpath.stamp_says(str(project)) == fastpath.UNKNOWN  # only its content can tell
    proto.write_text(proto.read_text().replace("Greets persons by name", "Greets people."))
    assert fastpath.stamp_says(str(project)) == fastpath.CHANGED
    result, imported = imports_of("-m", "scaffold", "gen", "-C", str(project))
    assert result.returncode == 0, result.stderr
    assert "Greets people." in (project / "helloworld/generated/helloworld_pb2_grpc.py").read_text()
    assert "scaffold.generation.uptodate" not in imported

    proto.write_text(proto.read_text() + "// longer\n")  # the gen that wrote left its inputs' sizes
    assert fastpath.stamp_says(str(project)) == fastpath.CHANGED
    result, imported = imports_of("-m", "scaffold", "gen", "-C", str(project))
    assert result.returncode == 0, result.stderr
    assert "scaffold.generation.uptodate" not in imported  # an edit loop never hashes the tree to learn it
    stamped(project)
    proto.unlink()
    assert fastpath.stamp_says(str(project)) == fastpath.CHANGED


def test_the_stamp_a_writing_gen_leaves_covers_its_inputs_and_never_vouches(project: Path) -> None:
    """It holds the config, the manifest the gen wrote and every input, taken after what the gen read and
    in the stamp's own clock tick, and no output: only the flag keeps it from saying "up to date"."""
    import marshal

    from scaffold import fastpath

    proto = project / "protos/helloworld.proto"
    proto.write_text(proto.read_text() + "// saved\n")
    assert run_scaffold("gen", "-C", project).returncode == 0
    stamp = project / fastpath.STAMP
    written = marshal.loads(stamp.read_bytes())
    assert written[4] is False and written[3] == len(written[2])  # never vouches; inputs only
    assert fastpath.stamp_says(str(project)) == fastpath.UNKNOWN
    later = time.time_ns() + 60 * 10**9  # every file it covers older than the stamp: no clock tick shared
    stamp.write_bytes(marshal.dumps((*written[:4], True)))
    os.utime(stamp, ns=(later, later))
    assert fastpath.stamp_says(str(project)) == fastpath.HOLDS  # complete: a vouching one would answer
    stamp.write_bytes(marshal.dumps(written))
    os.utime(stamp, ns=(later, later))
    assert fastpath.stamp_says(str(project)) == fastpath.UNKNOWN  # the flag alone holds it back
    edit_generated(project)  # an output it does not cover: the content check finds it
    result = run_scaffold("gen", "-C", project)
    assert result.returncode == 0 and result.stdout != NO_OP, result.stdout
    assert run_scaffold("check", "-C", project).returncode == 0
    proto.write_text(proto.read_text() + "// saved again\n")
    assert fastpath.stamp_says(str(project)) == fastpath.CHANGED


def test_rpcs_reordered_or_a_stub_deleted_keep_the_fast_answer(project: Path) -> None:
    """Neither is code kept for the user's (`kept_for_code`): the servicer keeps an earlier run's order, and
    a deleted stub stays deleted whatever the user does with that method."""
    proto = next((project / "protos").glob("*.proto"))
    text = proto.read_text()
    first = text.index("  // Answers with a greeting")
    second = text.index("  // Answers with a second")
    end = text.index("}", text.index("rpc SayHelloAgain")) + 2
    proto.write_text(text[:first] + text[second:end] + "\n" + text[first:second].rstrip("\n") + "\n" + text[end:])
    assert run_scaffold("gen", "-C", project).returncode == 0
    servicer = project / "helloworld/servicer.py"
    source = servicer.read_text()
    stub = source.index("    def SayHelloAgain(")
    servicer.write_text(source[:stub] + source[source.index("    # scaffold adds") :])
    assert run_scaffold("gen", "-C", project).stdout == NO_OP
    assert "kept_for_code" not in (project / ".scaffold/manifest.json").read_text()


def test_a_manifest_from_before_kept_for_code_still_sends_kept_code_the_full_way(project: Path) -> None:
    """A project whose servicer keeps a removed RPC's method for the user's code, recorded by a version that
    did not write `kept_for_code`: the manifest's own RPCs show it. The user undoes the method, and `gen`
    lets it go; the fast path must not vouch for the tree before."""
    servicer = project / "helloworld/servicer.py"
    before, _, after = servicer.read_text().rpartition("# TODO: return a helloworld_pb2.HelloReply.")
    servicer.write_text(before + "pass  # mine" + after)  # SayHelloAgain's, the last
    proto = next((project / "protos").glob("*.proto"))
    text = proto.read_text()
    again = text.index("  // Answers with a second")
    proto.write_text(text[:again] + text[text.index("{}", again) + 3 :])
    assert "your method stays" in run_scaffold("gen", "-C", project).stdout
    manifest = project / ".scaffold/manifest.json"
    assert ',\n "kept_for_code": true' in manifest.read_text()
    manifest.write_text(manifest.read_text().replace(',\n "kept_for_code": true', ""))
    servicer.write_bytes((project / ".scaffold/base/helloworld/servicer.py").read_bytes())
    assert run_scaffold("check", "-C", project).returncode == 1
