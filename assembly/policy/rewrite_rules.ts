// The rewriting policy as plain data: per principal, a tenant prefix for the topics, group ids
// and transactional ids it names (tenant isolation), and explicit topic renames (canary and
// blue-green moves). Clients keep the names they know; the broker sees the rewritten ones.
import { JsonKind, JsonValue } from "./json";

export class TenantRule {
  dryRun: bool = false;
  constructor(public principal: string, public prefix: ArrayBuffer) {}
}

export class RenameRule {
  // "*" applies to every principal.
  dryRun: bool = false;
  constructor(public principal: string, public from: ArrayBuffer, public to: ArrayBuffer) {}
}

export class RewriteRules {
  tenants: TenantRule[] = [];
  renames: RenameRule[] = [];
  // The rules in dry-run (`"dry_run": true`, or all of them under `rewrite.dry_run`): what
  // they would rename is reported (would_rename), never done. Null when none is.
  dry: RewriteRules | null = null;

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
    if (p.error.length == 0) keyError(p, at, "." + key + "' must be a non-empty string");
    return "";
  }
  return item.str;
}

function checkKeys(v: JsonValue, at: string, allowed: string[], p: RewriteParse): bool {
  if (v.kind != JsonKind.Object) {
    keyError(p, at, "' must be an object");
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
    keyError(p, at, ".principal' must be " + (anyAllowed ? "\"*\" or " : "") + "\"User:<name>\"");
  }
  return s;
}

function list(v: JsonValue, at: string, p: RewriteParse): JsonValue[] {
  if (v.kind != JsonKind.Array) {
    keyError(p, at, "' must be an array");
    return [];
  }
  return v.items;
}

export function parseRewrite(v: JsonValue): RewriteParse {
  const p = new RewriteParse();
  const rules = new RewriteRules();
  if (!checkKeys(v, "rewrite", ["tenants", "renames", "dry_run"], p)) return p;
  const dryAll = v.get("dry_run");
  if (dryAll !== null && dryAll.kind != JsonKind.Bool) {
    p.error = "config key 'rewrite.dry_run' must be true or false";
    return p;
  }
  const allDry = dryAll !== null && dryAll.bool;
  const tenants = v.get("tenants");
  const items = tenants !== null ? list(tenants, "rewrite.tenants", p) : [];
  // A tenant owns every broker name starting with its prefix: no prefix may start with another
  // tenant's (`t.` would own all of `t.y.`'s names; principals sharing one prefix share one
  // tenant), nor claim Kafka's internal topics (`__consumer_offsets`...).
  const prefixes: string[] = [];
  for (let i = 0; i < items.length && p.error.length == 0; i++) {
    const at = "rewrite.tenants[" + i.toString() + "]";
    if (!checkKeys(items[i], at, ["principal", "prefix", "dry_run"], p)) break;
    const principal = principalOf(items[i], at, false, p);
    const prefix = field(items[i], at, "prefix", p);
    if (p.error.length > 0) break;
    if (!legalName(prefix)) keyError(p, at, ".prefix' must use only [A-Za-z0-9._-]");
    else if (rules.tenantOf(principal) !== null) keyError(p, at, ".principal' names a principal twice");
    else if (prefix.startsWith("__")) keyError(p, at, ".prefix' would own Kafka's internal topics");
    else if (overlap(prefix, prefixes, true)) keyError(p, at, ".prefix' overlaps another tenant's prefix");
    prefixes.push(prefix);
    const tenant = new TenantRule(principal, String.UTF8.encode(prefix));
    tenant.dryRun = allDry || dryFlag(items[i], at, p);
    if (p.error.length == 0) rules.tenants.push(tenant);
  }
  const renames = v.get("renames");
  const moves = renames !== null && p.error.length == 0 ? list(renames, "rewrite.renames", p) : [];
  // Renames are in client names, put under the principal's prefix when it has one: a name under
  // a tenant's prefix would reach into that tenant from outside. Two renames applying to one
  // principal must not share a `from` or a `to`, nor chain (one's `to` the other's `from`):
  // names would be ambiguous both ways.
  const ends: string[] = [];
  for (let i = 0; i < moves.length && p.error.length == 0; i++) {
    const at = "rewrite.renames[" + i.toString() + "]";
    if (!checkKeys(moves[i], at, ["principal", "resource", "from", "to", "dry_run"], p)) break;
    const principal = principalOf(moves[i], at, true, p);
    const resource = moves[i].get("resource");
    if (resource !== null && (resource.kind != JsonKind.String || resource.str != "topic")) {
      keyError(p, at, ".resource' must be \"topic\" (only topics are renamed)");
      break;
    }
    const from = field(moves[i], at, "from", p);
    const to = field(moves[i], at, "to", p);
    if (p.error.length > 0) break;
    if (!legalName(from)) keyError(p, at, ".from' is not a legal topic name");
    else if (!legalName(to)) keyError(p, at, ".to' is not a legal topic name");
    else if (overlap(from, prefixes, false) || overlap(to, prefixes, false)) {
      keyError(p, at, "' names a topic under a tenant prefix");
    } else {
      for (let j = 0; j < i; j++) {
        const o = rules.renames[j];
        if ((o.principal == principal || o.principal == "*" || principal == "*") &&
          (ends[2 * j] == from || ends[2 * j + 1] == to || ends[2 * j] == to || ends[2 * j + 1] == from)) {
          keyError(p, at, "' collides with an earlier rename");
          break;
        }
      }
    }
    ends.push(from);
    ends.push(to);
    const rename = new RenameRule(principal, String.UTF8.encode(from), String.UTF8.encode(to));
    rename.dryRun = allDry || dryFlag(moves[i], at, p);
    if (p.error.length == 0) rules.renames.push(rename);
  }
  if (p.error.length == 0) p.rules = splitDry(rules);
  return p;
}

function dryFlag(v: JsonValue, at: string, p: RewriteParse): bool {
  const d = v.get("dry_run");
  if (d === null) return false;
  if (d.kind != JsonKind.Bool) {
    if (p.error.length == 0) keyError(p, at, ".dry_run' must be true or false");
    return false;
  }
  return d.bool;
}

// The enforced rules, with the dry-run ones apart (checked together above: both sets must be
// valid at once, since a dry-run rule is meant to be enforced later).
function splitDry(all: RewriteRules): RewriteRules {
  const enforced = new RewriteRules();
  const dry = new RewriteRules();
  for (let i = 0; i < all.tenants.length; i++) (all.tenants[i].dryRun ? dry : enforced).tenants.push(all.tenants[i]);
  for (let i = 0; i < all.renames.length; i++) (all.renames[i].dryRun ? dry : enforced).renames.push(all.renames[i]);
  if (dry.tenants.length > 0 || dry.renames.length > 0) enforced.dry = dry;
  return enforced;
}

function keyError(p: RewriteParse, at: string, rest: string): void {
  p.error = "config key '" + at + rest;
}

// True when `name` starts with one of `prefixes` (or, when `both`, one starts with `name`, an
// equal one aside).
function overlap(name: string, prefixes: string[], both: bool): bool {
  for (let j = 0; j < prefixes.length; j++) {
    const q = prefixes[j];
    if ((!both || q != name) && (name.startsWith(q) || (both && q.startsWith(name)))) return true;
  }
  return false;
}
