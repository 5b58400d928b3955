"""Issue 31, its first part: a proto imported from the ecosystem (googleapis' `google/api`, `google/type`,
protovalidate's `buf/validate`) that no include root holds is named with where it comes from, located;
and the root an installed distribution ships it in generates a project that imports beside that
distribution's own modules."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_python, run_scaffold

from scaffold.generation import providers

SHOP = """syntax = "proto3";
package shop.v1;
import "google/api/annotations.proto";
import "google/type/money.proto";
message Item { string name = 1; google.type.Money price = 2; }
service Store {
  rpc Get (Item) returns (Item) { option (google.api.http) = { get: "/v1/items/{name}" }; }
}
"""


def test_an_installed_distributions_proto_is_named_with_the_root_that_holds_it(tmp_path: Path) -> None:
    source = tmp_path / "src/shop.proto"
    source.parent.mkdir()
    source.write_text(SHOP)
    project = tmp_path / "project"

    refused = run_scaffold("new", source, "-o", project)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    installed = providers.installed_root("google/api/annotations.proto")
    assert installed is not None, "googleapis-common-protos (a dependency of the test extras) ships its .proto files"
    distribution, root = installed
    first = refused.stderr.strip().splitlines()[0]
    assert first.startswith((f"{source}:3:1: ", "src/shop.proto:3:1: ")), refused.stderr
    assert 'Import "google/api/annotations.proto" was not found' in first, first
    assert f"it is installed with {distribution}: add `-I {root}`" in first, first
    assert not project.exists()

    made = run_scaffold("new", source, "-o", project, "-I", root)
    assert made.returncode == 0, made.stdout + made.stderr
    # The project's modules and googleapis-common-protos' own load in one process: the same files.
    loaded = run_python(
        "-c",
        "import google.api.annotations_pb2, google.type.money_pb2\nimport shop.server\nprint('ok')",
        cwd=project,
    )
    assert loaded.returncode == 0 and loaded.stdout.strip() == "ok", loaded.stderr


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("google/rpc/not_yet_shipped.proto", "it is in googleapis-common-protos: pip install googleapis-common-protos"),
        ("buf/validate/validate.proto", "`buf export buf.build/bufbuild/protovalidate -o DIR`, then pass `-I DIR`"),
    ],
)
def test_a_known_familys_proto_nothing_installed_ships_is_named_with_its_source(
    tmp_path: Path, name: str, said: str
) -> None:
    source = tmp_path / "src/shop.proto"
    source.parent.mkdir()
    source.write_text(f'syntax = "proto3";\npackage shop.v1;\nimport "{name}";\nmessage Item {{ string name = 1; }}\n')
    refused = run_scaffold("new", source, "-o", tmp_path / "project")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f'Import "{name}" was not found' in refused.stderr and said in refused.stderr, refused.stderr
    assert not (tmp_path / "project").exists()
