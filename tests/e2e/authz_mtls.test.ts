// Authorization on the identity Istio gives workloads: Envoy terminates mTLS with real
// certificates (openssl-made CA, client certificates with SPIFFE URI SANs, or only a subject),
// the filter takes the principal from the peer certificate, and the ACLs decide per SPIFFE id
// or subject; a client id never stands in for a certificate.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { suiteTestBed } from "../harness/testbed.ts";
import { brokerOffset as viewOffset, createTopics } from "../harness/broker_view.ts";
import { makeCerts, CertPair, TestCerts } from "../harness/certs.ts";
import { auditEvents } from "../harness/audit_log.ts";

const WRITER = "spiffe://cluster.local/ns/shop/sa/orders-writer";
const INTRUDER = "spiffe://cluster.local/ns/other/sa/intruder";
// Envoy's subject_peer_certificate for a certificate without a URI SAN (RFC 2253 order).
const SUBJECT_WRITER = "CN=legacy-writer,O=kafka-proxy-wasm";

describe("authorization by mTLS peer identity (SPIFFE URI SAN)", () => {
  let certs: TestCerts | undefined;
  const suite = suiteTestBed("authz-mtls", {
    // The client id comes before the subject here on purpose: it must still not be used on a
    // connection with a certificate.
    principal_sources: ["mtls_uri_san", "client_id", "mtls_subject"],
    // Connection events carry the certificate's identity (audit.ts).
    audit: { connections: true },
    acls: {
      super_users: ["User:admin"],
      rules: [
        { principal: `User:${WRITER}`, permission: "allow", resource: "topic", name: "orders", operations: ["write"] },
        { principal: `User:${SUBJECT_WRITER}`, permission: "allow", resource: "topic", name: "orders", operations: ["write"] },
      ],
    },
  }, {
    envoy: (dir) => {
      certs = makeCerts(dir);
      return { mtls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca } };
    },
  });
  const { guard } = suite;
  const tlsClient = (pair: CertPair) => new Kafka({
    clientId: "admin", // would be a super user if the client id were the principal: it must not be
    brokers: [suite.bed.bootstrap],
    ssl: { ca: [readFileSync(certs!.ca)], cert: readFileSync(pair.cert), key: readFileSync(pair.key), servername: "localhost" },
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  const brokerOffset = (topic: string) => viewOffset(suite.bed.kafka, topic);
  // A write to `orders` with client id "admin" over `pair`'s certificate, which must be refused.
  const refusedWrite = async (pair: CertPair) => {
    const producer = tlsClient(pair).producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });
    await producer.connect();
    try {
      await assert.rejects(producer.send({ topic: "orders", messages: [{ value: "should not land" }] }),
        // kafkajs' wording for error 29 in the Metadata answer it gets first.
        /Not authorized to access topics: \[Topic authorization failed\]/);
    } finally {
      await producer.disconnect();
    }
  };


  before(() => createTopics(suite.bed.kafka, ["orders"]));

  test("the workload whose certificate names the allowed SPIFFE id writes", guard(async () => {
    const producer = tlsClient(certs!.client("writer", WRITER)).producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: "orders", messages: [{ value: "over mTLS" }] });
    await producer.disconnect();
    assert.equal(await brokerOffset("orders"), 1);
  }));

  test("another workload's certificate is refused with TOPIC_AUTHORIZATION_FAILED, whatever its client id", guard(async () => {
    await refusedWrite(certs!.client("intruder", INTRUDER));
    assert.equal(await brokerOffset("orders"), 1, "nothing from the intruder reached the broker");
  }));

  test("a certificate without a URI SAN is named by its subject, never by its client id", guard(async () => {
    const legacy = tlsClient(certs!.client("legacy-writer", "")).producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await legacy.connect();
    await legacy.send({ topic: "orders", messages: [{ value: "by subject" }] });
    await legacy.disconnect();
    assert.equal(await brokerOffset("orders"), 2);
    // Client id "admin" (a super user's name) on a certificate whose subject has no grant.
    await refusedWrite(certs!.client("legacy-other", ""));
    // A certificate naming nobody (empty subject, no SAN) still is a certificate: no client id.
    await refusedWrite(certs!.client("nobody", "", true));
    assert.equal(await brokerOffset("orders"), 2);
  }));

  test("the audit log names each connection's certificate identity and the refusals' principals", guard(async () => {
    await new Promise((r) => setTimeout(r, 1000)); // connections close asynchronously
    const events = auditEvents(readFileSync(suite.bed.envoy.service.logFile, "utf8"));
    const identities = new Set(events.filter((e) => e.kafka_proxy_audit === "connection_open").map((e) => e.mtls_identity));
    for (const id of [`User:${WRITER}`, `User:${INTRUDER}`, `User:${SUBJECT_WRITER}`]) assert.ok(identities.has(id), id);
    const closes = events.filter((e) => e.kafka_proxy_audit === "connection_close" && e.mtls_identity === `User:${WRITER}`);
    assert.ok(closes.some((e) => e.principal === `User:${WRITER}` && e.client_id === "admin" && e.bytes_in > 0 && e.bytes_out > 0));
    const refused = events.filter((e) => e.kafka_proxy_audit === "refusal").map((e) => e.principal);
    assert.ok(refused.includes(`User:${INTRUDER}`));
    assert.ok(!refused.includes("User:admin"), "a client id never names a refusal on a certificate connection");
  }));

  test("a client without a certificate cannot connect at all", guard(async () => {
    const kafka = new Kafka({
      clientId: "admin", brokers: [suite.bed.bootstrap], ssl: { ca: [readFileSync(certs!.ca)], servername: "localhost" },
      logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 3000,
    });
    const admin = kafka.admin();
    await assert.rejects(admin.connect());
    await admin.disconnect();
  }));
});
