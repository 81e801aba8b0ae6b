// The record validation stage: the records of Produce requests for topics a rule names
// (assembly/policy/validation.ts), in the client's names. Only those topics' record sets are
// read (by range from Envoy's buffer, or where the frame is in memory); the others keep the
// zero-copy path. Compressed batches are inflated into one scratch area per VM, at most
// `max_inflated_bytes` per request in total (past it the batch is refused). A partition with
// a failing batch is refused alone with INVALID_RECORD (87) and the rule's message (Produce v8+
// carries it as error_message, and the failing record's index in record_errors); the other
// partitions go to the broker and the refused ones' answers are merged into its response: into
// their topic's partition list, or as a topic entry of their own where every partition of an
// entry was refused (then the entry is removed, as the guardrails do, guardrails.ts). Dry-run
// rules count (`would_refuse`) and refuse nothing.
import { add, Counter } from "../assembly/proxy/host_metrics";
import { LabelTable } from "../assembly/proxy/label_table";
import { KafkaFrame, Verdict } from "../assembly/proxy/kafka_frame";
import { Check, GuardCode } from "../assembly/policy/guardrails";
import { resetStepBudget } from "../assembly/policy/regex";
import { checkRecords, failedRecord, VCheck, Validation, ValidationRule } from "../assembly/policy/validation";
import { ARRAY, Entity, FieldCol } from "../assembly/kafka/layout";
import { fieldCol } from "../assembly/kafka/field_table";
import { messageStruct } from "../assembly/kafka/api_table";
import { STRUCTS } from "../assembly/kafka/generated/schema_tables";
import { FrameEdits } from "../assembly/kafka/frame_edits";
import { buildErrorResponse, EntryFilter } from "../assembly/kafka/error_response";
import { readSkipped, stopWalk, Visitor, walk } from "../assembly/kafka/walker";
import { BufferBudget, ByteBuffer } from "../assembly/kafka/byte_buffer";
import { writeInt32 } from "../assembly/kafka/writer";
import { ApiKey } from "../assembly/kafka/api_keys";
import { decompress } from "../assembly/kafka/compression/index";
import { TopicIds } from "./topic_ids";
import { RewriteStage } from "./rewrite";
import { MAX_REFUSED_ENTRIES } from "./authz";

const NOTE_VALIDATION_MERGE: i32 = 4;
// Notes of the other stages whose layout (kind, response row, count, entries) ours join.
const NOTE_AUTHZ_MERGE: i32 = 1;
const NOTE_GUARD_MERGE: i32 = 3;
const UNKNOWN_TOPIC_ID: i16 = 100;
const HEADER = 61;
const LOG_OVERHEAD = 12;
// Scratch per VM: a batch read from Envoy, and its records inflated.
const RAW = new ByteBuffer();
const OUT = new ByteBuffer();
const BATCH_HEADER = memory.data(HEADER);
// Produce response rows: the topic list, each topic's partition list, each partition's
// record_errors.
const TOPICS_ROW: i32 = STRUCTS[messageStruct(<i16>ApiKey.Produce, false)];
const PARTITIONS_ROW = firstArray(TOPICS_ROW);
const RECORD_ERRORS_ROW = firstArray(PARTITIONS_ROW);

// The first array field of the elements of array field `row`.
function firstArray(row: i32): i32 {
  const s = <i32>fieldCol(row, FieldCol.Struct);
  for (let r = <i32>unchecked(STRUCTS[s]); r < <i32>unchecked(STRUCTS[s + 1]); r++) {
    if ((<i32>fieldCol(r, FieldCol.Packed) & ARRAY) != 0) return r;
  }
  return -1;
}

