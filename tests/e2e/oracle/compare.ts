// The oracle's judgement of one request answered on both paths: which resource names each
// answer shows, and whether the filter path (A) shows or does more than the broker with
// Kafka's own authorizer (B).
import { Api, Field, Struct, Value, isArray, elementType, isPrimitive, structFields, walkStructs } from "./codec.ts";

export const AUTH_ERRORS = new Set([29, 30, 31, 53]);

export type Status = { kind: "visible" } | { kind: "error"; code: number };

export interface Seen {
  // Per resource name: visible (on a path without errors) or the error it came with.
  names: Map<string, Status>;
  // Per resource name, the AuthorizedOperations bit sets shown for it (unset: -2^31).
  operations: Map<string, number>;
  rootError: number;
}

const ENTITY = new Set(["topicName", "groupId", "transactionalId"]);

function ownError(s: Struct, fields: Field[]): number {
  for (const f of fields) if (f.type === "int16" && f.name.endsWith("ErrorCode") && typeof s[f.name] === "number" && s[f.name] !== 0) return s[f.name] as number;
  return 0;
}

function hasErrorField(msg: Api["response"], fields: Field[]): boolean {
  return fields.some((f) => f.type === "int16" && f.name.endsWith("ErrorCode"));
}

// Does a struct succeed: no error of its own, and if it has children that carry error codes,
// at least one of them succeeds (a topic whose every partition failed is not shown).
function outcome(msg: Api["response"], s: Struct, fields: Field[]): number {
  const own = ownError(s, fields);
  if (own !== 0) return own;
  let childError = 0;
  let anyChild = false;
  for (const f of fields) {
    const t = isArray(f.type) ? elementType(f.type) : f.type;
    const val = s[f.name];
    if (isPrimitive(t) || val === null || val === undefined) continue;
    const sub = structFields(msg, f);
    if (!carriesErrors(msg, sub)) continue;
    for (const item of (isArray(f.type) ? val as Value[] : [val])) {
      anyChild = true;
      const e = outcome(msg, item as Struct, sub);
      if (e === 0) return 0;
      if (childError === 0) childError = e;
    }
  }
  return anyChild ? childError : 0;
}

const carriesCache = new WeakMap<Field[], boolean>();
function carriesErrors(msg: Api["response"], fields: Field[]): boolean {
  const c = carriesCache.get(fields);
  if (c !== undefined) return c;
  carriesCache.set(fields, false);
  const r = hasErrorField(msg, fields) || fields.some((f) => {
    const t = isArray(f.type) ? elementType(f.type) : f.type;
    return !isPrimitive(t) && carriesErrors(msg, structFields(msg, f));
  });
  carriesCache.set(fields, r);
  return r;
}

// What an answer shows. `known` are the resource names of the scenario and the broker (any
// string field holding one counts, annotated or not: ListConfigResources' names are not);
// `idName` turns a topic id into the name it has on this path's broker.
export function seen(api: Api, version: number, body: Struct, known: Set<string>, idName: (id: Buffer) => string | undefined): Seen {
  const msg = api.response;
  const names = new Map<string, Status>();
  const operations = new Map<string, number>();
  const rootError = ownError(body, msg.fields);
  // The first error of a struct's own or its ancestors' error fields: it covers all below it.
  const ownErrorAt = new Map<Struct, number>();
  walkStructs(msg, msg.fields, body, version, (s, fields, parents) => {
    const inherited = parents.length ? ownErrorAt.get(parents[parents.length - 1]) ?? 0 : 0;
    ownErrorAt.set(s, inherited !== 0 ? inherited : ownError(s, fields));
    const err = inherited !== 0 ? inherited : outcome(msg, s, fields);
    const found: string[] = [];
    for (const f of fields) {
      const val = s[f.name];
      if (val === undefined || val === null) continue;
      if (f.type === "string" || f.type === "[]string") {
        for (const v of (Array.isArray(val) ? val : [val]) as string[]) {
          if (typeof v === "string" && ((f.entityType && ENTITY.has(f.entityType)) || known.has(v))) found.push(v);
        }
      } else if (f.type === "uuid" && /TopicId$/.test(f.name)) {
        const id = val as Buffer;
        if (id.every((b) => b === 0)) continue;
        found.push(idName(id) ?? `topic-id:${id.toString("hex")}`);
      } else if (f.type === "[]uuid" && /TopicIds?$/.test(f.name)) {
        for (const id of val as Buffer[]) found.push(idName(id) ?? `topic-id:${id.toString("hex")}`);
      }
    }
    const ops = fields.find((f) => f.name.endsWith("AuthorizedOperations") && f.type === "int32");
    for (const n of found) {
      const prev = names.get(n);
      const status: Status = err === 0 ? { kind: "visible" } : { kind: "error", code: err };
      // Visible anywhere wins: that is what the client learned.
      if (!prev || (prev.kind === "error" && status.kind === "visible") || (prev.kind === "error" && status.kind === "error" && !AUTH_ERRORS.has(prev.code))) names.set(n, status);
      if (ops && err === 0 && typeof s[ops.name] === "number" && s[ops.name] !== -2147483648) {
        operations.set(n, (operations.get(n) ?? 0) | (s[ops.name] as number));
      }
    }
    if (parents.length === 0 && ops && typeof s[ops.name] === "number" && s[ops.name] !== -2147483648 && err === 0) {
      operations.set("<cluster>", s[ops.name] as number);
    }
  });
  return { names, operations, rootError };
}

