// Record validation (config key `validation`): rules per topic (literal names, or prefixes
// ending in "*", in the client's names, and the broker-side names rewriting makes of them: see
// coverRewrites) on the records of Produce requests: key required or
// forbidden, required headers (optionally with a value pattern), record size and header count,
// Confluent schema-registry framing (magic 0 + schema id in a set or range; Protobuf's
// message-index list) and well-formed JSON. `checkRecords` reads the records of one magic-2
// batch's (uncompressed) payload, bounded by its length, never trusting a varint. Mistakes in
// the configuration are refused with the key named.
import { JsonKind, JsonValue } from "./json";
import { Regex } from "./regex";
import { Check, Reader } from "./guardrails";
import { RewriteRules } from "./rewrite_rules";

export const enum VCheck {
  Malformed,
  OldFormat,
  Unsupported,
  Inflated,
  KeyRequired,
  KeyForbidden,
  RecordBytes,
  Headers,
  SchemaFraming,
  SchemaId,
  ProtobufIndexes,
  KeySchema,
  Json,
  Count,
}

export class HeaderRule {
  constructor(public name: ArrayBuffer, public pattern: Regex | null, public missing: Check, public bad: Check) {}
}

export class ValidationRule {
  name: string = "";
  dryRun: bool = false;
  // Literal names and prefixes (without their "*"), UTF-8.
  topics: ArrayBuffer[] = [];
  prefixes: ArrayBuffer[] = [];
  // 1 required, -1 forbidden, 0 unchecked.
  key: i32 = 0;
  maxRecordBytes: i64 = -1;
  maxHeaders: i64 = -1;
  headers: HeaderRule[] = [];
  // Schema-registry framing of values (and keys with schemaKey): ids as [min, max] pairs.
  schema: bool = false;
  schemaKey: bool = false;
  schemaIds: i32[] = [];
  protobuf: bool = false;
  // JSON values: max depth, an object with these top-level fields (UTF-8, no escapes).
  json: bool = false;
  jsonObject: bool = false;
  jsonDepth: i32 = 64;
  jsonFields: ArrayBuffer[] = [];
  // Batches in a codec the module cannot inflate pass (counted) instead of being refused.
  passUnsupported: bool = false;
  checks: StaticArray<Check> = new StaticArray<Check>(VCheck.Count);

  // The broker-side names its names become under any principal's rewriting (coverRewrites).
  brokerTopics: ArrayBuffer[] = [];
  brokerPrefixes: ArrayBuffer[] = [];

  appliesTo(ptr: usize, len: i32): bool {
    return listed(this.topics, ptr, len, false) || listed(this.prefixes, ptr, len, true);
  }

  // Whether a topic the client names `client` and the broker gets as `broker` is the rule's.
  covers(clientPtr: usize, clientLen: i32, brokerPtr: usize, brokerLen: i32): bool {
    return this.appliesTo(clientPtr, clientLen) || listed(this.brokerTopics, brokerPtr, brokerLen, false) ||
      listed(this.brokerPrefixes, brokerPtr, brokerLen, true);
  }

  get readsRecords(): bool {
    return this.key != 0 || this.maxRecordBytes >= 0 || this.maxHeaders >= 0 || this.headers.length > 0 || this.schema ||
      this.json;
  }
}

// Whether the `len` bytes at `ptr` are one of `names` (or, with `prefix`, start with one).
export function listed(names: ArrayBuffer[], ptr: usize, len: i32, prefix: bool): bool {
  for (let i = 0; i < names.length; i++) {
    const t = unchecked(names[i]);
    const n = t.byteLength;
    if ((n == len || (prefix && n < len)) && memory.compare(changetype<usize>(t), ptr, <usize>n) == 0) return true;
  }
  return false;
}

