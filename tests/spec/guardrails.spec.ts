// The guardrails (issue 18): the pattern engine, configuration mistakes refused with the key
// named, and the stage driven through the filter's own Pipeline as a connection would: topic
// creation per entry (the compliant topic goes to the broker, the violating one is answered with
// the broker's error code and the rule's message, merged into the broker's response), config
// changes, producer settings from batch headers, client ids, dry-run counters.
import { FrameBuilder, text } from "./helpers";
import { Exchange as SharedExchange, count } from "./exchange";
import { compileRegex, resetStepBudget, stepBudgetSpent } from "../../assembly/policy/regex";
import { parseConfig } from "../../assembly/policy/config";
import { ByteBuffer } from "../../assembly/kafka/byte_buffer";
import { Gather } from "../../assembly/kafka/gather";
import { Visitor, walk } from "../../assembly/kafka/walker";
import { Entity } from "../../assembly/kafka/layout";
import { parseResponseHeader, ResponseHeader } from "../../assembly/kafka/message_header";
import { KafkaFrame, Verdict } from "../../assembly/proxy/kafka_frame";
import { decodeRequestHeader, decodeResponseHeader } from "../../assembly/proxy/frame_decode";
import { ProxyCounters } from "../../assembly/proxy/proxy_counters";
import { Pipeline, VmState } from "../../filters/pipeline";

function matches(pattern: string, s: string): bool {
  const r = compileRegex(pattern);
  expect(r.error).toBe("", pattern);
  resetStepBudget();
  return r.regex!.matchesString(s);
}

function configError(json: string): string {
  return parseConfig(json).error;
}

const proxyCounters = new ProxyCounters();

function sharedFor(json: string): VmState {
  const parsed = parseConfig(json);
  expect(parsed.error).toBe("");
  return VmState.of(parsed.config!, proxyCounters);
}

// exchange.ts's driver with the frames held: `frame` is the request frame as the stages left
// it, `out` what went on (or the answer).
class Exchange extends SharedExchange {
  out: ByteBuffer = new ByteBuffer();

  get frame(): KafkaFrame {
    return this.requestFrame;
  }

  // The request as the broker gets it, or the filter's answer (Verdict.Answer).
  send(frame: ByteBuffer): Verdict {
    return this.requestOf(frame, this.out);
  }

  // The broker's response as the client gets it.
  answer(frame: ByteBuffer): Verdict {
    return this.responseTo(this.requestFrame.apiKey, this.requestFrame.apiVersion, frame, this.out);
  }
}

class Topic {
  constructor(public name: string, public partitions: i32, public rf: i16, public configs: string[] = []) {}
}

// CreateTopics v4 (not flexible): topics, timeout, validateOnly.
function createTopics(topics: Topic[], clientId: string = "admin-1"): ByteBuffer {
  const b = new FrameBuilder().i16(19).i16(4).i32(7).str(clientId).i32(topics.length);
  for (let i = 0; i < topics.length; i++) {
    const t = topics[i];
    b.str(t.name).i32(t.partitions).i16(t.rf).i32(0).i32(t.configs.length / 2);
    for (let j = 0; j < t.configs.length; j += 2) b.str(t.configs[j]).str(t.configs[j + 1]);
  }
  return b.i32(30000).i8(0).finish();
}

// The broker's CreateTopics v4 response: every topic created.
function created(names: string[]): ByteBuffer {
  const b = new FrameBuilder().i32(7).i32(0).i32(names.length);
  for (let i = 0; i < names.length; i++) b.str(names[i]).i16(0).i16(-1);
  return b.finish();
}

// What a CreateTopics v4 response (or a request) says per topic.
class Answers extends Visitor {
  names: string[] = [];
  codes: i16[] = [];
  messages: string[] = [];
  entity(entity: i32, lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
    if (entity == Entity.TopicName && len >= 0) this.names.push(text(valuePtr, len));
  }
  errorCode(code: i16): void {
    this.codes.push(code);
  }
}

