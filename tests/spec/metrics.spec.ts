// The metrics stage (filters/kafka_metrics.ts) through the filter's own Pipeline: captured kafkajs and
// Java-client exchanges and hand-built Produce/Fetch frames go through as a connection would, and
// the counters are read back from the spec host (host_imports.js) by their Envoy names (without
// `kafka_proxy.`): requests and bytes per API version, responses per error code, per client id,
// records and bytes per topic from the record sets' batch headers, and the `other` label for
// what gets no label of its own.
import { FRAME_COUNT } from "./fixtures/captured_frames";
import { Captured } from "./captured";
import { FrameBuilder } from "./helpers";
import { Exchange, contents, metric } from "./exchange";
import { ByteBuffer } from "../../assembly/kafka/byte_buffer";
import { apiName } from "../../assembly/kafka/api_table";
import { parseRequestHeader, RequestHeader } from "../../assembly/kafka/message_header";
import { parseConfig } from "../../assembly/policy/config";
import { Verdict } from "../../assembly/proxy/kafka_frame";
import { ProxyCounters } from "../../assembly/proxy/proxy_counters";
import { VmState } from "../../filters/pipeline";

// The spec host's shared data as Envoy's (host_imports.js): off for the specs before the last.
// @ts-ignore: decorator
@external("env", "spec_share_data")
declare function spec_share_data(on: i32): void;

const proxyCounters = new ProxyCounters();

function metricsShared(json: string): VmState {
  const parsed = parseConfig(json);
  expect(parsed.error).toBe("");
  const shared = VmState.of(parsed.config!, proxyCounters);
  expect(shared.metrics).not.toBeNull();
  return shared;
}

function stem(apiKey: i16, apiVersion: i16): string {
  return ".api." + apiName(apiKey) + ".v." + apiVersion.toString();
}

function clientOf(c: Captured): string {
  const h = new RequestHeader();
  expect(parseRequestHeader(c.frame.ptr, c.frame.len, h)).toBe(0);
  return String.UTF8.decodeUnsafe(h.clientIdPtr, <usize>h.clientIdLen);
}

// The first non-zero error code of a response, in wire order (0 for none).
function firstError(c: Captured): i16 {
  const errors = contents(c, c.frame, false).errors;
  for (let i = 0; i < errors.length; i++) if (errors[i] != 0) return errors[i];
  return 0;
}

// Record batches (magic 2) holding `counts` records each, as a nullable bytes field: the batch
// header's record count is what the stage reads, the records themselves are 10 opaque bytes.
function recordSet(b: FrameBuilder, counts: i32[]): i32 {
  const size = counts.length * (61 + 10);
  b.i32(size);
  for (let i = 0; i < counts.length; i++) {
    b.i32(0).i32(0).i32(49 + 10).i32(0).i8(2).i32(0).i16(0).i32(counts[i] - 1)
      .i32(0).i32(0).i32(0).i32(0).i32(-1).i32(-1).i16(-1).i32(-1).i32(counts[i]).zeros(10);
  }
  return size;
}

// Produce v3 from `client`: partition 0 of each topic, batches of `counts` records each.
function produceV3(client: string, topics: string[], counts: i32[]): ByteBuffer {
  const b = new FrameBuilder().i16(0).i16(3).i32(1).str(client).i16(-1).i16(-1).i32(30000).i32(topics.length);
  for (let i = 0; i < topics.length; i++) {
    b.str(topics[i]).i32(1).i32(0);
    recordSet(b, counts);
  }
  return b.finish();
}

// Fetch v4 response: partition 0 of `topic` with batches of `counts` records.
function fetchV4Response(topic: string, counts: i32[]): ByteBuffer {
  const b = new FrameBuilder().i32(1).i32(0).i32(1).str(topic).i32(1).i32(0).i16(0).i32(0).i32(100).i32(0).i32(100).i32(-1);
  recordSet(b, counts);
  return b.finish();
}

