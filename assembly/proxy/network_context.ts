// A connection-scoped context: what the network callbacks in network.ts dispatch to, and the
// root (plugin) context that configures and creates them.
import { Action } from "./abi";

export abstract class NetworkContext {
  constructor(public context_id: u32) {}
  abstract downstreamData(size: u32, endOfStream: bool): Action;
  abstract upstreamData(size: u32, endOfStream: bool): Action;
  abstract connectionClosed(): void;
}

export abstract class NetworkRoot {
  context_id: u32 = 0;
  // Returns false to reject the configuration.
  abstract onConfigure(size: u32): bool;
  abstract onTick(): void;
  abstract createContext(contextId: u32): NetworkContext;
}
