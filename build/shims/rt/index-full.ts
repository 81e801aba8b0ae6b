// @solo-io/proxy-runtime 0.1.8 targets AssemblyScript 0.14, whose full runtime exported
// reference counting. AssemblyScript 0.27 replaced it with a tracing GC where a host-held
// object must be pinned instead, so retain/release map onto pin/unpin.
export function __retain(ptr: usize): usize {
  return __pin(ptr);
}

export function __release(ptr: usize): void {
  __unpin(ptr);
}
