// The guardrails stage: what clients ask for, checked against the rules of the configuration
// (assembly/policy/guardrails.ts) on the values the one walk of the frame reports (partition
// counts, replication factors, topic configs, session timeouts: Role.Guarded; names; acks) and
// on the record batch headers of produce requests (codec, size, record count, timestamps,
// producer id: never the records). A violation is answered as the broker answers the same
// problem, with its error code and, where the response has one, an error message naming the
// rule:
// - an entry of the request's top-level list (a topic of a CreateTopics, a resource of an
//   AlterConfigs...) is refused alone: the others go to the broker and the refused entry's
//   answer is merged into the broker's response, as the authorization stage does (authz.ts);
//   every entry refused: the filter answers them all;
// - anything else (acks, batches, client id, a forbidden API, a group id outside a list) refuses
//   the request as a whole; a produce request with acks=0 has no response to carry the error,
//   so its connection is closed, as the broker does.
// Rules in dry-run count what they would refuse (`would_violate`) and refuse nothing.
import { Counter } from "../assembly/proxy/host_metrics";
import { currentTimeNanos } from "../assembly/proxy/host";
import { KafkaFrame, Verdict } from "../assembly/proxy/kafka_frame";
import { Check, CheckKind, ConfigRange, GuardCode, GuardRule, Guardrails } from "../assembly/policy/guardrails";
import { resetStepBudget, stepBudgetSpent } from "../assembly/policy/regex";
import { Entity } from "../assembly/kafka/layout";
import { FrameEdits } from "../assembly/kafka/frame_edits";
import { buildErrorResponse, EntryFilter } from "../assembly/kafka/error_response";
import { BatchSummary, summarizeBatches } from "../assembly/kafka/record_batches";
import { skippedSummary } from "../assembly/kafka/walker";
import { ByteBuffer } from "../assembly/kafka/byte_buffer";
import { writeInt32 } from "../assembly/kafka/writer";
import { ApiKey } from "../assembly/kafka/api_keys";
import {
  GUARD_ALTER_CONFIGS_NAME_ROW, GUARD_ALTER_CONFIGS_VALUE_ROW, GUARD_CREATE_PARTITIONS_COUNT_ROW,
  GUARD_CREATE_TOPICS_CONFIG_NAME_ROW, GUARD_CREATE_TOPICS_CONFIG_VALUE_ROW, GUARD_CREATE_TOPICS_PARTITIONS_ROW,
  GUARD_CREATE_TOPICS_REPLICATION_ROW, GUARD_INCREMENTAL_ALTER_CONFIGS_NAME_ROW,
  GUARD_INCREMENTAL_ALTER_CONFIGS_OPERATION_ROW, GUARD_INCREMENTAL_ALTER_CONFIGS_VALUE_ROW,
  GUARD_JOIN_GROUP_SESSION_TIMEOUT_ROW,
} from "../assembly/kafka/generated/schema_tables";

// What a request leaves for its response (KafkaFrame.note): error entries to merge. (The
// authorization stage's notes are 1 and 2.)
const NOTE_GUARD_MERGE: i32 = 3;
const ALTER_CONFIGS: i16 = 33;
const CREATE_PARTITIONS: i16 = 37;
const INCREMENTAL_ALTER_CONFIGS: i16 = 44;
const STREAMS_GROUP_HEARTBEAT: i16 = 88;
// IncrementalAlterConfigs operations: 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT.
const OP_DELETE: i8 = 1;
const OP_SUBTRACT: i8 = 3;
// Refused entries in one request before the walk gives up on it (as authz.ts).
const MAX_REFUSED_ENTRIES = 5000;

export class GuardCounters {
  violations: Counter[] = [];
  wouldViolate: Counter[] = [];
  constructor(rules: Guardrails) {
    for (let i = 0; i < rules.rules.length; i++) {
      const name = rules.rules[i].name;
      this.violations.push(new Counter("guardrails." + name + ".violations"));
      this.wouldViolate.push(new Counter("guardrails." + name + ".would_violate"));
    }
  }
}

