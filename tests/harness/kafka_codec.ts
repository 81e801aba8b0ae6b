// A small encoder/decoder driven by Kafka's own JSON message schemas (.tools/kafka/schemas), for
// tests that send hand-made requests of any API and version and read the answers field by field
// (names as in the schemas: { Topics: [{ Name: "orders" }] }). Tagged fields are neither sent nor
// decoded (their section is skipped). Independent of the filter's generated tables on purpose.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createConnection } from "node:net";
import { ROOT } from "./paths.ts";
import { requestFrame, uvarint } from "./kafka_bytes.ts";

const SCHEMAS = join(ROOT, ".tools/kafka/schemas");

interface Field {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  fields?: Field[];
}

interface Message {
  apiKey?: number;
  type: string;
  flexibleVersions: string;
  fields: Field[];
  commonStructs?: { name: string; fields: Field[] }[];
}

let messages: Message[] | undefined;

function load(apiKey: number, type: "request" | "response"): Message {
  messages ??= readdirSync(SCHEMAS).filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(join(SCHEMAS, f), "utf8").replace(/^\s*\/\/.*$/gm, "")) as Message);
  const m = messages.find((x) => x.apiKey === apiKey && x.type === type);
  if (!m) throw new Error(`no ${type} schema for API ${apiKey}`);
  return m;
}

function inRange(text: string | undefined, v: number): boolean {
  if (text === undefined || text === "none") return false;
  const plus = /^(\d+)\+$/.exec(text);
  if (plus) return v >= Number(plus[1]);
  const range = /^(\d+)-(\d+)$/.exec(text);
  if (range) return v >= Number(range[1]) && v <= Number(range[2]);
  return v === Number(text);
}

class Ctx {
  constructor(readonly msg: Message, readonly version: number, readonly flexible: boolean) {}
  structFields(f: Field): Field[] {
    if (f.fields) return f.fields;
    const name = f.type.replace(/^\[\]/, "");
    const c = this.msg.commonStructs?.find((s) => s.name === name);
    if (!c) throw new Error(`unknown struct ${name}`);
    return c.fields;
  }
  present(f: Field): boolean {
    return inRange(f.versions, this.version) && !inRange(f.taggedVersions, this.version);
  }
}

function encodeStruct(ctx: Ctx, fields: Field[], value: any): Buffer[] {
  const parts: Buffer[] = [];
  for (const f of fields) if (ctx.present(f)) parts.push(...encodeField(ctx, f, value?.[f.name]));
  if (ctx.flexible) parts.push(Buffer.from([0]));
  return parts;
}

function encodeLength(ctx: Ctx, n: number, int16: boolean): Buffer {
  if (ctx.flexible) return uvarint(n + 1);
  const b = Buffer.alloc(int16 ? 2 : 4);
  if (int16) b.writeInt16BE(n);
  else b.writeInt32BE(n);
  return b;
}

function encodeValue(ctx: Ctx, type: string, f: Field, v: any, nullable: boolean): Buffer[] {
  switch (type) {
    case "int8": case "bool": return [Buffer.from([Number(v ?? 0) & 0xff])];
    case "int16": case "uint16": { const b = Buffer.alloc(2); b.writeInt16BE(Number(v ?? 0)); return [b]; }
    case "int32": { const b = Buffer.alloc(4); b.writeInt32BE(Number(v ?? 0)); return [b]; }
    case "int64": { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(v ?? 0)); return [b]; }
    case "float64": { const b = Buffer.alloc(8); b.writeDoubleBE(Number(v ?? 0)); return [b]; }
    case "uuid": return [v ? Buffer.from(v) : Buffer.alloc(16)];
    case "string": case "bytes": case "records": {
      if (v === null || (v === undefined && nullable)) return [encodeLength(ctx, -1, type === "string")];
      const b = Buffer.isBuffer(v) ? v : Buffer.from(String(v ?? ""));
      return [encodeLength(ctx, b.length, type === "string"), b];
    }
    default: {
      if (v === null || (v === undefined && nullable)) return [Buffer.from([0xff])];
      const parts = encodeStruct(ctx, ctx.structFields(f), v ?? {});
      return nullable ? [Buffer.from([1]), ...parts] : parts;
    }
  }
}

