"""Server options of a generated project, checked from outside the process with
grpc's own client-side helpers: health checks (SERVING, then NOT_SERVING on
shutdown), reflection (list and describe), and the message size limit."""

from __future__ import annotations

import signal
from pathlib import Path

import grpc
import pytest
from conftest import REPO, at_key, run_scaffold, served
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

FLAVOURS = pytest.mark.parametrize("aio", [False, True], ids=["sync", "aio"])
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def project_with_options(tmp_path: Path, aio: bool) -> Path:
    project = tmp_path / "project"
    flags = ["--health", "--reflection", *(["--aio"] if aio else [])]
    result = run_scaffold("new", REPO / "protos/route_guide.proto", "-o", project, *flags)
    assert result.returncode == 0, result.stderr
    return project


@FLAVOURS
def test_health_serving_then_not_serving_on_shutdown(tmp_path: Path, aio: bool) -> None:
    project = project_with_options(tmp_path, aio)
    with served(project, "route_guide", ["--grace", "2"]) as server:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            for service in ("routeguide.RouteGuide", ""):
                response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
                assert response.status == SERVING, service
            watch = stub.Watch(health_pb2.HealthCheckRequest(service="routeguide.RouteGuide"), timeout=20)
            assert next(watch).status == SERVING
            server.process.send_signal(signal.SIGTERM)
            assert next(watch).status == NOT_SERVING
            watch.cancel()
        server.process.wait(timeout=20)
    assert server.process.returncode == 0


@FLAVOURS
def test_reflection_lists_and_describes_the_services(tmp_path: Path, aio: bool) -> None:
    project = project_with_options(tmp_path, aio)
    with served(project, "route_guide") as server, grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        # Health is listed too: grpcurl and friends see every service the server answers.
        assert set(database.get_services()) == {
            "routeguide.RouteGuide",
            "grpc.health.v1.Health",
            reflection.SERVICE_NAME,
        }
        service = DescriptorPool(database).FindServiceByName("routeguide.RouteGuide")
        assert [method.name for method in service.methods] == ["GetFeature", "ListFeatures", "RecordRoute", "RouteChat"]


@FLAVOURS
def test_flags_turn_options_off_and_limit_messages(tmp_path: Path, aio: bool) -> None:
    project = project_with_options(tmp_path, aio)
    flags = ["--no-health", "--no-reflection", "--max-message-bytes", "64"]
    with served(project, "route_guide", flags) as server, grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        with pytest.raises(grpc.RpcError) as no_health:
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert no_health.value.code() == grpc.StatusCode.UNIMPLEMENTED
        get_feature = channel.unary_unary("/routeguide.RouteGuide/GetFeature")
        with pytest.raises(grpc.RpcError) as too_big:
            get_feature(b"\x0a" + bytes([100]) + b"x" * 100, timeout=10)
        assert too_big.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_server_options_live_in_the_config(tmp_path: Path) -> None:
    project = project_with_options(tmp_path, aio=False)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    assert "health = true\nreflection = true\n" in text
    assert '"grpcio-health-checking>=' in text and '"grpcio-reflection>=' in text
    pyproject.write_text(
        text.replace("max_workers = 10", "max_workers = 3").replace("grace_seconds = 5.0", "grace_seconds = 0.5")
    )
    result = run_scaffold("gen", "-C", project)
    assert result.returncode == 0, result.stderr
    server = (project / "route_guide/generated/runtime/serving.py").read_text()
    assert "MAX_WORKERS = 3\n" in server and "SHUTDOWN_GRACE_SECONDS = 0.5\n" in server

    pyproject.write_text(pyproject.read_text().replace("max_workers = 3", "max_workers = -1"))
    bad = run_scaffold("gen", "-C", project)
    assert bad.returncode == 2
    assert bad.stderr == (
        f"{at_key(pyproject, 'max_workers')}: [tool.scaffold] max_workers must be a whole number from 1 to 10_000, not -1\n"
    )
