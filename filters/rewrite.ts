// The rewriting stage: names in requests become the broker's names (explicit topic renames,
// then the tenant prefix), and names in responses go back to the client's. Only length-prefixed
// names change (FrameEdits re-encodes their prefixes, the array counts and the frame size);
// record sets and everything else are copied as they are. Topic ids are the broker's and stay.
//
// A tenant only ever sees names under its prefix: a response name without it (another tenant's
// topic, an internal topic) is dropped from its list, and if it stands outside any list the
// response is refused rather than shown. Requests naming topics by id must name the tenant's
// own topics, as this worker learned them from Metadata responses.
import { Counter } from "../assembly/proxy/host_metrics";
import { RenameRule, RewriteRules } from "../assembly/policy/rewrite_rules";
import { ByteBuffer } from "../assembly/kafka/byte_buffer";
import { Entity } from "../assembly/kafka/layout";
import { FrameEdits } from "../assembly/kafka/frame_edits";
import { insideTaggedField } from "../assembly/kafka/walker";
import { buildErrorResponse } from "../assembly/kafka/error_response";
import { KafkaFrame, Verdict } from "../assembly/proxy/kafka_frame";
import { TopicIds } from "./topic_ids";
import { AuditOutcome, AuditTrail } from "./audit";
import { ResourceType } from "../assembly/policy/acl";

// Kafka's limit on topic name length, and its error for a name past it.
const MAX_TOPIC_LENGTH = 249;
const INVALID_TOPIC_EXCEPTION: i16 = 17;
// The answer for a group or transactional id (or pattern) too long once prefixed.
const INVALID_REQUEST: i16 = 42;
// Kafka's answer for a topic id it does not know: the client refreshes its metadata.
const UNKNOWN_TOPIC_ID: i16 = 100;
// Kafka's answer for a pattern RE2J cannot compile; here also for one that could leave the prefix.
const INVALID_REGULAR_EXPRESSION: i16 = 128;
// Kafka's answer to ACL requests from a principal without ALTER/DESCRIBE on the cluster.
const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;

export class RewriteCounters {
  renamed: Counter = new Counter("rewrite.names_renamed");
  restored: Counter = new Counter("rewrite.names_restored");
  hidden: Counter = new Counter("rewrite.names_hidden");
  tooLong: Counter = new Counter("rewrite.names_too_long");
  foreignIds: Counter = new Counter("rewrite.topic_ids_refused");
  patterns: Counter = new Counter("rewrite.patterns_refused");
  acls: Counter = new Counter("rewrite.acl_requests_refused");
  // Names dry-run rules would have renamed (reported, not renamed).
  wouldRename: Counter = new Counter("rewrite.would_rename");
}

@inline function same(a: ArrayBuffer, ptr: usize, len: i32): bool {
  return a.byteLength == len && memory.compare(changetype<usize>(a), ptr, <usize>len) == 0;
}

export class RewriteStage {
  // The last name computed (broker's for requests, client's for responses).
  readonly name: ByteBuffer = new ByteBuffer();
  private prefix: ArrayBuffer | null = null;
  // What a tenant's patterns start with: the prefix as a regular expression, then "(?:".
  private patternHead: ArrayBuffer | null = null;
  private renames: RenameRule[] = [];
  private principal: string = "";
  // The error code for a name too long once rewritten (0: none).
  private tooLong: i16 = 0;
  private foreignId: bool = false;
  private badPattern: bool = false;
  private aclRequest: bool = false;
  private misplaced: bool = false;
  private failedEdit: bool = false;

  // Refusals and dry-run renames for the audit log.
  audit: AuditTrail | null = null;
  // Dry-run rules of the principal (judgeAs), and the name they would give.
  private dryPrefix: ArrayBuffer | null = null;
  private dryRenames: RenameRule[] = [];
  private dryName: ByteBuffer = new ByteBuffer();

  constructor(private rules: RewriteRules, private counters: RewriteCounters, private topicIds: TopicIds) {}

  // Frees the connection's buffer (off the GC heap).
  release(): void {
    this.name.release();
    this.dryName.release();
  }

  // Whether the principal is a tenant's (its names are confined to a prefix).
  get tenanted(): bool {
    return this.prefix !== null;
  }

