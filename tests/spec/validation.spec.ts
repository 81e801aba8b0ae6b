// Record validation (issue 19): the JSON checker, the record reader (lying varints and counts),
// configuration mistakes, and the stage through the filter's own Pipeline: a failing partition
// refused alone with INVALID_RECORD, the rule's message and the failing record's index (merged
// into its topic's partitions in the broker's response, or as a topic entry of its own), every
// entry failing answered by the filter, acks=0 closing, dry-run counting.
import { FrameBuilder } from "./helpers";
import { Exchange as SharedExchange, metric } from "./exchange";
import { checkJson, checkRecords, ValidationRule } from "../../assembly/policy/validation";
import { parseConfig } from "../../assembly/policy/config";
import { ByteBuffer } from "../../assembly/kafka/byte_buffer";
import { writeUnsignedVarint } from "../../assembly/kafka/writer";
import { Verdict } from "../../assembly/proxy/kafka_frame";
import { ProxyCounters } from "../../assembly/proxy/proxy_counters";
import { Pipeline, VmState } from "../../filters/pipeline";

function json(s: string, depth: i32 = 64, object: bool = false, fields: string[] = []): bool {
  const b = String.UTF8.encode(s);
  const f: ArrayBuffer[] = [];
  for (let i = 0; i < fields.length; i++) f.push(String.UTF8.encode(fields[i]));
  return checkJson(changetype<usize>(b), b.byteLength, depth, object, f);
}

function bytes(hex: string): bool {
  const n = hex.length / 2;
  const b = new ArrayBuffer(n);
  for (let i = 0; i < n; i++) store<u8>(changetype<usize>(b) + <usize>i, <u8>I32.parseInt(hex.substr(i * 2, 2), 16));
  return checkJson(changetype<usize>(b), n, 64, false, []);
}

