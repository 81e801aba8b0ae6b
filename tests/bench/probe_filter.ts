// What Envoy spends per Proxy-Wasm host call (host_calls.ts): on each downstream data callback
// this module makes `reads` proxy_get_buffer_bytes of `readLen` bytes, `increments`
// proxy_increment_metric and `clock` proxy_get_current_time_nanoseconds, as its configuration
// ("reads increments clock readLen") says, and nothing else. Upstream callbacks do nothing.
import { CONFIGURATION, DOWNSTREAM, arm, currentTime, defineCounter, getBufferBytes, incrementMetric } from "./yardstick_abi";

let reads: i32 = 0;
let increments: i32 = 0;
let clock: i32 = 0;
let readLen: u32 = 8;
let callbacks: u32 = 0;
let callbackMetric: u32 = 0;
let probeMetric: u32 = 0;
const ptrOut = memory.data(8);
const sizeOut = memory.data(8);

export function proxy_abi_version_0_2_0(): void {}
export function proxy_on_vm_start(root: u32, size: u32): u32 { return 1; }
export function proxy_validate_configuration(root: u32, size: u32): u32 { return 1; }
export function proxy_on_configure(root: u32, size: u32): u32 {
  if (getBufferBytes(CONFIGURATION, 0, size, ptrOut, sizeOut) == 0) {
    // The harness hands the configuration over as a JSON string: its quotes go.
    const text = String.UTF8.decodeUnsafe(load<usize>(ptrOut), load<u32>(sizeOut)).replaceAll("\"", "");
    const parts = text.split(" ");
    reads = I32.parseInt(parts[0]);
    increments = I32.parseInt(parts[1]);
    clock = I32.parseInt(parts[2]);
    readLen = <u32>I32.parseInt(parts[3]);
  }
  // Every 64th callback counted: the count costs the same in every variant.
  callbackMetric = defineCounter("kafka_proxy.probe_callbacks_x64");
  probeMetric = defineCounter("kafka_proxy.probe_increments");
  return 1;
}
export function proxy_on_context_create(context: u32, root: u32): void {}
export function proxy_on_new_connection(context: u32): u32 { return 0; }
export function proxy_on_downstream_data(context: u32, size: u32, end: u32): u32 {
  for (let i = 0; i < reads; i++) {
    arm();
    getBufferBytes(DOWNSTREAM, 0, readLen, ptrOut, sizeOut);
  }
  for (let i = 0; i < increments; i++) incrementMetric(probeMetric, 1);
  for (let i = 0; i < clock; i++) currentTime(ptrOut);
  if ((++callbacks & 63) == 0) incrementMetric(callbackMetric, 1);
  return 0;
}
export function proxy_on_upstream_data(context: u32, size: u32, end: u32): u32 { return 0; }
export function proxy_on_downstream_connection_close(context: u32, peer: u32): void {}
export function proxy_on_upstream_connection_close(context: u32, peer: u32): void {}
export function proxy_on_done(context: u32): u32 { return 1; }
export function proxy_on_log(context: u32): void {}
export function proxy_on_delete(context: u32): void {}
export function proxy_on_tick(root: u32): void {}
export { allocate as malloc, allocate as proxy_on_memory_allocate, release as free } from "./yardstick_abi";
