// The TCP half of the Proxy-Wasm ABI: proxy-runtime 0.1.8 routes contexts but exports no
// network callbacks, so these exports look the context up through the runtime and hand the
// call to a NetworkContext.
import { getContext } from "@solo-io/proxy-runtime/assembly/runtime";
import { Action } from "./abi";
import { NetworkContext } from "./network_context";

function network(contextId: u32): NetworkContext {
  return changetype<NetworkContext>(getContext(contextId));
}

export function proxy_on_new_connection(contextId: u32): u32 {
  return Action.Continue;
}

export function proxy_on_downstream_data(contextId: u32, size: u32, endOfStream: u32): u32 {
  return network(contextId).downstreamData(size, endOfStream != 0);
}

export function proxy_on_upstream_data(contextId: u32, size: u32, endOfStream: u32): u32 {
  return network(contextId).upstreamData(size, endOfStream != 0);
}

export function proxy_on_downstream_connection_close(contextId: u32, peer: u32): void {
  network(contextId).connectionClosed();
}

export function proxy_on_upstream_connection_close(contextId: u32, peer: u32): void {
  network(contextId).connectionClosed();
}
