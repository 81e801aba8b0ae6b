// The rewriting stage on captured kafkajs and Java-client frames, driven through the filter's
// own Pipeline as a connection would: every request name becomes the broker's (tenant prefix,
// canary rename), the broker's answers come back byte for byte as the client first saw them,
// names outside the tenant never reach the client, and record sets are never touched.
import { FRAME_COUNT } from "./fixtures/captured_frames";
import { Captured } from "./captured";
import { FrameBuilder, sameBytes, text } from "./helpers";
import { Contents, Exchange, contents, count, isName, replacementOf, walkBuilt } from "./exchange";
import { Visitor, walk } from "../../assembly/kafka/walker";
import { Entity } from "../../assembly/kafka/layout";
import { ByteBuffer } from "../../assembly/kafka/byte_buffer";
import { FrameEdits } from "../../assembly/kafka/frame_edits";
import { Gather } from "../../assembly/kafka/gather";
import { parseConfig } from "../../assembly/policy/config";
import { Verdict } from "../../assembly/proxy/kafka_frame";
import { decodeRequestHeader } from "../../assembly/proxy/frame_decode";
import { ProxyCounters } from "../../assembly/proxy/proxy_counters";
import { VmState } from "../../filters/pipeline";
import { RewriteCounters, confined } from "../../filters/rewrite";

const PREFIX = "tenantA.";
// The captured clients (their client ids are the principals) and the topic they used.
const CLIENTS = ["User:kafkajs-capture", "User:java-producer", "User:java-consumer"];
const TOPIC = "capture";
const CANARY_TOPIC = "capture-v2";

function rewriteConfig(prefix: string, clients: string[]): string {
  let tenants = "";
  for (let i = 0; i < clients.length; i++) {
    tenants += (i > 0 ? ", " : "") + `{"principal": "${clients[i]}", "prefix": "${prefix}"}`;
  }
  return `{"principal_sources": ["client_id"], "rewrite": {"tenants": [${tenants}], ` +
    `"renames": [{"principal": "*", "resource": "topic", "from": "${TOPIC}", "to": "${CANARY_TOPIC}"}]}}`;
}

const proxyCounters = new ProxyCounters();
const counters = new RewriteCounters();
const tenant = sharedFor(rewriteConfig(PREFIX, CLIENTS));

function sharedFor(json: string): VmState {
  const parsed = parseConfig(json);
  expect(parsed.error).toBe("");
  const shared = new VmState(proxyCounters);
  shared.rewrite = parsed.config!.rewrite;
  shared.rewriteCounters = counters;
  shared.principalSources = parsed.config!.principalSources;
  return shared;
}

// The names a broker sees for what a tenant's client names (the spec's own statement of the rules).
function brokerName(entity: i32, name: string): string {
  return PREFIX + (entity == Entity.TopicName && name == TOPIC ? CANARY_TOPIC : name);
}

// Plays the broker: the captured response as the broker answers a tenant, every name in its
// broker form.
class BrokerNames extends Visitor {
  edits: FrameEdits = new FrameEdits();

  entity(entity: i32, lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
    if (len < 0 || !isName(entity)) return;
    const name = String.UTF8.encode(brokerName(entity, text(valuePtr, len)));
    expect(this.edits.replaceString(lengthPtr, valuePtr, len, compact, changetype<usize>(name), name.byteLength)).toBe(true);
  }
}

function asBroker(c: Captured): ByteBuffer {
  const v = new BrokerNames();
  v.edits.reset(c.frame.ptr);
  expect(c.walkBody(c.frame, v)).toBe(c.frame.len - c.body, c.label);
  const out = new ByteBuffer();
  expect(v.edits.apply(c.frame.ptr, c.frame.len, out)).toBe(true, c.label);
  return out;
}

// Runs the captured Metadata exchanges, the broker answering in its names: the pipeline learns
// the topic ids of the tenant's topics, which requests by id (Produce v13, Fetch v13+) need.
function learnTopicIds(shared: VmState): void {
  const requestOut = new ByteBuffer();
  const out = new ByteBuffer();
  for (let i = 0; i + 1 < FRAME_COUNT; i += 2) {
    const req = new Captured(i);
    if (req.apiKey != 3) continue;
    const exchange = new Exchange(shared);
    exchange.request(req, requestOut);
    exchange.response(req, asBroker(new Captured(i + 1)), out);
  }
}

function isById(c: Captured): bool {
  return (c.apiKey == 0 && c.apiVersion >= 13) || (c.apiKey == 1 && c.apiVersion >= 13);
}

