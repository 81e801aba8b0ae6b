// When the network layer lets a request's bytes go on (connection.ts): chosen by the policy's
// `forward` key (assembly/policy/config.ts), defined here because the network layer acts on it.
export const enum ForwardMode {
  // A frame leaves the proxy only after it was read whole and checked (fail-closed).
  AfterCheck,
  // Bytes flow on as they arrive and frames are checked as they complete (observe only).
  Immediately,
}
