// Where a walk reads a frame from when the frame is not wholly in memory: an image of it that
// the source fills as the walk needs bytes, with record sets left out (they stay in the host's
// buffer; the walk only learns their length). The network layer implements it over Envoy's
// buffers (proxy/frame_image.ts); the codec only sees this interface.
import { BatchSummary } from "./record_batches";

export abstract class WalkSource {
  // Where the image starts and where the bytes in it end.
  ptr: usize = 0;
  filled: usize = 0;
  cap: i32 = 0;
  // The record count of the record set skip() last took (its batch headers), for the visitor.
  lastRecords: i64 = 0;
  // The batch headers of that record set, summed up (only when a stage checks them:
  // FrameImage.summarizing).
  readonly lastSummary: BatchSummary = new BatchSummary();

  holds(p: usize): bool {
    return p >= this.ptr && p < this.ptr + <usize>this.cap;
  }

  // Copies `len` bytes at `offset` of the record set skip() last took to `dest`; false when they
  // are not all there.
  readSkipped(offset: i32, len: i32, dest: usize): bool {
    return false;
  }

  // Called as every walk of the image starts.
  abstract rewind(): void;

  // Makes the image hold the bytes up to `to`; false when they are not there yet.
  abstract extend(to: usize): bool;

  // A record set of `len` bytes follows the image byte at `at`: the image goes on with the
  // bytes after it. False when the walk must wait (its end has not arrived).
  abstract skip(at: usize, len: i32): bool;
}
