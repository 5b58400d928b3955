// A real Connect client (@connectrpc/connect-node) calling the methods a JSON plan names,
// over the Connect protocol or gRPC-Web, in JSON or binary; it prints what each call got.
//   node connect_client.mjs PLAN.json
// PLAN: {"baseUrl", "protocol": "connect" | "grpc-web", "binary": bool, "descriptors": path of a
//        FileDescriptorSet, "service": full name, "calls": [{"method", "request", "timeoutMs"?}]}
// Out: one JSON array: {"responses": [...]} or {"error": {"code", "message"}} per call.
import { readFileSync } from "node:fs";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { createFileRegistry, fromBinary, fromJson, toJson } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(plan.descriptors)));
const service = registry.getService(plan.service);
if (!service) throw new Error(`no service ${plan.service} in ${plan.descriptors}`);
const options = { baseUrl: plan.baseUrl, httpVersion: "1.1", useBinaryFormat: plan.binary };
const transport = plan.protocol === "grpc-web" ? createGrpcWebTransport(options) : createConnectTransport(options);
const client = createClient(service, transport);

const results = [];
for (const call of plan.calls) {
  const method = service.methods.find((m) => m.name === call.method);
  const request = fromJson(method.input, call.request, { registry });
  const callOptions = call.timeoutMs ? { timeoutMs: call.timeoutMs } : {};
  try {
    let answers;
    if (method.methodKind === "server_streaming") {
      answers = [];
      for await (const answer of client[method.localName](request, callOptions)) answers.push(answer);
    } else {
      answers = [await client[method.localName](request, callOptions)];
    }
    results.push({ responses: answers.map((a) => toJson(method.output, a, { registry })) });
  } catch (error) {
    const failure = ConnectError.from(error);
    // Code names are PascalCase ("DeadlineExceeded"); grpc's are DEADLINE_EXCEEDED.
    const code = Code[failure.code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
    results.push({ error: { code, message: failure.rawMessage } });
  }
}
process.stdout.write(JSON.stringify(results));
