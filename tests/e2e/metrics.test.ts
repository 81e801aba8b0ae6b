// The metrics stage through real Envoy + filter + Kafka: a known workload from kafkajs, the
// Java client and hand-made frames, then exact values read from Envoy's admin endpoint.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { suiteTestBed } from "../harness/testbed.ts";
import { javaClient } from "../harness/java_client.ts";
import { exchange, frames, requestFrame } from "../harness/raw_client.ts";
import { compactStr, i8, i32, str } from "../harness/kafka_bytes.ts";
import { waitFor } from "../harness/process.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../harness/paths.ts";

const API_VERSIONS = 18;
const METADATA = 3;

// ApiVersions v3 (flexible): compact client software name and version, no tagged fields.
function apiVersionsV3(name: string, version: string): Buffer {
  return Buffer.concat([compactStr(name), compactStr(version), Buffer.from([0])]);
}

// Metadata v4 for one topic, no auto-creation.
function metadataV4(topic: string): Buffer {
  return Buffer.concat([i32(1), str(topic), i8(0)]);
}

describe("metrics through Envoy + filter + Kafka", () => {
  // Two topic labels: the third topic that carries records is counted as `other`.
  const suite = suiteTestBed("metrics", { max_topic_labels: 2, max_client_labels: 20 });
  const { guard } = suite;
  const stat = async (name: string) => (await suite.bed.envoy.stats(`kafka_proxy.${name}`)).get(`wasmcustom.kafka_proxy.${name}`);
  const logSize = async (topic: string) =>
    Number(/logsize (\d+)/.exec(await javaClient(["logsize", suite.bed.kafka.direct, topic]))![1]);
  let rawRequestBytes = 0;
  let rawResponseBytes = 0;

  before(async () => {
    const bed = suite.bed;
    const kafka = new Kafka({ clientId: "js-app", brokers: [bed.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "orders" }, { topic: "payments" }, { topic: "audit" }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: "orders", messages: [{ value: "a" }, { value: "bb" }, { value: "ccc" }] });
    await javaClient(["produce", bed.bootstrap, "payments", "p", "10,20"]);
    await producer.send({ topic: "audit", messages: [{ value: "x" }] });
    await producer.disconnect();
    await javaClient(["consume", bed.bootstrap, "orders", "g-java", "3"]);
    const consumer = kafka.consumer({ groupId: "g-js", maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: "payments", fromBeginning: true });
    let seen = 0;
    await new Promise<void>((res, rej) => void consumer.run({ eachMessage: async () => void (++seen === 2 && res()) }).catch(rej));
    await consumer.disconnect();

    // Hand-made frames from client id "raw-client": exact requests, bytes and error codes.
    const sent = [
      requestFrame(API_VERSIONS, 0, 1, "raw-client"),
      requestFrame(API_VERSIONS, 3, 2, "raw-client", apiVersionsV3("raw-test", "1.0"), true),
      requestFrame(METADATA, 4, 3, "raw-client", metadataV4("no-such-topic")),
    ];
    const r = await exchange(bed.envoy.listenPort, [Buffer.concat(sent)], { timeoutMs: 3000 });
    assert.equal(frames(r.received).length, 3);
    rawRequestBytes = sent.reduce((n, f) => n + f.length, 0);
    rawResponseBytes = r.received.length;
  });

  test("per topic: produce and fetch records and bytes, from record batch headers", guard(async () => {
    const orders = await logSize("orders");
    const payments = await logSize("payments");
    assert.equal(await stat("topic_produce_records.topic.orders"), 3);
    assert.equal(await stat("topic_produce_bytes.topic.orders"), orders);
    // The Java client produces with topic ids (Produce v13), named through Metadata.
    assert.equal(await stat("topic_produce_records.topic.payments"), 2);
    assert.equal(await stat("topic_produce_bytes.topic.payments"), payments);
    assert.equal(await stat("topic_fetch_records.topic.orders"), 3);
    assert.equal(await stat("topic_fetch_bytes.topic.orders"), orders);
    assert.equal(await stat("topic_fetch_records.topic.payments"), 2);
    assert.equal(await stat("topic_fetch_bytes.topic.payments"), payments);
  }));

  test("topic labels beyond max_topic_labels are counted as `other`", guard(async () => {
    assert.equal(await stat("topic_produce_records.topic.other"), 1);
    assert.equal(await stat("topic_produce_bytes.topic.other"), await logSize("audit"));
    assert.equal(await stat("topic_produce_records.topic.audit"), undefined);
  }));

  test("per API and version: requests, bytes and responses by error code", guard(async () => {
    assert.equal(await stat("requests.api.ApiVersions.v.0"), 1);
    assert.equal(await stat("requests.api.ApiVersions.v.3"), 1);
    assert.equal(await stat("requests.api.Metadata.v.4"), 1);
    assert.equal(await stat("responses.api.Metadata.v.4.error.3"), 1, "UNKNOWN_TOPIC_OR_PARTITION");
    assert.equal(await stat("responses.api.Metadata.v.4.error.0"), undefined);
    assert.equal(await stat("responses.api.ApiVersions.v.0.error.0"), 1);
    // kafkajs produced with two Produce v7 requests, the Java client with two Produce v13.
    assert.equal(await stat("requests.api.Produce.v.7"), 2);
    assert.equal(await stat("requests.api.Produce.v.13"), 2);
    assert.equal(await stat("responses.api.Produce.v.7.error.0"), 2);
    assert.equal(await stat("responses.api.Produce.v.13.error.0"), 2);
  }));

  test("per client id: requests and bytes; client software from ApiVersions v3+", guard(async () => {
    assert.equal(await stat("client_requests.client.raw-client"), 3);
    assert.equal(await stat("client_request_bytes.client.raw-client"), rawRequestBytes);
    assert.equal(await stat("client_response_bytes.client.raw-client"), rawResponseBytes);
    assert.equal(await stat("client_software_connections.software.raw-test/1.0"), 1);
    const kafkaVersion = readFileSync(join(ROOT, ".tools/kafka/version"), "utf8").trim();
    assert.ok((await stat(`client_software_connections.software.apache-kafka-java/${kafkaVersion}`))! >= 2);
    assert.ok((await stat("client_requests.client.js-app"))! > 0);
    assert.ok((await stat("client_requests.client.java-producer"))! > 0);
  }));

  test("Prometheus output carries the labels and the latency histograms", guard(async () => {
    let prom = "";
    await waitFor("latency histograms to be flushed", async () => {
      prom = await suite.bed.envoy.admin("/stats/prometheus");
      return /kafka_proxy_latency_us_count\{kafka_api="Produce",kafka_version="13"\} [1-9]/.test(prom);
    }, 15000);
    assert.match(prom, /^kafka_proxy_topic_produce_records\{kafka_topic="orders"\} 3$/m);
    assert.match(prom, /^kafka_proxy_topic_produce_records\{kafka_topic="other"\} 1$/m);
    assert.match(prom, /^kafka_proxy_responses\{kafka_api="Metadata",kafka_version="4",kafka_error_code="3"\} 1$/m);
    assert.match(prom, /^kafka_proxy_client_requests\{kafka_client_id="raw-client"\} 3$/m);
    assert.match(prom, /^kafka_proxy_client_software_connections\{kafka_client_software="raw-test\/1.0"\} 1$/m);
    assert.match(prom, /^kafka_proxy_latency_us_bucket\{kafka_api="Fetch",kafka_version="18",le="[0-9.e+]+"\} \d+$/m);
  }));

  test("every metric and label the Grafana dashboard queries exists", guard(async () => {
    const dashboard = readFileSync(join(ROOT, "docs/grafana/kafka-proxy-dashboard.json"), "utf8");
    const prom = await suite.bed.envoy.admin("/stats/prometheus");
    const metrics = new Set(dashboard.match(/kafka_proxy_[a-z_]+/g));
    assert.ok(metrics.size >= 10);
    for (const m of metrics) assert.match(prom, new RegExp(`^${m}(\\{|_bucket\\{| )`, "m"), m);
    for (const label of new Set(dashboard.match(/kafka_(api|version|error_code|topic|client_id|client_software)\b/g))) {
      assert.match(prom, new RegExp(`[{,]${label}="`), label);
    }
  }));

  test("no parse failures, and connections are counted out when clients leave", guard(async () => {
    for (const name of ["requests_malformed", "responses_malformed", "requests_unsupported_version",
      "connections_closed_protocol_error"]) {
      assert.equal(await stat(name), 0, name);
    }
    await waitFor("all client connections to close", async () => (await stat("connections_active")) === 0, 15000);
  }));
});
