// The test host against the real thing: the same byte streams (pipelined, split to single
// bytes, refused for each reason, ACL answers and hidden entries) go through Envoy + filter +
// Kafka, with a recording relay between Envoy and the broker, and then through the test host,
// fed the broker's recorded answers at the same points. Both must forward exactly the same bytes
// to the broker and to the client, end with the same open/closed connection and the same
// counters, so that what the fuzzer finds in the host holds in Envoy.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createConnection } from "node:net";
import { join } from "node:path";
import { rmSync } from "node:fs";
import { requireInstalled, scratchDir, WASM } from "../harness/paths.ts";
import { freePort, sleep } from "../harness/process.ts";
import { startKafka, KafkaBroker } from "../harness/kafka.ts";
import { startEnvoy, Envoy } from "../harness/envoy.ts";
import { startRecordingRelay, RecordingRelay, RelayedConnection } from "../harness/recording_relay.ts";
import { frameBoundaries, requestFrame } from "../harness/raw_client.ts";
import { ProxyWasmHost } from "../host/proxy_wasm_host.ts";
import { POLICIES } from "../host/fuzz.ts";
import { createTopics } from "../harness/broker_view.ts";

const COUNTERS = ["requests_forwarded", "responses_forwarded", "requests_malformed", "requests_unsupported_version",
  "requests_oversized", "connections_closed_protocol_error", "authz.requests_denied", "authz.entries_denied", "authz.entries_hidden",
  "rewrite.names_renamed", "rewrite.names_restored", "rewrite.names_hidden"];

const str = (s: string) => {
  const b = Buffer.alloc(2 + s.length);
  b.writeInt16BE(s.length, 0);
  b.write(s, 2);
  return b;
};
// Metadata v6 for the given topics (null: all), no auto-creation.
const metadata = (topics: string[] | null, correlation = 2) => {
  const count = Buffer.alloc(4);
  count.writeInt32BE(topics === null ? -1 : topics.length, 0);
  return requestFrame(3, 6, correlation, "cross", Buffer.concat([count, ...(topics ?? []).map(str), Buffer.from([0])]));
};
const apiVersions = (correlation = 1) => requestFrame(18, 2, correlation, "cross");
const truncated = () => {
  const f = Buffer.from(metadata(null).subarray(0, -2));
  f.writeInt32BE(f.length - 4, 0);
  return f;
};
const bytes = (b: Buffer) => [...b].map((x) => Buffer.from([x]));

type Stream = [string, () => Buffer[]];

const FRAMING: Stream[] = [
  ["two pipelined requests in one write", () => [Buffer.concat([apiVersions(), metadata(null)])]],
  ["a request in single bytes", () => bytes(apiVersions())],
  ["a frame boundary inside the second request's header", () => {
    const both = Buffer.concat([apiVersions(), metadata(null)]);
    const cut = apiVersions().length + 6;
    return [both.subarray(0, cut), both.subarray(cut)];
  }],
  ["an unknown API key", () => [requestFrame(999, 0, 1, "cross")]],
  ["a negative frame size", () => [Buffer.from("ffffff00000000", "hex")]],
  ["a body that does not decode", () => [truncated()]],
  // The filter closes in the callback that holds both: Envoy forwards neither.
  ["a good request and a malformed one in the same write", () => [Buffer.concat([apiVersions(), truncated()])]],
  ["a good request, then an unknown version", () => [apiVersions(), requestFrame(3, 99, 2, "cross")]],
  ["an oversized frame", () => [Buffer.from("7fffff00", "hex")]],
];

const ACLS: Stream[] = [
  ["a refused topic alone", () => [metadata(["secrets"])]],
  ["a refused topic next to an allowed one", () => [metadata(["orders", "secrets"])]],
  ["all topics, the refused one hidden from the answer", () => [metadata(null)]],
  ["refused and allowed requests pipelined, split inside a header", () => {
    const all = Buffer.concat([metadata(["secrets"], 5), apiVersions(6), metadata(["orders"], 7)]);
    return [all.subarray(0, 9), all.subarray(9, 40), all.subarray(40)];
  }],
];

// The client id "cross" as a tenant: its names get the prefix "t.", answers lose it, and other
// topics are hidden. Edited frames leave as several ranges (a replace, then appends).
const REWRITE_POLICY = { principal_sources: ["client_id"], rewrite: { tenants: [{ principal: "User:cross", prefix: "t." }] } };
const REWRITE: Stream[] = [
  ["a topic named by its client name", () => [metadata(["orders"])]],
  ["all topics: the tenant's without the prefix, the others hidden", () => [metadata(null)]],
  ["renamed and listed requests pipelined, split inside a header", () => {
    const all = Buffer.concat([metadata(["orders"], 5), apiVersions(6), metadata(null, 7)]);
    return [all.subarray(0, 9), all.subarray(9, 40), all.subarray(40)];
  }],
];

interface Recorded {
  // What the client sent at each step, and what the broker sent back before the next step.
  steps: { chunk: Buffer; broker: Buffer }[];
  received: Buffer;
  closedByPeer: boolean;
  relayed: RelayedConnection;
}

