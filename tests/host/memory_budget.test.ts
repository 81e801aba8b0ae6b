// The filter's buffers under a budget (issue 12, item 11): connections that announce large
// frames and never finish them may hold at most max_buffered_bytes together (the connection that
// would take them past it is closed and counted), the module's memory grows by no more than
// that, a large frame's buffer shrinks once it is done, and other clients' small requests still
// pass. Driven through the test host (V8, as in Envoy), so the memory is the module's own.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WASM } from "../harness/paths.ts";
import { ProxyWasmHost, type Connection } from "./proxy_wasm_host.ts";
import { requestFrame } from "../harness/raw_client.ts";

const MiB = 1048576;
const CHUNK = 65536;

// The first `sent` bytes of a request frame announcing `size` bytes (a Produce: its body is not
// looked at before the frame is whole).
function unfinished(size: number, sent: number): Buffer {
  const head = requestFrame(0, 3, 1, "hog");
  const b = Buffer.alloc(sent);
  head.copy(b);
  b.writeInt32BE(size, 0);
  return b;
}

function feed(host: ProxyWasmHost, c: Connection, bytes: Buffer): void {
  for (let at = 0; at < bytes.length && !c.closed; at += CHUNK) host.downstream(c, bytes.subarray(at, at + CHUNK));
}

// Metadata v1 for no topics, and whether the broker got it whole.
function metadataPasses(host: ProxyWasmHost): boolean {
  const c = host.connect();
  const req = requestFrame(3, 1, 7, "other", Buffer.from([0, 0, 0, 0]));
  host.downstream(c, req);
  const ok = !c.closed && Buffer.concat(c.toUpstream).equals(req);
  host.close(c);
  return ok;
}

// Metadata v1 naming `n` topics of 32,000 bytes: about n * 32 KB that the filter checks and forwards.
function bigMetadata(n: number): Buffer {
  const name = Buffer.alloc(2 + 32000, 0x61);
  name.writeInt16BE(32000, 0);
  const count = Buffer.alloc(4);
  count.writeInt32BE(n, 0);
  return requestFrame(3, 1, 1, "big", Buffer.concat([count, ...Array(n).fill(name)]));
}

test("50 connections holding unfinished max-size frames stay within max_buffered_bytes; others still pass", async () => {
  const host = await ProxyWasmHost.load(WASM);
  assert.ok(host.configure({ max_request_bytes: 4 * MiB, max_buffered_bytes: 32 * MiB }));
  assert.ok(metadataPasses(host));
  const before = host.memoryBytes();
  const hogs: Connection[] = [];
  for (let i = 0; i < 50; i++) {
    const c = host.connect();
    feed(host, c, unfinished(4 * MiB, 4 * MiB - 1));
    hogs.push(c);
  }
  const held = hogs.filter((c) => !c.closed).length;
  const refused = Number(host.metric("kafka_proxy.frames_over_memory_budget") ?? 0n);
  // Large frames may use half the budget, 16 MiB: three buffers of a whole 4 MiB frame.
  assert.equal(held, 3);
  assert.equal(refused, 50 - held);
  assert.ok(host.logs.some((l) => l.message.includes("over max_buffered_bytes")));
  assert.equal(hogs.filter((c) => c.toUpstream.length > 0).length, 0, "nothing of an unfinished frame went on");
  const grown = host.memoryBytes() - before;
  assert.ok(grown <= 32 * MiB, `the module's memory grew by ${grown} bytes`);
  // The half kept for small frames serves other clients.
  for (let i = 0; i < 20; i++) assert.ok(metadataPasses(host), "a small request on a new connection passes");
  // Closing the hogs gives the budget back: a 4 MB frame passes again.
  for (const c of hogs) host.close(c);
  const c = host.connect();
  const big = bigMetadata(128);
  feed(host, c, big);
  assert.ok(!c.closed && Buffer.concat(c.toUpstream).equals(big));
  host.close(c);
});

test("a connection's buffer shrinks once its large frame is done, giving its share of the budget back", async () => {
  const host = await ProxyWasmHost.load(WASM);
  // Large frames may hold 8 MiB together.
  assert.ok(host.configure({ max_request_bytes: 6 * MiB, max_buffered_bytes: 16 * MiB }));
  const a = host.connect();
  const big = bigMetadata(160);
  feed(host, a, big);
  assert.equal(a.closed, false);
  assert.ok(Buffer.concat(a.toUpstream).equals(big), "the 5 MB request went on whole");
  // Its 5 MB buffer went back: another connection's 5 MiB frame fits in the budget.
  const b = host.connect();
  feed(host, b, unfinished(5 * MiB, 5 * MiB - 1));
  assert.equal(b.closed, false, "the first connection's buffer was given back");
  // b holds 5 MiB: a third connection's 5 MiB frame does not fit.
  const c = host.connect();
  feed(host, c, unfinished(5 * MiB, 5 * MiB - 1));
  assert.equal(c.closed, true);
  for (const x of [a, b, c]) host.close(x);
});

test("max_in_flight_requests caps the requests waiting for responses on one connection", async () => {
  const host = await ProxyWasmHost.load(WASM);
  assert.ok(host.configure({ max_in_flight_requests: 10 }));
  const c = host.connect();
  const reqs = Array.from({ length: 11 }, (_, i) => requestFrame(3, 1, i, "pipeliner", Buffer.from([0, 0, 0, 0])));
  host.downstream(c, Buffer.concat(reqs.slice(0, 10)));
  assert.equal(c.closed, false);
  host.downstream(c, reqs[10]);
  assert.equal(c.closed, true);
  assert.equal(host.metric("kafka_proxy.frames_over_memory_budget"), 1n);
});

test("the new keys are checked at configure time", async () => {
  const host = await ProxyWasmHost.load(WASM);
  assert.equal(host.configure({ max_buffered_bytes: 1073741824 }), false);
  assert.ok(host.logs.some((l) => l.message.includes("config key 'max_buffered_bytes' must be a whole number of bytes between 16 and 536870912")));
  assert.equal(host.configure({ max_in_flight_requests: 0 }), false);
  assert.ok(host.logs.some((l) => l.message.includes("config key 'max_in_flight_requests' must be a whole number between 1 and 10000")));
  assert.equal(host.configure({ max_buffered_bytes: 268435456, max_in_flight_requests: 5 }), true);
});