export class ValidationCounters {
  refused: Counter[] = [];
  wouldRefuse: Counter[] = [];
  // Batches in a codec the module cannot inflate that a rule let pass; record bytes validated
  // (inflated bytes for compressed batches), all rules.
  passedUnsupported: Counter = new Counter("validation.unsupported_passed");
  bytes: Counter = new Counter("validation.bytes");
  // Per rule, refused and would_refuse per topic (broker-side names), made at a rule's first
  // refusal; at most `maxTopics` topics each (then `other`), as the other topic metrics.
  private topics: Array<LabelTable | null> = [];
  constructor(private v: Validation, private maxTopics: i32) {
    for (let i = 0; i < v.rules.length; i++) {
      const n = "validation." + v.rules[i].name;
      this.refused.push(new Counter(n + ".refused"));
      this.wouldRefuse.push(new Counter(n + ".would_refuse"));
      this.topics.push(null);
    }
  }

  // Counts a refusal (or a dry run's) of rule `i` for the topic named by `len` bytes at `ptr`.
  topic(i: i32, dry: bool, ptr: usize, len: i32): void {
    if (this.maxTopics <= 0) return;
    let t = unchecked(this.topics[i]);
    if (t === null) {
      const name = this.v.rules[i].name;
      t = new LabelTable(["validation_topic_refused.rule." + name, "validation_topic_would_refuse.rule." + name], "topic", this.maxTopics);
      unchecked((this.topics[i] = t));
    }
    add(unchecked(t.lookup(ptr, len).ids[dry ? 1 : 0]), 1);
  }
}

// Whether a request names a topic some rule applies to (by name, or by an id: conservatively,
// any id), walked before the request is whole.
class TopicProbe extends Visitor {
  hit: bool = false;
  rules: ValidationRule[] = [];
  // The request's principal's rewriting (its rules picked by the pipeline), for broker names.
  rewrite: RewriteStage | null = null;

  entity(entity: i32, lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
    if (entity != Entity.TopicName || len <= 0) return;
    // The broker's name as the stage will see it: a rule may cover only that (a rename's target).
    let brokerPtr = valuePtr;
    let brokerLen = len;
    const rw = this.rewrite;
    if (rw !== null && rw.brokerTopic(valuePtr, len)) {
      brokerPtr = rw.name.ptr;
      brokerLen = rw.name.len;
    }
    for (let i = 0; i < this.rules.length; i++) {
      if (unchecked(this.rules[i]).covers(valuePtr, len, brokerPtr, brokerLen)) this.hit = true;
    }
  }

  topicId(ptr: usize): void {
    this.hit = true;
  }
}

const PROBE = new TopicProbe();

// Refused partitions per request whose answers carry the rule's message (partitionEnd).
const TOLD_PARTITIONS = 16;

export class ValidationStage {
  private rules: ValidationRule[];
  private maxInflated: i32;
  private producing: bool = false;
  private bodyPtr: usize = 0;
  // Rules (bits) of the topic entry being walked; what refuses all its partitions (an unknown
  // id); the first refusal of the partition being walked.
  private mask: u64 = 0;
  private topicCheck: Check | null = null;
  private pending: Check | null = null;
  // Refused partitions (the filter's entries).
  private filter: EntryFilter = new EntryFilter();
  private listCount: i32 = 0;
  // The topic entry being walked: its partitions, how many are refused, its key in the
  // broker's response (its broker-side name, or its id: length -16).
  private parts: i32 = 0;
  private partsRefused: i32 = 0;
  private key: ByteBuffer = new ByteBuffer();
  private keyLen: i32 = 0;
  // Its broker-side name.
  private name: ByteBuffer = new ByteBuffer();
  // Topic entries removed whole; per topic entry with refused partitions, in wire order:
  // whether it was removed whole (i32), its key's length and bytes.
  private wholeTopics: i32 = 0;
  private refusedTopics: ByteBuffer = new ByteBuffer();
  private partial: ByteBuffer = new ByteBuffer();
  private inflatedLeft: i32 = 0;
  private scratch: ByteBuffer = new ByteBuffer();
  private mergeRow: i32 = -1;
  private mergeCount: i32 = 0;
  private mergePtr: usize = 0;
  private mergeLen: i32 = 0;
  // Responses: the groups of partitions to merge into their topic's list; the one whose topic
  // is being walked.
  private groupsPtr: usize = 0;
  private groupsEnd: usize = 0;
  private group: usize = 0;
  // The record index of the last refusal (-1: the batch as a whole).
  lastRecord: i32 = -1;
  reason: string = "";

