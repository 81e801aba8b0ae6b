// Frames and batches built by hand for host tests (the codec recurses per element), and a seeded
// random source for the tests that cut them at random.
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

// A magic-2 record batch of `bytes` bytes (filled with `fill`) whose header claims one record.
export function batchOf(bytes: number, fill = 0x5a): Buffer {
  const batch = Buffer.alloc(bytes, fill);
  batch.writeBigInt64BE(0n, 0);
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeInt32BE(0, 12);
  batch[16] = 2;
  batch.writeInt32BE(1, 57);
  return batch;
}

// Numbers in [0, n) from `seed` (mulberry32): a failing round can be run again.
export function seededRandom(seed: number): (n: number) => number {
  return (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
}
