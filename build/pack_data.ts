// Build post-pass (the `build` command): stores the module's static data compressed.
//
// AssemblyScript keeps string literals as UTF-16 with a 20-byte header each, and Binaryen splits the
// static data into ~800 data segments around the zero runs; the data section was a third of the
// module. This pass puts the whole static data image (from the first segment to the end of the last)
// in one segment, compressed with a small LZ77 scheme, at the start of the heap area (above
// __heap_base), and adds a start function that expands it to its place and zeroes the compressed
// copy before calling the module's own start function. When the module's start function runs, the
// memory holds exactly what the data segments wrote before: the code, the data's layout and the
// heap are unchanged. Cost: one expansion of ~70 KB per VM start (no work per connection or frame).
//
// Compressed format: a sequence of tokens. A token byte t < 0x80 is followed by t + 1 literal bytes;
// a token t >= 0x80 and a 16-bit little-endian distance d (1..65535) copy (t & 0x7f) + 3 bytes from
// d bytes back in the output, byte by byte (so a copy may overlap what it writes: runs).
import binaryen from "binaryen";

const MIN_MATCH = 3;
const MAX_MATCH = 0x7f + MIN_MATCH;
const MAX_LITERALS = 0x80;
const MAX_DISTANCE = 0xffff;
const CHAIN = 256; // candidates tried per position (build time only)

export function compress(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  const heads = new Map<number, number[]>();
  let literals: number[] = [];
  const flush = () => {
    for (let i = 0; i < literals.length; i += MAX_LITERALS) {
      const run = literals.slice(i, i + MAX_LITERALS);
      out.push(run.length - 1, ...run);
    }
    literals = [];
  };
  const key = (i: number) => src[i] | (src[i + 1] << 8) | (src[i + 2] << 16);
  const insert = (i: number) => {
    if (i + MIN_MATCH > src.length) return;
    const k = key(i);
    let list = heads.get(k);
    if (list === undefined) heads.set(k, (list = []));
    list.push(i);
  };
  let i = 0;
  while (i < src.length) {
    let best = 0;
    let distance = 0;
    if (i + MIN_MATCH <= src.length) {
      const list = heads.get(key(i)) ?? [];
      for (let j = list.length - 1, tried = 0; j >= 0 && tried < CHAIN; j--, tried++) {
        const from = list[j];
        if (i - from > MAX_DISTANCE) break;
        let n = 0;
        while (n < MAX_MATCH && i + n < src.length && src[from + n] === src[i + n]) n++;
        if (n > best) {
          best = n;
          distance = i - from;
          if (n === MAX_MATCH) break;
        }
      }
    }
    if (best >= MIN_MATCH) {
      flush();
      out.push(0x80 + best - MIN_MATCH, distance & 0xff, distance >> 8);
      for (let k = 0; k < best; k++) insert(i + k);
      i += best;
    } else {
      literals.push(src[i]);
      insert(i);
      i++;
    }
  }
  flush();
  return Uint8Array.from(out);
}

// The decoder as the added start function runs it, in JavaScript: the tests check the round trip.
export function expand(packed: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let src = 0;
  let dst = 0;
  while (src < packed.length) {
    const t = packed[src++];
    if (t < 0x80) {
      out.set(packed.subarray(src, src + t + 1), dst);
      src += t + 1;
      dst += t + 1;
    } else {
      let from = dst - (packed[src] | (packed[src + 1] << 8));
      src += 2;
      for (let n = (t & 0x7f) + MIN_MATCH; n > 0; n--) out[dst++] = out[from++];
    }
  }
  return out;
}