  // Picks the rules of the request's principal (looked up again only when it changes).
  beginRequest(principal: string): void {
    this.tooLong = 0;
    this.foreignId = false;
    this.badPattern = false;
    this.aclRequest = false;
    this.failedEdit = false;
    this.judgeAs(principal);
  }

  // The tenant and renames of `principal` (cached strings: identity tells whether it changed).
  private judgeAs(principal: string): void {
    if (changetype<usize>(principal) == changetype<usize>(this.principal)) return;
    this.principal = principal;
    // Tenants often share a prefix, and most configurations rename nothing: nothing is
    // allocated for a principal whose prefix and renames are the previous one's.
    const prefix = this.rules.tenantOf(principal);
    const previous = this.prefix;
    if (prefix === null || previous === null || !same(previous, changetype<usize>(prefix), prefix.byteLength)) {
      this.patternHead = prefix !== null ? patternHead(prefix) : null;
    }
    this.prefix = prefix;
    if (this.rules.renames.length > 0 || this.renames.length > 0) this.renames = this.rules.renamesOf(principal);
    const dry = this.rules.dry;
    if (dry !== null) {
      this.dryPrefix = dry.tenantOf(principal);
      this.dryRenames = dry.renamesOf(principal);
    }
  }

  // What the principal's dry-run rules would make of a request's name the enforced rules left
  // as it is: counted and reported, the frame unchanged.
  private observe(entity: i32, ptr: usize, len: i32): void {
    if (len < 0 || (entity != Entity.TopicName && entity != Entity.GroupId && entity != Entity.TransactionalId)) return;
    const prefix = this.dryPrefix;
    let srcPtr = ptr;
    let srcLen = len;
    if (entity == Entity.TopicName) {
      for (let i = 0; i < this.dryRenames.length; i++) {
        const r = unchecked(this.dryRenames[i]);
        if (same(r.from, ptr, len)) {
          srcPtr = changetype<usize>(r.to);
          srcLen = r.to.byteLength;
          break;
        }
      }
    }
    if (prefix === null && srcPtr == ptr) return;
    const name = this.dryName;
    name.clear();
    if (prefix !== null) name.append(changetype<usize>(prefix), prefix.byteLength);
    name.append(srcPtr, srcLen);
    this.counters.wouldRename.increment(1);
    const audit = this.audit;
    if (audit !== null) {
      const resource = entity == Entity.TopicName ? ResourceType.Topic : entity == Entity.GroupId ? ResourceType.Group : ResourceType.TransactionalId;
      audit.entry(AuditOutcome.WouldRename, resource, ptr, len, name.ptr, name.len, 0, 0, 0);
    }
  }

  // Renames a request's name; true when it changed (the broker's name is then in `name`).
  request(entity: i32, lengthPtr: usize, valuePtr: usize, len: i32, compact: bool, edits: FrameEdits): bool {
    if (!this.toBroker(entity, valuePtr, len)) {
      if (this.rules.dry !== null) this.observe(entity, valuePtr, len);
      return false;
    }
    const name = this.name;
    if (entity == Entity.TopicName && name.len > MAX_TOPIC_LENGTH) {
      this.tooLong = INVALID_TOPIC_EXCEPTION;
      return false;
    }
    if (!this.replace(lengthPtr, valuePtr, len, compact, edits)) return false;
    this.counters.renamed.increment(1);
    return true;
  }

  // A request's topic id (not Metadata's: asking by id is how a client learns a name, and the
  // response hides what is not the tenant's). The broker would serve any topic by id, and names
  // that would show whose topic it is never travel with it, so a tenant's ids must be known to
  // name its own topics; an id outside the tenant (or never seen) answers the whole request.
  requestTopicId(idPtr: usize): void {
    if (this.prefix === null || (load<u64>(idPtr) == 0 && load<u64>(idPtr + 8) == 0)) return;
    const e = this.topicIds.find(idPtr);
    if (e === null || this.toClient(Entity.TopicName, e.namePtr, e.nameLen) < 0) this.foreignId = true;
  }