function encodeField(ctx: Ctx, f: Field, v: any): Buffer[] {
  const nullable = inRange(f.nullableVersions, ctx.version);
  if (!f.type.startsWith("[]")) return encodeValue(ctx, f.type, f, v, nullable);
  if (v === null || (v === undefined && nullable)) return [encodeLength(ctx, -1, false)];
  const items: any[] = v ?? [];
  const elem = f.type.slice(2);
  return [encodeLength(ctx, items.length, false), ...items.flatMap((x) => encodeValue(ctx, elem, f, x, false))];
}

class Reader {
  at = 0;
  constructor(readonly b: Buffer) {}
  uvarint(): number {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const x = this.b[this.at++];
      v |= (x & 0x7f) << shift;
      if (!(x & 0x80)) return v >>> 0;
    }
  }
  length(ctx: Ctx, int16: boolean): number {
    if (ctx.flexible) return this.uvarint() - 1;
    const n = int16 ? this.b.readInt16BE(this.at) : this.b.readInt32BE(this.at);
    this.at += int16 ? 2 : 4;
    return n;
  }
  skipTagged(): void {
    const n = this.uvarint();
    for (let i = 0; i < n; i++) {
      this.uvarint();
      this.at += this.uvarint();
    }
  }
}

function decodeStruct(ctx: Ctx, r: Reader, fields: Field[]): any {
  const out: any = {};
  for (const f of fields) if (ctx.present(f)) out[f.name] = decodeField(ctx, r, f);
  if (ctx.flexible) r.skipTagged();
  return out;
}

function decodeValue(ctx: Ctx, r: Reader, type: string, f: Field, nullable: boolean): any {
  const b = r.b;
  switch (type) {
    case "int8": { const v = b.readInt8(r.at); r.at += 1; return v; }
    case "bool": { const v = b[r.at] !== 0; r.at += 1; return v; }
    case "int16": case "uint16": { const v = b.readInt16BE(r.at); r.at += 2; return v; }
    case "int32": { const v = b.readInt32BE(r.at); r.at += 4; return v; }
    case "int64": { const v = b.readBigInt64BE(r.at); r.at += 8; return v; }
    case "float64": { const v = b.readDoubleBE(r.at); r.at += 8; return v; }
    case "uuid": { const v = Buffer.from(b.subarray(r.at, r.at + 16)); r.at += 16; return v; }
    case "string": case "bytes": case "records": {
      const n = r.length(ctx, type === "string");
      if (n < 0) return null;
      const v = b.subarray(r.at, r.at + n);
      r.at += n;
      return type === "string" ? v.toString() : Buffer.from(v);
    }
    default: {
      if (nullable) {
        const marker = b.readInt8(r.at);
        r.at += 1;
        if (marker < 0) return null;
      }
      return decodeStruct(ctx, r, ctx.structFields(f));
    }
  }
}

function decodeField(ctx: Ctx, r: Reader, f: Field): any {
  const nullable = inRange(f.nullableVersions, ctx.version);
  if (!f.type.startsWith("[]")) return decodeValue(ctx, r, f.type, f, nullable);
  const n = r.length(ctx, false);
  if (n < 0) return null;
  const elem = f.type.slice(2);
  return Array.from({ length: n }, () => decodeValue(ctx, r, elem, f, false));
}

// A whole request frame (size, header v1 or v2, body) for `apiKey` v`version`.
export function encodeRequest(apiKey: number, version: number, correlationId: number, clientId: string, body: object): Buffer {
  const msg = load(apiKey, "request");
  const flexible = inRange(msg.flexibleVersions, version);
  const ctx = new Ctx(msg, version, flexible);
  return requestFrame(apiKey, version, correlationId, clientId, Buffer.concat(encodeStruct(ctx, msg.fields, body)), flexible);
}

// The broker's side, for the fuzzer's fake broker (tests/host/fuzz.ts): a whole request frame
// decoded (header v1 or v2 by the API's flexible versions), and a response encoded (header v1
// when flexible, ApiVersions always v0). Fields left out of `body` get zeros, empty or null.
export function decodeRequest(frame: Buffer): { apiKey: number; version: number; correlationId: number; clientId: string | null; body: any } {
  const apiKey = frame.readInt16BE(4);
  const version = frame.readInt16BE(6);
  const correlationId = frame.readInt32BE(8);
  const msg = load(apiKey, "request");
  const flexible = inRange(msg.flexibleVersions, version);
  const ctx = new Ctx(msg, version, flexible);
  const r = new Reader(frame);
  const idLength = frame.readInt16BE(12);
  const clientId = idLength < 0 ? null : frame.toString("utf8", 14, 14 + idLength);
  r.at = 14 + Math.max(0, idLength);
  if (flexible) r.skipTagged();
  const body = decodeStruct(ctx, r, msg.fields);
  if (r.at !== frame.length) throw new Error(`API ${apiKey} v${version} request: ${frame.length - r.at} bytes left over`);
  return { apiKey, version, correlationId, clientId, body };
}

