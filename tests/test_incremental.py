"""Incremental generation: after an edit, protoc runs only for the protos
whose output can have changed, and the project is byte for byte what a clean
run writes."""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import shutil
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, run_scaffold, tree
from msgspec import structs
from test_real_protos import TREES

from scaffold import api
from scaffold.core.errors import ScaffoldError
from scaffold.generation import incremental, plan, protoc, staleness
from scaffold.layout import MANIFEST
from scaffold.record import shards

sys.path.insert(0, str(REPO / "bench"))
from trees import synthetic


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_only_edited_protos_and_those_that_see_them_are_compiled_and_output_equals_a_clean_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every stage's kept results in play (protoc's record, the memo of summaries, parsed servicers and
    renders, and every file's hash vouched for by its status), then compared with a clean `new`."""
    monkeypatch.setenv("SCAFFOLD_SETTLED_NS", "0")  # runs a moment apart keep hashes as runs a second apart do
    source = tmp_path / "src"
    protos = synthetic(source)
    # svc60 re-exports svc30, so svc61 and svc70 (which import svc60) see svc30 as well.
    _edit(
        source / "pkg6/svc60.proto",
        'import "pkg5/svc50.proto";',
        'import "pkg5/svc50.proto";\nimport public "pkg3/svc30.proto";',
    )
    project = tmp_path / "incremental"
    created = run_scaffold("new", *protos, "-I", source, "--name", "bench", "-o", project)
    assert created.returncode == 0, created.stderr
    assert api.regenerate(project).up_to_date  # hashes every file: the run below reads only what changed

    edited = project / "protos"
    # A message renamed (its importers' code changes), an RPC added, and a new proto reached only through an edit.
    for n in (30, 31, 40):
        _edit(edited / f"pkg{n // 10}/svc{n}.proto", "Item30", "Thing30")
    _edit(
        edited / "pkg3/svc30.proto",
        "service Service30 {",
        "service Service30 {\n  rpc Extra30(Thing30) returns (Summary30);",
    )
    extra = edited / "pkg5/extra.proto"
    extra.write_text('syntax = "proto3";\n\npackage pkg5;\n\nmessage Extra {\n  string note = 1;\n}\n')
    later = time.time() + 60
    os.utime(extra, (later, later))  # as if saved again while the run was going on
    _edit(edited / "pkg5/svc55.proto", "package pkg5;\n", 'package pkg5;\n\nimport "pkg5/extra.proto";\n')
    _edit(
        edited / "pkg5/svc55.proto", "service Service55 {", "service Service55 {\n  rpc Note55(Extra) returns (Item55);"
    )

    report = api.regenerate(project)

    assert sorted(report.compiled) == [
        "pkg3/svc30.proto",  # edited
        "pkg3/svc31.proto",  # edited (uses the renamed message) and imports svc30
        "pkg3/svc32.proto",  # imports svc31
        "pkg4/svc40.proto",  # edited (uses the renamed message) and imports svc30
        "pkg4/svc41.proto",  # imports svc40
        "pkg5/extra.proto",  # new
        "pkg5/svc50.proto",  # imports svc40
        "pkg5/svc55.proto",  # edited
        "pkg5/svc56.proto",  # imports svc55
        "pkg6/svc60.proto",  # imports svc30 (publicly)
        "pkg6/svc61.proto",  # sees svc30 through svc60's public import
        "pkg7/svc70.proto",  # likewise
    ]
    assert report.protos == 101  # svc33 and the other 88 came from the record
    assert report.written and not report.plan.conflicts

    clean_source = tmp_path / "clean-src"
    shutil.copytree(edited, clean_source)
    clean = tmp_path / "clean"
    inputs = [clean_source / p.relative_to(source) for p in protos]
    created = run_scaffold("new", *inputs, "-I", clean_source, "--name", "bench", "-o", clean)
    assert created.returncode == 0, created.stderr
    incremental_tree, clean_tree = tree(project), tree(clean)
    assert sorted(incremental_tree) == sorted(clean_tree)
    assert [path for path in clean_tree if incremental_tree[path] != clean_tree[path]] == []

    # A proto first met in a run is recorded only if it was saved before the run began, so
    # an edit racing protoc is compiled again next time instead of being taken as done.
    assert "pkg5/extra.proto" not in (incremental.load(project, "bench/generated") or {})
    os.utime(extra, (later - 3600, later - 3600))
    again = api.regenerate(project)
    assert again.compiled == ("pkg5/extra.proto", "pkg5/svc55.proto") and again.up_to_date
    assert api.regenerate(project).compiled == ()
    full = run_scaffold("-v", "gen", "--full", "-C", project)
    assert full.returncode == 0, full.stderr
    assert "protoc compiled all 101 protos" in full.stdout
    assert full.stdout.rstrip().splitlines()[-1].startswith("Up to date")


