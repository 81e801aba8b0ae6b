// Generates assembly/kafka/generated/schema_tables.ts from Kafka's own JSON message schemas
// (common/message/*.json in the kafka-clients sources jar that scripts/setup.sh unpacks).
//
// The output is data, not per-API code: every request, response and header struct becomes a
// run of fixed-width field rows (see assembly/kafka/layout.ts and field_table.ts), which the hand-written
// walker interprets for any API key and version. Entity annotations (topicName, groupId, ...)
// travel in the rows, so every stage that cares about them covers every API without per-API code.
//
//   tsx build/codegen/generate.ts [schemaDir] [outFile]
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ARRAY, BYTE_NEVER, ENTITY_SHIFT, Entity, FIELD_WIDTH, FLEX_NEVER, FieldKind, KIND_MASK, NEVER, ROLE_MASK, ROLE_SHIFT, Role,
} from "../../assembly/kafka/layout.ts";
import { numericDefaults, responseSources } from "./response_sources.ts";
import { ROOT } from "../root.ts";

export const DEFAULT_SCHEMAS = join(ROOT, ".tools/kafka/schemas");
export const DEFAULT_OUT = join(ROOT, "assembly/kafka/generated/schema_tables.ts");

export interface FieldSpec {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  flexibleVersions?: string;
  entityType?: string;
  default?: string | number | boolean;
  fields?: FieldSpec[];
}

export interface MessageSpec {
  name: string;
  type: "request" | "response" | "header" | string;
  apiKey?: number;
  validVersions: string;
  flexibleVersions: string;
  fields: FieldSpec[];
  commonStructs?: { name: string; versions: string; fields: FieldSpec[] }[];
}

interface Range {
  min: number;
  max: number;
}

// Kafka's version syntax: "3", "3+", "3-7", "none".
export function parseVersions(text: string, where: string): Range {
  const t = text.trim();
  if (t === "none") return { min: NEVER, max: -1 };
  let m = /^(\d+)\+$/.exec(t);
  if (m) return { min: Number(m[1]), max: NEVER };
  m = /^(\d+)-(\d+)$/.exec(t);
  if (m) return { min: Number(m[1]), max: Number(m[2]) };
  m = /^(\d+)$/.exec(t);
  if (m) return { min: Number(m[1]), max: Number(m[1]) };
  throw new Error(`${where}: bad version range "${text}"`);
}

// The rows only carry a first version for these ranges, so a range must run to the last
// version the field exists in (`until`); anything else would be silently wrong.
function openEnded(text: string | undefined, where: string, until: number = NEVER): number {
  if (text === undefined) return NEVER;
  const r = parseVersions(text, where);
  if (r.min !== NEVER && r.max < until) throw new Error(`${where}: range "${text}" stops before version ${until}`);
  return r.min;
}

const PRIMITIVES: Record<string, FieldKind> = {
  int8: FieldKind.Int8,
  int16: FieldKind.Int16,
  uint16: FieldKind.Uint16,
  int32: FieldKind.Int32,
  int64: FieldKind.Int64,
  float64: FieldKind.Float64,
  bool: FieldKind.Bool,
  uuid: FieldKind.Uuid,
  string: FieldKind.String,
  bytes: FieldKind.Bytes,
  records: FieldKind.Records,
};

const ENTITIES: Record<string, Entity> = {
  topicName: Entity.TopicName,
  groupId: Entity.GroupId,
  transactionalId: Entity.TransactionalId,
  brokerId: Entity.BrokerId,
  producerId: Entity.ProducerId,
};

// The config APIs, whose resource names are topics, groups or brokers by their ResourceType.
const CONFIG_MESSAGES = /^(DescribeConfigs|AlterConfigs|IncrementalAlterConfigs|ListConfigResources)(Request|Response)$/;

// Group ids Kafka leaves unannotated: the share coordinator's state APIs name the share group.
const GROUP_IDS = /^(Initialize|Read|Write|Delete)ShareGroupState(Summary)?Request\.GroupId$/;

// ACL resource names and filters: which resource they name depends on the binding's resource
// and pattern types, so they get a role rather than an entity.
const ACL_RESOURCE_NAMES = new Set([
  "CreateAclsRequest.ResourceName",
  "DescribeAclsRequest.ResourceNameFilter",
  "DescribeAclsResponse.ResourceName",
  "DeleteAclsRequest.ResourceNameFilter",
  "DeleteAclsResponse.ResourceName",
]);

