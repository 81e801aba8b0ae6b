// Topic rewriting through real Envoy + filter + Kafka with kafkajs and the Java client (topic
// ids, flexible versions): two tenants both create and use `orders` and each only ever sees its
// own data, groups, transactions and topics; the broker holds the prefixed names; a canary
// client is moved to `orders-v2` while the others keep `orders`. Principals come from client ids
// here.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import kafkajs, { Kafka, logLevel, Partitioners } from "kafkajs";
import { suiteTestBed } from "../harness/testbed.ts";
import { javaClient } from "../harness/java_client.ts";
import { exchange, fetchByIdFrame, frames } from "../harness/raw_client.ts";
import { brokerGroups, brokerOffset as viewOffset, brokerTopics, createTopics } from "../harness/broker_view.ts";

export const REWRITE_CONFIG = {
  principal_sources: ["client_id"],
  rewrite: {
    tenants: [
      { principal: "User:tenant-a", prefix: "tenantA." },
      { principal: "User:tenant-b", prefix: "tenantB." },
      { principal: "User:canary-a", prefix: "tenantA." },
    ],
    renames: [{ principal: "User:canary-a", resource: "topic", from: "orders", to: "orders-v2" }],
  },
};

describe("topic rewriting through Envoy + filter + Kafka", () => {
  const suite = suiteTestBed("rewrite", REWRITE_CONFIG);
  const { guard } = suite;
  const stat = (name: string) => suite.bed.envoy.stat(name);
  const viaProxy = (clientId: string) => new Kafka({ clientId, brokers: [suite.bed.bootstrap], logLevel: logLevel.NOTHING });
  const brokerOffset = (topic: string) => viewOffset(suite.bed.kafka, topic);
  const kafkajsRead = async (clientId: string, groupId: string, topic: string, count: number): Promise<string[]> => {
    const consumer = viaProxy(clientId).consumer({ groupId });
    const seen: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`read ${seen.length} of ${count}`)), 30000);
        consumer.run({
          eachMessage: async ({ message }) => {
            seen.push(message.value!.toString());
            if (seen.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        }).catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    return seen;
  };

  // The operator prepares the canary's new topic and one outside every tenant.
  before(() => createTopics(suite.bed.kafka, ["tenantA.orders-v2", "shared-untenanted"]));

  test("two tenants create `orders` and `payments`; the broker holds them under each tenant's prefix", guard(async () => {
    for (const clientId of ["tenant-a", "tenant-b"]) {
      const admin = viaProxy(clientId).admin();
      await admin.connect();
      try {
        assert.equal(await admin.createTopics({ topics: [{ topic: "orders" }, { topic: "payments" }], waitForLeaders: true }), true);
      } finally {
        await admin.disconnect();
      }
    }
    const topics = await brokerTopics(suite.bed.kafka);
    for (const t of ["tenantA.orders", "tenantB.orders", "tenantA.payments", "tenantB.payments"]) assert.ok(topics.includes(t), t);
    assert.ok(!topics.includes("orders") && !topics.includes("payments"), topics.join(","));
    // Config resources (not entity-annotated in Kafka's schemas) are renamed too.
    const admin = viaProxy("tenant-a").admin();
    await admin.connect();
    try {
      const { resources } = await admin.describeConfigs({
        resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: "orders" }], includeSynonyms: false,
      });
      assert.equal(resources[0].resourceName, "orders");
      assert.equal(resources[0].errorCode, 0);
      assert.ok(resources[0].configEntries.some((e) => e.configName === "cleanup.policy"));
    } finally {
      await admin.disconnect();
    }
  }));

  test("two tenants write `orders`; the broker holds each one's records apart", guard(async () => {
    const producer = viaProxy("tenant-a").producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: "orders", messages: [{ value: "a1" }, { value: "a2" }] });
    await producer.disconnect();
    const out = await javaClient(["produce", suite.bed.bootstrap, "orders", "b", "5,6,7"], 120000, "tenant-b");
    assert.match(out, /produced b-2 2/);
    assert.equal(await brokerOffset("tenantA.orders"), 2);
    assert.equal(await brokerOffset("tenantB.orders"), 3);
  }));

  test("each tenant reads only its own records, in groups of the same name kept apart on the broker", guard(async () => {
    assert.deepEqual((await kafkajsRead("tenant-a", "readers", "orders", 2)).sort(), ["a1", "a2"]);
    // The Java consumer fetches by topic id (Fetch v18): ids pass through, names are restored.
    const out = await javaClient(["consume", suite.bed.bootstrap, "orders", "readers", "3"], 120000, "tenant-b");
    const keys = out.split("\n").filter((l) => l.startsWith("record ")).map((l) => l.split(" ")[1]).sort();
    assert.deepEqual(keys, ["b-0", "b-1", "b-2"]);
    const groups = (await brokerGroups(suite.bed.kafka)).sort();
    assert.ok(groups.includes("tenantA.readers") && groups.includes("tenantB.readers"), groups.join(","));
    assert.ok(!groups.includes("readers"));
  }));

  test("a KIP-848 consumer (heartbeats and assignments by topic id) reads its tenant's records in its own group", guard(async () => {
    const out = await javaClient(["consume", suite.bed.bootstrap, "orders", "next-gen", "3"], 120000, "tenant-b",
      { GROUP_PROTOCOL: "consumer" });
    const keys = out.split("\n").filter((l) => l.startsWith("record ")).map((l) => l.split(" ")[1]).sort();
    assert.deepEqual(keys, ["b-0", "b-1", "b-2"]);
    assert.ok((await brokerGroups(suite.bed.kafka)).includes("tenantB.next-gen"));
  }));

  test("a topic id reaches only its tenant's topic: another tenant fetching by it gets UNKNOWN_TOPIC_ID", guard(async () => {
    // Ids are the broker's: the same through the proxy (which learns it from this Metadata) and on the broker.
    const idOf = (out: string) => /topicid ([0-9a-f]{32})/.exec(out)![1];
    const id = idOf(await javaClient(["topicid", suite.bed.bootstrap, "orders"], 120000, "tenant-a"));
    assert.equal(idOf(await javaClient(["topicid", suite.bed.kafka.direct, "tenantA.orders"])), id);
    const before = await stat("rewrite.topic_ids_refused");
    assert.equal(before, 0, "the clients' own requests by id were all let through");
    // Fetch v13 (flexible, topics by id) of partition 0 from offset 0, hand-made, correlation id 41.
    const fetchAs = async (clientId: string) => {
      const { received } = await exchange(suite.bed.envoy.listenPort, [fetchByIdFrame(id, clientId)], { timeoutMs: 1500 });
      const [response] = frames(received);
      // size, correlation id, header tags, throttle time, error code, session id, one topic
      // (its id), one partition: index, then its error code.
      assert.equal(response.readInt32BE(4), 41);
      assert.equal(response.subarray(20, 36).toString("hex"), id);
      return { error: response.readInt16BE(13), partitionError: response.readInt16BE(41), bytes: response };
    };
    const own = await fetchAs("tenant-a");
    assert.deepEqual([own.error, own.partitionError], [0, 0]);
    assert.ok(own.bytes.includes("a1") && own.bytes.includes("a2"));
    const other = await fetchAs("tenant-b");
    assert.deepEqual([other.error, other.partitionError], [100, 100], "UNKNOWN_TOPIC_ID");
    assert.ok(!other.bytes.includes("a1"));
    assert.equal(await stat("rewrite.topic_ids_refused"), before + 1);
  }));

  test("a tenant's topic list shows its own topics without the prefix, and nothing else", guard(async () => {
    const admin = viaProxy("tenant-b").admin();
    await admin.connect();
    try {
      assert.deepEqual((await admin.listTopics()).sort(), ["orders", "payments"]);
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
      assert.deepEqual(groups.sort(), ["next-gen", "readers"]);
    } finally {
      await admin.disconnect();
    }
    assert.ok((await stat("rewrite.names_hidden")) > 0);
    assert.ok((await stat("rewrite.names_renamed")) > 0);
    assert.ok((await stat("rewrite.names_restored")) > 0);
  }));

  test("a canary client writing `orders` lands in orders-v2 while tenant-a keeps `orders`", guard(async () => {
    const canary = viaProxy("canary-a").producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await canary.connect();
    const [result] = await canary.send({ topic: "orders", messages: [{ value: "canary" }] });
    await canary.disconnect();
    // The canary is told about the topic it asked for.
    assert.equal(result.topicName, "orders");
    assert.equal(await brokerOffset("tenantA.orders-v2"), 1);
    assert.equal(await brokerOffset("tenantA.orders"), 2);
    assert.deepEqual(await kafkajsRead("canary-a", "canary-readers", "orders", 1), ["canary"]);
    // Its topic list names `orders` once: the old topic is out of its reach, not a second `orders`.
    const admin = viaProxy("canary-a").admin();
    await admin.connect();
    try {
      assert.deepEqual((await admin.listTopics()).sort(), ["orders", "payments"]);
    } finally {
      await admin.disconnect();
    }
  }));

  test("tenants delete topics by their client names, and only their own", guard(async () => {
    const a = viaProxy("tenant-a").admin();
    const b = new Kafka({ clientId: "tenant-b", brokers: [suite.bed.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    await Promise.all([a.connect(), b.connect()]);
    try {
      await a.createTopics({ topics: [{ topic: "orders-old" }], waitForLeaders: true });
      assert.ok((await brokerTopics(suite.bed.kafka)).includes("tenantA.orders-old"));
      // tenant-b's `orders-old` is tenantB.orders-old, which does not exist: A's topic stays.
      await assert.rejects(b.deleteTopics({ topics: ["orders-old"], timeout: 5000 }), /does not host this topic-partition|UNKNOWN_TOPIC/i);
      assert.ok((await brokerTopics(suite.bed.kafka)).includes("tenantA.orders-old"));
      // kafkajs matches each answered name with one it asked for: the answer names `orders-old`.
      await a.deleteTopics({ topics: ["orders-old"], timeout: 10000 });
      assert.ok(!(await brokerTopics(suite.bed.kafka)).includes("tenantA.orders-old"));
    } finally {
      await Promise.all([a.disconnect(), b.disconnect()]);
    }
  }));

  test("a KIP-848 regex subscription matches the tenant's topics by their client names", guard(async () => {
    // Broker-side regex: `ord.*` goes to the broker as `tenantA\\.(?:ord.*)`.
    const out = await javaClient(["consume", suite.bed.bootstrap, "regex:ord.*", "by-pattern", "3"], 120000, "tenant-a",
      { GROUP_PROTOCOL: "consumer" });
    const records = out.split("\n").filter((l) => l.startsWith("record ")).map((l) => l.split(" "));
    const sha = (s: string) => createHash("sha256").update(s).digest("hex");
    assert.deepEqual(records.map((r) => `${r[4]} ${r[3]}`).sort(),
      [`orders ${sha("a1")}`, `orders ${sha("a2")}`, `orders-v2 ${sha("canary")}`].sort());
  }));

  test("both tenants use transactional id tx-pay; the broker holds tenantA.tx-pay and tenantB.tx-pay", guard(async () => {
    // kafkajs finds its transaction coordinator with FindCoordinator v2 (key before key type) and
    // commits consumer offsets inside the transaction; the Java client uses the batched v6.
    const producer = viaProxy("tenant-a").producer({ transactionalId: "tx-pay", maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const tx = await producer.transaction();
    await tx.send({ topic: "payments", messages: [{ value: "pa1" }, { value: "pa2" }] });
    await tx.sendOffsets({ consumerGroupId: "pay-readers", topics: [{ topic: "orders", partitions: [{ partition: 0, offset: "2" }] }] });
    await tx.commit();
    await producer.disconnect();
    const out = await javaClient(["txproduce", suite.bed.bootstrap, "payments", "tx-pay", "pb", "5,6,7"], 120000, "tenant-b");
    assert.match(out, /committed transaction tx-pay/);

    const txns = (await javaClient(["transactions", suite.bed.kafka.direct])).split("\n").filter((l) => l.startsWith("transaction "));
    const ids = txns.map((l) => l.split(" ")[1]).sort();
    assert.ok(ids.includes("tenantA.tx-pay") && ids.includes("tenantB.tx-pay") && !ids.includes("tx-pay"), ids.join(","));
    // The offsets committed in the transaction belong to tenant-a's group, on tenant-a's topic.
    const committed = await javaClient(["committed", suite.bed.kafka.direct, "tenantA.orders", "tenantA.pay-readers"]);
    assert.match(committed, /committed 2/);
    // Each reads its own committed records (kafkajs reads committed only).
    assert.deepEqual((await kafkajsRead("tenant-a", "pay-check", "payments", 2)).sort(), ["pa1", "pa2"]);
    const read = await javaClient(["consume", suite.bed.bootstrap, "payments", "pay-check", "3"], 120000, "tenant-b");
    const keys = read.split("\n").filter((l) => l.startsWith("record ")).map((l) => l.split(" ")[1]).sort();
    assert.deepEqual(keys, ["pb-0", "pb-1", "pb-2"]);
  }));

  test("a name too long once prefixed is refused with INVALID_TOPIC_EXCEPTION, not truncated", guard(async () => {
    const before = await stat("rewrite.names_too_long");
    const admin = viaProxy("tenant-a").admin();
    await admin.connect();
    try {
      await assert.rejects(admin.fetchTopicMetadata({ topics: ["x".repeat(245)] }),
        (e: any) => /INVALID_TOPIC_EXCEPTION|not valid|invalid topic/i.test(String(e.type ?? "") + e.message));
    } finally {
      await admin.disconnect();
    }
    assert.equal(await stat("rewrite.names_too_long"), before + 1);
  }));
});
