// A request whose top-level list holds many refused entries (issue 12, item 10): each refusal,
// the error entries built for them and their merge into the response must cost the same whatever
// came before (quadratic bookkeeping made one Metadata request of 80,000 denied topics hold the
// worker, and every connection on it, for 10 s). The module's CPU time for 8N entries must stay
// near 8 times that for N: linear work; quadratic makes it 64 times. Past 5,000 refused entries
// in one request the walk stops there and the connection is closed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WASM } from "../harness/paths.ts";
import { ProxyWasmHost } from "./proxy_wasm_host.ts";
import { POLICIES } from "./fuzz.ts";
import { requestFrame } from "../harness/raw_client.ts";
import { str } from "../harness/kafka_bytes.ts";


// Metadata v4 naming `refused` times the denied topic, then one allowed topic.
export function refusedMetadata(refused: number, correlationId = 1): Buffer {
  const count = Buffer.alloc(4);
  count.writeInt32BE(refused + 1, 0);
  const entry = str("secrets");
  return requestFrame(3, 4, correlationId, "many-refused", Buffer.concat([count, ...Array(refused).fill(entry), str("capture"),
    Buffer.from([0])]));
}

// The broker's Metadata v4 answer for the allowed topic alone (one broker, no partitions).
function metadataResponse(correlationId: number): Buffer {
  const i32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n, 0);
    return b;
  };
  const body = Buffer.concat([
    i32(0), // throttle
    i32(1), i32(1), str("localhost"), i32(9092), Buffer.from([0xff, 0xff]), // brokers: id, host, port, null rack
    Buffer.from([0xff, 0xff]), i32(1), // null cluster id, controller
    i32(1), Buffer.from([0, 0]), str("capture"), Buffer.from([0]), i32(0), // topics
  ]);
  const frame = Buffer.concat([i32(0), i32(correlationId), body]);
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

// The module's CPU time (microseconds) for one such request and its response; checks the result.
function run(host: ProxyWasmHost, refused: number): number {
  const c = host.connect();
  const req = refusedMetadata(refused);
  const t0 = process.cpuUsage();
  host.downstream(c, req);
  host.upstream(c, metadataResponse(1));
  const t = process.cpuUsage(t0);
  assert.equal(c.closed, false);
  // The broker got the allowed topic alone; the client gets it and an error entry per refusal.
  const sent = Buffer.concat(c.toUpstream);
  assert.equal(sent.readInt32BE(0), sent.length - 4);
  assert.equal(sent.readInt32BE(4 + 10 + "many-refused".length), 1);
  const answer = Buffer.concat(c.toDownstream);
  assert.equal(answer.readInt32BE(0), answer.length - 4);
  assert.equal(answer.subarray(4).toString("latin1").split("secrets").length - 1, refused);
  host.close(c);
  return t.user + t.system;
}

test("refused entries cost linear work, not quadratic", async () => {
  const host = await ProxyWasmHost.load(WASM);
  assert.ok(host.configure(POLICIES.acls));
  run(host, 4800); // warm-up: buffers reach their size, V8 tiers up
  const small = Math.min(run(host, 600), run(host, 600), run(host, 600));
  const large = Math.min(run(host, 4800), run(host, 4800), run(host, 4800));
  // 8 times the entries: linear is about 8 times the time, quadratic 64 times.
  assert.ok(large < small * 16, `600 entries took ${small} us, 4,800 took ${large} us (${(large / small).toFixed(1)}x)`);
});

test("past 5,000 refused entries the request is refused whole: walk stopped, connection closed, nothing forwarded", async () => {
  const host = await ProxyWasmHost.load(WASM);
  assert.ok(host.configure(POLICIES.acls));
  const frame = refusedMetadata(80000);
  // The best of three runs each: the machine is shared, and one slow run says nothing.
  let capped = Infinity;
  for (let i = 0; i < 3; i++) {
    const before = host.metric("kafka_proxy.authz.requests_denied") ?? 0n;
    const c = host.connect();
    const t0 = process.cpuUsage();
    host.downstream(c, frame);
    const t = process.cpuUsage(t0);
    assert.equal(c.closed, true);
    assert.equal(c.toUpstream.length, 0);
    assert.equal(host.metric("kafka_proxy.authz.requests_denied"), before + 1n);
    capped = Math.min(capped, t.user + t.system);
    host.close(c);
  }
  assert.ok(host.logs.some((l) => l.message.includes("more than 5000 refused entries in one request")));
  // Stopping at the limit spends about what 5,000 entries cost (and taking in the frame), not
  // what 80,000 would (16 times).
  const c2 = host.connect();
  const whole = Math.min(run(host, 5000), run(host, 5000), run(host, 5000));
  host.close(c2);
  assert.ok(capped < whole * 6, `80,000 refused took ${capped} us, 5,000 answered ${whole} us`);
});
