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
