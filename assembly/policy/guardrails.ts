// The guardrails' rules (config key `guardrails`): what clients may ask for, as plain data, per
// principal or for everyone ("*"). Each rule has a name (in its counters and in the error
// message a refused client sees) and any of the checks below; `dry_run` counts what it would
// refuse without refusing. Mistakes (unknown keys, a bad pattern, min > max, a range over a
// config Kafka does not have) refuse the whole configuration, naming the key.
import { JsonKind, JsonValue } from "./json";
import { compileRegex, Regex } from "./regex";
import { apiKeyNamed } from "../kafka/api_table";
import { MAX_API_KEY } from "../kafka/generated/schema_tables";

// Kafka error codes the checks answer with (what the broker uses for the same problem).
export const enum GuardCode {
  MessageTooLarge = 10,
  InvalidTopic = 17,
  InvalidRequiredAcks = 21,
  InvalidGroupId = 24,
  InvalidSessionTimeout = 26,
  InvalidTimestamp = 32,
  InvalidPartitions = 37,
  InvalidReplicationFactor = 38,
  InvalidConfig = 40,
  PolicyViolation = 44,
  UnsupportedCompressionType = 76,
  InvalidRecord = 87,
}

// What a rule checks; one message per check, pre-encoded (Check.message).
export const enum CheckKind {
  TopicName,
  PartitionsMin,
  PartitionsMax,
  ReplicationMin,
  ReplicationMax,
  ConfigForbidden,
  ConfigNotAllowed,
  ConfigRange,
  ConfigValue,
  Acks,
  Idempotence,
  Transactions,
  Compression,
  BatchBytes,
  BatchRecords,
  TimestampPast,
  TimestampFuture,
  ClientIdRequired,
  ClientIdPattern,
  GroupIdPattern,
  SessionTimeoutMin,
  SessionTimeoutMax,
  ForbiddenApi,
  // A topic count the rule bounds left to the broker (-1: its default, or manual assignments).
  PartitionsExplicit,
  ReplicationExplicit,
  // Metadata v0-3 naming a topic outside the name pattern (auto-creation is implied).
  MetadataTopicName,
  // A Kafka Streams topology (StreamsGroupHeartbeat): internal topics the broker creates.
  StreamsTopology,
  Count,
}

// A check's error: its Kafka code and the message ("guardrail '<rule>': ..."), UTF-8.
export class Check {
  code: i32 = 0;
  message: ArrayBuffer = new ArrayBuffer(0);
  get ptr(): usize {
    return changetype<usize>(this.message);
  }
  get len(): i32 {
    return this.message.byteLength;
  }
}

// A numeric bound on a topic config (`retention.ms`: {"max": 604800000}). For the retention
// configs -1 means "forever": above any maximum.
export class ConfigRange {
  constructor(public name: string, public min: f64, public max: f64, public check: Check) {}
}

// Allowed values of a topic config (`cleanup.policy`: ["delete", "compact"]); list values
// (comma-separated) must have every item in it.
export class ConfigValues {
  constructor(public name: string, public values: string[], public check: Check) {}
}