export class GuardStage {
  private rules: GuardRule[];
  // Which rules apply to the request's principal (bit per rule), looked up again only when the
  // principal changes (principals are cached strings: identity tells).
  private mask: u64 = 0;
  private maskPrincipal: string = "";
  private masked: bool = false;
  private apiKey: i16 = 0;
  private apiVersion: i16 = 0;
  private bodyPtr: usize = 0;
  // The request refused as a whole: the first violation.
  private whole: Check | null = null;
  // The top-level entry being walked: its first violation.
  private pending: Check | null = null;
  private filter: EntryFilter = new EntryFilter();
  private listCount: i32 = 0;
  private scratch: ByteBuffer = new ByteBuffer();
  // Config APIs: the resource being walked is a topic.
  private topicResource: bool = false;
  // The config name being walked (its value follows), and the IncrementalAlterConfigs operation.
  private configPtr: usize = 0;
  private configLen: i32 = 0;
  private configOp: i8 = 0;
  // Produce: the batch headers of its record sets, and whether it names a transactional id.
  private batches: BatchSummary = new BatchSummary();
  private oneSet: BatchSummary = new BatchSummary();
  private transactional: bool = false;
  // Produce: the request was forwarded (its later batch headers are checked as they go by), and
  // the dry-run rules that already counted it.
  private producing: bool = false;
  private dryCounted: u64 = 0;
  private late: BatchSummary = new BatchSummary();
  // Metadata v4+: a named topic outside a rule's name pattern (see requestArrayEnd).
  private noAutoCreate: bool = false;
  // StreamsGroupHeartbeat: its topology was judged (see requestEntity).
  private topologySeen: bool = false;
  // Responses: the entries to merge (from the request's note).
  private mergeRow: i32 = -1;
  private mergeCount: i32 = 0;
  private mergePtr: usize = 0;
  private mergeLen: i32 = 0;
  // The client id the patterns were last matched against (it rarely changes on a connection),
  // and the rules whose client id pattern it fails.
  private clientIdSeen: ByteBuffer = new ByteBuffer();
  private clientIdLen: i32 = -2;
  private clientIdBad: u64 = 0;
  // Why the last request's connection must close (acks=0).
  reason: string = "";

  // Some rule has a client id pattern.
  private clientIdPatterns: bool = false;

  constructor(g: Guardrails, private counters: GuardCounters) {
    this.rules = g.rules;
    for (let i = 0; i < g.rules.length; i++) if (g.rules[i].clientId !== null) this.clientIdPatterns = true;
  }

  release(): void {
    this.filter.release();
    this.scratch.release();
    this.clientIdSeen.release();
  }

  // The rules (bits) whose client id pattern `len` bytes at `ptr` fail; matched again only when
  // the client id changes.
  private badClientId(ptr: usize, len: i32): u64 {
    const seen = this.clientIdSeen;
    if (len == this.clientIdLen && (len <= 0 || memory.compare(seen.ptr, ptr, <usize>len) == 0)) return this.clientIdBad;
    let bad: u64 = 0;
    for (let i = 0; i < this.rules.length; i++) {
      const rule = unchecked(this.rules[i]);
      if (rule.clientId !== null && !rule.clientId!.matches(ptr, max(len, 0))) bad |= (<u64>1) << i;
    }
    // Not remembered when the request's regex budget ran out (a match may have been cut short).
    if (stepBudgetSpent()) return bad;
    seen.clear();
    if (len > 0) seen.append(ptr, len);
    this.clientIdLen = len;
    this.clientIdBad = bad;
    return bad;
  }

  get refusedEntries(): bool {
    return this.filter.size > 0;
  }

  get refusedCount(): i32 {
    return this.filter.size;
  }

