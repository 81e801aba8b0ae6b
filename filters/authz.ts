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
import { clusterOperation, configOperation, entityOperation } from "../assembly/policy/operations";
import { Entity } from "../assembly/kafka/layout";
import { FrameEdits } from "../assembly/kafka/frame_edits";
import { buildErrorResponse, EntryFilter } from "../assembly/kafka/error_response";
import { MessageTree } from "../assembly/kafka/message_tree";
import { SOURCES } from "../assembly/kafka/generated/schema_tables";
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
  // Topic ids refused as unknown: no worker has seen them in a broker response.
  unknownIds: Counter = new Counter("kafka_proxy.authz.topic_ids_unknown");
}

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
  // Responses: what the request's note asked for.
  private mergeRow: i32 = -1;
  private mergeCount: i32 = 0;
  private mergePtr: usize = 0;
  private mergeLen: i32 = 0;
  private hideEntity: i32 = 0;
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
    this.bodyPtr = f.bodyPtr;
    this.wholeCode = 0;
    this.entryCode = 0;
    this.filter.reset(-1);
    this.allTopics = false;
    const op = clusterOperation(f.apiKey);
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
    if (op == Operation.None) return;
    const resource = resourceOf(entity);
    if (this.allowed(resource, ptr, len, op)) return;
    // Kafka lets CREATE on the cluster create any topic.
    if (this.apiKey == ApiKey.CreateTopics && this.clusterAllows(Operation.Create)) return;
    this.refuse(codeFor(resource), edits);
  }

  requestTopicId(idPtr: usize, edits: FrameEdits): void {
    const op = entityOperation(this.apiKey, Entity.TopicName);
    // The zero id means "by name" (Metadata v10+ requests carry both).
    if (op == Operation.None || (load<u64>(idPtr) == 0 && load<u64>(idPtr + 8) == 0)) return;
    const e = this.topicIds.find(idPtr);
    // An id no worker has seen in a broker response (topic_ids.ts) cannot be checked: the client
    // is told it is unknown, which makes it refresh its metadata. The same goes for another
    // tenant's.
    if (e === null) {
      this.counters.unknownIds.increment(1);
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
    if (!this.allowed(ResourceType.Topic, ptr, len, op)) this.refuse(TOPIC_AUTHORIZATION_FAILED, edits);
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
    if (this.wholeCode != 0) {
      this.counters.denied.increment(1);
      if (acksZero) {
        this.counters.dropped.increment(1);
        return Verdict.Drop;
      }
      if (!buildErrorResponse(f.apiKey, f.apiVersion, f.correlationId, f.bodyPtr, f.bodyLength, this.wholeCode, null, f.rewritten)) {
        return Verdict.Reject;
      }
      return Verdict.Answer;
    }
    if (this.filter.size > 0) {
      this.counters.entries.increment(this.filter.size);
      if (acksZero) this.counters.dropped.increment(1);
      else if (!this.mergeNote(f)) return Verdict.Reject;
    } else if (this.allTopics) {
      writeInt32(f.note, NOTE_HIDE);
    }
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
      if (<i32>unchecked(SOURCES[row]) != this.filter.row) continue;
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
    if (entity != this.hideEntity || len < 0 || edits.arrayDepth() != 1) return;
    if (this.allowed(resourceOf(entity), ptr, len, Operation.Describe)) return;
    if (edits.dropElement()) this.counters.hidden.increment(1);
  }

  // False when a merge the request asked for did not happen (the response had no such list).
  finishResponse(): bool {
    return this.mergeRow < 0;
  }
}
