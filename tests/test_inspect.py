"""`scaffold inspect`: the table and the JSON list exactly what the protos define."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import REPO, TEST_PROTOS, run_scaffold


def test_table_lists_every_rpc_with_its_shape_and_summary() -> None:
    result = run_scaffold("inspect", REPO / "protos/route_guide.proto")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["SERVICE", "RPC", "SHAPE", "REQUEST", "RESPONSE", "DEPRECATED", "SUMMARY"]
    assert lines[1].split(None, 5) == [
        "routeguide.RouteGuide",
        "GetFeature",
        "unary-unary",
        "routeguide.Point",
        "routeguide.Feature",
        "Looks up the feature at a point.",
    ]
    assert [line.split()[2] for line in lines[1:]] == ["unary-unary", "unary-stream", "stream-unary", "stream-stream"]


def test_json_for_tools_includes_routes_and_deprecation(tmp_path: Path) -> None:
    proto = tmp_path / "old.proto"
    proto.write_text(
        'syntax = "proto3";\npackage legacy;\nimport "google/protobuf/empty.proto";\n'
        "service Old {\n  // Going away. Use New instead.\n"
        "  rpc Ping(google.protobuf.Empty) returns (google.protobuf.Empty) { option deprecated = true; }\n"
        "  rpc sayHello(google.protobuf.Empty) returns (stream google.protobuf.Empty);\n}\n"
    )
    result = run_scaffold("inspect", proto, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {
            "service": "legacy.Old",
            "rpc": "Ping",
            "shape": "unary-unary",
            "request": "google.protobuf.Empty",
            "response": "google.protobuf.Empty",
            "deprecated": True,
            "summary": "Going away.",
            "route": "/legacy.Old/Ping",
        },
        {
            "service": "legacy.Old",
            "rpc": "sayHello",
            "shape": "unary-stream",
            "request": "google.protobuf.Empty",
            "response": "google.protobuf.Empty",
            "deprecated": False,
            "summary": "",
            "route": "/legacy.Old/sayHello",
        },
    ]


def test_imports_resolve_and_errors_are_located() -> None:
    shop = run_scaffold("inspect", TEST_PROTOS / "multi/shop.proto", "-I", TEST_PROTOS / "multi", "--json")
    assert [row["response"] for row in json.loads(shop.stdout)] == [
        "shop.common.Item",
        "shop.common.Item",
        "shop.common.Money",
        "shop.common.Money",
    ]
    missing = run_scaffold("inspect", "nope.proto")
    assert (missing.returncode, missing.stderr) == (2, "nope.proto:1:1: no such proto file\n")
