"""`scaffold new` end to end: generate through the CLI, then run what it wrote
as a user would, in subprocesses over loopback."""

from __future__ import annotations

import ast
import signal
import sys
from pathlib import Path

import pytest
from conftest import REPO, TEST_PROTOS, run_python, run_scaffold, served, tree

from scaffold.generation.configfile import load

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

RPCS = {
    "helloworld": ["SayHello", "SayHelloAgain"],
    "route_guide": ["GetFeature", "ListFeatures", "RecordRoute", "RouteChat"],
    "shop": ["GetItem", "ListItems", "Total", "Quote"],
    "clock": ["Now", "Ticks", "Record"],
}


FLAVOURS = pytest.mark.parametrize("aio", [False, True], ids=["sync", "aio"])


@FLAVOURS
@pytest.mark.parametrize("name", RPCS)
def test_generated_tests_call_every_rpc_and_pass(generated, name: str, aio: bool) -> None:
    result = run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=generated(name, aio))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(RPCS[name])} passed" in result.stdout


@FLAVOURS
@pytest.mark.parametrize("name", RPCS)
def test_server_and_client_run_as_processes(generated, name: str, aio: bool) -> None:
    project = generated(name, aio)
    # One client for all services, or (shop's two services: the per-service layout) one client each, and
    # `python -m shop.clients`, which runs each of them.
    single = (project / name / "client.py").is_file()
    clients = [f"{name}.client"] if single else [*_client_modules(project, name), f"{name}.clients"]
    with served(project, name) as server:
        called = [run_python("-m", client, "--target", f"127.0.0.1:{server.port}", cwd=project) for client in clients]
        after = server.stop(signal.SIGTERM)
    expected = [f"{rpc} failed: UNIMPLEMENTED: {rpc} is not implemented yet" for rpc in RPCS[name]]
    one_by_one = [line for client in (called if single else called[:-1]) for line in client.stdout.splitlines()]
    assert one_by_one == expected, called
    if not single:
        assert sorted(called[-1].stdout.splitlines()) == sorted(expected), called[-1]
    assert {client.returncode for client in called} == {1}
    assert server.process.returncode == 0
    assert after[-1:] == ["Server stopped"]


def _client_modules(project: Path, name: str) -> list[str]:
    found = sorted(
        p for p in (project / name / "clients").rglob("*.py") if p.name not in ("__init__.py", "__main__.py")
    )
    assert found
    return [".".join(p.relative_to(project).with_suffix("").parts) for p in found]


@FLAVOURS
def test_server_stops_gracefully_on_ctrl_c(generated, aio: bool) -> None:
    with served(generated("helloworld", aio), "helloworld") as server:
        after = server.stop(signal.SIGINT)
    assert server.process.returncode == 0
    assert after[-1:] == ["Server stopped"]


@FLAVOURS
def test_client_without_server_says_so(generated, aio: bool) -> None:
    client = run_python("-m", "helloworld.client", "--target", "127.0.0.1:1", cwd=generated("helloworld", aio))
    assert client.returncode == 1
    assert client.stdout == "No server answered at 127.0.0.1:1\n"


def test_layout_of_a_project_with_imports(generated) -> None:
    files = tree(generated("shop"))
    for path in [
        "protos/shop.proto",
        "protos/common/types.proto",
        "shop/generated/__init__.py",
        "shop/generated/common/__init__.py",
        "shop/generated/shop_pb2.py",
        "shop/generated/shop_pb2.pyi",
        "shop/generated/shop_pb2_grpc.py",
        "shop/generated/common/types_pb2.py",
        "shop/generated/common/types_pb2.pyi",
        "shop/services/__init__.py",
        "shop/services/catalog.py",  # both services are in shop.v1: root_package, no deeper than that
        "shop/services/checkout.py",
        "shop/clients/catalog.py",
        "shop/clients/checkout.py",
        "shop/server.py",
        "shop/clients/__main__.py",  # runs every service's client module
        "tests/test_catalog.py",
        "tests/test_checkout.py",
        "README.md",
        "pyproject.toml",
        ".scaffold/manifest.json",
        ".scaffold/base/shop/services/catalog.py",
    ]:
        assert path in files, path
    assert 'layout = "per-service"\nroot_package = "shop.v1"\n' in files["pyproject.toml"].decode()
    assert not [path for path in files if path.startswith(("shop/services/shop/", "tests/shop/"))]
    assert not {"shop/servicer.py", "shop/client.py", "tests/test_shop.py"} & set(files)  # two services
    assert files["protos/common/types.proto"] == (TEST_PROTOS / "multi/common/types.proto").read_bytes()


@pytest.mark.parametrize("name", ["shop", "clock"])
def test_every_import_of_generated_modules_resolves_in_py_and_pyi(generated, name: str) -> None:
    project = generated(name)
    generated_dir = project / name / "generated"
    # protoc's modules; scaffold's runtime beside them is type-checked with the project (test_types)
    modules = [m for m in generated_dir.rglob("*.py*") if m.relative_to(generated_dir).parts[0] != "runtime"]
    assert modules
    for module in modules:
        for node in ast.walk(ast.parse(module.read_bytes())):
            if isinstance(node, ast.Import):
                assert all(alias.name in {"grpc", "warnings"} for alias in node.names), module
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == name:
                package_dir = project.joinpath(*node.module.split("."))
                for alias in node.names:
                    assert (package_dir / f"{alias.name}.py").is_file(), f"{module}: {node.module}.{alias.name}"