// Strings that are regular expressions over topic names or transactional ids (Kafka leaves
// them unannotated).
const NAME_PATTERNS = new Set([
  "ConsumerGroupHeartbeatRequest.SubscribedTopicRegex",
  "ConsumerGroupDescribeResponse.SubscribedTopicRegex",
  "StreamsGroupHeartbeatRequest.SourceTopicRegex",
  "ListTransactionsRequest.TransactionalIdPattern",
]);

// Values the guardrails stage (filters/guardrails.ts) checks: struct path and field, and the
// name of the row constant generated for it (GUARD_<name>_ROW).
export const GUARDED: Record<string, string> = {
  "CreateTopicsRequest.CreatableTopic.NumPartitions": "CREATE_TOPICS_PARTITIONS",
  "CreateTopicsRequest.CreatableTopic.ReplicationFactor": "CREATE_TOPICS_REPLICATION",
  "CreateTopicsRequest.CreatableTopicConfig.Name": "CREATE_TOPICS_CONFIG_NAME",
  "CreateTopicsRequest.CreatableTopicConfig.Value": "CREATE_TOPICS_CONFIG_VALUE",
  "CreatePartitionsRequest.CreatePartitionsTopic.Count": "CREATE_PARTITIONS_COUNT",
  "AlterConfigsRequest.AlterableConfig.Name": "ALTER_CONFIGS_NAME",
  "AlterConfigsRequest.AlterableConfig.Value": "ALTER_CONFIGS_VALUE",
  "IncrementalAlterConfigsRequest.AlterableConfig.Name": "INCREMENTAL_ALTER_CONFIGS_NAME",
  "IncrementalAlterConfigsRequest.AlterableConfig.ConfigOperation": "INCREMENTAL_ALTER_CONFIGS_OPERATION",
  "IncrementalAlterConfigsRequest.AlterableConfig.Value": "INCREMENTAL_ALTER_CONFIGS_VALUE",
  "JoinGroupRequest.SessionTimeoutMs": "JOIN_GROUP_SESSION_TIMEOUT",
};

// What a field means to the filter beyond its type (exported for the field audit test).
// `where` is the field's struct path (Tables.row), for roles given to fields of nested structs.
export function roleOf(message: string, f: FieldSpec, where: string = `${message}.${f.name}`): Role {
  if (GUARDED[where] !== undefined) return Role.Guarded;
  // "ErrorCode", and the per-partition "PartitionErrorCode" of AddPartitionsToTxn and the like.
  if (f.name.endsWith("ErrorCode") && f.type === "int16") return Role.ErrorCode;
  if (f.name === "TopicId" && f.type === "uuid") return Role.TopicId;
  if (message === "ProduceRequest" && f.name === "Acks") return Role.Acks;
  if (message === "ApiVersionsRequest" && f.name === "ClientSoftwareName") return Role.ClientSoftwareName;
  if (message === "ApiVersionsRequest" && f.name === "ClientSoftwareVersion") return Role.ClientSoftwareVersion;
  if (message === "RequestHeader" && f.name === "ClientId") return Role.ClientId;
  if (message === "SaslHandshakeRequest" && f.name === "Mechanism") return Role.SaslMechanism;
  if (message === "SaslAuthenticateRequest" && f.name === "AuthBytes") return Role.SaslAuthBytes;
  if (message === "FindCoordinatorRequest" && f.name === "KeyType") return Role.KeyType;
  if (CONFIG_MESSAGES.test(message) && f.name === "ResourceType") return Role.ResourceType;
  if (NAME_PATTERNS.has(`${message}.${f.name}`) && (f.type === "string" || f.type === "[]string")) return Role.NamePattern;
  if (ACL_RESOURCE_NAMES.has(`${message}.${f.name}`) && f.type === "string") return Role.AclResourceName;
  if (message.endsWith("Response") && f.name.endsWith("AuthorizedOperations") && f.type === "int32") return Role.AuthorizedOperations;
  return Role.None;
}