export class GuardRule {
  name: string = "";
  // Principals the rule applies to ("*": everyone).
  principals: string[] = [];
  dryRun: bool = false;
  // Topics (CreateTopics, CreatePartitions, AlterConfigs, IncrementalAlterConfigs).
  topicName: Regex | null = null;
  partitionsMin: i64 = -1;
  partitionsMax: i64 = -1;
  replicationMin: i64 = -1;
  replicationMax: i64 = -1;
  configsForbidden: string[] = [];
  // null: any config not forbidden.
  configsAllowed: string[] | null = null;
  configRanges: ConfigRange[] = [];
  configValues: ConfigValues[] = [];
  // Producers. Bits: 1 << (acks + 1) for acks -1, 0, 1; 0 when unchecked.
  acks: i32 = 0;
  requireIdempotence: bool = false;
  requireTransactions: bool = false;
  // Bits 1 << codec of the allowed codecs; 0 when unchecked.
  compression: i32 = 0;
  maxBatchBytes: i64 = -1;
  maxBatchRecords: i64 = -1;
  timestampMaxPastMs: i64 = -1;
  timestampMaxFutureMs: i64 = -1;
  // Clients.
  clientIdRequired: bool = false;
  clientId: Regex | null = null;
  groupId: Regex | null = null;
  sessionTimeoutMin: i64 = -1;
  sessionTimeoutMax: i64 = -1;
  forbiddenApis: StaticArray<bool> = new StaticArray<bool>(<i32>MAX_API_KEY + 1);
  hasForbiddenApis: bool = false;
  // Per CheckKind.
  checks: StaticArray<Check> = new StaticArray<Check>(CheckKind.Count);

  constructor() {
    for (let i = 0; i < CheckKind.Count; i++) this.checks[i] = new Check();
  }

  appliesTo(principal: string): bool {
    for (let i = 0; i < this.principals.length; i++) {
      const p = this.principals[i];
      if (p == "*" || p == principal) return true;
    }
    return false;
  }

  // Whether the rule checks topic configs at all.
  get checksConfigs(): bool {
    return this.configsForbidden.length > 0 || this.configsAllowed !== null || this.configRanges.length > 0 ||
      this.configValues.length > 0;
  }

  // Whether the rule checks the shape of the topics it lets be created.
  get checksTopics(): bool {
    return this.topicName !== null || this.partitionsMin >= 0 || this.partitionsMax >= 0 || this.replicationMin >= 0 ||
      this.replicationMax >= 0 || this.checksConfigs;
  }

  get checksBatches(): bool {
    return this.compression != 0 || this.maxBatchBytes >= 0 || this.maxBatchRecords >= 0 ||
      this.timestampMaxPastMs >= 0 || this.timestampMaxFutureMs >= 0 || this.requireIdempotence ||
      this.requireTransactions;
  }

  setCheck(kind: CheckKind, code: i32, detail: string): void {
    const c = this.checks[kind];
    c.code = code;
    c.message = String.UTF8.encode("guardrail '" + this.name + "': " + detail);
  }
}

export class Guardrails {
  rules: GuardRule[] = [];

  get checksBatches(): bool {
    for (let i = 0; i < this.rules.length; i++) if (this.rules[i].checksBatches) return true;
    return false;
  }
}

export class GuardrailsResult {
  rules: Guardrails | null = null;
  error: string = "";
}

// Kafka's topic configs (TopicConfig and LogConfig, Kafka 3.9-4.x): a rule on any other name
// is a typo that would never match.
const TOPIC_CONFIGS: string[] = [
  "cleanup.policy", "compression.type", "compression.gzip.level", "compression.lz4.level", "compression.zstd.level",
  "delete.retention.ms", "file.delete.delay.ms", "flush.messages", "flush.ms",
  "follower.replication.throttled.replicas", "index.interval.bytes", "leader.replication.throttled.replicas",
  "local.retention.bytes", "local.retention.ms", "max.compaction.lag.ms", "max.message.bytes",
  "message.downconversion.enable", "message.format.version", "message.timestamp.after.max.ms",
  "message.timestamp.before.max.ms", "message.timestamp.difference.max.ms", "message.timestamp.type",
  "min.cleanable.dirty.ratio", "min.compaction.lag.ms", "min.insync.replicas", "preallocate",
  "remote.storage.enable", "remote.log.copy.disable", "remote.log.delete.on.disable", "retention.bytes",
  "retention.ms", "segment.bytes", "segment.index.bytes", "segment.jitter.ms", "segment.ms",
  "unclean.leader.election.enable",
];

export function isTopicConfig(name: string): bool {
  return TOPIC_CONFIGS.includes(name);
}

const CODECS: string[] = ["none", "gzip", "snappy", "lz4", "zstd"];