export function encodeResponse(apiKey: number, version: number, correlationId: number, body: object): Buffer {
  const msg = load(apiKey, "response");
  const flexible = inRange(msg.flexibleVersions, version);
  const ctx = new Ctx(msg, version, flexible);
  const head = Buffer.alloc(8);
  head.writeInt32BE(correlationId, 4);
  const frame = Buffer.concat([head, ...(flexible && apiKey !== 18 ? [Buffer.from([0])] : []), ...encodeStruct(ctx, msg.fields, body)]);
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

// A whole response frame (size prefix included) of `apiKey` v`version`: its correlation id and
// decoded body.
export function decodeResponse(apiKey: number, version: number, frame: Buffer): { correlationId: number; body: any } {
  const msg = load(apiKey, "response");
  const flexible = inRange(msg.flexibleVersions, version);
  const ctx = new Ctx(msg, version, flexible);
  const r = new Reader(frame);
  r.at = 4;
  const correlationId = frame.readInt32BE(r.at);
  r.at += 4;
  // ApiVersions answers with header v0 whatever its version.
  if (flexible && apiKey !== 18) r.skipTagged();
  const body = decodeStruct(ctx, r, msg.fields);
  if (r.at !== frame.length) throw new Error(`API ${apiKey} v${version} response: ${frame.length - r.at} bytes left over`);
  return { correlationId, body };
}

// Sends one request to `port` (`host:port` strings too) on a new connection and decodes the
// answer; rejects when the peer closes first (the filter refusing the connection).
export function call(port: number | string, apiKey: number, version: number, clientId: string, body: object, timeoutMs = 15000): Promise<any> {
  const portNumber = typeof port === "number" ? port : Number(port.split(":").pop());
  const frame = encodeRequest(apiKey, version, 1, clientId, body);
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: "127.0.0.1", port: portNumber });
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer to API ${apiKey} v${version} in ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (f: () => void) => {
      clearTimeout(timer);
      s.destroy();
      f();
    };
    s.on("connect", () => s.write(frame));
    s.on("data", (d) => {
      data = Buffer.concat([data, d]);
      if (data.length >= 4 && data.length >= 4 + data.readInt32BE(0)) {
        done(() => {
          try {
            resolve(decodeResponse(apiKey, version, data.subarray(0, 4 + data.readInt32BE(0))).body);
          } catch (e) {
            reject(e);
          }
        });
      }
    });
    s.on("close", () => done(() => reject(new Error(`connection closed before an answer to API ${apiKey} v${version}`))));
    s.on("error", (e) => done(() => reject(e)));
  });
}

// One connection for several requests in turn (state the filter keeps per connection).
export class Session {
  private socket;
  private data = Buffer.alloc(0);
  private waiting: ((frame: Buffer | null) => void) | undefined;
  private closed = false;
  private correlationId = 0;

  constructor(port: number) {
    this.socket = createConnection({ host: "127.0.0.1", port });
    this.socket.on("data", (d) => {
      this.data = Buffer.concat([this.data, d]);
      this.deliver();
    });
    this.socket.on("close", () => {
      this.closed = true;
      this.deliver();
    });
    this.socket.on("error", () => undefined);
  }

  private deliver(): void {
    const w = this.waiting;
    if (!w) return;
    const d = this.data;
    if (d.length >= 4 && d.length >= 4 + d.readInt32BE(0)) {
      const size = 4 + d.readInt32BE(0);
      this.waiting = undefined;
      this.data = d.subarray(size);
      w(d.subarray(0, size));
    } else if (this.closed) {
      this.waiting = undefined;
      w(null);
    }
  }

  async call(apiKey: number, version: number, clientId: string, body: object): Promise<any> {
    const id = ++this.correlationId;
    const frame = await new Promise<Buffer | null>((resolve) => {
      this.waiting = resolve;
      this.socket.write(encodeRequest(apiKey, version, id, clientId, body));
    });
    if (frame === null) throw new Error(`connection closed before an answer to API ${apiKey} v${version}`);
    const r = decodeResponse(apiKey, version, frame);
    if (r.correlationId !== id) throw new Error(`answer ${r.correlationId} to request ${id}`);
    return r.body;
  }

  close(): void {
    this.socket.destroy();
  }
}