function responseOf(apiKey: i16, version: i16, out: ByteBuffer): Answers {
  const h = new ResponseHeader();
  expect(parseResponseHeader(out.ptr, out.len, apiKey, version, h)).toBe(0);
  const a = new Answers();
  expect(walk(apiKey, version, false, out.ptr + <usize>h.bodyOffset, out.len - h.bodyOffset, a)).toBe(out.len - h.bodyOffset);
  return a;
}

function contains(out: ByteBuffer, s: string): bool {
  const b = String.UTF8.encode(s);
  const n = b.byteLength;
  for (let i = 0; i + n <= out.len; i++) {
    if (memory.compare(out.ptr + <usize>i, changetype<usize>(b), <usize>n) == 0) return true;
  }
  return false;
}

// A record batch header (magic 2) with `records` records and no record bytes after it.
function batch(b: FrameBuilder, codec: i16, records: i32, producerId: i64, timestamp: i64): void {
  b.i32(0).i32(0); // base offset
  b.i32(49); // batch length: the header after it
  b.i32(0); // partition leader epoch
  b.i8(2).i32(0); // magic, crc
  b.i16(codec); // attributes
  b.i32(records - 1);
  b.i32(<i32>(timestamp >> 32)).i32(<i32>timestamp);
  b.i32(<i32>(timestamp >> 32)).i32(<i32>timestamp);
  b.i32(<i32>(producerId >> 32)).i32(<i32>producerId);
  b.i16(0).i32(0); // producer epoch, base sequence
  b.i32(records);
}

// Produce v3: one topic, one partition, one batch.
function produce(acks: i16, codec: i16, records: i32 = 1, producerId: i64 = -1, timestamp: i64 = 0): ByteBuffer {
  const b = new FrameBuilder().i16(0).i16(3).i32(9).str("producer-1").i16(-1).i16(acks).i32(30000);
  b.i32(1).str("team.orders").i32(1).i32(0).i32(61);
  batch(b, codec, records, producerId, timestamp);
  return b.finish();
}

// (Principals from client ids: the test host has no TLS or SASL.)
const RULES = `{"principal_sources": ["client_id"], "guardrails": [
  {"name": "topic-shape", "topic_name_pattern": "^[a-z0-9-]+\\\\.[a-z0-9-]+$", "partitions": {"min": 1, "max": 12},
   "replication_factor": {"min": 2},
   "topic_configs": {"forbidden": ["unclean.leader.election.enable"], "ranges": {"retention.ms": {"max": 604800000}},
                     "values": {"cleanup.policy": ["delete", "compact"]}}},
  {"name": "producers", "acks": ["all", 1], "compression": ["lz4", "zstd"], "max_batch_records": 100},
  {"name": "ids", "principals": ["*"], "client_id_pattern": "[a-z][a-z0-9-]*", "client_id_required": true},
  {"name": "watch-only", "dry_run": true, "partitions": {"max": 2}}
]}`;

const shared = sharedFor(RULES);
const counters = shared.guardCounters!;
const clientRules = sharedFor(`{"guardrails": [{"name": "apps", "principals": ["User:app"], "forbidden_apis": ["DeleteRecords"]},
  {"name": "groups", "group_id_pattern": "app-[a-z]+", "session_timeout_ms": {"min": 6000, "max": 60000}}],
  "principal_sources": ["client_id"]}`);
const strict = sharedFor(`{"principal_sources": ["client_id"], "guardrails": [{"name": "strict", "require_idempotence": true, "timestamp_max_past_ms": 3600000}]}`);

// ACLs and guardrails together: the ACLs refuse one topic, the guardrails another.
const both = sharedFor(`{"principal_sources": ["client_id"], "acls": {"rules": [
    {"principal": "*", "permission": "allow", "resource": "topic", "name": "*", "operations": ["all"]},
    {"principal": "*", "permission": "deny", "resource": "topic", "name": "team.secret", "operations": ["all"]},
    {"principal": "*", "permission": "deny", "resource": "topic", "name": "Bad_Name", "operations": ["create"]}]},
  "guardrails": [{"name": "shape", "partitions": {"max": 12}, "topic_name_pattern": "[a-z.]+"}]}`);