export class Reader {
  error: string = "";
  constructor(public where: string) {}

  fail(key: string, what: string): void {
    if (this.error.length == 0) this.error = "config key '" + this.where + "." + key + "' " + what;
  }

  whole(key: string, v: JsonValue, min: f64): i64 {
    if (v.kind != JsonKind.Number || v.num != Math.floor(v.num) || v.num < min || v.num > 9007199254740991) {
      this.fail(key, "must be a whole number of at least " + (<i64>min).toString());
      return -1;
    }
    return <i64>v.num;
  }

  flag(key: string, v: JsonValue): bool {
    if (v.kind != JsonKind.Bool) this.fail(key, "must be true or false");
    return v.bool;
  }

  pattern(key: string, v: JsonValue): Regex | null {
    if (v.kind != JsonKind.String) {
      this.fail(key, "must be a regular expression (string)");
      return null;
    }
    const r = compileRegex(v.str);
    if (r.error.length > 0) this.fail(key, "is not a supported regular expression: " + r.error);
    return r.regex;
  }

  strings(key: string, v: JsonValue): string[] {
    const out: string[] = [];
    if (v.kind != JsonKind.Array) {
      this.fail(key, "must be an array of strings");
      return out;
    }
    for (let i = 0; i < v.items.length; i++) {
      if (v.items[i].kind != JsonKind.String) {
        this.fail(key, "must be an array of strings");
        return out;
      }
      out.push(v.items[i].str);
    }
    return out;
  }

  // {"min": a, "max": b}: into out[0], out[1] (-1 for none); min > max refused.
  bounds(key: string, v: JsonValue, low: f64, out: StaticArray<i64>): void {
    out[0] = -1;
    out[1] = -1;
    if (v.kind != JsonKind.Object || v.keys.length == 0) {
      this.fail(key, "must be an object with \"min\" and/or \"max\"");
      return;
    }
    for (let i = 0; i < v.keys.length; i++) {
      const k = v.keys[i];
      if (k == "min") out[0] = this.whole(key + ".min", v.items[i], low);
      else if (k == "max") out[1] = this.whole(key + ".max", v.items[i], low);
      else this.fail(key + "." + k, "is not a known key (\"min\", \"max\")");
    }
    if (out[0] >= 0 && out[1] >= 0 && out[0] > out[1]) this.fail(key, "has min greater than max");
  }
}

function describeList(items: string[]): string {
  return "[" + items.join(", ") + "]";
}

