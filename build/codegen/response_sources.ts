// Where each response field's value comes from when the filter answers a request itself (a
// denied request gets the broker's own response shape with error codes, like Kafka's
// AbstractRequest.getErrorResponse): response arrays mirror the request arrays they answer,
// element for element, and key fields (names, ids, partition indexes) are copied from the
// request. Everything else takes the schema's default value.
//
// Kafka's schemas do not state which request field a response field answers, so it is matched
// by name, with the few naming differences Kafka uses listed below; generate.test.ts keeps the
// result honest by checking the mapped APIs.
import { FieldKind } from "../../assembly/kafka/layout.ts";
import { parseVersions, type Tables } from "./generate.ts";

// SOURCE value of a response field that takes the request array element it stands for
// (e.g. OffsetFetch's `PartitionIndexes: []int32` becomes `Partitions[].PartitionIndex`).
export const FROM_ELEMENT = -2;
const NONE = -1;

// Response field name -> request field names that carry the same value.
const SCALAR_ALIASES: Record<string, string[]> = {
  PartitionIndex: ["PartitionIndex", "Partition", "Index"],
  Index: ["Index", "Partition", "PartitionIndex"],
};

// The fields that identify what an entry answers; only these are copied (anything else, such as
// offsets or watermarks, would claim a state the broker never reported).
const KEYS = new Set([
  "Name", "Topic", "TopicId", "GroupId", "Key", "TransactionalId", "MemberId", "GroupInstanceId",
  "TopicName", "PartitionIndex", "Partition", "PartitionId", "Index", "ResourceType", "ResourceName",
]);

// Request scalar array -> the response element field holding one of its values, when it is not
// found by entity type or by the singular of the array's name.
const ELEMENT_ALIASES: Record<string, string[]> = {
  CoordinatorKeys: ["Key"],
  // ElectLeaders answers each partition with a PartitionId.
  Partitions: ["PartitionIndex", "PartitionId"],
};

// Response array -> the request array whose entries it answers one by one, where no key field
// tells (Kafka's CreateAcls and DeleteAcls error responses have one result per creation/filter).
const ARRAY_ALIASES: Record<string, string> = {
  Results: "Creations",
  FilterResults: "Filters",
};

function rows(t: Tables, struct: number): number[] {
  const s = t.structs[struct];
  return Array.from({ length: s.count }, (_, i) => s.first + i);
}

function singular(name: string): string {
  if (name.endsWith("Indexes")) return name.slice(0, -2);
  if (name.endsWith("ies")) return name.slice(0, -3) + "y";
  if (name.endsWith("s")) return name.slice(0, -1);
  return name;
}

// The names of the scalar fields of an array element struct, to tell which arrays correspond.
function keyNames(t: Tables, struct: number): Set<string> {
  const out = new Set<string>();
  for (const r of rows(t, struct)) {
    const m = t.meta[r];
    if (!m.isArray && m.kind !== FieldKind.Struct && KEYS.has(m.name)) {
      out.add(m.name);
      for (const [to, from] of Object.entries(SCALAR_ALIASES)) if (from.includes(m.name)) out.add(to);
    }
  }
  return out;
}

// The response element field that a value of request scalar array `req` fills, or -1.
function elementField(t: Tables, respElement: number, req: number): number {
  const rm = t.meta[req];
  for (const r of rows(t, respElement)) {
    const m = t.meta[r];
    // Filters such as ListTransactions' producer ids or resource types name no entry.
    if (m.isArray || m.kind !== rm.kind || !KEYS.has(m.name) || m.name === "ResourceType") continue;
    if (rm.spec.entityType !== undefined && m.spec.entityType === rm.spec.entityType) return r;
    if (m.name === singular(rm.name) || ELEMENT_ALIASES[rm.name]?.includes(m.name)) return r;
  }
  return NONE;
}

function disjoint(t: Tables, a: number, b: number): boolean {
  const x = parseVersions(t.meta[a].spec.versions, t.meta[a].name);
  const y = parseVersions(t.meta[b].spec.versions, t.meta[b].name);
  return x.max < y.min || y.max < x.min;
}

