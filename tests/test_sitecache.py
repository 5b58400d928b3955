"""What the installed distributions ship is kept between runs (`scaffold.generation.sitecache`): answered
without `importlib.metadata` while nothing is installed, upgraded or removed, and asked again as soon as
something is, in separate processes as the runs of a user are."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ASK = """
import json, sys
from scaffold.generation import providers
shipped = providers.installed_root("google/fakeapi/thing.proto")
found = providers.installed("fake-protos")
print(json.dumps({
    "shipped": None if shipped is None else [shipped[0], str(shipped[1])],
    "installed": None if found is None else [found.version, sorted(found.protos)],
    "scanned": "importlib.metadata" in sys.modules,
}))
"""


def install(site: Path, version: str, protos: list[str]) -> None:
    """A distribution as pip lays one out: its files, and a metadata directory whose RECORD lists them."""
    shutil.rmtree(next(iter(site.glob("fake_protos-*.dist-info")), site / "none"), ignore_errors=True)
    info = site / f"fake_protos-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fake-protos\nVersion: {version}\n")
    for proto in protos:
        (site / proto).parent.mkdir(parents=True, exist_ok=True)
        (site / proto).write_text('syntax = "proto3";\n')
    (info / "RECORD").write_text("".join(f"{proto},,\n" for proto in protos) + f"{info.name}/RECORD,,\n")


def ask(site: Path, cache: Path) -> dict[str, object]:
    environment = {**os.environ, "PYTHONPATH": str(site), "XDG_CACHE_HOME": str(cache)}
    result = subprocess.run(
        [sys.executable, "-c", ASK], capture_output=True, text=True, check=True, env=environment, cwd=site
    )
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


def test_an_install_upgrade_or_removal_is_seen_by_the_next_run(tmp_path: Path) -> None:
    site, cache = tmp_path / "site", tmp_path / "cache"
    install(site, "1.0", ["google/fakeapi/thing.proto"])
    first = ask(site, cache)
    assert first == {
        "shipped": ["fake-protos", str(site.resolve())],
        "installed": ["1.0", ["google/fakeapi/thing.proto"]],
        "scanned": True,
    }
    assert ask(site, cache) == {**first, "scanned": False}  # kept: nothing installed since

    install(site, "2.0", ["google/fakeapi/other.proto"])  # an upgrade that no longer ships the file
    assert ask(site, cache) == {"shipped": None, "installed": ["2.0", ["google/fakeapi/other.proto"]], "scanned": True}

    record = next(site.glob("*.dist-info")) / "RECORD"  # a RECORD rewritten in place, as a tool may
    record.write_text("google/fakeapi/thing.proto,,\n" + record.read_text())
    assert ask(site, cache)["shipped"] == ["fake-protos", str(site.resolve())]

    shutil.rmtree(next(site.glob("*.dist-info")))  # uninstalled
    assert ask(site, cache) == {"shipped": None, "installed": None, "scanned": True}
    assert ask(site, cache) == {"shipped": None, "installed": None, "scanned": False}


def test_a_damaged_cache_is_asked_again(tmp_path: Path) -> None:
    site, cache = tmp_path / "site", tmp_path / "cache"
    install(site, "1.0", ["google/fakeapi/thing.proto"])
    first = ask(site, cache)
    for kept in (cache / "scaffold/installed").iterdir():
        kept.write_bytes(b"\x00not marshal")
    assert ask(site, cache) == first  # scanned again, same answer
    for kept in (cache / "scaffold/installed").iterdir():
        import marshal

        kept.write_bytes(marshal.dumps({"shipped": {"google/fakeapi/thing.proto": ("x",)}, "installed fake-protos": 1}))
    assert ask(site, cache) == first
