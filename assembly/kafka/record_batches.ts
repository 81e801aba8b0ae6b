// Counts the records of a record set from its batch headers (magic 2), without reading the
// records themselves. A fetch response may end with a partial batch; it is not counted.
const BATCH_LENGTH_OFFSET = 8;
const MAGIC_OFFSET = 16;
const RECORDS_COUNT_OFFSET = 57;
const BATCH_HEADER_SIZE = 61;
// baseOffset and batchLength precede what batchLength counts.
const LOG_OVERHEAD = 12;

export function countRecords(ptr: usize, len: i32): i64 {
  let total: i64 = 0;
  let at: i32 = 0;
  while (len - at >= BATCH_HEADER_SIZE) {
    const p = ptr + <usize>at;
    const batchLength = <i32>bswap<u32>(load<u32>(p + BATCH_LENGTH_OFFSET));
    if (batchLength < BATCH_HEADER_SIZE - LOG_OVERHEAD || batchLength > len - at - LOG_OVERHEAD) break;
    if (load<u8>(p + MAGIC_OFFSET) == 2) {
      const n = <i32>bswap<u32>(load<u32>(p + RECORDS_COUNT_OFFSET));
      if (n > 0) total += n;
    }
    at += LOG_OVERHEAD + batchLength;
  }
  return total;
}