// JoinGroup v1: group, session timeout, rebalance timeout, member id, protocol type, protocols.
function join(group: string, session: i32): ByteBuffer {
  return new FrameBuilder().i16(11).i16(1).i32(4).str("ops").str(group).i32(session).i32(60000).str("").str("consumer")
    .i32(0).finish();
}

describe("guardrail patterns", () => {
  it("match whole names, as Java's matches()", () => {
    expect(matches("^[a-z0-9-]+\\.[a-z0-9-]+$", "team.orders")).toBe(true);
    expect(matches("^[a-z0-9-]+\\.[a-z0-9-]+$", "team.orders.v2")).toBe(false);
    expect(matches("^[a-z0-9-]+\\.[a-z0-9-]+$", "Orders")).toBe(false);
    expect(matches("[a-z]+", "abc1")).toBe(false);
    expect(matches("(dev|prod)-[a-z]{2,4}", "prod-abc")).toBe(true);
    expect(matches("(dev|prod)-[a-z]{2,4}", "prod-abcde")).toBe(false);
    expect(matches("(?:ab)*c?", "ababc")).toBe(true);
    expect(matches("(?:ab)*c?", "abac")).toBe(false);
    expect(matches("a.*b.*c", "axxbyyc")).toBe(true);
    expect(matches("[^.]+", "a.b")).toBe(false);
    expect(matches("\\w+-\\d+", "svc_a-42")).toBe(true);
    expect(matches("(a*)*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaac")).toBe(false);
  });

  it("share one step budget per request: past it no name matches, until the next request", () => {
    const r = compileRegex("^([a-z0-9]+[-.]?)+$").regex!;
    const hostile = "a".repeat(60) + "!";
    resetStepBudget();
    expect(r.matchesString("team.orders")).toBe(true);
    // Each hostile name runs to the per-name cap (100,000 steps); 15 of them spend the budget.
    for (let i = 0; i < 15; i++) expect(r.matchesString(hostile)).toBe(false);
    expect(stepBudgetSpent()).toBe(true);
    expect(r.matchesString("team.orders")).toBe(false);
    resetStepBudget();
    expect(stepBudgetSpent()).toBe(false);
    expect(r.matchesString("team.orders")).toBe(true);
  });

  it("refuse what they do not support, with the offset", () => {
    expect(compileRegex("a(b").error).toBe("unterminated '(' at offset 3");
    expect(compileRegex("[a-").error).toBe("unterminated '[' at offset 3");
    expect(compileRegex("*a").error).toBe("nothing to repeat at offset 0");
    expect(compileRegex("a+?").error).toBe("lazy, possessive or stacked quantifiers are not supported at offset 2");
    expect(compileRegex("(?=a)").error).toBe("only '(?:' groups are supported at offset 1");
    expect(compileRegex("a{3,1}").error).toBe("'{n,m}' with n > m at offset 5");
  });
});

