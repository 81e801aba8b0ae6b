// The floor of any Proxy-Wasm network filter in Envoy: a module that reads nothing and lets every
// byte pass (the bench's `wasm no-op` scenario). What Envoy spends on it over plain tcp_proxy is
// the cost of calling into Wasm on each data callback, which no filter can go under.
export function proxy_abi_version_0_2_0(): void {}
export function proxy_on_vm_start(root: u32, size: u32): u32 { return 1; }
export function proxy_validate_configuration(root: u32, size: u32): u32 { return 1; }
export function proxy_on_configure(root: u32, size: u32): u32 { return 1; }
export function proxy_on_context_create(context: u32, root: u32): void {}
export function proxy_on_new_connection(context: u32): u32 { return 0; }
export function proxy_on_downstream_data(context: u32, size: u32, end: u32): u32 { return 0; }
export function proxy_on_upstream_data(context: u32, size: u32, end: u32): u32 { return 0; }
export function proxy_on_downstream_connection_close(context: u32, peer: u32): void {}
export function proxy_on_upstream_connection_close(context: u32, peer: u32): void {}
export function proxy_on_done(context: u32): u32 { return 1; }
export function proxy_on_log(context: u32): void {}
export function proxy_on_delete(context: u32): void {}
export function proxy_on_tick(root: u32): void {}
export function proxy_on_memory_allocate(size: usize): usize { return heap.alloc(size); }
export function malloc(size: usize): usize { return heap.alloc(size); }
export function free(ptr: usize): void { heap.free(ptr); }