def test_config_in_pyproject_is_everything_gen_needs(generated) -> None:
    project = generated("shop")
    table = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["scaffold"]
    assert table == {
        "package": "shop",
        "protos": ["protos/shop.proto"],
        "proto_paths": ["protos"],
        "generated": "generated",
        "aio": False,
        "health": False,
        "reflection": False,
        "max_workers": 10,
        "max_message_bytes": 4194304,
        "grace_seconds": 5.0,
        "tls": False,
        "access_log": True,
        "log_format": "text",
        "metrics": False,
        "metrics_port": 9464,
        "otel": False,
        "keepalive_seconds": 0.0,
        "max_connection_age_seconds": 0.0,
        "layout": "per-service",  # shop.proto has two services
        "root_package": "shop.v1",  # the package they share
    }
    config = load(project)
    assert all(path.is_file() for path in config.proto_files())
    assert all(path.is_dir() for path in config.include_dirs())


def test_output_is_byte_identical_across_runs_and_hash_seeds(tmp_path: Path) -> None:
    trees = []
    for seed in ("0", "4242"):
        out = tmp_path / seed
        result = run_scaffold(
            "new",
            TEST_PROTOS / "multi/shop.proto",
            "-I",
            TEST_PROTOS / "multi",
            "-o",
            out,
            env={"PYTHONHASHSEED": seed},
        )
        assert result.returncode == 0, result.stderr
        trees.append(tree(out))
    assert trees[0] == trees[1]


def test_missing_proto_is_one_located_line_and_writes_nothing(tmp_path: Path) -> None:
    result = run_scaffold("new", "nope.proto", "-o", tmp_path / "out", cwd=tmp_path)
    assert (result.returncode, result.stderr, result.stdout) == (2, "nope.proto:1:1: no such proto file\n", "")
    assert list(tmp_path.iterdir()) == []


def test_syntax_error_is_protocs_located_line_and_writes_nothing(tmp_path: Path) -> None:
    proto = TEST_PROTOS / "bad/missing_semicolon.proto"
    result = run_scaffold("new", proto.relative_to(REPO), "-o", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr == 'tests/protos/bad/missing_semicolon.proto:5:1: Expected ";".\n'
    assert list(tmp_path.iterdir()) == []


def test_non_empty_output_is_refused_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    refused = run_scaffold("new", REPO / "protos/helloworld.proto", "-o", out)
    assert refused.returncode == 2
    assert refused.stderr == f"{out}: output directory is not empty; pass --force to write into it\n"
    assert tree(out) == {"notes.txt": b"mine\n"}

    forced = run_scaffold("new", REPO / "protos/helloworld.proto", "-o", out, "--force")
    assert forced.returncode == 0, forced.stderr
    files = tree(out)
    assert files["notes.txt"] == b"mine\n"
    assert "helloworld/servicer.py" in files


def test_invalid_package_name_is_refused(tmp_path: Path) -> None:
    result = run_scaffold("new", REPO / "protos/helloworld.proto", "--name", "class", "-o", tmp_path / "out")
    assert result.returncode == 2
    assert "'class' is not a valid Python package name" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_default_output_directory_is_named_after_the_package(tmp_path: Path) -> None:
    result = run_scaffold("new", REPO / "protos/helloworld.proto", "--name", "greeter", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "greeter/greeter/servicer.py").is_file()


@FLAVOURS
@pytest.mark.parametrize("name", RPCS)
def test_generated_code_passes_ruff_lint_and_format(generated, name: str, aio: bool) -> None:
    project = generated(name, aio)
    lint = run_python("-m", "ruff", "check", "--no-cache", ".", cwd=project)
    assert lint.returncode == 0, lint.stdout
    formatting = run_python("-m", "ruff", "format", "--check", "--no-cache", ".", cwd=project)
    assert formatting.returncode == 0, formatting.stdout


def test_a_directory_takes_every_proto_below_it(tmp_path: Path) -> None:
    result = run_scaffold("new", TEST_PROTOS / "multi", "-o", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    files = tree(tmp_path / "out")
    # named from the package the protos share (shop.v1, shop.common), not from the directory
    assert "shop/generated/shop_pb2_grpc.py" in files and "shop/generated/common/types_pb2.py" in files
    table = tomllib.loads(files["pyproject.toml"].decode())["tool"]["scaffold"]
    assert table["protos"] == ["protos"]  # the directory: a proto added there later is an input too
    tests = run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=tmp_path / "out")
    assert tests.returncode == 0 and "4 passed" in tests.stdout, tests.stdout

    empty = tmp_path / "empty"
    empty.mkdir()
    refused = run_scaffold("new", empty, "-o", tmp_path / "none")
    assert (refused.returncode, refused.stderr) == (2, f"{empty}: no .proto file in this directory\n")
