// The authorization stage: every topic, group and transactional id a request names is checked
// against the ACLs with the operation its API needs (assembly/policy/operations.ts), as the
// broker would. A refused request is not forwarded; the client gets the broker's own response
// shape with Kafka's error codes:
// - a request refused as a whole (its group, transactional id or cluster operation, or an entry
//   nested deeper than the top-level list) is answered by the filter (Verdict.Answer);
// - a request with some refused entries in its top-level list (topics of a Produce, Fetch,
//   Metadata...) goes to the broker without them, and error entries for them are merged into
//   the broker's response;
// - lists (all-topics Metadata, ListGroups, ListTransactions) only show what the principal may
//   describe.
import { Counter } from "@solo-io/proxy-runtime/assembly/index";
import { Acl, Operation, ResourceType } from "../assembly/policy/acl";
import { clusterOperation, configOperation, createsTopic, entityOperation } from "../assembly/policy/operations";
import { Entity } from "../assembly/kafka/layout";
import { FrameEdits } from "../assembly/kafka/frame_edits";
import { answers, buildErrorResponse, EntryFilter } from "../assembly/kafka/error_response";
import { MessageTree } from "../assembly/kafka/message_tree";
import { FETCH_FORGOTTEN_ROW } from "../assembly/kafka/generated/schema_tables";
import { ByteBuffer } from "../assembly/kafka/byte_buffer";
import { KafkaFrame, Verdict } from "../assembly/proxy/kafka_frame";
import { writeInt32 } from "../assembly/kafka/writer";
import { responseHeaderVersion } from "../assembly/kafka/header";
import { TopicIds } from "./topic_ids";
import { RewriteStage } from "./rewrite";
import { ApiKey } from "../assembly/kafka/api_keys";

// Kafka error codes.
const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
const GROUP_AUTHORIZATION_FAILED: i16 = 30;
const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
const OPERATION_NOT_ATTEMPTED: i16 = 55;
const UNKNOWN_TOPIC_ID: i16 = 100;

const CLUSTER_NAME = "kafka-cluster";

// What a request leaves for its response (KafkaFrame.note).
const NOTE_MERGE: i32 = 1;
const NOTE_HIDE: i32 = 2;

export class AuthzCounters {
  // Requests refused as a whole (answered by the filter, or dropped when acks=0).
  denied: Counter = new Counter("kafka_proxy.authz.requests_denied");
  // Entries (topics) refused inside a request whose other entries went to the broker.
  entries: Counter = new Counter("kafka_proxy.authz.entries_denied");
  dropped: Counter = new Counter("kafka_proxy.authz.produce_acks0_dropped");
  hidden: Counter = new Counter("kafka_proxy.authz.entries_hidden");
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
  private allTopics: bool = false;
  private apiVersion: i16 = 0;
  private bodyEnd: usize = 0;
  // Metadata: a named topic the principal may not create (see requestFieldEnd).
  private noCreate: bool = false;
  // Responses: what the request's note asked for.
  private mergeRow: i32 = -1;
  private mergeCount: i32 = 0;
  private mergePtr: usize = 0;
  private mergeLen: i32 = 0;
  private hideEntity: i32 = 0;
  // How many arrays enclose the entries to hide (DescribeTransactions: a transaction's topics).
  private hideDepth: i32 = 1;
  // Responses with AuthorizedOperations: the resource type of their top-level entries, and the
  // client name of the entry being walked (copied into `scratch`, free while responses are
  // walked; -1 when none).
  private opsResource: i32 = 0;
  private opsNameLen: i32 = -1;
  private scratch: ByteBuffer = new ByteBuffer();
  private tree: MessageTree = new MessageTree();
  private clusterName: ArrayBuffer = String.UTF8.encode(CLUSTER_NAME);

  // ACLs name topics as clients know them; topic ids resolve to the broker's names, which the
  // rewriting stage (when on) maps back.
  rewrite: RewriteStage | null = null;

  constructor(private acl: Acl, private counters: AuthzCounters, private topicIds: TopicIds) {}

  // Frees the connection's buffers (off the GC heap).
  release(): void {
    this.filter.release();
    this.scratch.release();
    this.tree.release();
  }

  private allowed(resource: i32, ptr: usize, len: i32, op: i32): bool {
    return this.acl.authorize(this.principal, resource, ptr, len, op);
  }

