// The record-batch decompressors (assembly/kafka/compression) alone, built into a small module
// and fuzzed in V8: reference vectors and zlib outputs, mutated (bit flips, bytes set, truncation,
// insertion, deletion, duplication, lying sizes in every size field), bombs, zero-length blocks.
// Oracles, for every case: no trap; the result is -1, -2, -3 or a byte count within dstCap; the
// same result and bytes whether the input ends at the end of memory or the output does (so no
// read past srcLen and no write past dstCap goes unnoticed: it would trap); memory never grows;
// valid zlib output of random data and options decompresses byte-exact; a mutated gzip input we
// accept is accepted by zlib with the same bytes. Bombs are refused with -2 within a time bound.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, renameSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import zlib from "node:zlib";
import { KAFKA_LIBS, ROOT, scratchDir } from "../harness/paths.ts";

const MiB = 1 << 20;
const MEM = 16 * MiB;
const LOW = MiB;

type Decompress = (codec: number, src: number, srcLen: number, dst: number, dstCap: number) => number;

function buildModule(): { decompress: Decompress; memory: WebAssembly.Memory } {
  const dir = scratchDir("compression-fuzz");
  try {
    const entry = join(dir, "entry.ts");
    const target = relative(dir, join(ROOT, "assembly/kafka/compression/index")).replaceAll("\\", "/");
    writeFileSync(entry, `export { decompress } from "${target}";\n`);
    const out = join(dir, "c.wasm");
    // The module's own build settings (asconfig.json): -O3, shrink level 2, runtime minimal.
    const r = spawnSync(join(ROOT, "node_modules/.bin/asc"), [entry, "-O3", "--shrinkLevel", "2", "--runtime", "minimal", "--use", "abort=", "-o", out], { cwd: dir, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const m = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(out)), {});
    const memory = m.exports.memory as WebAssembly.Memory;
    memory.grow(MEM / 65536 - memory.buffer.byteLength / 65536);
    return { decompress: m.exports.decompress as Decompress, memory };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const { decompress, memory } = buildModule();

class Rng {
  constructor(private s: number) {}
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (this.s = x >>> 0);
  }
  below(n: number): number {
    return this.next() % n;
  }
}

interface Outcome {
  r: number;
  out: Buffer;
}

// One call, with the input at the end of memory (a read past it traps) or the output there.
function call(codec: number, src: Buffer, cap: number, srcAtEnd: boolean): Outcome {
  const mem = new Uint8Array(memory.buffer);
  const s = srcAtEnd ? MEM - src.length : LOW;
  const d = srcAtEnd ? LOW : MEM - cap;
  mem.set(src, s);
  mem.fill(srcAtEnd ? 0xa5 : 0x5a, d, d + Math.min(cap, 2 * MiB));
  const r = decompress(codec, s, src.length, d, cap);
  return { r, out: Buffer.from(mem.subarray(d, d + Math.max(r, 0))) };
}

function check(codec: number, src: Buffer, cap: number, what: string): Outcome {
  const a = call(codec, src, cap, true);
  const b = call(codec, src, cap, false);
  assert.ok(Number.isInteger(a.r) && a.r >= -3 && a.r <= cap, `${what}: result ${a.r} (cap ${cap})`);
  assert.equal(a.r, b.r, `${what}: same result wherever the buffers lie`);
  assert.ok(a.out.equals(b.out), `${what}: same bytes wherever the buffers lie`);
  return a;
}

// The committed reference vectors (see tests/tools/compression_vectors).
function vectors(): { codec: number; name: string; bytes: Buffer }[] {
  const text = readFileSync(join(ROOT, "tests/assembly/fixtures/compression_vectors.ts"), "utf8");
  const section = (name: string) => text.split(`export const ${name}`)[1].split("];")[0];
  const info = section("VECTOR_INFO").split("=")[1].match(/0x[0-9a-f]+|\d+/g)!.map(Number);
  const names = [...section("VECTOR_NAME").matchAll(/"([^"]*)"/g)].map((m) => m[1]);
  const hex = [...section("VECTOR_HEX").matchAll(/"([0-9a-f]*)"/g)].map((m) => m[1]);
  assert.equal(names.length, hex.length);
  return names.map((name, i) => ({ codec: info[i * 5], name, bytes: Buffer.from(hex[i], "hex") }));
}

function randomData(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  const kind = rng.below(4);
  for (let i = 0; i < n; ) {
    if (kind == 0) b[i++] = rng.next();
    else if (kind == 1) b[i++] = 0x61 + rng.below(1 + (i >> 10) % 26);
    else {
      const v = rng.next() & 0xff;
      for (let m = 1 + rng.below(kind == 2 ? 8 : 400); m > 0 && i < n; m--) b[i++] = kind == 2 ? 0x61 + rng.below(4) : v;
    }
  }
  return b;
}

function randomGzip(rng: Rng, data: Buffer): Buffer {
  const c = zlib.constants;
  const strategies = [c.Z_DEFAULT_STRATEGY, c.Z_FILTERED, c.Z_HUFFMAN_ONLY, c.Z_RLE, c.Z_FIXED];
  return zlib.gzipSync(data, {
    level: rng.below(10),
    strategy: strategies[rng.below(5)],
    memLevel: 1 + rng.below(9),
    windowBits: 9 + rng.below(7),
  });
}

function mutate(rng: Rng, codec: number, b: Buffer): Buffer {
  const m = Buffer.from(b);
  const at = () => rng.below(Math.max(m.length, 1));
  switch (rng.below(9)) {
    case 0: for (let k = 1 + rng.below(8); k > 0 && m.length > 0; k--) m[at()] ^= 1 << rng.below(8); return m;
    case 1: if (m.length > 0) m[at()] = [0, 0xff, rng.next() & 0xff][rng.below(3)]; return m;
    case 2: return m.subarray(0, at());
    case 3: { const i = at(); return Buffer.concat([m.subarray(0, i), Buffer.from([rng.next(), rng.next(), rng.next()].slice(0, 1 + rng.below(3))), m.subarray(i)]); }
    case 4: { const i = at(); return Buffer.concat([m.subarray(0, i), m.subarray(i + 1 + rng.below(16))]); }
    case 5: { const i = at(); const j = Math.min(m.length, i + 1 + rng.below(64)); return Buffer.concat([m.subarray(0, j), m.subarray(i, j), m.subarray(j)]); }
    default: return lie(rng, codec, m);
  }
}

const LIES = [0, 1, 0x7f, 0xff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

// A size field set to a lie: snappy's preamble or a Xerial chunk length, an lz4 block size or
// content size, a gzip stored block's LEN/NLEN, ISIZE or FEXTRA length.
function lie(rng: Rng, codec: number, m: Buffer): Buffer {
  const v = rng.below(2) == 0 ? LIES[rng.below(LIES.length)] : rng.next();
  if (m.length < 8) return m;
  if (codec == 2) {
    if (m[0] == 0x82 && m.length >= 20) m.writeUInt32BE(v, 16);
    else {
      const pre: number[] = [];
      for (let x = v; ; x >>>= 7) { if (x < 0x80) { pre.push(x); break; } pre.push((x & 0x7f) | 0x80); }
      let n = 0;
      while (n < m.length && m[n] & 0x80) n++;
      return Buffer.concat([Buffer.from(pre), m.subarray(n + 1)]);
    }
  } else if (codec == 3) {
    const hasSize = (m[4] & 8) != 0;
    if (rng.below(2) == 0 && hasSize && m.length >= 14) m.writeBigUInt64LE(BigInt(v) * BigInt(1 + rng.below(3)), 6);
    else if (m.length >= (hasSize ? 19 : 11)) m.writeUInt32LE(v, hasSize ? 15 : 7);
  } else {
    const r = rng.below(3);
    if (r == 0) m.writeUInt32LE(v, m.length - 4);
    else if (r == 1 && m.length >= 12) { m[3] |= 4; m.writeUInt16LE(v & 0xffff, 10); }
    else m.writeUInt32LE(v, at(rng, m.length - 4));
  }
  return m;
}

function at(rng: Rng, n: number): number {
  return rng.below(Math.max(n, 1));
}

test("decompress: reference vectors and zlib outputs, mutated (20,000 cases): no trap, results in range, same wherever the buffers lie, no memory growth", () => {
  const rng = new Rng(20261205);
  const seeds = vectors();
  const pages = memory.buffer.byteLength;
  let accepted = 0, refused = 0, zlibAgreed = 0;
  for (let i = 0; i < 20000; i++) {
    let codec: number, base: Buffer;
    if (i % 4 == 0) {
      codec = 1;
      base = randomGzip(rng, randomData(rng, rng.below(70000)));
    } else {
      const v = seeds[rng.below(seeds.length)];
      codec = v.codec;
      base = v.bytes;
    }
    let m = mutate(rng, codec, base);
    if (rng.below(4) == 0) m = mutate(rng, codec, m);
    const cap = [MiB, rng.below(200000), 0, 1][rng.below(4)];
    const o = check(codec, m, cap, `case ${i} codec ${codec}`);
    if (o.r >= 0) {
      accepted++;
      // gzip (without the header CRC16 we do not check): zlib agrees with what we accepted.
      if (codec == 1 && (m[3] & 2) == 0) {
        assert.ok(zlib.gunzipSync(m).equals(o.out), `case ${i}: zlib decompresses the accepted input to the same bytes`);
        zlibAgreed++;
      }
    } else refused++;
  }
  assert.equal(memory.buffer.byteLength, pages, "memory did not grow");
  assert.ok(accepted > 300 && refused > 10000, `${accepted} accepted, ${refused} refused`);
  console.log(`${accepted} accepted, ${refused} refused, ${zlibAgreed} accepted gzip inputs agreed with zlib`);
  assert.ok(zlibAgreed > 40, `${zlibAgreed} accepted gzip inputs checked against zlib`);
});

test("decompress: valid zlib gzip of random data, levels, strategies, window sizes and members (2,000 cases) is byte-exact", () => {
  const rng = new Rng(77);
  for (let i = 0; i < 2000; i++) {
    const parts = 1 + (rng.below(5) == 0 ? rng.below(4) : 0);
    const datas = Array.from({ length: parts }, () => randomData(rng, rng.below(i % 10 == 0 ? 300000 : 20000)));
    const data = Buffer.concat(datas);
    const gz = Buffer.concat(datas.map((d) => randomGzip(rng, d)));
    const o = check(1, gz, data.length, `case ${i}`);
    assert.equal(o.r, data.length, `case ${i}: length`);
    assert.ok(o.out.equals(data), `case ${i}: bytes`);
    if (data.length > 0) assert.equal(check(1, gz, data.length - 1, `case ${i} short`).r, -2);
  }
});

function timed(f: () => number): { r: number; ms: number } {
  const t = performance.now();
  const r = f();
  return { r, ms: performance.now() - t };
}

function lz4Frame(flg: number, blocks: Buffer[], contentSize?: bigint): Buffer {
  const desc = Buffer.alloc(contentSize === undefined ? 2 : 10);
  desc[0] = flg | (contentSize === undefined ? 0 : 8);
  desc[1] = 0x40;
  if (contentSize !== undefined) desc.writeBigUInt64LE(contentSize, 2);
  const hc = (xxh32(desc) >>> 8) & 0xff;
  const parts = [Buffer.from([0x04, 0x22, 0x4d, 0x18]), desc, Buffer.from([hc])];
  for (const b of blocks) {
    const n = Buffer.alloc(4);
    n.writeUInt32LE(b.length);
    parts.push(n, b);
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

// XXH32, seed 0 (the frame header checksum of the hand-made frames).
function xxh32(b: Buffer): number {
  const P1 = 2654435761, P2 = 2246822519, P3 = 3266489917, P4 = 668265263, P5 = 374761393;
  const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;
  const mul = (a: number, c: number) => Math.imul(a, c) >>> 0;
  let p = 0, h: number;
  if (b.length >= 16) {
    const v = [(P1 + P2) >>> 0, P2, 0, (0 - P1) >>> 0];
    for (; b.length - p >= 16; p += 16) for (let k = 0; k < 4; k++) v[k] = mul(rotl((v[k] + mul(b.readUInt32LE(p + 4 * k), P2)) >>> 0, 13), P1);
    h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) >>> 0;
  } else h = P5;
  h = (h + b.length) >>> 0;
  for (; b.length - p >= 4; p += 4) h = mul(rotl((h + mul(b.readUInt32LE(p), P3)) >>> 0, 17), P4);
  for (; p < b.length; p++) h = mul(rotl((h + mul(b[p], P5)) >>> 0, 11), P1);
  h = mul(h ^ (h >>> 15), P2);
  h = mul(h ^ (h >>> 13), P3);
  return (h ^ (h >>> 16)) >>> 0;
}

test("decompress: bombs are refused with -2 quickly at 1 MiB of room; zero-length blocks and lying sizes end", () => {
  // gzip: 100 MiB of zeros (deflate's ratio tops out near 1032:1, so about 100 KiB of input).
  const gz = zlib.gzipSync(Buffer.alloc(100 * MiB), { level: 9 });
  assert.ok(gz.length < 110 * 1024);
  let t = timed(() => check(1, gz, MiB, "gzip bomb").r);
  assert.equal(t.r, -2);
  assert.ok(t.ms < 500, `gzip bomb took ${t.ms} ms`);
  // Deflate's best ratio, in 1 KiB: refused as soon as the room is gone (a 1 KiB input cannot
  // inflate past about 1 MiB, so room is 64 KiB here).
  const small = zlib.gzipSync(Buffer.alloc(1000 * 1024), { level: 9 });
  assert.ok(small.length <= 1100, `${small.length}`);
  assert.equal(check(1, small, 64 * 1024, "1 KiB gzip bomb").r, -2);
  // Many members, each 1 MiB of zeros: the room runs out in the second.
  const members = Buffer.concat(Array.from({ length: 100 }, () => zlib.gzipSync(Buffer.alloc(MiB))));
  assert.equal(check(1, members, MiB, "gzip member bomb").r, -2);
  // 10,000 empty members and 100,000 empty non-final stored blocks: bounded work, 0 bytes.
  const empty = Buffer.concat(Array.from({ length: 10000 }, () => zlib.gzipSync(Buffer.alloc(0))));
  t = timed(() => check(1, empty, MiB, "empty members").r);
  assert.equal(t.r, 0);
  const stored = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), Buffer.alloc(100000 * 5, 0), Buffer.from([1, 0, 0, 0xff, 0xff]), Buffer.alloc(8)]);
  for (let i = 0; i < 100000; i++) stored.writeUInt32LE(0xffff0000, 10 + i * 5 + 1);
  assert.equal(check(1, stored, MiB, "empty stored blocks").r, 0);
  // 1 MiB of empty fixed-Huffman blocks (10 bits each), and of minimal dynamic ones (93 bits):
  // the work per block stays small (rebuilding the fixed tables for each took 3.7 s here).
  const blocks = (n: number, block: (put: (v: number, bits: number) => void) => void) => {
    const bits: number[] = [];
    const put = (v: number, k: number) => { for (let i = 0; i < k; i++) bits.push((v >> i) & 1); };
    for (let i = 0; i < n; i++) block(put);
    put(1, 1);
    put(0, 2);
    const b = Buffer.alloc(Math.ceil(bits.length / 8) + 4);
    bits.forEach((x, i) => { b[i >> 3] |= x << (i & 7); });
    b.writeUInt32LE(0xffff0000, b.length - 4);
    return Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), b, Buffer.alloc(8)]);
  };
  const fixed = blocks(838000, (put) => { put(2, 3); put(0, 7); });
  assert.equal(zlib.gunzipSync(fixed).length, 0);
  t = timed(() => check(1, fixed, MiB, "empty fixed blocks").r);
  assert.equal(t.r, 0);
  assert.ok(t.ms < 1000, `1 MiB of empty fixed blocks took ${t.ms} ms`);
  const ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
  const dynamic = blocks(90000, (put) => {
    // 257 literal/length and 1 distance lengths, 19 code-length lengths (18 and 1: one bit each).
    put(4, 3); put(0, 5); put(0, 5); put(15, 4);
    for (const o of ORDER) put(o == 18 || o == 1 ? 1 : 0, 3);
    // 138 + 118 zeros (code 1 for 18), then length 1 (code 0) for end-of-block and distance 0;
    // the block: end-of-block.
    put(1, 1); put(127, 7); put(1, 1); put(107, 7); put(0, 1); put(0, 1); put(0, 1);
  });
  assert.equal(zlib.gunzipSync(dynamic).length, 0);
  t = timed(() => check(1, dynamic, MiB, "minimal dynamic blocks").r);
  assert.equal(t.r, 0);
  assert.ok(t.ms < 2000, `1 MiB of minimal dynamic blocks took ${t.ms} ms`);

  // Raw snappy: a preamble of 100 MiB is -2 before any work; a preamble of 1 MiB followed by
  // copies worth 100 MiB stops at 1 MiB as malformed.
  const copies = (n: number) => Buffer.concat([Buffer.from([0x00, 0x61]), Buffer.alloc(n * 3).fill(Buffer.from([(63 << 2) | 2, 1, 0]))]);
  const pre = (v: number) => { const p: number[] = []; for (let x = v; ; x >>>= 7) { if (x < 0x80) { p.push(x); return Buffer.from(p); } p.push((x & 0x7f) | 0x80); } };
  assert.equal(check(2, Buffer.concat([pre(100 * MiB), copies(10)]), MiB, "snappy preamble bomb").r, -2);
  t = timed(() => check(2, Buffer.concat([pre(MiB), copies(1600000)]), MiB, "snappy lying preamble").r);
  assert.equal(t.r, -1);
  assert.ok(t.ms < 500, `snappy lying preamble took ${t.ms} ms`);
  // Xerial: 32 KiB chunks of zeros, 3,200 of them (100 MiB).
  const head = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
  const chunk = Buffer.concat([pre(32768), Buffer.from([0x00, 0x00]), Buffer.alloc(511 * 3).fill(Buffer.from([(63 << 2) | 2, 1, 0])), Buffer.from([(62 << 2) | 2, 1, 0])]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(chunk.length);
  const xerial = Buffer.concat([head, ...Array.from({ length: 3200 }, () => Buffer.concat([len, chunk]))]);
  assert.equal(check(2, xerial.subarray(0, head.length + 2 * (4 + chunk.length)), MiB, "two Xerial chunks").r, 65536);
  t = timed(() => check(2, xerial, MiB, "Xerial bomb").r);
  assert.equal(t.r, -2);
  assert.ok(t.ms < 500, `Xerial bomb took ${t.ms} ms`);

  // lz4: blocks of one literal and a match as long as 64 KiB of 255s can say (about 16 MiB).
  const run = Buffer.concat([Buffer.from([0x1f, 0x61, 1, 0]), Buffer.alloc(65000, 255), Buffer.from([0, 0x10, 0x62])]);
  const bomb = lz4Frame(0x60, Array.from({ length: 7 }, () => run));
  t = timed(() => check(3, bomb, MiB, "lz4 bomb").r);
  assert.equal(t.r, -2);
  assert.ok(t.ms < 500, `lz4 bomb took ${t.ms} ms`);
  const one = lz4Frame(0x60, [Buffer.from([0x1f, 0x61, 1, 0, 10, 0x10, 0x62])]);
  assert.equal(check(3, one, MiB, "lz4 one block").r, 1 + 15 + 4 + 10 + 1);
  // The content size lies low or high, or beyond the room.
  assert.equal(check(3, lz4Frame(0x60, [Buffer.from([0x1f, 0x61, 1, 0, 10, 0x10, 0x62])], 30n), MiB, "content size low").r, -1);
  assert.equal(check(3, lz4Frame(0x60, [Buffer.from([0x1f, 0x61, 1, 0, 10, 0x10, 0x62])], 31n), MiB, "content size").r, 31);
  assert.equal(check(3, lz4Frame(0x60, [Buffer.from([0x1f, 0x61, 1, 0, 10, 0x10, 0x62])], 32n), MiB, "content size high").r, -1);
  assert.equal(check(3, lz4Frame(0x60, [Buffer.from([0x1f, 0x61, 1, 0, 10, 0x10, 0x62])], BigInt(2 * MiB)), MiB, "content size past room").r, -2);
  // 100,000 empty uncompressed blocks: bounded, 0 bytes.
  const empties = Buffer.concat([lz4Frame(0x60, []).subarray(0, 7), Buffer.alloc(100000 * 4).fill(Buffer.from([0, 0, 0, 0x80])), Buffer.alloc(4)]);
  assert.equal(check(3, empties, MiB, "empty raw blocks").r, 0);
  assert.equal(check(3, lz4Frame(0x60, []), MiB, "empty frame").r, 0);
});