def test_a_proto_compiled_to_the_declarations_it_had_leaves_its_importers_alone_and_the_output_that_of_a_clean_run(
    tmp_path: Path,
) -> None:
    """Early cutoff: an edited proto is compiled alone first; its importers are compiled again only where
    its descriptor, source info aside, changed. Each step ends byte for byte where a clean `new` does, and an
    error is reported as a run compiling the importers too reports it."""
    source = tmp_path / "src"
    protos = synthetic(source)
    project = tmp_path / "p"
    assert run_scaffold("new", *protos, "-I", source, "--name", "bench", "-o", project).returncode == 0
    edited = project / "protos/pkg3/svc30.proto"  # imported by svc31 and svc40

    def as_clean_new() -> None:
        clean_source = tmp_path / "clean-src"
        shutil.rmtree(clean_source, ignore_errors=True)
        shutil.copytree(project / "protos", clean_source)
        clean = tmp_path / "clean"
        shutil.rmtree(clean, ignore_errors=True)
        inputs = [clean_source / p.relative_to(source) for p in protos]
        created = run_scaffold("new", *inputs, "-I", clean_source, "--name", "bench", "-o", clean)
        assert created.returncode == 0, created.stderr
        assert tree(project) == tree(clean)

    # Comments (an RPC's, which its servicer's docstring shows, and a message's) and layout only.
    _edit(edited, "does its work", "does its work with care")
    _edit(edited, "message Item30 {", "// An item, with a comment now.\nmessage   Item30\n{")
    report = api.regenerate(project)
    assert report.compiled == ("pkg3/svc30.proto",) and report.written
    as_clean_new()

    # A declaration its importers do not even use: they are compiled again all the same.
    _edit(edited, "int64 value = 2;", "int64 value = 2;\n  string note = 4;")
    report = api.regenerate(project)
    assert report.compiled == ("pkg3/svc30.proto", "pkg3/svc31.proto", "pkg4/svc40.proto") and report.written
    as_clean_new()

    # An option is a declaration too; a comment again, in a proto others import publicly.
    _edit(edited, "string note = 4;", "string note = 4 [deprecated = true];")
    _edit(project / "protos/pkg3/svc31.proto", 'import "pkg3/svc30.proto";', 'import public "pkg3/svc30.proto";')
    report = api.regenerate(project)
    assert set(report.compiled) == {"pkg3/svc30.proto", "pkg3/svc31.proto", "pkg3/svc32.proto", "pkg4/svc40.proto"}
    _edit(edited, "with care", "with great care")
    assert api.regenerate(project).compiled == ("pkg3/svc30.proto",)
    as_clean_new()

    # Broken: the error a run compiling the importers with the edited protos reports (protoc stops at the
    # first file that fails: here an importer of the renamed message, before the other edited proto), and
    # nothing written.
    before = tree(project)
    _edit(edited, "message Summary30 {", "message Summary30 {\n  Missing30 gone = 9;")
    failed = run_scaffold("gen", "-C", project)
    assert failed.returncode == 2 and failed.stderr.count("\n") == 1
    assert 'svc30.proto:17:3: "Missing30" is not defined.' in failed.stderr, failed.stderr
    _edit(edited, "  Missing30 gone = 9;\n", "")
    _edit(edited, "Item30", "Thing30")
    _edit(project / "protos/pkg7/svc77.proto", "int32 count = 1;", "Unknown77 count = 1;")
    failed = run_scaffold("gen", "-C", project)
    assert failed.returncode == 2 and failed.stderr.count("\n") == 1
    assert 'svc31.proto:10:3: "pkg3.Item30" is not defined.' in failed.stderr, failed.stderr
    assert tree(project) == {**before, **{path: (project / path).read_bytes() for path in before if "protos/" in path}}


