// A schema-driven Kafka codec in TypeScript for the differential ("Kafka as the oracle") suite:
// encodes requests and decodes responses of any API and version straight from Kafka's JSON
// message schemas, independently of the filter's AssemblyScript walker, so a bug in the walker's
// tables cannot hide itself from the oracle. Values are plain objects keyed by field name.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_SCHEMAS, parseVersions, readSchema } from "../../../build/codegen/generate.ts";

export interface Field {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  flexibleVersions?: string;
  entityType?: string;
  default?: string | number | boolean;
  fields?: Field[];
}

interface Message {
  name: string;
  type: string;
  apiKey?: number;
  listeners?: string[];
  validVersions: string;
  flexibleVersions: string;
  fields: Field[];
  commonStructs?: { name: string; versions: string; fields: Field[] }[];
}

export interface Api {
  key: number;
  name: string;
  listeners: string[];
  min: number;
  max: number;
  request: Message;
  response: Message;
}

export type Value = null | boolean | number | bigint | string | Buffer | Value[] | { [k: string]: Value };
export type Struct = { [k: string]: Value };

export function inRange(text: string | undefined, v: number): boolean {
  if (text === undefined) return false;
  const r = parseVersions(text, "");
  return v >= r.min && v <= r.max;
}

export function loadApis(dir = DEFAULT_SCHEMAS): Map<number, Api> {
  const requests = new Map<string, Message>();
  const responses = new Map<string, Message>();
  for (const f of readdirSync(dir)) {
    const m = readSchema(join(dir, f)) as unknown as Message;
    if (m.type === "request") requests.set(m.name.replace(/Request$/, ""), m);
    if (m.type === "response") responses.set(m.name.replace(/Response$/, ""), m);
  }
  const apis = new Map<number, Api>();
  for (const [name, request] of requests) {
    const range = parseVersions(request.validVersions, name);
    if (range.min > range.max) continue; // "none": removed from the protocol
    apis.set(request.apiKey!, {
      key: request.apiKey!, name, listeners: request.listeners ?? [], min: range.min, max: range.max,
      request, response: responses.get(name)!,
    });
  }
  return apis;
}

// The fields of a struct-typed field: inline, or one of the message's common structs.
export function structFields(msg: Message, f: Field): Field[] {
  if (f.fields) return f.fields;
  const t = f.type.replace(/^\[\]/, "");
  const common = msg.commonStructs?.find((c) => c.name === t);
  if (!common) throw new Error(`${msg.name}.${f.name}: unknown type ${f.type}`);
  return common.fields;
}

const PRIMS = new Set(["int8", "int16", "uint16", "int32", "int64", "float64", "bool", "uuid", "string", "bytes", "records"]);
export const isPrimitive = (t: string) => PRIMS.has(t);
export const isArray = (t: string) => t.startsWith("[]");
export const elementType = (t: string) => t.slice(2);

function flexibleAt(msg: Message, v: number): boolean {
  return inRange(msg.flexibleVersions, v);
}

// ---------------------------------------------------------------- encoding

