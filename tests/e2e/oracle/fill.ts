// Generated requests: any API and version filled from its schema with the names of one probe
// (a topic, group and transactional id from the scenario), in one of three shapes:
//  - "one":  every list that names resources holds the probe's names;
//  - "pair": such lists hold two entries, a granted and a refused name (the filter must drop or
//            refuse the one and keep the meaning of the request);
//  - "all":  such lists are null where the version allows it and empty otherwise, and name
//            patterns are ".*" (the "everything" forms the filter must answer with care).
// Other fields get values a real client would send (timeouts short, no waiting for data), so
// the broker does the work the request asks for and its effects can be compared.
import { crc32c } from "./crc32c.ts";
import { Api, Field, Struct, Value, inRange, isArray, elementType, isPrimitive, structFields } from "./codec.ts";

export type Shape = "one" | "pair" | "all";

export interface Probe {
  // Names for each entity kind; `pair` shapes use [0] and [1].
  topics: string[];
  groups: string[];
  txns: string[];
  // Config/ACL resource type the request talks about ("topic", "group", "broker").
  resource: "topic" | "group" | "broker";
  // FindCoordinator key type: 0 group, 1 transaction.
  keyType: number;
}

export interface FillContext {
  api: Api;
  version: number;
  shape: Shape;
  probe: Probe;
  principal: string;
  // This test bed's topic ids by name (the two brokers give the same topic different ids).
  topicId: (name: string) => Buffer;
}

const ENTITY_FIELDS = new Set(["topicName", "groupId", "transactionalId"]);

// Strings that are regular expressions over names (Kafka does not annotate them).
const PATTERN_FIELDS = new Set(["SubscribedTopicRegex", "SourceTopicRegex", "TransactionalIdPattern"]);

// Does a struct (or string list) name resources, so that its list takes the probe's shape?
function namesResources(ctx: FillContext, f: Field): boolean {
  if (f.entityType && ENTITY_FIELDS.has(f.entityType)) return true;
  const t = isArray(f.type) ? elementType(f.type) : f.type;
  if (isPrimitive(t)) return false;
  return structFields(ctx.api.request, f).some((c) => inRange(c.versions, ctx.version) &&
    ((c.entityType && ENTITY_FIELDS.has(c.entityType) && !isArray(c.type)) || (c.name === "TopicId" && c.type === "uuid") ||
      (c.name === "ResourceName" || c.name === "CoordinatorKeys")));
}

// One record batch (magic 2) with one record, as a producer writes it.
export function recordBatch(value: string): Buffer {
  const v = Buffer.from(value);
  const zig = (n: number) => (n << 1) ^ (n >> 31);
  const varint = (n: number) => {
    const out: number[] = [];
    let u = zig(n) >>> 0;
    while (u > 0x7f) {
      out.push((u & 0x7f) | 0x80);
      u >>>= 7;
    }
    out.push(u);
    return Buffer.from(out);
  };
  const body = Buffer.concat([Buffer.from([0]), varint(0), varint(0), varint(-1), varint(v.length), v, varint(0)]);
  const record = Buffer.concat([varint(body.length), body]);
  const afterCrc = Buffer.alloc(40);
  let o = 0;
  afterCrc.writeInt16BE(0, o); o += 2; // attributes
  afterCrc.writeInt32BE(0, o); o += 4; // last offset delta
  afterCrc.writeBigInt64BE(BigInt(Date.now()), o); o += 8;
  afterCrc.writeBigInt64BE(BigInt(Date.now()), o); o += 8;
  afterCrc.writeBigInt64BE(-1n, o); o += 8; // producer id
  afterCrc.writeInt16BE(-1, o); o += 2; // producer epoch
  afterCrc.writeInt32BE(-1, o); o += 4; // base sequence
  afterCrc.writeInt32BE(1, o); // record count
  const tail = Buffer.concat([afterCrc, record]);
  const head = Buffer.alloc(21);
  head.writeBigInt64BE(0n, 0); // base offset
  head.writeInt32BE(tail.length + 9, 8); // batch length: from the leader epoch on
  head.writeInt32BE(-1, 12); // partition leader epoch
  head.writeInt8(2, 16); // magic
  head.writeUInt32BE(crc32c(tail), 17);
  return Buffer.concat([head, tail]);
}

