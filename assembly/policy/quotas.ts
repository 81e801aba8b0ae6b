// The `quotas` key of the configuration: byte rates (produce, fetch) and request rates per
// principal, optionally per client id, measured as Kafka's brokers measure theirs (a rate over a
// window of samples) and enforced with Kafka's own throttling (filters/quotas.ts).
//
// `"quotas": {"rules": [{"name": "alice-produce", "principal": "User:alice", "client_id": "app",
// "produce_bytes_per_second": 1048576, "fetch_bytes_per_second": 2097152,
// "requests_per_second": 100, "dry_run": false}]}`, with Kafka's default window (11 samples
// of 1 s: quota.window.num, quota.window.size.seconds).
//
// `principal` "*" is every principal's own quota (Kafka's default user quota), `client_id` "*"
// every client id's own (Kafka's default client quota); without `client_id` all of a
// principal's clients share one. The most specific rule wins, in Kafka's order: principal and
// client id, principal and any client id (each its own), principal, then the same with "*".
import { JsonKind, JsonValue } from "./json";

export const QUOTA_PRODUCE = 0;
export const QUOTA_FETCH = 1;
export const QUOTA_REQUESTS = 2;
export const MAX_SAMPLES = 11;

export class QuotaRule {
  name: string = "";
  principal: string = "";
  anyPrincipal: bool = false;
  // Null: all the principal's client ids together; "*" (eachClient): each its own.
  clientId: ArrayBuffer | null = null;
  eachClient: bool = false;
  // Per second; 0 for none. Indexed by QUOTA_PRODUCE, QUOTA_FETCH, QUOTA_REQUESTS.
  bounds: StaticArray<f64> = new StaticArray<f64>(3);
  dryRun: bool = false;

}

export class Quotas {
  rules: QuotaRule[] = [];
  // Buckets (rule, principal, client id) of "*" rules all of Envoy's workers may track
  // together; past it, new ones share their rule's overflow bucket (never no quota).
  maxEntities: i32 = 1000;
  samples: i32 = 11;
  sampleMs: i32 = 1000;
  // Some rule names a client id ("*" included): the client id takes part in matching.
  byClient: bool = false;

  // The rule for a principal and client id (`len` -1: none), -1 for none.
  match(principal: string, clientPtr: usize, clientLen: i32): i32 {
    let best = -1;
    let bestScore = -1;
    for (let i = 0; i < this.rules.length; i++) {
      const r = unchecked(this.rules[i]);
      if (!r.anyPrincipal && r.principal != principal) continue;
      const id = r.clientId;
      if (id !== null && (id.byteLength != clientLen ||
        memory.compare(changetype<usize>(id), clientPtr, <usize>clientLen) != 0)) continue;
      const s = (r.anyPrincipal ? 0 : 4) + (id !== null ? 2 : r.eachClient ? 1 : 0);
      if (s > bestScore) {
        best = i;
        bestScore = s;
      }
    }
    return best;
  }
}

export class QuotaParse {
  quotas: Quotas | null = null;
  error: string = "";
}

function fail(p: QuotaParse, key: string, rest: string): void {
  if (p.error.length == 0) p.error = "config key 'quotas" + key + rest;
}

// The rule's RULE_KEYS[3 + kind], a rate per second.
function rate(rule: JsonValue, at: string, kind: i32, p: QuotaParse): f64 {
  const key = RULE_KEYS[3 + kind];
  const v = rule.get(key);
  if (v === null) return 0;
  if (v.kind != JsonKind.Number || v.num < 1 || v.num > 1e15) fail(p, at + "." + key, "' must be a number from 1 to 1e15");
  return v.num;
}

const RULE_KEYS = ["name", "principal", "client_id", "produce_bytes_per_second", "fetch_bytes_per_second",
  "requests_per_second", "dry_run"];

export function parseQuotas(v: JsonValue): QuotaParse {
  const p = new QuotaParse();
  const q = new Quotas();
  if (v.kind != JsonKind.Object) fail(p, "", "' must be an object");
  for (let i = 0; i < v.keys.length && p.error.length == 0; i++) {
    const key = v.keys[i];
    const item = v.items[i];
    if (key == "rules" && item.kind == JsonKind.Array) {
      for (let j = 0; j < item.items.length && p.error.length == 0; j++) parseRule(item.items[j], j, q, p);
    } else fail(p, "." + key, "' is unknown");
  }
  if (q.rules.length == 0) fail(p, ".rules", "' must be a non-empty array");
  if (p.error.length == 0) p.quotas = q;
  return p;
}

function parseRule(v: JsonValue, j: i32, q: Quotas, p: QuotaParse): void {
  const at = ".rules[" + j.toString() + "]";
  if (v.kind != JsonKind.Object) return fail(p, at, "' must be an object");
  for (let k = 0; k < v.keys.length; k++) {
    if (!RULE_KEYS.includes(v.keys[k])) return fail(p, at + "." + v.keys[k], "' is unknown");
  }
  const r = new QuotaRule();
  const name = v.get("name");
  const principal = v.get("principal");
  if (name === null || name.kind != JsonKind.String || name.str.length == 0 || name.str.length > 64) {
    return fail(p, at + ".name", "' must be a string of 1 to 64 characters");
  }
  r.name = name.str;
  if (principal === null || principal.kind != JsonKind.String || principal.str.length == 0) {
    return fail(p, at + ".principal", "' must be a non-empty string");
  }
  r.principal = principal.str;
  r.anyPrincipal = principal.str == "*";
  const client = v.get("client_id");
  if (client !== null) {
    if (client.kind != JsonKind.String) return fail(p, at + ".client_id", "' must be a string");
    if (client.str == "*") r.eachClient = true;
    else r.clientId = String.UTF8.encode(client.str);
    q.byClient = true;
  }
  for (let k = 0; k < 3; k++) r.bounds[k] = rate(v, at, k, p);
  if (r.bounds[0] + r.bounds[1] + r.bounds[2] == 0) fail(p, at, "' sets no rate");
  const dry = v.get("dry_run");
  if (dry !== null) {
    if (dry.kind != JsonKind.Bool) fail(p, at + ".dry_run", "' must be true or false");
    r.dryRun = dry.bool;
  }
  q.rules.push(r);
}
