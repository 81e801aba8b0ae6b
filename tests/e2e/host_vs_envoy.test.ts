// The test host against the real thing: the same byte streams (pipelined, split to single
// bytes, refused for each reason, ACL answers and hidden entries) go through Envoy + filter +
// Kafka, with a recording relay between Envoy and the broker, and then through the test host,
// fed the broker's recorded answers at the same points. Both must forward exactly the same bytes
// to the broker and to the client, end with the same open/closed connection and the same
// counters, so that what the fuzzer finds in the host holds in Envoy.
// The ABI byte counters (abi_bytes_read, abi_bytes_written, and bytes_forwarded, which counts
// data callbacks' input) are not among the counters compared with Envoy: what the module copies
// depends on where the data callbacks fall, and Envoy's fall where its socket reads do, which
// the host cannot reproduce byte for byte (the broker's answer to one step may come in two
// reads; a 1 MiB write comes in several, each ending inside a frame that then leaves rewritten,
// where the host's single callback leaves Envoy's buffer untouched: 3,146,098 bytes written in
// Envoy against 0 in the host for three 1 MiB Produce requests; a client's FIN gives one more
// callback, after the stats were read). They are checked in the host replay instead: the
// module's counts equal the bytes the host copied in proxy_get_buffer_bytes and
// proxy_set_buffer_bytes (as the fuzzer checks on every case). HOST_VS_ENVOY_DEBUG=1 prints
// both runs' counts per stream.
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
import { fetchByIdFrame, frameBoundaries, requestFrame } from "../harness/raw_client.ts";
import { call, encodeRequest } from "../harness/kafka_codec.ts";
import { recordBatch } from "./oracle/fill.ts";
import { ProxyWasmHost } from "../host/proxy_wasm_host.ts";
import { POLICIES } from "../host/fuzz.ts";
import { createTopics } from "../harness/broker_view.ts";
import { str } from "../harness/kafka_bytes.ts";

const COUNTERS = ["requests_forwarded", "responses_forwarded", "requests_malformed", "requests_unsupported_version",
  "requests_oversized", "connections_closed_protocol_error", "authz.requests_denied", "authz.entries_denied", "authz.entries_hidden",
  "rewrite.names_renamed", "rewrite.names_restored", "rewrite.names_hidden", "rewrite.names_too_long", "rewrite.topic_ids_refused",
  "authz.topic_ids_unknown"];

// Reported (HOST_VS_ENVOY_DEBUG=1) for both runs, compared only with the host's own count of its copies.
const ABI_COUNTERS = ["abi_bytes_read", "abi_bytes_written", "bytes_forwarded"];

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

// ---------------------------------------------------------------------------------------------
// The paths of issue 14 (record payloads stay in Envoy, frames decided as soon as their
// decision-relevant bytes are in): the regression net for that rewrite of the data path. The
// same semantics hold before and after it, so these streams pass against either filter.

// The broker's topic ids (Metadata v12 on its direct listener), by name, for the streams that
// name topics by id; filled in before each suite's streams run.
const topicIds = new Map<string, Buffer>();
const idOf = (topic: string) => {
  const id = topicIds.get(topic);
  if (!id) throw new Error(`no topic id known for ${topic}`);
  return id;
};

// Produce v7 (names) or v9 (flexible, names) or v13 (topic ids), acks=1, one batch of one
// record to partition 0 of `topic`; the batch too, to find its header in the frame.
function produceParts(version: 7 | 9 | 13, correlation: number, topic: string, value: string): { frame: Buffer; batch: Buffer } {
  const batch = recordBatch(value);
  const named = version < 13 ? { Name: topic } : { TopicId: idOf(topic) };
  const frame = encodeRequest(0, version, correlation, "cross", { TransactionalId: null, Acks: 1, TimeoutMs: 5000,
    TopicData: [{ ...named, PartitionData: [{ Index: 0, Records: batch }] }] });
  return { frame, batch };
}
const produce = (version: 7 | 9 | 13, correlation: number, topic: string, value: string) => produceParts(version, correlation, topic, value).frame;
// Metadata v12 (flexible; null: all topics): the broker's answer carries the topics' ids, which
// the filter learns.
const metadata12 = (topics: string[] | null, correlation = 3) =>
  encodeRequest(3, 12, correlation, "cross", { Topics: topics === null ? null : topics.map((Name) => ({ Name })), AllowAutoTopicCreation: false });
// Fetch v13 of partition 0 of `topic`, by its id (correlation id 41).
const fetchById = (topic: string) => fetchByIdFrame(idOf(topic).toString("hex"), "cross");

