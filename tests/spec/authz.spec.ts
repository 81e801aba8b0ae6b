// The authorization stage (filters/authz.ts) through the filter's own Pipeline, per API, as data:
// each scenario is a request (a captured kafkajs or Java-client frame, or one built by hand), the
// principal it comes from (its client id), the ACL rules, and what Kafka's StandardAuthorizer
// would make of it: the request forwarded with the names the broker gets, or answered by the
// filter with Kafka's error codes (29 TOPIC_, 30 GROUP_, 31 CLUSTER_,
// 53 TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 100 UNKNOWN_TOPIC_ID), or dropped (acks=0); and,
// where the broker answers, what the client sees of that answer (refused entries merged back,
// listings filtered). Every answer and edited frame is decoded and its names and codes checked.
import { FRAME_COUNT, FRAME_INFO } from "./fixtures/captured_frames";
import { Captured } from "./captured";
import { FrameBuilder } from "./helpers";
import { Exchange, contentsOf, count, metric } from "./exchange";
import { ByteBuffer } from "../../assembly/kafka/byte_buffer";
import { parseConfig } from "../../assembly/policy/config";
import { Verdict } from "../../assembly/proxy/kafka_frame";
import { ProxyCounters } from "../../assembly/proxy/proxy_counters";
import { VmState } from "../../filters/pipeline";
import { AuthzCounters } from "../../filters/authz";

const proxyCounters = new ProxyCounters();

// The captured clients' principals (principal_sources: client_id).
const KAFKAJS = "User:kafkajs-capture";
const JAVA_PRODUCER = "User:java-producer";
const JAVA_CONSUMER = "User:java-consumer";
// The principal of the hand-built frames (client id "app").
const APP = "User:app";

class Scenario {
  principal: string = "";
  rules: string[] = [];
  superUsers: string[] = [];
  // Learn the captured topic's id first (a Metadata v13 response the worker saw).
  learnIds: bool = false;
  verdict: Verdict = Verdict.Forward;
  // The distinct non-zero error codes of the filter's answer, in ascending order.
  codes: i16[] = [];
  // The names the broker gets (Forward, Replace), in wire order.
  forwarded: string[] = [];
  // The broker's response to what it got, and what the client gets of it.
  response: ByteBuffer | null = null;
  shown: string[] = [];
  shownCodes: i16[] = [];

  constructor(public label: string, public request: ByteBuffer, public apiKey: i16, public apiVersion: i16) {}

  from(principal: string): Scenario {
    this.principal = principal;
    return this;
  }

  // A rule for the scenario's principal; `ops` comma-separated.
  allow(resource: string, name: string, ops: string, pattern: string = "literal"): Scenario {
    this.rules.push(rule("allow", resource, name, ops, pattern));
    return this;
  }

  // A rule for someone else.
  allowFor(principal: string, resource: string, name: string, ops: string): Scenario {
    this.rules.push(rule("allow", resource, name, ops, "literal").replace("PRINCIPAL", principal));
    return this;
  }

  deny(resource: string, name: string, ops: string, pattern: string = "literal"): Scenario {
    this.rules.push(rule("deny", resource, name, ops, pattern));
    return this;
  }

  superUser(): Scenario {
    this.superUsers.push(this.principal);
    return this;
  }

  afterMetadata(): Scenario {
    this.learnIds = true;
    return this;
  }

  forwards(names: string[]): Scenario {
    this.verdict = Verdict.Forward;
    this.forwarded = names;
    return this;
  }

  // Forwarded without the refused entries.
  edits(names: string[]): Scenario {
    this.verdict = Verdict.Replace;
    this.forwarded = names;
    return this;
  }

  answers(codes: i16[]): Scenario {
    this.verdict = Verdict.Answer;
    this.codes = codes;
    return this;
  }

  drops(): Scenario {
    this.verdict = Verdict.Drop;
    return this;
  }

  broker(response: ByteBuffer, shown: string[], codes: i16[]): Scenario {
    this.response = response;
    this.shown = shown;
    this.shownCodes = codes;
    return this;
  }

  config(): string {
    let supers = "";
    for (let i = 0; i < this.superUsers.length; i++) supers += (i > 0 ? ", " : "") + `"${this.superUsers[i]}"`;
    const rules = this.rules.join(", ").replaceAll("PRINCIPAL", this.principal);
    return `{"principal_sources": ["client_id"], "acls": {"super_users": [${supers}], "rules": [${rules}]}}`;
  }
}