// With rewriting, one broker topic has several client names: `orders` renamed to `orders-v2`
// (or a tenant's `blue.` prefix) is the broker's `orders-v2` that a client may also name
// directly (a principal the rename is not for, or the renamed principal itself). A rule then
// also covers the broker-side names of its topics under every enforced tenant prefix and rename
// (whoever's), so that it cannot be walked around by naming the target.
export function coverRewrites(v: Validation, rw: RewriteRules): void {
  const tenants: ArrayBuffer[] = [new ArrayBuffer(0)];
  for (let i = 0; i < rw.tenants.length; i++) tenants.push(rw.tenants[i].prefix);
  for (let i = 0; i < v.rules.length; i++) {
    const rule = v.rules[i];
    for (let t = 0; t < tenants.length; t++) {
      const p = tenants[t];
      for (let j = 0; j < rule.topics.length; j++) rule.brokerTopics.push(joined(p, rule.topics[j]));
      for (let j = 0; j < rule.prefixes.length; j++) rule.brokerPrefixes.push(joined(p, rule.prefixes[j]));
      for (let j = 0; j < rw.renames.length; j++) {
        const r = rw.renames[j];
        if (rule.appliesTo(changetype<usize>(r.from), r.from.byteLength)) rule.brokerTopics.push(joined(p, r.to));
      }
    }
  }
}

function joined(a: ArrayBuffer, b: ArrayBuffer): ArrayBuffer {
  const out = new ArrayBuffer(a.byteLength + b.byteLength);
  memory.copy(changetype<usize>(out), changetype<usize>(a), <usize>a.byteLength);
  memory.copy(changetype<usize>(out) + <usize>a.byteLength, changetype<usize>(b), <usize>b.byteLength);
  return out;
}

function check(rule: string, code: i32, detail: string): Check {
  const c = new Check();
  c.code = code;
  c.message = String.UTF8.encode("validation '" + rule + "': " + detail);
  return c;
}

export class Validation {
  rules: ValidationRule[] = [];
  // Inflated bytes one request may take (all its compressed batches together).
  maxInflatedBytes: i32 = 4 << 20;
}

export class ValidationResult {
  rules: Validation | null = null;
  error: string = "";
}

export const MAX_VALIDATION_RULES = 64;

// Rule keys by index (keyIndex), and the checks' messages by VCheck.
const KEYS = " name topics dry_run key max_record_bytes max_headers headers schema_ids schema_key protobuf json json_object json_fields json_max_depth unsupported_compression ";
const MESSAGES = "malformed batch|batch format < v2|codec not supported|inflates past max_inflated_bytes|key required|key forbidden|record over max_record_bytes|headers over max_headers|no schema id|schema id not allowed|bad protobuf indexes|bad key schema id|value not ";

function keyIndex(key: string): i32 {
  const at = key.length > 0 && key.indexOf(" ") < 0 ? KEYS.indexOf(" " + key + " ") : -1;
  if (at < 0) return -1;
  let n = 0;
  for (let i = 0; i < at; i++) if (KEYS.charCodeAt(i) == 0x20) n++;
  return n;
}

