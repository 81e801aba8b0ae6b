// The record validation stage: the records of Produce requests for topics a rule names
// (assembly/policy/validation.ts), in the client's names. Only those topics' record sets are
// read (by range from Envoy's buffer, or where the frame is in memory); the others keep the
// zero-copy path. Compressed batches are inflated into one scratch area per VM, at most
// `max_inflated_bytes` per request in total (past it the batch is refused). A topic entry with
// a failing batch is refused alone with INVALID_RECORD (87) and the rule's message (Produce v8+
// carries it as error_message); the other entries go to the broker and the refused one's
// answer is merged into its response, as the guardrails do (guardrails.ts). Dry-run rules count
// (`would_refuse`) and refuse nothing.
import { Counter } from "../assembly/proxy/host_metrics";
import { KafkaFrame, Verdict } from "../assembly/proxy/kafka_frame";
import { Check, GuardCode } from "../assembly/policy/guardrails";
import { resetStepBudget } from "../assembly/policy/regex";
import { checkRecords, failedRecord, VCheck, Validation, ValidationRule } from "../assembly/policy/validation";
import { Entity } from "../assembly/kafka/layout";
import { FrameEdits } from "../assembly/kafka/frame_edits";
import { buildErrorResponse, EntryFilter } from "../assembly/kafka/error_response";
import { readSkipped, Visitor, walk } from "../assembly/kafka/walker";
import { BufferBudget, ByteBuffer } from "../assembly/kafka/byte_buffer";
import { writeInt32 } from "../assembly/kafka/writer";
import { ApiKey } from "../assembly/kafka/api_keys";
import { decompress } from "../assembly/kafka/compression/index";
import { TopicIds } from "./topic_ids";
import { RewriteStage } from "./rewrite";

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

export class ValidationCounters {
  refused: Counter[] = [];
  wouldRefuse: Counter[] = [];
  // Batches in a codec the module cannot inflate that a rule let pass; record bytes validated
  // (inflated bytes for compressed batches), all rules.
  passedUnsupported: Counter = new Counter("validation.unsupported_passed");
  bytes: Counter = new Counter("validation.bytes");
  constructor(v: Validation) {
    for (let i = 0; i < v.rules.length; i++) {
      const n = "validation." + v.rules[i].name;
      this.refused.push(new Counter(n + ".refused"));
      this.wouldRefuse.push(new Counter(n + ".would_refuse"));
    }
  }
}

// Whether a request names a topic some rule applies to (by name, or by an id: conservatively,
// any id), walked before the request is whole.
class TopicProbe extends Visitor {
  hit: bool = false;
  rules: ValidationRule[] = [];

  entity(entity: i32, lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
    if (entity != Entity.TopicName || len <= 0) return;
    for (let i = 0; i < this.rules.length; i++) if (unchecked(this.rules[i]).appliesTo(valuePtr, len)) this.hit = true;
  }

  topicId(ptr: usize): void {
    this.hit = true;
  }
}

const PROBE = new TopicProbe();

export class ValidationStage {
  private rules: ValidationRule[];
  private maxInflated: i32;
  private producing: bool = false;
  private bodyPtr: usize = 0;
  // Rules (bits) of the topic entry being walked; its first refusal.
  private mask: u64 = 0;
  private pending: Check | null = null;
  private filter: EntryFilter = new EntryFilter();
  private listCount: i32 = 0;
  private inflatedLeft: i32 = 0;
  private scratch: ByteBuffer = new ByteBuffer();
  private mergeRow: i32 = -1;
  private mergeCount: i32 = 0;
  private mergePtr: usize = 0;
  private mergeLen: i32 = 0;
  // The record index of the last refusal (-1: the batch as a whole).
  lastRecord: i32 = -1;
  reason: string = "";

  constructor(v: Validation, private counters: ValidationCounters, private topicIds: TopicIds, private rewrite: RewriteStage | null) {
    this.rules = v.rules;
    this.maxInflated = v.maxInflatedBytes;
  }

  // A Produce request whose last record set has not arrived waits for it only when it names a
  // topic a rule applies to: the others are decided as before (their records stay in Envoy).
  wholeRequest(f: KafkaFrame): bool {
    if (f.apiKey != ApiKey.Produce) return false;
    const probe = PROBE;
    probe.hit = false;
    probe.rules = this.rules;
    return walk(f.apiKey, f.apiVersion, true, f.bodyPtr, f.bodyLength, probe) < 0 || probe.hit;
  }

  release(): void {
    this.filter.release();
    this.scratch.release();
  }

  get refusedEntries(): bool {
    return this.filter.size > 0;
  }

  beginRequest(f: KafkaFrame): void {
    this.producing = f.apiKey == ApiKey.Produce;
    this.bodyPtr = f.bodyPtr;
    this.mask = 0;
    this.pending = null;
    this.filter.reset(-1);
    this.listCount = 0;
    this.inflatedLeft = this.maxInflated;
    if (this.producing) resetStepBudget();
    // (Also here: a request refused before finishRequest leaves them grown.)
    RAW.trim();
    OUT.trim();
  }

