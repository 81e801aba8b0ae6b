// Guardrails (issue 18) through real Envoy + filter + Kafka, with Kafka's own CLI tools
// (kafka-topics.sh and kafka-configs.sh run these same classes: org.apache.kafka.tools.TopicCommand
// and ConfigCommand), the Java client and kafkajs. A violation is answered with the error the
// broker would give for the same problem, carrying the rule's message; the broker's DIRECT
// listener (no filter) is the witness that nothing refused reached it, and compliant requests
// in the same tests go through. One broker for the whole file.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel, CompressionTypes } from "kafkajs";
import { suiteTestBed } from "../harness/testbed.ts";
import { KAFKA_LIBS } from "../harness/paths.ts";
import { brokerOffset, brokerTopics, createTopics } from "../harness/broker_view.ts";
import { javaClient } from "../harness/java_client.ts";

// A refused producer gives up in seconds, not after Kafka's two-minute delivery timeout.
const FAIL_FAST = { DELIVERY_TIMEOUT_MS: "30000", REQUEST_TIMEOUT_MS: "20000" };
const WEEK_MS = 604800000;
const CONFIG = {
  principal_sources: ["client_id"],
  guardrails: [
    {
      name: "topic-shape",
      topic_name_pattern: "^[a-z0-9-]+\\.[a-z0-9-]+$",
      partitions: { min: 1, max: 12 },
      topic_configs: {
        forbidden: ["unclean.leader.election.enable"],
        ranges: { "retention.ms": { max: WEEK_MS } },
        values: { "cleanup.policy": ["delete", "compact"] },
      },
    },
    // Production's admins must replicate (one broker here: only they are held to it).
    { name: "prod-replication", principals: ["User:prod-admin"], replication_factor: { min: 2 } },
    { name: "producers", acks: ["all"], compression: ["gzip", "lz4", "zstd"] },
    { name: "client-ids", client_id_required: true },
    // Dry-run: counts what it would refuse, refuses nothing.
    { name: "watch-partitions", dry_run: true, partitions: { max: 2 } },
  ],
};

// Runs one of Kafka's CLI tools (the class its bin/ script runs) with a small heap; resolves
// with its exit code and output (both streams).
function kafkaTool(cls: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((res) => {
    const p = spawn("java", ["-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", `${KAFKA_LIBS}/*`, cls, ...args], { timeout: 120000 });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("close", (code) => res({ code: code ?? -1, out }));
  });
}