export interface Verdict {
  // The filter path showed or did more than the broker path: the suite fails.
  leaks: string[];
  // The filter refused what the broker allowed (deliberately stricter or a false refusal).
  stricter: string[];
  // The filter forwarded what the broker refused, and the unauthorised broker answered with
  // another error (nothing shown, nothing done, but the filter did not refuse it).
  forwarded: string[];
  // The broker path failed for a reason other than authorization (coordinator loading, ...):
  // nothing to compare.
  inconclusive: boolean;
}

export function judge(a: Seen, b: Seen): Verdict {
  const v: Verdict = { leaks: [], stricter: [], forwarded: [], inconclusive: false };
  if (b.rootError !== 0 && !AUTH_ERRORS.has(b.rootError) && b.names.size === 0) {
    v.inconclusive = true;
    return v;
  }
  if (AUTH_ERRORS.has(b.rootError) && a.rootError === 0) v.leaks.push(`answered without error where the broker refused the request with ${b.rootError}`);
  if (AUTH_ERRORS.has(b.rootError) && a.rootError !== 0 && !AUTH_ERRORS.has(a.rootError)) v.forwarded.push(`request (broker: ${b.rootError}, filter path: ${a.rootError})`);
  if (a.rootError !== 0 && AUTH_ERRORS.has(a.rootError) && b.rootError === 0) v.stricter.push(`request refused with ${a.rootError}`);
  for (const [name, sa] of a.names) {
    const sb = b.names.get(name);
    if (sa.kind === "visible") {
      if (!sb) v.leaks.push(`${name}: shown, the broker did not show it`);
      else if (sb.kind === "error" && AUTH_ERRORS.has(sb.code)) v.leaks.push(`${name}: shown, the broker refused it with ${sb.code}`);
      // 55 OPERATION_NOT_ATTEMPTED: the broker did nothing because another entry was refused
      // (AddPartitionsToTxn is all or nothing); going on with the rest does more than it.
      else if (sb.kind === "error" && sb.code === 55 && [...b.names.values()].some((x) => x.kind === "error" && AUTH_ERRORS.has(x.code))) {
        v.leaks.push(`${name}: done, the broker did not attempt it (55) because another entry was refused`);
      }
    } else if (sb?.kind === "error" && AUTH_ERRORS.has(sb.code) && !AUTH_ERRORS.has(sa.code)) {
      v.forwarded.push(`${name} (broker: ${sb.code}, filter path: ${sa.code})`);
    } else if (sb?.kind === "visible" && AUTH_ERRORS.has(sa.code)) {
      v.stricter.push(`${name}: refused with ${sa.code}`);
    }
  }
  for (const [name, ops] of a.operations) {
    const opsB = b.operations.get(name);
    if (opsB !== undefined && (ops & ~opsB) !== 0) v.leaks.push(`${name}: authorized operations ${ops.toString(2)} where the broker says ${opsB.toString(2)}`);
  }
  return v;
}
