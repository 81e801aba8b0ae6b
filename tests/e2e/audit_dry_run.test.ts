// Dry-run policies through real Envoy + filter + Kafka: with `acls.dry_run` the producer the
// authorization tests refuse (kafkajs and Java) writes, the broker has its records (read on its
// direct listener), and the audit log and counters say what would have been refused; a rule in
// dry-run (`"dry_run": true`) and a tenant prefix in dry-run only report; switching to enforce
// is a configuration change alone (Envoy restarted with it on the same port): refused again.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { suiteTestBed } from "../harness/testbed.ts";
import { javaClient } from "../harness/java_client.ts";
import { brokerOffset as viewOffset, brokerTopics } from "../harness/broker_view.ts";
import { Envoy, startEnvoy } from "../harness/envoy.ts";
import { auditEvents } from "../harness/audit_log.ts";
import { allow } from "../harness/acl_rules.ts";

// The authorization tests' producers (authz.test.ts): they may write orders, only describe audit.
const ACLS = {
  super_users: ["User:admin"],
  rules: [
    allow("User:producer", "topic", "orders", ["write"]),
    allow("User:producer", "topic", "audit", ["describe"], "prefixed"),
    allow("User:java-producer", "topic", "orders", ["write"]),
    allow("User:java-producer", "topic", "audit", ["describe"]),
    allow("*", "topic", "orders", ["read"]),
  ],
};
const DRY_RULE = { principal: "User:producer", permission: "deny", resource: "topic", name: "orders", operations: ["write"], dry_run: true };
const TENANT = { tenants: [{ principal: "User:tenant", prefix: "tenantA.", dry_run: true }] };
const config = (dryRun: boolean) => ({
  principal_sources: ["client_id"],
  acls: { ...ACLS, dry_run: dryRun, rules: [...ACLS.rules, DRY_RULE, { principal: "User:tenant", permission: "allow", resource: "topic", name: "orders", operations: ["write"] }] },
  rewrite: TENANT,
});

describe("dry-run ACLs and rewrites", () => {
  const suite = suiteTestBed("audit-dry-run", config(true));
  const { guard } = suite;
  let enforcing: Envoy | null = null;
  after(async () => {
    await enforcing?.stop();
  });
  const envoy = () => enforcing ?? suite.bed.envoy;
  const client = (clientId: string) =>
    new Kafka({ clientId, brokers: [suite.bed.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const send = async (clientId: string, topic: string, value: string) => {
    const producer = client(clientId).producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });
    await producer.connect();
    try {
      await producer.send({ topic, messages: [{ value }] });
    } finally {
      await producer.disconnect();
    }
  };
  before(async () => {
    const admin = new Kafka({ brokers: [suite.bed.kafka.direct], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "orders" }, { topic: "audit" }], waitForLeaders: true });
    await admin.disconnect();
  });
  const offset = (topic: string) => viewOffset(suite.bed.kafka, topic);
  const events = () => auditEvents(readFileSync(envoy().service.logFile, "utf8"));
  const entriesOf = (clientId: string) => events().filter((e) => e.client_id === clientId).flatMap((e) => e.entries.map((x: any) => ({ event: e.kafka_proxy_audit, api: e.api, ...x })));

  test("acls.dry_run: the refused producers write, the broker has their records, audit and counters say would_deny", guard(async () => {
    await send("producer", "audit", "dry run");
    await javaClient(["produce", suite.bed.bootstrap, "audit", "j", "10"], 120000, "java-producer");
    assert.equal(await offset("audit"), 2);
    // The per-rule dry-run deny on orders: written too.
    await send("producer", "orders", "dry rule");
    assert.equal(await offset("orders"), 1);
    assert.equal(await envoy().stat("authz.requests_denied"), 0);
    assert.ok(await envoy().stat("authz.would_deny") >= 3);
    const produce = (e: any) => e.api === "Produce";
    assert.deepEqual(entriesOf("producer").filter(produce), [
      { event: "dry_run", api: "Produce", outcome: "would_deny", resource: "topic", name: "audit", broker_name: "audit", operation: "write", error_code: 29 },
      { event: "dry_run", api: "Produce", outcome: "would_deny", resource: "topic", name: "orders", broker_name: "orders", operation: "write", error_code: 29 },
    ]);
    const java = entriesOf("java-producer").filter(produce);
    assert.equal(java.length, 1);
    assert.equal(java[0].outcome, "would_deny");
    assert.equal(java[0].name, "audit");
    assert.equal(java[0].operation, "write");
  }));

  test("a tenant prefix in dry-run renames nothing: the broker gets the client's name, audit and counters say would_rename", guard(async () => {
    await send("tenant", "orders", "tenant dry run");
    assert.equal(await offset("orders"), 2);
    assert.ok(!(await brokerTopics(suite.bed.kafka)).some((t) => t.startsWith("tenantA.")));
    assert.ok(await envoy().stat("rewrite.would_rename") >= 1);
    assert.equal(await envoy().stat("rewrite.names_renamed"), 0);
    const produce = entriesOf("tenant").filter((e) => e.api === "Produce");
    assert.deepEqual(produce, [{ event: "dry_run", api: "Produce", outcome: "would_rename", resource: "topic", name: "orders", broker_name: "tenantA.orders" }]);
  }));

  test("the same configuration with acls.dry_run off enforces: the producers are refused", guard(async () => {
    const port = suite.bed.envoy.listenPort;
    await suite.bed.envoy.stop();
    enforcing = await startEnvoy(suite.bed.dir, { listenPort: port, upstreamPort: suite.bed.kafka.proxiedPort, filterConfig: config(false) });
    await assert.rejects(send("producer", "audit", "enforced"), /authoriz/i);
    await assert.rejects(javaClient(["produce", suite.bed.bootstrap, "audit", "j", "10"], 60000, "java-producer"));
    assert.equal(await offset("audit"), 2);
    assert.ok(await envoy().stat("authz.requests_denied") >= 2);
    assert.ok(entriesOf("producer").some((e) => e.event === "refusal" && e.outcome === "denied" && e.name === "audit"));
    // The rule still in dry-run goes on reporting only.
    await send("producer", "orders", "dry rule, enforced acls");
    assert.equal(await offset("orders"), 3);
  }));
});
