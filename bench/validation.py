"""What protovalidate's request validation (`validate = true`) costs a call, in one run.

Makes a project with `scaffold new --validate` from two messages: `Point`, the
size of route_guide's (two int32 fields, a range rule each), and `Order`, with
20 rules (lengths, an email, a UUID, a pattern, ranges, `in`, an enum, a
repeated field's items, a required message). Its servicer echoes each request.
Then, in the same process tree:

- the cost of checking one message, each message alone (`validation.violations_of`,
  the interceptor's own call), in microseconds, after a first call compiles the rules;
- loopback unary calls, one at a time, to two servers of that project side by side:
  one validating (the default), one started with `--no-validation`; blocks of calls
  alternate between them, so a slow moment of the machine favours neither. The ratio
  is the median call with validation to the median without.

    python bench/validation.py [--calls 2000] [--rounds 5]

Needs protovalidate (the test extras) and, once, PyPI: `buf/validate/validate.proto`
is printed from protovalidate's sdist as the tests print it (tests/prototext.py).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import prototext  # tests/ is where the rules' printer lives

PROTO = """syntax = "proto3";
package bench.v1;
import "buf/validate/validate.proto";

message Point {
  int32 latitude = 1 [(buf.validate.field).int32 = {gte: -900000000, lte: 900000000}];
  int32 longitude = 2 [(buf.validate.field).int32 = {gte: -1800000000, lte: 1800000000}];
}

enum Kind { KIND_UNSPECIFIED = 0; KIND_STANDARD = 1; KIND_EXPRESS = 2; }

message Order {
  string id = 1 [(buf.validate.field).string.uuid = true];
  string email = 2 [(buf.validate.field).string.email = true];
  string name = 3 [(buf.validate.field).string = {min_len: 1, max_len: 80}];
  string code = 4 [(buf.validate.field).string.pattern = "^[A-Z]{3}-[0-9]{4}$"];
  string country = 5 [(buf.validate.field).string = {len: 2}];
  string currency = 6 [(buf.validate.field).string = {in: ["EUR", "USD", "GBP"]}];
  string note = 7 [(buf.validate.field).string.max_len = 500];
  string website = 8 [(buf.validate.field).string.uri = true];
  string host = 9 [(buf.validate.field).string.hostname = true];
  int32 quantity = 10 [(buf.validate.field).int32 = {gt: 0, lte: 1000}];
  int64 cents = 11 [(buf.validate.field).int64.gte = 0];
  double discount = 12 [(buf.validate.field).double = {gte: 0, lt: 1}];
  uint32 priority = 13 [(buf.validate.field).uint32.lte = 10];
  Kind kind = 14 [(buf.validate.field).enum = {defined_only: true, not_in: [0]}];
  repeated string tags = 15 [(buf.validate.field).repeated = {max_items: 10, items: {string: {min_len: 1}}}];
  Point destination = 16 [(buf.validate.field).required = true];
  bool gift = 17;
  string ip = 18 [(buf.validate.field).string.ip = true];
  string prefix = 19 [(buf.validate.field).string.prefix = "ord-"];
  sint32 delta = 20 [(buf.validate.field).sint32 = {gte: -5, lte: 5}];
}

service Echo {
  rpc Where(Point) returns (Point);
  rpc Place(Order) returns (Order);
}
"""

SERVICER = """import grpc

from bench.generated import bench_pb2, bench_pb2_grpc


class EchoServicer(bench_pb2_grpc.EchoServicer):
    def Where(self, request: bench_pb2.Point, context: grpc.ServicerContext) -> bench_pb2.Point:
        return request

    def Place(self, request: bench_pb2.Order, context: grpc.ServicerContext) -> bench_pb2.Order:
        return request
"""

MEASURE = """
import statistics, subprocess, sys, time
import grpc
from bench.generated import bench_pb2, bench_pb2_grpc
from bench.generated.runtime import validation

calls, rounds = int(sys.argv[1]), int(sys.argv[2])
point = bench_pb2.Point(latitude=409146138, longitude=-746188906)
order = bench_pb2.Order(
    id="3f2504e0-4f89-41d3-9a0c-0305e82c3301", email="ada@example.com", name="Ada", code="ABC-1234",
    country="GB", currency="GBP", note="leave at the door", website="https://example.com/", host="example.com",
    quantity=3, cents=1999, discount=0.1, priority=2, kind="KIND_EXPRESS", tags=["a", "b"],
    destination=point, ip="192.0.2.1", prefix="ord-7", delta=-1,
)
for message in (point, order):
    assert validation.violations_of(message) == [], validation.violations_of(message)

def per_message(message):
    validation.violations_of(message)  # the first compiles the rules
    best = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            validation.violations_of(message)
        best.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(best)

def started(*flags):
    server = subprocess.Popen([sys.executable, "-m", "bench.server", "--host", "127.0.0.1", "--port", "0",
                               "--no-access-log", *flags], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = server.stdout.readline()
    return server, int(line.rstrip().rpartition(":")[2])

print(f"check of one message: Point {per_message(point):.1f} us, Order (20 rules) {per_message(order):.1f} us")
servers = {"validated": started(), "unvalidated": started("--no-validation")}
try:
    stubs = {side: bench_pb2_grpc.EchoStub(grpc.insecure_channel(f"127.0.0.1:{port}")) for side, (_, port) in servers.items()}
    for name, call, message in (("Point", "Where", point), ("Order", "Place", order)):
        times = {side: [] for side in stubs}
        for side, stub in stubs.items():
            for _ in range(200):
                getattr(stub, call)(message)  # connected, warm
        for turn in range(rounds * 2):
            for side in (list(stubs) if turn % 2 == 0 else list(stubs)[::-1]):
                method = getattr(stubs[side], call)
                for _ in range(calls // 4):
                    start = time.perf_counter()
                    method(message)
                    times[side].append(time.perf_counter() - start)
        on, off = (statistics.median(times[side]) * 1e6 for side in ("validated", "unvalidated"))
        print(f"unary {name}: {off:.0f} us unvalidated, {on:.0f} us validated: {on / off:.2f}x")
finally:
    for server, _ in servers.values():
        server.terminate()
        server.wait()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rules = prototext.protovalidate_rules("1.2.0")
    scratch = Path(tempfile.mkdtemp(prefix="bench-validation-"))
    try:
        protos = scratch / "protos"
        (protos / "buf/validate").mkdir(parents=True)
        shutil.copy(rules, protos / "buf/validate/validate.proto")
        (protos / "bench.proto").write_text(PROTO)
        project = scratch / "p"
        made = subprocess.run(
            [
                sys.executable,
                "-m",
                "scaffold",
                "new",
                protos / "bench.proto",
                "-I",
                protos,
                "--validate",
                "-o",
                project,
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO,
        )
        if made.returncode != 0:
            sys.exit(made.stderr)
        (project / "bench/servicer.py").write_text(SERVICER)
        subprocess.run([sys.executable, "-c", MEASURE, str(args.calls), str(args.rounds)], cwd=project, check=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
