// Walk cost (from a security review): a Produce request of many small partitions once cost the
// module time quadratic in its partitions, with no policy at all. FrameImage#skip
// (assembly/proxy/frame_image.ts), meeting a record set again, summed the lengths of every set
// before it; 100,000 one-byte record sets (a 700 kB request) took seconds of an Envoy worker's
// CPU. A guard against that blow-up, not a speed goal: the bounds are 6-15 times what linear
// code takes here, and several times below what the quadratic code took.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProxyWasmHost } from "../host/proxy_wasm_host.ts";
import { WASM } from "../harness/paths.ts";
import { encodeRequest } from "../harness/kafka_codec.ts";
import { produceV9 } from "./produce_frames.ts";

test("the hand-built Produce v9 matches the codec's", () => {
  const r = Buffer.from([1, 2, 3]);
  const ref = encodeRequest(0, 9, 5, "c", { Acks: -1, TimeoutMs: 30000, TopicData: [{ Name: "a", PartitionData: [{ Index: 0, Records: r }, { Index: 1, Records: r }] }] });
  assert.ok(ref.equals(produceV9([{ name: "a", parts: [r, r] }])));
});

test("a Produce request of 100,000 small partitions is decided in time linear in its size", async () => {
  const h = await ProxyWasmHost.load(WASM);
  assert.ok(h.configure({}));
  const time = (parts: number, size: number) => {
    const c = h.connect();
    const req = produceV9([{ name: "t", parts: Array.from({ length: parts }, () => Buffer.alloc(size)) }]);
    const t0 = process.hrtime.bigint();
    h.downstream(c, req);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.ok(Buffer.concat(c.toUpstream).equals(req));
    h.close(c);
    return { ms, bytes: req.length };
  };
  const few = time(10, 70_000);
  const many = time(100_000, 1);
  console.error(`10 partitions, ${few.bytes} bytes: ${few.ms.toFixed(0)} ms; 100,000 partitions, ${many.bytes} bytes: ${many.ms.toFixed(0)} ms`);
  assert.ok(many.ms < 1000, `${many.ms.toFixed(0)} ms of module time for one ${many.bytes}-byte request`);
});

// The same with edits: a renamed topic in each of 100,000 entries. The edited frame's untouched
// ranges were mapped to the host buffer by FrameImage#hostAt, which summed every record set before
// each range: quadratic again (1.4 MB: ~6 s; now ~160 ms).
test("a renamed Produce request of 100,000 topic entries is rewritten in time linear in its size", async () => {
  const h = await ProxyWasmHost.load(WASM);
  assert.ok(h.configure({ principal_sources: ["client_id"], rewrite: { renames: [{ principal: "*", from: "json", to: "json2" }] } }));
  const c = h.connect();
  const req = produceV9(Array.from({ length: 100_000 }, () => ({ name: "json", parts: [Buffer.from([1])] })));
  const t0 = process.hrtime.bigint();
  h.downstream(c, req);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const up = Buffer.concat(c.toUpstream);
  // Each entry's name grew by one byte.
  assert.equal(up.length, req.length + 100_000);
  assert.ok(ms < 1000, `${ms.toFixed(0)} ms of module time for one ${req.length}-byte request`);
});