// Sends the chunks one at a time, each only once the previous one's effects have settled (the
// broker answered every request it got, and no byte moved on either side for a while), so that the host can be fed the broker's answers at
// the same points of the stream as Envoy saw them.
async function stepwise(envoy: Envoy, relay: RecordingRelay, chunks: Buffer[]): Promise<Recorded> {
  const known = relay.connections.length;
  const s = createConnection({ host: "127.0.0.1", port: envoy.listenPort });
  const parts: Buffer[] = [];
  let closed = false;
  let lastActivity = Date.now();
  s.on("data", (d) => {
    parts.push(d);
    lastActivity = Date.now();
  });
  s.on("close", () => (closed = true));
  s.on("error", () => (closed = true));
  await new Promise((r) => s.once("connect", r));
  // tcp_proxy connects upstream as soon as the client connects.
  const deadline = Date.now() + 5000;
  while (relay.connections.length === known && Date.now() < deadline) await sleep(5);
  const relayed = relay.connections[known];
  assert.ok(relayed, "Envoy opened an upstream connection");
  const brokerBytes = () => relayed.fromBroker.reduce((n, b) => n + b.length, 0) + relayed.toBroker.reduce((n, b) => n + b.length, 0);
  const steps: Recorded["steps"] = [];
  let seenFromBroker = 0;
  for (const chunk of chunks) {
    if (closed) break;
    s.write(chunk);
    lastActivity = Date.now();
    let moved = brokerBytes();
    const settleBy = Date.now() + 5000;
    while (!closed && Date.now() < settleBy) {
      await sleep(20);
      if (brokerBytes() !== moved) {
        moved = brokerBytes();
        lastActivity = Date.now();
      }
      // Kafka answers every request here (no acks=0 Produce), stand-ins for the filter's answers included.
      const unanswered = frameBoundaries(Buffer.concat(relayed.toBroker)).length - frameBoundaries(Buffer.concat(relayed.fromBroker)).length;
      if (unanswered === 0 && Date.now() - lastActivity >= 200) break;
    }
    const fromBroker = Buffer.concat(relayed.fromBroker);
    steps.push({ chunk, broker: fromBroker.subarray(seenFromBroker) });
    seenFromBroker = fromBroker.length;
  }
  s.destroy();
  return { steps, received: Buffer.concat(parts), closedByPeer: closed, relayed };
}

// `moved`: counters the streams must have moved in Envoy, so that agreeing is not agreeing on nothing.
function crossCheck(name: string, filterConfig: object, streams: Stream[], moved: string[], topics: string[] = []) {
  describe(`the test host behaves like Envoy for the filter (${name})`, () => {
    let dir = "";
    let kafka: KafkaBroker;
    let relay: RecordingRelay;
    let envoy: Envoy;
    let host: ProxyWasmHost;
    let failed = false;

    before(async () => {
      requireInstalled();
      dir = scratchDir(`host-vs-envoy-${name}`);
      const listenPort = await freePort();
      kafka = await startKafka(join(dir, "kafka"), listenPort);
      if (topics.length > 0) await createTopics(kafka, topics);
      relay = await startRecordingRelay(kafka.proxiedPort);
      envoy = await startEnvoy(dir, { listenPort, upstreamPort: relay.port, filterConfig });
      host = await ProxyWasmHost.load(WASM);
      assert.ok(host.configure(filterConfig));
    });
    after(async () => {
      await envoy?.stop();
      await relay?.stop();
      await kafka?.stop();
      if (failed) console.error(`host-vs-envoy logs kept in ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    });

    const envoyCounters = async () => {
      const stats = await envoy.stats("kafka_proxy.");
      return COUNTERS.map((n) => stats.get(`wasmcustom.kafka_proxy.${n}`) ?? 0);
    };
    const hostCounters = () => COUNTERS.map((n) => Number(host.metric(`kafka_proxy.${n}`) ?? 0n));

    for (const [title, stream] of streams) {
      test(title, async () => {
        try {
          const envoyBefore = await envoyCounters();
          const r = await stepwise(envoy, relay, stream());
          const envoyDelta = (await envoyCounters()).map((v, i) => v - envoyBefore[i]);

          const hostBefore = hostCounters();
          const c = host.connect();
          for (const step of r.steps) {
            host.downstream(c, step.chunk);
            if (step.broker.length > 0) host.upstream(c, step.broker);
          }
          const hostClosed = c.closed;
          host.close(c);
          const hostDelta = hostCounters().map((v, i) => v - hostBefore[i]);

          assert.ok(envoyDelta.some((v) => v > 0), "the stream moved a counter");
          assert.deepEqual(c.hostErrors, []);
          assert.equal(Buffer.concat(c.toUpstream).toString("hex"), Buffer.concat(r.relayed.toBroker).toString("hex"), "bytes forwarded to the broker");
          assert.equal(Buffer.concat(c.toDownstream).toString("hex"), r.received.toString("hex"), "bytes forwarded to the client");
          assert.equal(hostClosed, r.closedByPeer, "closed by the filter");
          assert.deepEqual(hostDelta, envoyDelta, `counters ${COUNTERS.join(", ")}`);
        } catch (e) {
          failed = true;
          throw e;
        }
      });
    }

    test("the streams exercised what they are about (counters moved in Envoy)", async () => {
      const stats = await envoy.stats("kafka_proxy.");
      for (const n of moved) assert.ok((stats.get(`wasmcustom.kafka_proxy.${n}`) ?? 0) > 0, n);
    });
  });
}

crossCheck("framing", { max_request_bytes: 1048576 }, FRAMING, ["requests_malformed", "requests_oversized", "requests_unsupported_version"]);
crossCheck("acls", POLICIES.acls, ACLS, ["authz.entries_denied", "authz.entries_hidden"], ["orders", "secrets"]);
crossCheck("rewrite", REWRITE_POLICY, REWRITE, ["rewrite.names_renamed", "rewrite.names_restored", "rewrite.names_hidden"],
  ["t.orders", "t.payments", "orders", "other"]);