// `frame` cut into pieces at the given offsets.
function cut(frame: Buffer, ...at: number[]): Buffer[] {
  const ends = [...at, frame.length];
  return ends.map((end, i) => frame.subarray(i === 0 ? 0 : ends[i - 1], end));
}
// The offset `at` bytes into the first occurrence of `field` in `frame`.
function inside(frame: Buffer, field: Buffer | string, at: number): number {
  const i = frame.indexOf(field);
  if (i < 0) throw new Error("the field is not in the frame");
  return i + at;
}
const MiB = 1048576;
// A record value of 1 MiB: framed, larger than Envoy's per_connection_buffer_limit_bytes (1 MiB
// by default), so Envoy cannot hold such a frame whole while the filter waits for its end.
const big = (fill: string) => fill.repeat(MiB);

interface HotPathTopics {
  // A topic the client may use by name (as it names it) and the broker's name of it (for its id).
  allowed: string;
  allowedAtBroker: string;
  // A name the policy refuses (the ACLs) or cannot forward (too long once prefixed).
  refusedName: string;
  // A topic whose id the policy refuses (the ACLs) or does not know as the client's (another tenant's).
  refusedIdTopic: string;
}

function hotPathStreams(t: HotPathTopics): Stream[] {
  const { allowed, refusedName } = t;
  return [
    // (a) A decision-relevant field straddles two data callbacks.
    ["split inside a Produce's topic name", () => {
      const f = produce(7, 11, allowed, "split-name");
      return cut(f, inside(f, allowed, 3));
    }],
    ["split inside a refused Produce's topic name", () => {
      const f = produce(9, 12, refusedName, "refused-name");
      return cut(f, inside(f, refusedName, 2));
    }],
    ["split inside a Metadata request's topic names, allowed then refused", () => {
      const f = metadata([allowed, refusedName], 13);
      return cut(f, inside(f, allowed, 1), inside(f, refusedName, 4));
    }],
    ["split inside the second frame's size prefix", () => {
      const all = Buffer.concat([apiVersions(14), produce(7, 15, allowed, "size-split")]);
      return cut(all, apiVersions().length + 2);
    }],
    ["split inside the first frame's size prefix, then single bytes", () => {
      const f = produce(9, 16, allowed, "single-bytes");
      return [f.subarray(0, 3), ...bytes(f.subarray(3, 24)), f.subarray(24)];
    }],
    ["split inside a record batch header (its length, at its magic, its CRC, its record count)", () => {
      const { frame, batch } = produceParts(9, 17, allowed, "batch-header");
      const b = inside(frame, batch, 0);
      return cut(frame, b + 10, b + 16, b + 17, b + 58);
    }],
    ["split inside the topic id of a Produce v13 and of a Fetch v13", () => {
      // Metadata first: the filter learns the ids from the broker's answer.
      const p = produce(13, 18, t.allowedAtBroker, "by-id");
      const f = fetchById(t.allowedAtBroker);
      const id = idOf(t.allowedAtBroker);
      return [metadata12([allowed]), ...cut(p, inside(p, id, 7)), ...cut(f, inside(f, id, 1), inside(f, id, 15))];
    }],
    ["split inside the topic id of a Fetch v13 the policy refuses", () => {
      const f = fetchById(t.refusedIdTopic);
      return [metadata12(null), ...cut(f, inside(f, idOf(t.refusedIdTopic), 8))];
    }],
    // (b) A refusal right after a partially held frame.
    ["a Produce in three pieces, a refused Metadata request pipelined behind its end", () => {
      const p = produce(7, 21, allowed, "held");
      const third = Math.floor(p.length / 3);
      return [p.subarray(0, third), p.subarray(third, 2 * third), Buffer.concat([p.subarray(2 * third), metadata([refusedName], 22)])];
    }],
    ["a Produce in pieces, a refused Produce pipelined behind it, split inside that one's name", () => {
      const p = produce(9, 23, allowed, "held");
      const q = produce(9, 24, refusedName, "refused");
      return cut(Buffer.concat([p, q]), 20, p.length - 5, p.length + inside(q, refusedName, 3));
    }],
    ["a Fetch by id in pieces, a Fetch by a refused id pipelined behind it", () => {
      const f = fetchById(t.allowedAtBroker);
      const g = fetchById(t.refusedIdTopic);
      g.writeInt32BE(42, 8);
      return [metadata12(null), ...cut(Buffer.concat([f, g]), 30, f.length + 10)];
    }],
    ["a Produce held in two pieces, an unsupported version behind it (the connection closes)", () => {
      const p = produce(7, 25, allowed, "held-then-closed");
      return [p.subarray(0, 40), Buffer.concat([p.subarray(40), requestFrame(3, 99, 26, "cross")])];
    }],
    ["a Produce held in two pieces, a malformed request behind its last byte", () => {
      const p = produce(9, 27, allowed, "held-then-malformed");
      return [p.subarray(0, p.length - 1), Buffer.concat([p.subarray(p.length - 1), truncated()])];
    }],
    // (c) Pipelined Produce requests with 1 MiB records, several in one write.
    ["three Produce requests with 1 MiB records in one write", () =>
      [Buffer.concat([produce(7, 31, allowed, big("a")), produce(9, 32, allowed, big("b")), produce(7, 33, allowed, big("c"))])]],
    ["1 MiB records, a refused one between allowed ones, in one write", () =>
      [Buffer.concat([produce(9, 34, allowed, big("d")), produce(9, 35, refusedName, big("e")), produce(7, 36, allowed, big("f"))])]],
    ["a 1 MiB record in two writes, then two more and a Metadata request in one", () => {
      const p = produce(7, 37, allowed, big("g"));
      return [p.subarray(0, MiB / 2), Buffer.concat([p.subarray(MiB / 2), produce(9, 38, allowed, big("h")),
        produce(7, 39, allowed, big("i")), metadata([allowed], 40)])];
    }],
  ];
}
const ACLS_HOT_PATH = hotPathStreams({ allowed: "orders", allowedAtBroker: "orders", refusedName: "secrets", refusedIdTopic: "secrets" });
// Under the tenant: a name of 248 characters is too long once prefixed (Kafka's limit is 249),
// and `orders` without the prefix is another tenant's topic, whose id the client may not use.
const REWRITE_HOT_PATH = hotPathStreams({ allowed: "orders", allowedAtBroker: "t.orders", refusedName: "n".repeat(248), refusedIdTopic: "orders" });

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
      topicIds.clear();
      const known = await call(kafka.direct, 3, 12, "ids", { Topics: null, AllowAutoTopicCreation: false });
      for (const t of known.Topics) topicIds.set(t.Name, t.TopicId);
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
    const envoyAbi = async () => {
      const stats = await envoy.stats("kafka_proxy.");
      return ABI_COUNTERS.map((n) => stats.get(`wasmcustom.kafka_proxy.${n}`) ?? 0);
    };
    const hostCounters = () => COUNTERS.map((n) => Number(host.metric(`kafka_proxy.${n}`) ?? 0n));
    const abiCounters = () => ABI_COUNTERS.map((n) => Number(host.metric(`kafka_proxy.${n}`) ?? 0n));

    for (const [title, stream] of streams) {
      test(title, async () => {
        try {
          const envoyBefore = await envoyCounters();
          const envoyAbiBefore = await envoyAbi();
          const r = await stepwise(envoy, relay, stream());
          const envoyDelta = (await envoyCounters()).map((v, i) => v - envoyBefore[i]);
          const envoyAbiDelta = (await envoyAbi()).map((v, i) => v - envoyAbiBefore[i]);

          const hostBefore = hostCounters();
          const abiBefore = abiCounters();
          const c = host.connect();
          for (const step of r.steps) {
            host.downstream(c, step.chunk);
            if (step.broker.length > 0) host.upstream(c, step.broker);
          }
          const hostClosed = c.closed;
          host.close(c);
          const hostDelta = hostCounters().map((v, i) => v - hostBefore[i]);
          const abiDelta = abiCounters().map((v, i) => v - abiBefore[i]);

          if (process.env.HOST_VS_ENVOY_DEBUG) console.error(JSON.stringify({ title, closed: r.closedByPeer, toBroker: Buffer.concat(r.relayed.toBroker).length,
            toClient: r.received.length, abi: c.abiBytes, abiInEnvoy: envoyAbiDelta, moved: Object.fromEntries(COUNTERS.map((n, i) => [n, envoyDelta[i]]).filter(([, v]) => v !== 0)) }));
          assert.ok(envoyDelta.some((v) => v > 0), "the stream moved a counter");
          assert.deepEqual(c.hostErrors, []);
          assert.equal(Buffer.concat(c.toUpstream).toString("hex"), Buffer.concat(r.relayed.toBroker).toString("hex"), "bytes forwarded to the broker");
          assert.equal(Buffer.concat(c.toDownstream).toString("hex"), r.received.toString("hex"), "bytes forwarded to the client");
          assert.equal(hostClosed, r.closedByPeer, "closed by the filter");
          assert.deepEqual(hostDelta, envoyDelta, `counters ${COUNTERS.join(", ")}`);
          // The copies, against the host's own count of them (not against Envoy's: see the top).
          assert.deepEqual(abiDelta.slice(0, 2), [c.abiBytes.read, c.abiBytes.written], "abi_bytes_read, abi_bytes_written: the bytes the host copied");
          assert.ok(c.abiBytes.read > 0, "the module read the stream across the ABI");
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
crossCheck("acls", POLICIES.acls, [...ACLS, ...ACLS_HOT_PATH], ["authz.entries_denied", "authz.entries_hidden", "authz.requests_denied",
  "requests_malformed"], ["orders", "secrets"]);
crossCheck("rewrite", REWRITE_POLICY, [...REWRITE, ...REWRITE_HOT_PATH], ["rewrite.names_renamed", "rewrite.names_restored",
  "rewrite.names_hidden", "rewrite.names_too_long", "rewrite.topic_ids_refused", "requests_malformed"],
  ["t.orders", "t.payments", "orders", "other"]);
