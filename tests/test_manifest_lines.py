"""The manifest's lines are written again as they are where their entries did not change, and only from a
manifest this version wrote (`scaffold.record.written`): an incremental run still writes the bytes a
clean render of the same record writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO, run_scaffold

from scaffold import api
from scaffold.layout import CACHE_DIR, MANIFEST
from scaffold.record import state, written

HELLO = REPO / "protos/helloworld.proto"
ROUTE = REPO / "examples/route_guide/protos/route_guide.proto"


def _made(tmp_path: Path) -> Path:
    project = tmp_path / "p"
    made = run_scaffold("new", HELLO, ROUTE, "-o", project, "--name", "shop", "--layout", "per-service")
    assert made.returncode == 0, made.stderr
    return project


def _counting(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many service records and file entries the runs after this format anew."""
    counts = {"services": 0, "files": 0}
    record, entry = state.service_record, state._file_entry

    def counted_record(service: object) -> object:
        counts["services"] += 1
        return record(service)  # type: ignore[arg-type]

    def counted_entry(owner: str | None, digest: str | None) -> str:
        counts["files"] += 1
        return entry(owner, digest)

    monkeypatch.setattr(state, "service_record", counted_record)
    monkeypatch.setattr(state, "_file_entry", counted_entry)
    return counts


def _rendered_anew(project: Path) -> bytes:
    """The manifest a run plans with no line to take again (the kept hash gone)."""
    (project / CACHE_DIR / written.NAME).unlink(missing_ok=True)
    return api.regenerate(project, dry_run=True).plan.state[MANIFEST]


def test_an_rpc_added_formats_its_own_lines_and_the_manifest_is_the_one_a_clean_render_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _made(tmp_path)
    counts = _counting(monkeypatch)
    proto = project / "protos/helloworld.proto"
    proto.write_text(
        proto.read_text().replace("  rpc SayHello ", "  rpc Wave (HelloRequest) returns (HelloReply);\n  rpc SayHello ")
    )
    assert api.regenerate(project).written
    files = len(state.read(project).files)  # type: ignore[union-attr]
    # Greeter's record changed, RouteGuide's did not; a handful of files changed, of dozens.
    assert counts["services"] == 1
    assert 0 < counts["files"] < files / 2
    assert (project / MANIFEST).read_bytes() == _rendered_anew(project)
    assert run_scaffold("check", "-C", project).returncode == 0


@pytest.mark.parametrize(
    "edit",
    [
        ('{"owner": "generated", "sha256": ', '{"owner":"generated", "sha256": '),  # a file entry respaced
        ('{"name": "RouteGuide", ', '{"name":  "RouteGuide", '),  # a service record respaced
    ],
    ids=["file entry", "service record"],
)
def test_a_manifest_edited_by_hand_is_written_again_as_scaffold_writes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: tuple[str, str]
) -> None:
    """An edit that keeps what the manifest says but not its bytes: none of its lines is taken again (the
    kept hash is not the manifest's), so the next run writes every line as a clean render does."""
    project = _made(tmp_path)
    manifest = project / MANIFEST
    text = manifest.read_text()
    assert edit[0] in text
    manifest.write_text(text.replace(edit[0], edit[1], 1))
    counts = _counting(monkeypatch)
    proto = project / "protos/helloworld.proto"
    proto.write_text(proto.read_text() + "// A comment: nothing a template or the manifest reads.\n")
    api.regenerate(project)
    assert counts["services"] == 2 and counts["files"] == len(state.read(project).files)  # type: ignore[union-attr]
    after = manifest.read_bytes()
    assert edit[1] not in after.decode() and after == _rendered_anew(project)


def test_a_cache_vouching_for_a_manifest_that_names_a_path_twice_takes_no_line(tmp_path: Path) -> None:
    """A manifest given a second entry for one path, and a cache kept for those very bytes (crafted, or from
    a tool that wrote it so): its lines no longer pair with its entries one for one, so none is taken, and
    the next run writes every entry as a clean render does."""
    project = _made(tmp_path)
    manifest = project / MANIFEST
    rows = manifest.read_text().split("\n")
    first = next(i for i, row in enumerate(rows) if row.startswith('  "README.md": '))
    rows.insert(first + 1, rows[first].replace('"sha256": "', '"sha256": "0', 1))  # the same key, another hash
    doubled = "\n".join(rows)
    manifest.write_text(doubled)
    written.remember(project, doubled.encode())
    previous = state.read(project)
    assert previous is not None
    assert written.lines_of(project, previous.text, previous.files, previous.servicer) is None
    api.regenerate(project)
    assert manifest.read_bytes() == _rendered_anew(project)


def test_a_service_record_holding_a_list_where_a_name_goes_is_no_traceback(tmp_path: Path) -> None:
    """A hand-edited manifest whose record of a service the protos dropped holds a list for its comment: the
    run that keeps its implemented class looks the record up among the lines to take again, and a list
    cannot be looked up; it is formatted anew instead, as before lines were kept."""
    project = tmp_path / "p"
    proto = tmp_path / "helloworld.proto"
    proto.write_text(
        HELLO.read_text()
        + "\n// Another service.\nservice Other {\n  rpc DoIt (HelloRequest) returns (HelloReply);\n}\n"
    )
    assert run_scaffold("new", proto, "-o", project, "--layout", "single").returncode == 0
    servicer = project / "helloworld/servicer.py"
    stub = 'context.abort(grpc.StatusCode.UNIMPLEMENTED, "DoIt is not implemented yet")'
    servicer.write_text(servicer.read_text().replace(stub, 'return helloworld_pb2.HelloReply(message="done")'))
    manifest = project / MANIFEST
    text = manifest.read_text()
    assert '"doc": "Another service."' in text
    manifest.write_text(text.replace('"doc": "Another service."', '"doc": ["Another", "service."]', 1))
    copy = project / "protos/helloworld.proto"
    copy.write_text(copy.read_text().split("\n// Another service.")[0] + "\n")
    ran = run_scaffold("gen", "-C", project)
    assert ran.returncode == 0, ran.stderr
    assert "Traceback" not in ran.stderr and "internal error" not in ran.stderr
    assert 'message="done"' in servicer.read_text()  # the implemented method, kept with its class


def test_the_files_below_a_directory_deeper_than_the_recursion_limit_are_all_listed(tmp_path: Path) -> None:
    """`Disk.files_under` (the merge bases, the user's modules a layout switch or a rollback reads) walks with
    a stack: a tree 1,200 directories deep is listed, as `os.walk` lists it since Python 3.12."""
    import sys

    from scaffold.record.disk import Disk

    deep = tmp_path / "pkg"
    levels = [deep]
    for _ in range(max(1_200, sys.getrecursionlimit() + 200)):
        levels.append(levels[-1] / "a")
    try:
        for level in levels:  # one at a time: `makedirs` and `rmtree` (pytest's clean-up) recurse
            level.mkdir()
        (levels[-1] / "bottom.py").write_text("")
        (deep / "top.py").write_text("")
        listed = Disk(tmp_path).files_under("pkg")
    finally:
        (levels[-1] / "bottom.py").unlink(missing_ok=True)
        (deep / "top.py").unlink(missing_ok=True)
        for level in reversed(levels):
            if level.is_dir():
                level.rmdir()
    assert listed == ["pkg/" + "a/" * (len(levels) - 1) + "bottom.py", "pkg/top.py"]
