// What one data callback sends on, as a list of byte ranges: ranges of the frames as they
// arrived (referred to, not copied: record sets stay where the host copy put them) and the few
// bytes the filter made (size prefixes, renamed names, answers). The network layer hands the
// ranges to the host one by one; nothing here allocates once the buffers reach their working size.
import { ByteBuffer } from "./byte_buffer";

const SEGMENT_BYTES = 12; // start (a pointer, or an offset in `made`), length, in `made` or not

export class Gather {
  // Bytes made for the output. Segments name them by offset: the buffer moves as it grows.
  private madeBytes: ByteBuffer = new ByteBuffer();
  private segments: ByteBuffer = new ByteBuffer();
  // Where the last segment ends when it was referred to (0 otherwise).
  private referredEnd: usize = 0;

  clear(): void {
    this.madeBytes.clear();
    this.segments.clear();
    this.referredEnd = 0;
  }

  // Empties it, and gives back what a large output grew it to.
  trim(): void {
    this.referredEnd = 0;
    this.madeBytes.trim();
    this.segments.trim();
  }

  // Frees the buffers (off the GC heap) when their connection ends.
  release(): void {
    this.madeBytes.release();
    this.segments.release();
    this.referredEnd = 0;
  }

  get count(): i32 {
    return this.segments.len / SEGMENT_BYTES;
  }

  // Sends `len` bytes at `ptr` as they are; they must stay where they are until sent.
  refer(ptr: usize, len: i32): void {
    if (len <= 0) return;
    // Ranges that continue the last one (frames one after another) are one segment.
    if (this.referredEnd == ptr) {
      const at = this.segments.ptr + <usize>(this.segments.len - SEGMENT_BYTES + 4);
      store<i32>(at, load<i32>(at) + len);
    } else {
      this.add(<i32>ptr, len, false);
    }
    this.referredEnd = ptr + <usize>len;
  }

  // Where new bytes are written (with the writers): `mark()` before, `took(mark)` after.
  get made(): ByteBuffer {
    return this.madeBytes;
  }

  mark(): i32 {
    return this.madeBytes.len;
  }

  // Sends the bytes written to `made` since `mark`.
  took(mark: i32): void {
    if (this.madeBytes.len > mark) this.add(mark, this.madeBytes.len - mark, true);
  }

  // Sends a copy of `len` bytes at `ptr`.
  copy(ptr: usize, len: i32): void {
    const mark = this.mark();
    this.madeBytes.append(ptr, len);
    this.took(mark);
  }

  // Overwrites the big-endian int32 sent at `at` (a size known only later).
  setInt32(at: i32, v: i32): void {
    store<i32>(this.madeBytes.ptr + <usize>at, bswap<i32>(v));
  }

  ptrAt(i: i32): usize {
    const start = <usize>this.field(i, 0);
    return this.isMade(i) ? this.madeBytes.ptr + start : start;
  }

  lenAt(i: i32): i32 {
    return this.field(i, 1);
  }

  // All segments, in order, as one copy.
  writeTo(out: ByteBuffer): void {
    const n = this.count;
    for (let i = 0; i < n; i++) out.append(this.ptrAt(i), this.lenAt(i));
  }

  private add(start: i32, len: i32, made: bool): void {
    const p = this.segments.reserve(SEGMENT_BYTES);
    store<i32>(p, start);
    store<i32>(p, len, 4);
    store<i32>(p, made ? 1 : 0, 8);
    this.segments.len += SEGMENT_BYTES;
    this.referredEnd = 0;
  }

  @inline isMadeAt(i: i32): bool {
    return this.isMade(i);
  }

  @inline private isMade(i: i32): bool {
    return this.field(i, 2) != 0;
  }

  @inline private field(i: i32, c: i32): i32 {
    return load<i32>(this.segments.ptr + <usize>(i * SEGMENT_BYTES + c * 4));
  }
}
