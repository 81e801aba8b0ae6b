// The client matrix beyond kafkajs and the Java client: franz-go (the client with the newest
// flexible versions, Produce and Fetch by topic id) and librdkafka (through confluent-kafka),
// through Envoy (harness default: two workers) + filter + Kafka. Each produces and consumes in
// a consumer group with byte-identical read-back and shows up in the client software metric; a
// producer the ACLs refuse gets the client's own authorization error, promptly (the time is
// printed as a diagnostic, for the README); a tenant's `orders` is the broker's `tenantA.orders`.
// librdkafka's all-topics Metadata (list_topics(), regex subscriptions) carries bytes after its
// message: it works under ACLs and as a tenant, listing only what the principal may describe
// under the names it knows, and a filter that refuses those bytes closes the connection.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { suiteTestBed } from "../harness/testbed.ts";
import { client, runClient, type ClientKind } from "../harness/more_clients.ts";
import { brokerOffset, brokerTopics, createTopics } from "../harness/broker_view.ts";
import type { KafkaBroker } from "../harness/kafka.ts";
import { scratchDir } from "../harness/paths.ts";
import { buildVariantModule, patchSource } from "../harness/variant_module.ts";
import { payload, recordLines, recordsRead } from "./payload.ts";
import { WORKERS_CONFIG } from "./client_policy.ts";

const SIZES = [0, 1, 100, 1024, 16 * 1024, 300 * 1024];

// The client software each one announces in ApiVersions v3+ (name/version).
const SOFTWARE: Record<ClientKind, RegExp> = {
  franz: /^kgo\/v1\.22\.3$/,
  rdkafka: /^confluent-kafka-python\/2\.16\.1/,
};


// Topics a regex `^ord.*` matches on the broker that no principal of WORKERS_CONFIG may describe
// (`ordinals`) or that belong to another tenant (`tenantB.orders`), with records written on the
// broker's direct listener.
const HIDDEN = ["ordinals", "tenantB.orders"];
const HIDDEN_SIZES = [10, 20];

async function writeDirect(kafka: KafkaBroker, topic: string): Promise<void> {
  const producer = new Kafka({ clientId: "direct", brokers: [kafka.direct], logLevel: logLevel.NOTHING })
    .producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: HIDDEN_SIZES.map((s, i) => ({ key: `hidden-${i}`, value: payload(s, i) })) });
  await producer.disconnect();
}

// A regex subscription's output: the topics assigned and the records read, per topic as named to
// the client, in recordLines' format.
function regexRead(out: string): { assigned: string[]; records: Map<string, string[]> } {
  const assigned = [...new Set(out.split("\n").filter((l) => l.startsWith("assigned ")).map((l) => l.split(" ")[1]))].sort();
  const records = new Map<string, string[]>();
  for (const line of out.split("\n").filter((l) => l.startsWith("record "))) {
    const [, topic, ...rest] = line.split(" ");
    records.set(topic, [...(records.get(topic) ?? []), `record ${rest.join(" ")}`].sort());
  }
  return { assigned, records };
}

const listed = (out: string) => out.split("\n").filter((l) => l.startsWith("topic ")).map((l) => l.slice(6));

