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
  if (id >= 0) proxy_increment_metric(<u32>id, n);
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
    proxy_increment_metric(this.metric_id, <i64>offset);
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