  constructor(v: Validation, private counters: ValidationCounters, private topicIds: TopicIds, private rewrite: RewriteStage | null) {
    this.rules = v.rules;
    this.maxInflated = v.maxInflatedBytes;
    this.filter.detailRow = RECORD_ERRORS_ROW;
    this.filter.spans = new ByteBuffer();
  }

  // A Produce request whose last record set has not arrived waits for it only when it names a
  // topic a rule applies to: the others are decided as before (their records stay in Envoy).
  wholeRequest(f: KafkaFrame): bool {
    if (f.apiKey != ApiKey.Produce) return false;
    const probe = PROBE;
    probe.hit = false;
    probe.rules = this.rules;
    probe.rewrite = this.rewrite;
    return walk(f.apiKey, f.apiVersion, true, f.bodyPtr, f.bodyLength, probe) < 0 || probe.hit;
  }

  release(): void {
    this.filter.release();
    this.filter.spans!.release();
    this.scratch.release();
    this.key.release();
    this.name.release();
    this.refusedTopics.release();
    this.partial.release();
  }

  get refusedEntries(): bool {
    return this.filter.size > 0;
  }

  beginRequest(f: KafkaFrame): void {
    this.producing = f.apiKey == ApiKey.Produce;
    this.bodyPtr = f.bodyPtr;
    this.mask = 0;
    this.topicCheck = null;
    this.pending = null;
    this.filter.reset(-1);
    this.listCount = 0;
    this.partsRefused = 0;
    this.wholeTopics = 0;
    this.refusedTopics.clear();
    this.inflatedLeft = this.maxInflated;
    if (this.producing) resetStepBudget();
    // (Also here: a request refused before finishRequest leaves them grown.)
    RAW.trim();
    OUT.trim();
  }

  requestArray(depth: i32, count: i32): void {
    if (!this.producing) return;
    if (depth == 0 && this.filter.row < 0) this.listCount = count;
    if (depth == 1) this.parts = count;
  }

  // A Produce topic entry's name (v0-12), as the client knows it and as the broker gets it.
  requestEntity(entity: i32, ptr: usize, len: i32, brokerPtr: usize, brokerLen: i32, edits: FrameEdits): void {
    if (!this.producing || entity != Entity.TopicName || edits.arrayDepth() != 1) return;
    this.topic(ptr, len, brokerPtr, brokerLen, brokerPtr, brokerLen, edits);
  }

  // Produce v13+: topics by id, named as the client knows them.
  topicId(idPtr: usize, edits: FrameEdits): void {
    if (!this.producing || edits.arrayDepth() != 1) return;
    const e = this.topicIds.find(idPtr);
    if (e === null) {
      // An id no worker has seen cannot be matched against the rules: the client refreshes.
      this.mask = 0;
      if (!edits.outerElementDropped()) {
        this.topicCheck = UNKNOWN_ID;
        this.setKey(idPtr, -16);
      }
      return;
    }
    let ptr = e.namePtr;
    let len = e.nameLen;
    const brokerPtr = ptr;
    const brokerLen = len;
    // (A name the principal's rewriting gives no client name stays the broker's.)
    const rw = this.rewrite;
    if (rw !== null && rw.clientTopic(ptr, len)) {
      ptr = rw.name.ptr;
      len = rw.name.len;
    }
    this.topic(ptr, len, idPtr, -16, brokerPtr, brokerLen, edits);
  }

