// Record validation (issue 19) through real Envoy + filter + Kafka, with the Java client,
// kafkajs and librdkafka (confluent-kafka): compliant records land; records missing a header,
// with a schema id outside the allowed range, broken JSON or over the size limit are refused
// with INVALID_RECORD and the rule's message (Java's InvalidRecordException carries it), and the
// broker's DIRECT listener (no filter) shows nothing of a refused batch. Batches compressed with
// gzip, snappy and lz4 by each client are inflated and validated the same (kafkajs with the
// pure-JavaScript snappy and lz4 codecs of tests/harness/kafkajs_codecs.ts); zstd is not inflated
// here (refused or passed per rule). One broker for the file.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel, CompressionTypes } from "kafkajs";
import { suiteTestBed } from "../harness/testbed.ts";
import { brokerOffset, createTopics } from "../harness/broker_view.ts";
import { javaClient } from "../harness/java_client.ts";
import { runClient } from "../harness/more_clients.ts";
import { registerKafkajsCodecs } from "../harness/kafkajs_codecs.ts";
import { storedBatches } from "../harness/stored_batches.ts";

registerKafkajsCodecs();

// A refused producer gives up in seconds.
const FAIL_FAST = { DELIVERY_TIMEOUT_MS: "30000", REQUEST_TIMEOUT_MS: "20000" };
const CONFIG = {
  // One principal's val.moved is the broker's val.moved.v2 (a rule's topic renamed).
  principal_sources: ["client_id"],
  rewrite: { renames: [{ principal: "User:mover", resource: "topic", from: "val.moved", to: "val.moved.v2" }] },
  validation: {
    max_inflated_bytes: 65536,
    rules: [
      { name: "orders", topics: ["val.orders", "val.orders.parts", "val.moved", "val.zip.*"], headers: { "trace-id": null }, json_fields: ["id"], max_record_bytes: 2000 },
      { name: "avro", topics: ["val.avro"], schema_ids: [[100, 199]] },
      { name: "lenient", topics: ["val.lenient"], json: true, unsupported_compression: "pass" },
      // Counts what it would refuse (records with a "debug" header are not checked for it): refuses nothing.
      { name: "watch", topics: ["val.orders"], dry_run: true, max_headers: 1 },
    ],
  },
};
const HEADER = { HEADERS: "trace-id=abc" };
const ORDER = JSON.stringify({ id: 7, item: "book" });
// Values that compress (librdkafka sends a batch uncompressed when compressing does not make it
// smaller): a compliant order, and one invalid record for each reason a rule refuses, with the
// rule that counts it and the message it refuses with.
const PAD = "a".repeat(400);
const ORDER_PADDED = JSON.stringify({ id: 7, item: "book", note: PAD });
const SCHEMA_OK = "hex:0000000065" + "00".repeat(200);
const REFUSALS = [
  { why: "no header trace-id", rule: "orders", value: ORDER_PADDED, header: false },
  { why: "value not JSON object with id", rule: "orders", value: `{"id": 7, "note": "${PAD}"`, header: true },
  { why: "record over max_record_bytes", rule: "orders", value: JSON.stringify({ id: 1, pad: "x".repeat(3000) }), header: true },
  { why: "schema id not allowed", rule: "avro", value: "hex:0000000005" + "00".repeat(200), header: false },
];
const asBytes = (v: string) => (v.startsWith("hex:") ? Buffer.from(v.slice(4), "hex") : Buffer.from(v));

