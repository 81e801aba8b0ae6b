// Host functions for the as-pect specs that drive the filter's stages: Proxy-Wasm metrics kept in
// a table (as Envoy does, a name defined again gets its existing id), so specs read the counters
// back with proxy_get_metric; a clock; a log; shared data (see below). Any other Proxy-Wasm host function the module imports throws when
// called: a spec must not depend on a host it does not have.
const OK = 0;
const NOT_FOUND = 1;
const CAS_MISMATCH = 8;
// AssemblyScript's class id of ArrayBuffer.
const ARRAY_BUFFER_ID = 1;

export function hostImports(binary, exportsOf) {
  const memoryOf = () => exportsOf().memory;
  const text = (ptr, size) => Buffer.from(memoryOf().buffer, ptr, size).toString("utf8");
  const shared = new Map();
  let versions = 0;
  let sharing = false;
  const ids = new Map();
  const values = [];
  let clock = 1700000000000000000n;
  const logs = [];
  const view = () => new DataView(memoryOf().buffer);
  const env = {
    proxy_define_metric(type, namePtr, nameSize, idPtr) {
      const name = text(namePtr, nameSize);
      if (!ids.has(name)) {
        ids.set(name, values.length);
        values.push(0n);
      }
      view().setUint32(idPtr, ids.get(name), true);
      return OK;
    },
    // Log lines (the audit events of refusals and admin requests, filters/audit.ts) are kept
    // here, not printed.
    proxy_log(level, ptr, size) {
      logs.push(text(ptr, size));
      if (logs.length > 1000) logs.shift();
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
    // Shared data: by default a host with one worker and nothing shared yet (writes are
    // accepted, reads find nothing), so that each spec's stages start from what they learn
    // themselves. A spec that calls spec_share_data(1) gets Envoy's store instead (values with a
    // version, compare-and-swap), as the VMs of all workers see it: a value read back is handed
    // over in the module's memory, pinned, as proxy-runtime's malloc does (the module unpins it).
    proxy_get_shared_data(keyPtr, keySize, valuePtrOut, valueSizeOut, casOut) {
      if (!sharing) return NOT_FOUND;
      const entry = shared.get(text(keyPtr, keySize));
      if (entry === undefined) return NOT_FOUND;
      let at = 0;
      if (entry.value.length > 0) {
        const exports = exportsOf();
        at = exports.__pin(exports.__new(entry.value.length, ARRAY_BUFFER_ID));
        new Uint8Array(memoryOf().buffer, at, entry.value.length).set(entry.value);
      }
      view().setUint32(valuePtrOut, at, true);
      view().setUint32(valueSizeOut, entry.value.length, true);
      view().setUint32(casOut, entry.cas, true);
      return OK;
    },
    proxy_set_shared_data(keyPtr, keySize, valuePtr, valueSize, cas) {
      if (!sharing) return OK;
      const key = text(keyPtr, keySize);
      const entry = shared.get(key);
      if (cas !== 0 && entry !== undefined && entry.cas !== cas) return CAS_MISMATCH;
      shared.set(key, { value: Uint8Array.from(new Uint8Array(memoryOf().buffer, valuePtr, valueSize)), cas: ++versions });
      return OK;
    },
    spec_share_data(on) {
      sharing = on !== 0;
    },
    // A clock that moves 1 ms per reading, so latencies are recorded and never negative.
    proxy_get_current_time_nanoseconds(resultPtr) {
      clock += 1000000n;
      view().setBigUint64(resultPtr, clock, true);
      return OK;
    },
    // The wall clock (guardrails' timestamp bounds).
    proxy_get_current_time_nanoseconds(resultPtr) {
      view().setBigUint64(resultPtr, BigInt(Date.now()) * 1000000n, true);
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