describe("franz-go and librdkafka through Envoy + filter + Kafka", () => {
  const suite = suiteTestBed("clients", WORKERS_CONFIG);
  const { guard } = suite;
  const written = { orders: 0, "tenantA.orders": 0 };
  // The record lines each topic holds, for read-back by a regex subscription.
  const lines: Record<string, string[]> = { orders: [], "tenantA.orders": [] };
  const trailing = () => suite.bed.envoy.stat("requests_trailing_bytes");

  before(async () => {
    await createTopics(suite.bed.kafka, ["orders", "tenantA.orders", ...HIDDEN]);
    for (const topic of HIDDEN) await writeDirect(suite.bed.kafka, topic);
  });

  for (const kind of ["franz", "rdkafka"] as const) {
    test(`${kind}: produces and consumes in a group, byte-identical, named in the client software metric`, guard(async () => {
      const out = await client(kind, ["produce", suite.bed.bootstrap, "orders", kind, SIZES.join(",")], "writer");
      assert.match(out, new RegExp(`produced ${kind}-${SIZES.length - 1} `));
      written.orders += SIZES.length;
      lines.orders.push(...recordLines(kind, SIZES));
      assert.equal(await brokerOffset(suite.bed.kafka, "orders"), written.orders);
      const read = await client(kind, ["consume", suite.bed.bootstrap, "orders", `readers-${kind}`, String(written.orders)], "reader");
      assert.deepEqual(recordsRead(read, kind), recordLines(kind, SIZES));
      assert.match(read, new RegExp(`committed ${written.orders}`));
      const software = [...(await suite.bed.envoy.stats("client_software_connections")).entries()]
        .map(([name, n]) => [name.replace(/^.*client_software_connections\.software\./, ""), n] as const)
        .filter(([name]) => SOFTWARE[kind].test(name));
      assert.equal(software.length, 1, `no ${SOFTWARE[kind]} in ${[...(await suite.bed.envoy.stats("client_software")).keys()]}`);
      assert.ok(software[0][1] >= 2);
    }));

    test(`${kind}: a producer the ACLs refuse gets its own authorization error, promptly`, guard(async () => {
      const before = await brokerOffset(suite.bed.kafka, "orders");
      const r = await runClient(kind, ["produce", suite.bed.bootstrap, "orders", "refused", "10"], "stranger", 60000);
      assert.equal(r.ok, false, r.stdout);
      assert.match(r.error ?? r.stderr, /TOPIC_AUTHORIZATION_FAILED/);
      // Not a hang or a retry loop until a timeout.
      assert.ok(r.errorMs! < 15000, `${r.errorMs} ms`);
      console.log(`# ${kind}: refusal surfaced after ${r.errorMs} ms: ${r.error}`);
      assert.equal(await brokerOffset(suite.bed.kafka, "orders"), before);
    }));

    test(`${kind}: a tenant's orders is the broker's tenantA.orders, read back in the tenant's group`, guard(async () => {
      const prefix = `${kind}-tenant`;
      await client(kind, ["produce", suite.bed.bootstrap, "orders", prefix, SIZES.join(",")], "tenant-a");
      written["tenantA.orders"] += SIZES.length;
      lines["tenantA.orders"].push(...recordLines(prefix, SIZES));
      assert.equal(await brokerOffset(suite.bed.kafka, "tenantA.orders"), written["tenantA.orders"]);
      assert.equal(await brokerOffset(suite.bed.kafka, "orders"), written.orders);
      const read = await client(kind, ["consume", suite.bed.bootstrap, "orders", `readers-${kind}`, String(written["tenantA.orders"])], "tenant-a");
      assert.deepEqual(recordsRead(read, prefix), recordLines(prefix, SIZES));
      assert.equal(await suite.bed.envoy.stat("rewrite.topic_ids_refused"), 0);
    }));
  }
  // librdkafka sends its all-topics Metadata v12/v13 with 3 bytes after the message; the filter
  // counts them in requests_trailing_bytes (and strips them), so a rise in that counter is the
  // proof the real client sent them.
  test("rdkafka: list_topics() under ACLs lists only the topics the principal may describe, no connection closed", guard(async () => {
    const [before, closes] = [await trailing(), await suite.bed.envoy.stat("connections_closed_protocol_error")];
    const out = await client("rdkafka", ["list", suite.bed.bootstrap], "reader");
    assert.deepEqual(listed(out), ["orders"]);
    // What there was to hide.
    const onBroker = await brokerTopics(suite.bed.kafka);
    for (const t of ["tenantA.orders", ...HIDDEN]) assert.ok(onBroker.includes(t), t);
    assert.ok((await trailing()) > before, "librdkafka's Metadata carried no bytes after its message");
    assert.equal(await suite.bed.envoy.stat("connections_closed_protocol_error"), closes);
  }));

  test("rdkafka: a regex subscription ^ord.* under ACLs reads orders, and no topic it may not describe", guard(async () => {
    const before = await trailing();
    const out = await client("rdkafka", ["subscribe", suite.bed.bootstrap, "^ord.*", "readers-regex", String(written.orders)], "reader");
    const { assigned, records } = regexRead(out);
    assert.deepEqual(assigned, ["orders"]);
    assert.deepEqual([...records.keys()], ["orders"]);
    assert.deepEqual(records.get("orders"), [...lines.orders].sort());
    assert.ok((await trailing()) > before);
    assert.equal(await suite.bed.envoy.stat("connections_closed_protocol_error"), 0);
  }));

  test("rdkafka: a tenant's list_topics() shows only its own names, unprefixed", guard(async () => {
    const out = await client("rdkafka", ["list", suite.bed.bootstrap], "tenant-a");
    // tenantA.orders as `orders`; not the broker's orders, ordinals or tenantB.orders.
    assert.deepEqual(listed(out), ["orders"]);
    assert.equal(await suite.bed.envoy.stat("connections_closed_protocol_error"), 0);
  }));

  test("rdkafka: a tenant's regex subscription ^ord.* reads its orders, never another tenant's or the broker's", guard(async () => {
    const out = await client("rdkafka", ["subscribe", suite.bed.bootstrap, "^ord.*", "readers-regex-tenant", String(written["tenantA.orders"])], "tenant-a");
    const { assigned, records } = regexRead(out);
    assert.deepEqual(assigned, ["orders"]);
    // Exactly tenantA.orders' records: none of the broker's orders (keys franz-/rdkafka-) or tenantB's.
    assert.deepEqual(records.get("orders"), [...lines["tenantA.orders"]].sort());
    assert.deepEqual([...records.keys()], ["orders"]);
    assert.equal(await suite.bed.envoy.stat("rewrite.topic_ids_refused"), 0);
    assert.equal(await suite.bed.envoy.stat("connections_closed_protocol_error"), 0);
  }));
});

