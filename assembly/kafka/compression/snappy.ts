// Snappy (github.com/google/snappy, format_description.txt), both as Kafka producers write it:
// the Java client's Xerial framing (magic \x82SNAPPY\0, int32 version, int32 compatible version,
// then [int32 BE length][raw block]*, header possibly repeated by concatenation) and the raw
// block of librdkafka and kafkajs. As Xerial's SnappyInputStream, input without the magic is raw.
import { copyBack } from "./index";

// \x82 S N A P P Y \0, read as a little-endian u64.
const XERIAL_MAGIC: u64 = 0x0059_5050_414e_5382;

export function unsnappy(src: usize, srcLen: usize, dst: usize, dstCap: usize): i32 {
  if (srcLen < 16 || load<u64>(src) != XERIAL_MAGIC) return block(src, srcLen, dst, dstCap);
  const e = src + srcLen;
  let p = src;
  let op = dst;
  const oe = dst + dstCap;
  while (p < e) {
    if (e - p >= 16 && load<u64>(p) == XERIAL_MAGIC) {
      p += 16;
      continue;
    }
    if (e - p < 4) return -1;
    const n = <usize>bswap<u32>(load<u32>(p));
    p += 4;
    if (n > e - p) return -1;
    const r = block(p, n, op, oe - op);
    if (r < 0) return r;
    p += n;
    op += <usize>r;
  }
  return <i32>(op - dst);
}

// One raw block: varint uncompressed length, then literals and copies.
function block(p: usize, n: usize, op: usize, cap: usize): i32 {
  const e = p + n;
  let want: u64 = 0;
  for (let sh: u64 = 0; ; sh += 7) {
    if (p >= e || sh > 28) return -1;
    const b = load<u8>(p++);
    want |= <u64>(b & 0x7f) << sh;
    if (b < 0x80) break;
  }
  if (want > 0x7fffffff) return -1;
  if (want > <u64>cap) return -2;
  const o0 = op;
  const oe = op + <usize>want;
  while (p < e) {
    const t = <usize>load<u8>(p++);
    const kind = t & 3;
    let len = t >> 2;
    if (kind == 0) {
      if (len >= 60) {
        const k = len - 59;
        if (e - p < k) return -1;
        len = le(p, k);
        p += k;
      }
      // len is the literal's length minus one.
      if (len >= e - p || len >= oe - op) return -1;
      len++;
      memory.copy(op, p, len);
      p += len;
      op += len;
      continue;
    }
    // Copies with a 1-byte (and 3 bits of the tag), 2-byte or 4-byte offset.
    const k: usize = kind == 3 ? 4 : kind;
    if (e - p < k) return -1;
    let off = le(p, k);
    p += k;
    if (kind == 1) {
      off |= (t >> 5) << 8;
      len = 4 + (len & 7);
    } else {
      len++;
    }
    if (off == 0 || off > op - o0 || len > oe - op) return -1;
    copyBack(op, off, len);
    op += len;
  }
  return op == oe ? <i32>(op - o0) : -1;
}

// k (1 to 4) bytes, little-endian.
function le(p: usize, k: usize): usize {
  let v: usize = 0;
  for (let i: usize = 0; i < k; i++) v |= <usize>load<u8>(p + i) << (i << 3);
  return v;
}
