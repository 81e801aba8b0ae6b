// Compatibility through real Envoy + filter + Kafka: a client and broker newer than the filter
// never cost a connection. The filter answers ApiVersions versions it does not allow itself
// (KIP-511) and narrows the broker's ranges to its own, so they agree on versions it checks;
// bytes after a request's message (librdkafka's all-topics Metadata) are tolerated as the
// broker does. Three set-ups: caps below the Java client's versions, a module built from
// schemas trimmed to Kafka 4.3.1's ranges (the real newer-than-filter case), a Kafka 3.9 broker,
// and hand-made frames.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { payload, sha256, SIZES } from "./payload.ts";
import { suiteTestBed } from "../harness/testbed.ts";
import { javaClient } from "../harness/java_client.ts";
import { exchange, frames, requestFrame } from "../harness/raw_client.ts";
import { KAFKA39_LIBS, requireInstalled, scratchDir } from "../harness/paths.ts";
import { buildVariantModule } from "../harness/variant_module.ts";
import { freePort } from "../harness/process.ts";
import { startKafka, KafkaBroker } from "../harness/kafka.ts";
import { startEnvoy, Envoy } from "../harness/envoy.ts";
import { startRecordingRelay, RecordingRelay } from "../harness/recording_relay.ts";
import { createTopics as createTopicsDirect } from "../harness/broker_view.ts";
import { DEFAULT_SCHEMAS, generate } from "../../build/codegen/generate.ts";

const METADATA = 3;
const API_VERSIONS = 18;
const UNSUPPORTED_VERSION = 35;

// Versions below what the installed Java client speaks (4.4: Produce 13, Fetch 18, Metadata 13,
// ApiVersions 5, ...), so every exchange below runs on versions agreed through the caps. Not
// below what the broker's finalized features need: with transaction.version 2 (Kafka 4's
// default) a transactional producer needs Produce v12+, AddPartitionsToTxn v5 and EndTxn v5
// (KIP-890), and a lower cap makes its transactions abort.
const CAPS = {
  ApiVersions: 3, Produce: 12, Fetch: 15, Metadata: 11, FindCoordinator: 5, JoinGroup: 8, SyncGroup: 4,
  OffsetCommit: 8, OffsetFetch: 8, InitProducerId: 5, ListTransactions: 1, ListOffsets: 9,
};

// The stat names of the filter's own counters, and reading them.
function stats(suite: { bed: { envoy: { stats(f: string): Promise<Map<string, number>> } } }) {
  return async (prefix: string): Promise<Map<string, number>> => {
    const all = await suite.bed.envoy.stats(`kafka_proxy.${prefix}`);
    return new Map([...all].map(([k, v]) => [k.replace("wasmcustom.kafka_proxy.", ""), v]));
  };
}

// Produce, a consumer group, a transaction, admin calls: what a Java application does.
async function javaWorkload(bootstrap: string, topic: string): Promise<void> {
  const produced = await javaClient(["produce", bootstrap, topic, "k", "10,2000,30"]);
  assert.equal(produced.split("\n").filter((l) => l.startsWith("produced ")).length, 3);
  const tx = await javaClient(["txproduce", bootstrap, topic, `tx-${topic}`, "t", "5,6"]);
  assert.match(tx, new RegExp(`^committed transaction tx-${topic}$`, "m"));
  const consumed = await javaClient(["consume", bootstrap, topic, `g-${topic}`, "5"]);
  assert.match(consumed, /^consumed 5$/m);
  assert.match(await javaClient(["committed", bootstrap, topic, `g-${topic}`]), /^committed \d+$/m);
  assert.match(await javaClient(["transactions", bootstrap]), new RegExp(`^transaction tx-${topic} CompleteCommit$`, "m"));
  assert.match(await javaClient(["topicid", bootstrap, topic]), /^topicid [0-9a-f]{32}$/m);
}

async function createTopics(bootstrap: string, topics: string[]): Promise<void> {
  const admin = new Kafka({ clientId: "compat-admin", brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: topics.map((topic) => ({ topic })), waitForLeaders: true });
  await admin.disconnect();
}