  beginRequest(f: KafkaFrame, principal: string): void {
    if (!this.masked || changetype<usize>(principal) != changetype<usize>(this.maskPrincipal)) {
      let m: u64 = 0;
      for (let i = 0; i < this.rules.length; i++) if (unchecked(this.rules[i]).appliesTo(principal)) m |= (<u64>1) << i;
      this.mask = m;
      this.maskPrincipal = principal;
      this.masked = true;
    }
    this.apiKey = f.apiKey;
    this.apiVersion = f.apiVersion;
    this.bodyPtr = f.bodyPtr;
    this.whole = null;
    this.pending = null;
    this.filter.reset(-1);
    this.listCount = 0;
    this.topicResource = f.apiKey == ApiKey.CreateTopics || f.apiKey == CREATE_PARTITIONS;
    this.configLen = -1;
    this.configOp = 0;
    this.transactional = false;
    this.producing = false;
    this.dryCounted = 0;
    this.noAutoCreate = false;
    this.topologySeen = false;
    resetStepBudget();
    if (f.apiKey == ApiKey.Produce) this.batches.reset();
    if (this.mask == 0) return;
    const idPtr = f.ptr + <usize>f.clientIdOffset;
    const idLen = f.clientIdLength;
    const badId = this.clientIdPatterns ? this.badClientId(idPtr, idLen) : 0;
    for (let i = 0; i < this.rules.length; i++) {
      if (!this.applies(i)) continue;
      const rule = unchecked(this.rules[i]);
      if (rule.hasForbiddenApis && f.apiKey >= 0 && f.apiKey < rule.forbiddenApis.length && rule.forbiddenApis[f.apiKey]) {
        this.violate(i, CheckKind.ForbiddenApi, false);
      }
      if (rule.clientIdRequired && idLen <= 0) this.violate(i, CheckKind.ClientIdRequired, false);
      else if ((badId & ((<u64>1) << i)) != 0) this.violate(i, CheckKind.ClientIdPattern, false);
    }
  }

  @inline private applies(i: i32): bool {
    return ((this.mask >> <u64>i) & 1) != 0;
  }

  // A violation of rule `i`'s check: counted; refused unless the rule is in dry-run, with the
  // entry being walked (`entry`) or the whole request.
  private violate(i: i32, kind: CheckKind, entry: bool): void {
    const rule = unchecked(this.rules[i]);
    this.refuseWith(i, rule.checks[kind], entry);
  }

  private refuseWith(i: i32, check: Check, entry: bool): void {
    const rule = unchecked(this.rules[i]);
    if (rule.dryRun) {
      unchecked(this.counters.wouldViolate[i]).increment(1);
      return;
    }
    unchecked(this.counters.violations[i]).increment(1);
    if (entry) {
      if (this.pending === null) this.pending = check;
    } else if (this.whole === null) {
      this.whole = check;
    }
  }

  requestArray(depth: i32, count: i32): void {
    if (depth == 0 && this.filter.row < 0) this.listCount = count;
  }