describe("guardrail configuration mistakes", () => {
  it("are refused, naming the key", () => {
    expect(configError(`{"guardrails": [{"name": "r", "topic_configs": {"ranges": {"retention.msec": {"max": 1}}}}]}`))
      .toBe("config key 'guardrails.r.topic_configs.ranges.retention.msec' is not a Kafka topic config");
    expect(configError(`{"guardrails": [{"name": "r", "topic_name_pattern": "a(b"}]}`))
      .toBe("config key 'guardrails.r.topic_name_pattern' is not a supported regular expression: unterminated '(' at offset 3");
    expect(configError(`{"guardrails": [{"name": "r", "partitions": {"min": 10, "max": 2}}]}`))
      .toBe("config key 'guardrails.r.partitions' has min greater than max");
    expect(configError(`{"guardrails": [{"name": "r", "topic_configs": {"ranges": {"retention.ms": {"min": 9, "max": 2}}}}]}`))
      .toBe("config key 'guardrails.r.topic_configs.ranges.retention.ms' has min greater than max");
    expect(configError(`{"guardrails": [{"name": "r", "partitons": {"max": 2}}]}`))
      .toBe("config key 'guardrails.r.partitons' is not a known guardrail key");
    expect(configError(`{"guardrails": [{"name": "r", "compression": ["brotli"]}]}`))
      .toBe("config key 'guardrails.r.compression' names 'brotli', not one of [none, gzip, snappy, lz4, zstd]");
    expect(configError(`{"guardrails": [{"name": "r", "forbidden_apis": ["DeleteRecord"]}]}`))
      .toBe("config key 'guardrails.r.forbidden_apis' names an unknown API 'DeleteRecord'");
    expect(configError(`{"guardrails": [{"name": "r"}, {"name": "r"}]}`))
      .toBe("config key 'guardrails.r' names a rule twice");
    expect(configError(`{"guardrails": [{"name": "a b"}]}`))
      .toBe("config key 'guardrails[0].name' may hold only letters, digits, '-' and '_' (it names counters)");
    expect(configError(`{"forward": "immediately", "guardrails": []}`))
      .toBe("config key 'forward' must be \"after_check\" when 'acls', 'rewrite', 'guardrails', 'validation', 'gateway', 'quotas' or 'api_versions' is set");
  });
});

describe("guardrails on topic creation", () => {
  it("forward a compliant CreateTopics untouched (the dry-run rule only counts)", () => {
    const x = new Exchange(shared);
    const before = count(counters.wouldViolate[3]);
    expect(x.send(createTopics([new Topic("team.orders", 6, 3, ["retention.ms", "86400000", "cleanup.policy", "compact,delete"])])))
      .toBe(Verdict.Forward);
    expect(count(counters.wouldViolate[3])).toBe(before + 1);
  });

  it("answer each violating topic with the broker's code and the rule's message, the rest go on", () => {
    const x = new Exchange(shared);
    const before = count(counters.violations[0]);
    const req = createTopics([
      new Topic("team.orders", 3, 3),
      new Topic("Bad_Name", 3, 3),
      new Topic("team.many", 1000, 3),
      new Topic("team.fragile", 3, 1),
      new Topic("team.forever", 3, 3, ["retention.ms", "-1"]),
      new Topic("team.unclean", 3, 3, ["unclean.leader.election.enable", "true"]),
      new Topic("team.policy", 3, 3, ["cleanup.policy", "delete,purge"]),
    ]);
    expect(x.send(req)).toBe(Verdict.Replace);
    expect(count(counters.violations[0])).toBe(before + 6);
    // The broker gets the compliant topic only.
    const forwarded = new Answers();
    const f = x.frame;
    expect(walk(19, 4, true, x.out.ptr + <usize>f.bodyOffset, x.out.len - f.bodyOffset, forwarded)).toBe(x.out.len - f.bodyOffset);
    expect(forwarded.names.join(",")).toBe("team.orders");
    // Its answer gets the refused topics merged in, in request order after the broker's.
    expect(x.answer(created(["team.orders"]))).toBe(Verdict.Replace);
    const a = responseOf(19, 4, x.out);
    expect(a.names.join(",")).toBe("team.orders,Bad_Name,team.many,team.fragile,team.forever,team.unclean,team.policy");
    expect(a.codes.join(",")).toBe("0,44,37,38,40,40,40");
    expect(contains(x.out, "guardrail 'topic-shape': topic names must match ^[a-z0-9-]+\\.[a-z0-9-]+$")).toBe(true);
    expect(contains(x.out, "guardrail 'topic-shape': topics may have at most 12 partitions")).toBe(true);
    expect(contains(x.out, "guardrail 'topic-shape': replication factor must be at least 2")).toBe(true);
    expect(contains(x.out, "guardrail 'topic-shape': retention.ms must be at most 604800000")).toBe(true);
    expect(contains(x.out, "guardrail 'topic-shape': topic configs [unclean.leader.election.enable] may not be set")).toBe(true);
    expect(contains(x.out, "guardrail 'topic-shape': cleanup.policy must be one of [delete, compact]")).toBe(true);
  });

  it("answer a CreateTopics whose every topic violates a rule itself (nothing reaches the broker)", () => {
    const x = new Exchange(shared);
    expect(x.send(createTopics([new Topic("team.many", 13, 3)]))).toBe(Verdict.Answer);
    const a = responseOf(19, 4, x.out);
    expect(a.names.join(",")).toBe("team.many");
    expect(a.codes.join(",")).toBe("37");
  });
});

