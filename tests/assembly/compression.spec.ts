// The record-batch decompressors (assembly/kafka/compression) on vectors made by the reference
// implementations (tests/assembly/fixtures/compression_vectors.ts, made by
// tests/tools/compression_vectors/make_vectors.py): byte-exact output, -2 one byte short of room,
// -1 on truncation, a flipped checksum or trailing bytes; hand-made edge cases. The fuzzer with
// bombs and lying sizes is tests/unit/compression_fuzz.test.ts.
import { decompress } from "../../assembly/kafka/compression/index";
import { VECTOR_COUNT, VECTOR_HEX, VECTOR_INFO, VECTOR_NAME } from "./fixtures/compression_vectors";

// The originals, as Vectors.java's gen makes them (xorshift32).
let s: u32 = 0;
function next(): u32 {
  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  return s;
}
const WORDS = ["kafka ", "record ", "batch ", "topic ", "partition ", "offset ", "envoy ", "wasm "];

function piece(b: usize, from: i32, to: i32, kind: i32): void {
  let i = from;
  while (i < to) {
    if (kind == 1) store<u8>(b + i++, <u8>(0x61 + (next() & 15)));
    else if (kind == 2) store<u8>(b + i++, <u8>next());
    else if (kind == 3) {
      const w = WORDS[next() & 7];
      for (let k = 0; k < w.length && i < to; k++) store<u8>(b + i++, <u8>w.charCodeAt(k));
    } else {
      const v = <u8>next();
      const m = 1 + <i32>(next() % 300);
      for (let k = 0; k < m && i < to; k++) store<u8>(b + i++, v);
    }
  }
}

function gen(kind: i32, seed: u32, n: i32): usize {
  s = seed;
  const b = heap.alloc(<usize>max(n, 1));
  if (kind <= 4) piece(b, 0, n, kind);
  else if (kind == 5) {
    piece(b, 0, min(n, 32768), 1);
    for (let i = 32768; i < n; i++) store<u8>(b + i, load<u8>(b + i - 32768));
  } else {
    let i = 0;
    while (i < n) {
      const r = next() % 8;
      const k: i32 = r == 0 ? 2 : r == 1 ? 1 : 3 + <i32>(r & 1);
      const m = min(n, i + 1 + <i32>(next() % 4000));
      piece(b, i, m, k);
      i = m;
    }
  }
  return b;
}

