// Host functions and enums of the Proxy-Wasm ABI (v0.2.x) for TCP streams.
// @solo-io/proxy-runtime 0.1.8 only binds the HTTP side, so the network half lives here.

export const enum BufferType {
  DownstreamData = 2,
  UpstreamData = 3,
  PluginConfiguration = 7,
}

export const enum StreamType {
  Downstream = 2,
  Upstream = 3,
}

export const enum Action {
  Continue = 0,
  Pause = 1,
}

export const enum Status {
  Ok = 0,
  NotFound = 1,
  BadArgument = 2,
  CasMismatch = 8,
}

// @ts-ignore: decorator
@external("env", "proxy_get_buffer_bytes")
export declare function proxy_get_buffer_bytes(buffer: u32, start: u32, maxSize: u32, returnData: usize, returnSize: usize): u32;

// @ts-ignore: decorator
@external("env", "proxy_set_buffer_bytes")
export declare function proxy_set_buffer_bytes(buffer: u32, start: u32, size: u32, data: usize, dataSize: u32): u32;

// @ts-ignore: decorator
@external("env", "proxy_get_buffer_status")
export declare function proxy_get_buffer_status(buffer: u32, returnSize: usize, returnFlags: usize): u32;

// @ts-ignore: decorator
@external("env", "proxy_close_stream")
export declare function proxy_close_stream(stream: u32): u32;

// @ts-ignore: decorator
@external("env", "proxy_continue_stream")
export declare function proxy_continue_stream(stream: u32): u32;

// Makes a connection's context current (a tick runs in the root context), e.g. to resume it.
// @ts-ignore: decorator
@external("env", "proxy_set_effective_context")
export declare function proxy_set_effective_context(contextId: u32): u32;

// @ts-ignore: decorator
@external("env", "proxy_get_property")
export declare function proxy_get_property(path: usize, pathSize: u32, returnData: usize, returnSize: usize): u32;

// Shared data: one key-value store per VM id, shared by all of Envoy's workers (their VMs are
// separate instances). Values are copied in and out; `cas` versions each key.
// @ts-ignore: decorator
@external("env", "proxy_get_shared_data")
export declare function proxy_get_shared_data(key: usize, keySize: u32, returnValue: usize, returnSize: usize, returnCas: usize): u32;

// @ts-ignore: decorator
@external("env", "proxy_set_shared_data")
export declare function proxy_set_shared_data(key: usize, keySize: u32, value: usize, valueSize: u32, cas: u32): u32;

// Lifecycle, logging, time and metrics: bound here rather than through proxy-runtime's runtime,
// whose context classes and tables cost ~8 KB of module.
// @ts-ignore: decorator
@external("env", "proxy_log")
export declare function proxy_log(level: u32, message: usize, messageSize: u32): u32;

// @ts-ignore: decorator
@external("env", "proxy_set_tick_period_milliseconds")
export declare function proxy_set_tick_period_milliseconds(millis: u32): u32;

// @ts-ignore: decorator
@external("env", "proxy_get_current_time_nanoseconds")
export declare function proxy_get_current_time_nanoseconds(returnTime: usize): u32;

// @ts-ignore: decorator
@external("env", "proxy_define_metric")
export declare function proxy_define_metric(type: u32, name: usize, nameSize: u32, returnId: usize): u32;

// @ts-ignore: decorator
@external("env", "proxy_increment_metric")
export declare function proxy_increment_metric(id: u32, offset: i64): u32;

// @ts-ignore: decorator
@external("env", "proxy_record_metric")
export declare function proxy_record_metric(id: u32, value: u64): u32;

// Envoy provides the WASI exit under the snapshot_preview1 module name.
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "proc_exit")
export declare function proc_exit(code: u32): void;
