// Kafka's ACL model as plain data: rules of (principal, allow|deny, operations, resource type,
// literal|prefixed name); a matching deny wins over any allow, super users may do anything,
// and what no rule allows is denied. Allowing READ, WRITE, DELETE or ALTER implies DESCRIBE,
// and ALTER_CONFIGS implies DESCRIBE_CONFIGS, as in Kafka's AclAuthorizer.
import { JsonKind, JsonValue } from "./json";

export const enum Operation {
  None = 0,
  Read = 1,
  Write = 2,
  Create = 3,
  Delete = 4,
  Alter = 5,
  Describe = 6,
  ClusterAction = 7,
  DescribeConfigs = 8,
  AlterConfigs = 9,
  IdempotentWrite = 10,
  All = 11,
}

const OPERATION_NAMES: string[] = [
  "", "read", "write", "create", "delete", "alter", "describe", "cluster_action", "describe_configs", "alter_configs",
  "idempotent_write", "all",
];

export const enum ResourceType {
  None = 0,
  Topic = 1,
  Group = 2,
  TransactionalId = 3,
  Cluster = 4,
}

const RESOURCE_NAMES: string[] = ["", "topic", "group", "transactional_id", "cluster"];

export function resourceName(t: i32): string {
  return RESOURCE_NAMES[t];
}

export function operationName(op: i32): string {
  return OPERATION_NAMES[op];
}

class Rule {
  // "*" (or "User:*" in the configuration) matches every principal.
  principal: string = "*";
  allow: bool = true;
  resource: i32 = 0;
  prefixed: bool = false;
  // UTF-8 bytes of the resource name; `any` for the "*" wildcard (and for the cluster).
  name: ArrayBuffer = new ArrayBuffer(0);
  any: bool = false;
  // Bit per Operation.
  operations: i32 = 0;
  // Observe only (`"dry_run": true`): decided and reported, never enforced.
  dryRun: bool = false;

  matches(principal: string, resource: i32, ptr: usize, len: i32): bool {
    if (this.resource != resource) return false;
    if (this.principal != "*" && this.principal != principal) return false;
    if (this.any) return true;
    const n = this.name.byteLength;
    if (this.prefixed ? len < n : len != n) return false;
    return memory.compare(changetype<usize>(this.name), ptr, <usize>n) == 0;
  }
}

export class Acl {
  superUsers: string[] = [];
  rules: Rule[] = [];
  // `acls.dry_run`: no rule is enforced (every decision is only reported).
  dryRun: bool = false;
  // Some decisions are only reported: the global switch, or a rule in dry-run.
  observes: bool = false;

  // May `principal` perform `op` on the resource named by the `len` bytes at `ptr`? With every
  // rule, dry-run ones included: what the policy would decide if all were enforced.
  authorize(principal: string, resource: i32, ptr: usize, len: i32, op: i32): bool {
    return this.decide(principal, resource, ptr, len, op, false);
  }

  // The decision of the enforced rules alone (everything is allowed under `acls.dry_run`).
  enforced(principal: string, resource: i32, ptr: usize, len: i32, op: i32): bool {
    return this.dryRun || this.decide(principal, resource, ptr, len, op, true);
  }

  private decide(principal: string, resource: i32, ptr: usize, len: i32, op: i32, enforcedOnly: bool): bool {
    if (this.superUsers.includes(principal)) return true;
    const denyMask = (1 << op) | (1 << Operation.All);
    let allowMask = denyMask;
    if (op == Operation.Describe) {
      allowMask |= (1 << Operation.Read) | (1 << Operation.Write) | (1 << Operation.Delete) | (1 << Operation.Alter);
    } else if (op == Operation.DescribeConfigs) {
      allowMask |= 1 << Operation.AlterConfigs;
    }
    let allowed = false;
    for (let i = 0; i < this.rules.length; i++) {
      const r = unchecked(this.rules[i]);
      if ((enforcedOnly && r.dryRun) || !r.matches(principal, resource, ptr, len)) continue;
      if (!r.allow && (r.operations & denyMask) != 0) return false;
      if (r.allow && (r.operations & allowMask) != 0) allowed = true;
    }
    return allowed;
  }
}

// Reads the `acls` object of the configuration; on a mistake returns null and sets `error` to a
// message naming the key.
export class AclParse {
  acl: Acl | null = null;
  error: string = "";
}

function stringList(v: JsonValue, key: string, p: AclParse): string[] {
  const out: string[] = [];
  if (v.kind != JsonKind.Array) {
    p.error = "config key '" + key + "' must be an array of strings";
    return out;
  }
  for (let i = 0; i < v.items.length; i++) {
    const item = v.items[i];
    if (item.kind != JsonKind.String || item.str.length == 0) {
      p.error = "config key '" + key + "[" + i.toString() + "]' must be a non-empty string";
      return out;
    }
    out.push(item.str);
  }
  return out;
}

