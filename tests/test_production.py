"""The generated service ready for production, checked over real loopback connections:
TLS and mTLS (certificates made here), no silent port sharing, the access log and
the mapping of unexpected exceptions for all four shapes, Prometheus metrics, and
the client's retry policy, in both flavours.

The project's servicer is replaced by one whose behaviour the request chooses
(`latitude`): 0 answers, 1 raises, 2 aborts with NOT_FOUND, 3 fails a gRPC call
of its own, 4 answers UNAVAILABLE on the first attempt. `probe.py` makes calls
with the project's own `create_channel` (or a plain grpc channel) and prints
what came back as JSON.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
import signal
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest
from conftest import REPO, run_python, run_scaffold, served
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from test_dev_call import Dev

FLAVOURS = pytest.mark.parametrize("aio", [False, True], ids=["sync", "aio"])
ACCESS_LINE = re.compile(r'"logger": "route_guide\.access", "message": "/routeguide\.RouteGuide/')
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SHAPES = ("GetFeature", "ListFeatures", "RecordRoute", "RouteChat")

SYNC_SERVICER = """
from __future__ import annotations

import time
from collections.abc import Iterator

import grpc

from route_guide.generated import route_guide_pb2 as pb
from route_guide.generated import route_guide_pb2_grpc

ATTEMPTS: set[int] = set()


def misbehave(rpc: str, point: pb.Point, context: grpc.ServicerContext) -> None:
    if point.latitude == 1:
        raise ValueError(f"secret {rpc}")
    if point.latitude == 2:
        context.abort(grpc.StatusCode.NOT_FOUND, "nothing at 2")
    if point.latitude == 3:
        with grpc.insecure_channel("127.0.0.1:1") as channel:
            channel.unary_unary("/nowhere.Service/Call")(b"", timeout=10)
    if point.latitude == 4 and point.longitude not in ATTEMPTS:
        ATTEMPTS.add(point.longitude)
        context.abort(grpc.StatusCode.UNAVAILABLE, "try again")
    if point.latitude == 5:
        time.sleep(1.5)


class RouteGuideServicer(route_guide_pb2_grpc.RouteGuideServicer):
    def GetFeature(self, request: pb.Point, context: grpc.ServicerContext) -> pb.Feature:
        misbehave("GetFeature", request, context)
        return pb.Feature(name="here", location=request)

    def ListFeatures(self, request: pb.Rectangle, context: grpc.ServicerContext) -> Iterator[pb.Feature]:
        yield pb.Feature(name="first")
        yield pb.Feature(name="second")
        misbehave("ListFeatures", request.lo, context)

    def RecordRoute(self, request_iterator: Iterator[pb.Point], context: grpc.ServicerContext) -> pb.RouteSummary:
        points = list(request_iterator)
        misbehave("RecordRoute", points[-1], context)
        return pb.RouteSummary(point_count=len(points))

    def RouteChat(self, request_iterator: Iterator[pb.RouteNote], context: grpc.ServicerContext) -> Iterator[pb.RouteNote]:
        for index, note in enumerate(request_iterator):
            yield note
            if index == 1:
                misbehave("RouteChat", note.location, context)
"""

AIO_SERVICER = """
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.aio

from route_guide.generated import route_guide_pb2 as pb
from route_guide.generated import route_guide_pb2_grpc

ATTEMPTS: set[int] = set()
Context = grpc.aio.ServicerContext[Any, Any]


async def misbehave(rpc: str, point: pb.Point, context: Context) -> None:
    if point.latitude == 1:
        raise ValueError(f"secret {rpc}")
    if point.latitude == 2:
        await context.abort(grpc.StatusCode.NOT_FOUND, "nothing at 2")
    if point.latitude == 3:
        async with grpc.aio.insecure_channel("127.0.0.1:1") as channel:
            await channel.unary_unary("/nowhere.Service/Call")(b"", timeout=10)
    if point.latitude == 4 and point.longitude not in ATTEMPTS:
        ATTEMPTS.add(point.longitude)
        await context.abort(grpc.StatusCode.UNAVAILABLE, "try again")
    if point.latitude == 5:
        await asyncio.sleep(1.5)