function matchArray(t: Tables, resp: number, reqRows: number[], source: number[], alt: number[]): number {
  const m = t.meta[resp];
  const arrays = reqRows.filter((q) => t.meta[q].isArray);
  const aliased = arrays.find((q) => t.meta[q].name === ARRAY_ALIASES[m.name]);
  if (aliased !== undefined) return aliased;
  const same = arrays.find((q) => t.meta[q].name === m.name);
  const candidates = same !== undefined ? [same, ...arrays.filter((q) => q !== same)] : arrays;
  // Request arrays that answer, each with the response element field its scalars fill.
  const found: [number, number][] = [];
  for (const q of candidates) {
    const qm = t.meta[q];
    if (qm.kind === FieldKind.Struct) {
      const mine = keyNames(t, m.struct);
      const theirs = keyNames(t, qm.struct);
      if ([...mine].some((n) => theirs.has(n))) found.push([q, NONE]);
    } else {
      const f = elementField(t, m.struct, q);
      if (f !== NONE) found.push([q, f]);
    }
  }
  if (found.length === 0) return NONE;
  const [q, f] = found[0];
  if (f !== NONE) source[f] = FROM_ELEMENT;
  // A request whose list changed across versions (DeleteTopics: TopicNames up to v5, Topics
  // from v6): the other list answers the versions the first is absent from.
  const other = found.find(([x]) => disjoint(t, x, q));
  if (other !== undefined) {
    alt.push(resp, other[0]);
    if (other[1] !== NONE) alt.push(other[1], FROM_ELEMENT);
  }
  return q;
}

function mapStruct(t: Tables, resp: number, req: number, source: number[], alt: number[]): void {
  const reqRows = rows(t, req);
  for (const r of rows(t, resp)) {
    const m = t.meta[r];
    if (m.kind === FieldKind.Struct && m.isArray) {
      const q = matchArray(t, r, reqRows, source, alt);
      if (q === NONE) continue;
      source[r] = q;
      if (t.meta[q].kind === FieldKind.Struct) mapStruct(t, m.struct, t.meta[q].struct, source, alt);
    } else if (m.kind === FieldKind.Struct) {
      const q = reqRows.find((x) => t.meta[x].name === m.name && t.meta[x].kind === FieldKind.Struct && !t.meta[x].isArray);
      if (q === undefined) continue;
      source[r] = q;
      mapStruct(t, m.struct, t.meta[q].struct, source, alt);
    } else if (!m.isArray && KEYS.has(m.name) && source[r] === NONE) {
      const names = SCALAR_ALIASES[m.name] ?? [m.name];
      const q = reqRows.find((x) => names.includes(t.meta[x].name) && !t.meta[x].isArray && t.meta[x].kind === m.kind);
      if (q !== undefined) source[r] = q;
    }
  }
}

// SOURCE per field row: the request row a response row copies, FROM_ELEMENT, or -1; and
// [response row, source] pairs for the versions where that source is absent.
export function responseSources(t: Tables, apis: { request: number; response: number }[]): { source: number[]; alt: number[] } {
  const source = new Array<number>(t.fields.length).fill(NONE);
  const alt: number[] = [];
  for (const api of apis) mapStruct(t, api.response, api.request, source, alt);
  return { source, alt };
}

// Non-zero numeric defaults from the schemas, as [row, value] pairs (strings are "" or null,
// which the nullable columns already tell).
export function numericDefaults(t: Tables): [number, bigint][] {
  const out: [number, bigint][] = [];
  t.meta.forEach((m, row) => {
    const d = m.spec.default;
    if (d === undefined || m.isArray || m.kind === FieldKind.String || m.kind === FieldKind.Bytes ||
      m.kind === FieldKind.Struct || m.kind === FieldKind.Records || m.kind === FieldKind.Uuid) return;
    let v: bigint;
    if (d === true || d === "true") v = 1n;
    else if (d === false || d === "false") v = 0n;
    else v = BigInt(String(d));
    if (v !== 0n) out.push([row, v]);
  });
  return out;
}