describe("API version caps below the client's versions", () => {
  const suite = suiteTestBed("compat-caps", { api_versions: CAPS });
  const { guard } = suite;
  const stat = stats(suite);

  before(async () => createTopics(suite.bed.bootstrap, ["capped"]));

  test("the Java client produces, consumes in a group, commits a transaction and runs admin calls", guard(async () => {
    await javaWorkload(suite.bed.bootstrap, "capped");
    const requests = await stat("requests.api.");
    // Every request used a version within the caps, and the capped ones were used.
    for (const [name, n] of requests) {
      const m = /^requests\.api\.(\w+)\.v\.(\d+)$/.exec(name);
      if (!m || n === 0) continue;
      const cap = (CAPS as Record<string, number>)[m[1]];
      if (cap !== undefined) assert.ok(Number(m[2]) <= cap, `${name}: ${n} above the cap ${cap}`);
    }
    for (const api of ["Produce.v.12", "Fetch.v.15", "Metadata.v.11", "ApiVersions.v.3", "JoinGroup.v.8", "InitProducerId.v.5"]) {
      assert.ok((requests.get(`requests.api.${api}`) ?? 0) > 0, `requests.api.${api}`);
    }
    // The Java client opened every connection with ApiVersions v5: answered by the filter.
    assert.ok((await suite.bed.envoy.stat("api_versions_answered_unsupported")) > 0);
    assert.equal(await suite.bed.envoy.stat("connections_closed_protocol_error"), 0);
    assert.equal(await suite.bed.envoy.stat("requests_unsupported_version"), 0);
  }));
});

// The 4.3.1 ranges of what Kafka 4.4 changed, and the two APIs it added.
const RANGES_431: Record<string, string> = {
  ApiVersions: "0-4", DeleteGroups: "0-2", TxnOffsetCommit: "0-5", StreamsGroupDescribe: "0", StreamsGroupHeartbeat: "0",
};
const ADDED_IN_44 = ["StreamsGroupTopologyDescriptionUpdate", "UnregisterController"];

// Builds the filter from the installed schemas trimmed to Kafka 4.3.1's ranges: a filter that
// is one release older than the broker and the Java client.
function buildTrimmedModule(dir: string): string {
  const schemas = join(dir, "schemas");
  mkdirSync(schemas);
  for (const file of readdirSync(DEFAULT_SCHEMAS)) {
    const api = file.replace(/(Request|Response)\.json$/, "");
    if (ADDED_IN_44.includes(api)) continue;
    let text = readFileSync(join(DEFAULT_SCHEMAS, file), "utf8");
    if (RANGES_431[api] && /(Request|Response)\.json$/.test(file)) {
      text = text.replace(/"validVersions": "[^"]*"/, `"validVersions": "${RANGES_431[api]}"`);
    }
    writeFileSync(join(schemas, file), text);
  }
  return buildVariantModule(dir, "trimmed", (src) =>
    writeFileSync(join(src, "assembly/kafka/generated/schema_tables.ts"), generate(schemas, "trimmed schemas")));
}

describe("a filter built from Kafka 4.3.1's ranges, with the 4.4 broker and Java client", () => {
  const buildDir = scratchDir("compat-trimmed-build");
  let wasmPath = "";
  // Registered before the test bed's own hook, so the module is there when Envoy starts.
  before(() => void (wasmPath = buildTrimmedModule(buildDir)));
  after(() => rmSync(buildDir, { recursive: true, force: true }));
  const suite = suiteTestBed("compat-trimmed", {}, { envoy: () => ({ wasmPath }) });
  const { guard } = suite;
  const stat = stats(suite);

  before(async () => createTopics(suite.bed.bootstrap, ["older-filter"]));

  test("everything works on versions the filter knows, and no connection is closed", guard(async () => {
    await javaWorkload(suite.bed.bootstrap, "older-filter");
    const requests = await stat("requests.api.ApiVersions.");
    assert.ok((requests.get("requests.api.ApiVersions.v.4") ?? 0) > 0);
    assert.equal(requests.get("requests.api.ApiVersions.v.5"), undefined);
    assert.ok((await suite.bed.envoy.stat("api_versions_answered_unsupported")) > 0);
    assert.equal(await suite.bed.envoy.stat("connections_closed_protocol_error"), 0);
  }));
});