function leb(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  let b: number;
  do {
    b = bytes[at++];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return [value, at];
}

// The index of the start function, from the binary's start section (binaryen.js has no getter).
function startFunction(wasm: Uint8Array): number | undefined {
  let at = 8;
  while (at < wasm.length) {
    const id = wasm[at++];
    let size: number;
    [size, at] = leb(wasm, at);
    if (id === 8) return leb(wasm, at)[0];
    at += size;
  }
  return undefined;
}

export interface PackReport {
  segments: number;
  image: number;
  packed: number;
  before: number;
  after: number;
}

export function packData(wasm: Uint8Array): { wasm: Uint8Array; report: PackReport } {
  const start = startFunction(wasm);
  const m = binaryen.readBinary(wasm);
  try {
    m.setFeatures(binaryen.Features.MVP | binaryen.Features.MutableGlobals | binaryen.Features.SignExt |
      binaryen.Features.NontrappingFPToInt | binaryen.Features.BulkMemory);
    const count = m.getNumMemorySegments();
    const segments: { offset: number; data: Uint8Array }[] = [];
    for (let i = 0; i < count; i++) {
      const s = m.getMemorySegmentInfoByIndex(i);
      if (s.passive || typeof s.offset !== "number") throw new Error("pack_data: only active data segments at constant offsets are expected");
      segments.push({ offset: s.offset, data: new Uint8Array(s.data) });
    }
    if (segments.length === 0) return { wasm, report: { segments: 0, image: 0, packed: 0, before: wasm.length, after: wasm.length } };
    // Laid out in index order, as wasm applies them: a later segment overwrites an earlier one.
    const base = segments.reduce((m, s) => Math.min(m, s.offset), Infinity);
    const end = segments.reduce((m, s) => Math.max(m, s.offset + s.data.length), 0);
    const image = new Uint8Array(end - base);
    for (const s of segments) image.set(s.data, s.offset - base);
    const packed = compress(image);
    const check = expand(packed, image.length);
    if (!check.every((b, i) => b === image[i])) throw new Error("pack_data: the compressed data does not expand to the original");

    // The compressed copy sits above the static data (where __heap_base points: the heap is not yet
    // in use when the start function runs) and is zeroed once expanded.
    const at = (end + 15) & ~15;
    const memory = m.getMemoryInfo("0");
    if (memory.module) throw new Error("pack_data: an imported memory is not expected");
    const pages = Math.max(memory.initial, Math.ceil((at + packed.length) / 65536));
    if (memory.max !== undefined && pages > memory.max) throw new Error("pack_data: the compressed data does not fit the memory");
    m.setMemory(pages, memory.max ?? -1, null, [{ offset: m.i32.const(at), data: packed, passive: false }], memory.shared, memory.is64, "0");

    const i32 = binaryen.i32;
    const [SRC, DST, END, T, FROM, N] = [0, 1, 2, 3, 4, 5];
    const get = (l: number) => m.local.get(l, i32);
    const c = (v: number) => m.i32.const(v);
    const body = [
      m.local.set(SRC, c(at)),
      m.local.set(DST, c(base)),
      m.local.set(END, c(at + packed.length)),
      m.loop("token", m.if(m.i32.lt_u(get(SRC), get(END)), m.block(null, [
        m.local.set(T, m.i32.load8_u(0, 1, get(SRC))),
        m.local.set(SRC, m.i32.add(get(SRC), c(1))),
        m.if(m.i32.lt_u(get(T), c(0x80)),
          m.block(null, [
            m.local.set(N, m.i32.add(get(T), c(1))),
            m.memory.copy(get(DST), get(SRC), get(N)),
            m.local.set(SRC, m.i32.add(get(SRC), get(N))),
            m.local.set(DST, m.i32.add(get(DST), get(N))),
          ]),
          m.block(null, [
            m.local.set(FROM, m.i32.sub(get(DST), m.i32.load16_u(0, 1, get(SRC)))),
            m.local.set(SRC, m.i32.add(get(SRC), c(2))),
            m.local.set(N, m.i32.add(m.i32.and(get(T), c(0x7f)), c(MIN_MATCH))),
            m.loop("copy", m.block(null, [
              m.i32.store8(0, 1, get(DST), m.i32.load8_u(0, 1, get(FROM))),
              m.local.set(DST, m.i32.add(get(DST), c(1))),
              m.local.set(FROM, m.i32.add(get(FROM), c(1))),
              m.local.set(N, m.i32.sub(get(N), c(1))),
              m.br("copy", get(N)),
            ])),
          ])),
        m.br("token"),
      ]))),
      m.memory.fill(c(at), c(0), c(packed.length)),
    ];
    if (start !== undefined) {
      const info = binaryen.getFunctionInfo(m.getFunctionByIndex(start));
      body.push(m.call(info.name, [], binaryen.none));
    }
    const unpack = m.addFunction("~unpack-data", binaryen.none, binaryen.none, [i32, i32, i32, i32, i32, i32], m.block(null, body));
    m.setStart(unpack);
    if (!m.validate()) throw new Error("pack_data: the packed module does not validate");
    const out = m.emitBinary();
    return { wasm: out, report: { segments: count, image: image.length, packed: packed.length, before: wasm.length, after: out.length } };
  } finally {
    m.dispose();
  }
}
