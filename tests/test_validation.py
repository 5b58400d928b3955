"""Issue 31, protovalidate: with `validate = true` every request message is checked against the protos'
`buf.validate` rules before the method sees it (each message of a request stream as the method reads it),
sync and aio, gRPC and web; a refusal is INVALID_ARGUMENT with the violations as `google.rpc.Status`
details, which the generated client and `scaffold call` print; responses are checked on request; the
generated client and tests send requests built from the rules. `buf/validate/validate.proto` is the user's
(vendored, as `buf export` does); here it is printed from protovalidate's own sdist (tests/prototext.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import prototext
import pytest
from conftest import at_key, check_project, run_python, run_scaffold, run_tests_in_fresh_venv, served, tree

from scaffold.live import details

PROTOVALIDATE = "1.2.0"
"""The runtime the tests install (pyproject.toml's test extras): its sdist holds the rules it was built with."""

SHOP = """syntax = "proto3";

package shop.v1;

import "buf/validate/validate.proto";

// Takes and follows orders.
service Orders {
  // Places one order.
  rpc Place(PlaceRequest) returns (PlaceReply);
  // Places an order from a stream of items.
  rpc Upload(stream Item) returns (PlaceReply);
  // Streams an order's items.
  rpc Watch(WatchRequest) returns (stream Item);
  // Echoes items back.
  rpc Chat(stream Item) returns (stream Item);
}

message Item {
  string sku = 1 [(buf.validate.field).string.min_len = 3];
  int32 quantity = 2 [(buf.validate.field).int32 = {gt: 0, lte: 100}];
}

message PlaceRequest {
  string email = 1 [(buf.validate.field).string.email = true];
  repeated Item items = 2 [(buf.validate.field).repeated.min_items = 1];
}

message PlaceReply {
  string order_id = 1 [(buf.validate.field).string.min_len = 1];
}

message WatchRequest {
  string order_id = 1 [(buf.validate.field).required = true];
}
"""

SYNC_SERVICER = '''"""Orders, implemented: a reply that breaks its own rule on request ("bad...")."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from shop.generated import shop_pb2, shop_pb2_grpc


class OrdersServicer(shop_pb2_grpc.OrdersServicer):
    def Place(self, request: shop_pb2.PlaceRequest, context: grpc.ServicerContext) -> shop_pb2.PlaceReply:
        if request.email.startswith("gone"):  # a status of the method's own, with a reply that breaks a rule
            context.set_code(grpc.StatusCode.NOT_FOUND)
            context.set_details("no such order")
        return shop_pb2.PlaceReply(order_id="" if request.email.startswith(("bad", "gone")) else "o-1")

    def Upload(
        self, request_iterator: Iterator[shop_pb2.Item], context: grpc.ServicerContext
    ) -> shop_pb2.PlaceReply:
        return shop_pb2.PlaceReply(order_id=f"o-{sum(1 for _ in request_iterator)}")

    def Watch(self, request: shop_pb2.WatchRequest, context: grpc.ServicerContext) -> Iterator[shop_pb2.Item]:
        yield shop_pb2.Item(sku="abc", quantity=1)
        yield shop_pb2.Item(sku="abc", quantity=0 if request.order_id == "bad" else 2)

    def Chat(
        self, request_iterator: Iterator[shop_pb2.Item], context: grpc.ServicerContext
    ) -> Iterator[shop_pb2.Item]:
        yield from request_iterator
'''

AIO_SERVICER = '''"""Orders, implemented with grpc.aio: a reply that breaks its own rule on request ("bad...")."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc.aio

from shop.generated import shop_pb2, shop_pb2_grpc


class OrdersServicer(shop_pb2_grpc.OrdersServicer):
    async def Place(
        self, request: shop_pb2.PlaceRequest, context: grpc.aio.ServicerContext[shop_pb2.PlaceRequest, shop_pb2.PlaceReply]
    ) -> shop_pb2.PlaceReply:
        if request.email.startswith("gone"):  # a status of the method's own, with a reply that breaks a rule
            context.set_code(grpc.StatusCode.NOT_FOUND)
            context.set_details("no such order")
        return shop_pb2.PlaceReply(order_id="" if request.email.startswith(("bad", "gone")) else "o-1")

    async def Upload(
        self, request_iterator: AsyncIterator[shop_pb2.Item], context: grpc.aio.ServicerContext[shop_pb2.Item, shop_pb2.PlaceReply]
    ) -> shop_pb2.PlaceReply:
        count = 0
        async for _ in request_iterator:
            count += 1
        return shop_pb2.PlaceReply(order_id=f"o-{count}")

    async def Watch(
        self, request: shop_pb2.WatchRequest, context: grpc.aio.ServicerContext[shop_pb2.WatchRequest, shop_pb2.Item]
    ) -> AsyncIterator[shop_pb2.Item]:
        yield shop_pb2.Item(sku="abc", quantity=1)
        yield shop_pb2.Item(sku="abc", quantity=0 if request.order_id == "bad" else 2)

    async def Chat(
        self, request_iterator: AsyncIterator[shop_pb2.Item], context: grpc.aio.ServicerContext[shop_pb2.Item, shop_pb2.Item]
    ) -> AsyncIterator[shop_pb2.Item]:
        async for item in request_iterator:
            yield item
'''

CALLS = """import sys

import grpc

from shop.generated import shop_pb2, shop_pb2_grpc
from shop.generated.runtime.calling import field_violations

stub = shop_pb2_grpc.OrdersStub(grpc.insecure_channel(sys.argv[1]))
good = shop_pb2.Item(sku="abcd", quantity=3)


def show(name, call):
    try:
        call()
        print(name, "OK")
    except grpc.RpcError as error:
        print(name, error.code().name, error.details())
        for line in field_violations(error):
            print("   ", line)


show("place", lambda: stub.Place(shop_pb2.PlaceRequest(email="a@example.com", items=[good])))
show("place-bad", lambda: stub.Place(shop_pb2.PlaceRequest(email="nope")))
show("place-nested", lambda: stub.Place(shop_pb2.PlaceRequest(email="a@example.com", items=[good, {"sku": "x", "quantity": 500}])))
show("upload", lambda: stub.Upload(iter([good, good])))
show("upload-third", lambda: stub.Upload(iter([good, good, shop_pb2.Item(sku="x", quantity=1)])))
show("watch", lambda: list(stub.Watch(shop_pb2.WatchRequest(order_id="x"))))
show("watch-bad", lambda: list(stub.Watch(shop_pb2.WatchRequest())))
show("chat-second", lambda: list(stub.Chat(iter([good, shop_pb2.Item(sku="ab", quantity=1)]))))
show("reply-bad", lambda: stub.Place(shop_pb2.PlaceRequest(email="bad@example.com", items=[good])))
show("stream-reply-bad", lambda: list(stub.Watch(shop_pb2.WatchRequest(order_id="bad"))))
show("place-gone", lambda: stub.Place(shop_pb2.PlaceRequest(email="gone@example.com", items=[good])))
"""

REFUSALS = """place OK
place-bad INVALID_ARGUMENT invalid PlaceRequest: email: must be a valid email address (and 1 more)
    email: must be a valid email address [string.email]
    items: must contain at least 1 item(s) [repeated.min_items]
place-nested INVALID_ARGUMENT invalid PlaceRequest: items[1].sku: must be at least 3 characters (and 1 more)
    items[1].sku: must be at least 3 characters [string.min_len]
    items[1].quantity: must be greater than 0 and less than or equal to 100 [int32.gt_lte]
upload OK
upload-third INVALID_ARGUMENT invalid Item: sku: must be at least 3 characters
    sku: must be at least 3 characters [string.min_len]
watch OK
watch-bad INVALID_ARGUMENT invalid WatchRequest: order_id: value is required
    order_id: value is required [required]
chat-second INVALID_ARGUMENT invalid Item: sku: must be at least 3 characters
    sku: must be at least 3 characters [string.min_len]
"""


@pytest.fixture(scope="module")
def rules_proto() -> str:
    """buf/validate/validate.proto as protovalidate PROTOVALIDATE was built from (kept in the user's cache)."""
    return prototext.protovalidate_rules(PROTOVALIDATE).read_text()


def _protos(root: Path, rules: str, shop: str = SHOP) -> Path:
    (root / "protos/buf/validate").mkdir(parents=True)
    (root / "protos/buf/validate/validate.proto").write_text(rules)
    (root / "protos/shop.proto").write_text(shop)
    return root / "protos"


@pytest.mark.parametrize("flavour", ["sync", "aio"])
def test_requests_that_break_a_rule_are_refused_before_the_method_in_every_shape(
    tmp_path: Path, rules_proto: str, flavour: str
) -> None:
    protos = _protos(tmp_path, rules_proto)
    project = tmp_path / "p"
    made = run_scaffold(
        "new",
        protos / "shop.proto",
        "-I",
        protos,
        "--validate",
        "--name",
        "shop",
        "-o",
        project,
        *(["--aio"] if flavour == "aio" else []),
    )
    assert made.returncode == 0, made.stderr
    files = tree(project)
    # The rules are the project's own module; no `buf` package is needed beside it.
    assert "shop/generated/buf/validate/validate_pb2.py" in files and not any(p.startswith("buf/") for p in files)
    assert '"protovalidate>=1.2,<2",' in files["pyproject.toml"].decode()
    # The fresh project's own tests pass: its requests keep the rules, its refusal tests break one.
    assert check_project(project, "shop").passed == 6
    # Its code (the requests built from the rules laid out as ruff would) and scaffold's runtime are ruff's.
    for target in (".", "shop/generated/runtime"):
        for tool in (("check",), ("format", "--check")):
            linted = run_python("-m", "ruff", *tool, "--no-cache", target, cwd=project)
            assert linted.returncode == 0, linted.stdout

    (project / "shop/servicer.py").write_text(AIO_SERVICER if flavour == "aio" else SYNC_SERVICER)
    (project / "calls.py").write_text(CALLS)
    with served(project, "shop") as server:
        said = run_python("calls.py", f"127.0.0.1:{server.port}", cwd=project)
        logged = server.wait_for(re.compile(r"/Chat INVALID_ARGUMENT"))
    assert said.stdout.startswith(REFUSALS), said.stdout + said.stderr
    # Responses are not checked unless asked: a reply that breaks its rule goes out.
    assert said.stdout.endswith("reply-bad OK\nstream-reply-bad OK\nplace-gone NOT_FOUND no such order\n"), said.stdout
    # The access log sees the status, and counts the messages the method read.
    assert any("/Upload INVALID_ARGUMENT" in line and "requests=3" in line for line in logged), logged

    with served(project, "shop", ["--validate-responses"]) as server:
        said = run_python("calls.py", f"127.0.0.1:{server.port}", cwd=project)
        logged = server.wait_for(re.compile(r"answered with an invalid Item"))
    assert said.stdout.endswith(
        "reply-bad INTERNAL invalid response: invalid PlaceReply: order_id: must be at least 1 characters\n"
        "stream-reply-bad INTERNAL invalid response: invalid Item: quantity: "
        "must be greater than 0 and less than or equal to 100\n"
        "place-gone NOT_FOUND no such order\n"  # the method's own status stands
    ), said.stdout
    assert any("/Place answered with an invalid PlaceReply: order_id" in line for line in logged), logged


def test_scaffold_call_prints_the_fields_a_request_broke_over_grpc_and_the_web(
    tmp_path: Path, rules_proto: str
) -> None:
    protos = _protos(tmp_path, rules_proto)
    project = tmp_path / "p"
    made = run_scaffold(
        "new", protos / "shop.proto", "-I", protos, "--validate", "--web", "--name", "shop", "-o", project
    )
    assert made.returncode == 0, made.stderr
    (project / "shop/servicer.py").write_text(SYNC_SERVICER)
    request = '{"email": "x", "items": [{"sku": "a", "quantity": 1}]}'
    expected = (
        "INVALID_ARGUMENT: invalid PlaceRequest: email: must be a valid email address (and 1 more)\n"
        "  email: must be a valid email address [string.email]\n"
        "  items[0].sku: must be at least 3 characters [string.min_len]\n"
    )
    with served(project, "shop", ["--http-port", "0"]) as server:
        announced = server.wait_for(re.compile(r"Web \(Connect, gRPC-Web\) listening on http://.*:\d+$"))[-1]
        web_port = int(announced.rpartition(":")[2])
        called = run_scaffold(
            "call", "Orders/Place", "--target", f"127.0.0.1:{server.port}", "-d", request, cwd=project
        )
        assert (called.returncode, called.stderr) == (1, expected)
        for protocol in ("connect", "grpc-web"):
            called = run_scaffold(
                "call",
                "Orders/Place",
                "--target",
                f"127.0.0.1:{web_port}",
                "--protocol",
                protocol,
                "-d",
                request,
                cwd=project,
            )
            assert (called.returncode, called.stderr) == (1, expected), protocol
        # curl, as any HTTP client: Connect's error, its details typed (base64 values, unpadded).
        curl = shutil.which("curl")
        assert curl, "the web refusal is read with curl: install it"
        answered = subprocess.run(
            [
                curl,
                "-s",
                "-w",
                "\n%{http_code}",
                "-H",
                "content-type: application/json",
                "-d",
                request,
                f"http://127.0.0.1:{web_port}/shop.v1.Orders/Place",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        body, _, status = answered.stdout.rpartition("\n")
        error = json.loads(body)
        assert status == "400" and error["code"] == "invalid_argument", answered.stdout
        assert [d["type"] for d in error["details"]] == ["google.rpc.BadRequest", "buf.validate.Violations"]
        assert details.from_connect(error["details"]) == [
            line.strip() for line in expected.splitlines()[1:]
        ] and not any(d["value"].endswith("=") for d in error["details"])


def test_validate_without_the_rules_among_the_imports_is_refused_and_nothing_changes(
    tmp_path: Path, rules_proto: str
) -> None:
    protos = _protos(
        tmp_path,
        rules_proto,
        shop='syntax = "proto3";\npackage plain;\nmessage M { string a = 1; }\nservice S { rpc Get(M) returns (M); }\n',
    )
    refused = run_scaffold("new", protos / "shop.proto", "--validate", "-o", tmp_path / "n")
    assert refused.returncode == 2 and not (tmp_path / "n").exists(), refused.stderr
    assert refused.stderr.startswith("--validate: validate = true, but no proto imports buf/validate/validate.proto")

    project = tmp_path / "p"
    assert run_scaffold("new", protos / "shop.proto", "-o", project).returncode == 0
    config = project / "pyproject.toml"
    config.write_text(config.read_text() + "validate = true\n")
    before = tree(project)
    refused = run_scaffold("gen", "-C", project)
    assert refused.returncode == 2 and tree(project) == before, refused.stderr
    assert (
        f"{at_key(config, 'validate')}: validate = true, but no proto imports buf/validate/validate.proto"
        in refused.stderr
    )

    config.write_text(config.read_text().replace("validate = true\n", "validate_responses = true\n"))
    refused = run_scaffold("gen", "-C", project)
    assert refused.returncode == 2, refused.stderr
    assert f"{at_key(config, 'validate_responses')}: [tool.scaffold] validate_responses:" in refused.stderr


RULES = """syntax = "proto3";
package rules.v1;
import "buf/validate/validate.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

enum Color { COLOR_UNSPECIFIED = 0; COLOR_RED = 1; COLOR_BLUE = 2; }
message Inner { string name = 1 [(buf.validate.field).string = {min_len: 2, max_len: 5}]; }
message Everything {
  string email = 1 [(buf.validate.field).string.email = true];
  string host = 2 [(buf.validate.field).string.hostname = true];
  string uuid = 3 [(buf.validate.field).string.uuid = true];
  string uri = 4 [(buf.validate.field).string.uri = true];
  string prefixed = 5 [(buf.validate.field).string = {prefix: "id-", min_len: 6}];
  string choice = 6 [(buf.validate.field).string = {in: ["a", "b"]}];
  string exact = 7 [(buf.validate.field).string.const = "fixed"];
  string code = 8 [(buf.validate.field).string = {pattern: "^[A-Z]{3}[0-9]*$"}];
  int32 percent = 9 [(buf.validate.field).int32 = {gte: 0, lte: 100}];
  int64 positive = 10 [(buf.validate.field).int64.gt = 0];
  uint32 small = 11 [(buf.validate.field).uint32.lt = 10];
  double ratio = 12 [(buf.validate.field).double = {gt: 0, lt: 1}];
  float outside = 13 [(buf.validate.field).float = {gt: 10, lt: 5}];
  sint32 listed = 14 [(buf.validate.field).sint32 = {in: [3, 5, 7]}];
  bool on = 15 [(buf.validate.field).bool.const = true];
  bytes blob = 16 [(buf.validate.field).bytes = {min_len: 2, max_len: 4}];
  Color color = 17 [(buf.validate.field).enum = {defined_only: true, not_in: [0]}];
  repeated string tags = 18 [(buf.validate.field).repeated = {min_items: 2, unique: true, items: {string: {min_len: 1}}}];
  map<string, int32> counts = 19 [(buf.validate.field).map = {min_pairs: 1, values: {int32: {gt: 5}}}];
  Inner inner = 20 [(buf.validate.field).required = true];
  repeated Inner inners = 21 [(buf.validate.field).repeated.min_items = 1];
  optional string nickname = 22 [(buf.validate.field).string.min_len = 3];
  google.protobuf.Timestamp at = 23 [(buf.validate.field).required = true];
  string must = 24 [(buf.validate.field).required = true];
  oneof target {
    option (buf.validate.oneof).required = true;
    string user = 25 [(buf.validate.field).string.min_len = 4];
    int32 group = 26;
  }
  fixed64 big = 28 [(buf.validate.field).fixed64 = {gte: 100}];
  bytes tagged = 29 [(buf.validate.field).bytes = {prefix: "\\x01\\x02"}];
  string described = 30 [(buf.validate.field).string = {min_len: 1, example: "x"}];
}
message Nested { Everything e = 1 [(buf.validate.field).required = true]; }
message Bounded { sfixed32 a = 1 [(buf.validate.field).sfixed32 = {gt: -5, lt: -1}]; float f = 2 [(buf.validate.field).float.lte = -2]; }
message OptionalOnly { optional int32 n = 1 [(buf.validate.field).int32.gt = 10]; }
message Unsigned {
  uint32 a = 1 [(buf.validate.field).uint32.lte = 100, (buf.validate.field).required = true];
  repeated uint32 b = 2 [(buf.validate.field).repeated = {min_items: 2, items: {uint32: {not_in: [0]}}}];
  uint64 c = 3 [(buf.validate.field).uint64 = {not_in: [0, 1], lt: 9}];
}
message Binary {
  bytes png = 1 [(buf.validate.field).bytes.prefix = "\\x89PNG"];
  bytes must = 2 [(buf.validate.field).required = true];
}
message RequiredEnum { Color c = 1 [(buf.validate.field).required = true]; }
message NoFormat { string e = 1 [(buf.validate.field).string.email = false]; }
message FormatAndSuffix { string e = 1 [(buf.validate.field).string = {email: true, suffix: "@acme.com"}]; }
message Expression { int32 a = 1 [(buf.validate.field).cel_expression = "this > 5 ? '' : 'small'"]; }
message Keyword { string from = 1 [(buf.validate.field).string.min_len = 1]; }
message EnumMap { map<string, Color> m = 1 [(buf.validate.field).map.min_pairs = 1]; }
message PresenceOnly {
  string name = 1 [(buf.validate.field).string.min_len = 1];
  google.protobuf.Duration timeout = 2 [(buf.validate.field).duration = {gt: {seconds: 0}}];
  google.protobuf.Int32Value page = 3 [(buf.validate.field).int32.gt = 0];
  optional string from = 4 [(buf.validate.field).string.min_len = 1];
}
message Listed {
  int32 level = 1 [(buf.validate.field).required = true, (buf.validate.field).int32 = {in: [0, 1, 2]}];
  string s = 2 [(buf.validate.field).required = true, (buf.validate.field).string = {in: ["", "asc"]}];
  string t = 3 [(buf.validate.field).string = {in: ["a", "bb"], min_len: 2}];
  int32 u = 4 [(buf.validate.field).int32 = {in: [1, 5], gt: 3}];
}
message Limits {
  int32 n = 1 [(buf.validate.field).int32 = {gte: -2147483648, lt: 0}];
  float f = 2 [(buf.validate.field).float.gte = 100000000];
  int32 nz = 3 [(buf.validate.field).int32.not_in = 0];
  double dz = 4 [(buf.validate.field).double.not_in = 0];
}
message FloatOnly { float f = 1 [(buf.validate.field).float.gte = 100000000]; double g = 2 [(buf.validate.field).double.not_in = 0]; }
message Mismatch { string s = 1 [(buf.validate.field).int32.gt = 0]; }
message WithCel {
  option (buf.validate.message).cel = {id: "x", message: "m", expression: "this.a < this.b"};
  int32 a = 1; int32 b = 2;
}
"""

LEGACY = """syntax = "proto2";
package rules.v2;
import "buf/validate/validate.proto";
message Legacy {
  required int32 id = 1;
  optional string name = 2 [(buf.validate.field).string.min_len = 2];
  required string code = 3 [(buf.validate.field).string.min_len = 3];
}
message LegacyRequired {
  required string code = 1 [(buf.validate.field).required = true, (buf.validate.field).string.min_len = 2];
}
"""

SAMPLES_CHECK = """
import json, sys
from google.protobuf import descriptor_pb2
from scaffold.generation import rulesamples
import protovalidate
import rules_pb2, legacy_pb2

files = descriptor_pb2.FileDescriptorSet.FromString(open("set.pb", "rb").read()).file
found = {}
for name, sample in rulesamples.samples(files, sys.argv[1:]).items():
    module = rules_pb2 if name.startswith("rules.v1.") else legacy_pb2
    kind = getattr(module, name.rpartition(".")[2])
    valid = None if sample.valid is None else eval(f"kind({sample.valid})")
    invalid = None if sample.invalid is None else eval(f"kind({sample.invalid})")
    found[name] = {
        "unbuildable": sample.unbuildable,
        "valid": None if valid is None else [v.proto.rule_id for v in protovalidate.collect_violations(valid)],
        "sent": None if valid is None else len(valid.SerializeToString()) >= 0,
        "broken": sample.broken,
        "invalid": None if invalid is None else [
            v.proto.field.elements[0].field_name for v in protovalidate.collect_violations(invalid)
        ],
    }
print(json.dumps(found))
"""

BUILT = ("Everything", "Nested", "Bounded", "OptionalOnly", "Inner", "Unsigned", "Binary", "RequiredEnum", "NoFormat")
BUILT += ("PresenceOnly", "Listed", "Limits", "FloatOnly")
UNBUILDABLE = {
    "FormatAndSuffix": "rules.v1.FormatAndSuffix.e: string.email with other string rules",
    "Expression": "rules.v1.Expression.a: its cel_expression rules",
    "Keyword": "from (a field named like a Python keyword)",
    "EnumMap": "rules.v1.EnumMap.m: a map of enums",
    "WithCel": "rules.v1.WithCel's message rules (buf.validate.message)",
    "Mismatch": "rules.v1.Mismatch.s: int32 rules on a field of another type",
}


def test_requests_built_from_the_rules_keep_them_and_break_one_as_protovalidate_judges(
    tmp_path: Path, rules_proto: str
) -> None:
    """Each request built keeps every rule and serializes (protovalidate finds nothing, proto2's required
    fields are set), and its broken twin breaks exactly the one field named; a rule whose meaning is not
    known here (a format with an affix, a CEL expression, ...) leaves the message unbuilt, naming it."""
    protos = _protos(tmp_path, rules_proto, shop=RULES)
    (protos / "legacy.proto").write_text(LEGACY)
    (protos / "rules.proto").write_text(RULES)
    from grpc_tools import protoc

    include = Path(protoc.__file__).parent / "_proto"
    arguments = [
        "protoc",
        f"-I{protos}",
        f"-I{include}",
        "--include_imports",
        f"--descriptor_set_out={tmp_path}/set.pb",
    ]
    arguments += [f"--python_out={tmp_path}", "rules.proto", "legacy.proto", "buf/validate/validate.proto"]
    assert protoc.main(arguments) == 0
    names = [f"rules.v1.{name}" for name in (*BUILT, *UNBUILDABLE)] + ["rules.v2.Legacy", "rules.v2.LegacyRequired"]
    checked = subprocess.run(
        [sys.executable, "-c", SAMPLES_CHECK, *names],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(Path(__file__).parent.parent)])},
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    found = json.loads(checked.stdout)
    for name in [f"rules.v1.{name}" for name in BUILT] + ["rules.v2.Legacy", "rules.v2.LegacyRequired"]:
        sample = found[name]
        assert sample["valid"] == [] and sample["sent"], (name, sample)  # protovalidate finds nothing wrong
        if sample["broken"]:
            assert sample["invalid"] == [sample["broken"]], (name, sample)
        else:
            assert sample["invalid"] is None, (name, sample)
    broken = {name: found[f"rules.v1.{name}"]["broken"] for name in ("Everything", "Inner", "Unsigned", "Binary")}
    assert broken == {"Everything": "email", "Inner": "name", "Unsigned": "a", "Binary": "png"}
    assert found["rules.v1.RequiredEnum"]["broken"] == "c" and found["rules.v2.Legacy"]["broken"] == "name"
    # Fields with presence left unset keep their rules; a keyword-named one is never the one broken.
    assert found["rules.v1.PresenceOnly"]["broken"] == "name" and found["rules.v2.LegacyRequired"]["broken"] == "code"
    # A listed value keeps the field's other rules; a broken number fits its type; a float's bound as float32 holds it.
    assert (found["rules.v1.Listed"]["broken"], found["rules.v1.Limits"]["broken"]) == ("level", "n")
    assert found["rules.v1.FloatOnly"]["broken"] == "g"
    assert {name: found[f"rules.v1.{name}"]["unbuildable"] for name in UNBUILDABLE} == UNBUILDABLE


def test_error_details_that_do_not_decode_are_said_so_and_others_named_by_type() -> None:
    assert details.from_trailers([("grpc-status-details-bin", b"\xff\xff")]) == ["(error details that do not decode)"]
    assert details.from_trailers([("other", b"x")]) == []
    assert details.from_connect([{"type": "google.rpc.RetryInfo", "value": "CgIIAQ"}]) == ["(google.rpc.RetryInfo)"]
    assert details.from_connect([{"type": "google.rpc.BadRequest", "value": "!!"}]) == [
        "(google.rpc.BadRequest that does not decode)"
    ]
    assert details.from_connect("not a list") == []


def test_a_validated_project_installs_in_a_fresh_venv_from_its_own_dependencies(
    tmp_path: Path, rules_proto: str
) -> None:
    """protovalidate and googleapis-common-protos come from the project's dependencies (PyPI); no `buf`
    package is installed, and none is missed."""
    protos = _protos(tmp_path, rules_proto)
    project = tmp_path / "p"
    assert (
        run_scaffold(
            "new", protos / "shop.proto", "-I", protos, "--validate", "--name", "shop", "-o", project
        ).returncode
        == 0
    )
    python, tested = run_tests_in_fresh_venv(project, tmp_path / "venv")
    assert tested.returncode == 0 and "6 passed" in tested.stdout, tested.stdout + tested.stderr
    no_buf = subprocess.run(
        [str(python), "-c", "import importlib.util; print(importlib.util.find_spec('buf'))"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert no_buf.stdout.strip() == "None", no_buf.stdout
