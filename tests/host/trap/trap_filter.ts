// A test-only network filter that traps on its first downstream data, to see what Envoy's
// `failure_policy` does with a crashed module (the production module has no such hook).
import { RootContext, Context, registerRootContext } from "@solo-io/proxy-runtime/assembly/index";

export * from "@solo-io/proxy-runtime/assembly/proxy";
export { proxy_on_memory_allocate } from "../../../assembly/proxy/host_memory";

export function proxy_on_new_connection(contextId: u32): u32 {
  return 0;
}

export function proxy_on_downstream_data(contextId: u32, size: u32, endOfStream: u32): u32 {
  unreachable();
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