function parseRule(v: JsonValue, rd: Reader): ValidationRule | null {
  const rule = new ValidationRule();
  const name = v.kind == JsonKind.Object ? v.get("name") : null;
  if (name === null || name.kind != JsonKind.String || !isName(name.str)) {
    rd.fail("rules", "need names of 1-64 [A-Za-z0-9_-]");
    return null;
  }
  const n = name.str;
  rule.name = n;
  const r = new Reader("validation.rules." + n);
  let fields = "";
  let flags = 0;
  for (let i = 0; i < v.keys.length && r.error.length == 0; i++) {
    const key = unchecked(v.keys[i]);
    const item = unchecked(v.items[i]);
    const k = keyIndex(key);
    if (k == 1 || k == 12) {
      // topics, json_fields
      const t = r.strings(key, item);
      for (let j = 0; j < t.length; j++) {
        const s = unchecked(t[j]);
        if (k == 12) {
          rule.jsonFields.push(String.UTF8.encode(s));
          fields += (j > 0 ? ", " : "") + s;
        } else if (s.endsWith("*")) rule.prefixes.push(String.UTF8.encode(s.substring(0, s.length - 1)));
        else rule.topics.push(String.UTF8.encode(s));
      }
      if (t.length > 32) r.fail(key, "may name at most 32");
    } else if (k == 2 || (k >= 8 && k <= 11)) {
      // dry_run, schema_key, protobuf, json, json_object
      if (r.flag(key, item)) flags |= 1 << k;
    } else if (k == 3 || k == 14) {
      // key, unsupported_compression
      const a = k == 3 ? "required" : "pass";
      const b = k == 3 ? "forbidden" : "refuse";
      if (item.str == a) flags |= 1 << k;
      else if (item.str == b) flags |= 1 << (k + 16);
      else r.fail(key, "must be \"" + a + "\" or \"" + b + "\"");
    } else if (k == 4) rule.maxRecordBytes = r.whole(key, item, 1);
    else if (k == 5) rule.maxHeaders = r.whole(key, item, 0);
    else if (k == 13) {
      rule.jsonDepth = <i32>r.whole(key, item, 1);
      if (rule.jsonDepth >= MAX_JSON_DEPTH) r.fail(key, "may be at most 255");
    } else if (k == 6) {
      // {"name": null | "pattern"}: required; with a pattern, the value must match it.
      if (item.kind != JsonKind.Object || item.keys.length > 32) r.fail(key, "must map 1-32 names to null or a pattern");
      for (let j = 0; j < item.keys.length && r.error.length == 0; j++) {
        const h = unchecked(item.keys[j]);
        const p = unchecked(item.items[j]);
        const re: Regex | null = p.kind == JsonKind.Null ? null : r.pattern(key + "." + h, p);
        rule.headers.push(new HeaderRule(String.UTF8.encode(h), re, check(n, 87, "no header " + h),
          check(n, 87, "header " + h + " must match " + p.str)));
      }
    } else if (k == 7) {
      // Ids and [min, max] ranges.
      flags |= 1 << 29;
      if (item.kind != JsonKind.Array || item.items.length == 0) r.fail(key, "must list ids or [min, max]");
      for (let j = 0; j < item.items.length && r.error.length == 0; j++) {
        const e = unchecked(item.items[j]);
        const pair = e.kind == JsonKind.Array && e.items.length == 2;
        const lo = r.whole(key, pair ? e.items[0] : e, 0);
        const hi = pair ? r.whole(key, e.items[1], 0) : lo;
        if (lo > hi || hi > 2147483647) r.fail(key, "has a bad range");
        rule.schemaIds.push(<i32>lo);
        rule.schemaIds.push(<i32>hi);
      }
    } else if (k != 0) r.fail(key, "is unknown");
  }
  if (r.error.length == 0 && rule.topics.length + rule.prefixes.length == 0) r.fail("topics", "must list topics");
  if (r.error.length > 0) {
    rd.error = r.error;
    return null;
  }
  rule.dryRun = (flags & (1 << 2)) != 0;
  rule.key = (flags & (1 << 3)) != 0 ? 1 : (flags & (1 << 19)) != 0 ? -1 : 0;
  rule.passUnsupported = (flags & (1 << 14)) != 0;
  rule.protobuf = (flags & (1 << 9)) != 0;
  rule.schemaKey = (flags & (1 << 8)) != 0;
  rule.jsonObject = fields.length > 0 || (flags & (1 << 11)) != 0;
  rule.json = rule.jsonObject || (flags & (1 << 10)) != 0;
  rule.schema = (flags & (1 << 29 | 3 << 8)) != 0;
  // Messages, in VCheck order.
  let at = 0;
  for (let i = 0; i < VCheck.Count; i++) {
    let e = MESSAGES.indexOf("|", at);
    if (e < 0) e = MESSAGES.length;
    let detail = MESSAGES.substring(at, e);
    if (i == VCheck.Json) detail += rule.jsonObject ? "JSON object" + (fields.length > 0 ? " with " + fields : "") : "JSON";
    unchecked(rule.checks[i] = check(n, i == VCheck.Unsupported ? 76 : 87, detail));
    at = e + 1;
  }
  return rule;
}