// Numbers by field name where the schema's default would not make a working request.
const NUMBERS: Record<string, number> = {
  TimeoutMs: 2000, MaxWaitMs: 0, MinBytes: 0, MaxBytes: 1 << 20, PartitionMaxBytes: 1 << 20,
  SessionTimeoutMs: 10000, RebalanceTimeoutMs: 1000, Acks: -1, CurrentLeaderEpoch: -1, LeaderEpoch: -1,
  Timestamp: -1, ProducerId: -1, ProducerEpoch: -1, TransactionTimeoutMs: 60000, NumPartitions: 1,
  ReplicationFactor: 1, Count: 2, CommittedOffset: 1, CommittedLeaderEpoch: -1, GenerationIdOrMemberEpoch: -1,
  GenerationId: -1, SessionEpoch: -1, LogStartOffset: -1, LastFetchedEpoch: -1, MaxNumOffsets: 1,
  Iterations: 4096, Mechanism: 1, MaxLifetimeMs: -1, RenewPeriodMs: 60000, ExpiryTimePeriodMs: -1,
  MaxVersionLevel: 1, DurationFilter: -1, MaxRecords: 10, BatchSize: 10, ShareSessionEpoch: 0,
  EndpointInformationEpoch: 0, Epoch: 0,
};

function aclNumber(ctx: FillContext, name: string): number | undefined {
  const filter = ctx.api.key === 29 || ctx.api.key === 31;
  const any = filter && ctx.shape === "all";
  if (/ResourceType/.test(name) && !/ResourceTypes/.test(name)) {
    if (any) return 1;
    if (ctx.api.key === 32 || ctx.api.key === 33 || ctx.api.key === 44 || ctx.api.key === 74) {
      return ctx.probe.resource === "group" ? 32 : ctx.probe.resource === "broker" ? 4 : 2;
    }
    return ctx.probe.resource === "group" ? 3 : 2;
  }
  if (/PatternType/.test(name)) return any ? 1 : 3;
  if (name === "Operation") return any ? 1 : 3;
  if (name === "PermissionType") return any ? 1 : 3;
  return undefined;
}

function stringValue(ctx: FillContext, f: Field, index: number, element = false): string | null {
  const p = ctx.probe;
  // The elements of a string list are never null (the nullability is the list's).
  const nullable = !element && inRange(f.nullableVersions, ctx.version);
  if (f.entityType === "topicName") return p.topics[index] ?? p.topics[0];
  if (f.entityType === "groupId") return p.groups[index] ?? p.groups[0];
  if (f.entityType === "transactionalId") {
    // A Produce that is not transactional: the transactional id of a Produce is checked on its
    // own by the transactional probes (InitProducerId, AddPartitionsToTxn, ...).
    if (ctx.api.key === 0) return null;
    return p.txns[index] ?? p.txns[0];
  }
  if (PATTERN_FIELDS.has(f.name)) return ctx.shape === "all" ? ".*" : nullable ? null : "";
  if (f.name === "ResourceName" || f.name === "ResourceNameFilter") {
    if (ctx.shape === "all" && nullable) return null;
    if (ctx.probe.resource === "broker") return "1";
    return p.resource === "group" ? (p.groups[index] ?? p.groups[0]) : (p.topics[index] ?? p.topics[0]);
  }
  if (f.name === "Key" || f.name === "CoordinatorKeys") return p.keyType === 1 ? (p.txns[index] ?? p.txns[0]) : (p.groups[index] ?? p.groups[0]);
  if (/^Principal/.test(f.name) || f.name === "OwnerPrincipalName") {
    if (ctx.shape === "all" && nullable) return null;
    return f.name === "OwnerPrincipalName" ? null : `User:${ctx.principal}`;
  }
  if (/^Host/.test(f.name)) return ctx.shape === "all" && nullable ? null : "*";
  if (f.name === "MemberId") return [68, 76, 88].includes(ctx.api.key) ? "oracleMemberIdAAAAAAAA" : "";
  if (f.name === "ProtocolType") return "consumer";
  if (f.name === "Name" && ctx.api.key === 11) return "range";
  if (f.name === "SubtopologyId") return "0";
  if (f.name === "Feature") return "oracle.feature";
  if (f.name === "Name" && ctx.api.key === 51) return ctx.principal;
  if (f.name === "EntityType") return "user";
  if (f.name === "EntityName") return ctx.principal;
  if (f.name === "Key") return "producer_byte_rate";
  if (f.name === "Value" || f.name === "ConfigValue") return "1000";
  if (f.name === "ClientSoftwareName") return "oracle";
  if (f.name === "ClientSoftwareVersion") return "1.0";
  if (f.name === "Match") return null;
  if (nullable && (f.default === "null" || f.default === undefined)) return null;
  if (element) return "retention.ms";
  return f.default !== undefined && f.default !== "null" ? String(f.default) : "";
}

