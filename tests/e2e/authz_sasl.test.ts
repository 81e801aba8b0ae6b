// Principals from SASL: the broker authenticates (PLAIN and SCRAM-SHA-256 on its proxied
// listener), the filter reads the username from the SaslAuthenticate exchange and adopts it only
// once the broker accepted it; the ACLs then decide per SASL user, whatever the client id.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel, Partitioners, SASLOptions } from "kafkajs";
import { suiteTestBed } from "../harness/testbed.ts";
import { brokerOffset as viewOffset, createTopics } from "../harness/broker_view.ts";

const PLAIN_JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-pw" user_mallory="mallory-pw";';
const SCRAM_JAAS = "org.apache.kafka.common.security.scram.ScramLoginModule required;";

describe("authorization by SASL username (PLAIN, SCRAM-SHA-256)", () => {
  const suite = suiteTestBed("authz-sasl", {
    principal_sources: ["sasl"],
    acls: {
      rules: [
        { principal: "User:alice", permission: "allow", resource: "topic", name: "orders", operations: ["write"] },
        { principal: "User:carol", permission: "allow", resource: "topic", name: "orders", operations: ["write"] },
      ],
    },
  }, {
    kafka: {
      props: {
        "listener.security.protocol.map": "PROXIED:SASL_PLAINTEXT,DIRECT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256",
        "listener.name.proxied.plain.sasl.jaas.config": PLAIN_JAAS,
        "listener.name.proxied.scram-sha-256.sasl.jaas.config": SCRAM_JAAS,
      },
      scram: ["SCRAM-SHA-256=[name=carol,password=carol-pw]"],
    },
  });
  const { guard } = suite;
  const saslClient = (sasl: SASLOptions) => new Kafka({
    clientId: "same-client-id", brokers: [suite.bed.bootstrap], sasl, logLevel: logLevel.NOTHING, retry: { retries: 0 },
  });
  const brokerOffset = (topic: string) => viewOffset(suite.bed.kafka, topic);

  const send = async (sasl: SASLOptions, value: string) => {
    const producer = saslClient(sasl).producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });
    await producer.connect();
    try {
      await producer.send({ topic: "orders", messages: [{ value }] });
    } finally {
      await producer.disconnect();
    }
  };

  before(() => createTopics(suite.bed.kafka, ["orders"]));

  test("a PLAIN user with a WRITE grant produces", guard(async () => {
    await send({ mechanism: "plain", username: "alice", password: "alice-pw" }, "from alice");
    assert.equal(await brokerOffset("orders"), 1);
  }));

  test("a SCRAM-SHA-256 user with a WRITE grant produces", guard(async () => {
    await send({ mechanism: "scram-sha-256", username: "carol", password: "carol-pw" }, "from carol");
    assert.equal(await brokerOffset("orders"), 2);
  }));

  test("an authenticated PLAIN user without a grant is refused with error 29", guard(async () => {
    await assert.rejects(send({ mechanism: "plain", username: "mallory", password: "mallory-pw" }, "from mallory"),
      /Not authorized to access topics: \[Topic authorization failed\]/);
    assert.equal(await brokerOffset("orders"), 2);
  }));

  test("a failed login never becomes a principal: the broker refuses it and nothing is written", guard(async () => {
    await assert.rejects(send({ mechanism: "plain", username: "alice", password: "wrong" }, "impostor"), /SASL PLAIN authentication failed|Authentication failed/i);
    assert.equal(await brokerOffset("orders"), 2);
  }));
});