function isName(s: string): bool {
  if (s.length == 0 || s.length > 64) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const l = c | 0x20;
    if (!((c >= 0x30 && c <= 0x39) || (l >= 0x61 && l <= 0x7a) || c == 0x2d || c == 0x5f)) return false;
  }
  return true;
}

export function parseValidation(v: JsonValue): ValidationResult {
  const res = new ValidationResult();
  const out = new Validation();
  const r = new Reader("validation");
  if (v.kind != JsonKind.Object) r.fail("rules", "is missing");
  for (let i = 0; i < v.keys.length && r.error.length == 0; i++) {
    const key = v.keys[i];
    const item = v.items[i];
    if (key == "max_inflated_bytes") {
      const n = r.whole(key, item, 1024);
      if (n > 1073741824) r.fail(key, "may be at most 1 GiB");
      out.maxInflatedBytes = <i32>n;
    } else if (key == "rules") {
      if (item.kind != JsonKind.Array || item.items.length > MAX_VALIDATION_RULES) r.fail(key, "must be an array of at most 64 rules");
      for (let j = 0; j < item.items.length && r.error.length == 0; j++) {
        const rule = parseRule(item.items[j], r);
        if (rule === null) break;
        for (let k = 0; k < out.rules.length; k++) if (out.rules[k].name == rule.name) r.fail("rules", "names " + rule.name + " twice");
        out.rules.push(rule);
      }
    } else r.fail(key, "is not a known key (rules, max_inflated_bytes)");
  }
  if (r.error.length == 0 && out.rules.length == 0) r.fail("rules", "must hold a rule");
  res.error = r.error;
  if (r.error.length == 0) res.rules = out;
  return res;
}

// ---- Records ----

// A varint (zigzag) at `p` below `end`: into vValue and vNext; false when malformed (more than
// five bytes, or past `end`).
let vValue: i32 = 0;
let vNext: usize = 0;

function varint(p: usize, end: usize): bool {
  let raw: u32 = 0;
  for (let shift: u32 = 0; shift < 35; shift += 7) {
    if (p >= end) return false;
    const b = <u32>load<u8>(p++);
    raw |= (b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      vValue = <i32>(raw >>> 1) ^ -(<i32>(raw & 1));
      vNext = p;
      return true;
    }
  }
  return false;
}

// A varlong's bytes skipped (timestamps): false when malformed.
function skipVarlong(p: usize, end: usize): bool {
  for (let i = 0; i < 10; i++) {
    if (p >= end) return false;
    if ((load<u8>(p++) & 0x80) == 0) {
      vNext = p;
      return true;
    }
  }
  return false;
}

// A varint-length-prefixed field (-1: null) at `p`: its start in fPtr, length in fLen.
let fPtr: usize = 0;
let fLen: i32 = 0;

function field(p: usize, end: usize): bool {
  if (!varint(p, end)) return false;
  const n = vValue;
  if (n < -1 || <u64>vNext + <u64>max(n, 0) > <u64>end) return false;
  fPtr = vNext;
  fLen = n;
  vNext += <usize>max(n, 0);
  return true;
}

// Which record failed (its index in the batch), for the answer.
export let failedRecord: i32 = -1;