@pytest.mark.parametrize("name", TREES)
def test_an_incremental_run_equals_a_full_one_on_real_trees(name: str) -> None:
    """The reused descriptors come back in protoc's own order, and outputs and warnings are the full run's."""
    include_dirs: list[Path] = []
    paths: list[Path] = []
    arguments = iter(TREES[name]())
    for argument in arguments:
        if argument == "-I":
            include_dirs.append(Path(next(arguments)))
        else:
            paths.append(Path(argument))
    files, include_dirs = protoc.expand_directories(paths, include_dirs)
    inputs = protoc.resolve_inputs(files, include_dirs)
    full = protoc.run(inputs, include_dirs)
    first, record = incremental.run(inputs, include_dirs, None)
    assert first == full
    assert sorted(record) == sorted(f.name for f in full.descriptors.file)

    forgotten = full.generated_names[-1]  # as if it had just been edited
    partial, _ = incremental.run(inputs, include_dirs, {n: c for n, c in record.items() if n != forgotten})
    assert forgotten in partial.compiled and len(partial.compiled) < len(full.generated_names)
    unchanged, again = incremental.run(inputs, include_dirs, record)
    assert unchanged.compiled == () and again == record
    for result in (partial, unchanged):
        assert [f.name for f in result.descriptors.file] == [f.name for f in full.descriptors.file]
        assert result.descriptors == full.descriptors
        assert result.outputs == full.outputs
        assert result.generated_names == full.generated_names
        assert set(result.warnings) == set(full.warnings)
    for result in (first, partial, unchanged):  # reused outputs' hashes come from the record, the others' are taken
        assert result.digests == {path: hashlib.sha256(content).hexdigest() for path, content in result.outputs.items()}


@pytest.mark.parametrize("relative", [False, True])
def test_the_warnings_about_a_proto_only_imported_are_kept_with_it_and_said_again_when_it_is_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, relative: bool
) -> None:
    """protoc names a proto it only imports by the path it read it from, not by its name: the record keeps
    such a warning with that proto, so a run that reuses it says it as a full run does."""
    monkeypatch.chdir(tmp_path)
    root = Path(".") if relative else tmp_path
    texts = {
        "a.proto": 'syntax = "proto3";\npackage a;\nimport "google/protobuf/empty.proto";\nmessage A {}\n',
        "b.proto": 'syntax = "proto3";\npackage b;\nimport "a.proto";\nmessage B { a.A a = 1; }\n',
        "c.proto": 'syntax = "proto3";\npackage c;\nmessage C {}\n',
    }
    settled = time.time() - 10
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
        os.utime(tmp_path / name, (settled, settled))
    inputs = protoc.resolve_inputs([root / "b.proto", root / "c.proto"], [root])
    _, record = incremental.run(inputs, [root], None)
    assert [w.message for w in record["a.proto"].warnings] == ["Import google/protobuf/empty.proto is unused."]
    (tmp_path / "c.proto").write_text(texts["c.proto"] + "message D {}\n")
    os.utime(tmp_path / "c.proto", (settled, settled))
    result, record = incremental.run(inputs, [root], record)
    assert result.compiled == ("c.proto",)
    assert result.warnings == protoc.run(inputs, [root]).warnings
    assert len(result.warnings) == 1
    (tmp_path / "a.proto").write_text(texts["a.proto"] + "// a comment\n")  # the same warning: b stays as it was
    os.utime(tmp_path / "a.proto", (settled, settled))
    result, _ = incremental.run(inputs, [root], record)
    assert result.compiled == ("a.proto",)
    assert result.warnings == protoc.run(inputs, [root]).warnings


def test_a_name_an_installed_proto_comes_to_declare_is_refused_as_a_full_run_refuses_it(tmp_path: Path) -> None:
    """An installed proto is never compiled, only read as an import: a distribution upgraded to declare a
    name a proto of the project declares too is refused, by protoc's own words, as a full run refuses it."""
    installed, project = tmp_path / "site", tmp_path / "src"
    (installed / "ext").mkdir(parents=True)
    project.mkdir()
    settled = time.time() - 10
    texts = {
        installed / "ext/x.proto": 'syntax = "proto3";\npackage ext;\nmessage X {}\n',
        project / "a.proto": 'syntax = "proto3";\npackage a;\nimport "ext/x.proto";\nmessage A { ext.X x = 1; }\n',
        project / "b.proto": 'syntax = "proto3";\npackage ext;\nmessage Foo {}\n',
    }
    for path, text in texts.items():
        path.write_text(text)
        os.utime(path, (settled, settled))
    provided = frozenset({"ext/x.proto"})
    inputs = protoc.resolve_inputs(sorted(project.glob("*.proto")), [project])
    _, record = incremental.run(inputs, [project, installed], None, provided=provided)
    (installed / "ext/x.proto").write_text(texts[installed / "ext/x.proto"] + "message Foo {}\n")
    os.utime(installed / "ext/x.proto", (settled, settled))
    with pytest.raises(ScaffoldError) as full:
        incremental.run(inputs, [project, installed], None, provided=provided)
    with pytest.raises(ScaffoldError) as partial:
        incremental.run(inputs, [project, installed], record, provided=provided)
    assert partial.value.diagnostics == full.value.diagnostics
    assert '"ext.Foo" is already defined in file "ext/x.proto"' in str(full.value)


def _same_size_same_time(path: Path, old: str, new: str) -> None:
    """Edit `path` keeping its size and modification time: only the status change time tells."""
    assert len(old) == len(new)
    status = path.stat()
    _edit(path, old, new)
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert path.stat().st_size == status.st_size and path.stat().st_mtime_ns == status.st_mtime_ns