function rule(permission: string, resource: string, name: string, ops: string, pattern: string): string {
  const list = ops.split(",");
  let json = "";
  for (let i = 0; i < list.length; i++) json += (i > 0 ? ", " : "") + `"${list[i]}"`;
  const named = resource == "cluster" ? "" : `, "pattern": "${pattern}", "name": "${name}"`;
  return `{"principal": "PRINCIPAL", "permission": "${permission}", "resource": "${resource}"${named}, "operations": [${json}]}`;
}

function capturedFrame(apiKey: i16, apiVersion: i16, isRequest: bool): Captured {
  for (let i = 0; i < FRAME_COUNT; i++) {
    if ((FRAME_INFO[i * 3] == 1) == isRequest && FRAME_INFO[i * 3 + 1] == apiKey && FRAME_INFO[i * 3 + 2] == apiVersion) {
      return new Captured(i);
    }
  }
  expect(apiKey).toBe(-1, "no captured frame for this API version");
  return new Captured(0);
}

// The captured request of an API version.
function captured(apiKey: i16, apiVersion: i16): Scenario {
  const c = capturedFrame(apiKey, apiVersion, true);
  return new Scenario(c.label, c.frame, apiKey, apiVersion);
}

// The captured request with the int32 at `offset` in its body set to `value`.
function patched(apiKey: i16, apiVersion: i16, offset: i32, value: i32, what: string): Scenario {
  const c = capturedFrame(apiKey, apiVersion, true);
  store<u32>(c.frame.ptr + <usize>(c.body + offset), bswap<u32>(<u32>value));
  return new Scenario(c.label + " " + what, c.frame, apiKey, apiVersion);
}

// A hand-built request from client "app": request header v1 (non-flexible APIs).
function built(apiKey: i16, apiVersion: i16): FrameBuilder {
  return new FrameBuilder().i16(apiKey).i16(apiVersion).i32(7).str("app");
}

function scenario(label: string, apiKey: i16, apiVersion: i16, b: FrameBuilder): Scenario {
  return new Scenario(label, b.finish(), apiKey, apiVersion);
}

// Produce v3 naming `topics`, one empty record set each.
function produceV3(acks: i16, topics: string[], transactionalId: string = ""): FrameBuilder {
  const b = built(0, 3);
  if (transactionalId.length > 0) b.str(transactionalId);
  else b.i16(-1);
  b.i16(acks).i32(30000).i32(topics.length);
  for (let i = 0; i < topics.length; i++) b.str(topics[i]).i32(1).i32(0).i32(0);
  return b;
}

// The broker's Produce v3 answer: partition 0 of each topic written.
function produceV3Response(topics: string[]): ByteBuffer {
  const b = new FrameBuilder().i32(7).i32(topics.length);
  for (let i = 0; i < topics.length; i++) b.str(topics[i]).i32(1).i32(0).i16(0).i32(0).i32(42).i32(-1).i32(-1);
  return b.i32(0).finish();
}

// Metadata v1 answer: one broker, `topics` without partitions.
function metadataV1Response(topics: string[]): ByteBuffer {
  const b = new FrameBuilder().i32(7).i32(1).i32(1).str("broker").i32(9092).i16(-1).i32(1).i32(topics.length);
  for (let i = 0; i < topics.length; i++) b.i16(0).str(topics[i]).i8(0).i32(0);
  return b.finish();
}

// Metadata v13 answer for no topics (what the broker says to a request whose topics were all
// refused): header v1, one broker, null cluster id, empty topic list, error 0.
function metadataV13Empty(): ByteBuffer {
  return new FrameBuilder().i32(7).uvarint(0).i32(0).uvarint(2).i32(1).cstr("broker").i32(9092).uvarint(0).uvarint(0)
    .uvarint(0).i32(1).uvarint(1).i16(0).uvarint(0).finish();
}

// ListGroups v0 answer listing `groups`.
function listGroupsV0Response(groups: string[]): ByteBuffer {
  const b = new FrameBuilder().i32(7).i16(0).i32(groups.length);
  for (let i = 0; i < groups.length; i++) b.str(groups[i]).str("consumer");
  return b.finish();
}

// AddPartitionsToTxn v2: partition 0 of each topic.
function addPartitionsV2(transactionalId: string, topics: string[]): FrameBuilder {
  const b = built(24, 2).str(transactionalId).i32(0).i32(5).i16(0).i32(topics.length);
  for (let i = 0; i < topics.length; i++) b.str(topics[i]).i32(1).i32(0);
  return b;
}

