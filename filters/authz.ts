// The authorization stage: every topic, group and transactional id a request names is checked
// against the ACLs with the operation its API needs (assembly/policy/operations.ts), as the
// broker would. A refused request is not forwarded; the client gets the broker's own response
// shape with Kafka's error codes:
// - a request refused as a whole (its group, transactional id or cluster operation, or an entry
//   nested deeper than the top-level list) is answered by the filter (Verdict.Answer);
// - a request with some refused entries in its top-level list (topics of a Produce, Fetch,
//   Metadata...) goes to the broker without them, and error entries for them are merged into
//   the broker's response; when every entry is refused the filter answers (an empty list can
//   mean "all": Metadata v0, DescribeTopicPartitions, an incremental Fetch);
// - lists (all-topics Metadata, DescribeTopicPartitions and OffsetFetch, ListGroups,
//   ListTransactions) only show what the principal may describe; so do KIP-848 assignments (a
//   regex subscription resolves over all topics) and the group descriptions naming them.
import { Counter } from "../assembly/proxy/host_metrics";
import { Acl, Operation, ResourceType } from "../assembly/policy/acl";
import { clusterOperation, configOperation, createsTopic, entityOperation } from "../assembly/policy/operations";
import { Entity } from "../assembly/kafka/layout";
import { FrameEdits } from "../assembly/kafka/frame_edits";
import { buildErrorResponse, EntryFilter } from "../assembly/kafka/error_response";
import { stopWalk } from "../assembly/kafka/walker";
import { FETCH_FORGOTTEN_ROW } from "../assembly/kafka/generated/schema_tables";
import { ByteBuffer } from "../assembly/kafka/byte_buffer";
import { KafkaFrame, Verdict } from "../assembly/proxy/kafka_frame";
import { writeInt32, writeUnsignedVarint } from "../assembly/kafka/writer";
import { responseHeaderVersion } from "../assembly/kafka/message_header";
import { TopicIds } from "./topic_ids";
import { RewriteStage } from "./rewrite";
import { ApiKey } from "../assembly/kafka/api_keys";
import { AuditOutcome, AuditTrail } from "./audit";

// Kafka error codes.
const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
const GROUP_AUTHORIZATION_FAILED: i16 = 30;
const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
const OPERATION_NOT_ATTEMPTED: i16 = 55;
const UNKNOWN_TOPIC_ID: i16 = 100;

const CLUSTER_NAME = "kafka-cluster";
const CLUSTER_BYTES = String.UTF8.encode(CLUSTER_NAME);
// DescribeTopicPartitions cursors (name and partition; the API is flexible in every version):
// one after every topic name (0x7f sorts after the characters topic names may hold), and the
// one a client gets in place of a hidden topic's, an empty name (HIDDEN_CURSOR, below).
const END_CURSOR = memory.data<u8>([2, 0x7f, 0, 0, 0, 0]);
// A ConsumerGroupDescribe / ShareGroupDescribe group refused for its topics, around its group
// id: error 29, null message | empty state, epochs 0, empty assignor, no members,
// AuthorizedOperations at its default (not asked for), no tagged fields.
const GROUP_REFUSED = memory.data<u8>([0, 29, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x80, 0, 0, 0, 0]);
// An empty compact name and partition 0: the same bytes as an empty state and an epoch 0.
const HIDDEN_CURSOR = GROUP_REFUSED + 3;

// Refused entries one request may have: each costs an edit, an error entry built and merged, so
// a request of tens of thousands of them would hold the worker (and all its connections) for
// hundreds of milliseconds (5,000 take 20-40 ms in Envoy). No client needs that many refusals
// at once: past this, the walk stops and the connection is closed.
export const MAX_REFUSED_ENTRIES = 5000;

// What a request leaves for its response (KafkaFrame.note).
const NOTE_MERGE: i32 = 1;
const NOTE_HIDE: i32 = 2;

