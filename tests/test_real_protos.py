"""The .proto trees real projects ship on PyPI, installed by the test extra:
each becomes a project whose every module imports under -W error, whose
skeleton answers every RPC with UNIMPLEMENTED through the generated stubs,
and which ruff and mypy --strict accept.

- temporalio: Temporal's API (WorkflowService, OperatorService, CloudService,
  TestService, grpc Health) across four include roots, with four files named
  `service.proto`, hyphenated directories (`protoc-gen-openapiv2`) and its own
  copies of googleapis.
- qdrant-client: a flat directory of protos importing each other by bare file
  name, with fields named `float`/`datetime` and an enum value named `None`.
- googleapis-common-protos + grpc-google-iam-v1: long-running Operations,
  Locations and IAMPolicy, importing google/api, google/rpc and google/type.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from conftest import check_project, run_scaffold


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.submodule_search_locations, f"{module} is not installed; see the test extra"
    return Path(next(iter(spec.submodule_search_locations)))


def temporal() -> list[str | Path]:
    root = _package_dir("temporalio") / "bridge/sdk-core/crates/protos/protos"
    api, cloud, testsrv = root / "api_upstream", root / "api_cloud_upstream", root / "testsrv_upstream"
    return [
        *("-I", api, "-I", cloud, "-I", testsrv, "-I", root),
        api / "temporal/api/workflowservice/v1/service.proto",
        api / "temporal/api/operatorservice/v1/service.proto",
        cloud / "temporal/api/cloud/cloudservice/v1/service.proto",
        testsrv / "temporal/api/testservice/v1/service.proto",
        root / "grpc/health/v1/health.proto",
    ]


def qdrant() -> list[str | Path]:
    return [_package_dir("qdrant_client") / "proto"]


def googleapis() -> list[str | Path]:
    site = _package_dir("google.longrunning").parent.parent
    return [
        *("-I", site),
        site / "google/longrunning/operations_proto.proto",
        site / "google/cloud/location/locations.proto",
        _package_dir("google.iam.v1") / "iam_policy.proto",
    ]


TREES = {"temporal": temporal, "qdrant": qdrant, "googleapis": googleapis}
# What each tree holds, so a package update that changes it is noticed rather than silently tested less.
SIZES = {"temporal": (5, 219), "qdrant": (4, 51), "googleapis": (3, 10)}


@pytest.mark.parametrize("name", TREES)
def test_real_proto_tree_generates_a_project_that_serves_every_rpc(tmp_path: Path, name: str) -> None:
    arguments = TREES[name]()
    listing = run_scaffold("inspect", "--json", *arguments)
    assert listing.returncode == 0, listing.stderr
    rpcs = json.loads(listing.stdout)
    assert (len({rpc["service"] for rpc in rpcs}), len(rpcs)) == SIZES[name]

    out = tmp_path / name
    result = run_scaffold("new", *arguments, "--name", name, "-o", out)
    assert result.returncode == 0, result.stderr
    checked = check_project(out, name)
    # One generated test per RPC ran, each asserting UNIMPLEMENTED from the skeleton.
    assert checked.passed == len(rpcs)
    # Several services each: the per-service layout, a servicer and a test module per service, or, for a
    # service too large for one module (temporal's WorkflowService), one per resource in its `_parts/`.
    tests = sorted((out / "tests").rglob("test_*.py"))
    assert sum(test.read_text().count("== grpc.StatusCode.UNIMPLEMENTED") for test in tests) == len(rpcs)
    modules = [p for p in (out / name / "services").rglob("*.py") if p.name != "__init__.py"]
    servicers = [p for p in modules if not p.parent.name.endswith("_parts")]
    whole = [p for p in tests if not p.parent.name.endswith("_parts")]
    split = re.findall(
        r'"([\w.]+)"', (re.findall(r"(?m)^split_services = (.*)$", (out / "pyproject.toml").read_text()) or [""])[0]
    )
    assert len(servicers) == SIZES[name][0] and len(whole) == SIZES[name][0] - len(split)
    assert max(len(p.read_text().splitlines()) for p in [*modules, *tests]) < 1_000