class RouteGuideServicer(route_guide_pb2_grpc.RouteGuideServicer):
    async def GetFeature(self, request: pb.Point, context: Context) -> pb.Feature:
        await misbehave("GetFeature", request, context)
        return pb.Feature(name="here", location=request)

    async def ListFeatures(self, request: pb.Rectangle, context: Context) -> AsyncIterator[pb.Feature]:
        yield pb.Feature(name="first")
        yield pb.Feature(name="second")
        await misbehave("ListFeatures", request.lo, context)

    async def RecordRoute(self, request_iterator: AsyncIterator[pb.Point], context: Context) -> pb.RouteSummary:
        points = [point async for point in request_iterator]
        await misbehave("RecordRoute", points[-1], context)
        return pb.RouteSummary(point_count=len(points))

    async def RouteChat(self, request_iterator: AsyncIterator[pb.RouteNote], context: Context) -> AsyncIterator[pb.RouteNote]:
        index = 0
        async for note in request_iterator:
            yield note
            if index == 1:
                await misbehave("RouteChat", note.location, context)
            index += 1
"""

PROBE = """
\"\"\"python probe.py TARGET [--plain] [--tls] [--ca F] [--cert F --key F] RPC:LATITUDE[:LONGITUDE]...

Calls through the project's own `create_channel` (grpc.aio's in an aio project), or with
--plain through a grpc channel without the client's service config; prints one JSON per call.
\"\"\"
import argparse
import asyncio
import inspect
import json
from pathlib import Path

import grpc

from route_guide.generated import route_guide_pb2 as pb
from route_guide.generated import route_guide_pb2_grpc
from route_guide.generated.runtime.calling import create_channel
from route_guide.generated.runtime.tls import channel_credentials

parser = argparse.ArgumentParser()
parser.add_argument("target")
parser.add_argument("calls", nargs="+")
parser.add_argument("--plain", action="store_true")
parser.add_argument("--tls", action="store_true")
parser.add_argument("--ca", type=Path)
parser.add_argument("--cert", type=Path)
parser.add_argument("--key", type=Path)
parser.add_argument("--timeout", type=float, default=10.0)
args = parser.parse_args()
tls = args.tls or args.ca or args.cert
credentials = channel_credentials(args.ca, args.cert, args.key) if tls else None


def requests(call):
    rpc, latitude, longitude = (call + ":0").split(":")[:3]
    point = pb.Point(latitude=int(latitude), longitude=int(longitude))
    return rpc, {
        "GetFeature": point,
        "ListFeatures": pb.Rectangle(lo=point),
        "RecordRoute": [pb.Point(), pb.Point(), point],
        "RouteChat": [pb.RouteNote(location=point)] * 3,
    }[rpc]


def report(call, code, details, responses):
    print(json.dumps({"call": call, "code": code, "details": details, "responses": responses}), flush=True)


def run_sync(channel):
    stub = route_guide_pb2_grpc.RouteGuideStub(channel)
    for call in args.calls:
        rpc, request = requests(call)
        responses = 0
        try:
            answer = getattr(stub, rpc)(iter(request) if isinstance(request, list) else request, timeout=args.timeout)
            if rpc in ("ListFeatures", "RouteChat"):
                for _ in answer:
                    responses += 1
            else:
                responses = 1
            report(call, "OK", "", responses)
        except grpc.RpcError as error:
            report(call, error.code().name, error.details(), responses)


async def run_aio():
    async with create_channel(args.target, credentials) as channel:
        stub = route_guide_pb2_grpc.RouteGuideStub(channel)
        for call in args.calls:
            rpc, request = requests(call)
            responses = 0
            try:
                answer = getattr(stub, rpc)(iter(request) if isinstance(request, list) else request, timeout=args.timeout)
                if rpc in ("ListFeatures", "RouteChat"):
                    async for _ in answer:
                        responses += 1
                else:
                    await answer
                    responses = 1
                report(call, "OK", "", responses)
            except grpc.RpcError as error:
                report(call, error.code().name, error.details(), responses)