export class AuthzCounters {
  // Requests refused as a whole (answered by the filter, or dropped when acks=0).
  denied: Counter = new Counter("authz.requests_denied");
  // Entries (topics) refused inside a request whose other entries went to the broker.
  entries: Counter = new Counter("authz.entries_denied");
  dropped: Counter = new Counter("authz.produce_acks0_dropped");
  hidden: Counter = new Counter("authz.entries_hidden");
  // Topic ids refused as unknown: no worker has seen them in a broker response.
  unknownIds: Counter = new Counter("authz.topic_ids_unknown");
  // Decisions only dry-run rules (or `acls.dry_run`) made refusals: reported, not enforced.
  wouldDeny: Counter = new Counter("authz.would_deny");
}

// The operations Kafka reports in AuthorizedOperations per resource type
// (AclEntry.supportedOperations), as bits of Operation values.
const TOPIC_OPERATIONS: i32 = 0b1101111110; // read, write, create, delete, alter, describe, describe/alter configs
const GROUP_OPERATIONS: i32 = 0b1101010010; // read, delete, describe, describe/alter configs
const CLUSTER_OPERATIONS: i32 = 0b11111101000; // create, alter, describe, cluster action, describe/alter configs, idempotent write

function codeFor(resource: i32): i16 {
  if (resource == ResourceType.Group) return GROUP_AUTHORIZATION_FAILED;
  if (resource == ResourceType.TransactionalId) return TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  if (resource == ResourceType.Cluster) return CLUSTER_AUTHORIZATION_FAILED;
  return TOPIC_AUTHORIZATION_FAILED;
}

// Which error wins when a request is refused for several reasons: Kafka checks the cluster,
// then the transactional id, then the group, then topics.
function rank(code: i16): i32 {
  if (code == CLUSTER_AUTHORIZATION_FAILED) return 4;
  if (code == TRANSACTIONAL_ID_AUTHORIZATION_FAILED) return 3;
  if (code == GROUP_AUTHORIZATION_FAILED) return 2;
  return code != 0 ? 1 : 0;
}

function resourceOf(entity: i32): i32 {
  if (entity == Entity.TopicName) return ResourceType.Topic;
  if (entity == Entity.GroupId) return ResourceType.Group;
  if (entity == Entity.TransactionalId) return ResourceType.TransactionalId;
  return ResourceType.None;
}

export class AuthzStage {
  principal: string = "";
  private apiKey: i16 = 0;
  private wholeCode: i16 = 0;
  private entryCode: i16 = 0;
  private filter: EntryFilter = new EntryFilter();
  private bodyPtr: usize = 0;
  private apiVersion: i16 = 0;
  private bodyEnd: usize = 0;
  // Metadata: a named topic the principal may not create (see requestArrayEnd).
  private noCreate: bool = false;
  // The element count of the top-level list refused entries are dropped from: the latest one
  // until an entry is refused (a Fetch's topics, not the forgotten topics after them).
  private listCount: i32 = 0;
  // The request asks for all topics (read by the walk's visitor for DescribeTopicPartitions).
  allTopics: bool = false;
  // Responses: what the request's note asked for.
  private mergeRow: i32 = -1;
  private mergeCount: i32 = 0;
  private mergePtr: usize = 0;
  private mergeLen: i32 = 0;
  private hideEntity: i32 = 0;
  // How many arrays enclose a hidden entry (OffsetFetch v8+ lists topics per group).
  private hideDepth: i32 = 1;
  // Group descriptions (KIP-848): a group naming a topic the principal may not describe is
  // answered as Kafka does, in its place: error 29, its id (kept in `scratch`, free while
  // responses are walked), no members. True until the walk reaches a group's id, and once it
  // was refused.
  private groupDone: bool = true;
  // DescribeTopicPartitions over all topics: the broker's next cursor when it named a topic the
  // principal may not describe; the client got an empty name in its place.
  private cursor: ByteBuffer = new ByteBuffer();
  // Responses with AuthorizedOperations: the resource type of their top-level entries, and the
  // client name of the entry being walked (copied into `scratch`, free while responses are
  // walked; -1 when none).
  private opsResource: i32 = 0;
  private opsNameLen: i32 = -1;
  private scratch: ByteBuffer = new ByteBuffer();

