// The Proxy-Wasm lifecycle and TCP callbacks: root (plugin) contexts and connections are kept
// here and each call is handed to its context; garbage is collected as callbacks end (gc.ts). (proxy-runtime's runtime is not used: its context
// creation builds debug log lines listing every live context, whatever the log level, and its
// context classes and tables cost ~8 KB of module.)
import { Action } from "./abi";
import { NetworkContext, NetworkRoot } from "./network_context";
import { forgetWindow, readProperty } from "./host_memory";
import { dataCallback, fail } from "./host";
import { connectionGone, enterCallback, leaveCallback } from "./gc";
import { flushMetrics } from "./host_metrics";

const connections = new Map<u32, NetworkContext>();
// Root contexts: one per plugin configuration loaded into this VM, so few.
const roots = new Array<NetworkRoot>();
let rootNames: string[] = [];
let rootFactory: (contextId: u32) => NetworkRoot = (contextId: u32): NetworkRoot => changetype<NetworkRoot>(0);

// Makes `factory` create the root contexts of plugins whose root id is one of `names`.
export function registerRootContext(factory: (contextId: u32) => NetworkRoot, names: string[]): void {
  rootNames = names;
  rootFactory = factory;
}

function root(contextId: u32): NetworkRoot {
  for (let i = 0, n = roots.length; i < n; i++) {
    const r = unchecked(roots[i]);
    if (r.context_id == contextId) return r;
  }
  // As a lookup in proxy-runtime's context table did.
  fail("Key does not exist");
  return unreachable();
}

function network(contextId: u32): NetworkContext {
  return connections.get(contextId);
}

export function proxy_abi_version_0_2_0(): void {}

export function proxy_on_vm_start(rootContextId: u32, vmConfigurationSize: u32): u32 {
  root(rootContextId);
  return 1;
}

export function proxy_validate_configuration(rootContextId: u32, configurationSize: u32): u32 {
  root(rootContextId);
  return 1;
}

export function proxy_on_configure(rootContextId: u32, configurationSize: u32): u32 {
  enterCallback();
  const ok = root(rootContextId).onConfigure(configurationSize);
  leaveCallback(connections.size);
  return ok ? 1 : 0;
}

export function proxy_on_tick(rootContextId: u32): void {
  enterCallback();
  flushMetrics();
  root(rootContextId).onTick();
  leaveCallback(connections.size);
}

export function proxy_on_context_create(contextId: u32, rootContextId: u32): void {
  if (rootContextId != 0) {
    enterCallback();
    connections.set(contextId, root(rootContextId).createContext(contextId));
    leaveCallback(connections.size);
    return;
  }
  for (let i = 0, n = roots.length; i < n; i++) if (unchecked(roots[i]).context_id == contextId) return;
  // The host names the plugin's root id; a property it does not have traps, as in proxy-runtime.
  const name = readProperty("plugin_root_id");
  const at = name !== null ? rootNames.indexOf(name) : -1;
  if (at < 0) fail("Missing root context factory for root id: " + (name !== null ? name : ""));
  const r = rootFactory(contextId);
  r.context_id = contextId;
  roots.push(r);
}

// Every context is done at once (nothing is pending).
export function proxy_on_done(contextId: u32): u32 {
  return 1;
}

export function proxy_on_log(contextId: u32): void {}

export function proxy_on_delete(contextId: u32): void {
  if (connections.has(contextId)) {
    enterCallback();
    connections.delete(contextId);
    connectionGone();
    leaveCallback(connections.size);
    return;
  }
  for (let i = 0, n = roots.length; i < n; i++) {
    if (unchecked(roots[i]).context_id == contextId) {
      const last = roots.pop();
      if (i < n - 1) unchecked(roots[i] = last);
      return;
    }
  }
}

export function proxy_on_new_connection(contextId: u32): u32 {
  return Action.Continue;
}

export function proxy_on_downstream_data(contextId: u32, size: u32, endOfStream: u32): u32 {
  enterCallback();
  forgetWindow();
  dataCallback(true);
  const action = network(contextId).downstreamData(size, endOfStream != 0);
  forgetWindow();
  dataCallback(false);
  leaveCallback(connections.size);
  return action;
}

export function proxy_on_upstream_data(contextId: u32, size: u32, endOfStream: u32): u32 {
  enterCallback();
  forgetWindow();
  dataCallback(true);
  const action = network(contextId).upstreamData(size, endOfStream != 0);
  forgetWindow();
  dataCallback(false);
  leaveCallback(connections.size);
  return action;
}

export function proxy_on_downstream_connection_close(contextId: u32, peer: u32): void {
  enterCallback();
  network(contextId).connectionClosed();
  leaveCallback(connections.size);
}

export function proxy_on_upstream_connection_close(contextId: u32, peer: u32): void {
  enterCallback();
  network(contextId).connectionClosed();
  leaveCallback(connections.size);
}