function crc32(p: usize, n: i32): u32 {
  let c: u32 = ~0;
  for (let i = 0; i < n; i++) {
    c ^= load<u8>(p + i);
    for (let k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xedb88320 ^ (c >> 1) : c >> 1;
  }
  return ~c;
}

function fromHex(hex: string): usize {
  const n = hex.length >> 1;
  const p = heap.alloc(<usize>max(n, 1));
  for (let i = 0; i < n; i++) store<u8>(p + i, <u8>I32.parseInt(hex.substr(i * 2, 2), 16));
  return p;
}

function bytes(list: u8[]): usize {
  const p = heap.alloc(<usize>max(list.length, 1));
  for (let i = 0; i < list.length; i++) store<u8>(p + i, list[i]);
  return p;
}

const OUT = heap.alloc(1 << 20);
const OUT_CAP: i32 = 1 << 20;

describe("decompress, reference vectors", () => {
  test("every vector decompresses byte-exact to its original; one byte less room is -2", () => {
    let checked = 0;
    for (let v = 0; v < VECTOR_COUNT; v++) {
      const name = VECTOR_NAME[v];
      const codec = <i32>VECTOR_INFO[v * 5];
      const n = <i32>VECTOR_INFO[v * 5 + 3];
      const orig = gen(<i32>VECTOR_INFO[v * 5 + 1], VECTOR_INFO[v * 5 + 2], n);
      // The spec's generator agrees with Vectors.java's.
      expect(crc32(orig, n)).toBe(VECTOR_INFO[v * 5 + 4], name + ": generated original");
      const hex = VECTOR_HEX[v];
      const len = hex.length >> 1;
      const src = fromHex(hex);
      // Room for exactly the original: every byte written is checked.
      expect(decompress(codec, src, len, OUT, n)).toBe(n, name);
      expect(memory.compare(OUT, orig, <usize>n)).toBe(0, name + ": bytes");
      expect(decompress(codec, src, len, OUT, OUT_CAP)).toBe(n, name + ": large room");
      if (n > 0) expect(decompress(codec, src, len, OUT, n - 1)).toBe(-2, name + ": one byte short");
      // Truncated: the last byte, or half, missing.
      expect(decompress(codec, src, len - 1, OUT, OUT_CAP)).toBe(-1, name + ": truncated by one");
      if (len > 1) expect(decompress(codec, src, len >> 1, OUT, OUT_CAP)).toBeLessThan(0, name + ": half");
      heap.free(src);
      heap.free(orig);
      checked++;
    }
    expect(checked).toBe(48);
  });

  test("trailing garbage after the last member or frame is malformed", () => {
    for (let v = 0; v < VECTOR_COUNT; v++) {
      const codec = <i32>VECTOR_INFO[v * 5];
      // Raw snappy has no end marker: extra bytes are elements, caught by the length check.
      const hex = VECTOR_HEX[v] + "00";
      const src = fromHex(hex);
      expect(decompress(codec, src, hex.length >> 1, OUT, OUT_CAP)).toBe(-1, VECTOR_NAME[v]);
      heap.free(src);
    }
  });

  test("a flipped bit in a checked checksum (gzip CRC32, lz4 header, block and content checksums) is malformed", () => {
    for (let v = 0; v < VECTOR_COUNT; v++) {
      const name = VECTOR_NAME[v];
      const codec = <i32>VECTOR_INFO[v * 5];
      const hex = VECTOR_HEX[v];
      const len = hex.length >> 1;
      const src = fromHex(hex);
      if (codec == 1) {
        // The last member's CRC32 (first trailer byte).
        store<u8>(src + len - 8, load<u8>(src + len - 8) ^ 1);
        expect(decompress(codec, src, len, OUT, OUT_CAP)).toBe(-1, name + ": crc32");
      } else if (codec == 3) {
        // The first frame's header checksum (byte 6 with no content size, 14 with one).
        const hc = (load<u8>(src + 4) & 8) != 0 ? 14 : 6;
        store<u8>(src + hc, load<u8>(src + hc) ^ 0x80);
        expect(decompress(codec, src, len, OUT, OUT_CAP)).toBe(-1, name + ": header checksum");
        store<u8>(src + hc, load<u8>(src + hc) ^ 0x80);
        // A content checksum (flag bit 2) is the last 4 bytes of a single frame.
        if ((load<u8>(src + 4) & 4) != 0 && name.indexOf("2-frames") < 0) {
          store<u8>(src + len - 1, load<u8>(src + len - 1) ^ 0x10);
          expect(decompress(codec, src, len, OUT, OUT_CAP)).toBe(-1, name + ": content checksum");
        }
      }
      heap.free(src);
    }
  });
});

describe("decompress, edge cases", () => {
  test("codecs other than gzip, snappy and lz4 are unsupported (zstd included)", () => {
    const src = bytes([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]);
    expect(decompress(4, src, 8, OUT, OUT_CAP)).toBe(-3);
    expect(decompress(0, src, 8, OUT, OUT_CAP)).toBe(-3);
    expect(decompress(5, src, 8, OUT, OUT_CAP)).toBe(-3);
    expect(decompress(1, src, -1, OUT, OUT_CAP)).toBe(-1);
    expect(decompress(1, src, 8, OUT, -1)).toBe(-1);
  });

  test("empty input is malformed for every codec", () => {
    for (let c = 1; c <= 3; c++) expect(decompress(c, OUT, 0, OUT + 100, 100)).toBe(-1);
  });

  test("raw snappy: literal, then copies with offset < length (a run), and offsets that reach too far", () => {
    // 10 bytes: literal "ab", copy-1 off 2 len 8 ("abababab").
    const ok = bytes([10, 0x04, 0x61, 0x62, 0x01 | (4 << 2), 2]);
    expect(decompress(2, ok, 6, OUT, 10)).toBe(10);
    expect(String.UTF8.decodeUnsafe(OUT, 10)).toBe("ababababab");
    // Offset 3 > 2 bytes written (with a byte before the output that could be read).
    const far = bytes([10, 0x04, 0x61, 0x62, 0x01 | (4 << 2), 3]);
    expect(decompress(2, far, 6, OUT + 1, 10)).toBe(-1);
    // Offset 0.
    const zero = bytes([10, 0x04, 0x61, 0x62, 0x01 | (4 << 2), 0]);
    expect(decompress(2, zero, 6, OUT, 10)).toBe(-1);
    // The preamble lies low: the copy runs past it.
    const low = bytes([9, 0x04, 0x61, 0x62, 0x01 | (4 << 2), 2]);
    expect(decompress(2, low, 6, OUT, 100)).toBe(-1);
    // ... or high: the data ends early.
    const high = bytes([11, 0x04, 0x61, 0x62, 0x01 | (4 << 2), 2]);
    expect(decompress(2, high, 6, OUT, 100)).toBe(-1);
    // A preamble claiming 2 GiB is refused before any work; one past 32 bits is malformed.
    const huge = bytes([0x80, 0x80, 0x80, 0x80, 0x08]);
    expect(decompress(2, huge, 5, OUT, OUT_CAP)).toBe(-1);
    const big = bytes([0x80, 0x80, 0x80, 0x40, 0x00]);
    expect(decompress(2, big, 5, OUT, OUT_CAP)).toBe(-2);
    // A 4-byte literal length of 2^32 - 1 (wraps to zero if added to carelessly).
    const wrap = bytes([4, 63 << 2, 0xff, 0xff, 0xff, 0xff, 0x61]);
    expect(decompress(2, wrap, 7, OUT, 100)).toBe(-1);
  });

  test("Xerial framing: header only is empty; a zero-length or lying chunk is malformed", () => {
    const head: u8[] = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1];
    expect(decompress(2, bytes(head), 16, OUT, 100)).toBe(0);
    const zero = head.concat([0, 0, 0, 0]);
    expect(decompress(2, bytes(zero), 20, OUT, 100)).toBe(-1);
    const lying = head.concat([0, 0, 0, 9, 3, 0x08, 0x61, 0x62, 0x63]);
    expect(decompress(2, bytes(lying), 25, OUT, 100)).toBe(-1);
    const good = head.concat([0, 0, 0, 5, 3, 0x08, 0x61, 0x62, 0x63]);
    expect(decompress(2, bytes(good), 25, OUT, 100)).toBe(3);
    // Two chunks and a repeated header (concatenated streams).
    const two = good.concat(head).concat([0, 0, 0, 5, 3, 0x08, 0x64, 0x65, 0x66]);
    expect(decompress(2, bytes(two), <i32>two.length, OUT, 100)).toBe(6);
    expect(String.UTF8.decodeUnsafe(OUT, 6)).toBe("abcdef");
    expect(decompress(2, bytes(two), <i32>two.length, OUT, 5)).toBe(-2);
  });

  test("deflate: stored blocks (empty, and NLEN not LEN's complement), a reserved block type, a distance past the start", () => {
    const gz: u8[] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    // Two stored blocks, the first empty: "abc"; CRC32("abc") = 0x352441c2.
    const stored = gz.concat([0, 0, 0, 0xff, 0xff, 1, 3, 0, 0xfc, 0xff, 0x61, 0x62, 0x63, 0xc2, 0x41, 0x24, 0x35, 3, 0, 0, 0]);
    expect(decompress(1, bytes(stored), <i32>stored.length, OUT, 3)).toBe(3);
    expect(String.UTF8.decodeUnsafe(OUT, 3)).toBe("abc");
    const nlen = stored.slice(0);
    nlen[13] = 0xfd;
    expect(decompress(1, bytes(nlen), <i32>nlen.length, OUT, 3)).toBe(-1);
    // BFINAL=1, BTYPE=11.
    const reserved = gz.concat([0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(decompress(1, bytes(reserved), <i32>reserved.length, OUT, 100)).toBe(-1);
    // Fixed block: literal 'a' (0x91 as 8 bits 00110001+0x30), then length 3 distance 2 (> 1 byte written).
    // Bits LSB first: 1 (final), 10 (fixed)... built as: final fixed, 'a' = code 0x91 (8 bits),
    // length 257 = code 0000001 (7 bits), distance code 1 = 00001 (5 bits).
    const w = new BitWriter();
    w.put(1, 1);
    w.put(1, 2);
    w.code(0x30 + 0x61, 8);
    w.code(1, 7);
    w.code(1, 5);
    w.code(0, 7);
    const aaaa = bytes([0x61, 0x61, 0x61, 0x61]);
    const c = crc32(aaaa, 4);
    const trailer: u8[] = [<u8>c, <u8>(c >> 8), <u8>(c >> 16), <u8>(c >> 24), 4, 0, 0, 0];
    const bad = gz.concat(w.bytes).concat(trailer);
    // An 'a' just before the output: reaching back past the start would read it and make "aaaa",
    // whose CRC32 the trailer carries.
    store<u8>(OUT, 0x61);
    expect(decompress(1, bytes(bad), <i32>bad.length, OUT + 1, 100)).toBe(-1);
    // The same with distance code 0 (distance 1): "aaaa", an overlapping copy.
    const v = new BitWriter();
    v.put(1, 1);
    v.put(1, 2);
    v.code(0x30 + 0x61, 8);
    v.code(1, 7);
    v.code(0, 5);
    v.code(0, 7);
    const good = gz.concat(v.bytes).concat(trailer);
    expect(decompress(1, bytes(good), <i32>good.length, OUT, 100)).toBe(4);
    expect(String.UTF8.decodeUnsafe(OUT, 4)).toBe("aaaa");
    expect(decompress(1, bytes(good), <i32>good.length, OUT, 3)).toBe(-2);
    // Bad magic, method, reserved flags.
    const magic = stored.slice(0);
    magic[1] = 0x8c;
    expect(decompress(1, bytes(magic), <i32>magic.length, OUT, 100)).toBe(-1);
    const flags = stored.slice(0);
    flags[3] = 0x20;
    expect(decompress(1, bytes(flags), <i32>flags.length, OUT, 100)).toBe(-1);
  });

  test("lz4: an overlapping match (offset 1), a match before the block's start, a dictionary id, an oversized block", () => {
    // Frame: magic, FLG 0x60 (v01, independent), BD 0x40, HC; block; end mark.
    const head: u8[] = [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82];
    // "a" then match offset 1 length 4+10 then 5 literals "bcdef".
    const blk: u8[] = [0x1a, 0x61, 1, 0, 0x50, 0x62, 0x63, 0x64, 0x65, 0x66];
    const frame = head.concat([<u8>blk.length, 0, 0, 0]).concat(blk).concat([0, 0, 0, 0]);
    expect(decompress(3, bytes(frame), <i32>frame.length, OUT, 100)).toBe(20);
    expect(String.UTF8.decodeUnsafe(OUT, 20)).toBe("aaaaaaaaaaaaaaabcdef");
    expect(decompress(3, bytes(frame), <i32>frame.length, OUT, 19)).toBe(-2);
    const back = frame.slice(0);
    back[13] = 2;
    expect(decompress(3, bytes(back), <i32>back.length, OUT + 1, 100)).toBe(-1);
    // A block ending in a match (no final literals) is malformed.
    const tail: u8[] = [0x1a, 0x61, 1, 0];
    const ends = head.concat([4, 0, 0, 0]).concat(tail).concat([0, 0, 0, 0]);
    expect(decompress(3, bytes(ends), <i32>ends.length, OUT, 100)).toBe(-1);
    // Dictionary id flag (header checksum then wrong too, refused first by the flag).
    const dict = frame.slice(0);
    dict[4] = 0x61;
    expect(decompress(3, bytes(dict), <i32>dict.length, OUT, 100)).toBe(-1);
    // A block size over the 64 KiB maximum.
    const over = frame.slice(0);
    over[9] = 1;
    over[8] = 0;
    over[10] = 1;
    expect(decompress(3, bytes(over), <i32>over.length, OUT, 100)).toBe(-1);
  });
});

// Deflate bits, least significant first; Huffman codes most significant bit first.
class BitWriter {
  bytes: u8[] = [];
  acc: u32 = 0;
  n: u32 = 0;
  put(v: u32, bits: u32): void {
    for (let i: u32 = 0; i < bits; i++) this.bit((v >> i) & 1);
  }
  code(v: u32, bits: u32): void {
    for (let i: i32 = <i32>bits - 1; i >= 0; i--) this.bit((v >> <u32>i) & 1);
  }
  bit(b: u32): void {
    if (this.n == 0) this.bytes.push(0);
    const last = this.bytes.length - 1;
    this.bytes[last] = this.bytes[last] | <u8>(b << this.n);
    this.n = (this.n + 1) & 7;
  }
}