// The records of one magic-2 batch, `count` of them in `len` bytes at `ptr` (the uncompressed
// payload after the 61-byte header), against `rule`: the failed check, or null when they pass.
// The records must fill the payload exactly.
export function checkRecords(rule: ValidationRule, ptr: usize, len: i32, count: i32): Check | null {
  const end = ptr + <usize>len;
  let p = ptr;
  const c = rule.checks;
  for (let i = 0; i < count; i++) {
    failedRecord = i;
    if (!varint(p, end)) return unchecked(c[VCheck.Malformed]);
    const size = vValue;
    if (size < 0 || <u64>vNext + <u64>size > <u64>end) return unchecked(c[VCheck.Malformed]);
    const recEnd = vNext + <usize>size;
    // attributes, timestampDelta, offsetDelta
    p = vNext + 1;
    if (p > recEnd || !skipVarlong(p, recEnd) || !varint(vNext, recEnd)) return unchecked(c[VCheck.Malformed]);
    if (!field(vNext, recEnd)) return unchecked(c[VCheck.Malformed]);
    const keyPtr = fPtr;
    const keyLen = fLen;
    if (!field(vNext, recEnd)) return unchecked(c[VCheck.Malformed]);
    const valuePtr = fPtr;
    const valueLen = fLen;
    if (!varint(vNext, recEnd) || vValue < 0) return unchecked(c[VCheck.Malformed]);
    const headerCount = vValue;
    const headersPtr = vNext;
    // Every header takes at least two bytes: a lying count is caught before any is read.
    if (<i64>headerCount * 2 > <i64>(recEnd - headersPtr)) return unchecked(c[VCheck.Malformed]);
    let h = headersPtr;
    for (let j = 0; j < headerCount; j++) {
      if (!field(h, recEnd) || fLen < 0 || !field(vNext, recEnd)) return unchecked(c[VCheck.Malformed]);
      h = vNext;
    }
    if (h != recEnd) return unchecked(c[VCheck.Malformed]);
    p = recEnd;
    if (rule.key > 0 && keyLen < 0) return unchecked(c[VCheck.KeyRequired]);
    if (rule.key < 0 && keyLen >= 0) return unchecked(c[VCheck.KeyForbidden]);
    if (rule.maxRecordBytes >= 0 && <i64>size > rule.maxRecordBytes) return unchecked(c[VCheck.RecordBytes]);
    if (rule.maxHeaders >= 0 && <i64>headerCount > rule.maxHeaders) return unchecked(c[VCheck.Headers]);
    for (let j = 0; j < rule.headers.length; j++) {
      const hr = unchecked(rule.headers[j]);
      const bad = header(hr, headersPtr, headerCount, recEnd);
      if (bad == 1) return hr.missing;
      if (bad == 2) return hr.bad;
    }
    let jsonAt = valuePtr;
    let jsonLen = valueLen;
    if (rule.schema) {
      if (rule.schemaKey && schemaId(rule, keyPtr, keyLen) != 0) return unchecked(c[VCheck.KeySchema]);
      const s = schemaId(rule, valuePtr, valueLen);
      if (s != 0) return unchecked(c[s == 1 ? VCheck.SchemaFraming : VCheck.SchemaId]);
      jsonAt += 5;
      jsonLen -= 5;
      if (rule.protobuf && !protobufIndexes(valuePtr + 5, valuePtr + <usize>valueLen)) return unchecked(c[VCheck.ProtobufIndexes]);
    }
    if (rule.json && (jsonLen < 0 || !checkJson(jsonAt, jsonLen, rule.jsonDepth, rule.jsonObject, rule.jsonFields))) {
      return unchecked(c[VCheck.Json]);
    }
  }
  failedRecord = -1;
  return p == end ? null : unchecked(c[VCheck.Malformed]);
}

// 0: the header is there (and every value it has matches); 1: missing; 2: a value does not
// match. Kafka allows a header name more than once and consumers mostly read the last one, so
// every occurrence is checked, not only the first.
function header(hr: HeaderRule, p: usize, count: i32, end: usize): i32 {
  const name = changetype<usize>(hr.name);
  const nameLen = hr.name.byteLength;
  let found = false;
  for (let j = 0; j < count; j++) {
    field(p, end);
    const kp = fPtr;
    const kl = fLen;
    field(vNext, end);
    p = vNext;
    if (kl != nameLen || memory.compare(kp, name, <usize>kl) != 0) continue;
    found = true;
    if (hr.pattern !== null && (fLen < 0 || !hr.pattern!.matches(fPtr, fLen))) return 2;
  }
  return found ? 0 : 1;
}