// DescribeConfigs v1 of one resource (2 topic, 4 broker), all its keys.
function describeConfigsV1(resourceType: i8, name: string): FrameBuilder {
  return built(32, 1).i32(1).i8(resourceType).str(name).i32(-1).i8(0);
}

const NONE: string[] = [];
const NO_CODES: i16[] = [];

// prettier-ignore
const SCENARIOS: Scenario[] = [
  // Produce: WRITE on the topic (by name, or by the id a Metadata response taught the worker).
  captured(0, 7).from(KAFKAJS).allow("topic", "capture", "write").forwards(["capture"]),
  captured(0, 7).from(KAFKAJS).allow("topic", "capt", "write", "prefixed").forwards(["capture"]),
  captured(0, 7).from(KAFKAJS).allow("topic", "capture", "read,describe").answers([29]),
  captured(0, 7).from(KAFKAJS).allow("topic", "*", "all").deny("topic", "capture", "write").answers([29]),
  captured(0, 7).from(KAFKAJS).allowFor("User:someone-else", "topic", "capture", "write").answers([29]),
  captured(0, 13).from(JAVA_PRODUCER).allow("topic", "capture", "write").answers([100]),
  captured(0, 13).from(JAVA_PRODUCER).allow("topic", "capture", "write").afterMetadata().forwards(NONE),
  captured(0, 13).from(JAVA_PRODUCER).allow("topic", "capture", "read").afterMetadata().answers([29]),
  // A Produce naming an allowed and a refused topic goes on without the refused one, whose
  // error entry is merged into the broker's answer (the e2e "mixed Produce").
  scenario("Produce v3, one topic refused", 0, 3, produceV3(-1, ["capture", "secret"])).from(APP)
    .allow("topic", "capture", "write").edits(["capture"])
    .broker(produceV3Response(["capture"]), ["capture", "secret"], [29]),
  // With acks=0 there is no answer to give: refused entries are dropped from the request, and
  // a request refused as a whole is not forwarded.
  scenario("Produce v3, acks=0, all topics refused", 0, 3, produceV3(0, ["secret"])).from(APP)
    .allow("topic", "capture", "write").edits(NONE),
  scenario("Produce v3, acks=0, transactional id refused", 0, 3, produceV3(0, ["capture"], "tx")).from(APP)
    .allow("topic", "capture", "write").drops(),
  scenario("Produce v3, transactional id refused", 0, 3, produceV3(-1, ["capture"], "tx")).from(APP)
    .allow("topic", "capture", "write").answers([53]),
  scenario("Produce v3, transactional", 0, 3, produceV3(-1, ["capture"], "tx")).from(APP)
    .allow("topic", "capture", "write").allow("transactional_id", "tx", "write").forwards(["tx", "capture"]),
  scenario("Produce v3, acks=0, one refused", 0, 3, produceV3(0, ["capture", "secret"])).from(APP)
    .allow("topic", "capture", "write").edits(["capture"]),
  // Fetch: READ on the topic; a replica id asks CLUSTER_ACTION. (The filter answers a replica
  // fetch without it 31, as a broker-to-broker API; Kafka's KafkaApis answers its partitions 29.)
  captured(1, 11).from(KAFKAJS).allow("topic", "capture", "read").forwards(["capture"]),
  captured(1, 11).from(KAFKAJS).allow("topic", "capture", "write").answers([29]),
  patched(1, 11, 0, 1, "from replica 1").from(KAFKAJS).allow("topic", "capture", "read").answers([31]),
  patched(1, 11, 0, 1, "from replica 1").from(KAFKAJS).allow("topic", "capture", "read").allow("cluster", "", "cluster_action").forwards(["capture"]),
  patched(1, 11, 0, 1, "from replica 1").from(KAFKAJS).superUser().forwards(["capture"]),
  captured(1, 18).from(JAVA_CONSUMER).allow("topic", "capture", "read").answers([100]),
  captured(1, 18).from(JAVA_CONSUMER).allow("topic", "capture", "read").afterMetadata().forwards(NONE),
  captured(1, 18).from(JAVA_CONSUMER).allow("topic", "capture", "describe").afterMetadata().answers([29]),
  // ListOffsets: DESCRIBE on the topic.
  captured(2, 3).from(KAFKAJS).allow("topic", "capture", "describe").forwards(["capture"]),
  captured(2, 11).from(JAVA_CONSUMER).answers([29]),
  // Metadata: named topics need DESCRIBE; all refused in v1+, the broker is asked for none and
  // the client gets the refused entry merged; a listing of all topics shows what it may describe.
  captured(3, 13).from(JAVA_PRODUCER).allow("topic", "capture", "describe,create").forwards(["capture"]),
  // Without CREATE, v4+ goes with AllowAutoTopicCreation cleared.
  captured(3, 13).from(JAVA_PRODUCER).allow("topic", "capture", "describe").edits(["capture"]),
  captured(3, 13).from(JAVA_PRODUCER).allow("topic", "other", "describe").edits(NONE)
    .broker(metadataV13Empty(), ["capture"], [29]),
  scenario("Metadata v1 for all topics", 3, 1, built(3, 1).i32(-1)).from(APP)
    .allow("topic", "capture", "describe").forwards(NONE)
    .broker(metadataV1Response(["capture", "secret", "payroll"]), ["capture"], NO_CODES),
  scenario("Metadata v1 for all topics, as a super user", 3, 1, built(3, 1).i32(-1)).from(APP).superUser()
    .forwards(NONE).broker(metadataV1Response(["capture", "secret"]), ["capture", "secret"], NO_CODES),
  // Offsets: READ (commit) / DESCRIBE (fetch) on the group and the topics; the group is checked
  // first, as Kafka does.
  captured(8, 5).from(KAFKAJS).allow("group", "capture-js", "read").allow("topic", "capture", "read").forwards(["capture-js", "capture"]),
  captured(8, 5).from(KAFKAJS).allow("topic", "capture", "read").answers([30]),
  captured(8, 5).from(KAFKAJS).answers([30]),
  captured(8, 5).from(KAFKAJS).allow("group", "capture-js", "read").answers([29]),
  captured(8, 9).from(JAVA_CONSUMER).allow("group", "capture-", "read", "prefixed").allow("topic", "capture", "read").forwards(["capture-java", "capture"]),
  captured(9, 4).from(KAFKAJS).allow("topic", "capture", "describe").answers([30]),
  captured(9, 9).from(JAVA_CONSUMER).allow("group", "capture-java", "describe").allow("topic", "capture", "describe").forwards(["capture-java", "capture"]),
  captured(9, 9).from(JAVA_CONSUMER).allow("topic", "capture", "describe").answers([30]),
  // FindCoordinator: DESCRIBE on the group or the transactional id, by key type.
  captured(10, 2).from(KAFKAJS).allow("group", "capture-js", "describe").forwards(["capture-js"]),
  captured(10, 2).from(KAFKAJS).answers([30]),
  captured(10, 6).from(JAVA_CONSUMER).answers([30]),
  scenario("FindCoordinator v2 for a transaction", 10, 2, built(10, 2).str("tx-refused").i8(1)).from(APP)
    .allow("group", "tx-refused", "all").answers([53]),
  scenario("FindCoordinator v2 for a transaction", 10, 2, built(10, 2).str("tx-ok").i8(1)).from(APP)
    .allow("transactional_id", "tx-ok", "describe").forwards(["tx-ok"]),
  // The group membership APIs: READ on the group.
  captured(11, 5).from(KAFKAJS).allow("group", "capture-js", "read").forwards(["capture-js"]),
  captured(11, 5).from(KAFKAJS).allow("group", "capture-js", "describe").answers([30]),
  captured(11, 9).from(JAVA_CONSUMER).answers([30]),
  captured(13, 3).from(KAFKAJS).answers([30]),
  captured(13, 5).from(JAVA_CONSUMER).allow("group", "*", "read").forwards(["capture-java"]),
  captured(14, 3).from(KAFKAJS).allow("group", "capture-js", "read").forwards(["capture-js"]),
  captured(14, 3).from(KAFKAJS).answers([30]),
  captured(14, 5).from(JAVA_CONSUMER).deny("group", "capture-java", "read").allow("group", "*", "all").answers([30]),
  captured(15, 2).from(KAFKAJS).allow("group", "capture-js", "describe").forwards(["capture-js"]),
  captured(15, 2).from(KAFKAJS).answers([30]),
  // ListGroups shows only the groups the principal may describe, unless it may describe the cluster.
  scenario("ListGroups v0", 16, 0, built(16, 0)).from(APP).allow("group", "capture-js", "describe").forwards(NONE)
    .broker(listGroupsV0Response(["capture-js", "secret-group"]), ["capture-js"], NO_CODES),
  scenario("ListGroups v0, DESCRIBE on the cluster", 16, 0, built(16, 0)).from(APP).allow("cluster", "", "describe")
    .forwards(NONE).broker(listGroupsV0Response(["capture-js", "secret-group"]), ["capture-js", "secret-group"], NO_CODES),
  // ApiVersions needs nothing.
  captured(18, 2).from(KAFKAJS).forwards(NONE),
  captured(18, 4).from(JAVA_PRODUCER).forwards(NONE),
  // CreateTopics: CREATE on the topic, or on the cluster.
  captured(19, 3).from(KAFKAJS).allow("topic", "capture", "create").forwards(["capture"]),
  captured(19, 3).from(KAFKAJS).allow("cluster", "", "create").forwards(["capture"]),
  captured(19, 3).from(KAFKAJS).allow("topic", "capture", "write").answers([29]),
  // InitProducerId: an idempotent producer's (no transactional id) is not refused here (Kafka
  // asks IDEMPOTENT_WRITE on the cluster or WRITE on some topic; the filter checks the
  // Produce that follows); a transactional one, WRITE on its id.
  captured(22, 5).from(JAVA_PRODUCER).allow("topic", "capture", "write").forwards(NONE),
  scenario("InitProducerId v0 for a transaction", 22, 0, built(22, 0).str("tx-refused").i32(60000)).from(APP)
    .allow("topic", "*", "all").answers([53]),
  scenario("InitProducerId v0 for a transaction", 22, 0, built(22, 0).str("tx-ok").i32(60000)).from(APP)
    .allow("transactional_id", "tx-", "write", "prefixed").forwards(["tx-ok"]),
  // Transactions: WRITE on the transactional id, then on the topics (AddPartitionsToTxn v0-3 is
  // refused as a whole: the refused topics' partitions 29, the others OPERATION_NOT_ATTEMPTED 55)
  // or READ on the group (AddOffsetsToTxn); the transactional id is checked first.
  scenario("AddPartitionsToTxn v2", 24, 2, addPartitionsV2("tx", ["capture", "secret"])).from(APP)
    .allow("transactional_id", "tx", "write").allow("topic", "*", "write").forwards(["tx", "capture", "secret"]),
  scenario("AddPartitionsToTxn v2, one topic refused", 24, 2, addPartitionsV2("tx", ["capture", "secret"])).from(APP)
    .allow("transactional_id", "tx", "write").allow("topic", "capture", "write").answers([29, 55]),
  scenario("AddPartitionsToTxn v2, transactional id refused", 24, 2, addPartitionsV2("tx", ["capture"])).from(APP)
    .allow("topic", "capture", "write").answers([53]),
  scenario("AddOffsetsToTxn v0", 25, 0, built(25, 0).str("tx").i32(0).i32(5).i16(0).str("capture-js")).from(APP)
    .allow("transactional_id", "tx", "write").allow("group", "capture-js", "read").forwards(["tx", "capture-js"]),
  scenario("AddOffsetsToTxn v0, group refused", 25, 0, built(25, 0).str("tx").i32(0).i32(5).i16(0).str("capture-js")).from(APP)
    .allow("transactional_id", "tx", "write").answers([30]),
  scenario("AddOffsetsToTxn v0, nothing allowed", 25, 0, built(25, 0).str("tx").i32(0).i32(5).i16(0).str("capture-js")).from(APP)
    .answers([53]),
  // Configs: DESCRIBE_CONFIGS on the topic (e2e: authz.test.ts), on the cluster for a broker.
  // (A config resource's name is a topic or a broker by its type: no name the spec's decoding lists.)
  scenario("DescribeConfigs v1 of a topic", 32, 1, describeConfigsV1(2, "capture")).from(APP)
    .allow("topic", "capture", "describe_configs").forwards(NONE),
  scenario("DescribeConfigs v1 of a broker", 32, 1, describeConfigsV1(4, "1")).from(APP)
    .allow("cluster", "", "describe_configs").forwards(NONE),
  scenario("DescribeConfigs v1 of a topic", 32, 1, describeConfigsV1(2, "capture")).from(APP)
    .allow("topic", "capture", "read,write").answers([29]),
  scenario("DescribeConfigs v1 of a broker", 32, 1, describeConfigsV1(4, "1")).from(APP)
    .allow("topic", "*", "all").answers([31]),
  // DeleteTopics: DELETE on the topic.
  scenario("DeleteTopics v1", 20, 1, built(20, 1).i32(1).str("capture").i32(30000)).from(APP)
    .allow("topic", "capture", "delete").forwards(["capture"]),
  scenario("DeleteTopics v1", 20, 1, built(20, 1).i32(1).str("capture").i32(30000)).from(APP)
    .allow("topic", "capture", "alter,create").answers([29]),
  // A cluster API: DescribeAcls needs DESCRIBE on the cluster.
  scenario("DescribeAcls v1", 29, 1, built(29, 1).i8(1).i16(-1).i8(1).i16(-1).i16(-1).i8(1).i8(1)).from(APP)
    .allow("topic", "*", "all").allow("group", "*", "all").answers([31]),
  scenario("DescribeAcls v1", 29, 1, built(29, 1).i8(1).i16(-1).i8(1).i16(-1).i16(-1).i8(1).i8(1)).from(APP)
    .allow("cluster", "", "describe").forwards(NONE),
];

