// The rewriting policy as plain data: per principal, a tenant prefix for the topics, group ids
// and transactional ids it names (tenant isolation), and explicit topic renames (canary and
// blue-green moves). Clients keep the names they know; the broker sees the rewritten ones.
import { JsonKind, JsonValue } from "./json";

export class TenantRule {
  constructor(public principal: string, public prefix: ArrayBuffer) {}
}

export class RenameRule {
  // "*" applies to every principal.
  constructor(public principal: string, public from: ArrayBuffer, public to: ArrayBuffer) {}
}

export class RewriteRules {
  tenants: TenantRule[] = [];
  renames: RenameRule[] = [];

  // The tenant prefix of `principal`, or null when it has none.
  tenantOf(principal: string): ArrayBuffer | null {
    for (let i = 0; i < this.tenants.length; i++) if (this.tenants[i].principal == principal) return this.tenants[i].prefix;
    return null;
  }

  renamesOf(principal: string): RenameRule[] {
    const out: RenameRule[] = [];
    for (let i = 0; i < this.renames.length; i++) {
      const r = this.renames[i];
      if (r.principal == "*" || r.principal == principal) out.push(r);
    }
    return out;
  }
}

export class RewriteParse {
  rules: RewriteRules | null = null;
  error: string = "";
}

// Kafka's legal topic characters; group and transactional ids allow more, but a prefix shared by
// all three must suit topics.
function legalName(s: string): bool {
  if (s.length == 0 || s.length > 249) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 46 || c == 95 || c == 45;
    if (!ok) return false;
  }
  return true;
}

function field(v: JsonValue, at: string, key: string, p: RewriteParse): string {
  const item = v.get(key);
  if (item === null || item.kind != JsonKind.String || item.str.length == 0) {
    if (p.error.length == 0) p.error = "config key '" + at + "." + key + "' must be a non-empty string";
    return "";
  }
  return item.str;
}

function checkKeys(v: JsonValue, at: string, allowed: string[], p: RewriteParse): bool {
  if (v.kind != JsonKind.Object) {
    p.error = "config key '" + at + "' must be an object";
    return false;
  }
  for (let i = 0; i < v.keys.length; i++) {
    if (!allowed.includes(v.keys[i])) {
      p.error = "unknown config key '" + at + "." + v.keys[i] + "'";
      return false;
    }
  }
  return true;
}

function principalOf(v: JsonValue, at: string, anyAllowed: bool, p: RewriteParse): string {
  const s = field(v, at, "principal", p);
  if (p.error.length == 0 && !(s.startsWith("User:") && s.length > 5) && !(anyAllowed && s == "*")) {
    p.error = "config key '" + at + ".principal' must be " + (anyAllowed ? "\"*\" or " : "") + "\"User:<name>\"";
  }
  return s;
}

function list(v: JsonValue, at: string, p: RewriteParse): JsonValue[] {
  if (v.kind != JsonKind.Array) {
    p.error = "config key '" + at + "' must be an array";
    return [];
  }
  return v.items;
}