  // Whether the requester may read the topic a response names (client name).
  readable(ptr: usize, len: i32): bool {
    return len >= 0 && this.allowed(ResourceType.Topic, ptr, len, Operation.Read);
  }

  private clusterAllows(op: i32): bool {
    return this.allowed(ResourceType.Cluster, changetype<usize>(this.clusterName), this.clusterName.byteLength, op);
  }

  // True when the last request had entries refused (and went on without them).
  get refusedEntries(): bool {
    return this.filter.size > 0;
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
    const op = clusterOperation(f.apiKey, f.apiVersion);
    if (op != Operation.None && !this.clusterAllows(op)) this.refuseWhole(CLUSTER_AUTHORIZATION_FAILED);
  }

  // A top-level array of the request: an all-topics Metadata request has a null (v1+) or empty
  // (v0) topic list.
  requestArray(topLevel: bool, count: i32, version: i16): void {
    if (this.apiKey == ApiKey.Metadata && topLevel && (count < 0 || (count == 0 && version == 0))) this.allTopics = true;
  }

  requestEntity(entity: i32, ptr: usize, len: i32, edits: FrameEdits): void {
    if (len < 0) return;
    if (entity == Entity.BrokerId) {
      // A Fetch from a replica (replica id >= 0) is broker traffic.
      if (this.apiKey == ApiKey.Fetch && len == 4 && <i32>bswap<u32>(load<u32>(ptr)) >= 0 && !this.clusterAllows(Operation.ClusterAction)) {
        this.refuseWhole(CLUSTER_AUTHORIZATION_FAILED);
      }
      return;
    }
    if (entity == Entity.ConfigResourceName) {
      // A broker's (or logger's, client metrics') configs: the cluster's.
      if (!this.clusterAllows(configOperation(this.apiKey))) this.refuse(CLUSTER_AUTHORIZATION_FAILED, edits);
      return;
    }
    const op = entityOperation(this.apiKey, entity);
    if (op == Operation.None || this.forgotten(edits)) return;
    const resource = resourceOf(entity);
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
      // Metadata v0-3 always asks for missing topics to be created (Kafka answers them
      // TOPIC_AUTHORIZATION_FAILED without CREATE); v4+ says so in a flag (requestFieldEnd).
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
    const e = this.topicIds.find(idPtr);
    // An id this worker never saw in a Metadata response cannot be checked: the client is told
    // it is unknown, which makes it refresh its metadata. The same goes for another tenant's.
    if (e === null) {
      this.refuse(UNKNOWN_TOPIC_ID, edits);
      return;
    }
    let ptr = e.namePtr;
    let len = e.nameLen;
    const rewrite = this.rewrite;
    if (rewrite !== null) {
      if (!rewrite.clientTopic(ptr, len)) {
        this.refuse(UNKNOWN_TOPIC_ID, edits);
        return;
      }
      ptr = rewrite.name.ptr;
      len = rewrite.name.len;
    }
    if (!this.forgotten(edits) && !this.allowed(ResourceType.Topic, ptr, len, op)) this.refuse(TOPIC_AUTHORIZATION_FAILED, edits);
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
  requestFieldEnd(row: i32, ptr: usize, edits: FrameEdits): void {
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
    const row = edits.innermostArrayRow();
    if (edits.arrayDepth() != 1 || (this.filter.row >= 0 && this.filter.row != row)) {
      this.refuseWhole(code);
      return;
    }
    const offset = <i32>(edits.innermostElementStart() - this.bodyPtr);
    if (this.filter.has(offset)) return;
    edits.dropElement();
    this.filter.row = row;
    this.filter.add(offset);
    // Entries share one error code: a mix of refused and unknown ids reads as refused.
    this.entryCode = this.entryCode == 0 || this.entryCode == code ? code : TOPIC_AUTHORIZATION_FAILED;
  }

  private refuseWhole(code: i16): void {
    if (rank(code) > rank(this.wholeCode)) this.wholeCode = code;
  }

  // After the walk: what happens to the request. `rewritten` holds the edited request when
  // the verdict is Replace, the answer when it is Answer.
  finishRequest(f: KafkaFrame, acksZero: bool, edits: FrameEdits): Verdict {
    let code = this.wholeCode;
    let other: i16 = 0;
    if (code == 0 && this.filter.size > 0) {
      this.counters.entries.increment(this.filter.size);
      if (acksZero) {
        this.counters.dropped.increment(1);
        return Verdict.Forward;
      }
      // Kafka refuses AddPartitionsToTxn v0-3 as a whole: the refused topics' partitions get
      // the error, the others OPERATION_NOT_ATTEMPTED (none is added to the transaction).
      if (this.apiKey == ApiKey.AddPartitionsToTxn && this.apiVersion <= 3) other = OPERATION_NOT_ATTEMPTED;
      else if (this.mergeNote(f)) return Verdict.Forward;
      // A response with no list for the refused entries (the KIP-848 heartbeats' subscribed
      // topics) carries their error for the whole request, as Kafka answers it.
      code = this.entryCode;
    }
    if (code != 0) {
      this.counters.denied.increment(1);
      if (acksZero) {
        this.counters.dropped.increment(1);
        return Verdict.Drop;
      }
      if (!buildErrorResponse(f.apiKey, f.apiVersion, f.correlationId, f.bodyPtr, f.bodyLength, code,
        other != 0 ? this.filter : null, f.rewritten, other)) {
        return Verdict.Reject;
      }
      return Verdict.Answer;
    }
    if (this.allTopics) writeInt32(f.note, NOTE_HIDE);
    return Verdict.Forward;
  }

  // The error entries for the refused part, to be appended to the response's list: built as
  // the answer to the refused entries alone, then cut out of it.
  private mergeNote(f: KafkaFrame): bool {
    const answer = this.scratch;
    if (!buildErrorResponse(f.apiKey, f.apiVersion, f.correlationId, f.bodyPtr, f.bodyLength, this.entryCode, this.filter,
      answer)) return false;
    // Response header: size, correlation id, and an empty tagged-field section when flexible.
    const headerLen = responseHeaderVersion(f.apiKey, f.apiVersion) >= 1 ? 9 : 8;
    const tree = this.tree;
    if (tree.build(f.apiKey, f.apiVersion, false, answer.ptr + <usize>headerLen, answer.len - headerLen) < 0) return false;
    for (let n = tree.firstChild(0); n >= 0; n = tree.next(n)) {
      const row = tree.row(n);
      if (!answers(row, this.filter.row)) continue;
      let count = 0;
      let first = -1;
      for (let e = tree.firstChild(n); e >= 0; e = tree.next(e)) {
        if (first < 0) first = e;
        count++;
      }
      if (first < 0) return false;
      const start = tree.start(first);
      const end = tree.start(n) + <usize>tree.length(n);
      writeInt32(f.note, NOTE_MERGE);
      writeInt32(f.note, row);
      writeInt32(f.note, count);
      f.note.append(start, <i32>(end - start));
      return true;
    }
    return false;
  }

  beginResponse(f: KafkaFrame): void {
    this.apiKey = f.apiKey;
    this.mergeRow = -1;
    this.hideEntity = 0;
    this.hideDepth = 1;
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

  // Before a response field ends: the merged entries go at the end of their list.
  responseFieldEnd(row: i32, edits: FrameEdits): void {
    if (row == this.mergeRow && edits.arrayDepth() == 1 && edits.innermostArrayRow() == row) {
      edits.appendElements(this.mergePtr, this.mergeLen, this.mergeCount);
      this.mergeRow = -1;
    }
  }

  responseEntity(entity: i32, ptr: usize, len: i32, edits: FrameEdits): void {
    if (resourceOf(entity) == this.opsResource && edits.arrayDepth() == 1) {
      this.opsNameLen = len;
      this.scratch.clear();
      if (len > 0) this.scratch.append(ptr, len);
    }
    if (entity != this.hideEntity || len < 0 || edits.arrayDepth() != this.hideDepth) return;
    if (this.allowed(resourceOf(entity), ptr, len, Operation.Describe)) return;
    if (edits.dropElement()) this.counters.hidden.increment(1);
  }

  // A broker without an authorizer claims every operation: the bit set (one bit per Kafka
  // AclOperation code) is computed from the filter's ACLs for the entry's resource (the cluster
  // at the top level), as Kafka's authorizedOperations does. INT32_MIN (not asked for) stays.
  authorizedOperations(ptr: usize, edits: FrameEdits): void {
    if (load<u32>(ptr) == 0x80) return;
    let resource = ResourceType.Cluster;
    let mask = CLUSTER_OPERATIONS;
    let name = changetype<usize>(this.clusterName);
    let len = this.clusterName.byteLength;
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
