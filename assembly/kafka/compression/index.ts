// STUB until the codecs land (branch codecs replaces this file): every codec is unsupported.
// decompress(codec 1 gzip, 2 snappy, 3 lz4, 4 zstd, src, srcLen, dst, dstCap): bytes written,
// -1 malformed, -2 output would exceed dstCap, -3 codec unsupported.
export function decompress(codec: i32, src: usize, srcLen: i32, dst: usize, dstCap: i32): i32 {
  return -3;
}