function primitive(ctx: FillContext, f: Field, type: string, index: number, parent: Struct, element = false): Value {
  switch (type) {
    case "string": return stringValue(ctx, f, index, element);
    case "uuid": {
      const name = typeof parent.Name === "string" ? parent.Name : typeof parent.Topic === "string" ? parent.Topic : ctx.probe.topics[index] ?? ctx.probe.topics[0];
      return f.name === "TopicId" ? ctx.topicId(name) : Buffer.alloc(16);
    }
    // Ask for authorized operations wherever a request can: they are part of what an answer shows.
    case "bool": return /^Include.*AuthorizedOperations$/.test(f.name) ? true :
      f.default === true || f.default === "true";
    case "bytes": return f.name === "Salt" || f.name === "SaltedPassword" ? Buffer.alloc(32, 1) : inRange(f.nullableVersions, ctx.version) && f.default === "null" ? null : Buffer.alloc(0);
    case "records": return recordBatch(`oracle ${ctx.principal} ${ctx.api.name} v${ctx.version}`);
    case "int64": return BigInt(NUMBERS[f.name] ?? (f.default !== undefined ? Number(f.default) : 0));
    case "float64": return 1024;
    default: {
      const acl = aclNumber(ctx, f.name);
      if (acl !== undefined) return acl;
      if (f.name === "KeyType") return ctx.probe.keyType;
      if (f.name === "ReplicaId" || f.name === "BrokerId") return -1;
      if (f.name === "PartitionIndex" || f.name === "Partition" || f.name === "PartitionId") return 0;
      const n = NUMBERS[f.name];
      if (n !== undefined) return n;
      if (f.default !== undefined && f.default !== "null") {
        const d = String(f.default);
        return d.startsWith("0x") ? parseInt(d, 16) : Number(d);
      }
      return 0;
    }
  }
}

function fillStruct(ctx: FillContext, fields: Field[], index: number): Struct {
  const s: Struct = {};
  for (const f of fields) {
    if (!inRange(f.versions, ctx.version)) continue;
    s[f.name] = fillField(ctx, f, index, s);
  }
  return s;
}

// Fields that are null by default but must be set for the request to do anything.
const FILLED_NULLABLES = new Set(["Topology", "Subtopologies", "Topics", "TopicPartitions", "Groups", "CoordinatorKeys"]);

function fillField(ctx: FillContext, f: Field, index: number, parent: Struct): Value {
  const nullable = inRange(f.nullableVersions, ctx.version);
  if (!isArray(f.type)) {
    if (isPrimitive(f.type)) return primitive(ctx, f, f.type, index, parent);
    if (nullable && f.default === "null" && !FILLED_NULLABLES.has(f.name)) return null;
    return fillStruct(ctx, structFields(ctx.api.request, f), index);
  }
  const el = elementType(f.type);
  // A KIP-848 (and streams) member joins with empty assignments.
  if ([68, 76, 88].includes(ctx.api.key) && /^(TopicPartitions|ActiveTasks|StandbyTasks|WarmupTasks)$/.test(f.name)) return [];
  if (PATTERN_FIELDS.has(f.name)) return ctx.shape === "all" ? [".*"] : [];
  if (f.name === "ResourceTypes") return ctx.shape === "all" ? [] : [2, 32];
  if (namesResources(ctx, f)) {
    if (ctx.shape === "all") {
      // With a regex standing for all topics, a heartbeat names no topics.
      return nullable ? null : [];
    }
    const n = ctx.shape === "pair" ? 2 : 1;
    const items: Value[] = [];
    for (let i = 0; i < n; i++) items.push(isPrimitive(el) ? primitive(ctx, f, el, i, parent, true) : fillStruct(ctx, structFields(ctx.api.request, f), i));
    return items;
  }
  if (nullable && f.default === "null" && !FILLED_NULLABLES.has(f.name)) return null;
  // Lists that are filters ("all states", "all types") or optional extras stay empty.
  if (/Filter|States|Types|Renewers|Deletions|Tags|CopartitionGroups|ForgottenTopicsData|AcknowledgementBatches|Protocols$/.test(f.name) && f.name !== "Protocols") return [];
  if (isPrimitive(el)) return el === "int32" || el === "int16" || el === "int8" ? [0] : el === "int64" ? [0n] : [primitive(ctx, f, el, index, parent, true)];
  return [fillStruct(ctx, structFields(ctx.api.request, f), index)];
}

export function fillRequest(ctx: FillContext): Struct {
  return fillStruct(ctx, ctx.api.request.fields, 0);
}