  // ACLs name topics as clients know them; topic ids resolve to the broker's names, which the
  // rewriting stage (when on) maps back.
  rewrite: RewriteStage | null = null;
  // Refusals (and dry-run refusals) for the audit log: the name being judged.
  audit: AuditTrail | null = null;
  private judging: bool = false;
  private curResource: i32 = 0;
  private curPtr: usize = 0;
  private curLen: i32 = -1;
  private curBrokerPtr: usize = 0;
  private curBrokerLen: i32 = -1;
  private curId: usize = 0;
  private curOp: i32 = 0;
  // The latest name of the request was refused (lineage counts no records for it).
  private entityRefused: bool = false;

  constructor(private acl: Acl, private counters: AuthzCounters, private topicIds: TopicIds) {}

  // Frees the connection's buffers (off the GC heap).
  release(): void {
    this.filter.release();
    this.scratch.release();
    this.cursor.release();
  }

  private allowed(resource: i32, ptr: usize, len: i32, op: i32): bool {
    const acl = this.acl;
    if (acl.authorize(this.principal, resource, ptr, len, op)) return true;
    if (!acl.observes || !acl.enforced(this.principal, resource, ptr, len, op)) return false;
    // Refused by rules in dry-run only: reported, and allowed.
    this.counters.wouldDeny.increment(1);
    const audit = this.audit;
    if (audit !== null && this.judging) {
      const same = ptr == this.curPtr;
      audit.entry(AuditOutcome.WouldDeny, resource, ptr, len, same ? this.curBrokerPtr : 0, same ? this.curBrokerLen : -1,
        same ? this.curId : 0, op, codeFor(resource));
    }
    return true;
  }

  // The name the next decisions are about (for the audit log).
  // Whether records that follow now go nowhere: the request is refused as a whole, or the
  // entry of the latest name is.
  get refusing(): bool {
    return this.wholeCode != 0 || this.entityRefused;
  }

  private judge(resource: i32, ptr: usize, len: i32, op: i32, idPtr: usize = 0): void {
    this.entityRefused = false;
    this.curResource = resource;
    this.curPtr = ptr;
    this.curLen = len;
    this.curOp = op;
    this.curId = idPtr;
    if (resource == ResourceType.Cluster || idPtr != 0) this.curBrokerLen = -1;
  }

  // The broker's name of the next entity (frame_scan.ts), when a rewrite changed it.
  brokerName(ptr: usize, len: i32): void {
    this.curBrokerPtr = ptr;
    this.curBrokerLen = len;
  }

  private record(code: i16): void {
    this.entityRefused = true;
    const audit = this.audit;
    if (audit !== null) {
      audit.entry(AuditOutcome.Denied, this.curResource, this.curPtr, this.curLen, this.curBrokerPtr, this.curBrokerLen,
        this.curId, this.curOp, code);
    }
  }

  // Whether the requester may read the topic a response names (client name).
  readable(ptr: usize, len: i32): bool {
    return len >= 0 && this.allowed(ResourceType.Topic, ptr, len, Operation.Read);
  }

  private clusterAllows(op: i32): bool {
    return this.allowed(ResourceType.Cluster, changetype<usize>(CLUSTER_BYTES), CLUSTER_BYTES.byteLength, op);
  }

  // True when the last request had entries refused (and went on without them).
  get refusedEntries(): bool {
    return this.filter.size > 0;
  }

  // The last request's refused entries and their error code (the guardrails stage answers its
  // own refusals beside them).
  get refusedCount(): i32 {
    return this.filter.size;
  }

  get entryErrorCode(): i16 {
    return this.entryCode;
  }

