// Kafka's ACL semantics in the filter's policy model: implied operations, deny wins, literal,
// prefixed and wildcard names, super users, default deny, and configuration errors that name
// the key.
import { Acl, Operation, ResourceType, parseAcl } from "../../assembly/policy/acl";
import { parseJson } from "../../assembly/policy/json";
import { parseConfig } from "../../assembly/policy/config";

function acl(json: string): Acl {
  const parsed = parseAcl(parseJson(json).value!);
  expect(parsed.error).toBe("");
  return parsed.acl!;
}

function may(a: Acl, principal: string, resource: i32, name: string, op: i32): bool {
  const bytes = String.UTF8.encode(name);
  return a.authorize(principal, resource, changetype<usize>(bytes), bytes.byteLength, op);
}

const RULES = `{"super_users": ["User:root"], "rules": [
  {"principal": "User:app", "permission": "allow", "resource": "topic", "name": "orders", "operations": ["read", "write"]},
  {"principal": "User:app", "permission": "allow", "resource": "topic", "pattern": "prefixed", "name": "logs.", "operations": ["alter_configs"]},
  {"principal": "*", "permission": "allow", "resource": "group", "name": "*", "operations": ["read"]},
  {"principal": "User:app", "permission": "deny", "resource": "group", "pattern": "prefixed", "name": "admin-", "operations": ["read"]},
  {"principal": "User:ops", "permission": "allow", "resource": "cluster", "operations": ["all"]}
]}`;

