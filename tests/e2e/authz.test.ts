// The authorization stage through real Envoy + filter + Kafka, with kafkajs (non-flexible
// versions) and Apache Kafka's Java client (flexible versions, topic ids): refused requests get
// Kafka's own error codes, nothing refused reaches the broker (checked on its direct listener),
// mixed requests are split, and listings only show what the principal may describe.
// Principals come from the client id here; authz_mtls.test.ts covers certificates.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import kafkajs, { Kafka, logLevel, Partitioners } from "kafkajs";

const { ConfigResourceTypes } = kafkajs;
import { suiteTestBed } from "../harness/testbed.ts";
import { javaClient } from "../harness/java_client.ts";
import { exchange, frames, requestFrame } from "../harness/raw_client.ts";
import { brokerOffset as viewOffset } from "../harness/broker_view.ts";
import { allow } from "../harness/acl_rules.ts";


export const AUTHZ_CONFIG = {
  principal_sources: ["client_id"],
  acls: {
    super_users: ["User:admin"],
    rules: [
      allow("User:producer", "topic", "orders", ["write"]),
      // May see the audit topics, not write them.
      allow("User:producer", "topic", "audit", ["describe"], "prefixed"),
      allow("User:java-producer", "topic", "orders", ["write"]),
      allow("User:java-producer", "topic", "audit", ["describe"]),
      allow("*", "topic", "orders", ["read"]),
      allow("*", "topic", "secret", ["describe"]),
      { principal: "User:producer", permission: "deny", resource: "topic", name: "secret", operations: ["all"] },
      allow("User:java-consumer", "group", "good-group", ["read"]),
      allow("User:consumer", "group", "good-", ["read"], "prefixed"),
    ],
  },
};