// The entity a field names: Kafka's `entityType`, or what Kafka leaves unannotated (exported
// for the field audit test, which fails on any string field that is neither classified here nor
// reviewed as not a name).
export function entityOf(message: string, f: FieldSpec, where: string = `${message}.${f.name}`): Entity {
  // Kafka leaves FindCoordinator's keys unannotated, since their meaning depends on KeyType.
  if (/^FindCoordinator(Request|Response)$/.test(message) && (f.name === "Key" || f.name === "CoordinatorKeys")) {
    return Entity.CoordinatorKey;
  }
  if (CONFIG_MESSAGES.test(message) && f.name === "ResourceName") return Entity.ConfigResourceName;
  if (GROUP_IDS.test(`${message}.${f.name}`) && f.type === "string") return Entity.GroupId;
  if (f.entityType === undefined) return Entity.None;
  const entity = ENTITIES[f.entityType];
  if (entity === undefined) throw new Error(`${where}: unknown entityType "${f.entityType}"`);
  return entity;
}

// A broker's address in a response a client reads: a Host string right after an int32 node id
// (entityType brokerId) and right before an int32 Port, all three in the same versions and none
// tagged (the struct holding them may sit in a tagged field: KIP-951's NodeEndpoints). The
// gateway stage reads the node id in the four bytes before the host's length prefix and
// replaces host and port as one range, so these adjacencies are what it relies on. Raft's
// endpoints (uint16 ports, controller-to-controller), DescribeQuorum's listeners (no node id
// before them) and Streams' application endpoints do not match.
export function isBrokerHost(message: MessageSpec, fields: FieldSpec[], i: number): boolean {
  const f = fields[i];
  if (message.type !== "response" || f.name !== "Host" || f.type !== "string" || i === 0 || i + 1 >= fields.length) return false;
  const id = fields[i - 1];
  const port = fields[i + 1];
  if (id.type !== "int32" || id.entityType !== "brokerId" || port.name !== "Port" || port.type !== "int32") return false;
  for (const g of [id, f, port]) {
    if (g.versions !== f.versions || g.tag !== undefined || g.nullableVersions !== undefined) {
      throw new Error(`${message.name}.${g.name}: a broker address whose fields differ in versions, tags or nullability`);
    }
  }
  return true;
}