  // A name, as the client knows it.
  // (An entry of the top-level list the authorization stage refused is not looked at: it is
  // answered with its error alone, and counted by that stage only.)
  requestEntity(entity: i32, ptr: usize, len: i32, edits: FrameEdits): void {
    if (this.mask == 0 || edits.outerElementDropped()) return;
    const depth = edits.arrayDepth();
    const k = this.apiKey;
    if (entity == Entity.TopicName) {
      if (k == ALTER_CONFIGS || k == INCREMENTAL_ALTER_CONFIGS) this.topicResource = true;
      if (k == ApiKey.Metadata && depth == 1 && len >= 0) {
        const v4 = this.apiVersion >= 4;
        for (let i = 0; i < this.rules.length; i++) {
          if (!this.applies(i)) continue;
          const rule = unchecked(this.rules[i]);
          if (rule.topicName === null || (v4 && rule.dryRun) || rule.topicName!.matches(ptr, len)) continue;
          // Metadata v0-3 always asks the broker to create missing topics: the topic is refused.
          if (v4) this.noAutoCreate = true;
          else this.violate(i, CheckKind.MetadataTopicName, true);
        }
        return;
      }
      if (k == STREAMS_GROUP_HEARTBEAT) {
        // Every topic name of a StreamsGroupHeartbeat is in its topology, whose internal topics
        // (changelogs, repartition topics: names, partitions, replication, configs) the broker
        // creates without a CreateTopics: a rule checking topics refuses the heartbeat.
        if (this.topologySeen) return;
        this.topologySeen = true;
        for (let i = 0; i < this.rules.length; i++) {
          if (this.applies(i) && unchecked(this.rules[i]).checksTopics) this.violate(i, CheckKind.StreamsTopology, false);
        }
        return;
      }
      if (k != ApiKey.CreateTopics || depth != 1) return;
      for (let i = 0; i < this.rules.length; i++) {
        if (!this.applies(i)) continue;
        const rule = unchecked(this.rules[i]);
        if (rule.topicName !== null && !rule.topicName!.matches(ptr, len)) this.violate(i, CheckKind.TopicName, true);
      }
      return;
    }
    if (entity == Entity.GroupId && len >= 0) {
      for (let i = 0; i < this.rules.length; i++) {
        if (!this.applies(i)) continue;
        const rule = unchecked(this.rules[i]);
        if (rule.groupId !== null && !rule.groupId!.matches(ptr, len)) this.violate(i, CheckKind.GroupIdPattern, depth == 1);
      }
      return;
    }
    if (entity == Entity.TransactionalId && k == ApiKey.Produce && len >= 0) this.transactional = true;
  }

  // A config resource's type (the config APIs): only topics' configs are checked.
  resourceType(value: i8): void {
    this.topicResource = false;
  }

  // A value the walk reports for the guardrails (Role.Guarded).
  guarded(row: i32, ptr: usize, len: i32, edits: FrameEdits): void {
    if (this.mask == 0 || edits.outerElementDropped()) return;
    if (row == GUARD_CREATE_TOPICS_PARTITIONS_ROW) {
      // -1: the broker's default (num.partitions) or manual assignments, which the filter does
      // not check: refused by a rule bounding it (bounds).
      this.bounds(<i32>bswap<u32>(load<u32>(ptr)), CheckKind.PartitionsMin, CheckKind.PartitionsMax, 0, true);
    } else if (row == GUARD_CREATE_TOPICS_REPLICATION_ROW) {
      this.bounds(<i16>bswap<u16>(load<u16>(ptr)), CheckKind.ReplicationMin, CheckKind.ReplicationMax, 1, true);
    } else if (row == GUARD_CREATE_PARTITIONS_COUNT_ROW) {
      // The topic's new partition count: only the maximum applies.
      const count = <i32>bswap<u32>(load<u32>(ptr));
      for (let i = 0; i < this.rules.length; i++) {
        if (!this.applies(i)) continue;
        const rule = unchecked(this.rules[i]);
        if (rule.partitionsMax >= 0 && <i64>count > rule.partitionsMax) this.violate(i, CheckKind.PartitionsMax, true);
      }
    } else if (row == GUARD_JOIN_GROUP_SESSION_TIMEOUT_ROW) {
      this.bounds(<i32>bswap<u32>(load<u32>(ptr)), CheckKind.SessionTimeoutMin, CheckKind.SessionTimeoutMax, 2, false);
    } else if (row == GUARD_CREATE_TOPICS_CONFIG_NAME_ROW || row == GUARD_ALTER_CONFIGS_NAME_ROW ||
      row == GUARD_INCREMENTAL_ALTER_CONFIGS_NAME_ROW) {
      this.configPtr = ptr;
      this.configLen = len;
      this.configOp = 0;
    } else if (row == GUARD_INCREMENTAL_ALTER_CONFIGS_OPERATION_ROW) {
      this.configOp = load<i8>(ptr);
    } else if (row == GUARD_CREATE_TOPICS_CONFIG_VALUE_ROW || row == GUARD_ALTER_CONFIGS_VALUE_ROW ||
      row == GUARD_INCREMENTAL_ALTER_CONFIGS_VALUE_ROW) {
      if (this.topicResource && this.configLen >= 0) this.config(this.configPtr, this.configLen, ptr, len, edits);
    }
  }