// AlterConfigs v1: resources (type, name, configs), validateOnly.
function alterConfigs(type: i8, name: string, key: string, value: string): ByteBuffer {
  return new FrameBuilder().i16(33).i16(1).i32(11).str("admin-1").i32(1).i8(type).str(name).i32(1).str(key).str(value)
    .i8(0).finish();
}

// IncrementalAlterConfigs v0: resources (type, name, configs (name, op, value)), validateOnly.
function incrementalAlter(name: string, key: string, op: i8, value: string): ByteBuffer {
  return new FrameBuilder().i16(44).i16(0).i32(12).str("admin-1").i32(1).i8(2).str(name).i32(1).str(key).i8(op)
    .str(value).i8(0).finish();
}

// CreatePartitions v1: topics (name, new total count, no assignments), timeout, validateOnly.
function createPartitions(topics: string[], counts: i32[]): ByteBuffer {
  const b = new FrameBuilder().i16(37).i16(1).i32(13).str("admin-1").i32(topics.length);
  for (let i = 0; i < topics.length; i++) b.str(topics[i]).i32(counts[i]).i32(-1);
  return b.i32(30000).i8(0).finish();
}

// Metadata v4: topics, AllowAutoTopicCreation.
function metadata(topics: string[], autoCreate: bool): ByteBuffer {
  const b = new FrameBuilder().i16(3).i16(4).i32(14).str("app-1").i32(topics.length);
  for (let i = 0; i < topics.length; i++) b.str(topics[i]);
  return b.i8(autoCreate ? 1 : 0).finish();
}

describe("guardrails on topics created by the broker", () => {
  it("clear Metadata's auto-creation flag when a named topic is outside the name pattern", () => {
    const x = new Exchange(shared);
    expect(x.send(metadata(["team.orders"], true))).toBe(Verdict.Forward);
    expect(x.send(metadata(["team.orders", "Bad_Name"], true))).toBe(Verdict.Replace);
    expect(x.out.len).toBe(x.frame.len);
    expect(load<u8>(x.out.ptr + <usize>x.out.len - 1)).toBe(0);
    // With the ACLs clearing it too, the flag is edited once.
    const y = new Exchange(both);
    expect(y.send(metadata(["Bad_Name"], true))).toBe(Verdict.Replace);
    expect(y.out.len).toBe(y.frame.len);
    expect(load<u8>(y.out.ptr + <usize>y.out.len - 1)).toBe(0);
  });
});

describe("guardrails on CreatePartitions", () => {
  it("refuse a new total over the maximum for that topic alone, with INVALID_PARTITIONS", () => {
    const x = new Exchange(shared);
    expect(x.send(createPartitions(["team.a", "team.b"], [6, 20]))).toBe(Verdict.Replace);
    const forwarded = new Answers();
    const f = x.frame;
    expect(walk(37, 1, true, x.out.ptr + <usize>f.bodyOffset, x.out.len - f.bodyOffset, forwarded)).toBe(x.out.len - f.bodyOffset);
    expect(forwarded.names.join(",")).toBe("team.a");
    expect(x.answer(new FrameBuilder().i32(13).i32(0).i32(1).str("team.a").i16(0).i16(-1).finish())).toBe(Verdict.Replace);
    const a = responseOf(37, 1, x.out);
    expect(a.names.join(",")).toBe("team.a,team.b");
    expect(a.codes.join(",")).toBe("0,37");
    expect(contains(x.out, "guardrail 'topic-shape': topics may have at most 12 partitions")).toBe(true);
  });
});

