// Counters of the network layer itself: what it had to refuse and why.
import { Counter, Gauge } from "@solo-io/proxy-runtime/assembly/index";

export class ProxyCounters {
  activeConnections: Gauge = new Gauge("kafka_proxy.connections_active");
  // The module's linear memory (it only grows), set as connections come and go and every few
  // seconds (filters/kafka_proxy.ts): the benchmark and soak runs read it to see that memory
  // stays flat. With several Envoy workers it shows the latest sample of any worker's VM.
  wasmMemory: Gauge = new Gauge("kafka_proxy.wasm_memory_bytes");
  // Frames that passed every check and were forwarded.
  requestsForwarded: Counter = new Counter("kafka_proxy.requests_forwarded");
  responsesForwarded: Counter = new Counter("kafka_proxy.responses_forwarded");
  protocolCloses: Counter = new Counter("kafka_proxy.connections_closed_protocol_error");
  requestsMalformed: Counter = new Counter("kafka_proxy.requests_malformed");
  responsesMalformed: Counter = new Counter("kafka_proxy.responses_malformed");
  requestsUnsupported: Counter = new Counter("kafka_proxy.requests_unsupported_version");
  // ApiVersions requests of a version the filter does not allow, answered by it (KIP-511).
  apiVersionsAnswered: Counter = new Counter("kafka_proxy.api_versions_answered_unsupported");
  // Requests with bytes after their message, which the broker ignores (and the filter strips).
  requestsTrailingBytes: Counter = new Counter("kafka_proxy.requests_trailing_bytes");
  requestsOversized: Counter = new Counter("kafka_proxy.requests_oversized");
  responsesOversized: Counter = new Counter("kafka_proxy.responses_oversized");
  // Connections closed for what they would make the filter hold: buffers past
  // max_buffered_bytes (all connections of the VM together), more than max_in_flight_requests.
  overMemoryBudget: Counter = new Counter("kafka_proxy.frames_over_memory_budget");

  sampleMemory(): void {
    this.wasmMemory.record(this.wasmMemory.metric_id, <u64>memory.size() << 16);
  }

  malformed(isRequest: bool): Counter {
    return isRequest ? this.requestsMalformed : this.responsesMalformed;
  }

  oversized(isRequest: bool): Counter {
    return isRequest ? this.requestsOversized : this.responsesOversized;
  }
}