  // A value against the min/max checks of every rule (`which`: 0 partitions, 1 replication
  // factor, 2 session timeout). A CreateTopics partition count or replication factor of -1 (the
  // broker's default, or manual assignments) is refused by a rule bounding it: the filter checks
  // neither, so the rule needs the count given explicitly.
  private bounds(value: i32, minKind: CheckKind, maxKind: CheckKind, which: i32, entry: bool): void {
    const implicit = value < 0 && which != 2;
    const v = <i64>value;
    for (let i = 0; i < this.rules.length; i++) {
      if (!this.applies(i)) continue;
      const rule = unchecked(this.rules[i]);
      const lo = which == 0 ? rule.partitionsMin : which == 1 ? rule.replicationMin : rule.sessionTimeoutMin;
      const hi = which == 0 ? rule.partitionsMax : which == 1 ? rule.replicationMax : rule.sessionTimeoutMax;
      if (implicit) {
        if (lo >= 0 || hi >= 0) this.violate(i, which == 0 ? CheckKind.PartitionsExplicit : CheckKind.ReplicationExplicit, entry);
      } else if (lo >= 0 && v < lo) this.violate(i, minKind, entry);
      else if (hi >= 0 && v > hi) this.violate(i, maxKind, entry);
    }
  }

  // One topic config set by the request (`valueLen` -1: null, back to the default).
  private config(namePtr: usize, nameLen: i32, valuePtr: usize, valueLen: i32, edits: FrameEdits): void {
    const op = this.configOp;
    // Deleting a config (IncrementalAlterConfigs DELETE, or a null value) returns it to the
    // broker's default; taking items out of a list (SUBTRACT) sets nothing new.
    if (op == OP_DELETE || op == OP_SUBTRACT || valueLen < 0) return;
    for (let i = 0; i < this.rules.length; i++) {
      if (!this.applies(i)) continue;
      const rule = unchecked(this.rules[i]);
      if (!rule.checksConfigs) continue;
      if (namedIn(rule.configsForbidden, namePtr, nameLen)) {
        this.violate(i, CheckKind.ConfigForbidden, true);
        continue;
      }
      if (rule.configsAllowed !== null && !namedIn(rule.configsAllowed!, namePtr, nameLen)) {
        this.violate(i, CheckKind.ConfigNotAllowed, true);
        continue;
      }
      const ranges = rule.configRanges;
      for (let j = 0; j < ranges.length; j++) {
        const r = unchecked(ranges[j]);
        if (!sameName(r.name, namePtr, nameLen)) continue;
        if (!inRange(r, valuePtr, valueLen)) this.refuseWith(i, r.check, true);
      }
      const values = rule.configValues;
      for (let j = 0; j < values.length; j++) {
        const cv = unchecked(values[j]);
        if (!sameName(cv.name, namePtr, nameLen)) continue;
        if (!listedValues(cv.values, valuePtr, valueLen)) this.refuseWith(i, cv.check, true);
      }
    }
  }

  // Produce: a record set's batch headers (`ptr` 0: the set stayed in Envoy's buffer; its
  // headers were read as it went by).
  records(ptr: usize, len: i32): void {
    if (this.mask == 0 || len <= 0) return;
    if (ptr == 0) {
      const s = skippedSummary();
      if (s !== null) this.batches.merge(s);
      return;
    }
    summarizeBatches(ptr, len, this.oneSet);
    this.batches.merge(this.oneSet);
  }

  // Metadata v4+: AllowAutoTopicCreation follows the topic list. A broker that creates missing
  // topics (auto.create.topics.enable) would create one outside the name pattern without a
  // CreateTopics the guardrails see: a request naming one goes with the flag cleared (existing
  // topics are described as before; a missing one is not created).
  requestArrayEnd(row: i32, ptr: usize, edits: FrameEdits): void {
    if (!this.noAutoCreate || edits.arrayDepth() != 1 || edits.innermostArrayRow() != row || load<u8>(ptr) == 0) return;
    const bytes = edits.bytes;
    const mark = bytes.len;
    store<u8>(bytes.reserve(1), 0);
    bytes.len += 1;
    edits.replace(ptr, ptr + 1, mark);
  }

