"""`scaffold new DIR` as the README offers it (issue 33, item 5): the package is named from the protos,
never from the directory that holds them, and no output lands on the inputs, with --force or without."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_python, run_scaffold, tree

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


@pytest.mark.parametrize(
    ("stem", "package"),
    [("Capital", "capital"), ("import", "import_"), ("HelloWorld", "hello_world")],
)
def test_a_proto_file_name_python_would_not_take_as_a_module_names_a_lowercase_package(
    tmp_path: Path, stem: str, package: str
) -> None:
    """Issue 27, items 4 and 5: the package named from a file is a lowercase identifier (pep8-naming's N999,
    in the ruff a later project may run, rejects `Capital`), a keyword taking PEP 8's trailing underscore,
    rather than a refusal; the project imports and lints clean with that rule on."""
    source = tmp_path / f"{stem}.proto"
    source.write_text(
        'syntax = "proto3";\npackage things;\nservice Things { rpc Get (M) returns (M); }\nmessage M {}\n'
    )
    made = run_scaffold("new", source, "-o", tmp_path / "project")
    assert made.returncode == 0, made.stderr
    project = tmp_path / "project"
    assert (project / package / "server.py").is_file()
    assert run_python("-c", f"import {package}.server, {package}.client", cwd=project).returncode == 0
    lint = run_python("-m", "ruff", "check", "--no-cache", "--extend-select", "N999", ".", cwd=project)
    assert lint.returncode == 0, lint.stdout


@pytest.mark.parametrize("name", ["3d.proto", "import/things.proto", "v1.2/things.proto"])
def test_a_proto_whose_module_python_cannot_import_is_refused_at_the_file(tmp_path: Path, name: str) -> None:
    """Issue 27: protoc names the generated module after the file; where that is no Python name the refusal
    is at the proto, exit 2, before anything is written (not compile errors at generated paths)."""
    source = tmp_path / "src" / name
    source.parent.mkdir(parents=True)
    source.write_text('syntax = "proto3";\nmessage M {}\n')
    made = run_scaffold("new", "-I", tmp_path / "src", source, "-o", tmp_path / "project")
    assert made.returncode == 2
    assert made.stderr.startswith(f"{source}:1:1: protoc names this file's module "), made.stderr
    assert "which Python cannot import" in made.stderr and made.stderr.count("\n") == 1
    assert not (tmp_path / "project").exists()
