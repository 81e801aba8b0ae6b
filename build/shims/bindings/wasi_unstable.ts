// AssemblyScript 0.27 dropped the `wasi_unstable` bindings that proxy-runtime imports for its
// abort handler; Envoy provides `proc_exit` under the snapshot_preview1 module name.
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "proc_exit")
export declare function proc_exit(code: u32): void;
