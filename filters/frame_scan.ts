// What one walk of a frame tells the stages: every frame is walked once, and this visitor
// collects what any stage needs from it (the walk is the only parse).
import { Visitor, skippedRecords } from "../assembly/kafka/walker";
import { Entity, Role } from "../assembly/kafka/layout";
import { countRecords } from "../assembly/kafka/record_batches";
import { LabelEntry } from "../assembly/proxy/label_table";
import { KafkaMetrics } from "./kafka_metrics";
import { FrameEdits } from "../assembly/kafka/frame_edits";
import { Principal } from "../assembly/policy/connection_principal";
import { AuthzStage } from "./authz";
import { RewriteStage } from "./rewrite";
import { GuardStage } from "./guardrails";
import { ValidationStage } from "./validation";
import { GatewayStage } from "./gateway";
import { AuditTrail } from "./audit";
import { Lineage } from "./lineage";
import { TopicIds } from "./topic_ids";
import { ApiKey } from "../assembly/kafka/api_keys";
import { API_VERSIONS_ENTRY_STRUCT, STRUCTS } from "../assembly/kafka/generated/schema_tables";
import { messageStruct } from "../assembly/kafka/api_table";
import { QuotaStage } from "./quotas";

// ProduceResponse's first field, its list of topics (throttle_time_ms follows it).
const PRODUCE_RESPONSES_ROW: i32 = STRUCTS[messageStruct(<i16>ApiKey.Produce, false)];
import { VersionGate } from "./versions";
import { SessionCounters } from "./fetch_sessions";

// The config APIs' ResourceType values for topics and groups (others are the cluster's).
const CONFIG_TOPIC: i8 = 2;
const CONFIG_GROUP: i8 = 32;

const EDITS = new FrameEdits();

const OFFSET_COMMIT: i16 = 8;

export class FrameScan extends Visitor {
  apiKey: i16 = 0;
  apiVersion: i16 = 0;
  isRequest: bool = true;
  metrics: KafkaMetrics | null = null;
  authz: AuthzStage | null = null;
  rewrite: RewriteStage | null = null;
  guard: GuardStage | null = null;
  // Responses: sets throttle_time_ms when it has a throttle time for the response.
  quota: QuotaStage | null = null;
  validation: ValidationStage | null = null;
  // Set (with the layout hooks) only while a response that can name brokers is walked.
  gateway: GatewayStage | null = null;
  principal: Principal | null = null;
  // The audit log's view of the request (names of admin requests).
  audit: AuditTrail | null = null;
  // Lineage counters (with metrics).
  lineage: Lineage | null = null;
  private lastFlow: LabelEntry | null = null;
  // Set with the policy stages: the response topic checks of session APIs count into it.
  sessionCounters: SessionCounters | null = null;
  // The frame's edits, when a stage that changes frames is on (wantsLayout). One per VM: a
  // frame's edits are applied in the callback that walked it, and an idle connection must not
  // hold their buffers.
  readonly edits: FrameEdits = EDITS;
  // Produce requests: the acks value.
  acksValue: i16 = -1;
  // Responses: the first non-zero error code in wire order, 0 if none.
  firstError: i16 = 0;
  // ApiVersions v3+ requests: the client software name and version.
  softwareNamePtr: usize = 0;
  softwareNameLen: i32 = -1;
  softwareVersionPtr: usize = 0;
  softwareVersionLen: i32 = -1;
  // The topic of the last record set reported (for recordsLater).
  private lastTopic: LabelEntry | null = null;
  // The topic the record sets that follow belong to (topic names and ids come first in
  // Produce and Fetch topic structs).
  private topic: LabelEntry | null = null;
  // Metadata responses: the topic name just seen, paired with the id that follows it.
  private namePtr: usize = 0;
  private nameLen: i32 = -1;
  // FindCoordinator's key type (v0: always a group), and a name held until the type that
  // follows it on the wire (FindCoordinator v1-3 keys, ListConfigResources v1+ resource names).
  private keyType: i8 = -1;
  private heldKeyLengthPtr: usize = 0;
  private heldKeyPtr: usize = 0;
  private heldKeyLen: i32 = -2;
  private heldKeyCompact: bool = false;
  // The config APIs' type of the resource whose name follows.
  private resourceType: i8 = 0;
  // While an ApiVersions response is walked with the layout hooks: the gate that narrows its
  // entries, and where the entry being walked starts.
  versions: VersionGate | null = null;
  private entryPtr: usize = 0;

