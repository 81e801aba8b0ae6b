// The module is built with AssemblyScript's minimal runtime: no shadow stack (the incremental
// runtime's bookkeeping of every managed reference a function holds, which cost most of the
// per-frame time and a third of the module), and no collection unless asked. network.ts asks as
// each outermost host callback ends: then no managed reference lives on the wasm stack, and
// whatever the module keeps is reachable from its globals (the context tables). A callback the
// host makes while another runs (a close during a data callback, an allocation) only counts.
//
// Garbage left between large buffers keeps their holes from merging when they are freed or
// moved, and the allocator then grows memory for the next large frame (doubling it): a callback
// that resized a buffer past KEEP_BYTES collects as it ends.
//
// What a callback allocates comes from the bytes it read from the host (a client id becomes a
// principal's name, a refused request an answer): a collection follows every 256 KiB read (more
// with many connections), so garbage stays a bounded multiple of that whatever the traffic (a
// client naming itself anew in every request, say). Before that, it follows work in proportion
// to the live heap, which a collection marks whole (mostly the open connections' objects):
// amortized, a constant cost per callback, per close and per byte read.
import { BufferBudget } from "../kafka/byte_buffer";
import { bytesReadTotal } from "./host_memory";

const MIN_CALLBACKS = 1024;
const CALLBACKS_PER_CONNECTION = 8;
// At most this fraction (1/8) of the live connections may be closed and not yet collected.
const CLOSED_SHIFT = 3;
const MIN_BYTES_READ: u64 = 1 << 18;
const BYTES_READ_PER_CONNECTION: u64 = 256;

let depth = 0;
let callbacks = 0;
let closed = 0;
// Linear memory's size at the last collection: a callback that grew it collects as it ends.
let pagesAtCollect: i32 = -1;
let largeResizesAtCollect: u32 = 0;
let bytesReadAtCollect: u64 = 0;

export function enterCallback(): void {
  depth++;
}

// A connection left the context table: its objects are garbage now.
export function connectionGone(): void {
  closed++;
}

// `live`: the connections open now.
export function leaveCallback(live: i32): void {
  if (--depth > 0) return;
  callbacks++;
  const pages = memory.size();
  const resizes = BufferBudget.largeResizes;
  const read = bytesReadTotal;
  if (pages == pagesAtCollect && resizes == largeResizesAtCollect && callbacks < MIN_CALLBACKS + CALLBACKS_PER_CONNECTION * live &&
    closed <= live >> CLOSED_SHIFT && read - bytesReadAtCollect < MIN_BYTES_READ + BYTES_READ_PER_CONNECTION * <u64>live) return;
  callbacks = 0;
  closed = 0;
  __collect();
  pagesAtCollect = memory.size();
  largeResizesAtCollect = resizes;
  bytesReadAtCollect = read;
}
