// What the filter reads of a frame that stays in Envoy's buffer: its bytes in order, read by
// range as the walk needs them, except its record sets, which the walk skips by length (their
// batch headers are read for the record counts when metrics want them). Record payloads are
// never copied into the module (the hot path of produce and fetch).
//
// Positions: image byte i is frame byte i + (record set bytes skipped before it). A record set
// sits at the image offset where its length prefix ends; a byte range of the image [a, b) covers
// the record sets at offsets in (a, b]: a dropped element takes its records with it, and the
// element after it starts after them (hostAt()).
import { WalkSource } from "../kafka/walk_source";
import { BufferBudget, ByteBuffer, KEEP_BYTES } from "../kafka/byte_buffer";
import { copyAhead, copyFromHost } from "./host_memory";
import { BatchSummary, SUMMARY_BYTES } from "../kafka/record_batches";

// Bytes read past what the walk asked for: a produce or fetch frame's structure up to its first
// record set fits in one read, and read-ahead into a record set is at most this much.
const READ_AHEAD: i32 = 96;
const HOLE_WIDTH = 12; // image offset, length, records counted

const BATCH_HEADER_SIZE = 61;
const BATCH_LENGTH_OFFSET = 8;
const MAGIC_OFFSET = 16;
const RECORDS_COUNT_OFFSET = 57;
const LOG_OVERHEAD = 12;

// Counts the records of one record set from its batch headers as its bytes go by, whatever the
// callbacks' boundaries (a header may arrive in two). A partial batch at the end is not counted.
export class BatchCounter {
  private header: usize = heap.alloc(BATCH_HEADER_SIZE);
  // Offset in the record set of the next batch, header bytes of it collected, length of the set.
  private at: i32 = 0;
  private have: i32 = 0;
  private len: i32 = 0;
  private stopped: bool = true;
  count: i64 = 0;
  // The headers read so far, summed up for the guardrails (record_batches.ts).
  readonly summary: BatchSummary = new BatchSummary();

  // Whether headers are also summed up (summary): only when a stage checks them.
  private summarizing: bool = false;

  start(len: i32, counting: bool, summarizing: bool): void {
    this.at = 0;
    this.have = 0;
    this.len = len;
    this.count = 0;
    this.summary.reset();
    this.summarizing = summarizing;
    this.stopped = !counting;
  }

  // Reads the headers among the record set's bytes that are in the host buffer: the set starts
  // at `setAt` there (negative once its first bytes have gone) and the buffer holds `hostLen`.
  feed(hostBuffer: u32, setAt: i32, hostLen: i32): void {
    while (!this.stopped) {
      if (this.len - this.at < BATCH_HEADER_SIZE) {
        this.stopped = true;
        return;
      }
      const from = setAt + this.at + this.have;
      if (from < 0) {
        // Bytes that went by unread (cannot happen: every callback feeds): stop counting.
        this.stopped = true;
        return;
      }
      const n = min(BATCH_HEADER_SIZE - this.have, hostLen - from);
      if (n <= 0) return;
      if (copyAhead(hostBuffer, <u32>from, <u32>n, this.header + <usize>this.have, <u32>(hostLen - from)) != n) {
        this.stopped = true;
        return;
      }
      this.have += n;
      if (this.have < BATCH_HEADER_SIZE) return;
      const p = this.header;
      const batchLength = <i32>bswap<u32>(load<u32>(p + BATCH_LENGTH_OFFSET));
      if (batchLength < BATCH_HEADER_SIZE - LOG_OVERHEAD || batchLength > this.len - this.at - LOG_OVERHEAD) {
        this.stopped = true;
        return;
      }
      if (load<u8>(p + MAGIC_OFFSET) == 2) {
        const records = <i32>bswap<u32>(load<u32>(p + RECORDS_COUNT_OFFSET));
        if (records > 0) this.count += records;
      }
      if (this.summarizing) this.summary.add(p);
      this.at += LOG_OVERHEAD + batchLength;
      this.have = 0;
    }
  }

  copyFrom(o: BatchCounter): void {
    memory.copy(this.header, o.header, BATCH_HEADER_SIZE);
    this.at = o.at;
    this.have = o.have;
    this.len = o.len;
    this.stopped = o.stopped;
    this.count = o.count;
    this.summarizing = o.summarizing;
    this.summary.reset();
    this.summary.merge(o.summary);
  }

  release(): void {
    heap.free(this.header);
  }
}