  private topic(ptr: usize, len: i32, keyPtr: usize, keyLen: i32, brokerPtr: usize, brokerLen: i32, edits: FrameEdits): void {
    let m: u64 = 0;
    if (!edits.outerElementDropped() && len > 0) {
      for (let i = 0; i < this.rules.length; i++) {
        if (unchecked(this.rules[i]).covers(ptr, len, brokerPtr, brokerLen)) m |= (<u64>1) << i;
      }
    }
    this.mask = m;
    if (m == 0) return;
    this.setKey(keyPtr, keyLen);
    this.name.clear();
    if (brokerLen > 0) this.name.append(brokerPtr, brokerLen);
  }

  private setKey(ptr: usize, len: i32): void {
    this.keyLen = len;
    this.key.clear();
    this.key.append(ptr, len < 0 ? -len : len);
  }

  // A record set of the topic entry being walked (`ptr` 0: it stayed in Envoy's buffer).
  records(ptr: usize, len: i32): void {
    if (this.mask == 0 || this.pending !== null || len <= 0) return;
    let at = 0;
    while (at < len && this.pending === null) {
      if (len - at < HEADER) {
        this.refuseAll(VCheck.Malformed, -1);
        return;
      }
      let h = ptr + <usize>at;
      if (ptr == 0) {
        if (!readSkipped(at, HEADER, BATCH_HEADER)) {
          this.refuseAll(VCheck.Malformed, -1);
          return;
        }
        h = BATCH_HEADER;
      }
      const size = <i32>bswap<u32>(load<u32>(h + 8)) + LOG_OVERHEAD;
      if (size < HEADER || size > len - at) {
        this.refuseAll(VCheck.Malformed, -1);
        return;
      }
      if (load<u8>(h + 16) != 2) {
        this.refuseAll(VCheck.OldFormat, -1);
        return;
      }
      this.batch(ptr, at, size, h);
      at += size;
    }
  }

  // One batch of `size` bytes at `at` of the record set; `h` its header in memory.
  private batch(ptr: usize, at: i32, size: i32, h: usize): void {
    const attributes = bswap<u16>(load<u16>(h + 21));
    // Control batches come from transaction coordinators only (the broker refuses them here).
    if ((attributes & 0x20) != 0) return;
    const codec = <i32>(attributes & 7);
    const count = <i32>bswap<u32>(load<u32>(h + 57));
    let n = size - HEADER;
    let p = ptr + <usize>(at + HEADER);
    if (count < 0 || count > n) {
      this.refuseAll(VCheck.Malformed, -1);
      return;
    }
    if (ptr == 0) {
      if (!grow(RAW, n)) {
        this.refuseAll(VCheck.Inflated, -1);
        return;
      }
      if (!readSkipped(at + HEADER, n, RAW.ptr)) {
        this.refuseAll(VCheck.Malformed, -1);
        return;
      }
      p = RAW.ptr;
    }
    if (codec != 0) {
      const left = this.inflatedLeft;
      // A first guess at the inflated size, then all that is left of the request's allowance.
      let cap = min(left, max(65536, n < 0x4000000 ? n * 16 : left));
      let got = -2;
      while (true) {
        if (!grow(OUT, cap)) break;
        got = decompress(codec, p, n, OUT.ptr, cap);
        if (got != -2 || cap >= left) break;
        cap = left;
      }
      if (got == -3 || codec > 4) {
        this.unsupported();
        return;
      }
      if (got < 0) {
        // What a failed attempt may have inflated counts too: a request of many bombs that fail
        // at their end does not inflate more than its allowance.
        this.inflatedLeft -= cap;
        this.refuseAll(got == -2 ? VCheck.Inflated : VCheck.Malformed, -1);
        return;
      }
      this.inflatedLeft -= got;
      p = OUT.ptr;
      n = got;
    }
    this.counters.bytes.increment(n);
    for (let i = 0; i < this.rules.length; i++) {
      if (((this.mask >> <u64>i) & 1) == 0) continue;
      const rule = unchecked(this.rules[i]);
      if (!rule.readsRecords) continue;
      const c = checkRecords(rule, p, n, count);
      if (c !== null) this.refuse(i, c, failedRecord);
    }
  }

