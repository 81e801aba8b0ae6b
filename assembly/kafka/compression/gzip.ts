// gzip (RFC 1952) members of deflate data (RFC 1951): stored, fixed and dynamic Huffman blocks.
// Canonical Huffman codes are decoded bit by bit from the per-length counts (small code, no
// lookup tables to build); the tables are static. Each member's CRC32 and ISIZE are checked;
// the optional header CRC16 is skipped, not checked. Members may be concatenated (the Java
// GZIPInputStream reads them all); anything else after a member is malformed.
import { copyBack } from "./index";

// Static tables (u16 entries): code counts per length and symbols in canonical order for the
// literal/length code (also used for the code-length code) and the distance code, the code
// lengths being read, the offsets used while sorting, and the CRC32 table.
const TABLES = memory.data(2404, 16);
const LCNT = TABLES;          // 16
const LSYM = TABLES + 32;     // 288
const DCNT = TABLES + 608;    // 16
const DSYM = TABLES + 640;    // 32
const LENS = TABLES + 704;    // 320 (286 + 30 used)
const OFFS = TABLES + 1344;   // 17
const CRC = TABLES + 1380;    // 256 x u32

const ORDER = memory.data<u8>([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);

let ip: usize = 0;  // next input byte
let ie: usize = 0;  // end of input
let bb: u32 = 0;    // bit buffer, least significant bit first
let bc: u32 = 0;    // bits in bb (< 8 between calls)
let short = false;  // a read ran past the end of input
let crcReady = false;
// The literal/length and distance tables hold the fixed codes: runs of fixed blocks (10 bits
// each when empty) do not rebuild them.
let fixedReady = false;

function bits(n: u32): u32 {
  while (bc < n) {
    if (ip >= ie) {
      short = true;
      return 0;
    }
    bb |= <u32>load<u8>(ip++) << bc;
    bc += 8;
  }
  const v = bb & ((1 << n) - 1);
  bb >>= n;
  bc -= n;
  return v;
}

// Canonical code from code lengths; false if over-subscribed. Incomplete codes are accepted:
// their unused codes fail in decode.
function build(cnt: usize, sym: usize, lens: usize, n: u32): bool {
  memory.fill(cnt, 0, 32);
  for (let i: u32 = 0; i < n; i++) {
    const c = cnt + (<usize>load<u16>(lens + (i << 1)) << 1);
    store<u16>(c, load<u16>(c) + 1);
  }
  let left: i32 = 1;
  store<u16>(OFFS + 2, 0);
  for (let l: usize = 1; l < 16; l++) {
    const c = <i32>load<u16>(cnt + (l << 1));
    left = (left << 1) - c;
    if (left < 0) return false;
    store<u16>(OFFS + ((l + 1) << 1), load<u16>(OFFS + (l << 1)) + <u16>c);
  }
  for (let i: u32 = 0; i < n; i++) {
    const l = <usize>load<u16>(lens + (i << 1));
    if (l != 0) {
      const o = OFFS + (l << 1);
      const k = <usize>load<u16>(o);
      store<u16>(sym + (k << 1), <u16>i);
      store<u16>(o, <u16>(k + 1));
    }
  }
  return true;
}

// One symbol, or -1 (no such code, or out of input).
function decode(cnt: usize, sym: usize): i32 {
  let code: i32 = 0, first: i32 = 0, index: i32 = 0;
  for (let l: usize = 1; l < 16; l++) {
    if (bc == 0) {
      if (ip >= ie) return -1;
      bb = load<u8>(ip++);
      bc = 8;
    }
    code |= bb & 1;
    bb >>= 1;
    bc--;
    const c = <i32>load<u16>(cnt + (l << 1));
    if (code - first < c) return load<u16>(sym + (<usize>(index + code - first) << 1));
    index += c;
    first = (first + c) << 1;
    code <<= 1;
  }
  return -1;
}

function dynamicCodes(): bool {
  fixedReady = false;
  const nlen = bits(5) + 257;
  const ndist = bits(5) + 1;
  const ncode = bits(4) + 4;
  if (short || nlen > 286 || ndist > 30) return false;
  memory.fill(LENS, 0, 38);
  for (let i: usize = 0; i < ncode; i++) store<u16>(LENS + (<usize>load<u8>(ORDER + i) << 1), bits(3));
  if (short || !build(LCNT, LSYM, LENS, 19)) return false;
  const total = nlen + ndist;
  for (let i: u32 = 0; i < total; ) {
    const s = decode(LCNT, LSYM);
    if (s < 0) return false;
    if (s < 16) {
      store<u16>(LENS + (i++ << 1), s);
      continue;
    }
    let v: u16 = 0;
    let rep: u32;
    if (s == 16) {
      if (i == 0) return false;
      v = load<u16>(LENS + ((i - 1) << 1));
      rep = 3 + bits(2);
    } else if (s == 17) {
      rep = 3 + bits(3);
    } else {
      rep = 11 + bits(7);
    }
    if (short || rep > total - i) return false;
    for (; rep > 0; rep--) store<u16>(LENS + (i++ << 1), v);
  }
  // The end-of-block symbol must have a code.
  return load<u16>(LENS + 512) != 0 && build(LCNT, LSYM, LENS, nlen) && build(DCNT, DSYM, LENS + (nlen << 1), ndist);
}

function fixedCodes(): void {
  for (let i: usize = 0; i < 288; i++) store<u16>(LENS + (i << 1), i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8);
  for (let i: usize = 288; i < 318; i++) store<u16>(LENS + (i << 1), 5);
  build(LCNT, LSYM, LENS, 288);
  build(DCNT, DSYM, LENS + 576, 30);
  fixedReady = true;
}

// One deflate stream into [op0, oe): bytes written or -1 / -2.
function inflate(op0: usize, oe: usize): i32 {
  let op = op0;
  let last: u32;
  do {
    last = bits(1);
    const type = bits(2);
    if (short || type == 3) return -1;
    if (type == 0) {
      // Stored: to the byte boundary (bc < 8 here), LEN, NLEN, LEN bytes.
      bb = bc = 0;
      if (ie - ip < 4) return -1;
      const n = <usize>load<u16>(ip);
      if ((n ^ <usize>load<u16>(ip, 2)) != 0xffff) return -1;
      ip += 4;
      if (n > ie - ip) return -1;
      if (n > oe - op) return -2;
      memory.copy(op, ip, n);
      ip += n;
      op += n;
      continue;
    }
    if (type == 1) {
      if (!fixedReady) fixedCodes();
    } else if (!dynamicCodes()) return -1;
    for (;;) {
      let s = decode(LCNT, LSYM);
      if (s < 0) return -1;
      if (s < 256) {
        if (op >= oe) return -2;
        store<u8>(op++, <u8>s);
        continue;
      }
      if (s == 256) break;
      s -= 257;
      if (s >= 29) return -1;
      // RFC 1951 3.2.5's length and distance bases, computed: from code 8 (4) on, each group of
      // 4 (2) codes has one more extra bit.
      let len: usize = 258;
      if (s < 8) len = s + 3;
      else if (s < 28) {
        const x = (s >> 2) - 1;
        len = ((4 + (s & 3)) << x) + 3 + bits(x);
      }
      const d = decode(DCNT, DSYM);
      if (d < 0 || d >= 30) return -1;
      let dist: usize = d + 1;
      if (d >= 4) {
        const x = (d >> 1) - 1;
        dist = ((2 + (d & 1)) << x) + 1 + bits(x);
      }
      if (short || dist > op - op0) return -1;
      if (len > oe - op) return -2;
      copyBack(op, dist, len);
      op += len;
    }
  } while (last == 0);
  return <i32>(op - op0);
}

function crc32(p: usize, n: usize): u32 {
  if (!crcReady) {
    for (let i: u32 = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xedb88320 ^ (c >> 1) : c >> 1;
      store<u32>(CRC + (<usize>i << 2), c);
    }
    crcReady = true;
  }
  let c: u32 = ~0;
  for (const e = p + n; p < e; p++) c = load<u32>(CRC + (<usize>((c ^ load<u8>(p)) & 0xff) << 2)) ^ (c >> 8);
  return ~c;
}

export function gunzip(src: usize, srcLen: usize, dst: usize, dstCap: usize): i32 {
  ip = src;
  ie = src + srcLen;
  let op = dst;
  const oe = dst + dstCap;
  do {
    // Header: ID1 ID2 CM=8 FLG MTIME(4) XFL OS, then the optional fields FLG names.
    if (ie - ip < 10 || (load<u32>(ip) & 0xffffff) != 0x088b1f) return -1;
    const flg = <u32>load<u8>(ip, 3);
    if ((flg & 0xe0) != 0) return -1;
    ip += 10;
    if ((flg & 4) != 0) {
      if (ie - ip < 2) return -1;
      const x = <usize>load<u16>(ip);
      ip += 2;
      if (x > ie - ip) return -1;
      ip += x;
    }
    // FNAME, then FCOMMENT: zero-terminated.
    for (let f: u32 = 8; f <= 16; f <<= 1) {
      if ((flg & f) != 0) {
        do {
          if (ip >= ie) return -1;
        } while (load<u8>(ip++) != 0);
      }
    }
    if ((flg & 2) != 0) {
      if (ie - ip < 2) return -1;
      ip += 2;
    }
    bb = bc = 0;
    short = false;
    const n = inflate(op, oe);
    if (n < 0) return n;
    // Trailer: CRC32 and ISIZE of this member's output, little-endian.
    if (ie - ip < 8 || load<u32>(ip) != crc32(op, <usize>n) || load<u32>(ip, 4) != <u32>n) return -1;
    ip += 8;
    op += <usize>n;
  } while (ip < ie);
  return <i32>(op - dst);
}
