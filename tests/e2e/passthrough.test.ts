// Envoy + kafka_proxy filter + a real Kafka broker: two client implementations (kafkajs, which
// speaks the old non-flexible versions, and Apache Kafka's Java client, which speaks the newest
// flexible ones) produce and consume 0 B to 1 MiB records through the filter, with consumer
// groups committing offsets. Everything must come back byte-identical and the filter must have
// checked every frame without a single protocol error.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { suiteTestBed } from "../harness/testbed.ts";
import { javaClient } from "../harness/java_client.ts";
import { payload, sha256, SIZES } from "./payload.ts";

describe("transparent framing through Envoy + filter + Kafka", () => {
  const suite = suiteTestBed("passthrough");
  const { guard } = suite;
  let kafka: Kafka;

  before(async () => {
    kafka = new Kafka({ clientId: "kafkajs-e2e", brokers: [suite.bed.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "from-kafkajs" }, { topic: "from-java" }], waitForLeaders: true });
    await admin.disconnect();
  });

  test("kafkajs produces 0 B..1 MiB; a Java consumer group reads them back identical and commits", guard(async () => {
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    for (let i = 0; i < SIZES.length; i++) {
      await producer.send({ topic: "from-kafkajs", acks: -1, messages: [{ key: `js-${i}`, value: payload(SIZES[i], i) }] });
    }
    await producer.disconnect();

    const out = await javaClient(["consume", suite.bed.bootstrap, "from-kafkajs", "java-group", String(SIZES.length)]);
    const got = out.split("\n").filter((l) => l.startsWith("record "));
    assert.deepEqual(got, SIZES.map((s, i) => `record js-${i} ${s} ${sha256(payload(s, i))}`));
    const committed = await javaClient(["committed", suite.bed.bootstrap, "from-kafkajs", "java-group"]);
    assert.match(committed, new RegExp(`^committed ${SIZES.length}$`, "m"));
  }));

  test("the Java client produces 0 B..1 MiB; a kafkajs consumer group reads them back identical and commits", guard(async () => {
    const out = await javaClient(["produce", suite.bed.bootstrap, "from-java", "java", SIZES.join(",")]);
    assert.equal(out.split("\n").filter((l) => l.startsWith("produced ")).length, SIZES.length);

    const consumer = kafka.consumer({ groupId: "kafkajs-group", maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic: "from-java", fromBeginning: true });
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer.run({
        eachMessage: async ({ message }) => {
          got.push(`${message.key!.toString()} ${message.value!.length} ${sha256(message.value!)}`);
          if (got.length === SIZES.length) resolve();
        },
      }).catch(reject);
    });
    await consumer.disconnect();
    assert.deepEqual(got, SIZES.map((s, i) => `java-${i} ${s} ${sha256(payload(s, i))}`));

    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchOffsets({ groupId: "kafkajs-group", topics: ["from-java"] });
    await admin.disconnect();
    assert.equal(offsets[0].partitions[0].offset, String(SIZES.length));
  }));

  test("the broker itself holds exactly what was sent (read on its direct listener)", guard(async () => {
    const direct = new Kafka({ clientId: "direct-check", brokers: [suite.bed.kafka.direct], logLevel: logLevel.NOTHING });
    const admin = direct.admin();
    await admin.connect();
    for (const topic of ["from-kafkajs", "from-java"]) {
      const offsets = await admin.fetchTopicOffsets(topic);
      assert.equal(offsets[0].high, String(SIZES.length), topic);
    }
    await admin.disconnect();
  }));

  test("the filter checked every frame and refused none", guard(async () => {
    const stats = await suite.bed.envoy.stats();
    const get = (name: string) => stats.get(`wasmcustom.kafka_proxy.${name}`);
    for (const name of ["connections_closed_protocol_error", "requests_malformed", "responses_malformed",
      "requests_oversized", "responses_oversized", "requests_unsupported_version"]) {
      assert.equal(get(name), 0, name);
    }
    // Every request that expects an answer got one through the filter (acks=0 was not used).
    assert.ok(get("requests_forwarded")! > 50, `requests_forwarded=${get("requests_forwarded")}`);
    assert.ok(get("responses_forwarded")! > 50);
  }));
});
