"""Generated code is typed: mypy --strict (the generated project's own config)
passes for every project in both flavours and for the examples, and the
typed stubs scaffold adds make a wrong call a type error."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO, run_python

FLAVOURS = pytest.mark.parametrize("aio", [False, True], ids=["sync", "aio"])


def mypy(project: Path, cache: Path, *args: str):  # type: ignore[no-untyped-def]
    """mypy with the project's own [tool.mypy] (strict), plus --strict in case that config is lost."""
    return run_python("-m", "mypy", "--strict", "--cache-dir", str(cache), *args, cwd=project, timeout=300)


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


@FLAVOURS
@pytest.mark.parametrize("name", ["helloworld", "route_guide", "shop", "clock"])
def test_generated_project_passes_mypy_strict(generated, mypy_cache: Path, name: str, aio: bool) -> None:
    result = mypy(generated(name, aio), mypy_cache, ".")
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("Success: no issues found")


@pytest.mark.parametrize("example", ["helloworld", "route_guide", "route_guide_aio"])
def test_examples_pass_mypy_strict(mypy_cache: Path, example: str) -> None:
    result = mypy(REPO / "examples" / example, mypy_cache, ".")
    assert result.returncode == 0, result.stdout


@FLAVOURS
def test_a_call_with_the_wrong_message_type_is_a_type_error(
    generated, mypy_cache: Path, tmp_path: Path, aio: bool
) -> None:
    project = generated("route_guide", aio)
    channel = "grpc.aio.insecure_channel" if aio else "grpc.insecure_channel"
    wrong = tmp_path / "wrong_call.py"
    wrong.write_text(
        "import grpc\nimport grpc.aio\n\n"
        "from route_guide.generated import route_guide_pb2, route_guide_pb2_grpc\n\n"
        f'stub = route_guide_pb2_grpc.RouteGuideStub({channel}("localhost:1"))\n'
        "stub.GetFeature(route_guide_pb2.Rectangle())\n"
    )
    result = mypy(project, mypy_cache, str(wrong))
    assert result.returncode == 1
    assert 'has incompatible type "Rectangle"; expected "Point"' in result.stdout
    right = tmp_path / "right_call.py"
    right.write_text(wrong.read_text().replace("Rectangle()", "Point()"))
    assert mypy(project, mypy_cache, str(right)).returncode == 0


@FLAVOURS
def test_every_server_option_on_passes_mypy_strict_and_ruff(tmp_path: Path, mypy_cache: Path, aio: bool) -> None:
    """health, reflection, metrics, tls, otel and web together: the most conditional code of scaffold's runtime."""
    project = tmp_path / "project"
    flags = ["--health", "--reflection", "--metrics", "--tls", "--otel", "--web", *(["--aio"] if aio else [])]
    result = run_python(
        "-m", "scaffold", "new", str(REPO / "protos/route_guide.proto"), "-o", str(project), *flags, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert (project / "route_guide/generated/runtime/metrics.py").is_file()
    types = mypy(project, mypy_cache, ".")
    assert types.returncode == 0, types.stdout
    lint = run_python("-m", "ruff", "check", "--no-cache", ".", cwd=project)
    assert lint.returncode == 0, lint.stdout
    formatting = run_python("-m", "ruff", "format", "--check", "--no-cache", ".", cwd=project)
    assert formatting.returncode == 0, formatting.stdout
    # The project's ruff leaves out the generated package; scaffold's runtime in it is held to the same rules.
    runtime = "route_guide/generated/runtime"
    for tool in (("check",), ("format", "--check")):
        linted = run_python("-m", "ruff", *tool, "--no-cache", runtime, cwd=project)
        assert linted.returncode == 0, linted.stdout