  // The end of an element of the request's top-level list (before its edits close): refused
  // alone when one of its values violated a rule.
  entryEnd(edits: FrameEdits): void {
    const check = this.pending;
    if (check === null) return;
    this.pending = null;
    // Refused by the authorization stage already: answered with its error.
    if (edits.outerElementDropped()) return;
    const row = edits.innermostArrayRow();
    if (this.filter.row >= 0 && this.filter.row != row) {
      if (this.whole === null) this.whole = check;
      return;
    }
    if (!this.filter.addWith(<i32>(edits.innermostElementStart() - this.bodyPtr), <i16>check.code, check.ptr, check.len)) return;
    this.filter.row = row;
    if (this.filter.size > MAX_REFUSED_ENTRIES) {
      if (this.whole === null) this.whole = check;
      return;
    }
    edits.dropElement();
  }

  // Produce: acks and the batch headers against the producer checks.
  private produce(acks: i16): void {
    for (let i = 0; i < this.rules.length; i++) {
      if (!this.applies(i)) continue;
      const rule = unchecked(this.rules[i]);
      if (rule.acks != 0 && (acks < -1 || acks > 1 || (rule.acks & (1 << (acks + 1))) == 0)) this.violate(i, CheckKind.Acks, false);
    }
    this.batchChecks(this.batches, false);
  }

  // The batch checks of every rule on `b`; `late`: headers that arrived after the request was
  // forwarded (only the first violation matters: the connection closes). Dry-run rules count a
  // request once. Returns the first check a refusing rule failed, or null.
  private batchChecks(b: BatchSummary, late: bool): Check | null {
    if (b.batches == 0) return null;
    let now: i64 = -1;
    let refused: Check | null = null;
    for (let i = 0; i < this.rules.length; i++) {
      if (!this.applies(i)) continue;
      const rule = unchecked(this.rules[i]);
      if (!rule.checksBatches) continue;
      let kind = -1;
      if (rule.compression != 0 && (b.codecs & ~rule.compression) != 0) kind = CheckKind.Compression;
      else if (rule.maxBatchBytes >= 0 && <i64>b.maxBatchBytes > rule.maxBatchBytes) kind = CheckKind.BatchBytes;
      else if (rule.maxBatchRecords >= 0 && <i64>b.maxRecords > rule.maxBatchRecords) kind = CheckKind.BatchRecords;
      else if (rule.requireIdempotence && (b.nonIdempotent > 0 || b.oldFormat > 0)) kind = CheckKind.Idempotence;
      else if (rule.requireTransactions && (!this.transactional || b.transactional < b.batches)) kind = CheckKind.Transactions;
      else if (rule.timestampMaxPastMs >= 0 || rule.timestampMaxFutureMs >= 0) {
        if (now < 0) now = <i64>(currentTimeNanos() / 1000000);
        if (rule.timestampMaxPastMs >= 0 && b.minTimestamp >= 0 && b.minTimestamp < now - rule.timestampMaxPastMs) {
          kind = CheckKind.TimestampPast;
        } else if (rule.timestampMaxFutureMs >= 0 && b.maxTimestamp > now + rule.timestampMaxFutureMs) {
          kind = CheckKind.TimestampFuture;
        }
      }
      if (kind < 0) continue;
      const bit = (<u64>1) << i;
      if (rule.dryRun) {
        if ((this.dryCounted & bit) != 0) continue;
        this.dryCounted |= bit;
        unchecked(this.counters.wouldViolate[i]).increment(1);
        continue;
      }
      if (late) {
        if (refused === null) {
          unchecked(this.counters.violations[i]).increment(1);
          refused = rule.checks[kind];
        }
        continue;
      }
      this.violate(i, kind, false);
    }
    return refused;
  }

