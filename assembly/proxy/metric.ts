// Host metrics without proxy-runtime's Metric classes, which throw (trap) when the host refuses
// a definition: here a refused metric is simply not updated.
import { define_metric, increment_metric, record_metric, MetricTypeValues } from "@solo-io/proxy-runtime/assembly/runtime";
import { WasmResultValues } from "@solo-io/proxy-runtime/assembly/runtime";

// A metric id, or -1 when the host refused it. (Envoy's first counter id is 0.)
export type MetricId = i64;

function define(type: MetricTypeValues, name: string): MetricId {
  const r = define_metric(type, name);
  return r.result == WasmResultValues.Ok ? <i64>r.metric_id : -1;
}

export function defineCounter(name: string): MetricId {
  return define(MetricTypeValues.Counter, name);
}

export function defineHistogram(name: string): MetricId {
  return define(MetricTypeValues.Histogram, name);
}

@inline export function add(id: MetricId, n: i64): void {
  if (id >= 0) increment_metric(<u32>id, n);
}

@inline export function recordValue(id: MetricId, value: u64): void {
  if (id >= 0) record_metric(<u32>id, value);
}
