// Host metrics over the ABI (abi.ts).
import { proxy_define_metric, proxy_increment_metric, proxy_record_metric, Status } from "./abi";
import { fail } from "./host";

const enum MetricType {
  Counter = 0,
  Gauge = 1,
  Histogram = 2,
}

const idOut = memory.data(4);

// A metric id, or -1 when the host refused it. (Envoy's first counter id is 0.)
export type MetricId = i64;

// Every metric's name starts with this (callers pass the rest): written here once rather than in
// every name the module carries.
const PREFIX_BYTES = memory.data<u8>([0x6b, 0x61, 0x66, 0x6b, 0x61, 0x5f, 0x70, 0x72, 0x6f, 0x78, 0x79, 0x2e]);

function define(type: MetricType, name: string): MetricId {
  const prefixLen: usize = 12;
  const size = prefixLen + <usize>String.UTF8.byteLength(name);
  const b = new ArrayBuffer(<i32>size);
  memory.copy(changetype<usize>(b), PREFIX_BYTES, prefixLen);
  String.UTF8.encodeUnsafe(changetype<usize>(name), name.length, changetype<usize>(b) + prefixLen);
  return proxy_define_metric(type, changetype<usize>(b), <u32>size, idOut) == Status.Ok ? <i64>load<u32>(idOut) : -1;
}

// Metric names are given without the `kafka_proxy.` prefix. These two leave a refused metric
// not updated.
export function defineCounter(name: string): MetricId {
  return define(MetricType.Counter, name);
}

export function defineHistogram(name: string): MetricId {
  return define(MetricType.Histogram, name);
}

@inline export function add(id: MetricId, n: i64): void {
  if (id >= 0) pendingAdd(<u32>id, n);
}

// Counter increments are summed here and handed to the host on the VM's tick (flushMetrics,
// every METRICS_FLUSH_MS): each proxy_increment_metric costs Envoy 0.04-0.17 µs
// (tests/bench/host_calls.ts), and a produce request with its response moves over a dozen
// counters. Summed, they cost a few table updates per frame and one host call per counter per
// tick. Envoy's stats show a count up to a tick late; a VM torn down between ticks loses less
// than a tick's worth.
export const METRICS_FLUSH_MS: u32 = 100;

// Open addressing by metric id: per slot the id + 1 (0: empty), a pending flag, the delta.
const SLOT = 16;
let slots: usize = 0;
let mask: u32 = 0;
let used: u32 = 0;
// Slots with a delta to hand over, in the order they got one.
let dirty: usize = 0;
let dirtyCount: u32 = 0;

function pendingAdd(id: u32, n: i64): void {
  if (n == 0) return;
  if (slots == 0 || (used + 1) * 2 > mask + 1) grow();
  let i = (id * 0x9e3779b1) & mask;
  let p: usize;
  while (true) {
    p = slots + <usize>i * SLOT;
    const key = load<u32>(p);
    if (key == id + 1) break;
    if (key == 0) {
      store<u32>(p, id + 1);
      used++;
      break;
    }
    i = (i + 1) & mask;
  }
  if (load<u32>(p, 4) == 0) {
    store<u32>(p, 1, 4);
    store<u32>(dirty + <usize>dirtyCount * 4, i);
    dirtyCount++;
  }
  store<i64>(p, load<i64>(p, 8) + n, 8);
}

// Hands every pending delta to the host.
export function flushMetrics(): void {
  for (let d: u32 = 0; d < dirtyCount; d++) {
    const p = slots + <usize>load<u32>(dirty + <usize>d * 4) * SLOT;
    proxy_increment_metric(load<u32>(p) - 1, load<i64>(p, 8));
    store<u32>(p, 0, 4);
    store<i64>(p, 0, 8);
  }
  dirtyCount = 0;
}

// Twice the places (the deltas so far handed over first, so only ids move).
function grow(): void {
  flushMetrics();
  const oldSlots = slots;
  const oldCap: u32 = slots == 0 ? 0 : mask + 1;
  const cap: u32 = oldCap == 0 ? 256 : oldCap * 2;
  slots = heap.alloc(<usize>cap * SLOT);
  memory.fill(slots, 0, <usize>cap * SLOT);
  if (dirty != 0) heap.free(dirty);
  dirty = heap.alloc(<usize>cap * 4);
  mask = cap - 1;
  used = 0;
  for (let i: u32 = 0; i < oldCap; i++) {
    const key = load<u32>(oldSlots + <usize>i * SLOT);
    if (key == 0) continue;
    let j = ((key - 1) * 0x9e3779b1) & mask;
    while (load<u32>(slots + <usize>j * SLOT) != 0) j = (j + 1) & mask;
    store<u32>(slots + <usize>j * SLOT, key);
    used++;
  }
  if (oldSlots != 0) heap.free(oldSlots);
}

@inline export function recordValue(id: MetricId, value: u64): void {
  if (id >= 0) proxy_record_metric(<u32>id, value);
}

// A metric the module cannot do without: a refused definition traps (as proxy-runtime's Metric did).
function required(type: MetricType, name: string): u32 {
  const id = define(type, name);
  if (id < 0) fail("host call failed");
  return <u32>id;
}

export class Counter {
  metric_id: u32;
  constructor(name: string) {
    this.metric_id = required(MetricType.Counter, name);
  }
  increment(offset: u32): void {
    pendingAdd(this.metric_id, <i64>offset);
  }
}

export class Gauge {
  metric_id: u32;
  constructor(name: string) {
    this.metric_id = required(MetricType.Gauge, name);
  }
  increment(offset: i64): void {
    proxy_increment_metric(this.metric_id, offset);
  }
  record(value: u64): void {
    proxy_record_metric(this.metric_id, value);
  }
}
