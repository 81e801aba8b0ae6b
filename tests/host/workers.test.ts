// Topic ids across Envoy workers, on the test host: two module instances (two workers' VMs) with
// one shared-data store, as Envoy gives the workers of one VM id. What one VM learns from a broker
// response, the other uses to judge a request by id with the principal's own verdict; what a
// client writes (ids in its requests) is never learned; an id no response named stays unknown.
// Metric labels (client ids here) are bounded across the workers and counted under one name on all.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WASM } from "../harness/paths.ts";
import { fetchByIdFrame, requestFrame } from "../harness/raw_client.ts";
import { ProxyWasmHost } from "./proxy_wasm_host.ts";
import { compactStr } from "../harness/kafka_bytes.ts";

const POLICY = {
  principal_sources: ["client_id"],
  acls: {
    rules: [
      { principal: "User:reader", permission: "allow", resource: "topic", name: "orders", operations: ["read", "describe"] },
      { principal: "User:creator", permission: "allow", resource: "topic", name: "fresh", operations: ["create", "read"] },
    ],
  },
};
const ORDERS_ID = "00112233445566778899aabbccddeeff";
const FORGED_ID = "ffeeddccbbaa99887766554433221100";
const CREATED_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";


// Metadata v12 request for one topic by name (and, when given, an id: requests may carry both).
function metadataRequest(clientId: string, topic: string, id = "00".repeat(16)): Buffer {
  const body = Buffer.concat([Buffer.from([2]), Buffer.from(id, "hex"), compactStr(topic), Buffer.from([0, 0, 0, 0])]);
  return requestFrame(3, 12, 7, clientId, body, true);
}