// 0: framed with an allowed id; 1: no framing; 2: an id not allowed.
function schemaId(rule: ValidationRule, p: usize, len: i32): i32 {
  if (len < 5 || load<u8>(p) != 0) return 1;
  const id = <i32>bswap<u32>(load<u32>(p + 1));
  const ids = rule.schemaIds;
  if (ids.length == 0) return 0;
  for (let i = 0; i + 1 < ids.length; i += 2) if (id >= unchecked(ids[i]) && id <= unchecked(ids[i + 1])) return 0;
  return 2;
}

// Confluent's Protobuf framing: after the schema id, a zigzag-varint count of message indexes
// (0: just the first message), then that many non-negative zigzag varints.
function protobufIndexes(p: usize, end: usize): bool {
  if (!varint(p, end)) return false;
  const n = vValue;
  if (n < 0 || <i64>n > <i64>(end - vNext)) return false;
  p = vNext;
  for (let i = 0; i < n; i++) {
    if (!varint(p, end) || vValue < 0) return false;
    p = vNext;
  }
  return true;
}

// ---- JSON ----

export const MAX_JSON_DEPTH: i32 = 256;
// Per open container: its opening bracket.
const STACK = memory.data(MAX_JSON_DEPTH);

// Whether the `len` bytes at `ptr` are one JSON text (RFC 8259) in well-formed UTF-8, nested at
// most `maxDepth` deep; with `object`, a JSON object holding every field of `fields` at its top
// level (names compared as bytes: a name written with escapes does not count). Linear time, no
// allocation, no recursion.
export function checkJson(ptr: usize, len: i32, maxDepth: i32, object: bool, fields: ArrayBuffer[]): bool {
  const end = ptr + <usize>len;
  let p = skipWs(ptr, end);
  if (object && (p >= end || load<u8>(p) != 0x7b)) return false;
  let depth = 0;
  found = 0;
  const want: u32 = fields.length >= 32 ? 0xffffffff : (1 << <u32>fields.length) - 1;
  while (true) {
    // A value at p.
    if (p >= end) return false;
    let c = load<u8>(p);
    let member = false;
    if (c == 0x7b || c == 0x5b) {
      if (depth >= maxDepth || depth >= MAX_JSON_DEPTH) return false;
      store<u8>(STACK + <usize>depth, c);
      depth++;
      p = skipWs(p + 1, end);
      if (p >= end) return false;
      // Empty: the container is a value, handled below with its closer.
      if (load<u8>(p) != c + 2) {
        if (c == 0x5b) continue;
        member = true;
      }
    } else if (c == 0x22) {
      p = stringEnd(p, end);
    } else if (c == 0x74) {
      p = word(p, end, 0x65757274, 4); // "true"
    } else if (c == 0x66) {
      p = end - p >= 5 && load<u8>(p + 4) == 0x65 ? word(p, end, 0x736c6166, 5) : 0; // "false"
    } else if (c == 0x6e) {
      p = word(p, end, 0x6c6c756e, 4); // "null"
    } else {
      p = numberEnd(p, end);
    }
    // After a value: a separator (then a member name in an object), a closer, or the end.
    while (!member) {
      if (p == 0) return false;
      p = skipWs(p, end);
      if (depth == 0) return p == end && (found & want) == want;
      if (p >= end) return false;
      c = load<u8>(p);
      const open = load<u8>(STACK + <usize>(depth - 1));
      if (c == open + 2) {
        depth--;
        p++;
        continue;
      }
      if (c != 0x2c) return false;
      p = skipWs(p + 1, end);
      if (open == 0x5b) break;
      member = true;
    }
    if (member) {
      p = memberValue(p, end, depth == 1 ? fields : null);
      if (p == 0) return false;
    }
  }
  return false;
}

// Top-level fields found (bits of `fields`).
let found: u32 = 0;

