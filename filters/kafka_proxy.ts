// Entry point of the kafka-proxy-wasm module: one Envoy network filter whose stages (see
// pipeline.ts) are chosen by the JSON configuration.
import { RootContext, Context, registerRootContext, log, LogLevelValues } from "@solo-io/proxy-runtime/assembly/index";
import { parseConfig, FilterConfig } from "../assembly/policy/config";
import { KafkaConnection } from "../assembly/proxy/connection";
import { ProxyCounters } from "../assembly/proxy/counters";
import { readHostBuffer, BufferType } from "../assembly/proxy/host_memory";
import { Pipeline } from "./pipeline";
import { KafkaMetrics } from "./metrics";

export * from "@solo-io/proxy-runtime/assembly/proxy";
export * from "../assembly/proxy/network";
export { proxy_on_memory_allocate } from "../assembly/proxy/host_memory";

class KafkaProxyRoot extends RootContext {
  config: FilterConfig = new FilterConfig();
  counters: ProxyCounters | null = null;
  metrics: KafkaMetrics | null = null;

  // Replaces proxy-runtime's onConfigure, which passes the size where the host expects a
  // pointer and traps on an empty configuration.
  onConfigure(size: u32): bool {
    const text = String.UTF8.decode(readHostBuffer(BufferType.PluginConfiguration, size));
    const parsed = parseConfig(text);
    if (parsed.error.length > 0) {
      // Returning false makes Envoy reject the filter: better no listener than an unchecked one.
      log(LogLevelValues.error, "rejected configuration: " + parsed.error);
      return false;
    }
    this.config = parsed.config!;
    if (this.counters === null) this.counters = new ProxyCounters();
    // Envoy hands back the same metric for a name defined again, so counts carry on across
    // reconfiguration.
    this.metrics = this.config.metrics ? new KafkaMetrics(this.config.maxTopicLabels, this.config.maxClientLabels) : null;
    log(LogLevelValues.info, "configured");
    return true;
  }

  createContext(contextId: u32): Context {
    const c = this.config;
    return new KafkaConnection(contextId, this, new Pipeline(this.counters!, this.metrics), c.forward, c.maxRequestBytes,
      c.maxResponseBytes, this.counters!);
  }
}

function newRoot(contextId: u32): RootContext {
  return new KafkaProxyRoot(contextId);
}

// Envoy configs name the root id; Istio's WasmPlugin may leave it empty.
registerRootContext(newRoot, "kafka_proxy");
registerRootContext(newRoot, "");