  // A topic id in a response's assignment (KIP-848 heartbeats name assigned topics by id
  // only): one this worker knows as another tenant's (or outside every tenant) is dropped from
  // the assignment. With patterns confined to the prefix the broker has no reason to assign one;
  // this holds whatever the broker resolved. An id never seen stays: a regex consumer learns
  // its assigned topics' names only after the assignment (dropping it would leave the member
  // without it for good), and nothing can use it - requests by an id not learned as the
  // tenant's are answered UNKNOWN_TOPIC_ID (requestTopicId) and Metadata hides foreign names.
  responseTopicId(idPtr: usize, edits: FrameEdits): void {
    if (this.prefix === null) return;
    const e = this.topicIds.find(idPtr);
    if (e === null || this.toClient(Entity.TopicName, e.namePtr, e.nameLen) >= 0) return;
    this.counters.hidden.increment(1);
    if (!edits.dropElement()) this.misplaced = true;
  }

  // An ACL resource name or filter (Role.AclResourceName). ACL bindings name resources by
  // literal names, prefixes and the "*" wildcard across every tenant, and principals of any
  // tenant: a tenant may not create, list or delete them (an ACL on "*" or on another
  // tenant's prefix would reach past its own names), so its ACL requests are refused as
  // Kafka refuses them without cluster permission. A response for a tenant (none is
  // forwarded) is refused whole.
  aclResourceName(): void {
    if (this.prefix === null) return;
    this.aclRequest = true;
    this.misplaced = true;
  }

  // After the walk: a name that would break Kafka's limits, a topic id outside the tenant, a
  // pattern that could match outside it or a tenant's ACL request is answered with Kafka's error.
  finishRequest(f: KafkaFrame): Verdict {
    if (this.failedEdit) return Verdict.Reject;
    let code: i16 = 0;
    if (this.aclRequest) {
      this.counters.acls.increment(1);
      code = CLUSTER_AUTHORIZATION_FAILED;
    } else if (this.badPattern) {
      this.counters.patterns.increment(1);
      code = INVALID_REGULAR_EXPRESSION;
    } else if (this.tooLong != 0) {
      this.counters.tooLong.increment(1);
      code = this.tooLong;
    } else if (this.foreignId) {
      this.counters.foreignIds.increment(1);
      code = UNKNOWN_TOPIC_ID;
    } else {
      return Verdict.Forward;
    }
    const audit = this.audit;
    if (audit !== null) audit.entry(AuditOutcome.Denied, this.aclRequest ? ResourceType.Cluster : ResourceType.Topic, 0, -1, 0, -1, 0, 0, code);
    if (!buildErrorResponse(f.apiKey, f.apiVersion, f.correlationId, f.bodyPtr, f.bodyLength, code, null, f.rewritten)) {
      return Verdict.Reject;
    }
    return Verdict.Answer;
  }

  // `requester`: the principal the response's request was judged as.
  beginResponse(requester: string): void {
    this.judgeAs(requester);
    this.misplaced = false;
    this.failedEdit = false;
  }

  // Gives a response's name back its client form. Returns 1 when renamed (client name in
  // `name`), 0 when unchanged, -1 when the name is not the tenant's and was dropped.
  response(entity: i32, lengthPtr: usize, valuePtr: usize, len: i32, compact: bool, edits: FrameEdits): i32 {
    const visible = this.toClient(entity, valuePtr, len);
    if (visible < 0) {
      this.counters.hidden.increment(1);
      if (!edits.dropElement()) this.misplaced = true;
      return -1;
    }
    if (visible == 0 || !this.replace(lengthPtr, valuePtr, len, compact, edits)) return 0;
    this.counters.restored.increment(1);
    return 1;
  }

  // A regular expression over names (KIP-848 subscriptions, ListTransactions' pattern...): the
  // broker compiles it with RE2J and matches it against whole broker names (Matcher.matches),
  // so a tenant's R becomes `tenantA\.(?:R)`, which matches exactly the tenant's names whose
  // client form R matches - provided R is one self-contained expression. Wrapping alone is not
  // that: `.*)|(.*` would close the group and match every name. So R must pass confined():
  // otherwise the request is answered INVALID_REGULAR_EXPRESSION. An empty pattern
  // (ListTransactions: everything) stays; responses are filtered by name anyway. Renames do not
  // apply to patterns.
  requestPattern(lengthPtr: usize, valuePtr: usize, len: i32, compact: bool, edits: FrameEdits): void {
    const head = this.patternHead;
    if (head === null || len <= 0) return;
    if (!confined(valuePtr, len)) {
      this.badPattern = true;
      return;
    }
    const name = this.name;
    name.clear();
    name.append(changetype<usize>(head), head.byteLength);
    name.append(valuePtr, len);
    store<u8>(name.reserve(1), 0x29); // ")"
    name.len += 1;
    if (this.replace(lengthPtr, valuePtr, len, compact, edits)) this.counters.renamed.increment(1);
  }