// A member's name and colon at `p`: where its value starts (0 when malformed).
function memberValue(p: usize, end: usize, fields: ArrayBuffer[] | null): usize {
  const at = p;
  p = stringEnd(p, end);
  if (p == 0) return 0;
  if (fields !== null) found |= fieldBit(fields, at + 1, p - 1);
  p = skipWs(p, end);
  if (p >= end || load<u8>(p) != 0x3a) return 0;
  return skipWs(p + 1, end);
}

function fieldBit(fields: ArrayBuffer[], p: usize, e: usize): u32 {
  const n = <i32>(e - p);
  for (let i = 0; i < fields.length && i < 32; i++) {
    const f = unchecked(fields[i]);
    if (f.byteLength == n && memory.compare(changetype<usize>(f), p, <usize>n) == 0) return 1 << <u32>i;
  }
  return 0;
}

function skipWs(p: usize, end: usize): usize {
  while (p < end) {
    const c = load<u8>(p);
    if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
    p++;
  }
  return p;
}

// After the literal whose first four bytes are `w` (`n` bytes long), or 0.
function word(p: usize, end: usize, w: u32, n: usize): usize {
  return end - p >= 4 && load<u32>(p) == w ? p + n : 0;
}

function digits(p: usize, end: usize): usize {
  while (p < end && <u32>(load<u8>(p) - 0x30) < 10) p++;
  return p;
}

// The end of a number at `p`, or 0.
function numberEnd(p: usize, end: usize): usize {
  if (p < end && load<u8>(p) == 0x2d) p++;
  if (p >= end) return 0;
  const first = load<u8>(p);
  if (first == 0x30) p++;
  else if (first >= 0x31 && first <= 0x39) p = digits(p, end);
  else return 0;
  if (p < end && load<u8>(p) == 0x2e) {
    const q = digits(p + 1, end);
    if (q == p + 1) return 0;
    p = q;
  }
  if (p < end && (load<u8>(p) | 0x20) == 0x65) {
    p++;
    if (p < end && (load<u8>(p) == 0x2b || load<u8>(p) == 0x2d)) p++;
    const q = digits(p, end);
    if (q == p) return 0;
    p = q;
  }
  return p;
}

@inline function hex(c: u32): bool {
  return c - 0x30 < 10 || (c | 0x20) - 0x61 < 6;
}

// The byte after the string whose quote is at `p` (escapes and UTF-8 checked), or 0.
function stringEnd(p: usize, end: usize): usize {
  if (p >= end || load<u8>(p) != 0x22) return 0;
  p++;
  while (p < end) {
    const c = <u32>load<u8>(p);
    if (c == 0x22) return p + 1;
    if (c < 0x20) return 0;
    if (c == 0x5c) {
      if (end - p < 2) return 0;
      const e = <u32>load<u8>(p + 1);
      if (e == 0x75) {
        if (end - p < 6) return 0;
        for (let i: usize = 2; i < 6; i++) if (!hex(<u32>load<u8>(p + i))) return 0;
        p += 6;
      } else if (e == 0x22 || e == 0x5c || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74) {
        p += 2;
      } else {
        return 0;
      }
      continue;
    }
    if (c < 0x80) {
      p++;
      continue;
    }
    // UTF-8 (RFC 3629): no overlongs, no surrogates, nothing past U+10FFFF.
    let n: usize;
    let lo: u32 = 0x80;
    let hi: u32 = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c == 0xe0) lo = 0xa0;
      else if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c == 0xf0) lo = 0x90;
      else if (c == 0xf4) hi = 0x8f;
    } else return 0;
    if (end - p <= n) return 0;
    const b1 = <u32>load<u8>(p + 1);
    if (b1 < lo || b1 > hi) return 0;
    for (let i: usize = 2; i <= n; i++) if ((<u32>load<u8>(p + i) & 0xc0) != 0x80) return 0;
    p += n + 1;
  }
  return 0;
}