  private unsupported(): void {
    for (let i = 0; i < this.rules.length; i++) {
      if (((this.mask >> <u64>i) & 1) == 0) continue;
      const rule = unchecked(this.rules[i]);
      if (rule.passUnsupported) this.counters.passedUnsupported.increment(1);
      else this.refuse(i, rule.checks[VCheck.Unsupported], -1);
    }
  }

  private refuseAll(kind: VCheck, record: i32): void {
    for (let i = 0; i < this.rules.length; i++) {
      if (((this.mask >> <u64>i) & 1) != 0) this.refuse(i, unchecked(this.rules[i]).checks[kind], record);
    }
  }

  private refuse(i: i32, c: Check, record: i32): void {
    const dry = unchecked(this.rules[i]).dryRun;
    if (!dry && this.pending !== null) return;
    this.counters.topic(i, dry, this.name.ptr, this.name.len);
    if (dry) {
      unchecked(this.counters.wouldRefuse[i]).increment(1);
      return;
    }
    unchecked(this.counters.refused[i]).increment(1);
    this.pending = c;
    this.lastRecord = record;
  }

  // The end of a partition: refused alone when its batch failed.
  partitionEnd(edits: FrameEdits): void {
    let check = this.pending;
    this.pending = null;
    if (check === null) {
      check = this.topicCheck;
      this.lastRecord = -1;
    }
    if (check === null || edits.outerElementDropped()) return;
    const row = edits.innermostArrayRow();
    // The rule's message (twice from v8: error_message and record_errors) for the first refused
    // partitions of a request only: the answers wait for the broker's response, and a request
    // of many tiny refused partitions must not hold many times its own size until then.
    const told = this.filter.size < TOLD_PARTITIONS;
    if (!this.filter.addWith(<i32>(edits.innermostElementStart() - this.bodyPtr), <i16>check.code, told ? check.ptr : 0,
      told ? check.len : 0, told ? this.lastRecord : -1)) return;
    if (this.filter.size > MAX_REFUSED_ENTRIES) {
      // Their answers would hold many times the request's bytes until the broker answers: no
      // producer sends that many partitions, the connection is closed.
      stopWalk();
      return;
    }
    this.filter.row = row;
    edits.dropElement();
    this.partsRefused++;
  }

  // The end of a topic entry: removed whole when every partition was refused.
  entryEnd(edits: FrameEdits): void {
    this.mask = 0;
    this.topicCheck = null;
    const n = this.partsRefused;
    this.partsRefused = 0;
    if (n == 0) return;
    if (edits.outerElementDropped()) {
      // Another stage refused the entry at its end: its answer stands for these partitions.
      this.filter.dropLast(n);
      return;
    }
    const whole = n >= this.parts;
    if (whole) {
      edits.dropElement();
      this.wholeTopics++;
    }
    const t = this.refusedTopics;
    const p = t.reserve(8);
    store<i32>(p, whole ? 1 : 0);
    store<i32>(p, this.keyLen, 4);
    t.len += 8;
    t.append(this.key.ptr, this.key.len);
  }

