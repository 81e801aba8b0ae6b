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

const ATTRIBUTES_OFFSET = 21;
const MAX_TIMESTAMP_OFFSET = 35;
const BASE_TIMESTAMP_OFFSET = 27;
const PRODUCER_ID_OFFSET = 43;
// Attributes: compression codec in bits 0-2, transactional in bit 4, control batch in bit 5.
const CODEC_MASK: u16 = 7;
const TRANSACTIONAL: u16 = 0x10;

// What the guardrails check of a record set, from its batch headers only (the records are never
// read): the codecs used, the largest batch, record counts, timestamps, producer ids. Fixed
// size, so a record set's summary is kept beside it as plain bytes (SUMMARY_BYTES).
export const SUMMARY_BYTES = 48;

export class BatchSummary {
  batches: i32 = 0;
  // Bit (1 << codec) per compression codec seen (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
  codecs: i32 = 0;
  maxBatchBytes: i32 = 0;
  maxRecords: i32 = 0;
  // Batches without a producer id (not idempotent), transactional ones, older formats (magic < 2).
  nonIdempotent: i32 = 0;
  transactional: i32 = 0;
  oldFormat: i32 = 0;
  minTimestamp: i64 = i64.MAX_VALUE;
  maxTimestamp: i64 = i64.MIN_VALUE;

  reset(): void {
    this.batches = 0;
    this.codecs = 0;
    this.maxBatchBytes = 0;
    this.maxRecords = 0;
    this.nonIdempotent = 0;
    this.transactional = 0;
    this.oldFormat = 0;
    this.minTimestamp = i64.MAX_VALUE;
    this.maxTimestamp = i64.MIN_VALUE;
  }

  // One batch header (BATCH_HEADER_SIZE bytes at `p`, its length checked by the caller).
  add(p: usize): void {
    this.batches++;
    const size = <i32>bswap<u32>(load<u32>(p + BATCH_LENGTH_OFFSET)) + LOG_OVERHEAD;
    if (size > this.maxBatchBytes) this.maxBatchBytes = size;
    if (load<u8>(p + MAGIC_OFFSET) != 2) {
      this.oldFormat++;
      return;
    }
    const attributes = bswap<u16>(load<u16>(p + ATTRIBUTES_OFFSET));
    this.codecs |= 1 << <i32>(attributes & CODEC_MASK);
    if ((attributes & TRANSACTIONAL) != 0) this.transactional++;
    const n = <i32>bswap<u32>(load<u32>(p + RECORDS_COUNT_OFFSET));
    if (n > this.maxRecords) this.maxRecords = n;
    if (<i64>bswap<u64>(load<u64>(p + PRODUCER_ID_OFFSET)) < 0) this.nonIdempotent++;
    const first = <i64>bswap<u64>(load<u64>(p + BASE_TIMESTAMP_OFFSET));
    const last = <i64>bswap<u64>(load<u64>(p + MAX_TIMESTAMP_OFFSET));
    if (first < this.minTimestamp) this.minTimestamp = first;
    if (last > this.maxTimestamp) this.maxTimestamp = last;
  }

  // Adds another summary (the record sets of one request).
  merge(o: BatchSummary): void {
    this.batches += o.batches;
    this.codecs |= o.codecs;
    if (o.maxBatchBytes > this.maxBatchBytes) this.maxBatchBytes = o.maxBatchBytes;
    if (o.maxRecords > this.maxRecords) this.maxRecords = o.maxRecords;
    this.nonIdempotent += o.nonIdempotent;
    this.transactional += o.transactional;
    this.oldFormat += o.oldFormat;
    if (o.minTimestamp < this.minTimestamp) this.minTimestamp = o.minTimestamp;
    if (o.maxTimestamp > this.maxTimestamp) this.maxTimestamp = o.maxTimestamp;
  }

  store(p: usize): void {
    store<i32>(p, this.batches);
    store<i32>(p, this.codecs, 4);
    store<i32>(p, this.maxBatchBytes, 8);
    store<i32>(p, this.maxRecords, 12);
    store<i32>(p, this.nonIdempotent, 16);
    store<i32>(p, this.transactional, 20);
    store<i32>(p, this.oldFormat, 24);
    store<i64>(p, this.minTimestamp, 32);
    store<i64>(p, this.maxTimestamp, 40);
  }

  load(p: usize): void {
    this.batches = load<i32>(p);
    this.codecs = load<i32>(p, 4);
    this.maxBatchBytes = load<i32>(p, 8);
    this.maxRecords = load<i32>(p, 12);
    this.nonIdempotent = load<i32>(p, 16);
    this.transactional = load<i32>(p, 20);
    this.oldFormat = load<i32>(p, 24);
    this.minTimestamp = load<i64>(p, 32);
    this.maxTimestamp = load<i64>(p, 40);
  }
}

// The summary of a record set in memory (frames the module holds whole).
export function summarizeBatches(ptr: usize, len: i32, into: BatchSummary): void {
  into.reset();
  let at: i32 = 0;
  while (len - at >= BATCH_HEADER_SIZE) {
    const p = ptr + <usize>at;
    const batchLength = <i32>bswap<u32>(load<u32>(p + BATCH_LENGTH_OFFSET));
    if (batchLength < BATCH_HEADER_SIZE - LOG_OVERHEAD || batchLength > len - at - LOG_OVERHEAD) break;
    into.add(p);
    at += LOG_OVERHEAD + batchLength;
  }
}