  constructor(private topicIds: TopicIds) {
    super();
  }

  start(apiKey: i16, apiVersion: i16, isRequest: bool, framePtr: usize): void {
    this.apiKey = apiKey;
    this.apiVersion = apiVersion;
    if (this.wantsLayout) this.edits.reset(framePtr);
    this.isRequest = isRequest;
    // Fetch v1+: throttle_time_ms is the body's first field.
    const quota = this.quota;
    if (quota !== null && !isRequest && quota.throttleMs > 0 && apiKey == ApiKey.Fetch) {
      quota.setThrottle(quota.bodyPtr, this.edits);
    }
    this.acksValue = -1;
    this.firstError = 0;
    this.softwareNameLen = -1;
    this.softwareVersionLen = -1;
    this.topic = null;
    this.lastTopic = null;
    this.lastFlow = null;
    this.nameLen = -1;
    this.keyType = apiKey == ApiKey.FindCoordinator && apiVersion == 0 ? 0 : -1;
    this.heldKeyLen = -2;
    this.resourceType = 0;
  }

  acks(value: i16): void {
    this.acksValue = value;
  }

  errorCode(code: i16): void {
    if (code != 0 && this.firstError == 0) this.firstError = code;
  }

  int8(role: i32, value: i8): void {
    let entity: i32;
    if (role == Role.ResourceType) {
      this.resourceType = value;
      if (this.guard !== null && this.isRequest) this.guard!.resourceType(value);
      entity = this.configEntity();
    } else if (role == Role.KeyType) {
      this.keyType = value;
      entity = this.keyEntity();
    } else {
      return;
    }
    if (this.heldKeyLen == -2) return;
    this.named(entity, this.heldKeyLengthPtr, this.heldKeyPtr, this.heldKeyLen, this.heldKeyCompact);
    this.heldKeyLen = -2;
  }

  private keyEntity(): i32 {
    return this.keyType == 1 ? Entity.TransactionalId : Entity.GroupId;
  }

  // A config resource name is a topic's or a group's by its type; others (brokers, loggers,
  // client metrics) are the cluster's.
  private configEntity(): i32 {
    const t = this.resourceType;
    return t == CONFIG_TOPIC ? Entity.TopicName : t == CONFIG_GROUP ? Entity.GroupId : Entity.ConfigResourceName;
  }

  private hold(lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
    this.heldKeyLengthPtr = lengthPtr;
    this.heldKeyPtr = valuePtr;
    this.heldKeyLen = len;
    this.heldKeyCompact = compact;
  }

  structStart(structIndex: i32, ptr: usize): void {
    if (structIndex == API_VERSIONS_ENTRY_STRUCT) this.entryPtr = ptr;
  }

  structEnd(structIndex: i32, ptr: usize): void {
    const versions = this.versions;
    if (versions !== null && structIndex == API_VERSIONS_ENTRY_STRUCT) versions.narrow(this.entryPtr, this.edits);
  }

  arrayStart(row: i32, countPtr: usize, countEnd: usize, count: i32, compact: bool): void {
    if (this.isRequest && this.authz !== null) this.authz!.requestArray(this.edits.arrayDepth(), count, this.apiVersion);
    if (this.isRequest && this.guard !== null) this.guard!.requestArray(this.edits.arrayDepth(), count);
    if (this.isRequest && this.validation !== null) this.validation!.requestArray(this.edits.arrayDepth(), count);
    this.edits.arrayStart(row, countPtr, countEnd, count, compact);
  }

  elementStart(ptr: usize): void {
    this.edits.elementStart(ptr);
  }

  elementEnd(ptr: usize): void {
    if (this.guard !== null && this.isRequest && this.edits.arrayDepth() == 1) this.guard!.entryEnd(this.edits);
    const v = this.validation;
    if (v !== null && this.isRequest) {
      const depth = this.edits.arrayDepth();
      if (depth == 1) v.entryEnd(this.edits);
      else if (depth == 2) v.partitionEnd(this.edits);
    }
    this.edits.elementEnd(ptr);
  }