export class FrameImage extends WalkSource {
  readonly bytes: ByteBuffer = new ByteBuffer();
  private holes: ByteBuffer = new ByteBuffer();
  // Per hole, its record set's batch summary (SUMMARY_BYTES each).
  private summaries: ByteBuffer = new ByteBuffer();
  private cursor: i32 = 0;
  // Record set bytes of the holes before `cursor` (where a hole met again is in the host buffer).
  private before: i32 = 0;
  // hostAt's last question (image offset), the holes before it and their bytes.
  private atLast: i32 = 0;
  private atHole: i32 = 0;
  private atSum: i32 = 0;
  private hostBuffer: u32 = 0;
  // Where frame byte 0 is in this callback's host buffer (negative once bytes of it have gone
  // on), and that buffer's size.
  frameAt: i32 = 0;
  hostLen: i32 = 0;
  frameLen: i32 = 0;
  // Frame offset of the byte after the image's last.
  private next: i32 = 0;
  // Frame offset of the last record set skipped.
  private lastSetAt: i32 = 0;
  // Where the record set skip() last took starts in this callback's host buffer.
  private takenAt: i32 = -1;
  // Record set bytes skipped so far.
  skippedBytes: i32 = 0;
  // The last record set's end has not arrived yet.
  open: bool = false;
  // Requests decided before their end: the few bytes after an open record set (its enclosing
  // structs' tagged-field counts) are taken as zeros, to be checked as they arrive.
  allowSynthesized: bool = false;
  synthesized: i32 = 0;
  // The buffer grew during a walk: the walk must start again (its pointers moved).
  moved: bool = false;
  counting: bool = false;
  // Batch headers are summed up per record set (a stage checks them).
  summarizing: bool = false;
  readonly counter: BatchCounter = new BatchCounter();

  // Starts the image of a frame of `frameLen` bytes at `frameAt` of a host buffer of `hostLen`,
  // whose size prefix `size` (frame length - 4) the caller has read.
  begin(hostBuffer: u32, frameAt: i32, hostLen: i32, frameLen: i32, counting: bool, summarizing: bool = false): void {
    this.hostBuffer = hostBuffer;
    this.frameAt = frameAt;
    this.hostLen = hostLen;
    this.frameLen = frameLen;
    this.counting = counting;
    this.summarizing = summarizing;
    this.holes.clear();
    this.summaries.clear();
    this.cursor = 0;
    this.before = 0;
    this.atLast = this.atHole = this.atSum = 0;
    this.skippedBytes = 0;
    this.open = false;
    this.allowSynthesized = false;
    this.synthesized = 0;
    this.moved = false;
    this.takenAt = -1;
    const b = this.bytes;
    b.clear();
    if (b.cap < 256) b.resize(256);
    this.sync();
    this.next = 0;
  }

  // The next data callback of a frame whose image goes on (a response passing through).
  resume(hostBuffer: u32, frameAt: i32, hostLen: i32): void {
    this.hostBuffer = hostBuffer;
    this.frameAt = frameAt;
    this.hostLen = hostLen;
  }

  // Before every walk of the image (walkStruct): record sets are met again from the first.
  rewind(): void {
    this.cursor = 0;
    this.before = 0;
    this.moved = false;
  }

  get imageLen(): i32 {
    return this.bytes.len;
  }

  get holeCount(): i32 {
    return this.holes.len / HOLE_WIDTH;
  }

  // Where image offset `i` is in this callback's host buffer: record sets at offsets <= i are
  // before it.
  // (Callers ask in increasing order, edit range after edit range: the scan goes on from the
  // last answer's hole, else each call summing every hole before it made a frame's edits
  // quadratic in its record sets.)
  hostAt(i: i32): i32 {
    const n = this.holeCount;
    let h = this.atHole;
    let sum = this.atSum;
    if (i < this.atLast || h > n) {
      h = 0;
      sum = 0;
    }
    for (; h < n; h++) {
      const p = this.holes.ptr + <usize>(h * HOLE_WIDTH);
      if (load<i32>(p) > i) break;
      sum += load<i32>(p, 4);
    }
    this.atLast = i;
    this.atHole = h;
    this.atSum = sum;
    return this.frameAt + i + sum;
  }

  extend(to: usize): bool {
    if (to <= this.filled) return true;
    const need = <i32>(to - this.filled);
    let n = need;
    if (this.open) {
      // Only what follows the frame's last record set can be taken before it arrives, and only
      // as the empty tagged-field sections of the structs that enclose it.
      if (!this.allowSynthesized || this.next + need > this.frameLen || this.frameLen - this.next > 3) return false;
    } else {
      const avail = min(this.hostLen - (this.frameAt + this.next), this.frameLen - this.next);
      if (avail <= 0) return false;
      n = min(avail, max(need, READ_AHEAD));
    }
    if (this.bytes.len + n > this.bytes.cap) {
      this.bytes.resize(ByteBuffer.grown(this.bytes.cap, this.bytes.len + n));
      this.sync();
      this.moved = true;
      return false;
    }
    if (this.open) {
      memory.fill(this.filled, 0, need);
      this.synthesized += need;
    } else if (copyAhead(this.hostBuffer, <u32>(this.frameAt + this.next), <u32>n, this.filled,
      <u32>(this.hostLen - (this.frameAt + this.next))) != n) {
      return false;
    }
    this.took(n);
    return n >= need;
  }

