// What one data callback leaves in Envoy's buffer, built as a list of segments: ranges of the
// buffer as it arrived (offsets, not copied) and bytes the filter made (new size prefixes,
// renamed names, answers). Envoy lets a filter only replace the first bytes of its buffer (or
// append), so emit() writes back, as one copy, everything before the last run of untouched
// bytes: an edit near the start of a frame costs a few bytes, the record sets after it stay in
// Envoy. Nothing allocates once the buffers have reached their working size.
import { ByteBuffer } from "../kafka/byte_buffer";
import { copyFromHost, writeToHost } from "./host_memory";

const SEGMENT_BYTES = 12; // start (host offset, or offset in `made`), length, made or not

export class HostOutput {
  readonly made: ByteBuffer = new ByteBuffer();
  private segments: ByteBuffer = new ByteBuffer();
  private scratch: ByteBuffer = new ByteBuffer();
  // End of the last segment when it is a host range (-1 otherwise), to merge adjacent ranges.
  private hostEnd: i32 = -1;

  clear(): void {
    this.made.clear();
    this.segments.clear();
    this.hostEnd = -1;
  }

  get count(): i32 {
    return this.segments.len / SEGMENT_BYTES;
  }

  // Leaves bytes [from, to) of the host buffer as they are.
  host(from: i32, to: i32): void {
    if (to <= from) return;
    if (this.hostEnd == from) {
      const at = this.segments.ptr + <usize>(this.segments.len - SEGMENT_BYTES + 4);
      store<i32>(at, load<i32>(at) + to - from);
    } else {
      this.add(from, to - from, false);
    }
    this.hostEnd = to;
  }

  // Segment `i` as a range of the host buffer (made segments: an empty range at -1).
  hostStartAt(i: i32): i32 {
    return this.isMade(i) ? -1 : this.field(i, 0);
  }

  hostEndAt(i: i32): i32 {
    return this.isMade(i) ? -1 : this.field(i, 0) + this.field(i, 1);
  }

  mark(): i32 {
    return this.made.len;
  }

  // Sends the bytes written to `made` since `mark`.
  took(mark: i32): void {
    if (this.made.len > mark) this.add(mark, this.made.len - mark, true);
  }

  // Writes the output for the first `end` bytes of the host buffer (the rest stays as it is);
  // returns the length the output has there.
  emit(hostBuffer: u32, end: i32): i32 {
    let n = this.count;
    // The untouched run at the end stays where it is.
    let keepFrom = end;
    if (n > 0 && !this.isMade(n - 1) && this.field(n - 1, 0) + this.field(n - 1, 1) == end) {
      keepFrom = this.field(n - 1, 0);
      n--;
    }
    if (n == 0) {
      if (keepFrom > 0) writeToHost(hostBuffer, 0, keepFrom, 0, 0);
      return end - keepFrom;
    }
    const out = this.scratch;
    out.clear();
    for (let i = 0; i < n; i++) {
      const start = this.field(i, 0);
      const len = this.field(i, 1);
      if (this.isMade(i)) {
        out.append(this.made.ptr + <usize>start, len);
      } else {
        copyFromHost(hostBuffer, <u32>start, <u32>len, out.reserve(len));
        out.len += len;
      }
    }
    writeToHost(hostBuffer, 0, keepFrom, out.ptr, <u32>out.len);
    return out.len + end - keepFrom;
  }

  // Gives back what a large output grew the buffers to.
  trim(): void {
    this.hostEnd = -1;
    this.made.trim();
    this.segments.trim();
    this.scratch.trim();
  }

  private add(start: i32, len: i32, made: bool): void {
    const p = this.segments.reserve(SEGMENT_BYTES);
    store<i32>(p, start);
    store<i32>(p, len, 4);
    store<i32>(p, made ? 1 : 0, 8);
    this.segments.len += SEGMENT_BYTES;
    this.hostEnd = -1;
  }

  @inline private isMade(i: i32): bool {
    return this.field(i, 2) != 0;
  }

  @inline private field(i: i32, c: i32): i32 {
    return load<i32>(this.segments.ptr + <usize>(i * SEGMENT_BYTES + c * 4));
  }
}