  requestArray(depth: i32, count: i32): void {
    if (depth == 0 && this.producing && this.filter.row < 0) this.listCount = count;
  }

  // A Produce topic entry's name (v0-12), as the client knows it.
  requestEntity(entity: i32, ptr: usize, len: i32, edits: FrameEdits): void {
    if (!this.producing || entity != Entity.TopicName || edits.arrayDepth() != 1) return;
    this.topic(ptr, len, edits);
  }

  // Produce v13+: topics by id, named as the client knows them.
  topicId(idPtr: usize, edits: FrameEdits): void {
    if (!this.producing || edits.arrayDepth() != 1) return;
    const e = this.topicIds.find(idPtr);
    if (e === null) {
      // An id no worker has seen cannot be matched against the rules: the client refreshes.
      this.mask = 0;
      if (!edits.outerElementDropped()) this.pending = UNKNOWN_ID;
      return;
    }
    let ptr = e.namePtr;
    let len = e.nameLen;
    const rw = this.rewrite;
    if (rw !== null) {
      if (!rw.clientTopic(ptr, len)) {
        this.mask = 0;
        return;
      }
      ptr = rw.name.ptr;
      len = rw.name.len;
    }
    this.topic(ptr, len, edits);
  }

  private topic(ptr: usize, len: i32, edits: FrameEdits): void {
    let m: u64 = 0;
    if (!edits.outerElementDropped() && len > 0) {
      for (let i = 0; i < this.rules.length; i++) if (unchecked(this.rules[i]).appliesTo(ptr, len)) m |= (<u64>1) << i;
    }
    this.mask = m;
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
    if (unchecked(this.rules[i]).dryRun) {
      unchecked(this.counters.wouldRefuse[i]).increment(1);
      return;
    }
    if (this.pending !== null) return;
    unchecked(this.counters.refused[i]).increment(1);
    this.pending = c;
    this.lastRecord = record;
  }

  // The end of a topic entry: refused alone when one of its batches failed.
  entryEnd(edits: FrameEdits): void {
    const check = this.pending;
    this.mask = 0;
    if (check === null) return;
    this.pending = null;
    if (edits.outerElementDropped()) return;
    const row = edits.innermostArrayRow();
    if (!this.filter.addWith(<i32>(edits.innermostElementStart() - this.bodyPtr), <i16>check.code, check.ptr, check.len)) return;
    this.filter.row = row;
    edits.dropElement();
  }

  // After the other stages let the request through; `prior` entries of the same list were
  // refused by them (`priorCode`: the authorization stage's code, else theirs).
  finishRequest(f: KafkaFrame, acksZero: bool, prior: i32, priorCode: i16): Verdict {
    RAW.trim();
    OUT.trim();
    const refused = this.filter.size;
    if (!this.producing || refused == 0) return Verdict.Forward;
    if (acksZero) {
      // As the broker does with an acks=0 producer whose request failed.
      this.reason = "invalid records with acks=0";
      return Verdict.Reject;
    }
    if (refused + prior < this.listCount && this.mergeNote(f)) return Verdict.Forward;
    // Every entry refused: the filter answers them all (the others with the stage's code).
    if (!buildErrorResponse(f.apiKey, f.apiVersion, f.correlationId, f.bodyPtr, f.bodyLength, <i16>GuardCode.InvalidRecord,
      this.filter, f.rewritten, prior > 0 ? (priorCode != 0 ? priorCode : <i16>GuardCode.PolicyViolation) : 0)) {
      this.reason = "could not answer invalid records";
      return Verdict.Reject;
    }
    return Verdict.Answer;
  }

  // The refused entries' answers, to append to the response's list; joined to another stage's
  // note over the same list.
  private mergeNote(f: KafkaFrame): bool {
    const answer = this.scratch;
    const filter = this.filter;
    if (!buildErrorResponse(f.apiKey, f.apiVersion, f.correlationId, f.bodyPtr, f.bodyLength, <i16>GuardCode.InvalidRecord,
      filter, answer) || filter.answerRow < 0) return false;
    const note = f.note;
    if (note.len >= 12) {
      const kind = <i32>bswap<u32>(load<u32>(note.ptr));
      if ((kind != NOTE_AUTHZ_MERGE && kind != NOTE_GUARD_MERGE) || <i32>bswap<u32>(load<u32>(note.ptr + 4)) != filter.answerRow) {
        return false;
      }
      store<u32>(note.ptr + 8, bswap<u32>(bswap<u32>(load<u32>(note.ptr + 8)) + <u32>filter.answerCount));
    } else if (note.len > 0) {
      return false;
    } else {
      writeInt32(note, NOTE_VALIDATION_MERGE);
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
    if (note.len < 12 || bswap<u32>(load<u32>(note.ptr)) != NOTE_VALIDATION_MERGE) return;
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

const UNKNOWN_ID = unknownId();

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