// Kafka's schema files start with a license in // comments, which JSON does not allow.
export function readSchema(path: string): MessageSpec {
  const text = readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("//"))
    .join("\n");
  try {
    return JSON.parse(text) as MessageSpec;
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

// What the generator remembers of each row beyond the row itself (for response_sources.ts).
export interface RowMeta {
  name: string;
  spec: FieldSpec;
  isArray: boolean;
  kind: FieldKind;
  // The struct a struct field or array of structs refers to, else -1.
  struct: number;
}

export class Tables {
  fields: number[][] = [];
  meta: RowMeta[] = [];
  // [first field row, field count, name]
  structs: { first: number; count: number; name: string }[] = [];

  // Lays out one struct's rows contiguously, then the structs its fields refer to.
  addStruct(message: MessageSpec, name: string, fields: FieldSpec[]): number {
    const index = this.structs.length;
    const first = this.fields.length;
    this.structs.push({ first, count: fields.length, name });
    for (let i = 0; i < fields.length; i++) this.fields.push([]);
    fields.forEach((f, i) => {
      this.fields[first + i] = this.row(message, `${name}.${f.name}`, f);
      const isArray = f.type.startsWith("[]");
      const kind = this.fields[first + i][0] & KIND_MASK;
      this.meta[first + i] = { name: f.name, spec: f, isArray, kind, struct: this.fields[first + i][7] };
    });
    fields.forEach((f, i) => {
      if (!isBrokerHost(message, fields, i)) return;
      for (const [row, role] of [[first + i, Role.BrokerHost], [first + i + 1, Role.BrokerPort]]) {
        if (((this.fields[row][0] >> ROLE_SHIFT) & ROLE_MASK) !== Role.None) throw new Error(`${name}: broker address field with another role`);
        this.fields[row][0] |= role << ROLE_SHIFT;
      }
    });
    return index;
  }

  private row(message: MessageSpec, where: string, f: FieldSpec): number[] {
    const isArray = f.type.startsWith("[]");
    const base = isArray ? f.type.slice(2) : f.type;
    let kind = PRIMITIVES[base];
    let struct = -1;
    if (kind === undefined) {
      kind = FieldKind.Struct;
      const inline = f.fields;
      const common = message.commonStructs?.find((s) => s.name === base);
      if (inline !== undefined && common === undefined) {
        struct = this.addStruct(message, `${message.name}.${base}`, inline);
      } else if (common !== undefined && inline === undefined) {
        struct = this.addStruct(message, `${message.name}.${base}`, common.fields);
      } else {
        throw new Error(`${where}: struct type "${base}" has ${inline ? "inline fields and " : "no inline fields and "}` +
          `${common ? "a common struct" : "no common struct"}`);
      }
    } else if (f.fields !== undefined) {
      throw new Error(`${where}: primitive type ${f.type} with nested fields`);
    }
    const entity = entityOf(message.name, f, where);
    let flexNever = 0;
    if (f.flexibleVersions !== undefined) {
      if (f.flexibleVersions !== "none") throw new Error(`${where}: only "none" is supported as a field's flexibleVersions`);
      flexNever = FLEX_NEVER;
    }
    const v = parseVersions(f.versions, where);
    const nullable = f.nullableVersions === undefined ? { min: NEVER, max: -1 } : parseVersions(f.nullableVersions, where);
    const tagged = f.tag !== undefined;
    if (tagged !== (f.taggedVersions !== undefined)) throw new Error(`${where}: tag and taggedVersions go together`);
    const packed = kind | (isArray ? ARRAY : 0) | flexNever | (entity << ENTITY_SHIFT) | (roleOf(message.name, f, where) << ROLE_SHIFT);
    const row = [
      packed,
      v.min,
      v.max,
      nullable.min,
      nullable.max,
      tagged ? f.tag! : -1,
      tagged ? openEnded(f.taggedVersions, where, v.max) : NEVER,
      struct,
    ];
    if (row.length !== FIELD_WIDTH) throw new Error("row width out of step with layout.ts");
    return row;
  }
}

interface Api {
  key: number;
  name: string;
  valid: Range;
  flexibleMin: number;
  request: number;
  response: number;
}

export function generate(schemaDir: string, sourceNote: string): string {
  const files = readdirSync(schemaDir).filter((f) => f.endsWith(".json")).sort();
  const tables = new Tables();
  const apis = new Map<number, Api>();
  let requestHeader = -1;
  let responseHeader = -1;
  for (const file of files) {
    const spec = readSchema(join(schemaDir, file));
    if (spec.type !== "request" && spec.type !== "response" && spec.type !== "header") continue;
    const valid = parseVersions(spec.validVersions, file);
    const flexibleMin = openEnded(spec.flexibleVersions, file);
    const struct = tables.addStruct(spec, spec.name, spec.fields ?? []);
    if (spec.type === "header") {
      if (spec.name === "RequestHeader") requestHeader = struct;
      else if (spec.name === "ResponseHeader") responseHeader = struct;
      continue;
    }
    const key = spec.apiKey!;
    const name = spec.name.replace(/(Request|Response)$/, "");
    const api = apis.get(key) ?? { key, name, valid, flexibleMin, request: -1, response: -1 };
    if (api.valid.min !== valid.min || api.valid.max !== valid.max || api.flexibleMin !== flexibleMin) {
      throw new Error(`${file}: versions differ between request and response of API ${key}`);
    }
    if (spec.type === "request") api.request = struct;
    else api.response = struct;
    apis.set(key, api);
  }
  if (requestHeader < 0 || responseHeader < 0) throw new Error(`${schemaDir}: header schemas missing`);
  const maxKey = Math.max(...apis.keys());
  const apiRows: number[] = [];
  const names: string[] = [];
  for (let key = 0; key <= maxKey; key++) {
    const api = apis.get(key);
    if (api && (api.request < 0 || api.response < 0)) throw new Error(`API ${key} lacks a request or response`);
    // [request struct, response struct, first valid, last valid, first flexible]
    apiRows.push(...(api ? [api.request, api.response, api.valid.min, api.valid.max, api.flexibleMin] : [-1, -1, NEVER, -1, NEVER]));
    names.push(api ? api.name : "");
  }
  const wrap = (values: (number | string)[], perLine: number): string => {
    const lines: string[] = [];
    for (let i = 0; i < values.length; i += perLine) lines.push("  " + values.slice(i, i + perLine).join(", ") + ",");
    return lines.join("\n");
  };
  const out: string[] = [];
  out.push(`// GENERATED by build/codegen/generate.ts from ${sourceNote}. Do not edit; run \`npm run codegen\`.`);
  out.push(`// ${apis.size} APIs, ${tables.structs.length} structs, ${tables.fields.length} fields. Row layout: assembly/kafka/layout.ts.`);
  out.push("");
  out.push(`export const MAX_API_KEY: i16 = ${maxKey};`);
  out.push(`export const REQUEST_HEADER_STRUCT: i32 = ${requestHeader};`);
  out.push(`export const RESPONSE_HEADER_STRUCT: i32 = ${responseHeader};`);
  // The filter narrows the version ranges a broker advertises (filters/versions.ts).
  const apiVersionEntry = tables.structs.findIndex((s) => s.name === "ApiVersionsResponse.ApiVersion");
  if (apiVersionEntry < 0) throw new Error(`${schemaDir}: ApiVersionsResponse.ApiVersion missing`);
  out.push(`export const API_VERSIONS_ENTRY_STRUCT: i32 = ${apiVersionEntry};`);
  // Fetch's forgotten topics are only dropped from the session: Kafka authorizes none (authz.ts).
  const fetch = tables.structs.find((s) => s.name === "FetchRequest");
  const forgotten = fetch ? Array.from({ length: fetch.count }, (_, i) => fetch.first + i).find((r) => tables.meta[r].name === "ForgottenTopicsData") : undefined;
  if (forgotten === undefined) throw new Error(`${schemaDir}: FetchRequest.ForgottenTopicsData missing`);
  out.push(`export const FETCH_FORGOTTEN_ROW: i32 = ${forgotten};`);
  // The rows the guardrails stage tells apart (GUARDED).
  const guardRows = new Map<string, number>();
  tables.structs.forEach((st) => {
    for (let r = st.first; r < st.first + st.count; r++) {
      const name = GUARDED[`${st.name}.${tables.meta[r].name}`];
      if (name !== undefined) guardRows.set(name, r);
    }
  });
  for (const name of Object.values(GUARDED)) {
    const r = guardRows.get(name);
    if (r === undefined) throw new Error(`${schemaDir}: guarded field ${name} missing`);
    out.push(`export const GUARD_${name}_ROW: i32 = ${r};`);
  }
  out.push("");
  // Response rows carrying an error message, which answers the filter builds fill in
  // (error_response.ts), in row order.
  const messageRows: number[] = [];
  tables.structs.forEach((st) => {
    if (!st.name.split(".")[0].endsWith("Response")) return;
    for (let r = st.first; r < st.first + st.count; r++) {
      const m = tables.meta[r];
      if (m.name === "ErrorMessage" && m.kind === FieldKind.String && !m.isArray) messageRows.push(r);
    }
  });
  out.push("// Response fields named ErrorMessage (strings), in row order.");
  out.push("// prettier-ignore");
  out.push("export const ERROR_MESSAGE_ROWS: StaticArray<i16> = [");
  out.push(wrap(messageRows, 16));
  out.push("];");
  out.push("");
  // Structs lay their rows out one after another (addStruct), so a struct's rows run from its
  // first row to the next struct's: one column, and one more entry for the end of the last.
  tables.structs.forEach((st, i) => {
    const next = i + 1 < tables.structs.length ? tables.structs[i + 1].first : tables.fields.length;
    if (st.first + st.count !== next) throw new Error(`${st.name}: rows not contiguous with the next struct's`);
  });
  out.push("// Per struct: its first field row (its rows end where the next struct's begin).");
  out.push("// prettier-ignore");
  out.push("export const STRUCTS: StaticArray<i16> = [");
  for (const st of tables.structs) out.push(`  ${st.first}, // ${st.name}`);
  out.push(`  ${tables.fields.length},`);
  out.push("];");
  out.push("");
  // A field's FIELD_WIDTH columns (FieldCol), read through field_table.ts: the struct index as
  // i16 (FIELD_STRUCT); the packed kind and the six version and tag columns are few distinct
  // combinations (about 240 for 1700 fields), so each field has the index of its combination
  // (FIELD_SHAPE, one byte) in FIELD_SHAPES (seven i16 each): about 9 KB smaller than an i16 and
  // six i8 columns per field, and read with no more instructions (no NEVER mapping).
  const narrow = (v: number): number => {
    if (v === NEVER) return BYTE_NEVER;
    if (v < -1 || v >= BYTE_NEVER) throw new Error(`field table value ${v} does not fit the i8 columns`);
    return v;
  };
  out.push("// Per field: FieldCol.Struct.");
  out.push("// prettier-ignore");
  out.push("export const FIELD_STRUCT: StaticArray<i16> = [");
  out.push(wrap(tables.fields.map((r) => r[FIELD_WIDTH - 1]), 16));
  out.push("];");
  out.push("");
  const shapes: string[] = [];
  const shapeOf = new Map<string, number>();
  const fieldShapes = tables.fields.map((r) => {
    const key = r.slice(0, FIELD_WIDTH - 1).join(", ");
    let at = shapeOf.get(key);
    if (at === undefined) {
      at = shapes.length;
      shapeOf.set(key, at);
      shapes.push(key);
    }
    return at;
  });
  if (shapes.length > 256) throw new Error(`${shapes.length} field shapes do not fit the u8 FIELD_SHAPE`);
  out.push("// Per field: its row of FIELD_SHAPES.");
  out.push("// prettier-ignore");
  out.push("export const FIELD_SHAPE: StaticArray<u8> = [");
  out.push(wrap(fieldShapes.map(String), 24));
  out.push("];");
  out.push("");
  out.push(`// Per shape: FieldCol.Packed to FieldCol.TaggedMin (${NEVER} for NEVER).`);
  out.push("// prettier-ignore");
  out.push("export const FIELD_SHAPES: StaticArray<i16> = [");
  out.push(wrap(shapes, 3));
  out.push("];");
  out.push("");
  // Two tables, like the fields': the struct indexes as i16, the versions as i8 (NEVER as
  // BYTE_NEVER; apis.ts reads them back).
  out.push("// Per API key: request struct, response struct (-1 for a key no schema defines).");
  out.push("// prettier-ignore");
  out.push("export const APIS: StaticArray<i16> = [");
  apiRows.forEach((_, i) => {
    if (i % 5 === 0) out.push(`  ${apiRows.slice(i, i + 2).join(", ")}, // ${i / 5} ${names[i / 5]}`);
  });
  out.push("];");
  out.push("");
  // The first version of each API whose responses can carry a broker address (Role.BrokerHost
  // anywhere in them), so that the gateway stage walks with the layout hooks only where needed.
  const reach = new Map<number, number>();
  const firstBrokerHost = (struct: number): number => {
    const known = reach.get(struct);
    if (known !== undefined) return known;
    reach.set(struct, NEVER);
    const st = tables.structs[struct];
    let first = NEVER;
    for (let r = st.first; r < st.first + st.count; r++) {
      const row = tables.fields[r];
      if (((row[0] >> ROLE_SHIFT) & ROLE_MASK) === Role.BrokerHost) first = Math.min(first, row[1]);
      else if (row[7] >= 0) first = Math.min(first, Math.max(row[1], firstBrokerHost(row[7])));
    }
    reach.set(struct, first);
    return first;
  };
  out.push(`// Per API key: the first version whose responses can name a broker's address (${BYTE_NEVER} for none).`);
  out.push("// prettier-ignore");
  out.push("export const BROKER_ADDRESSES_FROM: StaticArray<i8> = [");
  const addressesFrom = apiRows.flatMap((_, i) => (i % 5 === 0 ? [apiRows[i + 1] < 0 ? NEVER : firstBrokerHost(apiRows[i + 1])] : []));
  out.push(wrap(addressesFrom.map(narrow), 16));
  out.push("];");
  out.push("");
  out.push(`// Per API key: first and last valid version, first flexible version (${BYTE_NEVER} for NEVER).`);
  out.push("// prettier-ignore");
  out.push("export const API_VERSIONS: StaticArray<i8> = [");
  apiRows.forEach((_, i) => {
    if (i % 5 === 0) out.push(`  ${apiRows.slice(i + 2, i + 5).map(narrow).join(", ")}, // ${i / 5} ${names[i / 5]}`);
  });
  out.push("];");
  out.push("");
  const { source: sources, alt } = responseSources(tables, [...apis.values()]);
  // Sparse (about one row in ten has a source): pairs in row order, found by binary search.
  const sourcePairs: string[] = [];
  sources.forEach((src, row) => {
    if (src !== -1) sourcePairs.push(`${row}, ${src}`);
  });
  out.push("// Field rows with a source: row, then the request row a response field copies when the filter");
  out.push("// answers itself, or -2 for the request array element it stands for (response_sources.ts);");
  out.push("// other rows take their default.");
  out.push("// prettier-ignore");
  out.push("export const SOURCES: StaticArray<i16> = [");
  out.push(wrap(sourcePairs, 12));
  out.push("];");
  out.push("");
  // Response row, the source it takes where SOURCES' request field is absent from the version
  // (pairs in row order, read like SOURCES).
  const altPairs: [number, number][] = [];
  for (let i = 0; i < alt.length; i += 2) altPairs.push([alt[i], alt[i + 1]]);
  altPairs.sort((x, y) => x[0] - y[0]);
  altPairs.forEach(([r], i) => {
    if (i > 0 && altPairs[i - 1][0] === r) throw new Error(`row ${r}: two alternative sources`);
  });
  out.push("// Response rows whose SOURCES request field is absent from some versions: row, the source then.");
  out.push("// prettier-ignore");
  out.push("export const ALT_SOURCES: StaticArray<i16> = [");
  out.push(wrap(altPairs.map(([r, v]) => `${r}, ${v}`), 12));
  out.push("];");
  out.push("");
  // Every non-zero default fits an i32 but Long.MAX_VALUE (int64 fields only), written as
  // INT32_MAX and read back by its field's kind (field_table.ts: fieldDefault).
  const INT32_MAX = 0x7fffffffn;
  const defaults = numericDefaults(tables).map(([r, v]) => {
    const kind = tables.fields[r][0] & KIND_MASK;
    if (kind === FieldKind.Float64) throw new Error(`row ${r}: a non-zero float64 default`);
    if (v === 0x7fffffffffffffffn && kind === FieldKind.Int64) return `${r}, ${INT32_MAX}`;
    if (v > INT32_MAX || v < -0x80000000n || (v === INT32_MAX && kind === FieldKind.Int64)) {
      throw new Error(`row ${r}: default ${v} does not fit the i32 table`);
    }
    return `${r}, ${v}`;
  });
  out.push("// Non-zero numeric defaults: field row, value (Long.MAX_VALUE as INT32_MAX, see field_table.ts).");
  out.push("// prettier-ignore");
  out.push("export const DEFAULTS: StaticArray<i32> = [");
  out.push(wrap(defaults, 8));
  out.push("];");
  out.push("");
  // One ASCII blob rather than a string per API: AssemblyScript strings are UTF-16 with a
  // header each, which costs the module about 3 KB more.
  const ends: number[] = [];
  let at = 0;
  for (const n of names) ends.push((at += n.length));
  const bytes = [...Buffer.from(names.join(""), "ascii")];
  out.push("// Per API key: where its name ends in API_NAME_BYTES (it starts where the previous one ends).");
  out.push("// prettier-ignore");
  out.push("export const API_NAME_ENDS: StaticArray<i16> = [");
  out.push(wrap(ends, 16));
  out.push("];");
  out.push("");
  out.push("// The API names, ASCII, one after another.");
  out.push("// prettier-ignore");
  out.push("export const API_NAME_BYTES: usize = memory.data<u8>([");
  out.push(wrap(bytes, 24));
  out.push("]);");
  out.push("");
  return out.join("\n");
}

function main(): void {
  const schemaDir = process.argv[2] ?? DEFAULT_SCHEMAS;
  const outFile = process.argv[3] ?? DEFAULT_OUT;
  const version = readFileSync(join(schemaDir, "..", "version"), "utf8").trim();
  const text = generate(schemaDir, `Apache Kafka ${version} message schemas`);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, text);
  console.log(`wrote ${outFile}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
