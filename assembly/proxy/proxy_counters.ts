// Counters of the network layer itself: what it had to refuse and why.
import { Counter, Gauge } from "./host_metrics";
import { abiBytesRead, abiBytesWritten, takeAbiBytes } from "./host_memory";

export class ProxyCounters {
  activeConnections: Gauge = new Gauge("connections_active");
  // The module's linear memory (it only grows), set as connections come and go and every few
  // seconds (filters/kafka_proxy.ts): the benchmark and soak runs read it to see that memory
  // stays flat. With several Envoy workers it shows the latest sample of any worker's VM.
  wasmMemory: Gauge = new Gauge("wasm_memory_bytes");
  // Frames that passed every check and were forwarded.
  requestsForwarded: Counter = new Counter("requests_forwarded");
  responsesForwarded: Counter = new Counter("responses_forwarded");
  protocolCloses: Counter = new Counter("connections_closed_protocol_error");
  requestsMalformed: Counter = new Counter("requests_malformed");
  responsesMalformed: Counter = new Counter("responses_malformed");
  requestsUnsupported: Counter = new Counter("requests_unsupported_version");
  // ApiVersions requests of a version the filter does not allow, answered by it (KIP-511).
  apiVersionsAnswered: Counter = new Counter("api_versions_answered_unsupported");
  // Requests with bytes after their message, which the broker ignores (and the filter strips).
  requestsTrailingBytes: Counter = new Counter("requests_trailing_bytes");
  requestsOversized: Counter = new Counter("requests_oversized");
  responsesOversized: Counter = new Counter("responses_oversized");
  // Connections closed for what they would make the filter hold: buffers past
  // max_buffered_bytes (all connections of the VM together), more than max_in_flight_requests.
  overMemoryBudget: Counter = new Counter("frames_over_memory_budget");

  // Bytes copied across the ABI (proxy_get/set_buffer_bytes), next to the bytes the filter let
  // through in both directions: their ratio is what the filter costs over tcp_proxy in copies.
  abiBytesRead: Counter = new Counter("abi_bytes_read");
  abiBytesWritten: Counter = new Counter("abi_bytes_written");
  bytesForwarded: Counter = new Counter("bytes_forwarded");

  // Once per data callback: one host call per counter that moved, not one per copy.
  flushAbiBytes(forwarded: u32): void {
    if (abiBytesRead > 0) this.abiBytesRead.increment(<u32>abiBytesRead);
    if (abiBytesWritten > 0) this.abiBytesWritten.increment(<u32>abiBytesWritten);
    if (forwarded > 0) this.bytesForwarded.increment(forwarded);
    takeAbiBytes();
  }

  sampleMemory(): void {
    this.wasmMemory.record(<u64>memory.size() << 16);
  }

  malformed(isRequest: bool): Counter {
    return isRequest ? this.requestsMalformed : this.responsesMalformed;
  }

  oversized(isRequest: bool): Counter {
    return isRequest ? this.requestsOversized : this.responsesOversized;
  }
}