class Writer {
  parts: Buffer[] = [];
  int(n: number, bytes: 1 | 2 | 4, unsigned = false) {
    const b = Buffer.alloc(bytes);
    if (bytes === 1) b.writeInt8(n);
    else if (bytes === 2) unsigned ? b.writeUInt16BE(n) : b.writeInt16BE(n);
    else b.writeInt32BE(n);
    this.parts.push(b);
  }
  i64(n: bigint | number) {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(n));
    this.parts.push(b);
  }
  f64(n: number) {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(n);
    this.parts.push(b);
  }
  uvarint(n: number) {
    const out: number[] = [];
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    this.parts.push(Buffer.from(out));
  }
  raw(b: Buffer) {
    this.parts.push(b);
  }
  // A length (or -1 for null) as the version's encoding wants it.
  len(n: number, compact: boolean, int16 = false) {
    if (compact) this.uvarint(n + 1);
    else if (int16) this.int(n, 2);
    else this.int(n, 4);
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function writeValue(w: Writer, msg: Message, f: Field, type: string, value: Value, v: number, flex: boolean) {
  const nullable = inRange(f.nullableVersions, v);
  if (isArray(type)) {
    if (value === null) {
      if (!nullable) throw new Error(`${msg.name}.${f.name} v${v} is not nullable`);
      w.len(-1, flex);
      return;
    }
    const items = value as Value[];
    w.len(items.length, flex);
    for (const item of items) writeValue(w, msg, f, elementType(type), item, v, flex);
    return;
  }
  switch (type) {
    case "int8": return w.int(Number(value), 1);
    case "int16": return w.int(Number(value), 2);
    case "uint16": return w.int(Number(value), 2, true);
    case "int32": return w.int(Number(value), 4);
    case "int64": return w.i64(value as number | bigint);
    case "float64": return w.f64(Number(value));
    case "bool": return w.int(value ? 1 : 0, 1);
    case "uuid": return w.raw(value as Buffer);
    case "string": {
      if (value === null) return w.len(-1, flex, true);
      const b = Buffer.from(value as string);
      w.len(b.length, flex, true);
      return w.raw(b);
    }
    case "bytes":
    case "records": {
      if (value === null) return w.len(-1, flex);
      w.len((value as Buffer).length, flex);
      return w.raw(value as Buffer);
    }
  }
  // A nullable struct carries a marker byte: -1 null, 1 present.
  if (nullable && !isArray(f.type)) {
    w.int(value === null ? -1 : 1, 1);
    if (value === null) return;
  }
  writeStruct(w, msg, structFields(msg, f), value as Struct, v, flex);
}

// The value of a field the caller left out: null where the version allows it, else empty/zero.
function absent(msg: Message, f: Field, v: number): Value {
  if (inRange(f.nullableVersions, v)) return null;
  if (isArray(f.type)) return [];
  if (f.type === "string") return f.default !== undefined && f.default !== "null" ? String(f.default) : "";
  if (f.type === "bytes" || f.type === "records") return Buffer.alloc(0);
  if (f.type === "uuid") return Buffer.alloc(16);
  if (f.type === "bool") return f.default === true || f.default === "true";
  if (f.type === "int64") return BigInt(f.default !== undefined ? Number(f.default) : 0);
  if (isPrimitive(f.type)) return f.default !== undefined ? Number(f.default) : 0;
  return {};
}

function writeStruct(w: Writer, msg: Message, fields: Field[], s: Struct, v: number, flex: boolean) {
  for (const f of fields) {
    if (!inRange(f.versions, v) || (flex && inRange(f.taggedVersions, v))) continue;
    writeValue(w, msg, f, f.type, s[f.name] === undefined ? absent(msg, f, v) : s[f.name], v, flex && !(f.flexibleVersions === "none"));
  }
  // Tagged fields are optional; requests carry none.
  if (flex) w.uvarint(0);
}

export function encodeRequest(api: Api, v: number, correlationId: number, clientId: string, body: Struct): Buffer {
  const w = new Writer();
  w.int(0, 4);
  w.int(api.key, 2);
  w.int(v, 2);
  w.int(correlationId, 4);
  const id = Buffer.from(clientId);
  w.int(id.length, 2);
  w.raw(id);
  const flex = flexibleAt(api.request, v);
  if (flex) w.uvarint(0);
  try {
    writeStruct(w, api.request, api.request.fields, body, v, flex);
  } catch (e) {
    throw new Error(`encoding ${api.name} v${v}: ${(e as Error).message}`);
  }
  const frame = w.done();
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

// ---------------------------------------------------------------- decoding

class Reader {
  at = 0;
  constructor(readonly b: Buffer) {}
  need(n: number) {
    if (this.at + n > this.b.length) throw new Error(`response truncated at ${this.at} (+${n} of ${this.b.length})`);
  }
  int(bytes: 1 | 2 | 4, unsigned = false): number {
    this.need(bytes);
    const n = bytes === 1 ? this.b.readInt8(this.at) : bytes === 2 ? (unsigned ? this.b.readUInt16BE(this.at) : this.b.readInt16BE(this.at)) : this.b.readInt32BE(this.at);
    this.at += bytes;
    return n;
  }
  i64(): bigint {
    this.need(8);
    const n = this.b.readBigInt64BE(this.at);
    this.at += 8;
    return n;
  }
  f64(): number {
    this.need(8);
    const n = this.b.readDoubleBE(this.at);
    this.at += 8;
    return n;
  }
  uvarint(): number {
    let n = 0;
    let shift = 0;
    for (;;) {
      this.need(1);
      const byte = this.b[this.at++];
      n += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) return n;
      shift += 7;
    }
  }
  bytes(n: number): Buffer {
    this.need(n);
    const out = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  len(compact: boolean, int16 = false): number {
    if (compact) return this.uvarint() - 1;
    return int16 ? this.int(2) : this.int(4);
  }
}

function readValue(r: Reader, msg: Message, f: Field, type: string, v: number, flex: boolean): Value {
  if (isArray(type)) {
    const n = r.len(flex);
    if (n < 0) return null;
    const out: Value[] = [];
    for (let i = 0; i < n; i++) out.push(readValue(r, msg, f, elementType(type), v, flex));
    return out;
  }
  switch (type) {
    case "int8": return r.int(1);
    case "int16": return r.int(2);
    case "uint16": return r.int(2, true);
    case "int32": return r.int(4);
    case "int64": return r.i64();
    case "float64": return r.f64();
    case "bool": return r.int(1) !== 0;
    case "uuid": return Buffer.from(r.bytes(16));
    case "string": {
      const n = r.len(flex, true);
      return n < 0 ? null : r.bytes(n).toString("utf8");
    }
    case "bytes":
    case "records": {
      const n = r.len(flex);
      return n < 0 ? null : Buffer.from(r.bytes(n));
    }
  }
  if (!isArray(f.type) && inRange(f.nullableVersions, v) && r.int(1) < 0) return null;
  return readStruct(r, msg, structFields(msg, f), v, flex);
}

function readStruct(r: Reader, msg: Message, fields: Field[], v: number, flex: boolean): Struct {
  const s: Struct = {};
  for (const f of fields) {
    if (!inRange(f.versions, v) || (flex && inRange(f.taggedVersions, v))) continue;
    s[f.name] = readValue(r, msg, f, f.type, v, flex && !(f.flexibleVersions === "none"));
  }
  if (flex) {
    const count = r.uvarint();
    for (let i = 0; i < count; i++) {
      const tag = r.uvarint();
      const size = r.uvarint();
      const f = fields.find((x) => x.tag === tag && inRange(x.taggedVersions, v) && inRange(x.versions, v));
      const end = r.at + size;
      if (f) s[f.name] = readValue(new Reader(r.bytes(size)), msg, f, f.type, v, true);
      else r.at = end;
    }
  }
  return s;
}

// The response header (v1 with tagged fields for flexible versions, except ApiVersions, always
// v0) and body of one whole response frame (size prefix included).
export function decodeResponse(api: Api, v: number, frame: Buffer): { correlationId: number; body: Struct } {
  const r = new Reader(frame.subarray(4));
  const correlationId = r.int(4);
  const flex = flexibleAt(api.response, v);
  if (flex && api.key !== 18) {
    const n = r.uvarint();
    for (let i = 0; i < n; i++) {
      r.uvarint();
      r.bytes(r.uvarint());
    }
  }
  return { correlationId, body: readStruct(r, api.response, api.response.fields, v, flex) };
}

// Walks a decoded response with each field's schema: `visit(struct, fields, path)` per struct.
export function walkStructs(msg: Message, fields: Field[], s: Struct, v: number, visit: (s: Struct, fields: Field[], parents: Struct[]) => void, parents: Struct[] = []) {
  visit(s, fields, parents);
  for (const f of fields) {
    const val = s[f.name];
    if (val === undefined || val === null) continue;
    const t = isArray(f.type) ? elementType(f.type) : f.type;
    if (isPrimitive(t)) continue;
    const sub = structFields(msg, f);
    for (const item of (isArray(f.type) ? val as Value[] : [val])) walkStructs(msg, sub, item as Struct, v, visit, [...parents, s]);
  }
}
