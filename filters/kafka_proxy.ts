// Entry point of the kafka-proxy-wasm module: one Envoy network filter whose stages (see
// pipeline.ts) are chosen by the JSON configuration.
import { parseConfig, FilterConfig } from "../assembly/policy/config";
import { KafkaConnection, resumeMuted } from "../assembly/proxy/connection";
import { ProxyCounters } from "../assembly/proxy/proxy_counters";
import { readHostBuffer, BufferType } from "../assembly/proxy/host_memory";
import { log, LogLevel, setTickPeriod } from "../assembly/proxy/host";
import { NetworkContext, NetworkRoot } from "../assembly/proxy/network_context";
import { registerRootContext } from "../assembly/proxy/network";
import { METRICS_FLUSH_MS } from "../assembly/proxy/host_metrics";
import { Pipeline, VmState } from "./pipeline";
import { BufferBudget } from "../assembly/kafka/byte_buffer";

// The lifecycle and TCP callbacks (assembly/proxy/network.ts); no HTTP, gRPC, queue or
// foreign-function callbacks (Envoy never calls them on a network filter).
export {
  proxy_abi_version_0_2_0, proxy_on_vm_start, proxy_validate_configuration, proxy_on_configure, proxy_on_tick,
  proxy_on_context_create, proxy_on_done, proxy_on_log, proxy_on_delete, proxy_on_new_connection,
  proxy_on_downstream_data, proxy_on_upstream_data, proxy_on_downstream_connection_close,
  proxy_on_upstream_connection_close,
} from "../assembly/proxy/network";
// Envoy (proxy-wasm-cpp-host) allocates every copy it hands over through an export named
// `malloc` when there is one, proxy_on_memory_allocate only otherwise: both are the allocator
// that returns the destination a read armed (host_memory.ts). No `free`: Envoy never calls it.
export { proxy_on_memory_allocate, proxy_on_memory_allocate as malloc } from "../assembly/proxy/host_memory";

const MEMORY_SAMPLE_MS: u32 = 5000;

class KafkaProxyRoot extends NetworkRoot {
  config: FilterConfig = new FilterConfig();
  shared: VmState | null = null;

  // (proxy-runtime's onConfigure passed the size where the host expects a pointer and trapped
  // on an empty configuration.)
  onConfigure(size: u32): bool {
    const text = String.UTF8.decode(readHostBuffer(BufferType.PluginConfiguration, size));
    const parsed = parseConfig(text);
    if (parsed.error.length > 0) {
      // Returning false makes Envoy reject the filter: better no listener than an unchecked one.
      log(LogLevel.Error, "rejected configuration: " + parsed.error);
      return false;
    }
    const c = parsed.config!;
    this.config = c;
    BufferBudget.limit = c.maxBufferedBytes;
    // Envoy hands back the same metric for a name defined again, so counts carry on across
    // reconfiguration; topic ids learned so far stay valid.
    const previous = this.shared;
    const shared = VmState.of(c, previous !== null ? previous.counters : new ProxyCounters());
    if (previous !== null) shared.topicIds = previous.topicIds;
    this.shared = shared;
    shared.counters.sampleMemory();
    // Counters reach the host on ticks (assembly/proxy/host_metrics.ts); the memory gauge is sampled
    // every few seconds, as long-lived connections would leave it stale.
    setTickPeriod(METRICS_FLUSH_MS);
    log(LogLevel.Info, "configured");
    return true;
  }

  // Only a worker's VM carries connections; Envoy's main-thread VM must not overwrite the gauge
  // with its own (small) memory.
  onTick(): void {
    resumeMuted();
    if (++this.ticks < MEMORY_SAMPLE_MS / METRICS_FLUSH_MS) return;
    this.ticks = 0;
    if (this.shared !== null && this.hasConnections) this.shared!.counters.sampleMemory();
  }

  private ticks: u32 = 0;

  private hasConnections: bool = false;

  createContext(contextId: u32): NetworkContext {
    this.hasConnections = true;
    const c = this.config;
    const shared = this.shared!;
    const pipeline = new Pipeline(shared);
    pipeline.connectionId = contextId;
    return new KafkaConnection(contextId, pipeline, c.forward, c.maxRequestBytes, c.maxResponseBytes,
      c.maxInFlight, c.maxHeldBytes, shared.counters);
  }
}

function newRoot(contextId: u32): NetworkRoot {
  return new KafkaProxyRoot();
}

// Envoy configs name the root id; Istio's WasmPlugin may leave it empty.
registerRootContext(newRoot, ["kafka_proxy", ""]);