// A Metadata v12 response (flexible, names and ids) listing `names`, topic i with id i+1 in
// every int32 of its uuid.
function metadataV12(names: string[]): ByteBuffer {
  const b = new FrameBuilder().i32(7).uvarint(0).i32(0).uvarint(1).uvarint(0).i32(1).uvarint(names.length + 1);
  for (let i = 0; i < names.length; i++) {
    b.i16(0).cstr(names[i]).i32(i + 1).i32(i + 1).i32(i + 1).i32(i + 1).i8(0).uvarint(1).i32(0).uvarint(0);
  }
  return b.uvarint(0).finish();
}

// ListTransactions v2 (flexible) from the kafkajs capture's client id, filtering by `pattern`.
function listTransactionsV2(pattern: string): ByteBuffer {
  return new FrameBuilder().i16(66).i16(2).i32(9).str("kafkajs-capture").uvarint(0)
    .uvarint(1).uvarint(1).i32(-1).i32(-1).cstr(pattern).uvarint(0).finish();
}

// ConsumerGroupDescribe v0 response: group `group` with one member subscribed to `topic` by name
// and to `regex`.
function consumerGroupDescribeV0(group: string, topic: string, regex: string): ByteBuffer {
  return new FrameBuilder().i32(9).uvarint(0).i32(0).uvarint(2)
    .i16(0).uvarint(0).cstr(group).cstr("Stable").i32(1).i32(1).cstr("uniform").uvarint(2)
    .cstr("m1").uvarint(0).uvarint(0).i32(1).cstr("kafkajs-capture").cstr("/127.0.0.1")
    .uvarint(2).cstr(topic).cstr(regex).uvarint(1).uvarint(0).uvarint(1).uvarint(0).uvarint(0)
    .i32(0).uvarint(0).uvarint(0).finish();
}

// The first int32 of every topic id a frame carries.
class AssignedIds extends Visitor {
  ids: i32[] = [];

  topicId(ptr: usize): void {
    this.ids.push(<i32>bswap<u32>(load<u32>(ptr)));
  }
}

function idOf(n: i32): usize {
  const id = new ArrayBuffer(16);
  for (let j = 0; j < 4; j++) store<u32>(changetype<usize>(id) + <usize>(j * 4), bswap<u32>(<u32>n));
  return changetype<usize>(id);
}

function learnedName(shared: VmState, id: usize): string {
  const e = shared.topicIds.find(id);
  return e === null ? "(none)" : text(e.namePtr, e.nameLen);
}

