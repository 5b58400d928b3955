// The page tests/test_web.py opens in headless Chromium, bundled by esbuild with connect-web:
// it calls GetFeature and ListFeatures of route_guide on the server ?api= names (another origin,
// so CORS decides), over ?protocol= (connect or grpc-web), writes what it got into #out, then
// reports #out's text to its own origin (POST /result), where the test reads it.
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { createFileRegistry, fromBinary, toJson } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { DESCRIPTORS } from "./descriptors.mjs";

const params = new URLSearchParams(location.search);
const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, base64Decode(DESCRIPTORS)));
const service = registry.getService("routeguide.RouteGuide");
const method = (name) => service.methods.find((m) => m.name === name);
const transport = (params.get("protocol") === "grpc-web" ? createGrpcWebTransport : createConnectTransport)({
  baseUrl: params.get("api"),
});
const client = createClient(service, transport);
const out = {};
try {
  const feature = await client.getFeature({ latitude: 409146138, longitude: -746188906 });
  out.feature = toJson(method("GetFeature").output, feature);
  out.listed = [];
  const rectangle = { lo: { latitude: 400000000, longitude: -750000000 }, hi: { latitude: 420000000, longitude: -730000000 } };
  for await (const found of client.listFeatures(rectangle)) out.listed.push(found.name);
} catch (error) {
  out.error = String(error);
}
document.getElementById("out").textContent = JSON.stringify(out);
await fetch("/result", { method: "POST", body: document.getElementById("out").textContent });
