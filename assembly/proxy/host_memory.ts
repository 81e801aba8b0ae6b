// Memory the host writes into when it hands us bytes (proxy_get_buffer_bytes).
//
// The ABI makes the host call back into the module to allocate the destination of every copy.
// Allocating a fresh ArrayBuffer per Kafka frame would put the GC on the hot path, so a caller
// that already owns a destination "arms" it: the next allocation request returns that address.
// Every other allocation (configuration, properties) falls through to a pinned ArrayBuffer that
// the runtime releases through its `free`. Envoy calls the module's `malloc` export when it has
// one (proxy-wasm-cpp-host), so that name is this allocator too (filters/kafka_proxy.ts): while
// it was proxy-runtime's, every read in Envoy allocated a block, copied out of it and freed it.

import { malloc, free } from "@solo-io/proxy-runtime/assembly/malloc";
import { proxy_get_buffer_bytes, proxy_get_property, proxy_set_buffer_bytes, Status } from "./abi";
export { BufferType } from "./abi";

let armedPtr: usize = 0;

// Bytes the module copied out of and into the host's data buffers since the last flush
// (ProxyCounters.flushAbiBytes): every copy across the ABI is counted, so the copy ratio
// (copied / forwarded) is visible in every run.
export let abiBytesRead: u32 = 0;
export let abiBytesWritten: u32 = 0;
// Bytes copied in from the host, ever: what the module allocates per frame comes from what it
// read (names, client ids, answers), so garbage collection is paced by it (gc.ts).
export let bytesReadTotal: u64 = 0;

export function takeAbiBytes(): void {
  abiBytesRead = 0;
  abiBytesWritten = 0;
}
let armedCap: usize = 0;

// Scratch words the host writes the returned pointer and size into.
const outPtr = memory.data(8);
const outSize = memory.data(8);

export function proxy_on_memory_allocate(size: usize): usize {
  if (armedPtr != 0 && size <= armedCap) {
    const p = armedPtr;
    armedPtr = 0;
    return p;
  }
  return malloc(<i32>size);
}

// A window of this callback's host buffer, read at a frame's start (prefetch): the frame's
// header, its structure up to the first record set and that set's first batch header usually
// fit in it, so the reads that the walk, the record counter and an edit make next are served
// from memory. A proxy_get_buffer_bytes costs Envoy about a microsecond whatever its size (it
// calls back into the module to allocate the destination): fewer calls, not fewer bytes, is
// what the hot path wants. Valid until the module edits the host buffer or the callback ends.
// A window read takes up to WINDOW_CAP bytes; a frame's start is served by it when its first
// WINDOW_USEFUL bytes (or all of a smaller frame) are in it. The difference lets a window read
// at a frame's last bytes (copyAhead) serve the start of the frame after it.
const WINDOW_CAP: u32 = 256;
const WINDOW_USEFUL: u32 = 128;
const window = memory.data(<i32>WINDOW_CAP);
let windowBuffer: u32 = 0;
let windowStart: u32 = 0;
let windowLen: u32 = 0;

// At every data callback's start and end: the host buffer is another one.
export function forgetWindow(): void {
  windowLen = 0;
}

// Reads the window at `start` of a host buffer (up to `avail` bytes, the most the caller knows
// are there), unless the `need` bytes there, or as many as a window holds, are in it already.
export function prefetch(buffer: u32, start: u32, need: u32, avail: u32): void {
  const want = min(need, WINDOW_USEFUL);
  if (windowLen > 0 && buffer == windowBuffer && start >= windowStart && start + want <= windowStart + windowLen) return;
  windowLen = 0;
  const got = hostRead(buffer, start, min(avail, WINDOW_CAP), window);
  if (got <= 0) return;
  windowBuffer = buffer;
  windowStart = start;
  windowLen = <u32>got;
}

// Copies up to `len` bytes at `start` of a host buffer to `dest` (which has room for `len`):
// what the window holds from memory, the rest from the host. Returns the number of bytes copied,
// or -1 when the host refused.
export function copyFromHost(buffer: u32, start: u32, len: u32, dest: usize): i32 {
  if (len == 0) return 0;
  if (windowLen > 0 && buffer == windowBuffer && start >= windowStart && start < windowStart + windowLen) {
    const n = min(len, windowStart + windowLen - start);
    memory.copy(dest, window + <usize>(start - windowStart), n);
    if (n == len) return <i32>len;
    const more = hostRead(buffer, start + n, len - n, dest + <usize>n);
    return more < 0 ? -1 : <i32>n + more;
  }
  return hostRead(buffer, start, len, dest);
}

// copyFromHost for a read that may be the last of a frame (what follows its last record set,
// a batch header): one the window does not serve takes a whole window from `start` (of the
// `avail` bytes the host buffer holds from there) when `len` fits in one, so that the next
// frame's start, usually right behind it in the same callback, costs no read of its own.
export function copyAhead(buffer: u32, start: u32, len: u32, dest: usize, avail: u32): i32 {
  if (len <= WINDOW_CAP && avail > len) prefetch(buffer, start, len, avail);
  return copyFromHost(buffer, start, len, dest);
}

function hostRead(buffer: u32, start: u32, len: u32, dest: usize): i32 {
  armedPtr = dest;
  armedCap = len;
  // Envoy leaves these unwritten when nothing is left to copy.
  store<usize>(outPtr, 0);
  store<usize>(outSize, 0);
  const status = proxy_get_buffer_bytes(buffer, start, len, outPtr, outSize);
  const wasArmed = armedPtr == 0;
  armedPtr = 0;
  if (status != Status.Ok) return -1;
  const got = <u32>load<usize>(outSize);
  const at = load<usize>(outPtr);
  abiBytesRead += got;
  bytesReadTotal += got;
  // Envoy skips the allocation for an empty result; a copy that did not land in the armed
  // destination came from malloc and is moved over and released.
  if (got == 0) return 0;
  if (!wasArmed || at != dest) {
    memory.copy(dest, at, got);
    free(at);
  }
  return <i32>got;
}

// Replaces the first `drain` bytes of a host buffer with `len` bytes at `ptr` (start 0), or
// appends them (start at or past the end): the only two edits Envoy allows.
export function writeToHost(buffer: u32, start: u32, drain: u32, ptr: usize, len: u32): void {
  windowLen = 0;
  abiBytesWritten += len;
  proxy_set_buffer_bytes(buffer, start, drain, ptr, len);
}

// A whole host buffer as a new ArrayBuffer: for the rare, cold reads (configuration), which are
// no data-path copies and stay out of abi_bytes_read.
export function readHostBuffer(buffer: u32, size: u32): ArrayBuffer {
  const out = new ArrayBuffer(<i32>size);
  const counted = abiBytesRead;
  const got = copyFromHost(buffer, 0, size, changetype<usize>(out));
  abiBytesRead = counted;
  return got == <i32>size ? out : new ArrayBuffer(0);
}

// A connection property (`path`: its segments joined by NUL, as the ABI wants), or null when the
// host has none (e.g. no client certificate). proxy-runtime's get_property aborts on NotFound.
export function readProperty(path: string): string | null {
  const p = String.UTF8.encode(path);
  const status = proxy_get_property(changetype<usize>(p), <u32>p.byteLength, outPtr, outSize);
  if (status != Status.Ok) return null;
  const size = <u32>load<usize>(outSize);
  const at = load<usize>(outPtr);
  if (size == 0) return "";
  const value = String.UTF8.decodeUnsafe(at, size);
  free(at);
  return value;
}