  beginRequest(f: KafkaFrame, principal: string): void {
    this.principal = principal;
    this.apiKey = f.apiKey;
    this.apiVersion = f.apiVersion;
    this.bodyPtr = f.bodyPtr;
    this.bodyEnd = f.bodyPtr + <usize>f.bodyLength;
    this.noCreate = false;
    this.wholeCode = 0;
    this.entryCode = 0;
    this.filter.reset(-1);
    this.allTopics = false;
    this.judging = true;
    this.curBrokerLen = -1;
    const op = clusterOperation(f.apiKey, f.apiVersion);
    this.judge(ResourceType.Cluster, changetype<usize>(CLUSTER_BYTES), CLUSTER_BYTES.byteLength, op);
    if (op != Operation.None && !this.clusterAllows(op)) this.refuseWhole(CLUSTER_AUTHORIZATION_FAILED);
  }

  // An array of the request (`depth` arrays enclose it): a request for all topics has a null
  // topic list (Metadata v1+, OffsetFetch v2+, per group from v8) or an empty one (Metadata v0,
  // DescribeTopicPartitions).
  requestArray(depth: i32, count: i32, v: i16): void {
    const k = this.apiKey;
    if (depth == 0 && this.filter.row < 0) this.listCount = count;
    // OffsetFetch v8+ asks per group.
    if (k == ApiKey.OffsetFetch && v >= 8) depth--;
    if (depth != 0) return;
    if (count < 0 ? k == ApiKey.Metadata || k == ApiKey.OffsetFetch
      : count == 0 && ((k == ApiKey.Metadata && v == 0) || k == ApiKey.DescribeTopicPartitions)) this.allTopics = true;
  }

  // The cursor of a DescribeTopicPartitions request for all topics, `lengthPtr` to `end` (name
  // and partition index): Kafka lists from it without authorizing it (it only tells where to
  // start; over named topics it must be one of them, and is authorized like them). The empty
  // name this filter put in place of a cursor it hid becomes the broker's cursor again.
  requestCursor(lengthPtr: usize, end: usize, len: i32, edits: FrameEdits): void {
    if (len != 0) return;
    const saved = this.cursor;
    // Continued on another connection, which holds no cursor: a name after every topic name
    // ends the listing, where starting over would loop forever.
    let ptr = END_CURSOR;
    let n = 6;
    if (saved.len > 0) {
      ptr = saved.ptr;
      n = saved.len;
    }
    this.replaceCursor(lengthPtr, end, ptr, n, edits);
  }

  private replaceCursor(start: usize, end: usize, ptr: usize, len: i32, edits: FrameEdits): void {
    const mark = edits.bytes.len;
    edits.bytes.append(ptr, len);
    edits.replace(start, end, mark);
  }