  // The client's own pattern back (ConsumerGroupDescribe members); others are left as they are.
  responsePattern(lengthPtr: usize, valuePtr: usize, len: i32, compact: bool, edits: FrameEdits): void {
    const head = this.patternHead;
    if (head === null) return;
    const n = head.byteLength;
    if (len <= n || memory.compare(changetype<usize>(head), valuePtr, <usize>n) != 0 ||
      load<u8>(valuePtr + <usize>(len - 1)) != 0x29) return;
    const name = this.name;
    name.clear();
    name.append(valuePtr + <usize>n, len - n - 1);
    if (this.replace(lengthPtr, valuePtr, len, compact, edits)) this.counters.restored.increment(1);
  }

  // Puts `name` in place of the string at [lengthPtr, valuePtr + len), length prefix re-encoded.
  // No schema has a name inside a tagged field, whose size prefix would change too: such a
  // frame is refused. A name Kafka could not read is answered (INVALID_REQUEST).
  private replace(lengthPtr: usize, valuePtr: usize, len: i32, compact: bool, edits: FrameEdits): bool {
    if (insideTaggedField()) {
      this.failedEdit = true;
      return false;
    }
    const name = this.name;
    if (!edits.replaceString(lengthPtr, valuePtr, len, compact, name.ptr, name.len)) {
      if (this.tooLong == 0) this.tooLong = INVALID_REQUEST;
      return false;
    }
    return true;
  }

  // False when a foreign name stood where it could not be dropped: the response is refused.
  finishResponse(): bool {
    return !this.misplaced && !this.failedEdit;
  }

  // The client's name for a broker topic name (into `name`); false when the principal's
  // tenant does not own it. For topic ids, which name broker topics.
  clientTopic(ptr: usize, len: i32): bool {
    const r = this.toClient(Entity.TopicName, ptr, len);
    if (r == 0) {
      this.name.clear();
      this.name.append(ptr, len);
    }
    return r >= 0;
  }

  // The broker's name of a topic the client names (into `name`); false when it is the same.
  brokerTopic(ptr: usize, len: i32): bool {
    return this.toBroker(Entity.TopicName, ptr, len);
  }

  // The broker's name into `name`; false when it is the same.
  private toBroker(entity: i32, ptr: usize, len: i32): bool {
    if (len < 0 || (entity != Entity.TopicName && entity != Entity.GroupId && entity != Entity.TransactionalId)) return false;
    const name = this.name;
    name.clear();
    let srcPtr = ptr;
    let srcLen = len;
    if (entity == Entity.TopicName) {
      for (let i = 0; i < this.renames.length; i++) {
        const r = unchecked(this.renames[i]);
        if (same(r.from, ptr, len)) {
          srcPtr = changetype<usize>(r.to);
          srcLen = r.to.byteLength;
          break;
        }
      }
    }
    const prefix = this.prefix;
    if (prefix === null && srcPtr == ptr) return false;
    if (prefix !== null) name.append(changetype<usize>(prefix), prefix.byteLength);
    name.append(srcPtr, srcLen);
    return true;
  }

  // 1 with the client's name in `name`, 0 when the name is the same for the client, -1 when
  // the tenant does not own it (or a rename took it out of reach).
  private toClient(entity: i32, ptr: usize, len: i32): i32 {
    if (len < 0 || (entity != Entity.TopicName && entity != Entity.GroupId && entity != Entity.TransactionalId)) return 0;
    let srcPtr = ptr;
    let srcLen = len;
    const prefix = this.prefix;
    if (prefix !== null) {
      const n = prefix.byteLength;
      if (len < n || memory.compare(changetype<usize>(prefix), ptr, <usize>n) != 0) return -1;
      srcPtr += <usize>n;
      srcLen -= n;
    }
    if (entity == Entity.TopicName) {
      let renamed = false;
      for (let i = 0; i < this.renames.length && !renamed; i++) {
        const r = unchecked(this.renames[i]);
        if (same(r.to, srcPtr, srcLen)) {
          srcPtr = changetype<usize>(r.from);
          srcLen = r.from.byteLength;
          renamed = true;
        }
      }
      // A topic renamed away is out of this principal's reach: its client name means the new
      // topic, so listing the old one too would show the name twice.
      for (let i = 0; i < this.renames.length && !renamed; i++) {
        if (same(unchecked(this.renames[i]).from, srcPtr, srcLen)) return -1;
      }
    }
    if (srcPtr == ptr) return 0;
    const name = this.name;
    name.clear();
    name.append(srcPtr, srcLen);
    return 1;
  }
}

