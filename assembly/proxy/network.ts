// The TCP half of the Proxy-Wasm ABI: proxy-runtime 0.1.8 exports no network callbacks, so
// these exports hand each call to the connection's NetworkContext. Connections are kept here,
// not in proxy-runtime's context table: its context creation builds debug log lines listing
// every live context (whatever the log level), garbage and work that grow with the number of
// open connections. Root contexts stay the runtime's.
import { getRootContext } from "@solo-io/proxy-runtime/assembly/runtime";
import {
  proxy_on_context_create as runtimeCreate, proxy_on_delete as runtimeDelete, proxy_on_done as runtimeDone,
  proxy_on_log as runtimeLog,
} from "@solo-io/proxy-runtime/assembly/exports";
import { Action } from "./abi";
import { NetworkContext } from "./network_context";

const connections = new Map<u32, NetworkContext>();

function network(contextId: u32): NetworkContext {
  return connections.get(contextId);
}

export function proxy_on_context_create(contextId: u32, rootContextId: u32): void {
  if (rootContextId == 0) {
    runtimeCreate(contextId, 0);
    return;
  }
  connections.set(contextId, changetype<NetworkContext>(getRootContext(rootContextId).createContext(contextId)));
}

export function proxy_on_done(contextId: u32): u32 {
  return connections.has(contextId) ? 1 : runtimeDone(contextId);
}

export function proxy_on_log(contextId: u32): void {
  if (!connections.has(contextId)) runtimeLog(contextId);
}

export function proxy_on_delete(contextId: u32): void {
  if (connections.has(contextId)) connections.delete(contextId);
  else runtimeDelete(contextId);
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
