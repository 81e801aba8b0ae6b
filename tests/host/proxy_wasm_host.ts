// A Proxy-Wasm host in TypeScript (Node's WebAssembly, i.e. V8 as in Envoy) for driving the
// module without Envoy: fast enough for fuzzing, and faithful to the Envoy behaviours the filter
// depends on (tests/e2e/host_vs_envoy.test.ts checks it against the real Envoy):
// - a data callback sees everything Envoy holds for that direction; after Continue it all goes
//   on, after Pause it stays and the next callback sees it again with the new bytes;
// - proxy_set_buffer_bytes only prepends (start 0, replacing `size` bytes) or appends (start >=
//   length); a start inside the buffer is BAD_ARGUMENT;
// - a paused upstream direction is never resumed (recorded as a host error);
// - proxy_close_stream ends the connection: nothing more is delivered;
// - proxy_get_buffer_bytes cuts the range at the buffer's end, and when nothing is left to copy
//   returns Ok without writing the returned pointer and size (proxy-wasm-cpp-host's
//   get_buffer_bytes); a start past the end is a host error here (Envoy's length wraps around).
// It counts the bytes it copies across the ABI for the data buffers, as the module's counters
// kafka_proxy.abi_bytes_read / abi_bytes_written should (per connection and in total):
// proxy_get_buffer_bytes the bytes it hands over (what Envoy copies out of its buffer: the
// range asked for, cut at the buffer's end), proxy_set_buffer_bytes the bytes it takes (only
// when it accepts the edit; Envoy copies nothing for a refused one). The configuration's reads
// are counted apart (configBytesRead): they are no data-path copies.
import { readFileSync } from "node:fs";

const enum Status {
  Ok = 0,
  NotFound = 1,
  BadArgument = 2,
  CasMismatch = 8,
}

// The shared data's version sequence.
let nextCas = 1;

const DOWNSTREAM = 2;
const UPSTREAM = 3;
const PLUGIN_CONFIGURATION = 7;
const ROOT_ID = 1;

export class Trap extends Error {}

export interface Connection {
  id: number;
  // What Envoy holds for each direction (not yet forwarded).
  held: { [DOWNSTREAM]: Buffer; [UPSTREAM]: Buffer };
  toUpstream: Buffer[];
  toDownstream: Buffer[];
  closed: boolean;
  // The host has torn the context down (Envoy always does, also after the filter closed).
  deleted: boolean;
  hostErrors: string[];
  // Bytes copied out of (read) and into (written) this connection's data buffers.
  abiBytes: AbiBytes;
}

export interface AbiBytes {
  read: number;
  written: number;
  // Calls of proxy_get_buffer_bytes and proxy_set_buffer_bytes on the data buffers: each costs
  // Envoy about a microsecond whatever its size (get_buffer_bytes calls back into the module to
  // allocate), so their number is the hot path's other exact cost.
  reads: number;
  writes: number;
}

export interface Metric {
  name: string;
  type: number;
  value: bigint;
}

export class ProxyWasmHost {
  readonly logs: { level: number; message: string }[] = [];
  readonly metrics = new Map<number, Metric>();
  properties = new Map<string, Buffer>();
  private instance!: WebAssembly.Instance;
  private config = Buffer.alloc(0);
  private nextId = ROOT_ID + 1;
  private current: Connection | null = null;
  // Open connections by context id, and the context proxy_set_effective_context named.
  private connections = new Map<number, Connection>();
  private effective = 0;
  private currentBuffer = 0;
  private clock = 1_000_000_000n;
  // Envoy's shared data: a value and its version per key (binary keys, held as latin1 strings).
  // Hosts given the same map are workers of one Envoy. Envoy gives each set a fresh version
  // (one sequence for all hosts), and refuses a set whose non-zero version is not the key's.
  sharedData = new Map<string, { value: Buffer; cas: number }>();
  // What the module asked for with proxy_set_tick_period_milliseconds (0: no ticks).
  tickPeriodMs = 0;
  // Bytes copied across the ABI for all connections' data buffers together (closed ones too).
  readonly abiBytes: AbiBytes = { read: 0, written: 0, reads: 0, writes: 0 };
  // Bytes of the plugin configuration handed over (proxy_get_buffer_bytes on it).
  configBytesRead = 0;
  // proxy_increment_metric calls (the module sums its counters and hands them over on ticks).
  incrementCalls = 0;
  // Shared data and clock calls (the quotas stage makes them only for principals with a quota).
  stateCalls = 0;