  guarded(row: i32, ptr: usize, len: i32): void {
    if (this.guard !== null && this.isRequest) this.guard!.guarded(row, ptr, len, this.edits);
  }

  taggedStart(sizePtr: usize, sizeEnd: usize): void {
    this.edits.taggedStart(sizePtr, sizeEnd);
  }

  taggedEnd(ptr: usize): void {
    this.edits.taggedEnd(ptr);
  }

  brokerHost(lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
    if (this.gateway !== null) this.gateway!.brokerHost(lengthPtr, valuePtr, len, compact);
  }

  brokerPort(ptr: usize): void {
    if (this.gateway !== null) this.gateway!.brokerPort(ptr, this.edits);
  }

  arrayEnd(row: i32, ptr: usize): void {
    const authz = this.authz;
    if (authz !== null) {
      if (this.isRequest) authz.requestArrayEnd(row, ptr, this.edits);
      else authz.responseArrayEnd(row, this.edits);
    }
    // The guardrails may clear Metadata's auto-creation flag too (the same edit again replaces it).
    if (this.guard !== null && this.isRequest) this.guard!.requestArrayEnd(row, ptr, this.edits);
    if (this.guard !== null && !this.isRequest) this.guard!.responseArrayEnd(row, this.edits);
    if (this.validation !== null && !this.isRequest) this.validation!.responseArrayEnd(row, this.edits);
    this.edits.arrayEnd(row, ptr);
    // Produce v1+: throttle_time_ms follows the top-level list.
    const quota = this.quota;
    if (quota !== null && !this.isRequest && quota.throttleMs > 0 && row == PRODUCE_RESPONSES_ROW &&
      this.apiKey == ApiKey.Produce) quota.setThrottle(ptr, this.edits);
  }

  text(role: i32, ptr: usize, len: i32): void {
    const p = this.principal;
    if (p !== null && len >= 0) {
      if (role == Role.SaslMechanism) p.saslMechanism(ptr, len);
      else if (role == Role.SaslAuthBytes) p.saslToken(ptr, len);
    }
    if (role == Role.AclResourceName && this.rewrite !== null) {
      this.rewrite!.aclResourceName();
    } else if (role == Role.ClientSoftwareName) {
      this.softwareNamePtr = ptr;
      this.softwareNameLen = len;
    } else if (role == Role.ClientSoftwareVersion) {
      this.softwareVersionPtr = ptr;
      this.softwareVersionLen = len;
    }
  }

  // Resolves the entities whose kind another field gives (FindCoordinator keys, config
  // resource names), then hands every name to the stages.
  entity(entity: i32, lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
    if (entity == Entity.CoordinatorKey) {
      // Responses do not repeat the key type; a tenant's groups and ids share one prefix.
      if (this.isRequest && this.keyType < 0) {
        this.hold(lengthPtr, valuePtr, len, compact);
        return;
      }
      entity = this.isRequest ? this.keyEntity() : Entity.GroupId;
    } else if (entity == Entity.ConfigResourceName) {
      // ListConfigResources v1+ answers name first, type after (v0 lists client metrics only).
      if (this.apiKey == ApiKey.ListConfigResources && !this.isRequest) {
        if (this.apiVersion >= 1) this.hold(lengthPtr, valuePtr, len, compact);
        return;
      }
      entity = this.configEntity();
    }
    this.named(entity, lengthPtr, valuePtr, len, compact);
  }

