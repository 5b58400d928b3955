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

import pytest

ASK = """
import json, sys
before = "importlib.metadata" in sys.modules  # a start-up `.pth` may import it: then no run can tell
from scaffold.generation import providers
shipped = providers.installed_root("google/fakeapi/thing.proto")
found = providers.installed("fake-protos")
print(json.dumps({
    "shipped": None if shipped is None else [shipped[0], str(shipped[1])],
    "installed": None if found is None else [found.version, sorted(found.protos)],
    "scanned": None if before else "importlib.metadata" in sys.modules,
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


def ask(site: Path, cache: Path, *more: Path) -> dict[str, object]:
    path = os.pathsep.join(map(str, (site, *more)))
    environment = {**os.environ, "PYTHONPATH": path, "XDG_CACHE_HOME": str(cache)}
    result = subprocess.run(
        [sys.executable, "-c", ASK], capture_output=True, text=True, check=False, env=environment, cwd=site
    )
    assert result.returncode == 0, result.stderr
    answer: dict[str, object] = json.loads(result.stdout)
    assert answer["scanned"] is not None, "importlib.metadata is imported at start-up: whether a run scans is unknown"
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
    assert len(list((cache / "scaffold/installed").iterdir())) == 1  # replaced, not one file per install

    other = tmp_path / "other"  # another import path: installed there, seen at once
    install(other, "3.0", ["google/fakeapi/thing.proto"])
    assert ask(site, cache, other) == {
        "shipped": ["fake-protos", str(other.resolve())],
        "installed": ["3.0", ["google/fakeapi/thing.proto"]],
        "scanned": True,
    }


def test_a_path_in_another_encoding_is_keyed_too(tmp_path: Path) -> None:
    site = tmp_path / os.fsdecode(b"site-\xe9")  # not UTF-8: `python -m scaffold` run from such a directory
    install(site, "1.0", ["google/fakeapi/thing.proto"])
    first = ask(site, tmp_path / "cache")
    assert first["shipped"] == ["fake-protos", str(site.resolve())]
    assert ask(site, tmp_path / "cache") == {**first, "scanned": False}


def test_an_answer_found_while_something_was_installed_is_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scaffold.generation import sitecache

    site = tmp_path / "site"
    install(site, "1.0", [])
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.syspath_prepend(str(site))

    def installing() -> str:
        install(site, "2.0", [])
        return "asked before the install"

    assert (
        sitecache.remembered("question", installing, lambda value: isinstance(value, str)) == "asked before the install"
    )
    assert (
        sitecache.remembered("question", lambda: "asked after", lambda value: isinstance(value, str)) == "asked after"
    )
    assert (
        sitecache.remembered("question", lambda: "asked again", lambda value: isinstance(value, str)) == "asked after"
    )


def test_a_damaged_cache_is_asked_again(tmp_path: Path) -> None:
    site, cache = tmp_path / "site", tmp_path / "cache"
    install(site, "1.0", ["google/fakeapi/thing.proto"])
    first = ask(site, cache)
    for kept in (cache / "scaffold/installed").iterdir():
        kept.write_bytes(b"\x00not marshal")
    assert ask(site, cache) == first  # scanned again, same answer
    for kept in (cache / "scaffold/installed").iterdir():
        import marshal

        environment = marshal.loads(kept.read_bytes())[0]  # of this environment, of the wrong shapes
        kept.write_bytes(
            marshal.dumps(
                (
                    environment,
                    {"shipped": {"google/fakeapi/thing.proto": ("x",)}, "installed fake-protos": ("a", "b", "c", 5)},
                )
            )
        )
    assert ask(site, cache) == first
