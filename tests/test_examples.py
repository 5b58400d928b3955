"""The committed examples: exactly what the tool writes today in its files,
the seeds' behaviour in the user's files, and wire-compatible with gRPC's
official helloworld and route_guide."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from conftest import REPO, run_python, run_scaffold, served, tree

# example directory -> the `scaffold new` arguments it was made with
EXAMPLES = {
    "helloworld": ["protos/helloworld.proto"],
    "route_guide": ["protos/route_guide.proto"],
    "route_guide_aio": ["protos/route_guide.proto", "--aio"],
    # google/api/annotations.proto: from googleapis-common-protos, installed with the test extras
    "route_guide_web": ["protos/web/route_guide.proto", "--web"],
}
ROUTE_GUIDES = ["route_guide", "route_guide_aio", "route_guide_web"]
WEB_PORT = {"route_guide_web": ["--http-port", "0"]}  # any free one: tests run side by side


@pytest.mark.parametrize("name", EXAMPLES)
def test_generated_files_are_exactly_what_the_cli_writes_today(tmp_path: Path, name: str) -> None:
    example = REPO / "examples" / name
    result = run_scaffold("new", *EXAMPLES[name], "-o", tmp_path / name)
    assert result.returncode == 0, result.stderr
    fresh = tree(tmp_path / name)
    committed = tree(example)
    owners = {path: entry["owner"] for path, entry in json.loads(fresh[".scaffold/manifest.json"])["files"].items()}
    tool_written = [p for p in fresh if owners.get(p) == "generated" or p.startswith((".scaffold/", "protos/"))]
    stale = [path for path in tool_written if committed.get(path) != fresh[path]]
    assert stale == [], "run: scaffold gen -C examples/" + name
    package = Path(EXAMPLES[name][0]).stem
    leftovers = [p for p in committed if p.startswith((f"{package}/generated/", ".scaffold/")) and p not in fresh]
    assert leftovers == []
    user_files = [p for p in fresh if owners.get(p) == "user"]
    assert user_files and all(p in committed for p in user_files)


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_test_suites_pass(name: str) -> None:
    result = run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=REPO / "examples" / name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_helloworld_client_prints_what_the_official_client_prints() -> None:
    project = REPO / "examples/helloworld"
    with served(project, "helloworld") as server:
        client = run_python("-m", "helloworld.client", "--target", f"127.0.0.1:{server.port}", cwd=project)
    assert client.returncode == 0, client.stderr
    assert client.stdout.splitlines() == [
        "Will try to greet world ...",
        "Greeter client received: Hello, you!",
        "Greeter client received: Hello again, you!",
    ]


@pytest.mark.parametrize("example", ROUTE_GUIDES)
def test_route_guide_client_prints_what_the_official_client_prints(example: str) -> None:
    project = REPO / "examples" / example
    with served(project, "route_guide", WEB_PORT.get(example, [])) as server:
        client = run_python("-m", "route_guide.client", "--target", f"127.0.0.1:{server.port}", cwd=project)
    assert client.returncode == 0, client.stderr
    sections = dict(re.findall(r"-{14} (\w+) -{14}\n(.*?)(?=-{14}|\Z)", client.stdout, re.DOTALL))
    assert list(sections) == ["GetFeature", "ListFeatures", "RecordRoute", "RouteChat"]
    assert sections["GetFeature"] == (
        "Feature called Berkshire Valley Management Area Trail, Jefferson, NJ, USA at latitude: 409146138\n"
        "longitude: -746188906\n\n"
        "Found no feature at \n"
    )
    listed = sections["ListFeatures"].splitlines()
    assert listed[0] == "Looking for features between 40, -75 and 42, -73"
    assert sum(line.startswith("Feature called ") for line in listed) == 100
    route = sections["RecordRoute"].splitlines()
    assert sum(line.startswith("Visiting point latitude: ") for line in route) == 10
    assert route[-4:-2] == ["Finished trip with 10 points ", "Passed 10 features "]
    assert re.fullmatch(r"Travelled \d+ meters ", route[-2])
    assert re.fullmatch(r"It took \d+ seconds ", route[-1])  # whole seconds: 0 unless the machine is loaded
    chat = sections["RouteChat"].splitlines()
    # Sending and receiving interleave as the streams race; each side keeps its own order.
    assert [line for line in chat if line.startswith("Sending ")] == [
        "Sending First message at ",
        "Sending Second message at longitude: 1",
        "Sending Third message at latitude: 1",
        "Sending Fourth message at ",
        "Sending Fifth message at latitude: 1",
    ]
    assert [line for line in chat if line.startswith("Received ")] == [
        "Received message First message at ",
        "Received message Third message at latitude: 1",
    ]


# Wire compatibility, checked without our generated code: method paths and
# field numbers of the official protos, with messages encoded by hand.


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int32 values go out as ten-byte varints
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return varint(number << 3) + varint(payload)
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def point(latitude: int, longitude: int) -> bytes:
    return field(1, latitude) + field(2, longitude)


@pytest.fixture(scope="module")
def raw_channels() -> Iterator[dict[str, grpc.Channel]]:
    with (
        served(REPO / "examples/helloworld", "helloworld") as hello,
        served(REPO / "examples/route_guide", "route_guide") as guide,
        served(REPO / "examples/route_guide_aio", "route_guide") as guide_aio,
        served(REPO / "examples/route_guide_web", "route_guide", WEB_PORT["route_guide_web"]) as guide_web,
        grpc.insecure_channel(f"127.0.0.1:{hello.port}") as hello_channel,
        grpc.insecure_channel(f"127.0.0.1:{guide.port}") as guide_channel,
        grpc.insecure_channel(f"127.0.0.1:{guide_aio.port}") as guide_aio_channel,
        grpc.insecure_channel(f"127.0.0.1:{guide_web.port}") as guide_web_channel,
    ):
        yield {
            "helloworld": hello_channel,
            "route_guide": guide_channel,
            "route_guide_aio": guide_aio_channel,
            "route_guide_web": guide_web_channel,
        }


def test_helloworld_on_the_wire(raw_channels: dict[str, grpc.Channel]) -> None:
    channel = raw_channels["helloworld"]
    request = field(1, b"you")
    assert channel.unary_unary("/helloworld.Greeter/SayHello")(request, timeout=10) == field(1, b"Hello, you!")
    again = channel.unary_unary("/helloworld.Greeter/SayHelloAgain")(request, timeout=10)
    assert again == field(1, b"Hello again, you!")


@pytest.mark.parametrize("example", ROUTE_GUIDES)
def test_route_guide_on_the_wire(raw_channels: dict[str, grpc.Channel], example: str) -> None:
    channel = raw_channels[example]
    where = point(409146138, -746188906)
    feature = channel.unary_unary("/routeguide.RouteGuide/GetFeature")(where, timeout=10)
    assert feature == field(1, b"Berkshire Valley Management Area Trail, Jefferson, NJ, USA") + field(2, where)

    rectangle = field(1, point(400000000, -750000000)) + field(2, point(420000000, -730000000))
    listed = list(channel.unary_stream("/routeguide.RouteGuide/ListFeatures")(rectangle, timeout=10))
    assert len(listed) == 100

    summary = channel.stream_unary("/routeguide.RouteGuide/RecordRoute")(iter([where, where]), timeout=10)
    assert summary == field(1, 2) + field(2, 2)  # point_count, feature_count; distance and time are 0

    notes = [field(1, point(1, 1)) + field(2, b"a"), field(1, point(1, 1)) + field(2, b"b")]
    echoed = list(channel.stream_stream("/routeguide.RouteGuide/RouteChat")(iter(notes), timeout=10))
    assert echoed == notes[:1]
