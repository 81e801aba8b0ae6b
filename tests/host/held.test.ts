// Requests past max_held_bytes are copied into the module and go back to Envoy when complete
// (assembly/proxy/connection.ts). A review of the mute found that when such a request completed
// in a callback that also carried the next request, the completed one was sent twice (its range
// was added to the output twice): the broker got it again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProxyWasmHost } from "../host/proxy_wasm_host.ts";
import { WASM } from "../harness/paths.ts";
import { encodeRequest } from "../harness/kafka_codec.ts";

function metadataFrame(id: number, bytes: number): Buffer {
  const names: { Name: string }[] = [];
  for (let i = 0, n = 0; n < bytes; i++, n += 42) names.push({ Name: `topic-${String(i).padStart(32, "0")}` });
  return encodeRequest(3, 4, id, "c", { Topics: names, AllowAutoTopicCreation: false });
}

test("a request past max_held_bytes completed with the next one behind it goes up once", async () => {
  const host = await ProxyWasmHost.load(WASM);
  assert.ok(host.configure({ max_held_bytes: 8192 }));
  const c = host.connect();
  const big = metadataFrame(1, 12_000);
  const next = metadataFrame(2, 10);
  host.downstream(c, big.subarray(0, 9000));
  host.downstream(c, Buffer.concat([big.subarray(9000), next]));
  assert.equal(c.closed, false);
  assert.ok(Buffer.concat(c.toUpstream).equals(Buffer.concat([big, next])));
});

test("large and small requests cut at random points reach the broker byte for byte", async () => {
  let seed = 5;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
  for (let round = 0; round < 40; round++) {
    const host = await ProxyWasmHost.load(WASM);
    assert.ok(host.configure({ max_held_bytes: 4096 }));
    const c = host.connect();
    const frames: Buffer[] = [];
    for (let i = 0; i < 12; i++) frames.push(metadataFrame(i, rand(2) ? 10 : 1000 + rand(9000)));
    const stream = Buffer.concat(frames);
    for (let at = 0; at < stream.length;) {
      const n = 1 + rand(rand(3) === 0 ? 12000 : 500);
      host.downstream(c, stream.subarray(at, at + n));
      at += n;
    }
    assert.equal(c.closed, false);
    assert.ok(Buffer.concat(c.toUpstream).equals(stream), `round ${round}`);
  }
});