  // The batch headers of the request's last record set, so far (those seen when the request
  // was decided included), as they arrive after it was forwarded: false when a rule refuses
  // them (the connection is closed before the frame's end goes on).
  laterBatches(summary: BatchSummary): bool {
    if (!this.producing) return true;
    const all = this.late;
    all.reset();
    all.merge(this.batches);
    all.merge(summary);
    const check = this.batchChecks(all, true);
    if (check === null) return true;
    this.producing = false;
    this.reason = "guardrails refused a record batch of a produce request already under way: " + String.UTF8.decode(check.message);
    return false;
  }

  // After the walk (and after the authorization stage let the request through): what happens
  // to it. `acks` is the Produce's; `prior` entries of the same list were refused by the
  // authorization stage with `priorCode` (its merge note is in f.note).
  finishRequest(f: KafkaFrame, acks: i16, acksZero: bool, prior: i32 = 0, priorCode: i16 = 0): Verdict {
    if (this.mask == 0) return Verdict.Forward;
    if (f.apiKey == ApiKey.Produce) this.produce(acks);
    const whole = this.whole;
    const refused = this.filter.size;
    if (whole === null && refused == 0) {
      this.producing = f.apiKey == ApiKey.Produce;
      return Verdict.Forward;
    }
    if (acksZero) {
      // The broker closes the connection of an acks=0 producer whose request failed: the
      // only way it has to tell it.
      const message = whole !== null ? String.UTF8.decode(whole.message) : "";
      this.reason = "guardrails refused a produce request with acks=0: " + message;
      return Verdict.Reject;
    }
    let code: i32 = 0;
    let filter: EntryFilter | null = null;
    let other: i32 = 0;
    let message: usize = 0;
    let messageLen = 0;
    if (whole !== null) {
      code = whole.code;
      message = whole.ptr;
      messageLen = whole.len;
    } else {
      code = GuardCode.PolicyViolation;
      if (prior == 0 && f.note.len > 0) {
        // The authorization stage left a note of another kind (a listing to filter): one note
        // per response, so the filter answers the whole request, the other entries with
        // POLICY_VIOLATION.
        filter = this.filter;
        other = GuardCode.PolicyViolation;
      } else {
        const merges = this.mergeNote(f, prior > 0);
        // Metadata v1+ with every topic refused still goes (an empty list asks for none; the
        // answer carries the brokers clients need), as the authorization stage does.
        if (merges && (refused + prior < this.listCount || (f.apiKey == ApiKey.Metadata && f.apiVersion > 0))) {
          return Verdict.Forward;
        }
        if (merges) {
          // Every entry refused (by either stage): the filter answers them all, those the
          // authorization stage refused with its code.
          filter = this.filter;
          if (prior > 0) other = priorCode;
        } else {
          // No list answers the entries one by one: the whole request, with the first error.
          code = this.firstEntryCode();
        }
      }
    }
    if (!buildErrorResponse(f.apiKey, f.apiVersion, f.correlationId, f.bodyPtr, f.bodyLength, <i16>code, filter, f.rewritten,
      <i16>other, message, messageLen)) {
      this.reason = "could not answer a request the guardrails refused";
      return Verdict.Reject;
    }
    return Verdict.Answer;
  }

  private firstEntryCode(): i32 {
    this.filter.rewind();
    const first = load<i32>(this.filter.offsets.ptr);
    this.filter.has(first);
    return this.filter.hitCode;
  }

  // The error entries for the refused entries, appended to the response's list (as authz.ts).
  // With `joins`, the authorization stage's note already merges entries of the same list: ours
  // are added to it (its layout: kind, response row, count, then the entries).
  private mergeNote(f: KafkaFrame, joins: bool): bool {
    const answer = this.scratch;
    const filter = this.filter;
    if (!buildErrorResponse(f.apiKey, f.apiVersion, f.correlationId, f.bodyPtr, f.bodyLength, <i16>GuardCode.PolicyViolation,
      filter, answer) || filter.answerRow < 0) return false;
    const note = f.note;
    if (joins) {
      if (note.len < 12 || <i32>bswap<u32>(load<u32>(note.ptr + 4)) != filter.answerRow) return false;
      store<u32>(note.ptr + 8, bswap<u32>(bswap<u32>(load<u32>(note.ptr + 8)) + <u32>filter.answerCount));
    } else {
      writeInt32(note, NOTE_GUARD_MERGE);
      writeInt32(note, filter.answerRow);
      writeInt32(note, filter.answerCount);
    }
    note.append(answer.ptr + <usize>filter.answerStart, filter.answerEnd - filter.answerStart);
    answer.trim();
    return true;
  }