  // After the other stages let the request through; `prior` entries of the same list were
  // refused by them (`priorCode`: the authorization stage's code, else theirs).
  finishRequest(f: KafkaFrame, acksZero: bool, prior: i32, priorCode: i16): Verdict {
    RAW.trim();
    OUT.trim();
    const refused = this.filter.size;
    if (!this.producing || refused == 0) return Verdict.Forward;
    if (acksZero) {
      // As the broker does with an acks=0 producer whose request failed: nothing could tell
      // the producer, so the closed connection does.
      this.reason = "invalid records with acks=0";
      return Verdict.Reject;
    }
    if (this.wholeTopics + prior < this.listCount) {
      if (this.mergeNote(f)) return Verdict.Forward;
      this.reason = "could not merge invalid records' answers";
      return Verdict.Reject;
    }
    // Every entry refused: the filter answers them all (the others with the stage's code).
    if (!buildErrorResponse(f.apiKey, f.apiVersion, f.correlationId, f.bodyPtr, f.bodyLength, <i16>GuardCode.InvalidRecord,
      this.filter, f.rewritten, prior > 0 ? (priorCode != 0 ? priorCode : <i16>GuardCode.PolicyViolation) : 0)) {
      this.reason = "could not answer invalid records";
      return Verdict.Reject;
    }
    return Verdict.Answer;
  }

  // The refused partitions' answers, for the response: topic entries to append to its topic
  // list (joined to another stage's note over that list, which this stage then merges), then
  // groups of partitions to append to their topic's partition list, each as (key length, key,
  // count, length, elements), then the groups' length.
  private mergeNote(f: KafkaFrame): bool {
    const answer = this.scratch;
    const filter = this.filter;
    const spans = filter.spans!;
    spans.clear();
    if (!buildErrorResponse(f.apiKey, f.apiVersion, f.correlationId, f.bodyPtr, f.bodyLength, <i16>GuardCode.InvalidRecord,
      filter, answer)) return false;
    const note = f.note;
    if (note.len >= 12) {
      const kind = <i32>bswap<u32>(load<u32>(note.ptr));
      if ((kind != NOTE_AUTHZ_MERGE && kind != NOTE_GUARD_MERGE) || <i32>bswap<u32>(load<u32>(note.ptr + 4)) != TOPICS_ROW) {
        return false;
      }
      // Ours now: the other stage leaves it alone.
      store<u32>(note.ptr, bswap<u32>(<u32>NOTE_VALIDATION_MERGE));
    } else if (note.len > 0) {
      return false;
    } else {
      writeInt32(note, NOTE_VALIDATION_MERGE);
      writeInt32(note, TOPICS_ROW);
      writeInt32(note, 0);
    }
    const groups = this.partial;
    groups.clear();
    let whole = 0;
    // One span (5 i32) per topic entry with refused partitions, in the order of refusedTopics.
    let t = this.refusedTopics.ptr;
    const n = spans.len / 20;
    for (let i = 0; i < n; i++) {
      const s = spans.ptr + <usize>(i * 20);
      const keyLen = load<i32>(t, 4);
      const keyBytes = keyLen < 0 ? -keyLen : keyLen;
      if (load<i32>(t) != 0) {
        note.append(answer.ptr + <usize>load<i32>(s, 12), load<i32>(s, 16) - load<i32>(s, 12));
        whole++;
      } else {
        writeInt32(groups, keyLen);
        groups.append(t + 8, keyBytes);
        writeInt32(groups, load<i32>(s, 8));
        writeInt32(groups, load<i32>(s, 4) - load<i32>(s));
        groups.append(answer.ptr + <usize>load<i32>(s), load<i32>(s, 4) - load<i32>(s));
      }
      t += <usize>(8 + keyBytes);
    }
    store<u32>(note.ptr + 8, bswap<u32>(bswap<u32>(load<u32>(note.ptr + 8)) + <u32>whole));
    note.append(groups.ptr, groups.len);
    writeInt32(note, groups.len);
    answer.trim();
    groups.trim();
    return true;
  }

  beginResponse(f: KafkaFrame): void {
    this.mergeRow = -1;
    this.groupsPtr = this.groupsEnd = this.group = 0;
    const note = f.note;
    if (note.len < 16 || bswap<u32>(load<u32>(note.ptr)) != NOTE_VALIDATION_MERGE) return;
    const groups = <i32>bswap<u32>(load<u32>(note.ptr + <usize>(note.len - 4)));
    this.mergeCount = <i32>bswap<u32>(load<u32>(note.ptr + 8));
    if (this.mergeCount > 0) this.mergeRow = <i32>bswap<u32>(load<u32>(note.ptr + 4));
    this.mergePtr = note.ptr + 12;
    this.mergeLen = note.len - 16 - groups;
    this.groupsPtr = this.mergePtr + <usize>this.mergeLen;
    this.groupsEnd = this.groupsPtr + <usize>groups;
  }