describe("a Kafka 3.9 broker behind the same filter build", () => {
  const suite = suiteTestBed("compat-kafka39", {}, { kafka: { libs: KAFKA39_LIBS } });
  const { guard } = suite;

  before(async () => createTopics(suite.bed.bootstrap, ["old-broker", "old-broker-js"]));

  test("the Java client produces, consumes in a group, commits a transaction and runs admin calls", guard(async () => {
    await javaWorkload(suite.bed.bootstrap, "old-broker");
  }));

  test("kafkajs produces and a kafkajs consumer group reads the records back identical", guard(async () => {
    const kafka = new Kafka({ clientId: "compat-js", brokers: [suite.bed.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    for (let i = 0; i < SIZES.length; i++) {
      await producer.send({ topic: "old-broker-js", acks: -1, messages: [{ key: `js-${i}`, value: payload(SIZES[i], i) }] });
    }
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: "old-broker-group", maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic: "old-broker-js", fromBeginning: true });
    const got: string[] = [];
    await new Promise<void>((res, rej) => void consumer.run({
      eachMessage: async ({ message }) => {
        got.push(`${message.key} ${sha256(message.value!)}`);
        if (got.length === SIZES.length) res();
      },
    }).catch(rej));
    await consumer.disconnect();
    assert.deepEqual(got, SIZES.map((s, i) => `js-${i} ${sha256(payload(s, i))}`));
    assert.equal(await suite.bed.envoy.stat("connections_closed_protocol_error"), 0);
    assert.equal(await suite.bed.envoy.stat("requests_unsupported_version"), 0);
  }));
});

// ApiVersions v3 body (flexible): client software name and version, no tagged fields.
function apiVersionsV3Body(): Buffer {
  return Buffer.from([4, ...Buffer.from("raw"), 4, ...Buffer.from("1.0"), 0]);
}

// ApiVersions capped one below the broker's, so the filter's answer tells itself apart from one
// the broker would give; ACLs and a tenant, so librdkafka's frame also goes through the stages
// that edit frames.
const FRAMES_CONFIG = {
  api_versions: { ApiVersions: 4, ListGroups: 4 },
  principal_sources: ["client_id"],
  acls: {
    rules: [
      { principal: "*", permission: "allow", resource: "topic", name: "*", operations: ["describe"] },
      { principal: "User:rdkafka-tenant", permission: "deny", resource: "topic", name: "hidden", operations: ["describe"] },
    ],
  },
  rewrite: { tenants: [{ principal: "User:rdkafka-tenant", prefix: "t1." }] },
};

// librdkafka 2.16's all-topics Metadata v13: a 4-byte count placeholder never finalised, then the
// fields it meant. The broker reads null (all topics), false, false, no tags, and ignores "01 00 00".
const librdkafkaMetadata = (clientId: string) => requestFrame(METADATA, 13, 7, clientId, Buffer.from([0, 0, 0, 0, 1, 0, 0]), true);

describe("hand-made frames", () => {
  // A recording relay between Envoy and the broker shows what reached it.
  let dir = "";
  let kafka: KafkaBroker;
  let relay: RecordingRelay;
  let envoy: Envoy;
  let failed = false;
  const guard = (fn: () => Promise<void>) => async () => {
    try {
      await fn();
    } catch (e) {
      failed = true;
      throw e;
    }
  };
  const trailing = async () =>
    (await envoy.stats("kafka_proxy.requests_trailing_bytes")).get("wasmcustom.kafka_proxy.requests_trailing_bytes") ?? 0;

  before(async () => {
    requireInstalled();
    dir = scratchDir("compat-frames");
    const listenPort = await freePort();
    kafka = await startKafka(join(dir, "kafka"), listenPort);
    await createTopicsDirect(kafka, ["listed", "t1.orders", "t1.hidden"]);
    relay = await startRecordingRelay(kafka.proxiedPort);
    envoy = await startEnvoy(dir, { listenPort, upstreamPort: relay.port, filterConfig: FRAMES_CONFIG });
  });
  after(async () => {
    await envoy?.stop();
    await relay?.stop();
    await kafka?.stop();
    if (failed) console.error(`compat-frames logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  test("ApiVersions v99 gets the KIP-511 answer from the filter, and the connection stays usable", guard(async () => {
    const sent = [
      requestFrame(API_VERSIONS, 99, 1, "raw", Buffer.from("a body no one reads"), true),
      requestFrame(API_VERSIONS, 3, 2, "raw", apiVersionsV3Body(), true),
      // Metadata v4 for "listed", no auto-creation.
      requestFrame(METADATA, 4, 3, "raw", Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 6]), Buffer.from("listed"), Buffer.from([0])])),
    ];
    const r = await exchange(envoy.listenPort, [Buffer.concat(sent)], { timeoutMs: 5000 });
    const got = frames(r.received);
    assert.equal(got.length, 3, `got ${got.length} responses, closed: ${r.closedByPeer}`);
    // v0 body: correlation id, UNSUPPORTED_VERSION, one range: ApiVersions 0..4 (the broker's is 0..5).
    const answer = Buffer.alloc(20);
    answer.writeInt32BE(16, 0);
    answer.writeInt32BE(1, 4);
    answer.writeInt16BE(UNSUPPORTED_VERSION, 8);
    answer.writeInt32BE(1, 10);
    answer.writeInt16BE(API_VERSIONS, 14);
    answer.writeInt16BE(0, 16);
    answer.writeInt16BE(4, 18);
    assert.deepEqual(got[0], answer);
    assert.equal(got[1].readInt32BE(4), 2);
    assert.equal(got[1].readInt16BE(8), 0, "ApiVersions v3 error code");
    // The broker's ranges, narrowed: ApiVersions 0..4.
    assert.ok(got[1].includes(Buffer.from([0, API_VERSIONS, 0, 0, 0, 4, 0])), "ApiVersions range capped at 4");
    assert.equal(got[2].readInt32BE(4), 3);
    assert.ok(got[2].includes(Buffer.from("listed")));
    assert.equal(r.closedByPeer, false);
    assert.ok((await envoy.stat("api_versions_answered_unsupported")) >= 1);
  }));

  test("a request for a version the caps advertised away is counted and its connection closed", guard(async () => {
    const before = await envoy.stat("requests_unsupported_version");
    // ListGroups v5 (capped at 4): empty states and types filters, no tags.
    const r = await exchange(envoy.listenPort, [requestFrame(16, 5, 9, "raw", Buffer.from([1, 1, 0]), true)], { timeoutMs: 3000 });
    assert.equal(r.closedByPeer, true);
    assert.equal(r.received.length, 0);
    assert.equal(await envoy.stat("requests_unsupported_version"), before + 1);
  }));

  test("librdkafka's all-topics Metadata v13 with 3 bytes after the message is answered, the bytes stripped", guard(async () => {
    const before = await trailing();
    const closes = await envoy.stat("connections_closed_protocol_error");
    const frame = librdkafkaMetadata("rdkafka");
    const r = await exchange(envoy.listenPort, [frame], { timeoutMs: 3000 });
    const got = frames(r.received);
    assert.equal(got.length, 1, `closed: ${r.closedByPeer}`);
    assert.equal(got[0].readInt32BE(4), 7);
    assert.ok(got[0].includes(Buffer.from("listed")), "all topics listed");
    // The broker got the request without the three bytes (its size prefix says so too).
    const stripped = Buffer.from(frame.subarray(0, frame.length - 3));
    stripped.writeInt32BE(stripped.length - 4, 0);
    assert.deepEqual(Buffer.concat(relay.connections.at(-1)!.toBroker), stripped);
    assert.equal(await trailing(), before + 1);
    assert.equal(await envoy.stat("connections_closed_protocol_error"), closes);
  }));

  test("the same frame from a tenant lists its own topics by their client names, minus the one it may not describe", guard(async () => {
    const closes = await envoy.stat("connections_closed_protocol_error");
    const r = await exchange(envoy.listenPort, [librdkafkaMetadata("rdkafka-tenant")], { timeoutMs: 3000 });
    const got = frames(r.received);
    assert.equal(got.length, 1, `closed: ${r.closedByPeer}`);
    // Compact strings: length + 1, then the name.
    const named = (name: string) => got[0].includes(Buffer.concat([Buffer.from([name.length + 1]), Buffer.from(name)]));
    assert.ok(named("orders"), "the tenant's topic, without its prefix");
    assert.ok(!named("hidden") && !got[0].includes(Buffer.from("t1.hidden")), "a topic the tenant may not describe");
    assert.ok(!named("listed") && !got[0].includes(Buffer.from("t1.")), "another tenant's or the broker's names");
    assert.equal(await envoy.stat("connections_closed_protocol_error"), closes);
  }));
});
