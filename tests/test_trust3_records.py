"""Issue 25, the records: what scaffold reads from outside (a git tree, its manifest, its caches, links
to shared protos and templates) never makes it write outside the project, crash, or call a stale project
up to date. Driven through the CLI, as a user (or an attacker) meets it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, run_scaffold, tree

PROTO = "protos/route_guide.proto"


def _git(project: Path, *args: str, data: str | None = None) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=project,
        input=data,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def _route_guide(tmp_path: Path, name: str = "guide") -> Path:
    done = run_scaffold("new", REPO / PROTO, "-o", tmp_path / name)
    assert done.returncode == 0, done.stderr
    return tmp_path / name


@pytest.fixture
def committed(tmp_path: Path) -> Path:
    """A route_guide project, committed as it was made."""
    project = _route_guide(tmp_path)
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "made")
    return project


# Item 5: a revision's tree names paths; none of them may lead a write outside scaffold's temp dir.


def _tree_of(project: Path, name: str, blob: str, mode: str = "100644") -> str:
    return _git(project, "mktree", data=f"{mode} blob {blob}\t{name}\n")


@pytest.mark.parametrize("shape", ["dotdot", "link", "file-and-directory", "twice"])
def test_a_revision_whose_tree_names_a_bad_path_is_refused_before_anything_is_written(
    committed: Path, tmp_path: Path, shape: str
) -> None:
    project = committed
    blob = _git(project, "hash-object", "-w", "--stdin", data='syntax = "proto3";\npackage evil;\n')
    marker = "scaffold_escape_marker_t3.proto"
    bad, message = {
        "dotdot": ("../" + marker, "has a `..` component: it would lead outside"),
        "link": ("protos/linked.proto", "is a symbolic link in the revision; scaffold reads no link from a revision"),
        "file-and-directory": ("protos/route_guide.proto", "is both a file and a directory in the revision"),
        "twice": ("protos/route_guide.proto", "appears twice in the revision's tree"),
    }[shape]
    protos = _git(project, "ls-tree", "HEAD:protos")
    if shape == "dotdot":
        extra = f"040000 tree {_tree_of(project, marker, blob)}\t.."
        root = _git(project, "mktree", data=_git(project, "ls-tree", "HEAD") + "\n" + extra)
    else:
        inner = {
            "link": f"{protos}\n120000 blob {blob}\tlinked.proto\n",
            "file-and-directory": f"{protos}\n040000 tree {_tree_of(project, 'x.proto', blob)}\troute_guide.proto\n",
            "twice": f"{protos}\n100644 blob {blob}\troute_guide.proto\n",
        }[shape]
        tree_id = _git(project, "mktree", "--missing", data=inner)
        listing = [line for line in _git(project, "ls-tree", "HEAD").splitlines() if not line.endswith("\tprotos")]
        root = _git(project, "mktree", data="\n".join([*listing, f"040000 tree {tree_id}\tprotos"]) + "\n")
    commit = _git(project, "commit-tree", root, "-p", "HEAD", "-m", "crafted")
    temp = tmp_path / "temp"
    temp.mkdir()
    before = tree(project)
    done = subprocess.run(
        [sys.executable, "-m", "scaffold", "breaking", "--against", commit],
        cwd=project,
        env={**os.environ, "TMPDIR": str(temp)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"{commit}:{bad}: {message}\n"
    assert list(temp.iterdir()) == []  # nothing left in the temp root, nothing written beside the temp dir
    assert tree(project) == before


# Item 6: nothing below `.scaffold/` is written through a link. `.scaffold/cache` itself (the lock lives
# there) refuses the run; a link below it is a cache lost: neither read nor written.


def _outside(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "mine.txt").write_text("the user's\n")
    return outside


def _touch_proto(project: Path) -> None:
    proto = project / PROTO
    proto.write_text(proto.read_text().replace("service RouteGuide {", "// Touched.\nservice RouteGuide {"))


def test_a_linked_cache_directory_refuses_every_run_and_nothing_is_written_through_it(tmp_path: Path) -> None:
    project = _route_guide(tmp_path)
    outside = _outside(tmp_path)
    shutil.rmtree(project / ".scaffold/cache")
    (project / ".scaffold/cache").symlink_to(outside)
    expected = f"{project / '.scaffold/cache'}: is a symbolic link; scaffold does not write through links\n"
    for command in (["check"], ["gen"], ["-q", "gen"], ["check"]):
        done = run_scaffold(*command, "-C", project)
        assert (done.returncode, done.stderr) == (2, expected), command
    _touch_proto(project)
    before = tree(project)
    done = run_scaffold("gen", "-C", project)
    assert (done.returncode, done.stderr) == (2, expected)
    assert tree(project) == before
    assert sorted(p.name for p in outside.iterdir()) == ["mine.txt"]


def test_new_force_refuses_a_linked_cache_directory(tmp_path: Path) -> None:
    outside = _outside(tmp_path)
    target = tmp_path / "target"
    (target / ".scaffold").mkdir(parents=True)
    (target / ".scaffold/cache").symlink_to(outside)
    done = run_scaffold("new", REPO / PROTO, "-o", target, "--force")
    assert done.returncode == 2
    assert done.stderr == f"{target / '.scaffold/cache'}: is a symbolic link; scaffold does not write through links\n"
    assert sorted(p.name for p in outside.iterdir()) == ["mine.txt"]
    assert sorted(p.name for p in target.iterdir()) == [".scaffold"]


@pytest.mark.parametrize("linked", ["memo", "protoc", "memo/index"])
def test_a_link_below_the_cache_is_a_cache_lost_never_written_through(tmp_path: Path, linked: str) -> None:
    project = _route_guide(tmp_path)
    reference = _route_guide(tmp_path, "reference")
    outside = _outside(tmp_path)
    settled = {"SCAFFOLD_SETTLED_NS": "0"}
    assert run_scaffold("check", "-C", project, env=settled).returncode == 0  # the stamp and the hashes
    entry = project / ".scaffold/cache" / linked
    assert entry.exists(), linked
    kept = outside / "kept"
    shutil.move(entry, kept)  # what the link points at: the cache's own entry, moved out
    entry.symlink_to(kept)
    before = {p.relative_to(outside): (p.read_bytes() if p.is_file() else None) for p in outside.rglob("*")}
    for project_ in (project, reference):
        _touch_proto(project_)
        done = run_scaffold("gen", "-C", project_, env=settled)
        assert done.returncode == 0, done.stderr
        for command in ("check", "gen"):
            assert run_scaffold(command, "-C", project_, env=settled).returncode == 0
    after = {p.relative_to(outside): (p.read_bytes() if p.is_file() else None) for p in outside.rglob("*")}
    assert after == before  # a linked file may be replaced by the cache's own; what it pointed at is never written
    assert tree(project) == tree(reference)


# E3b: a `new --force` killed half-way is rolled back by the next `new --force`; a `gen` says what to do.


def _killed_new(tmp_path: Path) -> Path:
    target = tmp_path / "target"
    target.mkdir()
    (target / "README.md").write_text("# my readme\n")
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "seam_hook.py").write_text(
        "import os\ncount = [0]\n\ndef hook(moment, path):\n"
        "    if moment == 'after-swap' and path == 'pyproject.toml':\n        os._exit(137)\n"
    )
    env = {"SCAFFOLD_SEAM": "seam_hook:hook", "PYTHONPATH": str(hooks)}
    killed = run_scaffold("new", REPO / PROTO, "-o", target, "--force", env=env)
    assert killed.returncode == 137, killed.stderr
    assert (target / ".scaffold/txn").is_dir() and (target / "pyproject.toml").is_file()
    return target


def test_a_killed_new_force_is_rolled_back_by_the_next_new_force(tmp_path: Path) -> None:
    target = _killed_new(tmp_path)
    done = run_scaffold("new", REPO / PROTO, "-o", target, "--force")
    assert done.returncode == 0, done.stderr
    assert (target / "README.md").read_text() == "# my readme\n"
    assert run_scaffold("check", "-C", target).returncode == 0


def test_a_gen_after_a_killed_new_rolls_it_back_and_says_to_run_new_again(tmp_path: Path) -> None:
    target = _killed_new(tmp_path)
    done = run_scaffold("gen", "-C", target)
    assert done.returncode == 2
    assert (
        done.stderr == f"{target}: rolled back a `scaffold new` that was interrupted; run that `scaffold new` again\n"
    )
    assert not (target / "pyproject.toml").exists() and (target / "README.md").read_text() == "# my readme\n"
    assert run_scaffold("new", REPO / PROTO, "-o", target, "--force").returncode == 0


# Item 9: the inputs' digest, the no-op stamp and the render keys cover what protoc and Jinja read: below
# links, and in the directory of a listed proto that lies under no proto root.

SETTLED = {"SCAFFOLD_SETTLED_NS": "0"}


def _stamped(project: Path) -> None:
    """`gen` then `check`, both 0: the no-op stamp now vouches for everything it covers."""
    for command in ("gen", "check"):
        done = run_scaffold(command, "-C", project, env=SETTLED)
        assert done.returncode == 0, (command, done.stdout, done.stderr)


def _stale_then_generated(project: Path, stale: str) -> None:
    check = run_scaffold("check", "-C", project, env=SETTLED)
    assert check.returncode == 1 and f"stale: {stale}" in check.stderr, (check.stdout, check.stderr)
    done = run_scaffold("gen", "-C", project, env=SETTLED)
    assert done.returncode == 0, done.stderr
    assert run_scaffold("check", "-C", project, env=SETTLED).returncode == 0


def test_an_edit_below_a_linked_proto_directory_is_seen(tmp_path: Path) -> None:
    shared = tmp_path / "shared/vendor"
    shared.mkdir(parents=True)
    (shared / "common.proto").write_text('syntax = "proto3";\npackage vendor;\nmessage Common { string a = 1; }\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src/app.proto").write_text(
        'syntax = "proto3";\npackage app;\nimport "vendor/common.proto";\n'
        "service App { rpc Do (vendor.Common) returns (vendor.Common) {} }\n"
    )
    done = run_scaffold(
        "new", tmp_path / "src/app.proto", "-I", tmp_path / "src", "-I", tmp_path / "shared", "-o", tmp_path / "p"
    )
    assert done.returncode == 0, done.stderr
    project = tmp_path / "p"
    shutil.rmtree(project / "protos/vendor")
    (project / "protos/vendor").symlink_to(shared)  # a monorepo's shared protos, linked in
    _stamped(project)
    (shared / "common.proto").write_text(
        'syntax = "proto3";\npackage vendor;\nmessage Common { string a = 1; int64 added_b = 2; }\n'
    )
    _stale_then_generated(project, "app/generated/vendor/common_pb2.py")
    assert "added_b" in (project / "app/generated/vendor/common_pb2.pyi").read_text()


def test_an_edit_of_a_listed_proto_outside_the_proto_paths_is_seen(tmp_path: Path) -> None:
    project = _route_guide(tmp_path)
    (project / "extra").mkdir()
    extra = project / "extra/extra.proto"
    extra.write_text(
        'syntax = "proto3";\npackage extra;\nservice Extra { rpc Ping (PingMsg) returns (PingMsg) {} }\n'
        "message PingMsg { string a = 1; }\n"
    )
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(
        text.replace(
            'protos = ["protos/route_guide.proto"]', 'protos = ["protos/route_guide.proto", "extra/extra.proto"]'
        )
    )
    assert pyproject.read_text() != text
    _stamped(project)
    extra.write_text(extra.read_text().replace("{} }", "{}\n  rpc Pong (PingMsg) returns (PingMsg) {}\n}"))
    _stale_then_generated(project, "route_guide/servicer.py")
    assert "def Pong" in (project / "route_guide/servicer.py").read_text()


def test_an_edit_below_a_linked_template_directory_renders_every_service_again(tmp_path: Path) -> None:
    source = tmp_path / "src/shop.proto"
    source.parent.mkdir()
    source.write_text(
        'syntax = "proto3";\npackage shop;\nmessage Item { string name = 1; }\n'
        "service Store { rpc Get (Item) returns (Item) {} }\nservice Catalog { rpc Find (Item) returns (Item) {} }\n"
    )
    templates = tmp_path / "tpl"
    assert run_scaffold("templates", "export", templates).returncode == 0
    shared = tmp_path / "shared_tpl"
    shared.mkdir()
    (shared / "header.jinja").write_text("# shared header v1\n")
    (templates / "_inc").symlink_to(shared)
    servicer = templates / "__package__/services/__service__.py.jinja"
    servicer.write_text('{% include "_inc/header.jinja" %}\n' + servicer.read_text())
    done = run_scaffold("new", source, "-o", tmp_path / "p", "--templates", templates)
    assert done.returncode == 0, done.stderr
    project = tmp_path / "p"
    modules = sorted(m for m in (project / "shop/services").rglob("*.py") if m.name != "__init__.py")
    assert len(modules) == 2 and all(m.read_text().startswith("# shared header v1\n") for m in modules)
    _stamped(project)
    (shared / "header.jinja").write_text("# shared header v2\n")
    _stale_then_generated(project, modules[0].relative_to(project).as_posix())
    assert all(m.read_text().startswith("# shared header v2\n") for m in modules)


# Item 17: what only `breaking` reads changes nothing scaffold writes.


def test_adding_a_breaking_table_leaves_the_project_up_to_date(tmp_path: Path) -> None:
    project = _route_guide(tmp_path)
    _stamped(project)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.scaffold.breaking]\nagainst = "main"\ncategory = "WIRE"\n')
    before = tree(project)
    for command in ("check", "gen", "check"):
        done = run_scaffold(command, "-C", project, env=SETTLED)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    assert tree(project) == before


# Items 10 and 12: a manifest path in any form but the one scaffold writes is one located line; a cache of
# any shape is a cache to ignore.


@pytest.mark.parametrize(
    "bad",
    [
        "route_guide//servicer.py",
        "route_guide/./servicer.py",
        "route_guide/x\0y.py",
        "../outside.py",
        "/tmp/outside.py",
        "route_guide\\..\\x.py",
        "",
        ".scaffold/manifest.json",
    ],
)
def test_a_manifest_path_in_another_form_is_one_located_line_and_nothing_changes(tmp_path: Path, bad: str) -> None:
    project = _route_guide(tmp_path)
    manifest = project / ".scaffold/manifest.json"
    text = manifest.read_text()
    lines = text.splitlines(keepends=True)
    at = lines.index(' "files": {\n') + 1
    lines.insert(at, f'  {json.dumps(bad)}: {{"owner": "generated", "sha256": null}},\n')
    manifest.write_text("".join(lines))
    before = tree(project)
    for command in ("check", "gen", "diff"):
        done = run_scaffold(command, "-C", project)
        assert done.returncode == 2, (command, done.stderr)
        assert done.stderr.startswith(f"{manifest}:{at + 1}:3: file {bad!r} "), done.stderr
        assert done.stderr.endswith("; restore it from version control\n") and done.stderr.count("\n") == 1
        assert "Traceback" not in done.stderr
    assert tree(project) == before


CORRUPTIONS = {
    "a memo index with a string shard key": "memo_index({'a/b': 'x'})",
    "a memo shard of another shape": "shard([1, 2])",
    "a hashes entry of another shape": "hashes({os.path.abspath(PROTO): 5})",
    "the cache a regular file": "shutil.rmtree(CACHE); open(CACHE, 'w').write('x')",
}
CORRUPT = """
import marshal, os, shutil, sys
CACHE, PROTO = ".scaffold/cache", "protos/route_guide.proto"
def memo_index(ids):
    key, _ = marshal.loads(open(CACHE + "/memo/index", "rb").read())
    open(CACHE + "/memo/index", "wb").write(marshal.dumps((key, ids)))