function topicConfigs(rule: GuardRule, v: JsonValue, r: Reader): void {
  if (v.kind != JsonKind.Object) {
    r.fail("topic_configs", "must be an object");
    return;
  }
  for (let i = 0; i < v.keys.length && r.error.length == 0; i++) {
    const key = v.keys[i];
    const item = v.items[i];
    const where = "topic_configs." + key;
    if (key == "forbidden" || key == "allowed") {
      const names = r.strings(where, item);
      for (let j = 0; j < names.length; j++) {
        if (!isTopicConfig(names[j])) r.fail(where, "names '" + names[j] + "', which is not a Kafka topic config");
      }
      if (key == "forbidden") {
        rule.configsForbidden = names;
        rule.setCheck(CheckKind.ConfigForbidden, GuardCode.InvalidConfig, "topic configs " + describeList(names) + " may not be set");
      } else {
        rule.configsAllowed = names;
        rule.setCheck(CheckKind.ConfigNotAllowed, GuardCode.InvalidConfig, "only topic configs " + describeList(names) + " may be set");
      }
    } else if (key == "ranges") {
      if (item.kind != JsonKind.Object) {
        r.fail(where, "must be an object of config name to {\"min\", \"max\"}");
        return;
      }
      for (let j = 0; j < item.keys.length && r.error.length == 0; j++) {
        const name = item.keys[j];
        if (!isTopicConfig(name)) {
          r.fail(where + "." + name, "is not a Kafka topic config");
          return;
        }
        const b = new StaticArray<i64>(2);
        // Numeric configs may be -1 (retention forever); bounds are whole numbers.
        r.bounds(where + "." + name, item.items[j], 0, b);
        const min = b[0] >= 0 ? <f64>b[0] : -Infinity;
        const max = b[1] >= 0 ? <f64>b[1] : Infinity;
        const check = new Check();
        check.code = GuardCode.InvalidConfig;
        let detail = name + " must be";
        if (b[0] >= 0) detail += " at least " + b[0].toString();
        if (b[0] >= 0 && b[1] >= 0) detail += " and";
        if (b[1] >= 0) detail += " at most " + b[1].toString();
        check.message = String.UTF8.encode("guardrail '" + rule.name + "': " + detail);
        rule.configRanges.push(new ConfigRange(name, min, max, check));
      }
    } else if (key == "values") {
      if (item.kind != JsonKind.Object) {
        r.fail(where, "must be an object of config name to allowed values");
        return;
      }
      for (let j = 0; j < item.keys.length && r.error.length == 0; j++) {
        const name = item.keys[j];
        if (!isTopicConfig(name)) {
          r.fail(where + "." + name, "is not a Kafka topic config");
          return;
        }
        const values = r.strings(where + "." + name, item.items[j]);
        if (values.length == 0) r.fail(where + "." + name, "must list at least one value");
        const check = new Check();
        check.code = GuardCode.InvalidConfig;
        check.message = String.UTF8.encode("guardrail '" + rule.name + "': " + name + " must be one of " + describeList(values));
        rule.configValues.push(new ConfigValues(name, values, check));
      }
    } else {
      r.fail(where, "is not a known key (\"forbidden\", \"allowed\", \"ranges\", \"values\")");
    }
  }
}

function acksValue(v: JsonValue, r: Reader): i32 {
  if (v.kind != JsonKind.Array || v.items.length == 0) {
    r.fail("acks", "must be a non-empty array of \"all\", -1, 0, 1");
    return 0;
  }
  let bits = 0;
  for (let i = 0; i < v.items.length; i++) {
    const item = v.items[i];
    let a: i32 = 99;
    if (item.kind == JsonKind.String && item.str == "all") a = -1;
    else if (item.kind == JsonKind.Number && (item.num == -1 || item.num == 0 || item.num == 1)) a = <i32>item.num;
    if (a == 99) {
      r.fail("acks", "must be a non-empty array of \"all\", -1, 0, 1");
      return 0;
    }
    bits |= 1 << (a + 1);
  }
  return bits;
}

function acksNames(bits: i32): string {
  const names: string[] = [];
  if ((bits & 1) != 0) names.push("all");
  if ((bits & 2) != 0) names.push("0");
  if ((bits & 4) != 0) names.push("1");
  return describeList(names);
}

