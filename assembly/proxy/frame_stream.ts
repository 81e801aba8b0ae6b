// Reassembles one direction of a Kafka connection into whole frames (int32 size + body),
// whatever the TCP segmentation: a frame may arrive in many reads, a read may carry many frames.
import { BufferBudget, ByteBuffer, KEEP_BYTES } from "../kafka/byte_buffer";
import { copyFromHost } from "./host_memory";

export const enum FrameError {
  // Returned by next() when the buffered bytes end inside a frame.
  Incomplete = 0,
  NegativeLength = -1,
  TooLarge = -2,
  HostRefused = -3,
  // Holding the bytes would take the VM's buffers past max_buffered_bytes.
  OverBudget = -4,
}

export class FrameStream {
  readonly buf: ByteBuffer = new ByteBuffer();
  // Start of the first frame not yet handed out by next().
  scanned: i32 = 0;
  // Size field of the frame that failed the checks, for the log line.
  badSize: i32 = 0;

  constructor(public maxFrameBytes: i32) {}

  // Appends `size` bytes from `start` of the host buffer straight into the reassembly buffer; 0, or a
  // FrameError when the host refused or the bytes do not fit in the VM's budget.
  pull(hostBuffer: u32, start: u32, size: u32): i32 {
    if (size == 0) return 0;
    const buf = this.buf;
    const need = buf.len + <i32>size;
    if (need > buf.cap) {
      // Once the unfinished frame at the start (after compact()) has shown its size, the buffer
      // takes the whole frame at once, as Kafka's memory pool does: no chain of copies for a
      // large frame, and buffers of frame sizes the allocator reuses as they come and go.
      let cap = ByteBuffer.grown(buf.cap, need);
      if (buf.len >= 4) {
        const frame = bswap<i32>(load<i32>(buf.ptr));
        if (<u32>frame <= <u32>this.maxFrameBytes) cap = max(cap, frame + 4);
      }
      if (!BufferBudget.allows(cap - buf.cap, cap > KEEP_BYTES)) return FrameError.OverBudget;
      buf.resize(cap);
    }
    const got = copyFromHost(hostBuffer, start, size, buf.ptr + <usize>buf.len);
    if (got != <i32>size) return FrameError.HostRefused;
    buf.len += got;
    return 0;
  }

  // The length (size prefix included) of the next whole frame at `scanned`, or a FrameError.
  next(): i32 {
    const avail = this.buf.len - this.scanned;
    if (avail < 4) return FrameError.Incomplete;
    const size = bswap<i32>(load<i32>(this.buf.ptr + <usize>this.scanned));
    if (size < 0) {
      this.badSize = size;
      return FrameError.NegativeLength;
    }
    if (size > this.maxFrameBytes) {
      this.badSize = size;
      return FrameError.TooLarge;
    }
    if (avail - 4 < size) return FrameError.Incomplete;
    return size + 4;
  }

  framePtr(): usize {
    return this.buf.ptr + <usize>this.scanned;
  }

  // Forgets everything before `scanned`: those frames have been forwarded. What a large frame
  // grew the buffer to goes back once it is done.
  compact(): void {
    this.buf.discard(this.scanned);
    this.scanned = 0;
    const buf = this.buf;
    if (buf.cap > KEEP_BYTES && buf.len <= KEEP_BYTES) buf.resize(KEEP_BYTES);
  }

  reset(): void {
    this.buf.release();
    this.scanned = 0;
  }
}
