// Audit events (filters/audit.ts) through real Envoy + filter + Kafka (SASL PLAIN on the
// proxied listener), with kafkajs and Apache Kafka's Java client: a known workload yields an
// exact set of JSON lines in Envoy's log (refusals, admin operations, SASL logins, connections
// with bytes that match the metrics), names are escaped, and a flood of refused requests stays
// under the configured events per second with the rest counted as dropped.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import kafkajs, { Kafka, logLevel, Partitioners, SASLOptions } from "kafkajs";

const { ConfigResourceTypes } = kafkajs;
import { suiteTestBed } from "../harness/testbed.ts";
import { javaClient } from "../harness/java_client.ts";
import { brokerOffset as viewOffset, createTopics } from "../harness/broker_view.ts";
import { requestFrame } from "../harness/raw_client.ts";
import { RawConnection } from "../harness/raw_connection.ts";
import { allow } from "../harness/acl_rules.ts";
import { auditEvents, AuditEvent } from "../harness/audit_log.ts";

const PLAIN_JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-pw" ' +
  'user_alice="alice-pw" user_jay="jay-pw" user_mallory="mallory-pw";';
const MAX_EVENTS = 200;

// An event without what changes from run to run (time, ids, latency).
function stable(e: AuditEvent): AuditEvent {
  const { time, connection, correlation_id, latency_us, ...rest } = e;
  assert.match(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(typeof connection, "number");
  return rest;
}

describe("audit events in Envoy's log", () => {
  const suite = suiteTestBed("audit", {
    principal_sources: ["sasl"],
    // The flood pipelines thousands of requests per connection; answers the filter makes wait
    // behind stand-ins sent to the broker, in flight like any request.
    max_in_flight_requests: 10000,
    audit: { connections: true, max_events_per_second: MAX_EVENTS },
    acls: {
      super_users: ["User:admin"],
      rules: [
        allow("User:alice", "topic", "orders", ["write"]),
        allow("User:alice", "topic", "secret", ["describe"]),
        allow("User:jay", "topic", "orders", ["write"]),
        allow("User:jay", "topic", "secret", ["describe"]),
      ],
    },
  }, {
    kafka: {
      props: {
        "listener.security.protocol.map": "PROXIED:SASL_PLAINTEXT,DIRECT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.proxied.plain.sasl.jaas.config": PLAIN_JAAS,
      },
    },
  });
  const { guard } = suite;
  const plain = (username: string, password = `${username}-pw`): SASLOptions => ({ mechanism: "plain", username, password });
  const client = (clientId: string, sasl: SASLOptions) =>
    new Kafka({ clientId, brokers: [suite.bed.bootstrap], sasl, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const envoyLog = () => readFileSync(suite.bed.envoy.service.logFile, "utf8");
  const events = () => auditEvents(envoyLog());
  const javaEnv = (user: string) => ({ SASL_MECHANISM: "PLAIN", SASL_USER: user, SASL_PASSWORD: `${user}-pw` });

  before(() => createTopics(suite.bed.kafka, ["orders", "secret"]));

  test("a known workload yields an exact set of audit lines (kafkajs and Java)", guard(async () => {
    // Retries: the group coordinator is not there until the offsets topic exists.
    const admin = new Kafka({ clientId: "audit-admin", brokers: [suite.bed.bootstrap], sasl: plain("admin"), logLevel: logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 200 } }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "made-by-admin" }], waitForLeaders: true });
    await admin.createPartitions({ topicPartitions: [{ topic: "made-by-admin", count: 2 }] });
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: "made-by-admin", configEntries: [{ name: "retention.ms", value: "3600000" }] }] });
    // Kafka answers GROUP_ID_NOT_FOUND (69): the admin event carries the broker's error code.
    await assert.rejects(admin.deleteGroups(["no-such-group"]), /KafkaJSDeleteGroupsError|does not exist|not found/i);
    await admin.disconnect();

    const producer = client("audit-alice", plain("alice")).producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });
    await producer.connect();
    await producer.send({ topic: "orders", messages: [{ value: "allowed" }] });
    await assert.rejects(producer.send({ topic: "secret", messages: [{ value: "refused" }] }), /authoriz/i);
    await producer.disconnect();

    const aliceAdmin = client("audit-alice-admin", plain("alice")).admin();
    await aliceAdmin.connect();
    await assert.rejects(aliceAdmin.deleteTopics({ topics: ["orders"] }));
    await aliceAdmin.disconnect();

    const mallory = client("audit-mallory", plain("mallory", "wrong")).producer();
    await assert.rejects(mallory.connect());

    // Java: an allowed and a refused producer (flexible versions).
    await javaClient(["produce", suite.bed.bootstrap, "orders", "j", "10"], 120000, "audit-java", javaEnv("jay"));
    await assert.rejects(javaClient(["produce", suite.bed.bootstrap, "secret", "j", "10"], 60000, "audit-java-refused", javaEnv("jay")));
    assert.equal(await viewOffset(suite.bed.kafka, "orders"), 2);
    assert.equal(await viewOffset(suite.bed.kafka, "secret"), 0);
    // Connections close asynchronously in Envoy.
    await new Promise((r) => setTimeout(r, 1500));

    const all = events();
    const kinds = new Set(all.map((e) => e.kafka_proxy_audit));
    for (const k of kinds) assert.ok(["connection_open", "connection_close", "refusal", "admin", "authentication"].includes(k), k);

    // Refusals and admin operations: exactly these (duplicates kept apart by count).
    const key = (e: AuditEvent) => JSON.stringify(stable(e));
    const policy = all.filter((e) => e.kafka_proxy_audit === "refusal" || e.kafka_proxy_audit === "admin").map(key).sort();
    const refusedProduce = (clientId: string, principal: string, version: number) => ({
      kafka_proxy_audit: "refusal", api: "Produce", api_version: version, principal, client_id: clientId, result: "answered",
      entries: [{ outcome: "denied", resource: "topic", name: "secret", broker_name: "secret", operation: "write", error_code: 29 }],
    });
    const expected = [
      { kafka_proxy_audit: "admin", api: "CreateTopics", api_version: 3, principal: "User:admin",
        resources: [{ resource: "topic", name: "made-by-admin", broker_name: "made-by-admin" }], allowed: true, error_code: 0 },
      { kafka_proxy_audit: "admin", api: "CreatePartitions", api_version: 1, principal: "User:admin",
        resources: [{ resource: "topic", name: "made-by-admin", broker_name: "made-by-admin" }], allowed: true, error_code: 0 },
      { kafka_proxy_audit: "admin", api: "AlterConfigs", api_version: 1, principal: "User:admin",
        resources: [{ resource: "topic", name: "made-by-admin", broker_name: "made-by-admin" }], allowed: true, error_code: 0 },
      { kafka_proxy_audit: "admin", api: "DeleteGroups", api_version: 1, principal: "User:admin",
        resources: [{ resource: "group", name: "no-such-group", broker_name: "no-such-group" }], allowed: true, error_code: 69 },
      refusedProduce("audit-alice", "User:alice", 7),
      { kafka_proxy_audit: "refusal", api: "DeleteTopics", api_version: 1, principal: "User:alice", client_id: "audit-alice-admin",
        result: "answered",
        entries: [{ outcome: "denied", resource: "topic", name: "orders", broker_name: "orders", operation: "delete", error_code: 29 }] },
      { kafka_proxy_audit: "admin", api: "DeleteTopics", api_version: 1, principal: "User:alice",
        resources: [{ resource: "topic", name: "orders", broker_name: "orders" }], allowed: false, error_code: 29 },
    ].map((e) => JSON.stringify(e));
    const javaRefusals = policy.filter((p) => p.includes('"client_id":"audit-java-refused"'));
    assert.ok(javaRefusals.length >= 1, "the Java producer's refusal is logged");
    for (const r of javaRefusals) {
      const e = JSON.parse(r);
      assert.equal(e.api, "Produce");
      assert.equal(e.principal, "User:jay");
      const { topic_id, ...entry } = e.entries[0];
      assert.equal(e.entries.length, 1);
      if (e.api_version >= 13) assert.match(topic_id, /^[0-9a-f]{32}$/);
      assert.deepEqual(entry, refusedProduce("audit-java-refused", "User:jay", e.api_version).entries[0]);
    }
    assert.deepEqual(policy.filter((p) => !javaRefusals.includes(p)), expected.sort());

    // SASL: every accepted login of the workload and mallory's refused one.
    const auth = all.filter((e) => e.kafka_proxy_audit === "authentication").map(stable);
    const refusedLogins = auth.filter((e) => e.outcome === "refused");
    assert.deepEqual(refusedLogins, [{ kafka_proxy_audit: "authentication", mechanism: "PLAIN", user: "mallory", outcome: "refused", error_code: 58 }]);
    const accepted = new Set(auth.filter((e) => e.outcome === "accepted").map((e) => `${e.mechanism} ${e.user} ${e.error_code}`));
    assert.deepEqual([...accepted].sort(), ["PLAIN admin 0", "PLAIN alice 0", "PLAIN jay 0"]);

    // Connections: each opened one closed, and per client id the bytes are the metrics'.
    const opens = all.filter((e) => e.kafka_proxy_audit === "connection_open");
    const closes = all.filter((e) => e.kafka_proxy_audit === "connection_close");
    assert.deepEqual(closes.map((e) => e.connection).sort(), opens.map((e) => e.connection).sort());
    for (const e of opens) assert.match(e.peer, /^127\.0\.0\.1:\d+$/);
    for (const clientId of ["audit-alice", "audit-admin", "audit-java"]) {
      const mine = closes.filter((e) => e.client_id === clientId);
      assert.ok(mine.length >= 1, clientId);
      const sum = (k: string) => mine.reduce((n, e) => n + e[k], 0);
      assert.equal(sum("bytes_in"), await suite.bed.envoy.stat(`client_request_bytes.client.${clientId}`), `${clientId} bytes in`);
      assert.equal(sum("bytes_out"), await suite.bed.envoy.stat(`client_response_bytes.client.${clientId}`), `${clientId} bytes out`);
    }
    const alice = closes.filter((e) => e.client_id === "audit-alice");
    assert.ok(alice.some((e) => e.principal === "User:alice" && /^KafkaJS\//i.test(e.client_software ?? "") === false));
    const java = closes.filter((e) => e.client_id === "audit-java");
    assert.ok(java.some((e) => e.principal === "User:jay" && /^apache-kafka-java\//.test(e.client_software)), JSON.stringify(java));
    assert.equal(await suite.bed.envoy.stat("audit.events_dropped"), 0);
    assert.equal(await suite.bed.envoy.stat("audit.events"), all.length);
  }));

  test("names clients control are escaped: a client id cannot add fields or lines", guard(async () => {
    const before = events().length;
    const evil = 'x","principal":"User:admin"}\n{"kafka_proxy_audit":"fake\u0001\\';
    const producer = client(evil, plain("alice")).producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });
    await producer.connect();
    await assert.rejects(producer.send({ topic: "secret", messages: [{ value: "refused" }] }));
    await producer.disconnect();
    await new Promise((r) => setTimeout(r, 1000));
    const fresh = events().slice(before);
    assert.ok(!fresh.some((e) => e.kafka_proxy_audit === "fake"));
    const refusal = fresh.find((e) => e.kafka_proxy_audit === "refusal");
    assert.ok(refusal);
    assert.equal(refusal.client_id, evil);
    assert.equal(refusal.principal, "User:alice");
  }));

  test("a flood of refused requests stays under the cap, the rest counted as dropped; Envoy answers", guard(async () => {
    const dropped0 = await suite.bed.envoy.stat("audit.events_dropped");
    const events0 = await suite.bed.envoy.stat("audit.events");
    // CreateTopics v2 from jay, who may not create topics: every request is refused (TOPIC_AUTHORIZATION_FAILED) and audited twice (refusal, admin).
    const name = Buffer.from("flood");
    const body = Buffer.alloc(4 + 2 + name.length + 4 + 2 + 4 + 4 + 4 + 1);
    let o = body.writeInt32BE(1, 0);
    o = body.writeInt16BE(name.length, o);
    o += name.copy(body, o);
    o = body.writeInt32BE(1, o);
    o = body.writeInt16BE(1, o);
    o = body.writeInt32BE(0, o); // assignments
    o = body.writeInt32BE(0, o); // configs
    o = body.writeInt32BE(1000, o); // timeout
    body.writeInt8(0, o); // validate only
    // size, correlation id, throttle time, array count, name, error code, null message.
    const answerSize = 4 + 4 + 4 + 4 + 2 + name.length + 2 + 2;
    const errorAt = 4 + 4 + 4 + 4 + 2 + name.length;
    const perConnection = 5000;
    const connections = 6;
    const started = performance.now();
    await Promise.all(Array.from({ length: connections }, async () => {
      // Logged in as jay (PLAIN), who may not create topics.
      const c = await RawConnection.open(suite.bed.envoy.listenPort);
      const mechanism = Buffer.from("PLAIN");
      const handshake = Buffer.alloc(2 + mechanism.length);
      handshake.writeInt16BE(mechanism.length, 0);
      mechanism.copy(handshake, 2);
      assert.equal((await c.request(requestFrame(17, 1, 1, "flood", handshake))).readInt16BE(8), 0);
      const token = Buffer.from("\0jay\0jay-pw");
      const auth = Buffer.alloc(4 + token.length);
      auth.writeInt32BE(token.length, 0);
      token.copy(auth, 4);
      assert.equal((await c.request(requestFrame(36, 1, 2, "flood", auth))).readInt16BE(8), 0);
      const all = Buffer.concat(Array.from({ length: perConnection }, (_, i) => requestFrame(19, 2, 100 + i, "flood", body)));
      let answers = [await c.request(all, 30000)];
      for (let i = 1; i < perConnection; i++) answers.push(await c.next(30000));
      c.close();
      for (const a of [answers[0], answers[answers.length - 1]]) {
        assert.equal(a.length, answerSize);
        assert.equal(a.readInt16BE(errorAt), 29);
      }
    }));
    const seconds = (performance.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 1000));
    // Two per request (refusal, admin), three per connection (open, login, close).
    const total = perConnection * connections * 2 + connections * 3;
    const written = (await suite.bed.envoy.stat("audit.events")) - events0;
    const dropped = (await suite.bed.envoy.stat("audit.events_dropped")) - dropped0;
    assert.equal(written + dropped, total);
    // Per worker VM and per second (both workers, the seconds the flood lasted, one more for
    // window edges).
    const workers = 2;
    assert.ok(written <= MAX_EVENTS * workers * (Math.ceil(seconds) + 1), `${written} events in ${seconds.toFixed(1)} s`);
    assert.ok(dropped > 0);
    // Per worker (Envoy's thread id on each line) and per second of the events' own clock: at
    // most the cap.
    const perSecond = new Map<string, number>();
    for (const line of envoyLog().split("\n")) {
      const at = line.indexOf('{"kafka_proxy_audit":');
      const thread = /^\[[^\]]+\]\[(\d+)\]/.exec(line)?.[1];
      if (at < 0 || thread === undefined) continue;
      const key = `${thread} ${JSON.parse(line.slice(at)).time.slice(0, 19)}`;
      perSecond.set(key, (perSecond.get(key) ?? 0) + 1);
    }
    const busiest = Math.max(...perSecond.values());
    assert.ok(busiest <= MAX_EVENTS, `${busiest} events in one second on one worker`);
    assert.ok(busiest >= MAX_EVENTS / 2, `the cap was reached (${busiest})`);
    console.log(`flood: ${perConnection * connections} refused requests in ${seconds.toFixed(1)} s, ${written} events written, ${dropped} dropped`);
    // Envoy still serves a client at once.
    const t = performance.now();
    const producer = client("after-flood", plain("alice")).producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });
    await producer.connect();
    await producer.send({ topic: "orders", messages: [{ value: "after flood" }] });
    await producer.disconnect();
    assert.ok(performance.now() - t < 5000);
  }));
});