  static async load(wasmFile: string, rootId = "kafka_proxy"): Promise<ProxyWasmHost> {
    const host = new ProxyWasmHost();
    const module = new WebAssembly.Module(readFileSync(wasmFile));
    host.instance = new WebAssembly.Instance(module, host.imports(module));
    // proxy-runtime picks the root context by the plugin's root id, as Envoy reports it.
    host.properties.set("plugin_root_id", Buffer.from(rootId));
    host.call("proxy_on_context_create", ROOT_ID, 0);
    host.call("proxy_on_vm_start", ROOT_ID, 0);
    return host;
  }

  private get memory(): Buffer {
    const m = this.instance.exports.memory as WebAssembly.Memory;
    return Buffer.from(m.buffer);
  }

  private call(name: string, ...args: number[]): number {
    const fn = this.instance.exports[name] as ((...a: number[]) => number) | undefined;
    if (!fn) throw new Error(`the module does not export ${name}`);
    try {
      return fn(...args) ?? 0;
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) throw new Trap(`${name} trapped: ${e.message}`);
      throw e;
    }
  }

  // Returns whether the module accepted the configuration.
  configure(config: object | string): boolean {
    this.config = Buffer.from(typeof config === "string" ? config : JSON.stringify(config));
    return this.call("proxy_on_configure", ROOT_ID, this.config.length) !== 0;
  }

  // Moves the clock on (ticks see it).
  advance(ms: number): void {
    this.clock += BigInt(ms) * 1_000_000n;
  }

  tick(): void {
    this.call("proxy_on_tick", ROOT_ID);
  }

  connect(): Connection {
    const c: Connection = {
      id: this.nextId++, held: { [DOWNSTREAM]: Buffer.alloc(0), [UPSTREAM]: Buffer.alloc(0) },
      toUpstream: [], toDownstream: [], closed: false, deleted: false, hostErrors: [], abiBytes: { read: 0, written: 0, reads: 0, writes: 0 },
    };
    this.connections.set(c.id, c);
    this.call("proxy_on_context_create", c.id, ROOT_ID);
    this.call("proxy_on_new_connection", c.id);
    return c;
  }

  // Bytes from the client; returns what Envoy would forward to the broker by this call.
  downstream(c: Connection, bytes: Buffer, endOfStream = false): void {
    this.deliver(c, DOWNSTREAM, bytes, endOfStream);
  }

  // Bytes from the broker.
  upstream(c: Connection, bytes: Buffer, endOfStream = false): void {
    this.deliver(c, UPSTREAM, bytes, endOfStream);
  }

  // The connection ends (client gone, or after the filter closed it): Envoy's close callbacks.
  close(c: Connection): void {
    if (c.deleted) return;
    c.closed = true;
    c.deleted = true;
    this.connections.delete(c.id);
    this.call("proxy_on_downstream_connection_close", c.id, 0);
    this.call("proxy_on_done", c.id);
    this.call("proxy_on_delete", c.id);
  }

  // The module's linear memory (it only grows: a leak shows as growth that never stops).
  memoryBytes(): number {
    return (this.instance.exports.memory as WebAssembly.Memory).buffer.byteLength;
  }

  // A metric as Envoy's admin endpoint shows it once the module has ticked: counters reach the
  // host on ticks (assembly/proxy/host_metrics.ts).
  metric(name: string): bigint | undefined {
    if (this.tickPeriodMs > 0) this.tick();
    for (const m of this.metrics.values()) if (m.name === name) return m.value;
    return undefined;
  }

  private deliver(c: Connection, buffer: typeof DOWNSTREAM | typeof UPSTREAM, bytes: Buffer, endOfStream: boolean): void {
    if (c.closed) return;
    c.held[buffer] = Buffer.concat([c.held[buffer], bytes]);
    this.current = c;
    this.currentBuffer = buffer;
    let action: number;
    try {
      action = this.call(buffer === DOWNSTREAM ? "proxy_on_downstream_data" : "proxy_on_upstream_data", c.id, c.held[buffer].length,
        endOfStream ? 1 : 0);
    } finally {
      this.current = null;
    }
    if (c.closed) return;
    if (action === 0) {
      if (c.held[buffer].length > 0) (buffer === DOWNSTREAM ? c.toUpstream : c.toDownstream).push(c.held[buffer]);
      c.held[buffer] = Buffer.alloc(0);
    } else if (buffer === UPSTREAM) {
      c.hostErrors.push("paused the upstream direction, which Envoy never resumes");
    }
  }

  private string(ptr: number, len: number): string {
    return this.memory.toString("utf8", ptr, ptr + len);
  }

  // The allocator Envoy calls to hand the module bytes: proxy-wasm-cpp-host takes the module's
  // `malloc` export when it has one, proxy_on_memory_allocate only otherwise.
  get allocator(): string {
    return this.instance.exports.malloc !== undefined ? "malloc" : "proxy_on_memory_allocate";
  }

  // Whether `a` and `b` are exports of the same function.
  sameExport(a: string, b: string): boolean {
    return this.instance.exports[a] !== undefined && this.instance.exports[a] === this.instance.exports[b];
  }

  // Copies `data` into module memory the way Envoy does: through the allocator it picks.
  private give(data: Buffer, retPtr: number, retSize: number): void {
    const ptr = data.length === 0 ? 0 : this.call(this.allocator, data.length);
    const mem = this.memory;
    data.copy(mem, ptr);
    mem.writeUInt32LE(ptr, retPtr);
    mem.writeUInt32LE(data.length, retSize);
  }

  private bufferOf(type: number): Buffer | null {
    if (type === PLUGIN_CONFIGURATION) return this.config;
    if (this.current !== null && type === this.currentBuffer) return this.current.held[type as 2 | 3];
    return null;
  }

  private imports(module: WebAssembly.Module): WebAssembly.Imports {
    const env: Record<string, (...a: any[]) => any> = {
      // Like Envoy at its default level: info and above, the latest 1000 kept.
      proxy_log: (level: number, ptr: number, len: number) => {
        if (level < 2) return Status.Ok;
        this.logs.push({ level, message: this.string(ptr, len) });
        if (this.logs.length > 1000) this.logs.splice(0, this.logs.length - 1000);
        return Status.Ok;
      },
      proxy_get_buffer_bytes: (type: number, start: number, max: number, retPtr: number, retSize: number) => {
        const b = this.bufferOf(type);
        if (b === null) return Status.NotFound;
        if (type !== PLUGIN_CONFIGURATION) {
          this.current!.abiBytes.reads++;
          this.abiBytes.reads++;
        }
        // Envoy cuts the range at the buffer's end, computing the length as size - start: a
        // start past the end makes it wrap around (no defined outcome).
        if (start > b.length) {
          this.current?.hostErrors.push(`proxy_get_buffer_bytes from ${start}, past the buffer's end (${b.length})`);
          return Status.BadArgument;
        }
        const data = b.subarray(start, start + max);
        // Nothing to copy: Envoy returns Ok without writing the pointer and size words (the
        // module must not read them).
        if (data.length === 0) return Status.Ok;
        this.give(data, retPtr, retSize);
        if (type === PLUGIN_CONFIGURATION) this.configBytesRead += data.length;
        else {
          this.current!.abiBytes.read += data.length;
          this.abiBytes.read += data.length;
        }
        return Status.Ok;
      },
      proxy_set_buffer_bytes: (type: number, start: number, size: number, ptr: number, len: number) => {
        const c = this.current;
        if (c === null || type !== this.currentBuffer) return Status.NotFound;
        c.abiBytes.writes++;
        this.abiBytes.writes++;
        const held = c.held[type as 2 | 3];
        const data = Buffer.from(this.memory.subarray(ptr, ptr + len));
        if (start === 0) c.held[type as 2 | 3] = Buffer.concat([data, held.subarray(Math.min(size, held.length))]);
        else if (start >= held.length) c.held[type as 2 | 3] = Buffer.concat([held, data]);
        else return Status.BadArgument;
        c.abiBytes.written += len;
        this.abiBytes.written += len;
        return Status.Ok;
      },
      proxy_get_buffer_status: () => Status.NotFound,
      proxy_get_property: (ptr: number, len: number, retPtr: number, retSize: number) => {
        const value = this.properties.get(this.string(ptr, len).split("\0").join("."));
        if (value === undefined) return Status.NotFound;
        this.give(value, retPtr, retSize);
        return Status.Ok;
      },
      proxy_set_effective_context: (id: number) => {
        this.effective = id;
        return Status.Ok;
      },
      proxy_close_stream: () => {
        if (this.current !== null) this.current.closed = true;
        return Status.Ok;
      },
      // Envoy's continueReading(): the held downstream bytes go to the filters after this one
      // (tcp_proxy sends them on), without another callback to the module.
      proxy_continue_stream: (type: number) => {
        const c = this.current ?? this.connections.get(this.effective);
        if (c === undefined || c.closed || type !== DOWNSTREAM) return Status.NotFound;
        if (c.held[DOWNSTREAM].length > 0) c.toUpstream.push(c.held[DOWNSTREAM]);
        c.held[DOWNSTREAM] = Buffer.alloc(0);
        return Status.Ok;
      },
      proxy_set_tick_period_milliseconds: (ms: number) => {
        this.tickPeriodMs = ms;
        return Status.Ok;
      },
      proxy_define_metric: (type: number, ptr: number, len: number, retId: number) => {
        const name = this.string(ptr, len);
        let id = [...this.metrics.entries()].find(([, m]) => m.name === name)?.[0];
        if (id === undefined) {
          id = this.metrics.size;
          this.metrics.set(id, { name, type, value: 0n });
        }
        this.memory.writeUInt32LE(id, retId);
        return Status.Ok;
      },
      proxy_increment_metric: (id: number, delta: bigint) => {
        this.incrementCalls++;
        const m = this.metrics.get(id);
        if (!m) return Status.NotFound;
        m.value += BigInt(delta);
        return Status.Ok;
      },
      proxy_record_metric: (id: number, value: bigint) => {
        const m = this.metrics.get(id);
        if (!m) return Status.NotFound;
        m.value = BigInt(value);
        return Status.Ok;
      },
      proxy_get_metric: (id: number, retValue: number) => {
        const m = this.metrics.get(id);
        if (!m) return Status.NotFound;
        this.memory.writeBigUInt64LE(BigInt.asUintN(64, m.value), retValue);
        return Status.Ok;
      },
      proxy_get_shared_data: (keyPtr: number, keyLen: number, retPtr: number, retSize: number, retCas: number) => {
        this.stateCalls++;
        const e = this.sharedData.get(this.memory.toString("latin1", keyPtr, keyPtr + keyLen));
        if (e === undefined) return Status.NotFound;
        this.give(e.value, retPtr, retSize);
        this.memory.writeUInt32LE(e.cas, retCas);
        return Status.Ok;
      },
      proxy_set_shared_data: (keyPtr: number, keyLen: number, ptr: number, len: number, cas: number) => {
        this.stateCalls++;
        const key = this.memory.toString("latin1", keyPtr, keyPtr + keyLen);
        const e = this.sharedData.get(key);
        if (e !== undefined && cas !== 0 && cas !== e.cas) return Status.CasMismatch;
        this.sharedData.set(key, { value: Buffer.from(this.memory.subarray(ptr, ptr + len)), cas: nextCas++ });
        return Status.Ok;
      },
      abort: (msg: number, file: number, line: number, col: number) => {
        const str = (p: number) => p === 0 ? "" : Buffer.from(this.memory.subarray(p, p + this.memory.readUInt32LE(p - 4))).toString("utf16le");
        throw new Trap(`abort: ${str(msg)} at ${str(file)}:${line}:${col}`);
      },
      proxy_get_current_time_nanoseconds: (retPtr: number) => {
        this.stateCalls++;
        this.clock += 1000n;
        this.memory.writeBigUInt64LE(this.clock, retPtr);
        return Status.Ok;
      },
    };
    const imports: Record<string, Record<string, (...a: any[]) => any>> = {};
    for (const i of WebAssembly.Module.imports(module)) {
      imports[i.module] ??= {};
      if (i.module === "wasi_snapshot_preview1" && i.name === "proc_exit") {
        imports[i.module][i.name] = (code: number) => {
          throw new Trap(`proc_exit(${code})`);
        };
      } else {
        imports[i.module][i.name] = env[i.name] ?? (() => {
          throw new Error(`host function ${i.module}.${i.name} is not implemented by the test host`);
        });
      }
    }
    return imports;
  }
}