  // Stages see names in order: rewrite (client <-> broker names), authorization on the client's
  // names, metrics on the broker's.
  private named(entity: i32, lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
    let clientPtr = valuePtr;
    let clientLen = len;
    let brokerPtr = valuePtr;
    let brokerLen = len;
    // A name the tenant must not see is already dropped for the client; the id that follows
    // it is still the broker's topic's (below).
    let hidden = false;
    const rewrite = this.rewrite;
    if (rewrite !== null) {
      if (this.isRequest) {
        if (rewrite.request(entity, lengthPtr, valuePtr, len, compact, this.edits)) {
          brokerPtr = rewrite.name.ptr;
          brokerLen = rewrite.name.len;
        }
      } else {
        const r = rewrite.response(entity, lengthPtr, valuePtr, len, compact, this.edits);
        hidden = r < 0;
        if (r > 0) {
          clientPtr = rewrite.name.ptr;
          clientLen = rewrite.name.len;
        }
      }
    }
    const authz = this.authz;
    if (authz !== null && !hidden && entity == Entity.TopicName && this.carriesSessionTopics() && !authz.readable(clientPtr, clientLen)) {
      this.dropSessionTopic();
      this.topic = null;
      return;
    }
    if (authz !== null && !hidden) {
      if (entity == Entity.TopicName && this.apiKey == ApiKey.DescribeTopicPartitions && this.edits.arrayDepth() == 0 &&
        (authz.allTopics || !this.isRequest)) {
        // The cursor of a listing of all topics (never null): its name, then its partition index.
        const end = valuePtr + <usize>len + 4;
        if (this.isRequest) authz.requestCursor(lengthPtr, end, clientLen, this.edits);
        else authz.responseCursor(lengthPtr, end, clientPtr, clientLen, this.edits);
      } else if (this.isRequest) {
        authz.brokerName(brokerPtr, brokerPtr != clientPtr ? brokerLen : -1);
        authz.requestEntity(entity, clientPtr, clientLen, this.edits);
      } else {
        authz.responseEntity(entity, clientPtr, clientLen, this.edits);
      }
    }
    if (this.guard !== null && this.isRequest && !hidden) this.guard!.requestEntity(entity, clientPtr, clientLen, this.edits);
    const v = this.validation;
    if (v !== null) {
      if (this.isRequest) v.requestEntity(entity, clientPtr, clientLen, brokerPtr, brokerLen, this.edits);
      else if (entity == Entity.TopicName) v.responseTopic(valuePtr, len, this.edits);
    }
    const audit = this.audit;
    if (audit !== null && audit.collectNames && this.isRequest) audit.name(entity, clientPtr, clientLen, brokerPtr, brokerLen);
    const lineage = this.lineage;
    if (lineage !== null && this.isRequest && this.apiKey == OFFSET_COMMIT) {
      if (entity == Entity.GroupId) lineage.group(brokerPtr, brokerLen);
      else if (entity == Entity.TopicName) lineage.commit(brokerPtr, brokerLen);
    }
    if (entity != Entity.TopicName) return;
    this.namePtr = brokerPtr;
    this.nameLen = brokerLen;
    const m = this.metrics;
    if (m !== null) this.topic = brokerLen >= 0 && this.tracksRecords() ? m.topics.lookup(brokerPtr, brokerLen) : null;
  }

  namePattern(lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
    const rewrite = this.rewrite;
    if (rewrite === null) return;
    if (this.isRequest) rewrite.requestPattern(lengthPtr, valuePtr, len, compact, this.edits);
    else rewrite.responsePattern(lengthPtr, valuePtr, len, compact, this.edits);
  }

