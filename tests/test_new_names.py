"""`scaffold new DIR` as the README offers it (issue 33, item 5): the package is named from the protos,
never from the directory that holds them, and no output lands on the inputs, with --force or without."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_scaffold, tree

SHOP = 'syntax = "proto3";\npackage shop.{part}.v1;\nservice S{part} {{ rpc Get (M) returns (M); }}\nmessage M {{}}\n'


def _protos(tmp_path: Path, packages: dict[str, str]) -> Path:
    source = tmp_path / "protos"
    for name, text in packages.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(text)
    return source


@pytest.mark.parametrize(
    ("files", "package"),
    [
        ({"a/store.proto": SHOP.format(part="a"), "b/store.proto": SHOP.format(part="b")}, "shop"),
        ({"only.proto": 'syntax = "proto3";\nmessage M {}\n'}, "only"),
        ({"x.proto": 'syntax = "proto3";\npackage x;\n', "y.proto": 'syntax = "proto3";\npackage y;\n'}, "x"),
    ],
    ids=["shared package", "one proto", "first proto"],
)
def test_a_directory_names_the_package_from_its_protos(tmp_path: Path, files: dict[str, str], package: str) -> None:
    source = _protos(tmp_path, files)
    made = run_scaffold("new", source, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / package / package / "__init__.py").is_file()
    assert not (tmp_path / "protos" / "pyproject.toml").exists()


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "force"])
def test_no_output_lands_on_the_protos_it_reads(tmp_path: Path, force: list[str]) -> None:
    source = _protos(tmp_path, {"shop.proto": SHOP.format(part="a").replace("shop.a.v1", "shop")})
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "shop.proto").write_text((source / "shop.proto").read_text())
    before = tree(tmp_path)
    for arguments in ([shop], [shop, "-o", shop], [shop / "shop.proto", "-o", tmp_path]):
        refused = run_scaffold("new", *arguments, *force, cwd=tmp_path)
        assert refused.returncode == 2, refused.stdout
        assert "holds the protos being read" in refused.stderr and "-o DIR" in refused.stderr
        assert tree(tmp_path) == before