describe("authorization through Envoy + filter + Kafka", () => {
  const suite = suiteTestBed("authz", AUTHZ_CONFIG);
  const { guard } = suite;
  const stat = (name: string) => suite.bed.envoy.stat(name);
  const client = (clientId: string, direct = false) =>
    new Kafka({ clientId, brokers: [direct ? suite.bed.kafka.direct : suite.bed.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const brokerOffset = (topic: string) => viewOffset(suite.bed.kafka, topic);
  // The error code of a FindCoordinator v2 (as kafkajs sends it) for `key` of `keyType`
  // (0 group, 1 transactional id), read on the wire: kafkajs reports every refusal of it as
  // "coordinator not found".
  const findCoordinatorError = async (clientId: string, key: string, keyType: number): Promise<number> => {
    const name = Buffer.from(key);
    const body = Buffer.alloc(2 + name.length + 1);
    body.writeInt16BE(name.length, 0);
    name.copy(body, 2);
    body.writeInt8(keyType, 2 + name.length);
    const { received } = await exchange(suite.bed.envoy.listenPort, [requestFrame(10, 2, 77, clientId, body)], { expectBytes: 26 });
    const [response] = frames(received);
    // size, correlation id, throttle time, then the error code.
    assert.equal(response.readInt32BE(4), 77);
    return response.readInt16BE(12);
  };

  before(async () => {
    const admin = client("admin").admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "orders" }, { topic: "audit" }, { topic: "secret" }], waitForLeaders: true });
    await admin.disconnect();
  });

  test("an allowed kafkajs producer writes; the same producer is refused on a topic it may only describe", guard(async () => {
    const producer = client("producer").producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });
    await producer.connect();
    try {
      await producer.send({ topic: "orders", messages: [{ key: "k", value: "allowed" }] });
      await assert.rejects(producer.send({ topic: "audit", messages: [{ value: "refused" }] }),
        (e: any) => /TOPIC_AUTHORIZATION_FAILED/.test(String(e.type ?? "") + e.message + JSON.stringify(e.errors ?? "")));
    } finally {
      await producer.disconnect();
    }
    // How long a fresh producer takes to surface the refusal, from connecting (the time
    // clients.test.ts prints for franz-go and librdkafka, measured from their start).
    const fresh = client("producer").producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });
    const start = performance.now();
    await fresh.connect();
    try {
      await assert.rejects(fresh.send({ topic: "audit", messages: [{ value: "refused" }] }), /TOPIC_AUTHORIZATION_FAILED|not authorized/i);
    } finally {
      const ms = Math.round(performance.now() - start);
      await fresh.disconnect();
      // Not a hang or a retry loop until a timeout.
      assert.ok(ms < 15000, `${ms} ms`);
      console.log(`# kafkajs: refusal surfaced after ${ms} ms (from connect)`);
    }
    assert.equal(await brokerOffset("orders"), 1);
    assert.equal(await brokerOffset("audit"), 0, "the refused record never reached the broker");
    assert.ok((await stat("authz.entries_denied")) >= 1);
  }));

  test("the Java client (Produce v13 with topic ids) is refused with TopicAuthorizationException and allowed where it may", guard(async () => {
    const start = performance.now();
    const refusal = await javaClient(["produce", suite.bed.bootstrap, "audit", "java", "10"], 60000).then(
      () => assert.fail("the refused Java producer succeeded"), (e: Error) => e.message);
    const wallMs = Math.round(performance.now() - start);
    assert.match(refusal, /TopicAuthorizationException|Not authorized to access topics: \[audit\]/);
    // The client's own "error <ms>" line: from its main() (the JVM's start-up excluded), as
    // clients.test.ts prints for franz-go and librdkafka. Not a hang or a retry loop.
    const ms = Number(/^error (\d+) /m.exec(refusal)?.[1]);
    assert.ok(ms < 15000, `${ms} ms: ${refusal}`);
    assert.equal(await brokerOffset("audit"), 0);
    const allowedStart = performance.now();
    const out = await javaClient(["produce", suite.bed.bootstrap, "orders", "java", "10,20"]);
    // For comparison: a run that is not refused takes as long (the client's own start-up).
    console.log(`# java: refusal surfaced after ${ms} ms (${wallMs} ms with the JVM's start; ` +
      `an allowed produce of 2 records: ${Math.round(performance.now() - allowedStart)} ms with the JVM's start)`);
    assert.match(out, /produced java-1 \d+/);
    assert.equal(await brokerOffset("orders"), 3);
  }));

  test("a transactional id without a grant gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53); a cluster API, CLUSTER_AUTHORIZATION_FAILED (31)", guard(async () => {
    const before = await stat("authz.requests_denied");
    // kafkajs reports a refused transaction coordinator lookup as "coordinator not found"...
    const producer = client("producer").producer({ transactionalId: "tx-refused", idempotent: true, maxInFlightRequests: 1, retry: { retries: 1 } });
    await producer.connect();
    try {
      await assert.rejects(producer.transaction(), /coordinator/i);
    } finally {
      await producer.disconnect();
    }
    // ...so the code is read on the wire.
    assert.equal(await findCoordinatorError("producer", "tx-refused", 1), 53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED");
    // The Java client names it too.
    await assert.rejects(javaClient(["txproduce", suite.bed.bootstrap, "orders", "tx-refused", "k", "5"], 60000, "java-producer"),
      /TransactionalIdAuthorizationException|Transactional Id authorization failed/);
    const admin = client("producer").admin();
    await admin.connect();
    try {
      await assert.rejects(admin.describeAcls({ resourceType: kafkajs.AclResourceTypes.ANY, permissionType: kafkajs.AclPermissionTypes.ANY,
        operation: kafkajs.AclOperationTypes.ANY, resourcePatternType: kafkajs.ResourcePatternTypes.ANY }),
      (e: any) => /CLUSTER_AUTHORIZATION_FAILED/.test(`${e.type} ${e.message}`));
    } finally {
      await admin.disconnect();
    }
    assert.ok((await stat("authz.requests_denied")) >= before + 2);
  }));

  test("a mixed Produce writes the allowed topic and answers the refused one with error 29", guard(async () => {
    const before = await stat("authz.entries_denied");
    const producer = client("producer").producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });
    await producer.connect();
    try {
      await assert.rejects(producer.sendBatch({
        topicMessages: [
          { topic: "orders", messages: [{ value: "mixed-allowed" }] },
          { topic: "audit", messages: [{ value: "mixed-refused" }] },
        ],
      }), (e: any) => /TOPIC_AUTHORIZATION_FAILED/.test(String(e.type ?? "") + e.message + JSON.stringify(e.errors ?? "")));
    } finally {
      await producer.disconnect();
    }
    assert.equal(await brokerOffset("orders"), 4, "the allowed half went through");
    assert.equal(await brokerOffset("audit"), 0);
    assert.equal(await stat("authz.entries_denied"), before + 1);
  }));

  test("a refused Produce with acks=0 is dropped and counted", guard(async () => {
    const before = await stat("authz.produce_acks0_dropped");
    const producer = client("producer").producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: "audit", acks: 0, messages: [{ value: "fire-and-forget" }] });
    // The connection stays usable: the next request is answered in order.
    await producer.send({ topic: "orders", messages: [{ value: "after-acks0" }] });
    await producer.disconnect();
    assert.equal(await stat("authz.produce_acks0_dropped"), before + 1);
    assert.equal(await brokerOffset("audit"), 0);
    assert.equal(await brokerOffset("orders"), 5);
  }));

  test("listing topics hides what the principal may not describe; naming it gets error 29", guard(async () => {
    const admin = client("producer").admin();
    await admin.connect();
    try {
      const topics = (await admin.listTopics()).sort();
      assert.deepEqual(topics, ["audit", "orders"]);
      await assert.rejects(admin.fetchTopicMetadata({ topics: ["secret"] }), /TOPIC_AUTHORIZATION_FAILED|not authorized/i);
    } finally {
      await admin.disconnect();
    }
    const adminView = client("admin").admin();
    await adminView.connect();
    assert.deepEqual((await adminView.listTopics()).sort(), ["audit", "orders", "secret"]);
    await adminView.disconnect();
    assert.ok((await stat("authz.entries_hidden")) >= 1);
  }));

  test("a consumer refused its group gets GROUP_AUTHORIZATION_FAILED (kafkajs and Java)", guard(async () => {
    const consumer = client("consumer").consumer({ groupId: "bad-group", retry: { retries: 0 } });
    const crashed = new Promise<any>((resolve) => consumer.on(consumer.events.CRASH, (e) => resolve(e.payload.error)));
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: ["orders"], fromBeginning: true });
      await consumer.run({ eachMessage: async () => {} });
      // kafkajs reports a refused FindCoordinator as "coordinator not found"; the wire shows the code.
      const error = await crashed;
      assert.equal(error.name, "KafkaJSGroupCoordinatorNotFound");
    } finally {
      await consumer.disconnect();
    }
    assert.equal(await findCoordinatorError("consumer", "bad-group", 0), 30, "GROUP_AUTHORIZATION_FAILED");
    await assert.rejects(javaClient(["consume", suite.bed.bootstrap, "orders", "bad-group", "1"], 60000),
      /GroupAuthorizationException|Not authorized to access group/);
  }));

  test("an allowed Java consumer group reads what the allowed producers wrote", guard(async () => {
    const out = await javaClient(["consume", suite.bed.bootstrap, "orders", "good-group", "5"]);
    assert.equal(out.trim().split("\n").filter((l) => l.startsWith("record ")).length, 5);
  }));

  test("requests and refusals are counted per principal, as a Prometheus label", guard(async () => {
    assert.ok((await stat("principal_requests.principal.User_producer")) > 0);
    assert.ok((await stat("principal_denied.principal.User_producer")) >= 3);
    assert.equal(await stat("principal_denied.principal.User_admin"), 0);
    const prom = await suite.bed.envoy.admin("/stats/prometheus");
    assert.match(prom, /^kafka_proxy_principal_denied\{kafka_principal="User_producer"\} [1-9]\d*$/m);
  }));

  test("topic configs need DESCRIBE_CONFIGS on the topic: refused entries get 29, granted ones the broker's answer", guard(async () => {
    const producer = client("producer").admin();
    await producer.connect();
    try {
      await assert.rejects(producer.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: "orders" }], includeSynonyms: false }),
        (e: any) => /TOPIC_AUTHORIZATION_FAILED/.test(String(e.type ?? "") + e.message));
    } finally {
      await producer.disconnect();
    }
    const admin = client("admin").admin();
    await admin.connect();
    try {
      const r = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: "orders" }], includeSynonyms: false });
      assert.equal(r.resources[0].errorCode, 0);
      assert.ok(r.resources[0].configEntries.some((c) => c.configName === "retention.ms"));
    } finally {
      await admin.disconnect();
    }
  }));
});