test("decompress: random data compressed by the Java client's codecs, snappy-java and the lz4 CLI (linked and independent blocks, checksums, sizes) is byte-exact", (t) => {
  const rng = new Rng(4242);
  const dir = scratchDir("compression-random");
  try {
    const files: string[] = [];
    for (let i = 0; i < 120; i++) {
      const f = join(dir, `r${i}`);
      writeFileSync(f, randomData(rng, i % 10 == 0 ? 100000 + rng.below(300000) : rng.below(40000)));
      files.push(f);
    }
    const libs = readdirSync(KAFKA_LIBS).filter((f) => f.endsWith(".jar")).map((f) => join(KAFKA_LIBS, f)).join(":");
    const classes = join(dir, "classes");
    let r = spawnSync("javac", ["-d", classes, "-cp", libs, join(ROOT, "tests/tools/compression_vectors/Vectors.java")], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    r = spawnSync("java", ["-cp", `${classes}:${libs}`, "Vectors", "--files", ...files], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const forms: [string, number][] = [[".java-gzip", 1], [".java-snappy", 2], [".raw-snappy", 2], [".java-lz4", 3]];
    const lz4 = spawnSync("lz4", ["--version"]).status === 0;
    if (lz4) {
      const flagSets = [[], ["-BD", "-B4"], ["-BX", "--content-size", "-B5"], ["--no-frame-crc", "-9"], ["-BD", "-BX", "-B4", "--content-size", "-1"]];
      flagSets.forEach((flags, k) => {
        const out = spawnSync("lz4", ["-q", "-f", "-m", ...flags, ...files], { encoding: "utf8" });
        assert.equal(out.status, 0, out.stderr);
        for (const f of files) renameSync(`${f}.lz4`, `${f}.cli-lz4-${k}`);
        forms.push([`.cli-lz4-${k}`, 3]);
      });
    } else t.diagnostic("no lz4 command: only the Java client's lz4 frames");
    let n = 0;
    for (const f of files) {
      const orig = readFileSync(f);
      for (const [suffix, codec] of forms) {
        const o = check(codec, readFileSync(f + suffix), orig.length, f + suffix);
        assert.equal(o.r, orig.length, `${f}${suffix}: length`);
        assert.ok(o.out.equals(orig), `${f}${suffix}: bytes`);
        n++;
      }
    }
    t.diagnostic(`${n} compressed files byte-exact`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
