// The floor of any Kafka-aware Proxy-Wasm network filter in stock Envoy (the bench's `wasm framer`
// scenario): a module that finds every Kafka frame in both directions and does nothing else. At a
// frame's start it reads a window of up to 256 bytes (one proxy_get_buffer_bytes, into memory its
// `malloc` hands out ready, as the filter's reads do) unless the window read before in the same
// callback already holds the frame's size; then it skips the frame by that size, across
// callbacks. A filter that decides on requests must learn at least where each one starts, so it
// makes at least these reads: Envoy's fixed price per read (README: Benchmarks) plus the cost of
// calling into Wasm at all (the no-op module) is what no such filter goes under.
import { DOWNSTREAM, UPSTREAM, arm, defineCounter, getBufferBytes, incrementMetric, readWindow } from "./yardstick_abi";

const WINDOW: u32 = 256;
const ptrOut = memory.data(8);
const sizeOut = memory.data(8);

// One direction of a connection: bytes of the current frame still to skip, and a frame size
// whose four bytes straddle callbacks.
class Direction {
  remaining: u64 = 0;
  headBytes: i32 = 0;
  head: u32 = 0;
}
class Connection {
  requests: Direction = new Direction();
  responses: Direction = new Direction();
}
const connections = new Map<u32, Connection>();

// Counted every 64th, so that counting costs the bench next to nothing.
let reads: u32 = 0;
let frames: u32 = 0;
let readsMetric: u32 = 0;
let framesMetric: u32 = 0;

function frame(d: Direction, buffer: u32, size: u32): void {
  let pos: u32 = 0;
  // The window read in this callback: [winStart, winEnd) of the buffer, at `readWindow`.
  let winStart: u32 = 0;
  let winEnd: u32 = 0;
  while (pos < size) {
    if (d.remaining > 0) {
      const step = <u32>min<u64>(d.remaining, <u64>(size - pos));
      pos += step;
      d.remaining -= step;
      continue;
    }
    if (pos >= winEnd) {
      const len = min<u32>(WINDOW, size - pos);
      arm();
      if (getBufferBytes(buffer, pos, len, ptrOut, sizeOut) != 0) return;
      if ((++reads & 63) == 0) incrementMetric(readsMetric, 1);
      winStart = pos;
      winEnd = pos + load<u32>(sizeOut);
    }
    while (d.headBytes < 4 && pos < winEnd) {
      d.head = (d.head << 8) | <u32>load<u8>(readWindow + pos - winStart);
      d.headBytes++;
      pos++;
    }
    if (d.headBytes == 4) {
      d.remaining = <u64>d.head;
      d.headBytes = 0;
      d.head = 0;
      if ((++frames & 63) == 0) incrementMetric(framesMetric, 1);
    }
  }
}

export function proxy_abi_version_0_2_0(): void {}
export function proxy_on_vm_start(root: u32, size: u32): u32 { return 1; }
export function proxy_validate_configuration(root: u32, size: u32): u32 { return 1; }
export function proxy_on_configure(root: u32, size: u32): u32 {
  readsMetric = defineCounter("kafka_proxy.framer_reads_x64");
  framesMetric = defineCounter("kafka_proxy.framer_frames_x64");
  return 1;
}
export function proxy_on_context_create(context: u32, root: u32): void {}
export function proxy_on_new_connection(context: u32): u32 {
  connections.set(context, new Connection());
  return 0;
}
export function proxy_on_downstream_data(context: u32, size: u32, end: u32): u32 {
  if (connections.has(context)) frame(connections.get(context).requests, DOWNSTREAM, size);
  return 0;
}
export function proxy_on_upstream_data(context: u32, size: u32, end: u32): u32 {
  if (connections.has(context)) frame(connections.get(context).responses, UPSTREAM, size);
  return 0;
}
export function proxy_on_downstream_connection_close(context: u32, peer: u32): void {}
export function proxy_on_upstream_connection_close(context: u32, peer: u32): void {}
export function proxy_on_done(context: u32): u32 { return 1; }
export function proxy_on_log(context: u32): void {}
// The stub runtime never frees: a connection's few dozen bytes stay, which a bench's handful of
// connections does not notice.
export function proxy_on_delete(context: u32): void { connections.delete(context); }
export function proxy_on_tick(root: u32): void {}
export { allocate as malloc, allocate as proxy_on_memory_allocate, release as free } from "./yardstick_abi";