export function parseRewrite(v: JsonValue): RewriteParse {
  const p = new RewriteParse();
  const rules = new RewriteRules();
  if (!checkKeys(v, "rewrite", ["tenants", "renames"], p)) return p;
  const tenants = v.get("tenants");
  const items = tenants !== null ? list(tenants, "rewrite.tenants", p) : [];
  for (let i = 0; i < items.length && p.error.length == 0; i++) {
    const at = "rewrite.tenants[" + i.toString() + "]";
    if (!checkKeys(items[i], at, ["principal", "prefix"], p)) break;
    const principal = principalOf(items[i], at, false, p);
    const prefix = field(items[i], at, "prefix", p);
    if (p.error.length > 0) break;
    if (!legalName(prefix)) p.error = "config key '" + at + ".prefix' must use only [A-Za-z0-9._-]";
    else if (rules.tenantOf(principal) !== null) p.error = "config key '" + at + ".principal' names a principal twice";
    else rules.tenants.push(new TenantRule(principal, String.UTF8.encode(prefix)));
  }
  const renames = v.get("renames");
  const moves = renames !== null && p.error.length == 0 ? list(renames, "rewrite.renames", p) : [];
  for (let i = 0; i < moves.length && p.error.length == 0; i++) {
    const at = "rewrite.renames[" + i.toString() + "]";
    if (!checkKeys(moves[i], at, ["principal", "resource", "from", "to"], p)) break;
    const principal = principalOf(moves[i], at, true, p);
    const resource = moves[i].get("resource");
    if (resource !== null && (resource.kind != JsonKind.String || resource.str != "topic")) {
      p.error = "config key '" + at + ".resource' must be \"topic\" (only topics are renamed)";
      break;
    }
    const from = field(moves[i], at, "from", p);
    const to = field(moves[i], at, "to", p);
    if (p.error.length > 0) break;
    if (!legalName(from)) p.error = "config key '" + at + ".from' is not a legal topic name";
    else if (!legalName(to)) p.error = "config key '" + at + ".to' is not a legal topic name";
    else rules.renames.push(new RenameRule(principal, String.UTF8.encode(from), String.UTF8.encode(to)));
  }
  if (p.error.length == 0) checkOverlaps(items, moves, p);
  if (p.error.length == 0) p.rules = rules;
  return p;
}

function quoted(v: JsonValue, key: string): string {
  return "\"" + v.get(key)!.str + "\"";
}

// A tenant owns every broker name that starts with its prefix, so no prefix may start with
// another tenant's (`t.` would own all of `t.y.`'s names) - principals sharing one prefix share
// one tenant - nor claim Kafka's internal topics (`__consumer_offsets`...). Renames are in
// client names, moved under the principal's prefix when it has one: a rename naming a tenant's
// prefixed name would reach into that tenant from outside, and two renames of the same
// principal with the same `from`, the same `to`, or one's `to` the other's `from`, would make
// names ambiguous both ways.
function checkOverlaps(tenants: JsonValue[], renames: JsonValue[], p: RewriteParse): void {
  for (let i = 0; i < tenants.length; i++) {
    const a = tenants[i].get("prefix")!.str;
    const at = "rewrite.tenants[" + i.toString() + "].prefix";
    if (a.startsWith("__")) {
      p.error = "config key '" + at + "' (" + quoted(tenants[i], "prefix") + ") would own Kafka's internal topics (\"__\")";
      return;
    }
    for (let j = 0; j < tenants.length; j++) {
      const b = tenants[j].get("prefix")!.str;
      if (i != j && a != b && a.startsWith(b)) {
        p.error = "config key '" + at + "' (\"" + a + "\") starts with rewrite.tenants[" + j.toString() +
          "].prefix (\"" + b + "\"): that tenant would own this one's names";
        return;
      }
    }
  }
  for (let i = 0; i < renames.length; i++) {
    const r = renames[i];
    const at = "rewrite.renames[" + i.toString() + "]";
    for (let k = 0; k < 2; k++) {
      const key = k == 0 ? "from" : "to";
      const name = r.get(key)!.str;
      for (let j = 0; j < tenants.length; j++) {
        if (name.startsWith(tenants[j].get("prefix")!.str)) {
          p.error = "config key '" + at + "." + key + "' (" + quoted(r, key) + ") is under rewrite.tenants[" + j.toString() +
            "].prefix: renames name topics as clients do, without a tenant prefix";
          return;
        }
      }
    }
    const who = r.get("principal")!.str;
    for (let j = 0; j < i; j++) {
      const o = renames[j];
      const other = o.get("principal")!.str;
      if (who != "*" && other != "*" && who != other) continue;
      const clash = r.get("from")!.str == o.get("from")!.str ? "from" :
        r.get("to")!.str == o.get("to")!.str ? "to" :
          r.get("to")!.str == o.get("from")!.str || r.get("from")!.str == o.get("to")!.str ? "to/from" : "";
      if (clash.length > 0) {
        p.error = "config key '" + at + "' collides with rewrite.renames[" + j.toString() + "] (same " + clash +
          " for a principal both apply to)";
        return;
      }
    }
  }
}