  requestEntity(entity: i32, ptr: usize, len: i32, edits: FrameEdits): void {
    if (len < 0) return;
    if (entity == Entity.BrokerId) {
      // A Fetch from a replica (replica id >= 0) is broker traffic.
      this.judge(ResourceType.Cluster, changetype<usize>(CLUSTER_BYTES), CLUSTER_BYTES.byteLength, Operation.ClusterAction);
      if (this.apiKey == ApiKey.Fetch && len == 4 && <i32>bswap<u32>(load<u32>(ptr)) >= 0 && !this.clusterAllows(Operation.ClusterAction)) {
        this.refuseWhole(CLUSTER_AUTHORIZATION_FAILED);
      }
      return;
    }
    if (entity == Entity.ConfigResourceName) {
      // A broker's (or logger's, client metrics') configs: the cluster's.
      this.judge(ResourceType.Cluster, changetype<usize>(CLUSTER_BYTES), CLUSTER_BYTES.byteLength, configOperation(this.apiKey));
      if (!this.clusterAllows(configOperation(this.apiKey))) this.refuse(CLUSTER_AUTHORIZATION_FAILED, edits);
      return;
    }
    const op = entityOperation(this.apiKey, entity);
    if (op == Operation.None || this.forgotten(edits)) return;
    const resource = resourceOf(entity);
    this.judge(resource, ptr, len, op);
    if (this.apiKey == ApiKey.InitProducerId && this.apiVersion >= 6) {
      // Enable2Pc follows the id, TransactionTimeoutMs, ProducerId and ProducerEpoch. Kafka asks
      // TWO_PHASE_COMMIT on the id for it, which the ACL model here lacks: only ALL (which
      // includes it in Kafka) or a super user allows it.
      const flag = ptr + <usize>len + 14;
      if (flag < this.bodyEnd && load<u8>(flag) != 0 && !this.allowed(resource, ptr, len, Operation.All)) {
        this.refuseWhole(TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      }
    }
    if (this.allowed(resource, ptr, len, op)) {
      // Topics the broker may create on the request's behalf need CREATE too (on them or on
      // the cluster).
      if (entity != Entity.TopicName) return;
      const metadata = this.apiKey == ApiKey.Metadata;
      if (!metadata && !createsTopic(this.apiKey, edits.innermostArrayRow())) return;
      if (this.allowed(resource, ptr, len, Operation.Create) || this.clusterAllows(Operation.Create)) return;
      this.curOp = Operation.Create;
      // Metadata v0-3 always asks for missing topics to be created (Kafka answers them
      // TOPIC_AUTHORIZATION_FAILED without CREATE); v4+ says so in a flag (requestArrayEnd).
      if (metadata && this.apiVersion >= 4) this.noCreate = true;
      else this.refuse(TOPIC_AUTHORIZATION_FAILED, edits);
      return;
    }
    // Kafka lets CREATE on the cluster create any topic.
    if (this.apiKey == ApiKey.CreateTopics && this.clusterAllows(Operation.Create)) return;
    this.refuse(codeFor(resource), edits);
  }

  requestTopicId(idPtr: usize, edits: FrameEdits): void {
    const op = entityOperation(this.apiKey, Entity.TopicName);
    // The zero id means "by name" (Metadata v10+ requests carry both).
    if (op == Operation.None || (load<u64>(idPtr) == 0 && load<u64>(idPtr + 8) == 0)) return;
    this.judge(ResourceType.Topic, 0, -1, op, idPtr);
    // An id no worker has seen in a broker response cannot be checked: the client is told it
    // is unknown, which makes it refresh its metadata. The same goes for another tenant's.
    const code = this.topicIdCode(idPtr, op);
    // Fetch's forgotten topics need no ACL (forgotten()); an id nobody named, or another
    // tenant's, is still refused.
    if (code != 0 && (code != TOPIC_AUTHORIZATION_FAILED || !this.forgotten(edits))) this.refuse(code, edits);
  }

  // 0 when the principal may do `op` on the topic of an id, else the error refusing it:
  // UNKNOWN_TOPIC_ID when this worker cannot name it as the client knows it.
  private topicIdCode(idPtr: usize, op: i32): i16 {
    const e = this.topicIds.find(idPtr);
    // An id no worker has seen in a broker response (topic_ids.ts) cannot be checked.
    if (e === null) {
      this.counters.unknownIds.increment(1);
      return UNKNOWN_TOPIC_ID;
    }
    let ptr = e.namePtr;
    let len = e.nameLen;
    const rewrite = this.rewrite;
    if (rewrite !== null) {
      if (!rewrite.clientTopic(ptr, len)) return UNKNOWN_TOPIC_ID;
      ptr = rewrite.name.ptr;
      len = rewrite.name.len;
    }
    // Named for the audit log as the client and the broker know it.
    this.curPtr = ptr;
    this.curLen = len;
    this.brokerName(e.namePtr, e.nameLen);
    return this.allowed(ResourceType.Topic, ptr, len, op) ? 0 : TOPIC_AUTHORIZATION_FAILED;
  }

  // Fetch's forgotten topics are only dropped from the connection's own session: Kafka checks
  // no ACL on them (refusing them would refuse the whole fetch).
  private forgotten(edits: FrameEdits): bool {
    return this.apiKey == ApiKey.Fetch && edits.innermostArrayRow() == FETCH_FORGOTTEN_ROW;
  }

  // Metadata v4+: AllowAutoTopicCreation follows the topic list. Kafka creates a missing topic
  // only with CREATE on it (or on the cluster); the filter cannot tell which topics exist, so a
  // request naming one the principal may not create goes with the flag cleared (none of its
  // missing topics is created; existing ones are described as before).
  requestArrayEnd(row: i32, ptr: usize, edits: FrameEdits): void {
    if (!this.noCreate || edits.arrayDepth() != 1 || edits.innermostArrayRow() != row || load<u8>(ptr) == 0) return;
    const bytes = edits.bytes;
    const mark = bytes.len;
    store<u8>(bytes.reserve(1), 0);
    bytes.len += 1;
    edits.replace(ptr, ptr + 1, mark);
  }

  // Refuses the innermost entry when it is an entry of the request's top-level list (and the
  // same list as earlier refusals), else the whole request.
  private refuse(code: i16, edits: FrameEdits): void {
    this.record(code);
    const row = edits.innermostArrayRow();
    if (edits.arrayDepth() != 1 || (this.filter.row >= 0 && this.filter.row != row)) {
      this.raise(code);
      return;
    }
    // Entries come in wire order: one refused already is the last one added.
    if (!this.filter.add(<i32>(edits.innermostElementStart() - this.bodyPtr))) return;
    if (this.filter.size > MAX_REFUSED_ENTRIES) {
      this.counters.denied.increment(1);
      stopWalk();
      return;
    }
    edits.dropElement();
    this.filter.row = row;
    // Entries share one error code: a mix of refused and unknown ids reads as refused.
    this.entryCode = this.entryCode == 0 || this.entryCode == code ? code : TOPIC_AUTHORIZATION_FAILED;
  }

  private refuseWhole(code: i16): void {
    this.record(code);
    this.raise(code);
  }

  private raise(code: i16): void {
    if (rank(code) > rank(this.wholeCode)) this.wholeCode = code;
  }

  // After the walk: what happens to the request. `rewritten` holds the edited request when
  // the verdict is Replace, the answer when it is Answer.
  finishRequest(f: KafkaFrame, acksZero: bool, edits: FrameEdits): Verdict {
    let code = this.wholeCode;
    let filter: EntryFilter | null = null;
    let other: i16 = 0;
    const refused = this.filter.size;
    if (code == 0) {
      if (refused == 0) {
        if (this.allTopics) writeInt32(f.note, NOTE_HIDE);
        return Verdict.Forward;
      }
      this.counters.entries.increment(refused);
      if (acksZero) {
        this.counters.dropped.increment(1);
        return Verdict.Forward;
      }
      // A response without a list answering the entries one by one (a ConsumerGroupHeartbeat's
      // subscribed topics) refuses the whole request, as Kafka does. Every entry refused: the
      // emptied list must not reach the broker, where it may mean all topics (Metadata v0,
      // DescribeTopicPartitions) or the fetch session's partitions; the filter answers every
      // entry, except in Metadata v1+, where an empty list asks for no topics and the broker's
      // answer carries the brokers clients need.
      code = this.entryCode;
      if (f.apiKey == ApiKey.AddPartitionsToTxn && f.apiVersion <= 3) {
        // Kafka refuses AddPartitionsToTxn v0-3 as a whole: the refused topics' partitions get
        // the error, the others OPERATION_NOT_ATTEMPTED (none is added to the transaction).
        other = OPERATION_NOT_ATTEMPTED;
        filter = this.filter;
      } else {
        const merges = this.mergeNote(f);
        if (merges && (refused < this.listCount || (f.apiKey == ApiKey.Metadata && f.apiVersion > 0))) return Verdict.Forward;
        if (merges) filter = this.filter;
      }
    }
    this.counters.denied.increment(1);
    if (acksZero) {
      this.counters.dropped.increment(1);
      return Verdict.Drop;
    }
    if (!buildErrorResponse(f.apiKey, f.apiVersion, f.correlationId, f.bodyPtr, f.bodyLength, code, filter, f.rewritten, other)) {
      return Verdict.Reject;
    }
    return Verdict.Answer;
  }

  // The error entries for the refused part, to be appended to the response's list: built as
  // the answer to the refused entries alone, then cut out of it (the builder says where).
  private mergeNote(f: KafkaFrame): bool {
    const answer = this.scratch;
    const filter = this.filter;
    if (!buildErrorResponse(f.apiKey, f.apiVersion, f.correlationId, f.bodyPtr, f.bodyLength, this.entryCode, filter,
      answer) || filter.answerRow < 0) return false;
    writeInt32(f.note, NOTE_MERGE);
    writeInt32(f.note, filter.answerRow);
    writeInt32(f.note, filter.answerCount);
    f.note.append(answer.ptr + <usize>filter.answerStart, filter.answerEnd - filter.answerStart);
    // Many times the request's size when many entries were refused: not held until the next.
    answer.trim();
    return true;
  }

  beginResponse(f: KafkaFrame): void {
    this.judging = false;
    this.principal = f.requester;
    this.apiKey = f.apiKey;
    this.mergeRow = -1;
    this.hideEntity = 0;
    this.hideDepth = 1;
    this.groupDone = true;
    const k = f.apiKey;
    this.opsResource = k == ApiKey.Metadata || k == ApiKey.DescribeTopicPartitions ? ResourceType.Topic :
      k == ApiKey.DescribeGroups || k == ApiKey.ConsumerGroupDescribe || k == ApiKey.ShareGroupDescribe ||
      k == ApiKey.StreamsGroupDescribe ? ResourceType.Group : ResourceType.None;
    this.opsNameLen = -1;
    const note = f.note;
    const kind = note.len >= 4 ? bswap<u32>(load<u32>(note.ptr)) : 0;
    if (kind == NOTE_MERGE) {
      this.mergeRow = <i32>bswap<u32>(load<u32>(note.ptr + 4));
      this.mergeCount = <i32>bswap<u32>(load<u32>(note.ptr + 8));
      this.mergePtr = note.ptr + 12;
      this.mergeLen = note.len - 12;
    } else if (kind == NOTE_HIDE) {
      this.hideEntity = Entity.TopicName;
      // OffsetFetch v8+ lists topics per group (v10 by id).
      if (f.apiKey == ApiKey.OffsetFetch && f.apiVersion >= 8) this.hideDepth = 2;
    } else if (f.apiKey == ApiKey.ConsumerGroupHeartbeat) {
      // Assignments name topics by id; a regex subscription resolves over every topic.
      this.hideEntity = Entity.TopicName;
    } else if (f.apiKey == ApiKey.ListGroups && !this.clusterAllows(Operation.Describe)) {
      this.hideEntity = Entity.GroupId;
    } else if (f.apiKey == ApiKey.ListTransactions) {
      this.hideEntity = Entity.TransactionalId;
    } else if (f.apiKey == ApiKey.DescribeTransactions) {
      // Kafka lists only the transaction's topics the principal may describe.
      this.hideEntity = Entity.TopicName;
      this.hideDepth = 2;
    }
  }

  // Before a response array ends: the merged entries go at the end of their list.
  responseArrayEnd(row: i32, edits: FrameEdits): void {
    if (row == this.mergeRow && edits.arrayDepth() == 1 && edits.innermostArrayRow() == row) {
      edits.appendElements(this.mergePtr, this.mergeLen, this.mergeCount);
      this.mergeRow = -1;
    }
  }

  responseEntity(entity: i32, ptr: usize, len: i32, edits: FrameEdits): void {
    if (this.opsResource != ResourceType.None && resourceOf(entity) == this.opsResource && edits.arrayDepth() == 1) {
      this.opsNameLen = len;
      this.scratch.clear();
      if (len > 0) this.scratch.append(ptr, len);
    }
    if (len < 0) return;
    if (this.apiKey == ApiKey.ConsumerGroupDescribe || this.apiKey == ApiKey.ShareGroupDescribe) {
      this.describedGroupEntity(entity, ptr, len, edits);
      return;
    }
    if (entity != this.hideEntity || edits.arrayDepth() != this.hideDepth) return;
    if (this.allowed(resourceOf(entity), ptr, len, Operation.Describe)) return;
    if (edits.dropElement()) this.counters.hidden.increment(1);
  }

  // A topic id in a response hiding topics (an OffsetFetch v10 listing, KIP-848 assignments;
  // Metadata and DescribeTopicPartitions ids are learned instead, see FrameScan.topicId): an id
  // the principal may not describe, or one this worker cannot name, is dropped.
  responseTopicId(idPtr: usize, edits: FrameEdits): void {
    if (this.hideEntity != Entity.TopicName || edits.arrayDepth() != this.hideDepth) return;
    if (this.topicIdCode(idPtr, Operation.Describe) != 0 && edits.dropElement()) this.counters.hidden.increment(1);
  }

  // DescribeTopicPartitions over all topics: a next cursor naming a topic the principal may
  // not describe would show its name; the client gets an empty name (partition 0) instead,
  // which its next request turns back into the broker's cursor (requestCursor).
  responseCursor(lengthPtr: usize, end: usize, ptr: usize, len: i32, edits: FrameEdits): void {
    if (this.hideEntity != Entity.TopicName || this.allowed(ResourceType.Topic, ptr, len, Operation.Describe)) return;
    this.cursor.clear();
    this.cursor.append(lengthPtr, <i32>(end - lengthPtr));
    this.replaceCursor(lengthPtr, end, HIDDEN_CURSOR, 5, edits);
  }

  // ConsumerGroupDescribe / ShareGroupDescribe: like Kafka, a group whose members are assigned
  // a topic the principal may not describe is answered with TOPIC_AUTHORIZATION_FAILED and no
  // members (this filter also counts subscribed names).
  private describedGroupEntity(entity: i32, ptr: usize, len: i32, edits: FrameEdits): void {
    const group = this.scratch;
    const depth = edits.arrayDepth();
    if (entity == Entity.GroupId && depth == 1) {
      group.clear();
      group.append(ptr, len);
      this.groupDone = false;
      return;
    }
    if (entity != Entity.TopicName || depth < 2 || this.groupDone) return;
    if (this.allowed(ResourceType.Topic, ptr, len, Operation.Describe)) return;
    const out = edits.bytes;
    const mark = out.len;
    out.append(GROUP_REFUSED, 3);
    writeUnsignedVarint(out, <u32>(group.len + 1));
    out.append(group.ptr, group.len);
    out.append(GROUP_REFUSED + 3, 16);
    edits.replaceOuterElement(mark);
    this.groupDone = true;
  }

  // A broker without an authorizer claims every operation: the bit set (one bit per Kafka
  // AclOperation code) is computed from the filter's ACLs for the entry's resource (the cluster
  // at the top level), as Kafka's authorizedOperations does. INT32_MIN (not asked for) stays.
  authorizedOperations(ptr: usize, edits: FrameEdits): void {
    if (load<u32>(ptr) == 0x80) return;
    let resource = ResourceType.Cluster;
    let mask = CLUSTER_OPERATIONS;
    let name = changetype<usize>(CLUSTER_BYTES);
    let len = CLUSTER_BYTES.byteLength;
    if (edits.arrayDepth() > 0) {
      resource = this.opsResource;
      mask = resource == ResourceType.Topic ? TOPIC_OPERATIONS : resource == ResourceType.Group ? GROUP_OPERATIONS : 0;
      name = this.scratch.ptr;
      len = this.opsNameLen;
    }
    let bits = 0;
    for (let op = Operation.Read; op <= Operation.IdempotentWrite; op++) {
      // Kafka's AclOperation codes are this module's Operation values + 2 (READ = 3).
      if (len >= 0 && ((mask >> op) & 1) != 0 && this.allowed(resource, name, len, op)) bits |= 1 << (op + 2);
    }
    const mark = edits.bytes.len;
    writeInt32(edits.bytes, bits);
    edits.replace(ptr, ptr + 4, mark);
  }

  // False when a merge the request asked for did not happen (the response had no such list).
  finishResponse(): bool {
    return this.mergeRow < 0;
  }
}