describe("record validation through Envoy + filter + Kafka", () => {
  const suite = suiteTestBed("validation", CONFIG);
  const { guard } = suite;
  const stat = (rule: string, which = "refused") => suite.bed.envoy.stat(`validation.${rule}.${which}`);
  const offset = (topic: string) => brokerOffset(suite.bed.kafka, topic);
  const java = (topic: string, env: Record<string, string>, sizes = "1") =>
    javaClient(["produce", suite.bed.bootstrap, topic, "k", sizes], 120000, undefined, { ...FAIL_FAST, ...env });
  const rd = (topic: string, env: Record<string, string>) =>
    runClient("rdkafka", ["produce", suite.bed.bootstrap, topic, "rd", "1"], "rdkafka-validation", 120000, env);
  // The codecs of the batches stored from offset `from` on (direct listener).
  const codecsFrom = async (topic: string, from: number) =>
    (await storedBatches(suite.bed.kafka, topic, from)).filter((b) => b.baseOffset >= from).map((b) => b.codec);

  test("Java client: compliant records land; a missing header, broken JSON, a record too large and a bad schema id are refused with InvalidRecordException naming the rule", guard(async () => {
    await createTopics(suite.bed.kafka, ["val.orders", "val.avro"]);
    const refusedBefore = await stat("orders");
    const wouldBefore = await stat("watch", "would_refuse");
    await java("val.orders", { VALUE: ORDER, ...HEADER }, "1,1");
    assert.equal(await offset("val.orders"), 2);
    await assert.rejects(java("val.orders", { VALUE: ORDER }),
      /InvalidRecordException: validation 'orders': no header trace-id/);
    await assert.rejects(java("val.orders", { VALUE: "{\"id\": 7", ...HEADER }),
      /InvalidRecordException: validation 'orders': value not JSON object with id/);
    await assert.rejects(java("val.orders", { VALUE: JSON.stringify({ id: 1, pad: "x".repeat(3000) }), ...HEADER }),
      /InvalidRecordException: validation 'orders': record over max_record_bytes/);
    // Two headers: over the dry-run rule's one, and still written.
    await java("val.orders", { VALUE: ORDER, HEADERS: "trace-id=abc;debug=1" });
    assert.equal(await offset("val.orders"), 3);
    assert.equal(await stat("orders"), refusedBefore + 3);
    assert.equal(await stat("watch", "would_refuse"), wouldBefore + 1);
    // Schema registry framing: magic 0, then the schema id (big-endian), then the payload.
    await java("val.avro", { VALUE: "hex:00000000650a0b" });
    assert.equal(await offset("val.avro"), 1);
    await assert.rejects(java("val.avro", { VALUE: "hex:00000000050a0b" }),
      /InvalidRecordException: validation 'avro': schema id not allowed/);
    assert.equal(await offset("val.avro"), 1);
    assert.equal(await offset("val.orders"), 3);
  }));

  test("one request, two partitions of a topic, one batch bad: the good partition lands, the bad one is refused with the rule's message (Java client, topic ids; kafkajs, names)", guard(async () => {
    await createTopics(suite.bed.kafka, ["val.orders.parts"], 2);
    const at = (p: number) => brokerOffset(suite.bed.kafka, "val.orders.parts", p);
    const refused = await stat("orders");
    const out = await javaClient(["produceparts", suite.bed.bootstrap, "val.orders.parts", ORDER, "{\"id\": 8"], 120000, undefined, HEADER);
    assert.match(out, /^partition 0 offset 0$/m, out);
    assert.match(out, /^partition 1 error org\.apache\.kafka\.common\.InvalidRecordException: validation 'orders': value not JSON object with id$/m, out);
    assert.equal(await at(0), 1);
    assert.equal(await at(1), 0);
    assert.equal(await stat("orders"), refused + 1);
    // kafkajs sends both partitions in one request too (Produce v7: topic names).
    const kafka = new Kafka({ clientId: "kafkajs-parts", brokers: [suite.bed.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await producer.connect();
    try {
      const headers = { "trace-id": "js" };
      await assert.rejects(producer.send({ topic: "val.orders.parts", acks: -1, messages: [
        { partition: 1, key: "b", value: "[1,2", headers }, { partition: 0, key: "a", value: ORDER, headers }] }),
      (e: Error & { type?: string }) => e.type === "INVALID_RECORD" || assert.fail(`${e} ${e.type}`));
    } finally {
      await producer.disconnect();
    }
    assert.equal(await at(0), 2);
    assert.equal(await at(1), 0);
    assert.equal(await stat("orders"), refused + 2);
    // Per rule and topic, labelled as Prometheus scrapes it (bounded like the topic metrics).
    const prom = await suite.bed.envoy.admin("/stats/prometheus");
    assert.match(prom, /^kafka_proxy_validation_topic_refused\{kafka_topic="val\.orders\.parts",kafka_validation_rule="orders"\} 2$/m, prom);
  }));

  test("a rule covers what rewriting makes of its topic: naming the rename's target directly is refused too (Java client)", guard(async () => {
    await createTopics(suite.bed.kafka, ["val.moved.v2"]);
    await javaClient(["produce", suite.bed.bootstrap, "val.moved", "k", "1"], 120000, "mover", { ...FAIL_FAST, VALUE: ORDER, ...HEADER });
    assert.equal(await offset("val.moved.v2"), 1);
    // Another principal sees and names the broker's val.moved.v2 (the renamed one's metadata shows it
    // as val.moved only; its raw requests naming val.moved.v2 are in the spec).
    await assert.rejects(javaClient(["produce", suite.bed.bootstrap, "val.moved.v2", "k", "1"], 120000, "someone-else", { ...FAIL_FAST, VALUE: ORDER }),
      /InvalidRecordException: validation 'orders': no header trace-id/);
    assert.equal(await offset("val.moved.v2"), 1);
  }));

  test("kafkajs: a compliant batch lands, a batch with one broken record is refused whole with INVALID_RECORD", guard(async () => {
    await createTopics(suite.bed.kafka, ["val.orders", "val.free"]);
    const before = await offset("val.orders");
    const kafka = new Kafka({ clientId: "kafkajs-validation", brokers: [suite.bed.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await producer.connect();
    try {
      const headers = { "trace-id": "js" };
      await producer.send({ topic: "val.orders", acks: -1, messages: [{ key: "a", value: ORDER, headers }, { key: "b", value: ORDER, headers }] });
      assert.equal(await offset("val.orders"), before + 2);
      await assert.rejects(
        producer.send({ topic: "val.orders", acks: -1, messages: [{ key: "c", value: ORDER, headers }, { key: "d", value: "[1,2", headers }] }),
        (e: Error & { type?: string }) => e.type === "INVALID_RECORD" || assert.fail(`${e} ${e.type}`));
      await assert.rejects(producer.send({ topic: "val.orders", acks: -1, messages: [{ key: "e", value: ORDER }] }),
        (e: Error & { type?: string }) => e.type === "INVALID_RECORD" || assert.fail(`${e} ${e.type}`));
      // A topic without a rule: anything goes (its records are not read).
      await producer.send({ topic: "val.free", acks: -1, messages: [{ key: "f", value: "not json" }] });
      assert.equal(await offset("val.free"), 1);
    } finally {
      await producer.disconnect();
    }
    // Nothing of the refused batches: not even its valid first record.
    assert.equal(await offset("val.orders"), before + 2);
  }));

  test("librdkafka (confluent-kafka): compliant records land, invalid ones fail with INVALID_RECORD", guard(async () => {
    await createTopics(suite.bed.kafka, ["val.orders", "val.avro"]);
    const before = await offset("val.orders");
    const avroBefore = await offset("val.avro");
    const orders = await stat("orders");
    const avro = await stat("avro");
    const ok = await rd("val.orders", { VALUE: ORDER, ...HEADER });
    assert.ok(ok.ok, ok.stderr);
    assert.equal(await offset("val.orders"), before + 1);
    // librdkafka reports the code with its own text ("Broker failed to validate record"), not
    // the broker's message: the rules' counters say which refused.
    for (const [topic, env] of [["val.orders", { VALUE: ORDER }], ["val.orders", { VALUE: "{\"id\":", ...HEADER }],
      ["val.avro", { VALUE: "hex:00000003e80a" }]] as [string, Record<string, string>][]) {
      const r = await rd(topic, env);
      assert.ok(!r.ok, `${topic} ${JSON.stringify(env)}`);
      assert.match(r.stderr, /^error \d+ INVALID_RECORD /m, r.stderr);
    }
    assert.equal(await stat("orders"), orders + 2);
    assert.equal(await stat("avro"), avro + 1);
    assert.equal(await offset("val.orders"), before + 1);
    assert.equal(await offset("val.avro"), avroBefore);
  }));

  test("compressed batches (gzip, snappy, lz4; Java client) are inflated and validated", guard(async () => {
    for (const codec of ["gzip", "snappy", "lz4"]) {
      const topic = `val.zip.${codec}`;
      await createTopics(suite.bed.kafka, [topic]);
      await java(topic, { VALUE: ORDER, COMPRESSION: codec, ...HEADER }, "1,1,1");
      assert.equal(await offset(topic), 3, codec);
      await assert.rejects(java(topic, { VALUE: ORDER, COMPRESSION: codec }),
        /InvalidRecordException: validation 'orders': no header trace-id/, codec);
      assert.equal(await offset(topic), 3, codec);
    }
    // kafkajs (gzip is built in): a gzip batch with one record lacking the header is refused whole.
    const kafka = new Kafka({ clientId: "kafkajs-gzip", brokers: [suite.bed.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await producer.connect();
    try {
      const headers = { "trace-id": "z" };
      await producer.send({ topic: "val.zip.gzip", compression: CompressionTypes.GZIP, messages: [{ key: "a", value: ORDER, headers }, { key: "b", value: ORDER, headers }] });
      await assert.rejects(producer.send({ topic: "val.zip.gzip", compression: CompressionTypes.GZIP, messages: [{ key: "c", value: ORDER, headers }, { key: "d", value: ORDER }] }),
        (e: Error & { type?: string }) => e.type === "INVALID_RECORD" || assert.fail(`${e} ${e.type}`));
    } finally {
      await producer.disconnect();
    }
    assert.equal(await offset("val.zip.gzip"), 5);
    // A record that inflates past max_inflated_bytes (100 KiB of one byte: a few hundred bytes gzipped).
    await assert.rejects(java("val.zip.gzip", { VALUE: JSON.stringify({ id: 1, pad: "a".repeat(100000) }), COMPRESSION: "gzip", ...HEADER }),
      /InvalidRecordException: validation 'orders': inflates past max_inflated_bytes/);
    assert.equal(await offset("val.zip.gzip"), 5);
  }));

  test("librdkafka (confluent-kafka) with gzip, snappy and lz4: compliant records land; a missing header, broken JSON, a record too large and a bad schema id fail with INVALID_RECORD, counted by their rule, nothing of them on the broker", guard(async () => {
    for (const codec of ["gzip", "snappy", "lz4"]) {
      const topic = `val.zip.${codec}`;
      await createTopics(suite.bed.kafka, [topic, "val.avro"]);
      const before: Record<string, number> = { [topic]: await offset(topic), "val.avro": await offset("val.avro") };
      for (const [t, value] of [[topic, ORDER_PADDED], ["val.avro", SCHEMA_OK]]) {
        const r = await rd(t, { VALUE: value, COMPRESSION: codec, ...HEADER });
        assert.ok(r.ok, `${codec} ${t}: ${r.stderr}`);
        // Sent, and stored, compressed with the codec asked for.
        assert.deepEqual(await codecsFrom(t, before[t]), [codec], `${codec} ${t}`);
      }
      for (const bad of REFUSALS) {
        const t = bad.rule === "avro" ? "val.avro" : topic;
        const counted = await stat(bad.rule);
        const r = await rd(t, { VALUE: bad.value, COMPRESSION: codec, ...(bad.header ? HEADER : {}) });
        assert.ok(!r.ok, `${codec}: ${bad.why}`);
        // librdkafka's own text for the code, not the broker's message: the rule's counter says which refused.
        assert.match(r.stderr, /^error \d+ INVALID_RECORD /m, `${codec}: ${bad.why}: ${r.stderr}`);
        assert.equal(await stat(bad.rule), counted + 1, `${codec}: ${bad.why}`);
      }
      assert.equal(await offset(topic), before[topic] + 1, codec);
      assert.equal(await offset("val.avro"), before["val.avro"] + 1, codec);
    }
  }));

  test("kafkajs with snappy (kafkajs-snappy) and lz4 (an LZ4 frame over lz4js): compliant batches land; a batch with a record missing its header, broken JSON, too large or with a bad schema id is refused whole with INVALID_RECORD", guard(async () => {
    const kafka = new Kafka({ clientId: "kafkajs-codecs", brokers: [suite.bed.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await producer.connect();
    try {
      for (const [codec, compression] of [["snappy", CompressionTypes.Snappy], ["lz4", CompressionTypes.LZ4]] as const) {
        const topic = `val.zip.${codec}`;
        await createTopics(suite.bed.kafka, [topic, "val.avro"]);
        const before: Record<string, number> = { [topic]: await offset(topic), "val.avro": await offset("val.avro") };
        const headers = { "trace-id": "js" };
        const good = (t: string) => ({ key: "ok", value: asBytes(t === topic ? ORDER : SCHEMA_OK), headers });
        for (const t of [topic, "val.avro"]) {
          await producer.send({ topic: t, compression, acks: -1, messages: [good(t), good(t)] });
          assert.deepEqual(await storedBatches(suite.bed.kafka, t, before[t]), [{ baseOffset: before[t], records: 2, codec }], `${codec} ${t}`);
        }
        for (const bad of REFUSALS) {
          const t = bad.rule === "avro" ? "val.avro" : topic;
          const counted = await stat(bad.rule);
          // A compliant record first: nothing of the batch is written.
          await assert.rejects(producer.send({ topic: t, compression, acks: -1, messages: [good(t), { key: "bad", value: asBytes(bad.value), headers: bad.header ? headers : {} }] }),
            (e: Error & { type?: string }) => e.type === "INVALID_RECORD" || assert.fail(`${codec}: ${bad.why}: ${e} ${e.type}`));
          assert.equal(await stat(bad.rule), counted + 1, `${codec}: ${bad.why}`);
        }
        assert.equal(await offset(topic), before[topic] + 2, codec);
        assert.equal(await offset("val.avro"), before["val.avro"] + 2, codec);
      }
    } finally {
      await producer.disconnect();
    }
  }));

  test("zstd (not inflated here; Java client, librdkafka): refused with UNSUPPORTED_COMPRESSION_TYPE, or passed and counted where the rule says so", guard(async () => {
    await createTopics(suite.bed.kafka, ["val.zip.zstd", "val.lenient"]);
    await assert.rejects(java("val.zip.zstd", { VALUE: ORDER, COMPRESSION: "zstd", ...HEADER }),
      /UnsupportedCompressionTypeException: validation 'orders': codec not supported/);
    assert.equal(await offset("val.zip.zstd"), 0);
    const passed = await suite.bed.envoy.stat("validation.unsupported_passed");
    await java("val.lenient", { VALUE: "not json", COMPRESSION: "zstd" });
    assert.equal(await offset("val.lenient"), 1);
    assert.equal(await suite.bed.envoy.stat("validation.unsupported_passed"), passed + 1);
    // librdkafka the same (with a value that compresses: it sends a batch uncompressed otherwise).
    const refused = await rd("val.zip.zstd", { VALUE: ORDER_PADDED, COMPRESSION: "zstd", ...HEADER });
    assert.ok(!refused.ok);
    assert.match(refused.stderr, /^error \d+ UNSUPPORTED_COMPRESSION_TYPE /m, refused.stderr);
    assert.equal(await offset("val.zip.zstd"), 0);
    const lenient = await rd("val.lenient", { VALUE: `not json ${PAD}`, COMPRESSION: "zstd" });
    assert.ok(lenient.ok, lenient.stderr);
    assert.equal(await offset("val.lenient"), 2);
    assert.deepEqual(await codecsFrom("val.lenient", 0), ["zstd", "zstd"]);
    assert.equal(await suite.bed.envoy.stat("validation.unsupported_passed"), passed + 2);
  }));
});