  // A topic of the response (its name, or its id: `len` -16): the first group of its
  // partitions not merged yet.
  responseTopic(ptr: usize, len: i32, edits: FrameEdits): void {
    if (this.groupsPtr == this.groupsEnd || edits.arrayDepth() != 1) return;
    this.group = 0;
    for (let g = this.groupsPtr; g < this.groupsEnd; g = nextGroup(g)) {
      const keyLen = <i32>bswap<u32>(load<u32>(g));
      const at = g + <usize>(4 + (keyLen < 0 ? -keyLen : keyLen));
      if (keyLen == len && <i32>bswap<u32>(load<u32>(at)) >= 0 && memory.compare(g + 4, ptr, at - g - 4) == 0) {
        this.group = g;
        return;
      }
    }
  }

  responseArrayEnd(row: i32, edits: FrameEdits): void {
    if (row == this.mergeRow && edits.arrayDepth() == 1 && edits.innermostArrayRow() == row) {
      edits.appendElements(this.mergePtr, this.mergeLen, this.mergeCount);
      this.mergeRow = -1;
    }
    // (`group`: the first group of the topic not merged yet.) Every group of the topic goes in:
    // a request may name one topic in several entries, and the broker answers it in one.
    const first = this.group;
    if (first != 0 && row == PARTITIONS_ROW && edits.arrayDepth() == 2 && edits.innermostArrayRow() == row) {
      this.group = 0;
      for (let g = first; g < this.groupsEnd; g = nextGroup(g)) {
        const at = countOf(g);
        if (!sameKey(g, first) || <i32>bswap<u32>(load<u32>(at)) < 0) continue;
        edits.appendElements(at + 8, <i32>bswap<u32>(load<u32>(at + 4)), <i32>bswap<u32>(load<u32>(at)));
        // Merged: its count says so.
        store<i32>(at, -1);
      }
    }
  }

  // Every refused partition merged.
  finishResponse(): bool {
    if (this.mergeRow >= 0) return false;
    for (let g = this.groupsPtr; g < this.groupsEnd; g = nextGroup(g)) if (load<i32>(countOf(g)) != -1) return false;
    return true;
  }
}

const UNKNOWN_ID = unknownId();

// Where the count of the merge group at `g` is (after its key's length and its key).
function countOf(g: usize): usize {
  const keyLen = <i32>bswap<u32>(load<u32>(g));
  return g + <usize>(4 + (keyLen < 0 ? -keyLen : keyLen));
}

// Whether the merge groups at `a` and `b` are of one topic (their keys' lengths and bytes).
function sameKey(a: usize, b: usize): bool {
  return load<u32>(a) == load<u32>(b) && memory.compare(a + 4, b + 4, countOf(a) - a - 4) == 0;
}

// The merge group after the one at `g`: (key length, key, count, length, elements).
function nextGroup(g: usize): usize {
  const at = countOf(g);
  return at + 8 + <usize>bswap<u32>(load<u32>(at + 4));
}

// (No message: the code makes the client refresh its metadata.)
function unknownId(): Check {
  const c = new Check();
  c.code = UNKNOWN_TOPIC_ID;
  return c;
}

// Room for `n` bytes in a scratch buffer, within the VM's buffer budget.
function grow(b: ByteBuffer, n: i32): bool {
  b.clear();
  if (n <= b.cap) return true;
  if (!BufferBudget.allows(n - b.cap, true)) return false;
  b.resize(n);
  return true;
}