  skip(at: usize, len: i32): bool {
    const offset = <i32>(at - this.ptr);
    const n = this.holeCount;
    if (this.cursor < n) {
      // Met again: the image goes on after it already.
      const p = this.holes.ptr + <usize>(this.cursor * HOLE_WIDTH);
      this.cursor++;
      if (load<i32>(p) != offset) return false;
      // (A running sum: summing the holes before it made each walk quadratic in record sets.)
      this.takenAt = this.frameAt + offset + this.before;
      this.before += load<i32>(p, 4);
      if (this.open && this.cursor == n) this.feedOpen(p);
      this.lastRecords = load<i32>(p, 8);
      if (this.summarizing) this.lastSummary.load(this.summaries.ptr + <usize>((this.cursor - 1) * SUMMARY_BYTES));
      return true;
    }
    if (this.open) return false;
    // Bytes read ahead past the length prefix were the set's first: the image ends at it.
    const ahead = this.bytes.len - offset;
    this.bytes.len = offset;
    this.filled = at;
    this.next -= ahead;
    const setAt = this.frameAt + this.next;
    this.takenAt = setAt;
    this.lastSetAt = this.next;
    this.next += len;
    this.skippedBytes += len;
    const p = this.holes.reserve(HOLE_WIDTH);
    store<i32>(p, offset);
    store<i32>(p, len, 4);
    store<i32>(p, 0, 8);
    this.holes.len += HOLE_WIDTH;
    this.cursor++;
    this.before += len;
    this.counter.start(len, this.counting, this.summarizing);
    this.counter.feed(this.hostBuffer, setAt, this.hostLen);
    this.open = setAt + len > this.hostLen;
    store<i32>(p, <i32>this.counter.count, 8);
    this.lastRecords = this.counter.count;
    if (this.summarizing) this.storeSummary(this.cursor - 1);
    return true;
  }

  readSkipped(offset: i32, len: i32, dest: usize): bool {
    const at = this.takenAt + offset;
    if (this.takenAt < 0 || offset < 0 || len < 0 || at + len > this.hostLen) return false;
    return copyFromHost(this.hostBuffer, <u32>at, <u32>len, dest) == len;
  }

  private storeSummary(hole: i32): void {
    const at = hole * SUMMARY_BYTES;
    if (this.summaries.len < at + SUMMARY_BYTES) {
      this.summaries.reserve(at + SUMMARY_BYTES - this.summaries.len);
      this.summaries.len = at + SUMMARY_BYTES;
    }
    this.counter.summary.store(this.summaries.ptr + <usize>at);
    this.lastSummary.load(this.summaries.ptr + <usize>at);
  }

  // Where the last (the open) record set starts in this callback's host buffer.
  get openSetAt(): i32 {
    return this.frameAt + this.lastSetAt;
  }

  // The open record set in a later callback: counts what arrived; closed once its end is here.
  private feedOpen(p: usize): void {
    const setAt = this.openSetAt;
    this.counter.feed(this.hostBuffer, setAt, this.hostLen);
    store<i32>(p, <i32>this.counter.count, 8);
    if (this.summarizing) this.storeSummary(this.holeCount - 1);
    if (setAt + load<i32>(p, 4) <= this.hostLen) this.open = false;
  }

  // The whole frame, record sets included, as one copy (frames the image cannot serve: bytes
  // after a request's message). False when the host does not hold all of it.
  readWhole(): bool {
    this.holes.clear();
    this.atLast = this.atHole = this.atSum = 0;
    this.summaries.clear();
    this.skippedBytes = 0;
    this.open = false;
    const b = this.bytes;
    b.clear();
    if (b.cap < this.frameLen) {
      if (!BufferBudget.allows(this.frameLen - b.cap, this.frameLen > KEEP_BYTES)) return false;
      b.resize(this.frameLen);
    }
    this.sync();
    this.next = 0;
    if (this.frameAt < 0 || this.frameAt + this.frameLen > this.hostLen) return false;
    if (copyFromHost(this.hostBuffer, <u32>this.frameAt, <u32>this.frameLen, b.ptr) != this.frameLen) return false;
    this.took(this.frameLen);
    return true;
  }

  // Frees the buffers while no frame uses them (a connection's image between fetch responses).
  shrink(): void {
    this.bytes.release();
    this.holes.release();
    this.summaries.release();
    this.sync();
  }

  // Gives back what a large frame grew the image to.
  trim(): void {
    this.bytes.trim();
    this.holes.trim();
    this.summaries.trim();
    this.sync();
  }

  release(): void {
    this.bytes.release();
    this.holes.release();
    this.summaries.release();
    this.counter.release();
    this.sync();
  }

  private took(n: i32): void {
    this.bytes.len += n;
    this.next += n;
    this.filled = this.bytes.ptr + <usize>this.bytes.len;
  }

  private sync(): void {
    this.ptr = this.bytes.ptr;
    this.cap = this.bytes.cap;
    this.filled = this.bytes.ptr + <usize>this.bytes.len;
  }
}