function parseRule(v: JsonValue, index: i32, r: GuardrailsResult): GuardRule | null {
  const rule = new GuardRule();
  let where = "guardrails[" + index.toString() + "]";
  if (v.kind != JsonKind.Object) {
    r.error = "config key '" + where + "' must be an object";
    return null;
  }
  const name = v.get("name");
  if (name === null || name.kind != JsonKind.String || name.str.length == 0 || name.str.length > 64) {
    r.error = "config key '" + where + ".name' must be a non-empty string of at most 64 characters";
    return null;
  }
  rule.name = name.str;
  for (let i = 0; i < rule.name.length; i++) {
    const c = rule.name.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x5f)) {
      r.error = "config key '" + where + ".name' may hold only letters, digits, '-' and '_' (it names counters)";
      return null;
    }
  }
  where = "guardrails." + rule.name;
  const rd = new Reader(where);
  rule.principals = ["*"];
  const b = new StaticArray<i64>(2);
  for (let i = 0; i < v.keys.length && rd.error.length == 0; i++) {
    const key = v.keys[i];
    const item = v.items[i];
    if (key == "name") continue;
    if (key == "principals") {
      rule.principals = rd.strings(key, item);
      if (rule.principals.length == 0) rd.fail(key, "must name at least one principal (\"*\" for everyone)");
    } else if (key == "dry_run") {
      rule.dryRun = rd.flag(key, item);
    } else if (key == "topic_name_pattern") {
      rule.topicName = rd.pattern(key, item);
      rule.setCheck(CheckKind.TopicName, GuardCode.PolicyViolation, "topic names must match " + item.str);
      // The broker answers INVALID_TOPIC_EXCEPTION for a Metadata topic it will never create
      // (an invalid name); clients fail on it instead of retrying (Metadata v0-3 have no message).
      rule.setCheck(CheckKind.MetadataTopicName, GuardCode.InvalidTopic, "topic names must match " + item.str);
    } else if (key == "partitions") {
      rd.bounds(key, item, 1, b);
      rule.partitionsMin = b[0];
      rule.partitionsMax = b[1];
      rule.setCheck(CheckKind.PartitionsMin, GuardCode.InvalidPartitions, "topics need at least " + b[0].toString() + " partitions");
      rule.setCheck(CheckKind.PartitionsMax, GuardCode.InvalidPartitions, "topics may have at most " + b[1].toString() + " partitions");
      rule.setCheck(CheckKind.PartitionsExplicit, GuardCode.InvalidPartitions,
        "partitions must be given explicitly (no broker default or manual assignment)");
    } else if (key == "replication_factor") {
      rd.bounds(key, item, 1, b);
      rule.replicationMin = b[0];
      rule.replicationMax = b[1];
      rule.setCheck(CheckKind.ReplicationMin, GuardCode.InvalidReplicationFactor, "replication factor must be at least " + b[0].toString());
      rule.setCheck(CheckKind.ReplicationMax, GuardCode.InvalidReplicationFactor, "replication factor must be at most " + b[1].toString());
      rule.setCheck(CheckKind.ReplicationExplicit, GuardCode.InvalidReplicationFactor,
        "replication factor must be given explicitly (no broker default or manual assignment)");
    } else if (key == "topic_configs") {
      topicConfigs(rule, item, rd);
    } else if (key == "acks") {
      rule.acks = acksValue(item, rd);
      rule.setCheck(CheckKind.Acks, GuardCode.InvalidRequiredAcks, "acks must be one of " + acksNames(rule.acks));
    } else if (key == "require_idempotence") {
      rule.requireIdempotence = rd.flag(key, item);
      rule.setCheck(CheckKind.Idempotence, GuardCode.InvalidRecord, "producers must be idempotent (enable.idempotence=true)");
    } else if (key == "require_transactions") {
      rule.requireTransactions = rd.flag(key, item);
      rule.setCheck(CheckKind.Transactions, GuardCode.InvalidRecord, "producers must be transactional (transactional.id)");
    } else if (key == "compression") {
      const names = rd.strings(key, item);
      if (names.length == 0) rd.fail(key, "must list at least one of " + describeList(CODECS));
      for (let j = 0; j < names.length; j++) {
        const codec = CODECS.indexOf(names[j]);
        if (codec < 0) rd.fail(key, "names '" + names[j] + "', not one of " + describeList(CODECS));
        else rule.compression |= 1 << codec;
      }
      rule.setCheck(CheckKind.Compression, GuardCode.UnsupportedCompressionType, "compression must be one of " + describeList(names));
    } else if (key == "max_batch_bytes") {
      rule.maxBatchBytes = rd.whole(key, item, 1);
      rule.setCheck(CheckKind.BatchBytes, GuardCode.MessageTooLarge,
        "record batches may take at most " + rule.maxBatchBytes.toString() + " bytes");
    } else if (key == "max_batch_records") {
      rule.maxBatchRecords = rd.whole(key, item, 1);
      rule.setCheck(CheckKind.BatchRecords, GuardCode.InvalidRecord,
        "record batches may hold at most " + rule.maxBatchRecords.toString() + " records");
    } else if (key == "timestamp_max_past_ms") {
      rule.timestampMaxPastMs = rd.whole(key, item, 0);
      rule.setCheck(CheckKind.TimestampPast, GuardCode.InvalidTimestamp,
        "record timestamps may be at most " + rule.timestampMaxPastMs.toString() + " ms in the past");
    } else if (key == "timestamp_max_future_ms") {
      rule.timestampMaxFutureMs = rd.whole(key, item, 0);
      rule.setCheck(CheckKind.TimestampFuture, GuardCode.InvalidTimestamp,
        "record timestamps may be at most " + rule.timestampMaxFutureMs.toString() + " ms in the future");
    } else if (key == "client_id_required") {
      rule.clientIdRequired = rd.flag(key, item);
      rule.setCheck(CheckKind.ClientIdRequired, GuardCode.PolicyViolation, "clients must set client.id");
    } else if (key == "client_id_pattern") {
      rule.clientId = rd.pattern(key, item);
      rule.setCheck(CheckKind.ClientIdPattern, GuardCode.PolicyViolation, "client.id must match " + item.str);
    } else if (key == "group_id_pattern") {
      rule.groupId = rd.pattern(key, item);
      rule.setCheck(CheckKind.GroupIdPattern, GuardCode.InvalidGroupId, "group ids must match " + item.str);
    } else if (key == "session_timeout_ms") {
      rd.bounds(key, item, 0, b);
      rule.sessionTimeoutMin = b[0];
      rule.sessionTimeoutMax = b[1];
      rule.setCheck(CheckKind.SessionTimeoutMin, GuardCode.InvalidSessionTimeout, "session.timeout.ms must be at least " + b[0].toString());
      rule.setCheck(CheckKind.SessionTimeoutMax, GuardCode.InvalidSessionTimeout, "session.timeout.ms must be at most " + b[1].toString());
    } else if (key == "forbidden_apis") {
      const names = rd.strings(key, item);
      for (let j = 0; j < names.length; j++) {
        const k = apiKeyNamed(names[j]);
        if (k < 0) rd.fail(key, "names an unknown API '" + names[j] + "'");
        else rule.forbiddenApis[k] = true;
      }
      rule.hasForbiddenApis = names.length > 0;
      rule.setCheck(CheckKind.ForbiddenApi, GuardCode.PolicyViolation, "APIs " + describeList(names) + " are forbidden");
    } else {
      rd.fail(key, "is not a known guardrail key");
    }
  }
  if (rd.error.length > 0) {
    r.error = rd.error;
    return null;
  }
  rule.setCheck(CheckKind.StreamsTopology, GuardCode.PolicyViolation,
    "Kafka Streams topologies may not be declared (their internal topics cannot be checked)");
  return rule;
}

// Rules are at most this many (the stage keeps which apply to a principal as bits of a u64).
export const MAX_RULES = 64;

export function parseGuardrails(v: JsonValue): GuardrailsResult {
  const r = new GuardrailsResult();
  if (v.kind != JsonKind.Array) {
    r.error = "config key 'guardrails' must be an array of rules";
    return r;
  }
  if (v.items.length > MAX_RULES) {
    r.error = "config key 'guardrails' may hold at most " + MAX_RULES.toString() + " rules";
    return r;
  }
  const g = new Guardrails();
  for (let i = 0; i < v.items.length; i++) {
    const rule = parseRule(v.items[i], i, r);
    if (rule === null) return r;
    for (let j = 0; j < g.rules.length; j++) {
      if (g.rules[j].name == rule.name) {
        r.error = "config key 'guardrails." + rule.name + "' names a rule twice";
        return r;
      }
    }
    g.rules.push(rule);
  }
  r.rules = g;
  return r;
}