describe("topic rewriting on captured frames", () => {
  it("gives every request name its broker form, in every captured API version, records untouched", () => {
    let renamedFrames = 0;
    let renamedNames = 0;
    learnTopicIds(tenant);
    const renamedBefore = count(counters.renamed);
    const out = new ByteBuffer();
    for (let i = 0; i < FRAME_COUNT; i++) {
      const c = new Captured(i);
      if (!c.isRequest) continue;
      const before = contents(c, c.frame, true);
      const verdict = new Exchange(tenant).request(c, out);
      expect(verdict).toBe(before.names.length > 0 ? Verdict.Replace : Verdict.Forward, c.label);
      const after = contents(c, out, true);
      expect(after.names.length).toBe(before.names.length, c.label);
      for (let j = 0; j < after.names.length; j++) {
        expect(after.names[j]).toBe(brokerName(before.kinds[j], before.names[j]), c.label);
      }
      expect(sameBytes(after.recordBytes, before.recordBytes)).toBe(true, c.label + " record sets");
      if (before.names.length > 0) renamedFrames++;
      renamedNames += before.names.length;
    }
    // Produce, Fetch, Metadata, offsets, FindCoordinator and the group APIs name topics or groups.
    expect(renamedFrames).toBeGreaterThanOrEqual(18);
    expect(count(counters.renamed) - renamedBefore).toBe(<u64>renamedNames);
  });

  it("sends a renamed Produce as ranges: the record sets from the frame itself, not copied", () => {
    let checked = 0;
    for (let i = 0; i < FRAME_COUNT; i++) {
      const c = new Captured(i);
      if (!c.isRequest || c.apiKey != 0 || isById(c)) continue;
      const recordBytes = contents(c, c.frame, true).recordBytes.len;
      const exchange = new Exchange(tenant);
      const f = exchange.requestFrame;
      f.ptr = c.frame.ptr;
      f.len = c.frame.len;
      expect(decodeRequestHeader(f)).toBe(0, c.label);
      expect(exchange.pipeline.request(f)).toBe(Verdict.Replace, c.label);
      const g = new Gather();
      expect(f.replacement(g)).toBe(true, c.label);
      // The size, the frame up to the topic name, the new name, the rest of the frame.
      expect(g.count).toBe(4, c.label);
      const last = g.ptrAt(3);
      expect(last >= c.frame.ptr && last + <usize>g.lenAt(3) == c.frame.ptr + <usize>c.frame.len).toBe(true, c.label);
      expect(g.lenAt(3)).toBeGreaterThanOrEqual(recordBytes, c.label);
      expect(recordBytes).toBeGreaterThan(0, c.label);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });

  it("gives the client back, byte for byte, the responses it would get without the proxy", () => {
    let restoredFrames = 0;
    const requestOut = new ByteBuffer();
    const out = new ByteBuffer();
    for (let i = 0; i + 1 < FRAME_COUNT; i += 2) {
      const req = new Captured(i);
      const res = new Captured(i + 1);
      expect(req.isRequest && !res.isRequest && req.apiKey == res.apiKey && req.apiVersion == res.apiVersion).toBe(true);
      const exchange = new Exchange(tenant);
      exchange.request(req, requestOut);
      const broker = asBroker(res);
      const verdict = exchange.response(req, broker, out);
      expect(verdict == Verdict.Forward || verdict == Verdict.Replace).toBe(true, res.label);
      expect(sameBytes(out, res.frame)).toBe(true, res.label + " restored");
      if (verdict == Verdict.Replace) restoredFrames++;
    }
    expect(restoredFrames).toBeGreaterThanOrEqual(12);
  });

  it("never shows a tenant a name outside its prefix: hidden from lists, or the response refused", () => {
    let hiddenFrames = 0;
    let refused = 0;
    const hiddenBefore = count(counters.hidden);
    const requestOut = new ByteBuffer();
    const out = new ByteBuffer();
    for (let i = 0; i + 1 < FRAME_COUNT; i += 2) {
      const req = new Captured(i);
      const res = new Captured(i + 1);
      const exchange = new Exchange(tenant);
      exchange.request(req, requestOut);
      // The captured response names unprefixed topics and groups: none belongs to the tenant.
      const foreign = contents(res, res.frame, false).names.length;
      const verdict = exchange.response(req, res.frame, out);
      if (verdict == Verdict.Reject) {
        refused++;
        continue;
      }
      const shown = contents(res, out, false);
      expect(shown.names.length).toBe(0, res.label + " shows " + (shown.names.length > 0 ? shown.names[0] : ""));
      if (foreign > 0) hiddenFrames++;
    }
    expect(hiddenFrames).toBeGreaterThanOrEqual(10);
    expect(count(counters.hidden) - hiddenBefore).toBeGreaterThanOrEqual(<u64>hiddenFrames);
    // The captured responses name topics, groups and coordinator keys only inside lists, so
    // hiding always works there.
    expect(refused).toBe(0);
  });

  it("answers requests by topic ids outside the tenant with UNKNOWN_TOPIC_ID", () => {
    const fresh = sharedFor(rewriteConfig(PREFIX, CLIENTS));
    const refusedBefore = count(counters.foreignIds);
    const requestOut = new ByteBuffer();
    const out = new ByteBuffer();
    let byId = 0;
    // Ids never seen, then ids learned under names outside the tenant (the captured Metadata
    // responses name unprefixed topics), are both refused.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < FRAME_COUNT; i++) {
        const c = new Captured(i);
        if (!c.isRequest || !isById(c)) continue;
        expect(new Exchange(fresh).request(c, out)).toBe(Verdict.Answer, c.label);
        expect(contents(c, out, false).errors.includes(100)).toBe(true, c.label + " error code");
        byId++;
      }
      for (let i = 0; i + 1 < FRAME_COUNT; i += 2) {
        const req = new Captured(i);
        if (req.apiKey != 3) continue;
        const exchange = new Exchange(fresh);
        exchange.request(req, requestOut);
        exchange.response(req, new Captured(i + 1).frame, out);
      }
    }
    expect(byId).toBeGreaterThanOrEqual(4);
    expect(count(counters.foreignIds) - refusedBefore).toBe(<u64>byId);
  });

  it("learns a hidden topic's id under its own name, never the tenant topic's before it", () => {
    const fresh = sharedFor(rewriteConfig(PREFIX, CLIENTS));
    const exchange = new Exchange(fresh);
    const requestOut = new ByteBuffer();
    const out = new ByteBuffer();
    exchange.request(new Captured(0), requestOut);
    const broker = metadataV12([PREFIX + "mine", "someone-elses"]);
    expect(exchange.responseTo(3, 12, broker, out)).toBe(Verdict.Replace);
    // Body after the size, correlation id and empty tag buffer of the flexible header.
    const body = 9;
    const shown = new Contents();
    expect(walk(3, 12, false, out.ptr + <usize>body, out.len - body, shown)).toBe(out.len - body);
    expect(shown.names.length).toBe(1);
    expect(shown.names[0]).toBe("mine");
    expect(learnedName(fresh, idOf(1))).toBe(PREFIX + "mine");
    expect(learnedName(fresh, idOf(2))).toBe("someone-elses");
  });

  it("drops from a tenant's KIP-848 assignment the topic ids it knows as another tenant's", () => {
    const fresh = sharedFor(rewriteConfig(PREFIX, CLIENTS));
    const exchange = new Exchange(fresh);
    const requestOut = new ByteBuffer();
    const out = new ByteBuffer();
    exchange.request(new Captured(0), requestOut);
    expect(exchange.responseTo(3, 12, metadataV12([PREFIX + "mine", "tenantB.theirs"]), out)).toBe(Verdict.Replace);
    const hiddenBefore = count(counters.hidden);
    // ConsumerGroupHeartbeat v1 response assigning partition 0 of topics 1 (the tenant's),
    // 2 (another tenant's) and 3 (never seen).
    const b = new FrameBuilder().i32(5).uvarint(0).i32(0).i16(0).uvarint(0).cstr("m").i32(1).i32(5000).i8(1).uvarint(4);
    for (let id = 1; id <= 3; id++) b.i32(id).i32(id).i32(id).i32(id).uvarint(2).i32(0).uvarint(0);
    const response = b.uvarint(0).uvarint(0).finish();
    expect(exchange.responseTo(68, 1, response, out)).toBe(Verdict.Replace);
    const seen = new AssignedIds();
    expect(walk(68, 1, false, out.ptr + 9, out.len - 9, seen)).toBe(out.len - 9);
    expect(seen.ids).toStrictEqual([1, 3]);
    expect(count(counters.hidden)).toBe(hiddenBefore + 1);
  });

  it("answers a group id too long for a Kafka string once prefixed with INVALID_REQUEST", () => {
    const tooLongBefore = count(counters.tooLong);
    // FindCoordinator v0 (int16 strings): a group key of 32760 bytes, 32768 with the prefix.
    const find = new FrameBuilder().i16(10).i16(0).i32(3).str("kafkajs-capture").str("g".repeat(32760)).finish();
    const exchange = new Exchange(tenant);
    const f = exchange.requestFrame;
    f.ptr = find.ptr;
    f.len = find.len;
    expect(decodeRequestHeader(f)).toBe(0);
    expect(exchange.pipeline.request(f)).toBe(Verdict.Answer);
    const answer = new ByteBuffer();
    answer.append(f.rewritten.ptr, f.rewritten.len);
    // Response header v0: the correlation id after the size.
    expect(walkBuilt(10, 0, false, answer, 8).errors).toStrictEqual([<i16>42]);
    expect(count(counters.tooLong) - tooLongBefore).toBe(1);
  });

  it("puts a tenant's regular expressions over names under its prefix, and takes it off again", () => {
    const exchange = new Exchange(tenant);
    const out = new ByteBuffer();
    const f = exchange.requestFrame;
    // Request header v2 after the size: api key, version, correlation id, client id, tags.
    const body = 4 + 8 + 2 + "kafkajs-capture".length + 1;
    const list = listTransactionsV2("tx-.*");
    f.ptr = list.ptr;
    f.len = list.len;
    expect(decodeRequestHeader(f)).toBe(0);
    expect(exchange.pipeline.request(f)).toBe(Verdict.Replace);
    out.clear();
    replacementOf(f, out);
    expect(walkBuilt(66, 2, true, out, body).patterns).toStrictEqual(["tenantA\\.(?:tx-.*)"]);
    // An empty pattern means every transaction: it stays, and the listing is filtered by name.
    const all = listTransactionsV2("");
    f.ptr = all.ptr;
    f.len = all.len;
    expect(decodeRequestHeader(f)).toBe(0);
    expect(exchange.pipeline.request(f)).toBe(Verdict.Forward);

    const described = consumerGroupDescribeV0(PREFIX + "by-pattern", PREFIX + "orders", "tenantA\\.(?:ord.*)");
    expect(exchange.responseTo(69, 0, described, out)).toBe(Verdict.Replace);
    // Response header v1: correlation id and tags after the size.
    const shown = walkBuilt(69, 0, false, out, 9);
    expect(shown.patterns).toStrictEqual(["ord.*"]);
    expect(shown.names).toStrictEqual(["by-pattern", "orders"]);
  });

  it("refuses a tenant's pattern that could match outside its prefix with INVALID_REGULAR_EXPRESSION", () => {
    const exchange = new Exchange(tenant);
    const out = new ByteBuffer();
    const f = exchange.requestFrame;
    const before = count(counters.patterns);
    const list = listTransactionsV2(".*)|(.*");
    f.ptr = list.ptr;
    f.len = list.len;
    expect(decodeRequestHeader(f)).toBe(0);
    expect(exchange.pipeline.request(f)).toBe(Verdict.Answer);
    out.clear();
    replacementOf(f, out);
    // Response header v1 (correlation id, tags), throttle time, then the error code.
    expect(<i16>bswap<u16>(load<u16>(out.ptr + 13))).toBe(128);
    expect(count(counters.patterns)).toBe(before + 1);
  });

  it("accepts as confined only patterns that stay one expression inside (?:...)", () => {
    const ok = ["ord.*", "a|b", "(x|y)-[0-9]+", "(?:a)(b)", "[^a-z._-]\\d{1,3}", "\\.\\(\\)\\[\\]\\\\", "x]"];
    const bad = [
      ".*)|(.*", ")(", "(", "a\\", "\\Q)\\E", "\\x29", "\\p{L}", "\\1", "(?i)a", "(?P<n>a)", "(?s:.)",
      "[)]", "[]a]", "[[:alpha:]]", "[a\\]]", "[a", "[^]",
    ];
    for (let i = 0; i < ok.length; i++) {
      const b = String.UTF8.encode(ok[i]);
      expect(confined(changetype<usize>(b), b.byteLength)).toBe(true, ok[i]);
    }
    for (let i = 0; i < bad.length; i++) {
      const b = String.UTF8.encode(bad[i]);
      expect(confined(changetype<usize>(b), b.byteLength)).toBe(false, bad[i]);
    }
  });

  it("leaves principals without rules alone", () => {
    const other = sharedFor(`{"principal_sources": ["client_id"], ` +
      `"rewrite": {"tenants": [{"principal": "User:someone-else", "prefix": "${PREFIX}"}]}}`);
    const out = new ByteBuffer();
    for (let i = 0; i + 1 < FRAME_COUNT; i += 2) {
      const req = new Captured(i);
      const res = new Captured(i + 1);
      const exchange = new Exchange(other);
      expect(exchange.request(req, out)).toBe(Verdict.Forward, req.label);
      expect(exchange.response(req, res.frame, out)).toBe(Verdict.Forward, res.label);
    }
  });

  it("answers a topic name too long once prefixed with INVALID_TOPIC_EXCEPTION instead of forwarding it", () => {
    // 243 + "capture-v2" is past Kafka's 249 characters.
    const long = sharedFor(rewriteConfig("p".repeat(243), CLIENTS));
    const tooLongBefore = count(counters.tooLong);
    const out = new ByteBuffer();
    let answered = 0;
    for (let i = 0; i < FRAME_COUNT; i++) {
      const c = new Captured(i);
      if (!c.isRequest) continue;
      const before = contents(c, c.frame, true);
      let topics = 0;
      for (let j = 0; j < before.kinds.length; j++) if (before.kinds[j] == Entity.TopicName) topics++;
      const verdict = new Exchange(long).request(c, out);
      // Frames naming topics by id only (Produce v13, Fetch v18) have nothing to lengthen.
      if (topics == 0) continue;
      expect(verdict).toBe(Verdict.Answer, c.label);
      // The answer speaks of the names the client used.
      const answer = contents(c, out, false);
      expect(answer.errors.includes(17)).toBe(true, c.label + " error code");
      for (let j = 0; j < answer.names.length; j++) expect(before.names.includes(answer.names[j])).toBe(true, c.label);
      answered++;
    }
    expect(answered).toBeGreaterThanOrEqual(8);
    expect(count(counters.tooLong) - tooLongBefore).toBe(<u64>answered);
  });
});
