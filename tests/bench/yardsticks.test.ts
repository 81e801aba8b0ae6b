// The bench's `wasm framer` yardstick (framer_filter.ts) stands for the least any Kafka-aware
// filter does: it must find every frame, with at most one read per frame start, and let every byte
// through unchanged. Checked in the TypeScript host with frames split at every kind of place,
// including inside a size prefix, so that its reads per frame in the bench mean what they say.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ProxyWasmHost } from "../host/proxy_wasm_host.ts";
import { scratchDir } from "../harness/paths.ts";
import { compileYardstick } from "./scenarios.ts";

const wasm = join(scratchDir("yardsticks"), "framer_filter.wasm");
compileYardstick("tests/bench/framer_filter.ts", wasm);

// A seeded generator, so that a failure comes back the same.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function frames(count: number, maxBody: number, next: () => number): Buffer {
  return Buffer.concat(Array.from({ length: count }, (_, i) => {
    const body = Buffer.alloc(Math.floor(next() * (maxBody + 1)), i & 0xff);
    const size = Buffer.alloc(4);
    size.writeUInt32BE(body.length);
    return Buffer.concat([size, body]);
  }));
}

// Cuts `bytes` into callbacks of 1 to `maxCut` bytes.
function cuts(bytes: Buffer, maxCut: number, next: () => number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const n = 1 + Math.floor(next() * maxCut);
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

test("the framer yardstick counts every frame in both directions, however split, and forwards every byte", async () => {
  const next = rng(7);
  const host = await ProxyWasmHost.load(wasm);
  assert.ok(host.configure({}));
  const c = host.connect();
  // 640 frames each way: 0-3000 byte bodies, callbacks of 1-700 bytes (size prefixes straddle).
  const requests = frames(640, 3000, next);
  const responses = frames(640, 3000, next);
  for (const part of cuts(requests, 700, next)) host.downstream(c, part);
  for (const part of cuts(responses, 700, next)) host.upstream(c, part);
  assert.deepEqual(Buffer.concat(c.toUpstream), requests);
  assert.deepEqual(Buffer.concat(c.toDownstream), responses);
  assert.equal(host.metric("kafka_proxy.framer_frames_x64"), 20n, "1,280 frames, counted every 64th");
  assert.ok(c.abiBytes.reads <= 1280, `${c.abiBytes.reads} reads: at most one per frame start`);
  assert.equal(host.metric("kafka_proxy.framer_reads_x64"), BigInt(Math.floor(c.abiBytes.reads / 64)));
  assert.deepEqual(c.hostErrors, []);
});

test("the framer yardstick reads small frames that share a callback once per 256-byte window", async () => {
  const host = await ProxyWasmHost.load(wasm);
  assert.ok(host.configure({}));
  const c = host.connect();
  // 64 frames of 8 bytes (12 with their size): 768 bytes, three windows.
  const small = frames(64, 8, () => 0.99);
  assert.equal(small.length, 768);
  host.downstream(c, small);
  assert.deepEqual(Buffer.concat(c.toUpstream), small);
  assert.equal(c.abiBytes.reads, 3);
  assert.equal(host.metric("kafka_proxy.framer_frames_x64"), 1n);
});
