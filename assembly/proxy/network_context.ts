// A connection-scoped context: what the network callbacks in network.ts dispatch to.
import { Context, RootContext } from "@solo-io/proxy-runtime/assembly/index";
import { Action } from "./abi";

export abstract class NetworkContext extends Context {
  constructor(contextId: u32, root: RootContext) {
    super(contextId, root);
  }
  abstract downstreamData(size: u32, endOfStream: bool): Action;
  abstract upstreamData(size: u32, endOfStream: bool): Action;
  abstract connectionClosed(): void;
}