  beginResponse(f: KafkaFrame): void {
    this.mergeRow = -1;
    const note = f.note;
    if (note.len < 12 || bswap<u32>(load<u32>(note.ptr)) != NOTE_GUARD_MERGE) return;
    this.mergeRow = <i32>bswap<u32>(load<u32>(note.ptr + 4));
    this.mergeCount = <i32>bswap<u32>(load<u32>(note.ptr + 8));
    this.mergePtr = note.ptr + 12;
    this.mergeLen = note.len - 12;
  }

  responseArrayEnd(row: i32, edits: FrameEdits): void {
    if (row == this.mergeRow && edits.arrayDepth() == 1 && edits.innermostArrayRow() == row) {
      edits.appendElements(this.mergePtr, this.mergeLen, this.mergeCount);
      this.mergeRow = -1;
    }
  }

  finishResponse(): bool {
    return this.mergeRow < 0;
  }
}

function sameName(name: string, ptr: usize, len: i32): bool {
  // Config names are ASCII.
  if (name.length != len) return false;
  for (let i = 0; i < len; i++) if (<u32>name.charCodeAt(i) != <u32>load<u8>(ptr + <usize>i)) return false;
  return true;
}

function namedIn(names: string[], ptr: usize, len: i32): bool {
  for (let i = 0; i < names.length; i++) if (sameName(unchecked(names[i]), ptr, len)) return true;
  return false;
}

// A config value as a number (Kafka's numeric configs: integers, or a ratio); NaN otherwise.
function numberOf(ptr: usize, len: i32): f64 {
  if (len <= 0 || len > 40) return NaN;
  let i = 0;
  let negative = false;
  const first = load<u8>(ptr);
  if (first == 0x2d || first == 0x2b) {
    negative = first == 0x2d;
    i = 1;
  }
  let v: f64 = 0;
  let digits = 0;
  let scale: f64 = 0;
  for (; i < len; i++) {
    const c = load<u8>(ptr + <usize>i);
    if (c == 0x2e && scale == 0) {
      scale = 1;
      continue;
    }
    if (c < 0x30 || c > 0x39) return NaN;
    v = v * 10 + <f64>(c - 0x30);
    if (scale != 0) scale *= 10;
    digits++;
  }
  if (digits == 0) return NaN;
  if (scale != 0) v /= scale;
  return negative ? -v : v;
}

function inRange(r: ConfigRange, ptr: usize, len: i32): bool {
  let v = numberOf(ptr, len);
  if (isNaN(v)) return false;
  // Retention -1: forever.
  if (v == -1 && (r.name == "retention.ms" || r.name == "retention.bytes" || r.name == "local.retention.ms" ||
    r.name == "local.retention.bytes")) v = Infinity;
  return v >= r.min && v <= r.max;
}

// Every comma-separated item of the value is one of `values` (list configs: cleanup.policy).
function listedValues(values: string[], ptr: usize, len: i32): bool {
  let start = 0;
  for (let i = 0; i <= len; i++) {
    if (i < len && load<u8>(ptr + <usize>i) != 0x2c) continue;
    let a = start;
    let b = i;
    while (a < b && load<u8>(ptr + <usize>a) == 0x20) a++;
    while (b > a && load<u8>(ptr + <usize>(b - 1)) == 0x20) b--;
    if (!namedIn(values, ptr + <usize>a, b - a)) return false;
    start = i + 1;
  }
  return true;
}
