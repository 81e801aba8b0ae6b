// The test host against the real thing: the same byte streams (pipelined, split to single
// bytes, refused for each reason) go through Envoy + filter + Kafka and through the test host;
// the filter must end up with the same counters and the same open/closed connection in both,
// so that what the fuzzer finds in the host holds in Envoy.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { suiteTestBed } from "../harness/testbed.ts";
import { exchange, requestFrame } from "../harness/raw_client.ts";
import { WASM } from "../harness/paths.ts";
import { ProxyWasmHost } from "../host/proxy_wasm_host.ts";

const COUNTERS = ["requests_forwarded", "requests_malformed", "requests_unsupported_version", "requests_oversized",
  "connections_closed_protocol_error"];

// Metadata v6 for all topics: null topic list, no auto-creation.
const metadataAll = () => requestFrame(3, 6, 2, "cross", Buffer.from("ffffffff00", "hex"));
const apiVersions = () => requestFrame(18, 2, 1, "cross");
const truncated = () => {
  const f = metadataAll().subarray(0, -2);
  const copy = Buffer.from(f);
  copy.writeInt32BE(copy.length - 4, 0);
  return copy;
};
const bytes = (b: Buffer) => [...b].map((x) => Buffer.from([x]));

const STREAMS: [string, () => Buffer[]][] = [
  ["two pipelined requests in one write", () => [Buffer.concat([apiVersions(), metadataAll()])]],
  ["a request in single bytes", () => bytes(apiVersions())],
  ["an unknown API key", () => [requestFrame(999, 0, 1, "cross")]],
  ["a negative frame size", () => [Buffer.from("ffffff00000000", "hex")]],
  ["a body that does not decode", () => [truncated()]],
  ["a good request, then an unknown version", () => [apiVersions(), requestFrame(3, 99, 2, "cross")]],
  ["an oversized frame", () => [Buffer.from("7fffff00", "hex")]],
];

describe("the test host behaves like Envoy for the filter", () => {
  const suite = suiteTestBed("host-vs-envoy", { max_request_bytes: 1048576 });
  const { guard } = suite;
  let host: ProxyWasmHost;

  before(async () => {
    host = await ProxyWasmHost.load(WASM);
    assert.ok(host.configure({ max_request_bytes: 1048576 }));
  });

  const envoyCounters = async () => {
    const stats = await suite.bed.envoy.stats("kafka_proxy.");
    return COUNTERS.map((n) => stats.get(`wasmcustom.kafka_proxy.${n}`) ?? 0);
  };
  const hostCounters = () => COUNTERS.map((n) => Number(host.metric(`kafka_proxy.${n}`) ?? 0n));

  for (const [name, stream] of STREAMS) {
    test(name, guard(async () => {
      const envoyBefore = await envoyCounters();
      const r = await exchange(suite.bed.envoy.listenPort, stream(), { timeoutMs: 1500, gapMs: 5 });
      const envoyDelta = (await envoyCounters()).map((v, i) => v - envoyBefore[i]);

      const hostBefore = hostCounters();
      const c = host.connect();
      for (const chunk of stream()) host.downstream(c, chunk);
      const hostClosed = c.closed;
      host.close(c);
      const hostDelta = hostCounters().map((v, i) => v - hostBefore[i]);

      assert.deepEqual(hostDelta, envoyDelta, `counters ${COUNTERS.join(", ")}`);
      assert.equal(hostClosed, r.closedByPeer, "closed by the filter");
    }));
  }
});