def shard(found):
    key, ids = marshal.loads(open(CACHE + "/memo/index", "rb").read())
    number = sorted(ids)[0]
    open(f"{CACHE}/memo/{number:02d}", "wb").write(marshal.dumps((ids[number], found)))
def hashes(known):
    open(CACHE + "/hashes.marshal", "wb").write(marshal.dumps((1, known)))
exec(sys.argv[1])
"""


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_corrupt_cache_is_ignored_and_the_run_ends_as_with_an_intact_one(tmp_path: Path, corruption: str) -> None:
    project = _route_guide(tmp_path)
    reference = _route_guide(tmp_path, "reference")
    assert run_scaffold("check", "-C", project, env=SETTLED).returncode == 0  # a stamp and hashes to corrupt
    done = subprocess.run([sys.executable, "-c", CORRUPT, CORRUPTIONS[corruption]], cwd=project, check=False)
    assert done.returncode == 0
    for root in (project, reference):
        _touch_proto(root)
        done = run_scaffold("gen", "-C", root, env=SETTLED)
        assert done.returncode == 0, done.stderr
    assert tree(project) == tree(reference)
    assert run_scaffold("check", "-C", project, env=SETTLED).returncode == 0


# Item 17: with `.scaffold/` lost, the generators' own modules are taken back, not kept as the user's.

TWO_SERVICES = (
    'syntax = "proto3";\npackage shop;\nmessage Item {{ string name = 1;{field} }}\n'
    "service Store {{ rpc Get (Item) returns (Item) {{}}{more} }}\n"
    "service Catalog {{ rpc Find (Item) returns (Item) {{}} }}\n"
)


def test_after_the_record_is_lost_the_generators_modules_are_taken_back_without_backups(tmp_path: Path) -> None:
    source = tmp_path / "src/shop.proto"
    source.parent.mkdir()
    source.write_text(TWO_SERVICES.format(field="", more=""))
    assert run_scaffold("new", source, "-o", tmp_path / "p").returncode == 0
    project = tmp_path / "p"
    shutil.rmtree(project / ".scaffold")
    more = "\n  rpc Put (Item) returns (Item) {}"
    (project / "protos/shop.proto").write_text(TWO_SERVICES.format(field=" repeated int64 counts = 2;", more=more))
    done = run_scaffold("gen", "-C", project)
    assert done.returncode == 0, done.stderr
    for generated in ("shop_pb2.py", "shop_pb2.pyi", "shop_pb2_grpc.py", "shop_pb2_grpc.pyi"):
        assert f"update    shop/generated/{generated}\n" in done.stdout, done.stdout
    assert "not written by scaffold" not in done.stdout and "backup" not in done.stdout, done.stdout
    assert list(project.rglob("*.mine*")) == []
    assert run_scaffold("check", "-C", project).returncode == 0


def test_after_the_record_is_lost_a_module_of_the_users_at_a_generated_path_is_still_kept(tmp_path: Path) -> None:
    project = _route_guide(tmp_path)
    shutil.rmtree(project / ".scaffold")
    mine = project / "route_guide/generated/route_guide_pb2_grpc.py"
    mine.write_text("# my own stubs\nVALUE = 1\n")
    done = run_scaffold("gen", "-C", project)
    assert done.returncode == 0, done.stderr
    assert (project / "route_guide/generated/route_guide_pb2_grpc.py.mine").read_text() == "# my own stubs\nVALUE = 1\n"


POISON_PROTOC_RECORD = """
import marshal
CACHE = ".scaffold/cache/protoc"
key, ids = marshal.loads(open(CACHE + "/index", "rb").read())
for number, shard_id in ids.items():
    _, found = marshal.loads(open(f"{CACHE}/{number:02d}", "rb").read())
    for name, entry in found.items():
        entry[5]["route_guide//servicer.py"] = b"# not yours\\n"
        found[name] = entry
    open(f"{CACHE}/{number:02d}", "wb").write(marshal.dumps((shard_id, found)))
