// Host functions for the as-pect specs that drive the filter's stages: Proxy-Wasm metrics kept in
// a table (as Envoy does, a name defined again gets its existing id), so specs read the counters
// back with proxy_get_metric. Any other Proxy-Wasm host function the module imports throws when
// called: a spec must not depend on a host it does not have.
const OK = 0;
const NOT_FOUND = 1;

export function hostImports(binary, memoryOf) {
  const ids = new Map();
  const values = [];
  let clock = 1700000000000000000n;
  const view = () => new DataView(memoryOf().buffer);
  const env = {
    proxy_define_metric(type, namePtr, nameSize, idPtr) {
      const name = Buffer.from(memoryOf().buffer, namePtr, nameSize).toString("utf8");
      if (!ids.has(name)) {
        ids.set(name, values.length);
        values.push(0n);
      }
      view().setUint32(idPtr, ids.get(name), true);
      return OK;
    },
    proxy_increment_metric(id, offset) {
      if (id >= values.length) return NOT_FOUND;
      values[id] += BigInt(offset);
      return OK;
    },
    proxy_record_metric(id, value) {
      if (id >= values.length) return NOT_FOUND;
      values[id] = BigInt(value);
      return OK;
    },
    // Shared data as a host with one worker and nothing shared yet: writes are accepted, reads
    // find nothing (handing a value back would need the module's allocator, which specs lack).
    proxy_get_shared_data() {
      return NOT_FOUND;
    },
    proxy_set_shared_data() {
      return OK;
    },
    // A clock that moves 1 ms per reading, so latencies are recorded and never negative.
    proxy_get_current_time_nanoseconds(resultPtr) {
      clock += 1000000n;
      view().setBigUint64(resultPtr, clock, true);
      return OK;
    },
    proxy_get_metric(id, resultPtr) {
      if (id >= values.length) return NOT_FOUND;
      view().setBigUint64(resultPtr, BigInt.asUintN(64, values[id]), true);
      return OK;
    },
  };
  const imports = {};
  for (const imp of WebAssembly.Module.imports(new WebAssembly.Module(binary))) {
    if (imp.kind !== "function" || !imp.name.startsWith("proxy_") || imp.name in env) continue;
    imports[imp.module] ??= {};
    imports[imp.module][imp.name] = () => {
      throw new Error(`host function ${imp.module}.${imp.name} is not available to the specs`);
    };
  }
  imports.env = { ...imports.env, ...env };
  return imports;
}