if args.plain:
    options = {"credentials": credentials} if credentials else {}
    run_sync(grpc.secure_channel(args.target, **options) if credentials else grpc.insecure_channel(args.target))
elif inspect.iscoroutinefunction(__import__("route_guide.generated.runtime.calling", fromlist=["run"]).__dict__.get("run")):
    asyncio.run(run_aio())
else:
    run_sync(create_channel(args.target, credentials))
"""


def make_project(directory: Path, aio: bool, *flags: str) -> Path:
    project = directory / ("project_aio" if aio else "project")
    result = run_scaffold("new", REPO / "protos/route_guide.proto", "-o", project, *flags, *(["--aio"] if aio else []))
    assert result.returncode == 0, result.stderr
    (project / "route_guide/servicer.py").write_text(AIO_SERVICER if aio else SYNC_SERVICER)
    (project / "probe.py").write_text(PROBE)
    return project


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    """One project per flavour, metrics on, shared by the tests of this module (read-only)."""
    directory = tmp_path_factory.mktemp("production")
    return {aio: make_project(directory, aio, "--metrics") for aio in (False, True)}


def probe(project: Path, port: int, *calls: str, options: tuple[str, ...] = ()) -> dict[str, dict[str, object]]:
    result = run_python("probe.py", f"127.0.0.1:{port}", *calls, *options, cwd=project, timeout=60)
    assert result.returncode == 0, result.stderr
    outcomes = [json.loads(line) for line in result.stdout.splitlines()]
    return {outcome.pop("call"): outcome for outcome in outcomes}


@FLAVOURS
def test_access_log_and_error_mapping_for_every_shape(projects: dict[bool, Path], aio: bool) -> None:
    project = projects[aio]
    calls = [f"{rpc}:{latitude}" for rpc in SHAPES for latitude in (0, 1, 2, 3)]
    with served(project, "route_guide", ["--log-format", "json", "--no-metrics"]) as server:
        outcomes = probe(project, server.port, *calls, options=("--plain",))
        printed = server.wait_for(ACCESS_LINE, count=len(calls))
        printed = server.printed + printed + server.stop()
    # Every line the server wrote, on stdout and stderr, is one JSON object a collector can read.
    lines = [json.loads(line) for line in printed]
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line), line
        assert RFC3339_UTC.match(line["time"]), line
    said = [line["message"] for line in lines if line["logger"] == "route_guide.server"]
    assert said[-2].startswith("Server listening on 127.0.0.1:") and said[-1] == "Server stopped", said
    failures = [line for line in lines if line["logger"] == "route_guide.errors"]
    assert len(failures) == len(SHAPES), failures
    for failure in failures:  # the traceback is a field of its line, not lines of its own
        assert failure["level"] == "ERROR" and "Traceback (most recent call last)" in failure["exception"]
    answered = {"GetFeature": 1, "ListFeatures": 2, "RecordRoute": 1, "RouteChat": 3}
    before_failing = {"GetFeature": 0, "ListFeatures": 2, "RecordRoute": 0, "RouteChat": 2}
    for rpc in SHAPES:
        assert outcomes[f"{rpc}:0"] == {"code": "OK", "details": "", "responses": answered[rpc]}
        # An unexpected exception: INTERNAL, a message that leaks nothing, mid-stream too.
        assert outcomes[f"{rpc}:1"] == {
            "code": "INTERNAL",
            "details": "internal server error",
            "responses": before_failing[rpc],
        }
        # context.abort passes through unchanged, and so does a failed call of the servicer's own.
        assert outcomes[f"{rpc}:2"] == {
            "code": "NOT_FOUND",
            "details": "nothing at 2",
            "responses": before_failing[rpc],
        }
        assert outcomes[f"{rpc}:3"]["code"] == "UNAVAILABLE"
    # The traceback, once per failing call, with the method's name; the access log, one line per call.
    output = "\n".join(printed)
    for rpc in SHAPES:
        assert output.count(f"ValueError: secret {rpc}") == 1, output
        assert f"/routeguide.RouteGuide/{rpc} failed" in output
    logged = [json.loads(line) for line in printed if ACCESS_LINE.search(line)]
    assert len(logged) == len(calls)
    codes = {}
    call = {"method", "shape", "code", "seconds", "peer", "requests", "responses"}
    for entry in logged:
        assert set(entry) == {"time", "level", "logger", "message", *call}, entry
        assert entry["message"].startswith(f"{entry['method']} {entry['code']} ") and entry["level"] == "INFO"
        assert entry["peer"].startswith("ipv4:127.0.0.1:") and entry["seconds"] > 0
        codes.setdefault(entry["method"].rsplit("/", 1)[1], []).append(entry["code"])
    for rpc in SHAPES:
        assert sorted(codes[rpc]) == sorted(["OK", "INTERNAL", "NOT_FOUND", "UNAVAILABLE"])
    chats = [entry for entry in logged if entry["method"].endswith("RouteChat") and entry["code"] == "OK"]
    assert [(c["shape"], c["requests"], c["responses"]) for c in chats] == [("bidi_stream", 3, 3)]
    routes = [entry for entry in logged if entry["method"].endswith("RecordRoute") and entry["code"] == "OK"]
    assert [(r["shape"], r["requests"], r["responses"]) for r in routes] == [("client_stream", 3, 1)]


@FLAVOURS
def test_access_log_as_text_and_off(projects: dict[bool, Path], aio: bool) -> None:
    project = projects[aio]
    with served(project, "route_guide", ["--no-metrics"]) as server:
        probe(project, server.port, "GetFeature:0")
        (line,) = [line for line in server.wait_for(re.compile("route_guide.access")) if "access" in line]
    assert re.search(
        r"INFO route_guide\.access: /routeguide\.RouteGuide/GetFeature OK [\d.]+ms peer=ipv4:127\.0\.0\.1:\d+ requests=1 responses=1$",
        line,
    )
    with served(project, "route_guide", ["--no-metrics", "--no-access-log"]) as server:
        probe(project, server.port, "GetFeature:1")
        printed = server.wait_for(re.compile("ValueError: secret GetFeature"))
        printed += server.stop()
    assert not any("route_guide.access" in line for line in printed)


@FLAVOURS
def test_retry_policy_and_metrics(projects: dict[bool, Path], aio: bool) -> None:
    project = projects[aio]
    flags = ["--metrics-port", "0", "--keepalive-seconds", "1", "--max-connection-age-seconds", "1"]
    with served(project, "route_guide", flags) as server:
        (metrics_url,) = [m.group(1) for line in server.printed if (m := re.search(r"Metrics on (http://\S+)", line))]
        # UNAVAILABLE the first time: the client's service config retries it; a plain channel does not.
        assert probe(project, server.port, "GetFeature:4:1")["GetFeature:4:1"]["code"] == "OK"
        plain = probe(project, server.port, "GetFeature:4:3", options=("--plain",))
        assert plain["GetFeature:4:3"] == {"code": "UNAVAILABLE", "details": "try again", "responses": 0}
        probe(project, server.port, "GetFeature:0", "GetFeature:1", "RouteChat:0")
        server.wait_for(re.compile("route_guide.access: /routeguide.RouteGuide/RouteChat"))
        scraped = urllib.request.urlopen(metrics_url, timeout=10).read().decode()
    labels = 'grpc_code="{code}",grpc_method="{method}",grpc_service="routeguide.RouteGuide",grpc_type="{shape}"'

    def handled(method: str, code: str, shape: str = "unary") -> float:
        wanted = "grpc_server_handled_total{" + labels.format(code=code, method=method, shape=shape) + "} "
        (line,) = [line for line in scraped.splitlines() if line.startswith(wanted)]
        return float(line.split()[-1])

    assert handled("GetFeature", "OK") == 2  # the retried call, and GetFeature:0
    assert handled("GetFeature", "UNAVAILABLE") == 2  # the first attempt, and the plain channel's
    assert handled("GetFeature", "INTERNAL") == 1
    assert handled("RouteChat", "OK", "bidi_stream") == 1
    assert (
        'grpc_server_msg_received_total{grpc_method="RouteChat",grpc_service="routeguide.RouteGuide",grpc_type="bidi_stream"} 3.0'
        in scraped
    )
    assert "grpc_server_handling_seconds_bucket" in scraped


def test_reuse_port_is_asked_for_never_silent(projects: dict[bool, Path]) -> None:
    project = projects[False]
    with served(project, "route_guide", ["--no-metrics"]) as first:
        second = run_python(
            "-m", "route_guide.server", "--host", "127.0.0.1", "--port", str(first.port), cwd=project, timeout=60
        )
        assert second.returncode == 1
        assert second.stderr == f"address already in use: 127.0.0.1:{first.port}\n"
        assert first.process.poll() is None
    sharing = ["--no-metrics", "--reuse-port"]
    with (
        served(project, "route_guide", sharing) as first,
        served(project, "route_guide", [*sharing, "--port", str(first.port)]) as second,
    ):
        assert second.port == first.port
        assert probe(project, first.port, "GetFeature:0")["GetFeature:0"]["code"] == "OK"


def make_certificates(directory: Path) -> dict[str, Path]:
    """Two CAs, a server certificate (localhost, 127.0.0.1) and a client certificate from each, as PEM files."""
    now = datetime.datetime.now(datetime.timezone.utc)
    files: dict[str, Path] = {}

    def write(name: str, pem: bytes) -> None:
        files[name] = directory / name
        files[name].write_bytes(pem)

    def issue(name: str, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None, server: bool = False):  # type: ignore[no-untyped-def]
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer[0].subject if issuer else subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
        )
        if server:
            names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        certificate = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
        write(f"{name}.pem", certificate.public_bytes(serialization.Encoding.PEM))
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        write(f"{name}.key", private)
        return certificate, key

    for prefix in ("", "other_"):
        ca = issue(f"{prefix}ca", None)
        issue(f"{prefix}server", ca, server=True)
        issue(f"{prefix}client", ca)
    return files


@FLAVOURS
def test_tls_and_mutual_tls(projects: dict[bool, Path], tmp_path: Path, aio: bool) -> None:
    project = projects[aio]
    certs = make_certificates(tmp_path)
    every_shape = [f"{rpc}:0" for rpc in SHAPES]
    tls = ["--no-metrics", "--tls-cert", str(certs["server.pem"]), "--tls-key", str(certs["server.key"])]
    with served(project, "route_guide", tls) as server:
        assert "TLS on" in server.printed
        outcomes = probe(project, server.port, *every_shape, options=("--ca", str(certs["ca.pem"])))
        assert {outcome["code"] for outcome in outcomes.values()} == {"OK"}
        client = run_python(
            "-m",
            "route_guide.client",
            "--target",
            f"localhost:{server.port}",
            "--ca",
            str(certs["ca.pem"]),
            cwd=project,
        )
        assert client.returncode == 0, client.stdout + client.stderr
        target = f"127.0.0.1:{server.port}"
        called = run_scaffold(
            "call",
            "-C",
            project,
            "--target",
            target,
            "--tls",
            "--ca",
            certs["ca.pem"],
            "GetFeature",
            "-d",
            '{"latitude": 7}',
        )
        assert called.returncode == 0, called.stderr
        assert json.loads(called.stdout)["location"] == {"latitude": 7}
        # Without the CA (the system's roots) or in plaintext: no connection.
        assert (
            probe(project, server.port, "GetFeature:0", options=("--plain", "--tls"))["GetFeature:0"]["code"]
            == "UNAVAILABLE"
        )
        assert (
            probe(project, server.port, "GetFeature:0", options=("--plain",))["GetFeature:0"]["code"] == "UNAVAILABLE"
        )
        # Rotated files are served from the next handshake on, without a restart.
        certs["server.pem"].write_bytes(certs["other_server.pem"].read_bytes())
        certs["server.key"].write_bytes(certs["other_server.key"].read_bytes())
        rotated = probe(project, server.port, "GetFeature:0", options=("--plain", "--ca", str(certs["other_ca.pem"])))
        assert rotated["GetFeature:0"]["code"] == "OK"

    mutual = ["--no-metrics", "--tls-cert", str(certs["other_server.pem"]), "--tls-key", str(certs["other_server.key"])]
    mutual += ["--tls-client-ca", str(certs["ca.pem"])]
    server_ca = ("--ca", str(certs["other_ca.pem"]))
    with served(project, "route_guide", mutual) as server:
        assert "TLS on, client certificates required" in server.printed
        without = probe(project, server.port, "GetFeature:0", options=("--plain", *server_ca))
        assert without["GetFeature:0"]["code"] == "UNAVAILABLE"
        foreign = ("--cert", str(certs["other_client.pem"]), "--key", str(certs["other_client.key"]))
        assert (
            probe(project, server.port, "GetFeature:0", options=("--plain", *server_ca, *foreign))["GetFeature:0"][
                "code"
            ]
            == "UNAVAILABLE"
        )
        signed = ("--cert", str(certs["client.pem"]), "--key", str(certs["client.key"]))
        outcomes = probe(project, server.port, *every_shape, options=(*server_ca, *signed))
        assert {outcome["code"] for outcome in outcomes.values()} == {"OK"}
        client = run_python(
            "-m", "route_guide.client", "--target", f"127.0.0.1:{server.port}", *server_ca, *signed, cwd=project
        )
        assert client.returncode == 0, client.stdout + client.stderr


@FLAVOURS
def test_json_logs_hold_the_handshake_grpc_logs_for_a_plaintext_client(
    projects: dict[bool, Path], tmp_path: Path, aio: bool
) -> None:
    """An HTTP/1 request or a plaintext client at a TLS port (a load balancer's probe, a scanner)
    makes grpc's C core log a failed handshake on stderr, where `logging` never sees it: with
    `--log-format json` that line, too, is one JSON object."""
    certs = make_certificates(tmp_path)
    tls = ["--log-format", "json", "--no-metrics", "--tls-cert", str(certs["server.pem"])]
    with served(projects[aio], "route_guide", [*tls, "--tls-key", str(certs["server.key"])]) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as http:
            http.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        plaintext = probe(projects[aio], server.port, "GetFeature:0", options=("--plain",))
        assert plaintext["GetFeature:0"]["code"] == "UNAVAILABLE"
        printed = server.wait_for(re.compile("Handshake failed"), count=2)
        printed = server.printed + printed + server.stop()
    lines = [json.loads(line) for line in printed]  # every line: stdout's and stderr's
    handshakes = [line for line in lines if line["message"].startswith("Handshake failed")]
    assert len(handshakes) >= 2, lines
    for line in handshakes:
        assert line["logger"] == "grpc" and line["level"] in ("INFO", "ERROR"), line
        assert re.fullmatch(r"[\w./-]+\.cc:\d+", line["source"]), line
    assert "Server stopped" in [line["message"] for line in lines], lines


def test_tls_files_are_checked_before_serving(projects: dict[bool, Path], tmp_path: Path) -> None:
    project = projects[False]
    certs = make_certificates(tmp_path)

    def start(*flags: str | Path) -> subprocess.CompletedProcess[str]:
        return run_python(
            "-m", "route_guide.server", "--port", "0", "--no-metrics", *map(str, flags), cwd=project, timeout=60
        )

    missing = start("--tls-cert", tmp_path / "nope.pem", "--tls-key", certs["server.key"])
    assert missing.returncode == 2
    assert f"argument --tls-cert: cannot read {tmp_path / 'nope.pem'}: No such file or directory" in missing.stderr
    mismatched = start("--tls-cert", certs["server.pem"], "--tls-key", certs["client.key"])
    assert mismatched.returncode == 2 and "are not a PEM certificate and its private key" in mismatched.stderr
    alone = start("--tls-cert", certs["server.pem"])
    assert alone.returncode == 2 and "--tls-cert and --tls-key go together" in alone.stderr
    not_a_ca = start(
        "--tls-cert", certs["server.pem"], "--tls-key", certs["server.key"], "--tls-client-ca", certs["server.key"]
    )
    assert not_a_ca.returncode == 2 and "holds no PEM certificate" in not_a_ca.stderr
    for result in (missing, mismatched, alone, not_a_ca):
        assert "Traceback" not in result.stderr


def test_tls_required_by_the_config(tmp_path: Path) -> None:
    project = tmp_path / "project"
    result = run_scaffold("new", REPO / "protos/route_guide.proto", "-o", project, "--tls")
    assert result.returncode == 0, result.stderr
    assert "\ntls = true\n" in (project / "pyproject.toml").read_text()
    started = run_python("-m", "route_guide.server", "--port", "0", cwd=project, timeout=60)
    assert started.returncode == 2
    assert "--tls-cert and --tls-key are required: the project sets tls" in started.stderr


def test_metrics_dependency_only_when_on(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    assert run_scaffold("new", REPO / "protos/route_guide.proto", "-o", plain).returncode == 0
    assert "prometheus" not in (plain / "pyproject.toml").read_text()
    assert not (plain / "route_guide/generated/runtime/metrics.py").exists()
    text = (plain / "pyproject.toml").read_text()
    (plain / "pyproject.toml").write_text(text.replace("metrics = false", "metrics = true"))
    result = run_scaffold("gen", cwd=plain)
    assert result.returncode == 0, result.stderr
    assert '"prometheus-client>=' in (plain / "pyproject.toml").read_text()
    assert (plain / "route_guide/generated/runtime/metrics.py").is_file()
    assert "metrics.record" in (plain / "route_guide/generated/runtime/interceptors.py").read_text()
    # The project's own tests still pass with metrics on.
    tests = run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=plain, timeout=300)
    assert tests.returncode == 0, tests.stdout


def test_dev_serves_over_tls(tmp_path: Path) -> None:
    """`scaffold dev -- --tls-cert ... --tls-key ...`: dev sees the server ready although it speaks TLS."""
    project = tmp_path / "project"
    assert run_scaffold("new", REPO / "protos/helloworld.proto", "-o", project).returncode == 0
    certs = make_certificates(tmp_path)
    dev = Dev(project, ["--tls-cert", str(certs["server.pem"]), "--tls-key", str(certs["server.key"])])
    try:
        port = dev.wait_for("startup: serving on").rpartition(":")[2].split()[0]
        target, ca = f"127.0.0.1:{port}", certs["ca.pem"]
        called = run_scaffold("call", "-C", project, "--target", target, "--tls", "--ca", ca, "SayHello", "-d", "{}")
        assert called.stderr.startswith("UNIMPLEMENTED: "), called.stderr
    finally:
        dev.process.send_signal(signal.SIGINT)
        assert dev.process.wait(timeout=60) == 0


@FLAVOURS
def test_a_call_past_its_deadline_is_logged_as_such(projects: dict[bool, Path], aio: bool) -> None:
    project = projects[aio]
    with served(project, "route_guide", ["--log-format", "json", "--no-metrics"]) as server:
        outcomes = probe(
            project, server.port, "GetFeature:5", "ListFeatures:5", options=("--plain", "--timeout", "0.3")
        )
        printed = server.wait_for(ACCESS_LINE, count=2)
    assert {outcome["code"] for outcome in outcomes.values()} == {"DEADLINE_EXCEEDED"}
    logged = [json.loads(line) for line in printed if ACCESS_LINE.search(line)]
    assert {(entry["method"].rsplit("/", 1)[1], entry["code"]) for entry in logged} == {
        ("GetFeature", "DEADLINE_EXCEEDED"),
        ("ListFeatures", "DEADLINE_EXCEEDED"),
    }