"""


def test_a_protoc_record_naming_an_output_by_an_alias_is_ignored(tmp_path: Path) -> None:
    project = _route_guide(tmp_path)
    reference = _route_guide(tmp_path, "reference")
    done = subprocess.run([sys.executable, "-c", POISON_PROTOC_RECORD], cwd=project, check=False)
    assert done.returncode == 0
    servicer = (project / "route_guide/servicer.py").read_bytes()
    for root in (project, reference):
        (root / "route_guide/generated/route_guide_pb2.py").unlink()  # a full run that reuses the record
        done = run_scaffold("gen", "-C", root)
        assert done.returncode == 0, done.stderr
    assert (project / "route_guide/servicer.py").read_bytes() == servicer
    assert tree(project) == tree(reference)


def test_breaking_and_describe_never_write_through_a_linked_cache(committed: Path, tmp_path: Path) -> None:
    outside = _outside(tmp_path)
    shutil.rmtree(committed / ".scaffold/cache")
    (committed / ".scaffold/cache").symlink_to(outside)
    done = run_scaffold("breaking", "--against", "HEAD", cwd=committed)
    assert done.returncode == 0, done.stderr
    assert run_scaffold("describe", "Point", "-C", committed).returncode == 0
    assert sorted(p.name for p in outside.iterdir()) == ["mine.txt"]