// The distinct non-zero codes, ascending.
function codesOf(errors: i16[]): i16[] {
  const out: i16[] = [];
  for (let i = 0; i < errors.length; i++) if (errors[i] != 0 && !out.includes(errors[i])) out.push(errors[i]);
  return out.sort();
}

function sharedFor(s: Scenario): VmState {
  const parsed = parseConfig(s.config());
  expect(parsed.error).toBe("", s.label);
  return VmState.of(parsed.config!, proxyCounters);
}

// The worker sees the captured Metadata v13 response (topic "capture" and its id), on a
// connection whose request needs no ACL.
function learnIds(shared: VmState): void {
  const exchange = new Exchange(shared);
  const out = new ByteBuffer();
  expect(exchange.request(capturedFrame(18, 4, true), out)).toBe(Verdict.Forward);
  expect(exchange.responseTo(3, 13, capturedFrame(3, 13, false).frame, out)).toBe(Verdict.Forward);
}

function describeOf(s: Scenario): string {
  return s.label + " from " + s.principal + " with [" + s.rules.join(", ").replaceAll("PRINCIPAL", "P") + "]";
}

// Runs one scenario; returns the verdict.
function run(s: Scenario): Verdict {
  const label = describeOf(s);
  const shared = sharedFor(s);
  if (s.learnIds) learnIds(shared);
  const exchange = new Exchange(shared);
  const out = new ByteBuffer();
  const verdict = exchange.requestOf(s.request, out, label);
  const f = exchange.requestFrame;
  expect(f.requester).toBe(s.principal, label + ": judged as");
  expect(verdict).toBe(s.verdict, label + ": verdict");
  if (verdict == Verdict.Answer) {
    const answer = contentsOf(s.apiKey, f.responseVersion, false, out, -1, label + ": answer");
    expect(codesOf(answer.errors)).toStrictEqual(s.codes, label + ": answer's error codes");
    expect(<i32>bswap<u32>(load<u32>(out.ptr + 4))).toBe(f.correlationId, label + ": correlation id");
  } else if (verdict == Verdict.Forward || verdict == Verdict.Replace) {
    const sent = contentsOf(s.apiKey, s.apiVersion, true, out, f.bodyOffset, label + ": forwarded");
    expect(sent.names).toStrictEqual(s.forwarded, label + ": names the broker gets");
  }
  const response = s.response;
  if (response !== null) {
    const shown = new ByteBuffer();
    const answered = exchange.responseTo(s.apiKey, s.apiVersion, response, shown);
    expect(answered == Verdict.Forward || answered == Verdict.Replace).toBe(true, label + ": response verdict");
    const seen = contentsOf(s.apiKey, s.apiVersion, false, shown, -1, label + ": response");
    expect(seen.names).toStrictEqual(s.shown, label + ": names the client sees");
    expect(codesOf(seen.errors)).toStrictEqual(s.shownCodes, label + ": codes the client sees");
  }
  exchange.pipeline.release();
  return verdict;
}