describe("ACLs", () => {
  it("allow what a rule grants and nothing else (default deny)", () => {
    const a = acl(RULES);
    expect(may(a, "User:app", ResourceType.Topic, "orders", Operation.Write)).toBe(true);
    expect(may(a, "User:app", ResourceType.Topic, "orders", Operation.Delete)).toBe(false);
    expect(may(a, "User:app", ResourceType.Topic, "payments", Operation.Write)).toBe(false);
    expect(may(a, "User:other", ResourceType.Topic, "orders", Operation.Read)).toBe(false);
  });

  it("imply DESCRIBE from READ/WRITE and DESCRIBE_CONFIGS from ALTER_CONFIGS, not the other way", () => {
    const a = acl(RULES);
    expect(may(a, "User:app", ResourceType.Topic, "orders", Operation.Describe)).toBe(true);
    expect(may(a, "User:app", ResourceType.Topic, "logs.web", Operation.DescribeConfigs)).toBe(true);
    expect(may(a, "User:app", ResourceType.Topic, "logs.web", Operation.Describe)).toBe(false);
  });

  it("match prefixed names by prefix only and literal names exactly", () => {
    const a = acl(RULES);
    expect(may(a, "User:app", ResourceType.Topic, "logs.", Operation.AlterConfigs)).toBe(true);
    expect(may(a, "User:app", ResourceType.Topic, "logs", Operation.AlterConfigs)).toBe(false);
    expect(may(a, "User:app", ResourceType.Topic, "orders-v2", Operation.Write)).toBe(false);
  });

  it("let a matching deny win over a wildcard allow", () => {
    const a = acl(RULES);
    expect(may(a, "User:app", ResourceType.Group, "workers", Operation.Read)).toBe(true);
    expect(may(a, "User:app", ResourceType.Group, "admin-tools", Operation.Read)).toBe(false);
    expect(may(a, "User:else", ResourceType.Group, "admin-tools", Operation.Read)).toBe(true);
  });

  it("read Kafka's wildcard principal User:* as every principal", () => {
    const a = acl(`{"rules": [{"principal": "User:*", "permission": "allow", "resource": "topic", "name": "public", "operations": ["read"]}]}`);
    expect(may(a, "User:anyone", ResourceType.Topic, "public", Operation.Read)).toBe(true);
    expect(may(a, "User:ANONYMOUS", ResourceType.Topic, "public", Operation.Describe)).toBe(true);
    expect(may(a, "User:anyone", ResourceType.Topic, "public", Operation.Write)).toBe(false);
  });

  it("give super users and ALL grants every operation", () => {
    const a = acl(RULES);
    expect(may(a, "User:root", ResourceType.TransactionalId, "tx", Operation.Write)).toBe(true);
    expect(may(a, "User:ops", ResourceType.Cluster, "kafka-cluster", Operation.Alter)).toBe(true);
    expect(may(a, "User:app", ResourceType.Cluster, "kafka-cluster", Operation.Describe)).toBe(false);
  });

  it("refuse bad rules with a message naming the key, so the filter does not start", () => {
    expect(parseConfig(`{"acls": {"rules": [{"principal": "*", "resource": "topic", "name": "t", "operations": ["reed"]}]}}`).error)
      .toBe("config key 'acls.rules[0].operations[0]': unknown operation 'reed'");
    expect(parseConfig(`{"acls": {"rules": [{"principal": "*", "resource": "topic", "name": "t", "pattern": "glob", "operations": ["read"]}]}}`).error)
      .toBe("config key 'acls.rules[0].pattern' must be \"literal\" or \"prefixed\"");
    expect(parseConfig(`{"acls": {"rules": [{"principal": "bob", "resource": "topic", "name": "t", "operations": ["read"]}]}}`).error)
      .toBe("config key 'acls.rules[0].principal' must be \"*\" or \"User:<name>\"");
    expect(parseConfig(`{"acls": {"rules": [{"principal": "*", "resource": "topic", "operations": ["read"]}]}}`).error)
      .toBe("config key 'acls.rules[0].name' is required");
    expect(parseConfig(`{"acls": {}, "forward": "immediately"}`).error)
      .toBe("config key 'forward' must be \"after_check\" when 'acls', 'rewrite', 'guardrails', 'validation', 'gateway', 'quotas' or 'api_versions' is set");
    expect(parseConfig(`{"principal_sources": ["ldap"]}`).error.startsWith("config key 'principal_sources'")).toBe(true);
  });

  it("refuse bad rewrite rules with a message naming the key", () => {
    expect(parseConfig(`{"rewrite": {"tenants": [{"principal": "User:a", "prefix": "bad prefix"}]}}`).error)
      .toBe("config key 'rewrite.tenants[0].prefix' must use only [A-Za-z0-9._-]");
    expect(parseConfig(`{"rewrite": {"tenants": [{"principal": "*", "prefix": "t."}]}}`).error)
      .toBe("config key 'rewrite.tenants[0].principal' must be \"User:<name>\"");
    expect(parseConfig(`{"rewrite": {"renames": [{"principal": "*", "resource": "group", "from": "a", "to": "b"}]}}`).error)
      .toBe("config key 'rewrite.renames[0].resource' must be \"topic\" (only topics are renamed)");
    expect(parseConfig(`{"rewrite": {"tenant": []}}`).error).toBe("unknown config key 'rewrite.tenant'");
    expect(parseConfig(`{"rewrite": {"renames": [{"principal": "User:c", "from": "orders", "to": "orders-v2"}]}}`).error).toBe("");
  });

  it("refuse tenant prefixes and renames that give one tenant another's names", () => {
    const two = (a: string, b: string): string =>
      `{"rewrite": {"tenants": [{"principal": "User:a", "prefix": "${a}"}, {"principal": "User:b", "prefix": "${b}"}]}}`;
    expect(parseConfig(two("t.", "t.y.")).error).toBe("config key 'rewrite.tenants[1].prefix' overlaps another tenant's prefix");
    expect(parseConfig(two("t.y.", "t.")).error).toBe("config key 'rewrite.tenants[1].prefix' overlaps another tenant's prefix");
    expect(parseConfig(two("t", "tx.")).error).toBe("config key 'rewrite.tenants[1].prefix' overlaps another tenant's prefix");
    // Two principals of one tenant share its prefix.
    expect(parseConfig(two("t.", "t.")).error).toBe("");
    expect(parseConfig(two("a.", "b.")).error).toBe("");
    expect(parseConfig(two("a.", "__")).error).toBe("config key 'rewrite.tenants[1].prefix' would own Kafka's internal topics");
    const renames = (r: string): string =>
      `{"rewrite": {"tenants": [{"principal": "User:a", "prefix": "a."}], "renames": [${r}]}}`;
    expect(parseConfig(renames(`{"principal": "User:x", "from": "orders", "to": "a.orders"}`)).error)
      .toBe("config key 'rewrite.renames[0]' names a topic under a tenant prefix");
    expect(parseConfig(renames(`{"principal": "*", "from": "a.x", "to": "y"}`)).error)
      .toBe("config key 'rewrite.renames[0]' names a topic under a tenant prefix");
    const collides = "config key 'rewrite.renames[1]' collides with an earlier rename";
    expect(parseConfig(renames(`{"principal": "*", "from": "o", "to": "o2"}, {"principal": "User:a", "from": "p", "to": "o2"}`)).error)
      .toBe(collides);
    expect(parseConfig(renames(`{"principal": "User:b", "from": "o", "to": "o2"}, {"principal": "User:b", "from": "o", "to": "o3"}`)).error)
      .toBe(collides);
    expect(parseConfig(renames(`{"principal": "User:b", "from": "o", "to": "o2"}, {"principal": "User:b", "from": "o2", "to": "o3"}`)).error)
      .toBe(collides);
    expect(parseConfig(renames(`{"principal": "User:b", "from": "o", "to": "o2"}, {"principal": "User:c", "from": "o", "to": "o3"}`)).error)
      .toBe("");
  });

  it("dry-run rules decide without being enforced: authorize() has them, enforced() leaves them out", () => {
    const a = acl(`{"rules": [
      {"principal": "User:app", "permission": "allow", "resource": "topic", "name": "orders", "operations": ["write"]},
      {"principal": "User:app", "permission": "deny", "resource": "topic", "name": "orders", "operations": ["write"], "dry_run": true},
      {"principal": "User:new", "permission": "allow", "resource": "topic", "name": "orders", "operations": ["write"], "dry_run": true}
    ]}`);
    expect(a.observes).toBe(true);
    const orders = String.UTF8.encode("orders");
    const p = changetype<usize>(orders);
    // The dry-run deny would refuse app's write (would_deny), which the enforced rules allow.
    expect(a.authorize("User:app", ResourceType.Topic, p, 6, Operation.Write)).toBe(false);
    expect(a.enforced("User:app", ResourceType.Topic, p, 6, Operation.Write)).toBe(true);
    // A dry-run allow grants nothing yet.
    expect(a.enforced("User:new", ResourceType.Topic, p, 6, Operation.Write)).toBe(false);
    // Under acls.dry_run nothing is enforced.
    const all = acl(`{"dry_run": true, "rules": []}`);
    expect(all.authorize("User:x", ResourceType.Topic, p, 6, Operation.Write)).toBe(false);
    expect(all.enforced("User:x", ResourceType.Topic, p, 6, Operation.Write)).toBe(true);
    expect(acl(RULES).observes).toBe(false);
  });
});