describe("the JSON checker", () => {
  it("takes well-formed JSON texts", () => {
    const ok = ["{}", "[]", "0", "-0.5e+10", "1E3", "\"\"", "true", "false", "null", " {\"a\" : [1, 2, {\"b\": null}] } ",
      "\"\\u00e9\\n\\\"\\\\\\/\"", "[[[]]]", "{\"a\":{}}", "\"é中😀\"", "[1,\"x\",true,false,null,{}]", "123456789012345678901234567890"];
    for (let i = 0; i < ok.length; i++) expect(json(ok[i])).toBe(true, ok[i]);
  });

  it("refuses malformed ones", () => {
    const bad = ["", " ", "{", "}", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{a:1}", "{\"a\":1,}", "01", "1.", ".5", "-", "1e",
      "+1", "tru", "nul", "falsy", "\"abc", "\"\\x\"", "\"\\u12g4\"", "[1 2]", "{\"a\":1 \"b\":2}", "{} {}", "[]]", "\"\t\"",
      "NaN", "'a'", "[1,[2,[3]]", "{\"a\":[}"];
    for (let i = 0; i < bad.length; i++) expect(json(bad[i])).toBe(false, bad[i]);
  });

  it("refuses ill-formed UTF-8 in strings", () => {
    expect(bytes("22c3a922")).toBe(true); // é
    expect(bytes("22f09f988022")).toBe(true); // 😀
    expect(bytes("22c0af22")).toBe(false); // overlong /
    expect(bytes("22e08080 22".replace(" ", ""))).toBe(false); // overlong 3-byte
    expect(bytes("22eda08022")).toBe(false); // surrogate
    expect(bytes("22f490808022")).toBe(false); // past U+10FFFF
    expect(bytes("22ff22")).toBe(false);
    expect(bytes("22c322")).toBe(false); // truncated sequence
    expect(bytes("22e28222")).toBe(false);
    expect(bytes("2280")).toBe(false); // stray continuation
    expect(bytes("22c3")).toBe(false);
  });

  it("bounds the nesting depth without recursion", () => {
    expect(json("[[[1]]]", 3)).toBe(true);
    expect(json("[[[1]]]", 2)).toBe(false);
    let deep = "";
    for (let i = 0; i < 100000; i++) deep += "[";
    expect(json(deep, 255)).toBe(false);
    let ok = "";
    for (let i = 0; i < 255; i++) ok += "[";
    for (let i = 0; i < 255; i++) ok += "]";
    expect(json(ok, 255)).toBe(true);
    expect(json("[" + ok + "]", 255)).toBe(false);
  });

  it("checks an object's top-level fields", () => {
    expect(json("{\"id\": 1, \"type\": \"x\"}", 64, true, ["id", "type"])).toBe(true);
    expect(json("{\"id\": 1}", 64, true, ["id", "type"])).toBe(false);
    // Only the top level counts.
    expect(json("{\"id\": 1, \"a\": {\"type\": 2}}", 64, true, ["id", "type"])).toBe(false);
    expect(json("[{\"id\": 1}]", 64, true, ["id"])).toBe(false);
    expect(json("[]", 64, true)).toBe(false);
    expect(json(" {}", 64, true)).toBe(true);
  });
});

// ---- Records ----

function zigzag(b: ByteBuffer, v: i32): void {
  writeUnsignedVarint(b, <u32>((v << 1) ^ (v >> 31)));
}

function put(b: ByteBuffer, s: string | null): void {
  if (s === null) {
    zigzag(b, -1);
    return;
  }
  const e = String.UTF8.encode(s);
  zigzag(b, e.byteLength);
  b.append(changetype<usize>(e), e.byteLength);
}

// One record: key, value (null allowed), headers as name, value pairs.
function record(out: ByteBuffer, i: i32, key: string | null, value: string | null, headers: string[] = []): void {
  const r = new ByteBuffer();
  store<u8>(r.reserve(1), 0);
  r.len += 1;
  zigzag(r, 0); // timestamp delta
  zigzag(r, i); // offset delta
  put(r, key);
  put(r, value);
  zigzag(r, headers.length / 2);
  for (let j = 0; j + 1 < headers.length; j += 2) {
    put(r, headers[j]);
    put(r, headers[j + 1]);
  }
  zigzag(out, r.len);
  out.append(r.ptr, r.len);
}

function framed(id: i32, rest: string): string {
  // Schema registry framing as text: only for ids whose bytes are valid here (tests use small ids).
  return String.fromCharCodes([0, (id >>> 24) & 0xff, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff]) + rest;
}

const RULES = `{"principal_sources": ["client_id"], "validation": {"max_inflated_bytes": 65536, "rules": [
  {"name": "orders", "topics": ["orders"], "key": "required", "headers": {"trace-id": null, "type": "^(created|paid)$"},
   "json_fields": ["id"], "max_record_bytes": 300, "max_headers": 4},
  {"name": "avro", "topics": ["avro.*"], "schema_ids": [7, [100, 110]], "key": "forbidden"},
  {"name": "proto", "topics": ["proto"], "protobuf": true},
  {"name": "watch", "topics": ["orders"], "dry_run": true, "max_headers": 1},
  {"name": "zipped", "topics": ["zipped"], "json": true, "unsupported_compression": "pass"}]}}`;

function ruleNamed(name: string): ValidationRule {
  const parsed = parseConfig(RULES);
  expect(parsed.error).toBe("");
  const rules = parsed.config!.validation!.rules;
  for (let i = 0; i < rules.length; i++) if (rules[i].name == name) return rules[i];
  throw new Error("no rule " + name);
}

function failure(rule: ValidationRule, recs: ByteBuffer, count: i32): string {
  const c = checkRecords(rule, recs.ptr, recs.len, count);
  return c === null ? "" : String.UTF8.decode(c.message);
}

describe("records against a rule", () => {
  it("passes compliant records and names the first failure", () => {
    const orders = ruleNamed("orders");
    const b = new ByteBuffer();
    record(b, 0, "k", "{\"id\": 1}", ["trace-id", "abc", "type", "created"]);
    record(b, 1, "k2", "{\"id\": 2, \"x\": [1]}", ["type", "paid", "trace-id", ""]);
    expect(failure(orders, b, 2)).toBe("");
    const noKey = new ByteBuffer();
    record(noKey, 0, null, "{\"id\": 1}", ["trace-id", "a", "type", "paid"]);
    expect(failure(orders, noKey, 1)).toBe("validation 'orders': key required");
    const noHeader = new ByteBuffer();
    record(noHeader, 0, "k", "{\"id\": 1}", ["type", "paid"]);
    expect(failure(orders, noHeader, 1)).toBe("validation 'orders': no header trace-id");
    const badType = new ByteBuffer();
    record(badType, 0, "k", "{\"id\": 1}", ["trace-id", "a", "type", "refunded"]);
    expect(failure(orders, badType, 1)).toBe("validation 'orders': header type must match ^(created|paid)$");
    // A second header of the same name (consumers mostly read the last one) is checked too.
    const twice = new ByteBuffer();
    record(twice, 0, "k", "{\"id\": 1}", ["trace-id", "a", "type", "paid", "type", "refunded"]);
    expect(failure(orders, twice, 1)).toBe("validation 'orders': header type must match ^(created|paid)$");
    const broken = new ByteBuffer();
    record(broken, 0, "k", "{\"id\": 1", ["trace-id", "a", "type", "paid"]);
    expect(failure(orders, broken, 1)).toBe("validation 'orders': value not JSON object with id");
    const big = new ByteBuffer();
    record(big, 0, "k", "{\"id\": \"" + "x".repeat(300) + "\"}", ["trace-id", "a", "type", "paid"]);
    expect(failure(orders, big, 1)).toBe("validation 'orders': record over max_record_bytes");
    const many = new ByteBuffer();
    record(many, 0, "k", "{\"id\": 1}", ["trace-id", "a", "type", "paid", "a", "", "b", "", "c", ""]);
    expect(failure(orders, many, 1)).toBe("validation 'orders': headers over max_headers");
  });

  it("refuses lying lengths and counts as malformed", () => {
    const orders = ruleNamed("orders");
    const b = new ByteBuffer();
    record(b, 0, "k", "{\"id\": 1}", ["trace-id", "abc", "type", "created"]);
    // One record more than there is, one less, bytes cut off, bytes left over.
    expect(failure(orders, b, 2)).toBe("validation 'orders': malformed batch");
    expect(failure(orders, b, 0)).toBe("validation 'orders': malformed batch");
    const cut = new ByteBuffer();
    cut.append(b.ptr, b.len - 1);
    expect(failure(orders, cut, 1)).toBe("validation 'orders': malformed batch");
    // A header count of a billion in a small record, a key longer than the record, an endless varint.
    const lying = new ByteBuffer();
    const inner = new ByteBuffer();
    store<u8>(inner.reserve(1), 0);
    inner.len += 1;
    zigzag(inner, 0);
    zigzag(inner, 0);
    put(inner, "k");
    put(inner, "{}");
    zigzag(inner, 1000000000);
    zigzag(lying, inner.len);
    lying.append(inner.ptr, inner.len);
    expect(failure(orders, lying, 1)).toBe("validation 'orders': malformed batch");
    const longKey = new ByteBuffer();
    zigzag(longKey, 6);
    store<u8>(longKey.reserve(1), 0);
    longKey.len += 1;
    zigzag(longKey, 0);
    zigzag(longKey, 0);
    zigzag(longKey, 100);
    longKey.append(b.ptr, 2);
    expect(failure(orders, longKey, 1)).toBe("validation 'orders': malformed batch");
    const endless = new ByteBuffer();
    for (let i = 0; i < 20; i++) {
      store<u8>(endless.reserve(1), 0xff);
      endless.len += 1;
    }
    expect(failure(orders, endless, 1)).toBe("validation 'orders': malformed batch");
  });

  it("checks schema registry framing and protobuf indexes", () => {
    const avro = ruleNamed("avro");
    const ok = new ByteBuffer();
    record(ok, 0, null, framed(7, "x"));
    record(ok, 1, null, framed(105, ""));
    expect(failure(avro, ok, 2)).toBe("");
    const id = new ByteBuffer();
    record(id, 0, null, framed(8, "x"));
    expect(failure(avro, id, 1)).toBe("validation 'avro': schema id not allowed");
    const plain = new ByteBuffer();
    record(plain, 0, null, "{\"id\": 1}");
    expect(failure(avro, plain, 1)).toBe("validation 'avro': no schema id");
    const tombstone = new ByteBuffer();
    record(tombstone, 0, null, null);
    expect(failure(avro, tombstone, 1)).toBe("validation 'avro': no schema id");
    const proto = ruleNamed("proto");
    const p = new ByteBuffer();
    record(p, 0, null, framed(1, "\x00payload"));
    record(p, 1, null, framed(1, "\x04\x02\x06x"));
    expect(failure(proto, p, 2)).toBe("");
    const lies = new ByteBuffer();
    record(lies, 0, null, framed(1, "\x14\x02"));
    expect(failure(proto, lies, 1)).toBe("validation 'proto': bad protobuf indexes");
    const negative = new ByteBuffer();
    record(negative, 0, null, framed(1, "\x02\x01"));
    expect(failure(proto, negative, 1)).toBe("validation 'proto': bad protobuf indexes");
  });
});

describe("validation configuration", () => {
  it("refuses mistakes naming the key", () => {
    expect(parseConfig(`{"validation": {"rules": [{"name": "a", "topics": ["t"], "kee": "required"}]}}`).error)
      .toBe("config key 'validation.rules.a.kee' is unknown");
    expect(parseConfig(`{"validation": {"rules": [{"name": "a", "key": "maybe", "topics": ["t"]}]}}`).error)
      .toBe("config key 'validation.rules.a.key' must be \"required\" or \"forbidden\"");
    expect(parseConfig(`{"validation": {"rules": [{"name": "a"}]}}`).error)
      .toBe("config key 'validation.rules.a.topics' must list topics");
    expect(parseConfig(`{"validation": {"rules": [{"name": "a", "topics": ["t"], "headers": {"h": "(("}}]}}`).error.startsWith(
      "config key 'validation.rules.a.headers.h' is not a supported regular expression")).toBe(true);
    expect(parseConfig(`{"validation": {"rules": [{"name": "a", "topics": ["t"], "schema_ids": [[5, 1]]}]}}`).error)
      .toBe("config key 'validation.rules.a.schema_ids' has a bad range");
    expect(parseConfig(`{"validation": {"rules": [{"name": "a b", "topics": ["t"]}]}}`).error)
      .toBe("config key 'validation.rules' need names of 1-64 [A-Za-z0-9_-]");
    expect(parseConfig(`{"validation": {"rules": [{"name": "a", "topics": ["t"]}, {"name": "a", "topics": ["u"]}]}}`).error)
      .toBe("config key 'validation.rules' names a twice");
    expect(parseConfig(`{"forward": "immediately", "validation": {"rules": [{"name": "a", "topics": ["t"]}]}}`).error.length > 0).toBe(true);
    expect(parseConfig(RULES).error).toBe("");
  });
});

// ---- The stage ----

const counters = new ProxyCounters();

function shared(): VmState {
  const parsed = parseConfig(RULES);
  expect(parsed.error).toBe("");
  return VmState.of(parsed.config!, counters);
}

// A batch (magic 2) of `recs` (`count` records) with `codec`.
function batch(b: FrameBuilder, recs: ByteBuffer, count: i32, codec: i16 = 0): void {
  b.i32(0).i32(0).i32(49 + recs.len).i32(0).i8(2).i32(0).i16(codec).i32(count - 1);
  b.i32(0).i32(0).i32(0).i32(0).i32(-1).i32(-1).i16(-1).i32(-1).i32(count);
  const buf = b.buf;
  buf.append(recs.ptr, recs.len);
}

// Produce v3 (acks, topics each with one partition and one batch); v8 with `v8`.
function produce(topics: string[], sets: ByteBuffer[], counts: i32[], acks: i16 = -1, version: i16 = 3, codec: i16 = 0): ByteBuffer {
  const b = new FrameBuilder().i16(0).i16(version).i32(9).str("producer-1").i16(-1).i16(acks).i32(30000);
  b.i32(topics.length);
  for (let i = 0; i < topics.length; i++) {
    b.str(topics[i]).i32(1).i32(0).i32(61 + sets[i].len);
    batch(b, sets[i], counts[i], codec);
  }
  return b.finish();
}

// Produce v3 (or v8) of one topic with a partition (index = position) per record set.
function produceParts(topic: string, sets: ByteBuffer[], acks: i16 = -1, version: i16 = 3): ByteBuffer {
  const b = new FrameBuilder().i16(0).i16(version).i32(9).str("producer-1").i16(-1).i16(acks).i32(30000);
  b.i32(1).str(topic).i32(sets.length);
  for (let i = 0; i < sets.length; i++) {
    b.i32(i).i32(61 + sets[i].len);
    batch(b, sets[i], 1);
  }
  return b.finish();
}

// The broker's Produce v3 response: per topic, its partitions (no error).
function responseParts(topics: string[], parts: i32[][]): ByteBuffer {
  const b = new FrameBuilder().i32(9).i32(topics.length);
  for (let i = 0; i < topics.length; i++) {
    b.str(topics[i]).i32(parts[i].length);
    for (let p = 0; p < parts[i].length; p++) b.i32(parts[i][p]).i16(0).i32(0).i32(5).i32(-1).i32(-1);
  }
  return b.i32(0).finish();
}

function str(ptr: usize, len: i32): string {
  return String.UTF8.decodeUnsafe(ptr, len);
}

// A Produce v3 response (frame) as "topic:partition=code,...;".
function answers(out: ByteBuffer): string {
  let at = out.ptr + 8;
  let s = "";
  const n = <i32>bswap<u32>(load<u32>(at));
  at += 4;
  for (let i = 0; i < n; i++) {
    const len = <i32>bswap<u16>(load<u16>(at));
    s += str(at + 2, len) + ":";
    at += 2 + <usize>len;
    const parts = <i32>bswap<u32>(load<u32>(at));
    at += 4;
    for (let p = 0; p < parts; p++) {
      s += (p > 0 ? "," : "") + (<i32>bswap<u32>(load<u32>(at))).toString() + "=" + (<i16>bswap<u16>(load<u16>(at + 4))).toString();
      at += 22;
    }
    s += ";";
  }
  return s;
}

// A Produce v3 request (frame) as "topic:partition,...;" (what the broker gets).
function forwarded(out: ByteBuffer): string {
  let at = out.ptr + 12;
  at += 2 + <usize>bswap<u16>(load<u16>(at));
  at += 2 + 6;
  let s = "";
  const n = <i32>bswap<u32>(load<u32>(at));
  at += 4;
  for (let i = 0; i < n; i++) {
    const len = <i32>bswap<u16>(load<u16>(at));
    s += str(at + 2, len) + ":";
    at += 2 + <usize>len;
    const parts = <i32>bswap<u32>(load<u32>(at));
    at += 4;
    for (let p = 0; p < parts; p++) {
      s += (p > 0 ? "," : "") + (<i32>bswap<u32>(load<u32>(at))).toString();
      at += 8 + <usize>bswap<u32>(load<u32>(at + 4));
    }
    s += ";";
  }
  return s;
}

// The broker's Produce v3 response for the topics it got (one partition each, no error).
function response(topics: string[]): ByteBuffer {
  const b = new FrameBuilder().i32(9).i32(topics.length);
  for (let i = 0; i < topics.length; i++) b.str(topics[i]).i32(1).i32(0).i16(0).i32(0).i32(5).i32(-1).i32(-1);
  return b.i32(0).finish();
}

function contains(out: ByteBuffer, s: string): bool {
  const b = String.UTF8.encode(s);
  const n = b.byteLength;
  for (let i = 0; i + n <= out.len; i++) if (memory.compare(out.ptr + <usize>i, changetype<usize>(b), <usize>n) == 0) return true;
  return false;
}

function good(): ByteBuffer {
  const b = new ByteBuffer();
  record(b, 0, "k", "{\"id\": 1}", ["trace-id", "a", "type", "paid"]);
  return b;
}

function bad(): ByteBuffer {
  const b = new ByteBuffer();
  record(b, 0, "k", "not json", ["trace-id", "a", "type", "paid"]);
  return b;
}

describe("the validation stage", () => {
  it("forwards compliant records and topics without rules untouched", () => {
    const x = new SharedExchange(shared());
    const out = new ByteBuffer();
    const frame = produce(["orders", "other"], [good(), bad()], [1, 1]);
    expect(x.requestOf(frame, out)).toBe(Verdict.Forward);
    expect(metric("validation.orders.refused")).toBe(0);
  });

  it("refuses a failing topic entry alone and merges its answer into the broker's response", () => {
    const x = new SharedExchange(shared());
    const out = new ByteBuffer();
    const before = metric("validation.orders.refused");
    const frame = produce(["other", "orders"], [good(), bad()], [1, 1]);
    expect(x.requestOf(frame, out)).toBe(Verdict.Replace);
    // The broker gets the other topic only.
    expect(contains(out, "orders")).toBe(false);
    expect(contains(out, "other")).toBe(true);
    expect(metric("validation.orders.refused")).toBe(before + 1);
    const answered = new ByteBuffer();
    expect(x.responseTo(0, 3, response(["other"]), answered)).toBe(Verdict.Replace);
    expect(contains(answered, "orders")).toBe(true);
    // INVALID_RECORD (87) in the merged entry: name, 1 partition, index 0, code.
    const name = String.UTF8.encode("orders");
    let found = false;
    for (let i = 0; i + 20 < answered.len; i++) {
      if (memory.compare(answered.ptr + <usize>i, changetype<usize>(name), 6) != 0) continue;
      found = bswap<u16>(load<u16>(answered.ptr + <usize>(i + 14))) == 87;
    }
    expect(found).toBe(true);
  });

  it("answers a request whose every entry fails, with the rule's message (v8)", () => {
    const x = new SharedExchange(shared());
    const out = new ByteBuffer();
    const wouldBefore = metric("validation.watch.would_refuse");
    const many = new ByteBuffer();
    record(many, 0, "k", "{\"id\": 1}", ["trace-id", "a", "type", "paid"]);
    expect(x.requestOf(produce(["orders"], [bad()], [1], -1, 8), out)).toBe(Verdict.Answer);
    expect(contains(out, "validation 'orders': value not JSON object with id")).toBe(true);
    // The dry-run rule saw two headers over its one (and refused nothing).
    expect(metric("validation.watch.would_refuse")).toBe(wouldBefore + 1);
    expect(x.requestOf(produce(["orders"], [many], [1], -1, 8), out)).toBe(Verdict.Forward);
  });

  it("refuses a failing partition alone: the others of its topic go on, its answer joins theirs", () => {
    const x = new SharedExchange(shared());
    const out = new ByteBuffer();
    const before = metric("validation.orders.refused");
    const perTopic = metric("validation_topic_refused.rule.orders.topic.orders");
    const wouldPerTopic = metric("validation_topic_would_refuse.rule.watch.topic.orders");
    expect(x.requestOf(produceParts("orders", [good(), bad(), good()]), out)).toBe(Verdict.Replace);
    expect(forwarded(out)).toBe("orders:0,2;");
    expect(contains(out, "not json")).toBe(false);
    expect(metric("validation.orders.refused")).toBe(before + 1);
    // Per rule and topic too (the dry-run rule's two headers over its one, in each partition).
    expect(metric("validation_topic_refused.rule.orders.topic.orders")).toBe(perTopic + 1);
    expect(metric("validation_topic_would_refuse.rule.watch.topic.orders")).toBe(wouldPerTopic + 3);
    const answered = new ByteBuffer();
    // The broker answers in its own order.
    expect(x.responseTo(0, 3, responseParts(["orders"], [[2, 0]]), answered)).toBe(Verdict.Replace);
    expect(answers(answered)).toBe("orders:2=0,0=0,1=87;");
  });

  it("merges partitions into their topic and whole entries as topics, whatever the response's order", () => {
    const x = new SharedExchange(shared());
    const out = new ByteBuffer();
    const b = new FrameBuilder().i16(0).i16(3).i32(9).str("producer-1").i16(-1).i16(-1).i32(30000).i32(3);
    b.str("orders").i32(2).i32(0).i32(61 + bad().len);
    batch(b, bad(), 1);
    b.i32(1).i32(61 + bad().len);
    batch(b, bad(), 1);
    b.str("other").i32(1).i32(0).i32(61 + bad().len);
    batch(b, bad(), 1);
    b.str("orders").i32(2).i32(4).i32(61 + good().len);
    batch(b, good(), 1);
    b.i32(5).i32(61 + bad().len);
    batch(b, bad(), 1);
    expect(x.requestOf(b.finish(), out)).toBe(Verdict.Replace);
    expect(forwarded(out)).toBe("other:0;orders:4;");
    const answered = new ByteBuffer();
    expect(x.responseTo(0, 3, responseParts(["orders", "other"], [[4], [0]]), answered)).toBe(Verdict.Replace);
    expect(answers(answered)).toBe("orders:4=0,5=87;other:0=0;orders:0=87,1=87;");
    // A response without the topic the refused partition belongs to is not passed on.
    expect(x.responseTo(0, 3, responseParts(["other"], [[0]]), answered)).toBe(Verdict.Reject);
  });

  it("joins the authorization stage's refused entries: both merged, the ACLs' as topics, ours into their topic", () => {
    const parsed = parseConfig(`{"principal_sources": ["client_id"], "acls": {"rules": [
      {"principal": "*", "permission": "allow", "resource": "topic", "name": "*", "operations": ["all"]},
      {"principal": "*", "permission": "deny", "resource": "topic", "name": "secret", "operations": ["all"]}]},
      "validation": {"rules": [{"name": "orders", "topics": ["orders"], "json": true}]}}`);
    expect(parsed.error).toBe("");
    const x = new SharedExchange(VmState.of(parsed.config!, counters));
    const out = new ByteBuffer();
    const b = new FrameBuilder().i16(0).i16(3).i32(9).str("producer-1").i16(-1).i16(-1).i32(30000).i32(2);
    b.str("secret").i32(1).i32(0).i32(61 + good().len);
    batch(b, good(), 1);
    b.str("orders").i32(2).i32(0).i32(61 + bad().len);
    batch(b, bad(), 1);
    b.i32(1).i32(61 + good().len);
    batch(b, good(), 1);
    expect(x.requestOf(b.finish(), out)).toBe(Verdict.Replace);
    expect(forwarded(out)).toBe("orders:1;");
    const answered = new ByteBuffer();
    expect(x.responseTo(0, 3, responseParts(["orders"], [[1]]), answered)).toBe(Verdict.Replace);
    expect(answers(answered)).toBe("orders:1=0,0=87;secret:0=29;");
  });

  it("covers the broker-side names rewriting makes of its topics: naming the target does not walk around it", () => {
    const parsed = parseConfig(`{"principal_sources": ["client_id"], "rewrite": {
      "tenants": [{"principal": "User:tenant-1", "prefix": "blue."}],
      "renames": [{"principal": "User:producer-1", "from": "orders", "to": "orders-v2"}]},
      "validation": {"rules": [{"name": "orders", "topics": ["orders"], "json": true}]}}`);
    expect(parsed.error).toBe("");
    const x = new SharedExchange(VmState.of(parsed.config!, counters));
    const out = new ByteBuffer();
    // The renamed principal: `orders` (the broker's orders-v2) and orders-v2 itself.
    expect(x.requestOf(produce(["orders"], [bad()], [1]), out)).toBe(Verdict.Answer, "step 1");
    expect(x.requestOf(produce(["orders-v2"], [bad()], [1]), out)).toBe(Verdict.Answer, "step 2");
    expect(x.requestOf(produce(["orders-v2"], [good()], [1]), out)).toBe(Verdict.Forward, "step 3");
    // Another principal naming the broker's orders-v2, or the tenant's blue.orders, directly.
    const other = (topic: string, set: ByteBuffer): ByteBuffer => {
      const b = new FrameBuilder().i16(0).i16(3).i32(9).str("other-1").i16(-1).i16(-1).i32(30000).i32(1);
      b.str(topic).i32(1).i32(0).i32(61 + set.len);
      batch(b, set, 1);
      return b.finish();
    };
    expect(x.requestOf(other("orders-v2", bad()), out)).toBe(Verdict.Answer, "step 4");
    expect(x.requestOf(other("blue.orders", bad()), out)).toBe(Verdict.Answer, "step 5");
    expect(x.requestOf(other("orders-v3", bad()), out)).toBe(Verdict.Forward, "step 6");
    // The tenant: its orders is the broker's blue.orders.
    const tenant = new FrameBuilder().i16(0).i16(3).i32(9).str("tenant-1").i16(-1).i16(-1).i32(30000).i32(1);
    tenant.str("orders").i32(1).i32(0).i32(61 + bad().len);
    batch(tenant, bad(), 1);
    expect(x.requestOf(tenant.finish(), out)).toBe(Verdict.Answer, "step 7");
  });

  it("names the failing record's index and the rule's message in record_errors (v8)", () => {
    const x = new SharedExchange(shared());
    const out = new ByteBuffer();
    const two = good();
    record(two, 1, "k", "{\"id\": 2, \"x\": [}", ["trace-id", "a", "type", "paid"]);
    const b = new FrameBuilder().i16(0).i16(8).i32(9).str("producer-1").i16(-1).i16(-1).i32(30000).i32(1);
    b.str("orders").i32(1).i32(0).i32(61 + two.len);
    batch(b, two, 2);
    expect(x.requestOf(b.finish(), out)).toBe(Verdict.Answer);
    // Partition 0, 87, offsets, then record_errors: one, index 1, the message; error_message.
    const m = "validation 'orders': value not JSON object with id";
    const tail = new FrameBuilder().i32(1).i32(1).str(m).str(m).finish();
    // (finish() puts a size first.)
    let found = false;
    for (let i = 0; i + tail.len - 4 <= out.len; i++) {
      if (memory.compare(out.ptr + <usize>i, tail.ptr + 4, <usize>(tail.len - 4)) == 0) found = true;
    }
    expect(found).toBe(true);
  });

  it("closes an acks=0 producer's connection, as the broker does, even when other partitions are valid", () => {
    const x = new SharedExchange(shared());
    const out = new ByteBuffer();
    expect(x.requestOf(produceParts("orders", [bad(), good()], 0), out)).toBe(Verdict.Reject);
    expect(x.pipeline.reason).toBe("invalid records with acks=0");
    expect(x.requestOf(produce(["orders"], [bad()], [1], 0), out)).toBe(Verdict.Reject);
  });

  it("refuses malformed batches, and compressed ones it cannot inflate unless the rule passes them", () => {
    const x = new SharedExchange(shared());
    const out = new ByteBuffer();
    // A batch whose record count lies.
    expect(x.requestOf(produce(["orders"], [good()], [3]), out)).toBe(Verdict.Answer);
    const z = new ByteBuffer();
    z.append(good().ptr, good().len);
    const passed = metric("validation.unsupported_passed");
    // zstd (4): the stub, or a malformed frame for a real decompressor.
    const v = x.requestOf(produce(["orders"], [z], [1], -1, 3, 4), out);
    expect(v).toBe(Verdict.Answer);
    expect(x.requestOf(produce(["zipped"], [z], [1], -1, 3, 7), out)).toBe(Verdict.Forward);
    expect(metric("validation.unsupported_passed")).toBe(passed + 1);
  });
});
