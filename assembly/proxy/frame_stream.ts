// Reassembles one direction of a Kafka connection into whole frames (int32 size + body),
// whatever the TCP segmentation: a frame may arrive in many reads, a read may carry many frames.
import { ByteBuffer } from "../kafka/byte_buffer";
import { copyFromHost } from "./host_memory";

export const enum FrameError {
  // Returned by next() when the buffered bytes end inside a frame.
  Incomplete = 0,
  NegativeLength = -1,
  TooLarge = -2,
  HostRefused = -3,
}

export class FrameStream {
  readonly buf: ByteBuffer = new ByteBuffer();
  // Start of the first frame not yet handed out by next().
  scanned: i32 = 0;
  // Size field of the frame that failed the checks, for the log line.
  badSize: i32 = 0;

  constructor(public maxFrameBytes: i32) {}

  // Appends the host buffer's `size` new bytes straight into the reassembly buffer.
  pull(hostBuffer: u32, size: u32): bool {
    if (size == 0) return true;
    const dest = this.buf.reserve(<i32>size);
    const got = copyFromHost(hostBuffer, 0, size, dest);
    if (got != <i32>size) return false;
    this.buf.len += got;
    return true;
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

  // Forgets everything before `scanned`: those frames have been forwarded.
  compact(): void {
    this.buf.discard(this.scanned);
    this.scanned = 0;
  }

  reset(): void {
    this.buf.release();
    this.scanned = 0;
  }
}
