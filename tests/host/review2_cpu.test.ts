// Review (review2): a Produce request of many small partitions costs the module time quadratic in
// its partitions, with no policy at all: FrameImage#skip (assembly/proxy/frame_image.ts), when a
// walk meets a record set again, sums the lengths of every record set before it to find where it
// starts in the host buffer; each walk of the frame after the first does that for every set.
// 100,000 one-byte record sets (a 700 kB request) take seconds of an Envoy worker's CPU.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProxyWasmHost } from "../host/proxy_wasm_host.ts";
import { WASM } from "../harness/paths.ts";
import { encodeRequest } from "../harness/kafka_codec.ts";

function uv(n: number): number[] {
  const o: number[] = [];
  while (n >= 0x80) {
    o.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  o.push(n);
  return o;
}

// Produce v9 (acks -1) built by hand: the codec recurses per element.
export function produceV9(entries: { name: string; parts: Buffer[] }[], correlationId = 5): Buffer {
  const head = Buffer.alloc(16);
  head.writeInt16BE(0, 4);
  head.writeInt16BE(9, 6);
  head.writeInt32BE(correlationId, 8);
  head.writeInt16BE(1, 12);
  head.write("c", 14);
  head[15] = 0;
  const chunks: Buffer[] = [head, Buffer.from([0, 0xff, 0xff, 0, 0, 0x75, 0x30, ...uv(entries.length + 1)])];
  for (const e of entries) {
    chunks.push(Buffer.from([...uv(e.name.length + 1), ...Buffer.from(e.name), ...uv(e.parts.length + 1)]));
    e.parts.forEach((r, i) => {
      const p = Buffer.alloc(4);
      p.writeInt32BE(i);
      chunks.push(p, Buffer.from(uv(r.length + 1)), r, Buffer.from([0]));
    });
    chunks.push(Buffer.from([0]));
  }
  chunks.push(Buffer.from([0]));
  const f = Buffer.concat(chunks);
  f.writeInt32BE(f.length - 4, 0);
  return f;
}

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