def test_files_whose_status_vouches_for_their_hash_are_not_read_and_every_edit_is_still_seen(tmp_path: Path) -> None:
    """scaffold.record.hashes: with every hash kept (the seam makes runs a moment apart behave like runs a second
    apart), edits that keep a file's size and modification time (a proto, a generated module, the user's
    servicer) are each seen, and the tree is what a run with no cache at all makes of the same files."""
    settled = {"SCAFFOLD_SETTLED_NS": "0"}
    project = tmp_path / "p"
    assert run_scaffold("new", REPO / "protos/route_guide.proto", "-o", project, env=settled).returncode == 0
    for _ in range(2):  # the first run hashes what `new` wrote; the second answers from status alone
        assert run_scaffold("gen", "-C", project, env=settled).returncode == 0
    assert (project / ".scaffold/cache/hashes.marshal").is_file()

    _same_size_same_time(project / "protos/route_guide.proto", "rpc GetFeature(", "rpc GetFeaturX(")
    generated = project / "route_guide/generated/route_guide_pb2_grpc.py"
    _same_size_same_time(generated, "import grpc", "import grpX")
    servicer = project / "route_guide/servicer.py"
    _same_size_same_time(servicer, "context.abort(", "context.abor_(")
    twin = tmp_path / "twin"
    shutil.copytree(project, twin)
    shutil.rmtree(twin / ".scaffold/cache")  # no hash, no record, no memo: every file read

    vouched = run_scaffold("-v", "gen", "-C", project, env=settled)
    read = run_scaffold("-v", "gen", "-C", twin, env=settled)
    assert vouched.returncode == read.returncode == 0, vouched.stderr + read.stderr
    assert "protoc compiled the project's one proto" in vouched.stdout
    assert "route_guide/generated/route_guide_pb2_grpc.py" in vouched.stdout  # rewritten, the hand edit kept aside
    assert b"context.abor_(" in servicer.read_bytes() and b"def GetFeaturX" in servicer.read_bytes()
    assert tree(project) == {path: content for path, content in tree(twin).items()}


@pytest.mark.parametrize("written", ["the first body", "the first shard, its body before it"])
def test_a_run_killed_between_the_records_shards_and_its_index_leaves_a_record_the_next_run_can_trust(
    tmp_path: Path, written: str
) -> None:
    """Killed after the first of the shards it rewrites, or between that shard's body (its protos'
    descriptors and outputs, written first) and the shard: that shard is not of the write the index
    names, so its protos are compiled again (an entry newer than the others it was made with, or one
    with another's outputs, is never trusted), and the tree is what an uninterrupted run makes."""
    source = tmp_path / "src"
    protos = synthetic(source)
    project = tmp_path / "p"
    assert run_scaffold("new", *protos, "-I", source, "--name", "bench", "-o", project).returncode == 0
    for n in (30, 31, 40):  # svc30 and the protos that see it: several shards change
        _edit(project / f"protos/pkg{n // 10}/svc{n}.proto", "Item30", "Thing30")
    # Every proto saved a while ago, as they usually are: one saved in the second before a run is left out of the
    # record it makes (file times are coarse), and compiled once more by the next, which is not this test's point.
    settled = time.time_ns() - 3 * incremental._SETTLED_NS
    for proto in (project / "protos").rglob("*.proto"):
        os.utime(proto, ns=(settled, settled))
    uninterrupted = tmp_path / "uninterrupted"
    shutil.copytree(project, uninterrupted)
    assert run_scaffold("gen", "-C", uninterrupted).returncode == 0

    hooks = tmp_path / "hooks"
    hooks.mkdir()
    killed_at = tmp_path / "written"
    body = written == "the first body"
    (hooks / "seam_hook.py").write_text(
        "import os\n\ndef hook(moment, path):\n"
        f"    if moment == 'shard-written' and path.startswith('protoc/') and path.endswith('.body') == {body}:\n"
        f"        open({str(killed_at)!r}, 'w').write(path)\n"
        "        os._exit(137)\n"
    )
    killed = run_scaffold("gen", "-C", project, env={"SCAFFOLD_SEAM": "seam_hook:hook", "PYTHONPATH": str(hooks)})
    assert killed.returncode == 137, killed.stderr
    cache = project / ".scaffold/cache"
    shard_path = killed_at.read_text().removesuffix(".body")
    shard_id, shard = marshal.loads((cache / shard_path).read_bytes())
    _, index = marshal.loads((cache / "protoc/index").read_bytes())
    body_id = (cache / f"{shard_path}.body").read_bytes().partition(b"\n")[0].decode()
    named = index[int(shard_path.rpartition("/")[2])]
    # Killed at the body: the shard is the one the index names, only its body is not; else neither is.
    assert (shard_id == named) == body and body_id != named
    record = incremental.load(project, "bench/generated")
    assert shard and record is not None and len(record) == 100 - len(shard)
    assert not set(shard) & set(record)  # the new shard's entries are left out, the others are the old ones
    after = run_scaffold("-v", "gen", "-C", project)
    assert after.returncode == 0, after.stderr
    assert tree(project) == tree(uninterrupted)
    assert "protoc compiled no proto: none changed" in run_scaffold("-v", "gen", "-C", project).stdout