// The broker's Metadata v12 answer naming `topic` with `id` (no brokers, no partitions).
function metadataResponse(topic: string, id: string): Buffer {
  const body = Buffer.concat([
    Buffer.from("00000007" + "00" + "00000000" + "01" + "00" + "00000001", "hex"),
    Buffer.from([2]), Buffer.from("0000", "hex"), compactStr(topic), Buffer.from(id, "hex"),
    Buffer.from("00" + "01" + "80000000" + "00", "hex"), Buffer.from([0]),
  ]);
  const frame = Buffer.concat([Buffer.alloc(4), body]);
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

// CreateTopics v7 of `topic` (one partition, replication 1), validate-only or not.
function createTopicsRequest(clientId: string, topic: string, validateOnly: boolean): Buffer {
  const body = Buffer.concat([
    Buffer.from([2]), compactStr(topic), Buffer.from("00000001" + "0001" + "01" + "01" + "00", "hex"),
    Buffer.from("00007530", "hex"), Buffer.from([validateOnly ? 1 : 0, 0]),
  ]);
  return requestFrame(19, 7, 9, clientId, body, true);
}

// The broker's CreateTopics v7 answer: `topic` has `id`, no error.
function createTopicsResponse(topic: string, id: string): Buffer {
  const body = Buffer.concat([
    Buffer.from("00000009" + "00" + "00000000" + "02", "hex"), compactStr(topic), Buffer.from(id, "hex"),
    Buffer.from("0000" + "00" + "00000001" + "0001" + "00" + "00" + "00", "hex"),
  ]);
  const frame = Buffer.concat([Buffer.alloc(4), body]);
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

// What a Fetch by `id` from `clientId` on a fresh connection of `host` comes to: "forwarded", or
// the error code the filter gives its partition. Its only topic refused, the Fetch would be
// emptied, so the filter answers it itself: the broker gets the ApiVersions v0 stand-in with the
// Fetch's correlation id, and its reply is swapped for the filter's answer.
function fetchOutcome(host: ProxyWasmHost, clientId: string, id: string): string | number {
  const c = host.connect();
  try {
    host.downstream(c, fetchByIdFrame(id, clientId));
    const sent = Buffer.concat(c.toUpstream);
    if (sent.readInt16BE(4) === 1 && sent.includes(Buffer.from(id, "hex"))) return "forwarded";
    assert.equal(sent.readInt16BE(4), 18, "the filter's stand-in went up instead of the Fetch");
    assert.equal(sent.length, 14, "nothing but the stand-in went up");
    // The broker's ApiVersions v0 reply to the stand-in (correlation id 41, no error, no APIs).
    host.upstream(c, Buffer.from("0000000a" + "00000029" + "0000" + "00000000", "hex"));
    const merged = Buffer.concat(c.toDownstream);
    // size, correlation id, header tags, throttle time, error code, session id, one topic (its
    // id), one partition: index, then its error code.
    assert.equal(merged.subarray(20, 36).toString("hex"), id);
    return merged.readInt16BE(41);
  } finally {
    host.close(c);
  }
}

async function workers(policy: object = POLICY): Promise<[ProxyWasmHost, ProxyWasmHost]> {
  const a = await ProxyWasmHost.load(WASM);
  const b = await ProxyWasmHost.load(WASM);
  b.sharedData = a.sharedData;
  assert.ok(a.configure(policy) && b.configure(policy));
  return [a, b];
}

// One request from `clientId` on a fresh connection of `host`.
function requestFrom(host: ProxyWasmHost, clientId: string): void {
  const c = host.connect();
  host.downstream(c, requestFrame(18, 0, 1, clientId));
  host.close(c);
}

test("an id one worker learned from a broker response gets the principal's own verdict on another", async () => {
  const [a, b] = await workers();
  assert.equal(fetchOutcome(b, "reader", ORDERS_ID), 100, "UNKNOWN_TOPIC_ID before any worker saw it");
  const c = a.connect();
  a.downstream(c, metadataRequest("reader", "orders"));
  a.upstream(c, metadataResponse("orders", ORDERS_ID));
  assert.equal(Buffer.concat(c.toDownstream).length > 0, true, "the answer went on to the client");
  assert.equal(fetchOutcome(b, "reader", ORDERS_ID), "forwarded");
  assert.equal(fetchOutcome(b, "stranger", ORDERS_ID), 29, "TOPIC_AUTHORIZATION_FAILED");
  assert.equal(b.metric("kafka_proxy.topic_ids.shared_hits"), 1n, "looked up in the shared data once, then cached");
});

test("ids in clients' requests are never learned; an id no response named stays unknown on every worker", async () => {
  const [a, b] = await workers();
  const c = a.connect();
  // A client names `orders` with an id of its choosing; the broker's answer would not carry it.
  a.downstream(c, metadataRequest("reader", "orders", FORGED_ID));
  assert.equal(fetchOutcome(a, "reader", FORGED_ID), 100);
  assert.equal(fetchOutcome(b, "reader", FORGED_ID), 100);
  assert.ok(![...a.sharedData.keys()].some((k) => k.includes(Buffer.from(FORGED_ID, "hex").toString("latin1"))));
});

test("ids from CreateTopics answers stay with the worker that saw them (a validate-only request creates nothing)", async () => {
  const [a, b] = await workers();
  const c = a.connect();
  a.downstream(c, createTopicsRequest("creator", "fresh", true));
  assert.equal(Buffer.concat(c.toUpstream).readInt16BE(4), 19, "the CreateTopics went on");
  a.upstream(c, createTopicsResponse("fresh", CREATED_ID));
  a.close(c);
  assert.equal(fetchOutcome(a, "creator", CREATED_ID), "forwarded");
  assert.equal(fetchOutcome(b, "creator", CREATED_ID), 100);
});

test("a label another worker claimed keeps its name on a worker that found the places taken", async () => {
  const [a, b] = await workers({ max_client_labels: 2 });
  requestFrom(a, "first");
  requestFrom(a, "second");
  // All places are taken: b counts this one as `other`, and knows the places are gone.
  requestFrom(b, "third");
  assert.equal(b.metric("kafka_proxy.client_requests.client.other"), 1n);
  // Then two labels a claimed, twice each: counted under their own names, never as `other`.
  for (let i = 0; i < 2; i++) {
    requestFrom(b, "first");
    requestFrom(b, "second");
    requestFrom(b, "third");
  }
  assert.equal(b.metric("kafka_proxy.client_requests.client.first"), 2n);
  assert.equal(b.metric("kafka_proxy.client_requests.client.second"), 2n);
  assert.equal(b.metric("kafka_proxy.client_requests.client.other"), 3n);
  assert.equal(b.metric("kafka_proxy.client_requests.client.third"), undefined);
  assert.equal(a.metric("kafka_proxy.client_requests.client.first"), 1n);
});
