// What the yardstick modules (probe_filter.ts, framer_filter.ts) share: the host calls they make,
// a counter's definition, and their allocator. Envoy allocates a read's copy through the module's
// `malloc` (through proxy_on_memory_allocate when there is none); after arm(), the next
// allocation is `readWindow`, as the filter's reads land in memory it already owns.
@external("env", "proxy_get_buffer_bytes")
export declare function getBufferBytes(type: u32, start: u32, len: u32, ptrOut: usize, sizeOut: usize): u32;
@external("env", "proxy_increment_metric")
export declare function incrementMetric(id: u32, delta: i64): u32;
@external("env", "proxy_define_metric")
declare function defineMetric(type: u32, name: usize, nameLen: u32, idOut: usize): u32;
@external("env", "proxy_get_current_time_nanoseconds")
export declare function currentTime(out: usize): u32;

export const DOWNSTREAM: u32 = 2;
export const UPSTREAM: u32 = 3;
export const CONFIGURATION: u32 = 7;
export const readWindow = memory.data(4096);
const idOut = memory.data(4);
let armed = false;

// A counter named `name`; its id.
export function defineCounter(name: string): u32 {
  const b = String.UTF8.encode(name);
  defineMetric(0, changetype<usize>(b), <u32>b.byteLength, idOut);
  return load<u32>(idOut);
}

export function arm(): void {
  armed = true;
}

export function allocate(size: usize): usize {
  if (armed) {
    armed = false;
    return readWindow;
  }
  return heap.alloc(size);
}

export function release(ptr: usize): void {
  if (ptr != readWindow) heap.free(ptr);
}
