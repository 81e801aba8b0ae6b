// The client matrix beyond kafkajs and the Java client: franz-go (the client with the newest
// flexible versions, Produce and Fetch by topic id) and librdkafka (through confluent-kafka),
// through Envoy (harness default: two workers) + filter + Kafka. Each produces and consumes in
// a consumer group with byte-identical read-back and shows up in the client software metric; a
// producer the ACLs refuse gets the client's own authorization error, promptly (the time is
// printed as a diagnostic, for the README); a tenant's `orders` is the broker's `tenantA.orders`.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { suiteTestBed } from "../harness/testbed.ts";
import { client, runClient, type ClientKind } from "../harness/more_clients.ts";
import { brokerOffset, createTopics } from "../harness/broker_view.ts";
import { recordLines, recordsRead } from "./payload.ts";
import { WORKERS_CONFIG } from "./client_policy.ts";

const SIZES = [0, 1, 100, 1024, 16 * 1024, 300 * 1024];

// The client software each one announces in ApiVersions v3+ (name/version).
const SOFTWARE: Record<ClientKind, RegExp> = {
  franz: /^kgo\/v1\.22\.3$/,
  rdkafka: /^confluent-kafka-python\/2\.16\.1/,
};


describe("franz-go and librdkafka through Envoy + filter + Kafka", () => {
  const suite = suiteTestBed("clients", WORKERS_CONFIG);
  const { guard } = suite;
  const written = { orders: 0, "tenantA.orders": 0 };

  before(() => createTopics(suite.bed.kafka, ["orders", "tenantA.orders"]));

  for (const kind of ["franz", "rdkafka"] as const) {
    test(`${kind}: produces and consumes in a group, byte-identical, named in the client software metric`, guard(async () => {
      const out = await client(kind, ["produce", suite.bed.bootstrap, "orders", kind, SIZES.join(",")], "writer");
      assert.match(out, new RegExp(`produced ${kind}-${SIZES.length - 1} `));
      written.orders += SIZES.length;
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
      assert.equal(await brokerOffset(suite.bed.kafka, "tenantA.orders"), written["tenantA.orders"]);
      assert.equal(await brokerOffset(suite.bed.kafka, "orders"), written.orders);
      const read = await client(kind, ["consume", suite.bed.bootstrap, "orders", `readers-${kind}`, String(written["tenantA.orders"])], "tenant-a");
      assert.deepEqual(recordsRead(read, prefix), recordLines(prefix, SIZES));
      assert.equal(await suite.bed.envoy.stat("rewrite.topic_ids_refused"), 0);
    }));
  }
});