def test_a_change_hashes_only_the_outputs_protoc_made_now_and_a_record_whose_hashes_do_not_match_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outputs a run reuses come with their hashes from protoc's record, so classifying them hashes
    nothing (147 MB on googleapis); an entry whose hashes do not name its outputs is compiled again."""
    source = tmp_path / "src"
    protos = synthetic(source)
    project = tmp_path / "p"
    assert run_scaffold("new", *protos, "-I", source, "--name", "bench", "-o", project).returncode == 0
    record = incremental.load(project, "bench/generated")
    assert record is not None
    reused = {
        content for name, entry in record.items() if name != "pkg4/svc44.proto" for content in entry.outputs.values()
    }
    hashed: list[bytes] = []

    def counted(content: bytes) -> str:
        hashed.append(content)
        return hashlib.sha256(content).hexdigest()

    monkeypatch.setattr(plan, "sha256", counted)
    _edit(project / "protos/pkg4/svc44.proto", "does its work", "does its work well")
    report = api.regenerate(project)
    assert report.compiled == ("pkg4/svc44.proto",) and report.written  # a comment: its importer is not compiled
    assert hashed and not reused & set(hashed)  # the renders and svc44's outputs only

    record = incremental.load(project, "bench/generated")
    assert record is not None
    entry = record["pkg3/svc33.proto"]
    wrong = {path: hashlib.sha256(b"other bytes").hexdigest() for path in entry.outputs}
    first = next(iter(wrong))
    for digests in (
        {},
        wrong | {"bench/generated/pkg3/extra_pb2.py": "0" * 64},
        *(dict(wrong, **{first: odd}) for odd in (7, "-" * 64, "g" * 64, "A" * 64)),
    ):
        record["pkg3/svc33.proto"] = structs.replace(entry, digests=digests)
        incremental.save(project, record, "bench/generated")
        assert "pkg3/svc33.proto" not in (incremental.load(project, "bench/generated") or {})
        record = incremental.Record(record)
    malformed = [{"declared": odd} for odd in ((7, ()), ("pkg3", ["pkg3.M"]), ("pkg3", ("pkg3.M", 7)), ("pkg3",))]
    malformed += [{field: odd} for field in ("dependencies", "public") for odd in (5, ("pkg3/svc33.proto", 7))]
    for fields in malformed:  # what it declares and imports, too
        record["pkg3/svc33.proto"] = structs.replace(entry, **fields)
        incremental.save(project, record, "bench/generated")
        assert "pkg3/svc33.proto" not in (incremental.load(project, "bench/generated") or {})
        record = incremental.Record(record)
    settled = time.time_ns() - 3 * incremental._SETTLED_NS  # saved a while ago: recorded when compiled again
    for proto in (project / "protos").rglob("*.proto"):
        os.utime(proto, ns=(settled, settled))
    # The malformed entry's shard is left out whole: its protos and each that imports one are compiled again
    left_out = {
        n for n in range(100) if f"pkg{n // 10}/svc{n}.proto" not in incremental.load(project, "bench/generated")
    }
    importers = {n + 1 for n in left_out if (n + 1) % 10} | {n + 10 for n in left_out if n % 10 == 0 and n < 90}
    before = tree(project)
    again = api.regenerate(project)
    assert 33 in left_out and len(left_out) < 50
    assert set(again.compiled) == {f"pkg{n // 10}/svc{n}.proto" for n in left_out | importers}
    assert not again.written and again.up_to_date
    assert tree(project) == before

    # Well-formed hashes of other bytes (a flipped digit): unlike the files' own, they are not taken on trust, and
    # the manifest records the files' true hashes.
    record = incremental.load(project, "bench/generated")
    assert record is not None
    record["pkg3/svc33.proto"] = structs.replace(record["pkg3/svc33.proto"], digests=wrong)
    incremental.save(project, record, "bench/generated")
    _edit(project / "protos/pkg3/svc34.proto", "does its work", "does its work well")
    assert api.regenerate(project).written
    manifest = json.loads((project / MANIFEST).read_text())["files"]
    for path in wrong:
        assert manifest[path]["sha256"] == hashlib.sha256((project / path).read_bytes()).hexdigest()
    assert run_scaffold("check", "-C", project).returncode == 0


def test_a_run_collects_garbage_less_often_and_leaves_the_collector_as_it_found_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While `gen` or `new` runs, the youngest generation is collected after 100,000 allocations rather than
    700 (`scaffold.core.collection`: 0.45 s of googleapis' 3.5 s leaf change); after it, the process's own
    thresholds are back, whether the run ended well or not."""
    import gc

    from scaffold.core import collection
    from scaffold.core.errors import ScaffoldError
    from scaffold.generation import pipeline, uptodate

    project = tmp_path / "p"
    assert run_scaffold("new", REPO / "protos/helloworld.proto", "-o", project).returncode == 0
    seen: list[tuple[int, int, int]] = []
    real = pipeline.plan

    def watched(*args: object, **kwargs: object) -> object:
        seen.append(gc.get_threshold())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "plan", watched)
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 7, 9)
        api.regenerate(project)
        assert gc.get_threshold() == (700, 7, 9)
        assert uptodate.check_and_stamp(project) and gc.get_threshold() == (700, 7, 9)  # the no-op path's check
        (project / "pyproject.toml").write_text("[tool.scaffold\n")
        with pytest.raises(ScaffoldError):
            api.regenerate(project)
        assert gc.get_threshold() == (700, 7, 9)
        made = api.new_project([REPO / "protos/helloworld.proto"], output=tmp_path / "q")
        assert made.root == tmp_path / "q" and gc.get_threshold() == (700, 7, 9)
        gc.set_threshold(0, 7, 9)  # automatic collection turned off by the process: it stays off
        api.regenerate(tmp_path / "q")
        assert gc.get_threshold() == (0, 7, 9)
    finally:
        gc.set_threshold(*before)
    assert seen == [(collection.YOUNGEST, 7, 9)] * 2 + [(0, 7, 9)]


