// A test-only network filter that traps when a connection's data carries the marker "POISON"
// and passes everything else, to see what Envoy's `failure_policy` does with a crashed module,
// both for the poisoned connection and for the healthy ones after it (the production module has
// no such hook).
import { RootContext, Context, registerRootContext } from "@solo-io/proxy-runtime/assembly/index";
import { get_buffer_bytes, BufferTypeValues } from "@solo-io/proxy-runtime/assembly/runtime";

export * from "@solo-io/proxy-runtime/assembly/proxy";
export { proxy_on_memory_allocate } from "../../../assembly/proxy/host_memory";

const MARKER = "POISON";

function poisoned(data: ArrayBuffer): bool {
  const bytes = Uint8Array.wrap(data);
  for (let i = 0; i + MARKER.length <= bytes.length; i++) {
    let hit = true;
    for (let k = 0; k < MARKER.length && hit; k++) hit = bytes[i + k] == MARKER.charCodeAt(k);
    if (hit) return true;
  }
  return false;
}

export function proxy_on_new_connection(contextId: u32): u32 {
  return 0;
}

export function proxy_on_downstream_data(contextId: u32, size: u32, endOfStream: u32): u32 {
  if (poisoned(get_buffer_bytes(BufferTypeValues.NetworkDownstreamData, 0, size))) unreachable();
  return 0;
}

export function proxy_on_upstream_data(contextId: u32, size: u32, endOfStream: u32): u32 {
  return 0;
}

export function proxy_on_downstream_connection_close(contextId: u32, peer: u32): void {}
export function proxy_on_upstream_connection_close(contextId: u32, peer: u32): void {}

class TrapRoot extends RootContext {
  onConfigure(size: u32): bool {
    return true;
  }
  createContext(contextId: u32): Context {
    return new Context(contextId, this);
  }
}

registerRootContext((id: u32): RootContext => new TrapRoot(id), "kafka_proxy");
