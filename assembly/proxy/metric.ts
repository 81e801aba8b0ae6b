// Host metrics over the ABI (abi.ts).
import { proxy_define_metric, proxy_increment_metric, proxy_record_metric, Status } from "./abi";

const enum MetricType {
  Counter = 0,
  Gauge = 1,
  Histogram = 2,
}

const idOut = memory.data(4);

// A metric id, or -1 when the host refused it. (Envoy's first counter id is 0.)
export type MetricId = i64;

function define(type: MetricType, name: string): MetricId {
  const b = String.UTF8.encode(name);
  return proxy_define_metric(type, changetype<usize>(b), <u32>b.byteLength, idOut) == Status.Ok ? <i64>load<u32>(idOut) : -1;
}

// These two leave a refused metric not updated.
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
  if (id < 0) throw new Error("can't define metric");
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