// Runs the scenarios of the given API keys; returns how many.
function runApis(keys: i16[]): i32 {
  let n = 0;
  for (let i = 0; i < SCENARIOS.length; i++) {
    if (!keys.includes(SCENARIOS[i].apiKey)) continue;
    run(SCENARIOS[i]);
    n++;
  }
  return n;
}

describe("authorization per API (scenarios as data)", () => {
  it("Produce: WRITE on topics (by name or learned id), transactional ids, acks=0, refused entries merged", () => {
    expect(runApis([0])).toBeGreaterThanOrEqual(10);
  });

  it("Fetch and ListOffsets: READ / DESCRIBE on topics, CLUSTER_ACTION for replicas", () => {
    expect(runApis([1, 2])).toBeGreaterThanOrEqual(8);
  });

  it("Metadata: DESCRIBE (and CREATE) on named topics, listings filtered", () => {
    expect(runApis([3])).toBeGreaterThanOrEqual(4);
  });

  it("groups: offsets, coordinators, membership, descriptions and listings", () => {
    expect(runApis([8, 9, 10, 11, 13, 14, 15, 16])).toBeGreaterThanOrEqual(20);
  });

  it("transactions: InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn", () => {
    expect(runApis([22, 24, 25])).toBeGreaterThanOrEqual(9);
  });

  it("ApiVersions, topic admin (CreateTopics, DeleteTopics, DescribeConfigs) and a cluster API", () => {
    expect(runApis([18, 19, 20, 29, 32])).toBeGreaterThanOrEqual(12);
  });

  it("clears only AllowAutoTopicCreation in a Metadata v4+ request naming a topic it may not create", () => {
    const s = captured(3, 13).from(JAVA_PRODUCER).allow("topic", "capture", "describe").edits(["capture"]);
    const exchange = new Exchange(sharedFor(s));
    const out = new ByteBuffer();
    expect(exchange.requestOf(s.request, out)).toBe(Verdict.Replace);
    expect(out.len).toBe(s.request.len);
    let changed = 0;
    for (let i = 0; i < out.len; i++) {
      const was = load<u8>(s.request.ptr + <usize>i);
      const now = load<u8>(out.ptr + <usize>i);
      if (was == now) continue;
      changed++;
      expect(was).toBe(1);
      expect(now).toBe(0);
    }
    expect(changed).toBe(1);
  });

  it("counts every request refused as a whole once, refused entries one by one", () => {
    const counters = new AuthzCounters();
    const deniedBefore = count(counters.denied);
    const entriesBefore = count(counters.entries);
    let denied = 0;
    for (let i = 0; i < SCENARIOS.length; i++) {
      const v = run(SCENARIOS[i]);
      if (v == Verdict.Answer || v == Verdict.Drop) denied++;
    }
    expect(SCENARIOS.length).toBeGreaterThanOrEqual(50);
    // Every request answered or dropped is counted once; refused entries (of lists refused
    // entry by entry, answered or not) one by one: at least the four that went on without them.
    expect(count(counters.denied) - deniedBefore).toBe(<u64>denied);
    expect(count(counters.entries) - entriesBefore).toBeGreaterThanOrEqual(4);
  });

  it("covers every captured API with at least one allowed and one refused scenario", () => {
    for (let i = 0; i < FRAME_COUNT; i += 2) {
      const key = FRAME_INFO[i * 3 + 1];
      let allowed = false;
      let refused = false;
      for (let j = 0; j < SCENARIOS.length; j++) {
        const s = SCENARIOS[j];
        if (s.apiKey != key) continue;
        if (s.verdict == Verdict.Forward) allowed = true;
        else refused = true;
      }
      // ApiVersions and an idempotent InitProducerId are never refused.
      expect(allowed).toBe(true, new Captured(i).label);
      if (key != 18 && key != 22) expect(refused).toBe(true, new Captured(i).label);
    }
  });

  it("counts per principal the requests refused in whole or in part", () => {
    const app = "principal_requests.principal.User_app";
    const appDenied = "principal_denied.principal.User_app";
    const before = metric(app);
    const deniedBefore = metric(appDenied);
    let requests = 0;
    let denied = 0;
    for (let i = 0; i < SCENARIOS.length; i++) {
      const s = SCENARIOS[i];
      if (s.principal != APP) continue;
      const v = run(s);
      requests++;
      if (v != Verdict.Forward || s.verdict == Verdict.Replace) denied++;
    }
    expect(requests).toBeGreaterThan(5);
    expect(metric(app) - before).toBe(<u64>requests);
    expect(metric(appDenied) - deniedBefore).toBe(<u64>denied);
  });
});