// Kafka spells operations in upper case (READ, ALTER_CONFIGS); both spellings are accepted.
// (String#toLowerCase would pull Unicode case tables into the module.)
function asciiLower(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += String.fromCharCode(c >= 65 && c <= 90 ? c + 32 : c);
  }
  return out;
}

function validPrincipal(s: string): bool {
  return s == "*" || (s.startsWith("User:") && s.length > 5);
}

function parseRule(v: JsonValue, where: string, p: AclParse): Rule | null {
  if (v.kind != JsonKind.Object) {
    p.error = "config key '" + where + "' must be an object";
    return null;
  }
  const r = new Rule();
  let hasResource = false;
  let hasName = false;
  for (let i = 0; i < v.keys.length && p.error.length == 0; i++) {
    const key = v.keys[i];
    const item = v.items[i];
    const at = where + "." + key;
    const str = item.kind == JsonKind.String ? item.str : "";
    if (key == "principal") {
      if (!validPrincipal(str)) p.error = "config key '" + at + "' must be \"*\" or \"User:<name>\"";
      // "User:*" is Kafka's own spelling of the wildcard principal.
      r.principal = str == "User:*" ? "*" : str;
    } else if (key == "permission") {
      if (str == "allow") r.allow = true;
      else if (str == "deny") r.allow = false;
      else p.error = "config key '" + at + "' must be \"allow\" or \"deny\"";
    } else if (key == "resource") {
      r.resource = RESOURCE_NAMES.indexOf(str);
      if (r.resource <= 0) p.error = "config key '" + at + "' must be one of topic, group, transactional_id, cluster";
      hasResource = true;
    } else if (key == "pattern") {
      if (str == "literal") r.prefixed = false;
      else if (str == "prefixed") r.prefixed = true;
      else p.error = "config key '" + at + "' must be \"literal\" or \"prefixed\"";
    } else if (key == "name") {
      if (str.length == 0) p.error = "config key '" + at + "' must be a non-empty string (\"*\" for any)";
      r.any = str == "*";
      r.name = String.UTF8.encode(str);
      hasName = true;
    } else if (key == "operations") {
      const names = stringList(item, at, p);
      for (let j = 0; j < names.length; j++) {
        const op = OPERATION_NAMES.indexOf(asciiLower(names[j]));
        if (op <= 0) {
          p.error = "config key '" + at + "[" + j.toString() + "]': unknown operation '" + names[j] + "'";
          break;
        }
        r.operations |= 1 << op;
      }
      if (p.error.length == 0 && names.length == 0) p.error = "config key '" + at + "' must list at least one operation";
    } else if (key == "dry_run") {
      if (item.kind == JsonKind.Bool) r.dryRun = item.bool;
      else p.error = "config key '" + at + "' must be true or false";
    } else {
      p.error = "unknown config key '" + at + "'";
    }
  }
  if (p.error.length > 0) return null;
  if (!hasResource) p.error = "config key '" + where + ".resource' is required";
  else if (r.operations == 0) p.error = "config key '" + where + ".operations' is required";
  else if (r.resource == ResourceType.Cluster) r.any = true;
  else if (!hasName) p.error = "config key '" + where + ".name' is required";
  else if (r.any && r.prefixed) p.error = "config key '" + where + ".pattern' cannot be prefixed with name \"*\"";
  return p.error.length > 0 ? null : r;
}

export function parseAcl(v: JsonValue): AclParse {
  const p = new AclParse();
  if (v.kind != JsonKind.Object) {
    p.error = "config key 'acls' must be an object";
    return p;
  }
  const acl = new Acl();
  for (let i = 0; i < v.keys.length && p.error.length == 0; i++) {
    const key = v.keys[i];
    const item = v.items[i];
    if (key == "super_users") {
      acl.superUsers = stringList(item, "acls.super_users", p);
      for (let j = 0; j < acl.superUsers.length && p.error.length == 0; j++) {
        if (!acl.superUsers[j].startsWith("User:")) p.error = "config key 'acls.super_users[" + j.toString() + "]' must be \"User:<name>\"";
      }
    } else if (key == "rules") {
      if (item.kind != JsonKind.Array) {
        p.error = "config key 'acls.rules' must be an array";
        break;
      }
      for (let j = 0; j < item.items.length && p.error.length == 0; j++) {
        const rule = parseRule(item.items[j], "acls.rules[" + j.toString() + "]", p);
        if (rule !== null) acl.rules.push(rule);
        if (rule !== null && rule.dryRun) acl.observes = true;
      }
    } else if (key == "dry_run") {
      if (item.kind == JsonKind.Bool) acl.dryRun = item.bool;
      else p.error = "config key 'acls.dry_run' must be true or false";
      if (acl.dryRun) acl.observes = true;
    } else {
      p.error = "unknown config key 'acls." + key + "'";
    }
  }
  if (p.error.length == 0) p.acl = acl;
  return p;
}