  topicId(ptr: usize): void {
    const k = this.apiKey;
    if (!this.isRequest && (k == ApiKey.Metadata || k == ApiKey.CreateTopics || k == ApiKey.DescribeTopicPartitions)) {
      // These responses (Metadata v10+, CreateTopics v7+) pair each topic's name (just seen)
      // with its id; Kafka's admin client describes topics with DescribeTopicPartitions. Ids
      // from CreateTopics stay with this worker (topic_ids.ts says why).
      if (this.nameLen > 0) this.topicIds.learn(ptr, this.namePtr, this.nameLen, k != ApiKey.CreateTopics);
      return;
    }
    // KIP-848 assignments name topics by id only: a tenant is assigned only its own.
    if (!this.isRequest && this.rewrite !== null && (k == ApiKey.ConsumerGroupHeartbeat || k == ApiKey.ShareGroupHeartbeat)) {
      this.rewrite!.responseTopicId(ptr, this.edits);
    }
    if (this.carriesSessionTopics() && !this.sessionTopicById(ptr)) {
      this.topic = null;
      return;
    }
    if (this.authz !== null && !this.isRequest) this.authz!.responseTopicId(ptr, this.edits);
    else if (this.isRequest && this.authz !== null) this.authz!.requestTopicId(ptr, this.edits);
    else if (this.isRequest && this.rewrite !== null && this.apiKey != ApiKey.Metadata) this.rewrite!.requestTopicId(ptr);
    // After the authorization stage: an entry it refused is not read.
    const v = this.validation;
    if (v !== null) {
      if (this.isRequest) v.topicId(ptr, this.edits);
      else v.responseTopic(ptr, -16, this.edits);
    }
    const m = this.metrics;
    if (m !== null && this.tracksRecords()) this.topic = m.topicById(this.topicIds, ptr);
    const lineage = this.lineage;
    if (lineage !== null && this.isRequest && this.apiKey == OFFSET_COMMIT) {
      const e = this.topicIds.find(ptr);
      if (e !== null) lineage.commit(e.namePtr, e.nameLen);
    }
  }

  authorizedOperations(ptr: usize): void {
    if (!this.isRequest && this.authz !== null) this.authz!.authorizedOperations(ptr, this.edits);
  }

  records(ptr: usize, len: i32): void {
    if (this.guard !== null && this.isRequest && this.apiKey == ApiKey.Produce) this.guard!.records(ptr, len);
    if (this.validation !== null && this.isRequest) this.validation!.records(ptr, len);
    if (len <= 0 || this.topic === null || !this.tracksRecords()) return;
    this.lastTopic = this.topic;
    const count = ptr == 0 ? skippedRecords() : countRecords(ptr, len);
    this.metrics!.records(this.topic!, this.isRequest, count, len);
    const lineage = this.lineage;
    // Records of a refused entry (or request) never reach the broker: no lineage.
    if (lineage !== null && !(this.isRequest && this.authz !== null && this.authz!.refusing)) {
      lineage.flow(this.topic!, this.isRequest, count, len);
      this.lastFlow = lineage.lastFlow;
    }
  }

  // Records of the request's last record set counted after it was decided.
  recordsLater(count: i64): void {
    if (count > 0 && this.lastTopic !== null) this.metrics!.records(this.lastTopic!, true, count, 0);
    if (count > 0 && this.lastFlow !== null) this.lineage!.count(this.lastFlow!, true, count, 0);
  }

  // Fetch, ShareFetch and ShareAcknowledge responses answer for the topics of a session, which
  // the request need not name (incremental requests name only what changed): each topic must be
  // one the requester may read and, with tenants, the tenant's, else its entry is dropped.
  private carriesSessionTopics(): bool {
    const k = this.apiKey;
    return !this.isRequest && this.sessionCounters !== null &&
      (k == ApiKey.Fetch || k == ApiKey.ShareFetch || k == ApiKey.ShareAcknowledge);
  }

  // A response topic by id: an id never seen in a Metadata response cannot be checked (nor is it
  // in requests: authorization and tenants refuse it there too).
  private sessionTopicById(idPtr: usize): bool {
    const e = this.topicIds.find(idPtr);
    const rewrite = this.rewrite;
    // (With neither stage, only the guardrails: nothing to hide.)
    let allowed = e !== null || (this.authz === null && (rewrite === null || !rewrite.tenanted));
    if (e !== null) {
      let ptr = e.namePtr;
      let len = e.nameLen;
      if (rewrite !== null) {
        allowed = rewrite.clientTopic(ptr, len);
        ptr = rewrite.name.ptr;
        len = rewrite.name.len;
      }
      if (allowed && this.authz !== null) allowed = this.authz!.readable(ptr, len);
    }
    if (!allowed) this.dropSessionTopic();
    return allowed;
  }

  // The topic entries of these responses are elements of their top-level list.
  private dropSessionTopic(): void {
    if (this.edits.dropElement()) this.sessionCounters!.topicsDropped.increment(1);
  }

  private tracksRecords(): bool {
    return (this.apiKey == ApiKey.Produce && this.isRequest) || (this.apiKey == ApiKey.Fetch && !this.isRequest);
  }
}