def test_runs_that_overlap_in_two_threads_leave_the_collector_as_it_was() -> None:
    """Two runs in two threads, the first ending before the second: the thresholds stay raised until the
    last one ends, then are the process's own again (each run putting back what it found would leave
    them raised for good)."""
    import gc

    from scaffold.core import collection

    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        first, second = collection.fewer_collections(), collection.fewer_collections()
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)
        assert gc.get_threshold() == (collection.YOUNGEST, 10, 10)
        second.__exit__(None, None, None)
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*before)


def test_a_change_reads_the_records_bodies_only_of_the_shards_it_rewrites_and_a_broken_body_costs_a_full_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """protoc's record keeps each proto's descriptor and outputs (most of its bytes) apart from the rest,
    read only where a stage asks for them: a change reads the bodies of the shards it rewrites, no more. A
    body broken all the same (a disk's fault, a crafted cache), found while planning or while saving the
    record, costs a run that compiles every proto: never a failed run, a wrong file or a record trusted."""
    source = tmp_path / "src"
    protos = synthetic(source)
    project = tmp_path / "p"
    assert run_scaffold("new", *protos, "-I", source, "--name", "bench", "-o", project).returncode == 0
    cache = project / ".scaffold/cache"

    def index() -> dict[int, str]:
        return dict(marshal.loads((cache / "protoc/index").read_bytes())[1])

    read: list[str] = []
    real = shards.Bodies._load

    def counted(self: shards.Bodies) -> dict[str, object]:
        read.append(self._path)
        return real(self)

    monkeypatch.setattr(shards.Bodies, "_load", counted)
    before = index()
    _edit(project / "protos/pkg4/svc44.proto", "does its work", "does its work well")
    report = api.regenerate(project)
    assert report.compiled == ("pkg4/svc44.proto",) and report.written  # a comment: its importer is not compiled
    after = index()
    rewritten = {f"protoc/{shard:02d}.body" for shard, shard_id in after.items() if before.get(shard) != shard_id}
    assert 0 < len(rewritten) <= 2 and set(read) <= rewritten and len(read) == len(set(read))
    good = tree(project)

    # Broken where the plan needs it: a generated module deleted, whose bytes the record's body holds. (The
    # protos saved a while ago, as usual: the full run records them all, see the test above.)
    settled = time.time_ns() - 3 * incremental._SETTLED_NS
    for proto in (project / "protos").rglob("*.proto"):
        os.utime(proto, ns=(settled, settled))
    name = "pkg3/svc33.proto"
    body = next(
        b for b in (cache / "protoc").glob("*.body") if name in marshal.loads(b.read_bytes().partition(b"\n")[2])
    )
    kept = body.read_bytes()
    body.write_bytes(kept.partition(b"\n")[0] + b"\nnot what marshal wrote")
    (project / "bench/generated/pkg3/svc33_pb2.py").unlink()
    again = run_scaffold("-v", "gen", "-C", project)
    assert again.returncode == 0, again.stderr
    assert "protoc compiled all 100 protos" in again.stdout
    assert tree(project) == good
    assert run_scaffold("check", "-C", project).returncode == 0

    # Broken where only saving the record needs it (a shard to write again): the record is dropped whole.
    record = incremental.load(project, "bench/generated", lazy=True)
    assert record is not None and len(record) == 100
    body.write_bytes(body.read_bytes().partition(b"\n")[0] + b"\nnot what marshal wrote")
    incremental.save(project, incremental.Record(record), "bench/generated")  # every shard written again
    assert incremental.load(project, "bench/generated") is None
    assert "protoc compiled all 100 protos" in run_scaffold("-v", "gen", "-C", project).stdout
    assert tree(project) == good


