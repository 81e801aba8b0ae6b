// Decompression of Kafka record batches' records sections (codec = the batch attributes'
// low three bits). No allocation: output goes to the caller's buffer, tables are static.
// Results: >= 0 bytes written; -1 malformed; -2 the output would exceed dstCap (returned as soon
// as it would, so a bomb costs at most dstCap bytes of work); -3 unsupported. src and dst must
// not overlap; bytes of dst past a negative result's progress are unspecified.
import { gunzip } from "./gzip";
import { unsnappy } from "./snappy";
import { unlz4 } from "./lz4";

export const DECOMPRESS_MALFORMED: i32 = -1;
export const DECOMPRESS_TOO_BIG: i32 = -2;
export const DECOMPRESS_UNSUPPORTED: i32 = -3;

// codec: 1 gzip, 2 snappy, 3 lz4, 4 zstd (unsupported: a zstd decoder does not fit the module budget).
export function decompress(codec: i32, src: usize, srcLen: i32, dst: usize, dstCap: i32): i32 {
  if (codec < 1 || codec > 3) return -3;
  if (srcLen < 0 || dstCap < 0) return -1;
  if (codec == 1) return gunzip(src, <usize>srcLen, dst, <usize>dstCap);
  if (codec == 2) return unsnappy(src, <usize>srcLen, dst, <usize>dstCap);
  return unlz4(src, <usize>srcLen, dst, <usize>dstCap);
}

// An LZ77 back-reference: len bytes from off bytes back (off >= 1, checked by the caller). An
// overlapping copy (off < len) repeats the last off bytes, so it goes byte by byte.
export function copyBack(op: usize, off: usize, len: usize): void {
  if (off >= len) memory.copy(op, op - off, len);
  else for (let e = op + len; op < e; op++) store<u8>(op, load<u8>(op - off));
}