function fetchV4(client: string, topic: string): ByteBuffer {
  return new FrameBuilder().i16(1).i16(4).i32(1).str(client).i32(-1).i32(500).i32(1).i32(1048576).i8(0)
    .i32(1).str(topic).i32(1).i32(0).i32(0).i32(0).i32(1048576).finish();
}

describe("metrics stage", () => {
  it("counts every captured request and response per API version, client and error code", () => {
    const shared = metricsShared("{}");
    // What the fixtures say, in the order the names are first seen.
    const names: string[] = [];
    const expected: u64[] = [];
    const before: u64[] = [];
    const add = (name: string, n: u64, names: string[], expected: u64[], before: u64[]): void => {
      const i = names.indexOf(name);
      if (i >= 0) {
        expected[i] += n;
        return;
      }
      names.push(name);
      expected.push(n);
      before.push(metric(name));
    };
    for (let i = 0; i + 1 < FRAME_COUNT; i += 2) {
      const req = new Captured(i);
      const res = new Captured(i + 1);
      const s = stem(req.apiKey, req.apiVersion);
      add("requests" + s, 1, names, expected, before);
      add("request_bytes" + s, <u64>req.frame.len, names, expected, before);
      add("response_bytes" + s, <u64>res.frame.len, names, expected, before);
      add("responses" + s + ".error." + firstError(res).toString(), 1, names, expected, before);
      const client = clientOf(req);
      add("client_requests.client." + client, 1, names, expected, before);
      add("client_request_bytes.client." + client, <u64>req.frame.len, names, expected, before);
      add("client_response_bytes.client." + client, <u64>res.frame.len, names, expected, before);
    }
    const out = new ByteBuffer();
    for (let i = 0; i + 1 < FRAME_COUNT; i += 2) {
      const req = new Captured(i);
      const exchange = new Exchange(shared);
      expect(exchange.request(req, out)).toBe(Verdict.Forward, req.label);
      const v = exchange.response(req, new Captured(i + 1).frame, out);
      expect(v == Verdict.Forward || v == Verdict.Replace).toBe(true, req.label);
    }
    for (let i = 0; i < names.length; i++) expect(metric(names[i]) - before[i]).toBe(expected[i], names[i]);
    // The captured responses with errors: FindCoordinator v2 (15), JoinGroup (79), InitProducerId (14).
    expect(names.includes("responses.api.FindCoordinator.v.2.error.15")).toBe(true);
    expect(names.includes("responses.api.JoinGroup.v.5.error.79")).toBe(true);
    expect(names.includes("responses.api.InitProducerId.v.5.error.14")).toBe(true);
    expect(names.includes("client_requests.client.java-consumer")).toBe(true);
  });

  it("counts the records and bytes of produced and fetched record sets per topic", () => {
    const shared = metricsShared("{}");
    const produced = "topic_produce_records.topic.orders";
    const producedBytes = "topic_produce_bytes.topic.orders";
    const fetched = "topic_fetch_records.topic.orders";
    const fetchedBytes = "topic_fetch_bytes.topic.orders";
    const auditProduced = "topic_produce_records.topic.audit";
    const p0 = metric(produced);
    const pb0 = metric(producedBytes);
    const f0 = metric(fetched);
    const fb0 = metric(fetchedBytes);
    const a0 = metric(auditProduced);
    const out = new ByteBuffer();
    const exchange = new Exchange(shared);
    // Two topics, two batches each: 3 and 4 records.
    expect(exchange.requestOf(produceV3("app", ["orders", "audit"], [3, 4]), out)).toBe(Verdict.Forward);
    expect(exchange.requestOf(fetchV4("app", "orders"), out)).toBe(Verdict.Forward);
    expect(exchange.responseTo(1, 4, fetchV4Response("orders", [5, 1, 2]), out)).toBe(Verdict.Forward);
    expect(metric(produced) - p0).toBe(7);
    expect(metric(producedBytes) - pb0).toBe(2 * 71);
    expect(metric(auditProduced) - a0).toBe(7);
    expect(metric(fetched) - f0).toBe(8);
    expect(metric(fetchedBytes) - fb0).toBe(3 * 71);
    // A Produce is not a fetch, a Fetch response not a produce.
    expect(metric("topic_fetch_records.topic.audit")).toBe(0);
  });

  it("counts the captured clients' records: the Produce v7 batch kafkajs sent to `capture`", () => {
    const shared = metricsShared("{}");
    const req = new Captured(0);
    expect(req.label).toBe("Produce v7 request");
    // The batch headers, read here: record count at 57, batch length at 8.
    const records = contents(req, req.frame, true).recordBytes;
    let count: u64 = 0;
    for (let at = 0; at + 61 <= records.len;) {
      count += <u64>bswap<u32>(load<u32>(records.ptr + <usize>(at + 57)));
      at += 12 + <i32>bswap<u32>(load<u32>(records.ptr + <usize>(at + 8)));
    }
    expect(count).toBeGreaterThan(0);
    const before = metric("topic_produce_records.topic.capture");
    const bytesBefore = metric("topic_produce_bytes.topic.capture");
    const out = new ByteBuffer();
    expect(new Exchange(shared).request(req, out)).toBe(Verdict.Forward);
    expect(metric("topic_produce_records.topic.capture") - before).toBe(count);
    expect(metric("topic_produce_bytes.topic.capture") - bytesBefore).toBe(<u64>records.len);
  });

  it("counts labels too long for a metric name under `other`", () => {
    const shared = metricsShared("{}");
    const longClient = "c".repeat(300);
    const longTopic = "t".repeat(300);
    const requests = metric("client_requests.client.other");
    const records = metric("topic_produce_records.topic.other");
    const out = new ByteBuffer();
    const exchange = new Exchange(shared);
    expect(exchange.requestOf(produceV3(longClient, [longTopic], [2]), out)).toBe(Verdict.Forward);
    expect(exchange.requestOf(produceV3(longClient, ["orders"], [1]), out)).toBe(Verdict.Forward);
    expect(metric("client_requests.client.other") - requests).toBe(2);
    expect(metric("topic_produce_records.topic.other") - records).toBe(2);
    // Nothing was defined under the long names.
    expect(metric("client_requests.client." + longClient)).toBe(0);
  });

  it("gives at most max_client_labels clients a label of their own across workers, the rest `other`", () => {
    spec_share_data(1);
    // Two workers' VMs of one Envoy: each its own KafkaMetrics, one shared data.
    const config = `{"max_client_labels": 2}`;
    const first = new Exchange(metricsShared(config));
    const second = new Exchange(metricsShared(config));
    const other = metric("client_requests.client.other");
    const out = new ByteBuffer();
    expect(first.requestOf(produceV3("alpha", ["orders"], [1]), out)).toBe(Verdict.Forward);
    expect(second.requestOf(produceV3("beta", ["orders"], [1]), out)).toBe(Verdict.Forward);
    // The two places are taken: the next clients share `other`, on either worker...
    expect(first.requestOf(produceV3("gamma", ["orders"], [1]), out)).toBe(Verdict.Forward);
    expect(second.requestOf(produceV3("delta", ["orders"], [1]), out)).toBe(Verdict.Forward);
    expect(second.requestOf(produceV3("gamma", ["orders"], [1]), out)).toBe(Verdict.Forward);
    // ...while a label the other worker claimed is counted under its own name.
    expect(second.requestOf(produceV3("alpha", ["orders"], [1]), out)).toBe(Verdict.Forward);
    expect(first.requestOf(produceV3("beta", ["orders"], [1]), out)).toBe(Verdict.Forward);
    expect(metric("client_requests.client.alpha")).toBe(2);
    expect(metric("client_requests.client.beta")).toBe(2);
    expect(metric("client_requests.client.other") - other).toBe(3);
    expect(metric("client_requests.client.gamma")).toBe(0);
    expect(metric("client_requests.client.delta")).toBe(0);
    spec_share_data(0);
  });
});