describe("guardrails beside the ACLs", () => {
  it("answer each refused topic with its own stage's error; the compliant, authorized one goes on", () => {
    const x = new Exchange(both);
    expect(x.send(createTopics([new Topic("team.secret", 3, 1), new Topic("team.many", 100, 1), new Topic("team.ok", 3, 1)])))
      .toBe(Verdict.Replace);
    const forwarded = new Answers();
    const f = x.frame;
    expect(walk(19, 4, true, x.out.ptr + <usize>f.bodyOffset, x.out.len - f.bodyOffset, forwarded)).toBe(x.out.len - f.bodyOffset);
    expect(forwarded.names.join(",")).toBe("team.ok");
    expect(x.answer(created(["team.ok"]))).toBe(Verdict.Replace);
    const a = responseOf(19, 4, x.out);
    expect(a.names.join(",")).toBe("team.ok,team.secret,team.many");
    expect(a.codes.join(",")).toBe("0,29,37");
    expect(contains(x.out, "guardrail 'shape': topics may have at most 12 partitions")).toBe(true);
  });

  it("answer the request themselves when the two stages refuse every topic", () => {
    const x = new Exchange(both);
    expect(x.send(createTopics([new Topic("team.secret", 3, 1), new Topic("team.many", 100, 1)]))).toBe(Verdict.Answer);
    const a = responseOf(19, 4, x.out);
    expect(a.names.join(",")).toBe("team.secret,team.many");
    expect(a.codes.join(",")).toBe("29,37");
  });
});

describe("guardrails on topic config changes", () => {
  it("refuse retention past the limit on a topic, with INVALID_CONFIG and the message", () => {
    const x = new Exchange(shared);
    expect(x.send(alterConfigs(2, "team.orders", "retention.ms", "31536000000"))).toBe(Verdict.Answer);
    const a = responseOf(33, 1, x.out);
    expect(a.codes.join(",")).toBe("40");
    expect(contains(x.out, "guardrail 'topic-shape': retention.ms must be at most 604800000")).toBe(true);
    expect(x.send(incrementalAlter("team.orders", "retention.ms", 0, "31536000000"))).toBe(Verdict.Answer);
    expect(responseOf(44, 0, x.out).codes.join(",")).toBe("40");
  });

  it("pass a change within the limit, a deletion, and brokers' configs", () => {
    const x = new Exchange(shared);
    expect(x.send(alterConfigs(2, "team.orders", "retention.ms", "3600000"))).toBe(Verdict.Forward);
    expect(x.send(incrementalAlter("team.orders", "retention.ms", 1, ""))).toBe(Verdict.Forward);
    expect(x.send(alterConfigs(4, "1", "retention.ms", "31536000000"))).toBe(Verdict.Forward);
  });
});

