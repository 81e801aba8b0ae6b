// LZ4 frames (lz4 Frame format, v1.6.x) of LZ4 blocks (lz4 Block format), as Kafka's Java
// client (KafkaLZ4BlockOutputStream) and librdkafka (LZ4F) write them in magic v2 batches.
// Checked: the header checksum, and when the frame has them the block checksums, the content
// checksum and the content size. Frames may be concatenated; a dictionary id is refused.
import { copyBack } from "./index";

const P1: u32 = 2654435761;
const P2: u32 = 2246822519;
const P3: u32 = 3266489917;
const P4: u32 = 668265263;
const P5: u32 = 374761393;

// XXH32 with seed 0 (xxhash spec).
export function xxh32(p: usize, n: usize): u32 {
  const e = p + n;
  let h: u32;
  if (n >= 16) {
    let a: u32 = P1 + P2, b: u32 = P2, c: u32 = 0, d: u32 = 0 - P1;
    do {
      a = rotl<u32>(a + load<u32>(p) * P2, 13) * P1;
      b = rotl<u32>(b + load<u32>(p, 4) * P2, 13) * P1;
      c = rotl<u32>(c + load<u32>(p, 8) * P2, 13) * P1;
      d = rotl<u32>(d + load<u32>(p, 12) * P2, 13) * P1;
      p += 16;
    } while (e - p >= 16);
    h = rotl<u32>(a, 1) + rotl<u32>(b, 7) + rotl<u32>(c, 12) + rotl<u32>(d, 18);
  } else {
    h = P5;
  }
  h += <u32>n;
  for (; e - p >= 4; p += 4) h = rotl<u32>(h + load<u32>(p) * P3, 17) * P4;
  for (; p < e; p++) h = rotl<u32>(h + <u32>load<u8>(p) * P5, 11) * P1;
  h = (h ^ (h >> 15)) * P2;
  h = (h ^ (h >> 13)) * P3;
  return h ^ (h >> 16);
}

export function unlz4(src: usize, srcLen: usize, dst: usize, dstCap: usize): i32 {
  const e = src + srcLen;
  const oe = dst + dstCap;
  let p = src;
  let op = dst;
  do {
    if (e - p < 7 || load<u32>(p) != 0x184d2204) return -1;
    const flg = <u32>load<u8>(p, 4);
    const bd = <u32>load<u8>(p, 5);
    // Version 01, reserved bit and dictionary id clear; block maximum size 4..7, reserved bits clear.
    if ((flg & 0xc3) != 0x40 || (bd & 0x8f) != 0 || bd < 0x40) return -1;
    const hl: usize = (flg & 8) != 0 ? 10 : 2;
    if (e - p < 5 + hl) return -1;
    if (<u8>(xxh32(p + 4, hl) >> 8) != load<u8>(p + 4 + hl)) return -1;
    let size: u64 = 0;
    if ((flg & 8) != 0) {
      size = load<u64>(p, 6);
      if (size > <u64>(oe - op)) return -2;
    }
    const maxBlock: usize = 1 << (8 + ((bd >> 3) & 14));
    const checked: usize = (flg & 0x10) != 0 ? 4 : 0;
    p += 5 + hl;
    const f0 = op;
    for (;;) {
      if (e - p < 4) return -1;
      let n = <usize>load<u32>(p);
      p += 4;
      if (n == 0) break;
      const raw = n >> 31;
      n &= 0x7fffffff;
      if (n > maxBlock || n > e - p || checked > e - p - n) return -1;
      if (checked != 0 && xxh32(p, n) != load<u32>(p + n)) return -1;
      if (raw != 0) {
        if (n > oe - op) return -2;
        memory.copy(op, p, n);
        op += n;
      } else {
        // Independent blocks reach back only into their own output, linked ones into the frame's.
        const r = block(p, n, (flg & 0x20) != 0 ? op : f0, op, oe);
        if (r < 0) return r;
        if (<usize>r > maxBlock) return -1;
        op += <usize>r;
      }
      p += n + checked;
    }
    if ((flg & 4) != 0) {
      if (e - p < 4 || xxh32(f0, op - f0) != load<u32>(p)) return -1;
      p += 4;
    }
    if ((flg & 8) != 0 && size != <u64>(op - f0)) return -1;
  } while (p < e);
  return <i32>(op - dst);
}

// One compressed block: sequences of [token][literal length+][literals][offset][match length+],
// the last one literals only.
let bp: usize = 0;
let be: usize = 0;

function block(p: usize, n: usize, lo: usize, op: usize, oe: usize): i32 {
  bp = p;
  be = p + n;
  const o0 = op;
  if (n == 0) return -1;
  for (;;) {
    const t = <usize>load<u8>(bp++);
    let len = more(t >> 4);
    if (len > be - bp) return -1;
    if (len > oe - op) return -2;
    memory.copy(op, bp, len);
    op += len;
    bp += len;
    if (bp == be) return <i32>(op - o0);
    if (be - bp < 2) return -1;
    const off = <usize>load<u16>(bp);
    bp += 2;
    len = more(t & 15) + 4;
    // A block ends with literals.
    if (bp >= be || off == 0 || off > op - lo) return -1;
    if (len > oe - op) return -2;
    copyBack(op, off, len);
    op += len;
  }
  return -1;
}

// A length of 15 goes on in bytes up to one under 255; running out of input makes it too long.
function more(len: usize): usize {
  if (len == 15) {
    for (;;) {
      if (bp >= be) return 0x7fffffff;
      const b = <usize>load<u8>(bp++);
      len += b;
      if (b != 255) break;
    }
  }
  return len;
}