// The same module with walk() refusing bytes after a request's message, as the filter did before
// issue 13 (error -7, TrailingBytes): the tests above fail on it for that reason.
function buildStrictModule(dir: string): string {
  return buildVariantModule(dir, "strict", (src) => patchSource(src, "assembly/kafka/walker.ts",
    "if (n >= 0 && n != len && !isRequest) return WalkError.TrailingBytes;",
    "if (n >= 0 && n != len) return WalkError.TrailingBytes;"));
}

describe("librdkafka through a filter that refuses bytes after a request's message", () => {
  const buildDir = scratchDir("clients-strict-build");
  let wasmPath = "";
  // Registered before the test bed's own hook, so the module is there when Envoy starts.
  before(() => void (wasmPath = buildStrictModule(buildDir)));
  after(() => rmSync(buildDir, { recursive: true, force: true }));
  const suite = suiteTestBed("clients-strict", WORKERS_CONFIG, { envoy: () => ({ wasmPath }) });
  const { guard } = suite;
  const refusedTrailing = /Metadata v1[23] request body does not decode \(error -7\)/;

  before(() => createTopics(suite.bed.kafka, ["orders", "tenantA.orders"]));

  test("list_topics() fails: the all-topics Metadata closes the connection", guard(async () => {
    const r = await runClient("rdkafka", ["list", suite.bed.bootstrap], "reader", 60000, { TIMEOUT_S: "10" });
    assert.equal(r.ok, false, r.stdout);
    assert.match(suite.bed.envoy.service.log(), refusedTrailing);
    assert.ok((await suite.bed.envoy.stat("connections_closed_protocol_error")) > 0);
  }));

  test("a tenant's regex subscription reads nothing", guard(async () => {
    await client("rdkafka", ["produce", suite.bed.bootstrap, "orders", "strict", "10"], "tenant-a");
    assert.equal(await brokerOffset(suite.bed.kafka, "tenantA.orders"), 1);
    const closes = await suite.bed.envoy.stat("connections_closed_protocol_error");
    const r = await runClient("rdkafka", ["subscribe", suite.bed.bootstrap, "^ord.*", "readers-strict", "1"], "tenant-a", 60000, { TIMEOUT_S: "15" });
    assert.equal(r.ok, false, r.stdout);
    assert.equal(regexRead(r.stdout).records.size, 0);
    assert.ok((await suite.bed.envoy.stat("connections_closed_protocol_error")) > closes);
  }));
});