describe("guardrails on producers", () => {
  it("pass acks=all with an allowed codec", () => {
    const x = new Exchange(shared);
    expect(x.send(produce(-1, 4))).toBe(Verdict.Forward);
  });

  it("refuse acks=0 outside the rule by closing the connection, as the broker does (no response carries errors)", () => {
    const x = new Exchange(shared);
    // acks=0: the broker closes such a producer's connection (it cannot be answered).
    expect(x.send(produce(0, 4))).toBe(Verdict.Reject);
    expect(x.pipeline.reason).toBe("guardrails refused a produce request with acks=0: guardrail 'producers': acks must be one of [all, 1]");
  });

  it("refuse other acks outside the rule with INVALID_REQUIRED_ACKS", () => {
    const only = sharedFor(`{"principal_sources": ["client_id"], "guardrails": [{"name": "all-acks", "acks": ["all"]}]}`);
    const x = new Exchange(only);
    expect(x.send(produce(1, 0))).toBe(Verdict.Answer);
    expect(responseOf(0, 3, x.out).codes.join(",")).toBe("21");
    expect(x.send(produce(-1, 0))).toBe(Verdict.Forward);
  });

  it("refuse a forbidden codec from the batch attributes with UNSUPPORTED_COMPRESSION_TYPE", () => {
    const x = new Exchange(shared);
    expect(x.send(produce(1, 0))).toBe(Verdict.Answer);
    expect(responseOf(0, 3, x.out).codes.join(",")).toBe("76");
    expect(x.send(produce(1, 1))).toBe(Verdict.Answer);
    expect(x.send(produce(1, 3))).toBe(Verdict.Forward);
  });

  it("refuse batches over the record count with INVALID_RECORD", () => {
    const x = new Exchange(shared);
    expect(x.send(produce(1, 3, 101))).toBe(Verdict.Answer);
    expect(responseOf(0, 3, x.out).codes.join(",")).toBe("87");
  });

  it("check idempotence and timestamps from the batch header", () => {
    const x = new Exchange(strict);
    expect(x.send(produce(-1, 0, 1, -1, 1764000000000))).toBe(Verdict.Answer);
    expect(responseOf(0, 3, x.out).codes.join(",")).toBe("87");
    // A producer id, and a timestamp long ago.
    expect(x.send(produce(-1, 0, 1, 42, 1000))).toBe(Verdict.Answer);
    expect(responseOf(0, 3, x.out).codes.join(",")).toBe("32");
  });
});

describe("guardrails on clients", () => {
  it("refuse a request without a client id, or with one outside the pattern: nothing reaches the broker", () => {
    const x = new Exchange(shared);
    // Metadata v1 with an empty client id.
    expect(x.send(new FrameBuilder().i16(3).i16(1).i32(5).str("").i32(-1).finish())).toBe(Verdict.Answer);
    expect(responseOf(3, 1, x.out).codes.length).toBe(0);
    expect(x.send(createTopics([new Topic("team.orders", 3, 3)], "Admin 1"))).toBe(Verdict.Answer);
    const a = responseOf(19, 4, x.out);
    expect(a.codes.join(",")).toBe("44");
    expect(contains(x.out, "guardrail 'ids': client.id must match [a-z][a-z0-9-]*")).toBe(true);
  });

  it("refuse forbidden APIs, group ids outside the pattern and session timeouts out of bounds", () => {
    const x = new Exchange(clientRules);
    // DeleteRecords v1 from User:app (client id principal): topics, timeout.
    expect(x.send(new FrameBuilder().i16(21).i16(1).i32(3).str("app").i32(0).i32(1000).finish())).toBe(Verdict.Answer);
    // From anyone else it goes on.
    expect(x.send(new FrameBuilder().i16(21).i16(1).i32(3).str("ops").i32(0).i32(1000).finish())).toBe(Verdict.Forward);
    // ACLs and guardrails together: the ACLs refuse one topic, the guardrails another.
const both = sharedFor(`{"principal_sources": ["client_id"], "acls": {"rules": [
    {"principal": "*", "permission": "allow", "resource": "topic", "name": "*", "operations": ["all"]},
    {"principal": "*", "permission": "deny", "resource": "topic", "name": "team.secret", "operations": ["all"]},
    {"principal": "*", "permission": "deny", "resource": "topic", "name": "Bad_Name", "operations": ["create"]}]},
  "guardrails": [{"name": "shape", "partitions": {"max": 12}, "topic_name_pattern": "[a-z.]+"}]}`);

// JoinGroup v1: group, session timeout, rebalance timeout, member id, protocol type, protocols.
    expect(x.send(join("app-orders", 10000))).toBe(Verdict.Forward);
    expect(x.send(join("Orders", 10000))).toBe(Verdict.Answer);
    expect(responseOf(11, 1, x.out).codes.join(",")).toBe("24");
    expect(x.send(join("app-orders", 1000))).toBe(Verdict.Answer);
    expect(responseOf(11, 1, x.out).codes.join(",")).toBe("26");
  });
});