// ASCII sets as bit masks (characters 0-63, 64-127): topic-name characters [A-Za-z0-9._-], and
// what may follow a "\" in a confined pattern: . ^ $ * + ? ( ) [ ] { } | \ - and d D w W s S.
const NAME_LO: u64 = 0x03ff600000000000;
const NAME_HI: u64 = 0x07fffffe87fffffe;
const ESCAPE_LO: u64 = 0x80006f1000000000;
const ESCAPE_HI: u64 = 0x3888001078880010;

@inline function inSet(c: u32, lo: u64, hi: u64): bool {
  return c < 128 && (((c < 64 ? lo : hi) >> <u64>(c & 63)) & 1) != 0;
}

// True when the pattern at [ptr, ptr + len) is a subset of RE2 syntax that stays one
// expression however it is embedded: parentheses balanced, and nothing that could hide a
// parenthesis from this scan or change how the rest is read. Allowed: any character but "\",
// "[", "(" and ")"; "(" and "(?:" groups; "\" before a metacharacter or one of d D w W s S;
// classes of topic-name characters and ranges, "[abc]", "[^a-z0-9._-]". Refused: \Q..\E
// quoting, other escapes (\p{..}, \x.., octal, \A, \z...), a trailing "\", inline flags and
// named groups "(?..", classes holding anything else (POSIX "[:alpha:]", escapes, brackets),
// unbalanced parentheses. A topic name is [A-Za-z0-9._-], so this loses no useful pattern.
export function confined(ptr: usize, len: i32): bool {
  let depth = 0;
  let i = 0;
  while (i < len) {
    const c = <u32>load<u8>(ptr + <usize>i);
    i++;
    if (c == 0x5c) { // "\"
      if (i >= len) return false;
      if (!inSet(<u32>load<u8>(ptr + <usize>i), ESCAPE_LO, ESCAPE_HI)) return false;
      i++;
    } else if (c == 0x5b) { // "["
      if (i < len && load<u8>(ptr + <usize>i) == 0x5e) i++; // "^"
      const first = i;
      while (i < len && inSet(<u32>load<u8>(ptr + <usize>i), NAME_LO, NAME_HI)) i++;
      if (i == first || i >= len || load<u8>(ptr + <usize>i) != 0x5d) return false;
      i++;
    } else if (c == 0x28) { // "("
      if (i < len && load<u8>(ptr + <usize>i) == 0x3f) { // "(?" only as "(?:"
        if (i + 1 >= len || load<u8>(ptr + <usize>(i + 1)) != 0x3a) return false;
        i += 2;
      }
      depth++;
    } else if (c == 0x29) { // ")"
      if (--depth < 0) return false;
    }
  }
  return depth == 0;
}

// The tenant prefix as the start of a regular expression: prefixes are [A-Za-z0-9._-], of which
// only "." means anything to RE2/Java patterns outside a character class.
function patternHead(prefix: ArrayBuffer): ArrayBuffer {
  const p = changetype<usize>(prefix);
  const n = prefix.byteLength;
  let dots = 0;
  for (let i = 0; i < n; i++) if (load<u8>(p + <usize>i) == 0x2e) dots++;
  const head = new ArrayBuffer(n + dots + 3);
  let o = changetype<usize>(head);
  for (let i = 0; i < n; i++) {
    const c = load<u8>(p + <usize>i);
    if (c == 0x2e) store<u8>(o++, 0x5c);
    store<u8>(o++, c);
  }
  store<u8>(o, 0x28); // "(?:"
  store<u8>(o + 1, 0x3f);
  store<u8>(o + 2, 0x3a);
  return head;
}