def test_the_protos_that_see_a_change_are_found_backwards_as_each_protos_own_view_would_find_them() -> None:
    """`staleness.seeing_a_change` walks back from the changed protos; on random import graphs (public imports,
    chains of them, protos outside `order`, changed ones re-exported, a crafted record's public import
    that is no import, cycles) it finds exactly the protos whose
    own view (their imports and, through them, what those import publicly) holds a changed one, or, for one
    that can set custom options (descriptor.proto is in its import closure), whose closure holds one."""
    import random

    def walked(name: str, dependencies: dict[str, list[str]], onward: dict[str, list[str]]) -> set[str]:
        """`name`'s imports and, from each, what `onward` leads to, transitively."""
        seen: set[str] = set()
        pending = list(dependencies.get(name, ()))
        while pending:
            dependency = pending.pop()
            if dependency not in seen:
                seen.add(dependency)
                pending += onward.get(dependency, ())
        return seen

    descriptor = "google/protobuf/descriptor.proto"
    for seed in range(300):
        chance = random.Random(seed)
        names = [f"p{i}.proto" for i in range(chance.randint(1, 30))]
        names[0] = descriptor if chance.random() < 0.7 else names[0]
        dependencies = {n: chance.sample(names[:i], chance.randint(0, min(i, 4))) for i, n in enumerate(names)}
        public = {n: [d for d in deps if chance.random() < 0.4] for n, deps in dependencies.items()}
        for n in chance.sample(names, len(names) // 10):  # a record's public import that is no import of it
            public[n].append(chance.choice(names))
        unchanged = {n for n in names if chance.random() < 0.85}
        order = [n for n in names if chance.random() < 0.8]
        found = staleness.seeing_a_change(
            order,
            unchanged,
            lambda n, imports=dependencies: imports.get(n, []),
            lambda n, shown=public: shown.get(n, []),
        )
        for name in order:
            seen, closure = walked(name, dependencies, public), walked(name, dependencies, dependencies)
            reached = descriptor in closure and not closure <= unchanged  # it can set options: all it imports
            assert (name in found) == (not seen <= unchanged or reached), (seed, name)


def test_a_cache_is_kept_in_as_many_shards_as_its_entries_need_and_no_file_is_left_that_no_index_names(
    tmp_path: Path,
) -> None:
    """A small project's cache is one shard, not one file per entry (route_guide's `new` made 37 memo files); a
    grown one spreads over more, up to `SHARDS`; when it shrinks, or was kept by a version with other shards,
    the files its index no longer names go, and every entry still loads."""
    folder = tmp_path / ".scaffold/cache/memo"

    def kept(count: int, stored: shards.Stored) -> shards.Stored:
        entries = {f"key{n}": n for n in range(count)}
        shards.save(tmp_path, "memo", "k", entries, stored)
        loaded = shards.load(tmp_path, "memo", "k")
        assert loaded is not None and loaded[0] == entries
        return loaded[1]

    (folder).mkdir(parents=True)
    for leftover in ("05", "63", "63.body"):  # an older version's shards, no index names them
        (folder / leftover).write_bytes(b"x")
    (folder / "notes").write_bytes(b"not a shard")
    (folder / "²³").write_bytes(b"digits, not a shard's")
    stored = kept(10, {})
    assert sorted(p.name for p in folder.iterdir()) == ["00", "index", "notes", "²³"]
    stored = kept(40 * shards.PER_SHARD, stored)
    assert len(list(folder.iterdir())) == 40 + 3
    stored = kept(500 * shards.PER_SHARD, stored)
    assert len(list(folder.iterdir())) == shards.SHARDS + 3
    kept(shards.PER_SHARD, stored)
    assert sorted(p.name for p in folder.iterdir()) == ["00", "index", "notes", "²³"]


class _Lazy:
    """An entry whose body is read when first asked for, as protoc's record's entries are."""

    def __init__(self, head: int, fetch: object) -> None:
        self.head, self._fetch, self._body = head, fetch, None

    def body(self) -> object:
        if self._body is None:
            self._body = self._fetch(lambda found: found)  # type: ignore[operator]
        return self._body


@pytest.mark.parametrize("counts", [(20, 40, 12), (40, 36, 44), (64, 8, 64)])
def test_a_record_whose_count_of_shards_changes_keeps_every_body_it_had_not_read(
    tmp_path: Path, counts: tuple[int, ...]
) -> None:
    """A project that gains or loses protos across a count of shards moves entries to other files: a body not
    yet read must not be in a file the same write replaced first (the record was dropped, every proto compiled)."""
    stored: shards.Stored = {}
    entries: dict[str, _Lazy] = {}
    for count in counts:
        entries = {
            f"p{n}.proto": entries.get(f"p{n}.proto") or _Lazy(n, lambda check, n=n: check(f"body {n}"))
            for n in range(count)
        }
        shards.save(tmp_path, "protoc", "k", entries, stored, lambda e: e.head, lambda e: e.body(), per_shard=4)
        loaded = shards.load(tmp_path, "protoc", "k", lambda head, reader: _Lazy(head, reader), bodies=True)
        assert loaded is not None
        entries, stored = loaded
        assert sorted(e.head for e in entries.values()) == list(range(count))
    assert {key: e.body() for key, e in entries.items()} == {f"p{n}.proto": f"body {n}" for n in range(counts[-1])}


class _Killed(BaseException):
    """A run stopped where a kill would stop it: nothing after the moment runs."""


@pytest.mark.parametrize("killed_at", [1, 2, 7, 20, "the index", "a leftover's removal"])
def test_a_save_killed_while_the_count_of_shards_changes_loads_entries_of_one_write_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, killed_at: int | str
) -> None:
    """A save that spreads 20 entries over 5 shards into 40 over 10, killed after any of its 20 files, after
    its index or while taking away what the index no longer names: what loads is some of the first write's
    entries (the shards it had not yet replaced) or all of the second's, each with its own body; the next save
    leaves every entry and only the files its index names."""

    def written(version: int, count: int) -> dict[str, _Lazy]:
        return {
            f"p{n}.proto": _Lazy((n, version), lambda check, n=n: check(f"body {n} v{version}")) for n in range(count)
        }

    def save(entries: dict[str, _Lazy], stored: shards.Stored) -> None:
        shards.save(tmp_path, "protoc", "k", entries, stored, lambda e: e.head, lambda e: e.body(), per_shard=4)

    def load() -> tuple[dict[str, _Lazy], shards.Stored]:
        loaded = shards.load(tmp_path, "protoc", "k", lambda head, reader: _Lazy(head, reader), bodies=True)
        assert loaded is not None
        return loaded

    save(written(1, 20), {})
    _, stored = load()
    moments = []

    def moment(name: str, path: str = "") -> None:
        moments.append(name)
        if moments.count(shards.seams.SHARD_WRITTEN) == killed_at:
            raise _Killed

    real_write, real_remove = shards.cache.write, shards.cache.remove

    def write(root: Path, name: str, content: bytes) -> None:
        real_write(root, name, content)
        if killed_at == "the index" and name.endswith(shards.INDEX):
            raise _Killed

    def remove(root: Path, name: str) -> None:
        if killed_at == "a leftover's removal":
            raise _Killed
        real_remove(root, name)

    with monkeypatch.context() as patched:
        patched.setattr(shards.seams, "at", moment)
        patched.setattr(shards.cache, "write", write)
        patched.setattr(shards.cache, "remove", remove)
        with pytest.raises(_Killed):
            save(written(2, 40), stored)
            if killed_at == "a leftover's removal":  # 40 entries over 10 shards leave nothing to remove: fewer
                save(written(3, 8), load()[1])

    entries, stored = load()
    versions = {e.head[1] for e in entries.values()}
    assert len(versions) <= 1, versions
    assert all(e.body() == f"body {e.head[0]} v{e.head[1]}" for e in entries.values())
    if killed_at in (1, 2, 7, 20):
        assert versions <= {1} and len(entries) < 20  # the shards it replaced are left out, never mixed
    save(written(4, 40), stored)
    entries, _ = load()
    assert {key: e.body() for key, e in entries.items()} == {f"p{n}.proto": f"body {n} v4" for n in range(40)}
    named = {f"{shard:02d}{suffix}" for shard in range(10) for suffix in ("", ".body")}
    assert {p.name for p in (tmp_path / ".scaffold/cache/protoc").iterdir()} == {*named, "index"}