// Topics made on the broker's direct listener; kafkajs' wait for their leaders may see the
// broker's metadata lag behind (UNKNOWN_TOPIC_OR_PARTITION): tried again.
async function ensureTopics(kafka: Parameters<typeof createTopics>[0], topics: string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await createTopics(kafka, topics);
      return;
    } catch (e) {
      if (attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

describe("guardrails through Envoy + filter + Kafka", () => {
  // Auto-creation on (Kafka's default; the harness turns it off): the guardrails must not let a
  // Metadata request create what a CreateTopics could not.
  const suite = suiteTestBed("guardrails", CONFIG, { kafka: { props: { "auto.create.topics.enable": "true" } } });
  const { guard } = suite;
  const stat = (rule: string, which = "violations") => suite.bed.envoy.stat(`guardrails.${rule}.${which}`);
  const commandConfig = (clientId: string): string => {
    const file = join(suite.bed.dir, `${clientId}.properties`);
    writeFileSync(file, `client.id=${clientId}\n`);
    return file;
  };
  const topics = (args: string[], clientId = "platform-admin") =>
    kafkaTool("org.apache.kafka.tools.TopicCommand", ["--bootstrap-server", suite.bed.bootstrap, "--command-config", commandConfig(clientId), ...args]);
  const configs = (args: string[]) =>
    kafkaTool("org.apache.kafka.tools.ConfigCommand", ["--bootstrap-server", suite.bed.bootstrap, "--command-config", commandConfig("platform-admin"), ...args]);

  test("kafka-topics --create: too many partitions, a bad name, a forbidden config, RF 1 refused with the broker's errors and the rule's message; a compliant create succeeds", guard(async () => {
    const before = await stat("topic-shape");
    const wouldBefore = await stat("watch-partitions", "would_violate");
    const many = await topics(["--create", "--topic", "team.many", "--partitions", "100", "--replication-factor", "1"]);
    assert.notEqual(many.code, 0, many.out);
    assert.match(many.out, /InvalidPartitionsException: guardrail 'topic-shape': topics may have at most 12 partitions/, many.out);
    const badName = await topics(["--create", "--topic", "Bad_Name", "--partitions", "1", "--replication-factor", "1"]);
    assert.notEqual(badName.code, 0, badName.out);
    assert.match(badName.out, /PolicyViolationException: guardrail 'topic-shape': topic names must match/, badName.out);
    const unclean = await topics(["--create", "--topic", "team.unclean", "--partitions", "1", "--replication-factor", "1",
      "--config", "unclean.leader.election.enable=true"]);
    assert.notEqual(unclean.code, 0, unclean.out);
    assert.match(unclean.out, /InvalidConfigurationException: guardrail 'topic-shape': topic configs \[unclean.leader.election.enable\] may not be set/, unclean.out);
    const rf1 = await topics(["--create", "--topic", "prod.orders", "--partitions", "3", "--replication-factor", "1"], "prod-admin");
    assert.notEqual(rf1.code, 0, rf1.out);
    assert.match(rf1.out, /InvalidReplicationFactorException: guardrail 'prod-replication': replication factor must be at least 2/, rf1.out);
    const ok = await topics(["--create", "--topic", "team.orders", "--partitions", "3", "--replication-factor", "1",
      "--config", "retention.ms=86400000"]);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /Created topic team.orders/);
    const onBroker = await brokerTopics(suite.bed.kafka);
    assert.ok(onBroker.includes("team.orders"), onBroker.join(","));
    for (const t of ["team.many", "Bad_Name", "team.unclean", "prod.orders"]) assert.ok(!onBroker.includes(t), `${t} reached the broker`);
    assert.equal(await stat("topic-shape"), before + 3);
    assert.equal(await stat("prod-replication"), 1);
    // The dry-run rule saw 100, 3 and 3 partitions over its 2 (team.orders was created all the same).
    assert.equal(await stat("watch-partitions", "would_violate"), wouldBefore + 3);
  }));

  test("kafka-configs --alter: retention.ms past the limit refused, within it applied", guard(async () => {
    await ensureTopics(suite.bed.kafka, ["team.retention"]);
    const past = await configs(["--alter", "--entity-type", "topics", "--entity-name", "team.retention", "--add-config", `retention.ms=${WEEK_MS * 52}`]);
    assert.notEqual(past.code, 0, past.out);
    assert.match(past.out, /InvalidConfigurationException: guardrail 'topic-shape': retention.ms must be at most 604800000/, past.out);
    const forever = await configs(["--alter", "--entity-type", "topics", "--entity-name", "team.retention", "--add-config", "retention.ms=-1"]);
    assert.notEqual(forever.code, 0, forever.out);
    const within = await configs(["--alter", "--entity-type", "topics", "--entity-name", "team.retention", "--add-config", "retention.ms=3600000"]);
    assert.equal(within.code, 0, within.out);
    // The broker's own view (direct listener) has the change that passed, not the refused ones.
    const admin = new Kafka({ clientId: "broker-view", brokers: [suite.bed.kafka.direct], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const d = await admin.describeConfigs({ resources: [{ type: 2, name: "team.retention", configNames: ["retention.ms"] }], includeSynonyms: false });
      assert.equal(d.resources[0].configEntries[0].configValue, "3600000");
    } finally {
      await admin.disconnect();
    }
  }));

  test("producers: acks=0, acks=1 and no compression refused (Java client, kafkajs); compliant producers write and a consumer reads", guard(async () => {
    await ensureTopics(suite.bed.kafka, ["team.events"]);
    const bootstrap = suite.bed.bootstrap;
    // Java, compliant: acks=all, lz4.
    await javaClient(["produce", bootstrap, "team.events", "ok", "100,200"], 120000, undefined, { COMPRESSION: "lz4" });
    assert.equal(await brokerOffset(suite.bed.kafka, "team.events"), 2);
    // acks=1: INVALID_REQUIRED_ACKS with the rule's message.
    await assert.rejects(javaClient(["produce", bootstrap, "team.events", "acks1", "100"], 120000, undefined, { COMPRESSION: "lz4", ACKS: "1", ...FAIL_FAST }),
      /InvalidRequiredAcksException: guardrail 'producers': acks must be one of \[all\]/);
    // No compression: UNSUPPORTED_COMPRESSION_TYPE.
    await assert.rejects(javaClient(["produce", bootstrap, "team.events", "plain", "100"], 120000, undefined, { COMPRESSION: "none", ...FAIL_FAST }),
      /UnsupportedCompressionTypeException: guardrail 'producers': compression must be one of \[gzip, lz4, zstd\]/);
    // acks=0 has no response to carry an error: the connection is closed, as the broker does;
    // the client believes it sent, the broker has nothing.
    const acks0Before = await stat("producers");
    await javaClient(["produce", bootstrap, "team.events", "acks0", "100"], 120000, undefined, { COMPRESSION: "lz4", ACKS: "0", ...FAIL_FAST });
    assert.ok((await stat("producers")) > acks0Before);
    assert.equal(await brokerOffset(suite.bed.kafka, "team.events"), 2);

    const kafka = new Kafka({ clientId: "kafkajs-app", brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await producer.connect();
    try {
      await producer.send({ topic: "team.events", compression: CompressionTypes.GZIP, acks: -1, messages: [{ value: "gz" }] });
      assert.equal(await brokerOffset(suite.bed.kafka, "team.events"), 3);
      await assert.rejects(producer.send({ topic: "team.events", acks: -1, messages: [{ value: "plain" }] }),
        (e: Error) => /policy|compression/i.test(`${e.message} ${(e as { type?: string }).type ?? ""}`) || assert.fail(`${e}`));
      await assert.rejects(producer.send({ topic: "team.events", acks: 1, compression: CompressionTypes.GZIP, messages: [{ value: "one" }] }),
        (e: Error) => /acks/i.test(`${e.message} ${(e as { type?: string }).type ?? ""}`) || assert.fail(`${e}`));
    } finally {
      await producer.disconnect();
    }
    assert.equal(await brokerOffset(suite.bed.kafka, "team.events"), 3);
    // What was written reads back through the proxy (Fetch with topic ids: the session checks
    // run with the guardrails as the only policy stage).
    const consumed = await javaClient(["consume", bootstrap, "team.events", "team-readers", "3"]);
    assert.match(consumed, /^consumed 3$/m, consumed);
  }));

  test("a client without client.id gets POLICY_VIOLATION and nothing reaches the broker", guard(async () => {
    const before = await stat("client-ids");
    const admin = new Kafka({ clientId: "", brokers: [suite.bed.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    await assert.rejects(async () => {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: "team.anonymous" }] });
    }, (e: Error) => {
      const text = `${e.message} ${(e as { type?: string }).type ?? ""} ${(e as { cause?: Error }).cause?.message ?? ""}`;
      assert.match(text, /POLICY_VIOLATION|do not satisfy the configured policy/, text);
      return true;
    });
    await admin.disconnect().catch(() => {});
    assert.ok((await stat("client-ids")) > before);
    assert.ok(!(await brokerTopics(suite.bed.kafka)).includes("team.anonymous"));
  }));

  test("a producer's metadata does not get a topic outside the name pattern auto-created; one inside is", guard(async () => {
    const kafka = new Kafka({ clientId: "kafkajs-auto", brokers: [suite.bed.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    const producer = kafka.producer({ allowAutoTopicCreation: true, retry: { retries: 3 } });
    await producer.connect();
    try {
      await assert.rejects(producer.send({ topic: "Auto_Bad", compression: CompressionTypes.GZIP, messages: [{ value: "x" }] }));
      await producer.send({ topic: "team.auto", compression: CompressionTypes.GZIP, messages: [{ value: "y" }] });
    } finally {
      await producer.disconnect();
    }
    const onBroker = await brokerTopics(suite.bed.kafka);
    assert.ok(onBroker.includes("team.auto"), onBroker.join(","));
    assert.ok(!onBroker.includes("Auto_Bad"), "Auto_Bad was auto-created");
  }));

  test("a mixed CreateTopics is answered per entry: the compliant topic is created, the violating one refused (Java admin client)", guard(async () => {
    const out = await javaClient(["createtopics", suite.bed.bootstrap, "team.mixed-ok:2:1", "team.mixed-big:50:1",
      "team.mixed-policy:1:1:cleanup.policy=purge"]);
    assert.match(out, /^created team.mixed-ok$/m, out);
    assert.match(out, /^failed team.mixed-big org.apache.kafka.common.errors.InvalidPartitionsException: guardrail 'topic-shape': topics may have at most 12 partitions$/m, out);
    assert.match(out, /^failed team.mixed-policy org.apache.kafka.common.errors.InvalidConfigurationException: guardrail 'topic-shape': cleanup.policy must be one of \[delete, compact\]$/m, out);
    const onBroker = await brokerTopics(suite.bed.kafka);
    assert.ok(onBroker.includes("team.mixed-ok"));
    assert.ok(!onBroker.includes("team.mixed-big") && !onBroker.includes("team.mixed-policy"));
  }));
});
