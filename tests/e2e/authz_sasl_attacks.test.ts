// Attacks on the SASL identity (issue 12, items 1-3), in raw frames through Envoy + filter to a
// broker with SASL PLAIN and SCRAM-SHA-256 on its proxied listener and no authorizer of its own:
// the filter's ACLs are all that stands between a user and what the broker runs, and the broker's
// DIRECT listener shows what got through. The default principal_sources (all four) are in force,
// so a client id `admin` is one fallback away from a super user.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { suiteTestBed } from "../harness/testbed.ts";
import { requestFrame } from "../harness/raw_client.ts";
import { RawSession, ScramSha256Client } from "../harness/raw_session.ts";
import { javaClient } from "../harness/java_client.ts";
import { brokerOffset as viewOffset, brokerTopics as viewTopics, createTopics } from "../harness/broker_view.ts";
import { bytes, i16, i32, str, varint } from "../harness/kafka_bytes.ts";
import { crc32c } from "./oracle/crc32c.ts";

const PLAIN_JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required " +
  'user_alice="alice-pw" user_mallory="mallory-pw" user_admin="admin-pw";';
const SCRAM_JAAS = "org.apache.kafka.common.security.scram.ScramLoginModule required;";
const ILLEGAL_SASL_STATE = 34;
const TOPIC_AUTHORIZATION_FAILED = 29;


// SaslHandshake v1 and SaslAuthenticate v1 (non-flexible); their answers carry the error code
// right after the correlation id.
const handshake = (corr: number, mechanism: string) => requestFrame(17, 1, corr, "sasl-client", str(mechanism));
const authenticate = (corr: number, token: string, clientId = "sasl-client") =>
  requestFrame(36, 1, corr, clientId, bytes(Buffer.from(token)));
const plain = (user: string, password: string) => `\0${user}\0${password}`;
const errorOf = (answer: Buffer) => answer.readInt16BE(8);
// SaslAuthenticate v1 answer: error code, nullable error message, auth bytes.
const authBytesOf = (answer: Buffer) => {
  const messageLen = answer.readInt16BE(10);
  const at = 12 + Math.max(messageLen, 0);
  return answer.subarray(at + 4, at + 4 + answer.readInt32BE(at)).toString();
};

// CreateTopics v4 for one topic; its answer: throttle, topics [name, error code, ...].
const createTopic = (corr: number, topic: string, clientId: string) => requestFrame(19, 4, corr, clientId,
  Buffer.concat([i32(1), str(topic), i32(1), i16(1), i32(0), i32(0), i32(5000), Buffer.from([0])]));
const createTopicError = (answer: Buffer) => answer.readInt16BE(16 + 2 + answer.readInt16BE(16));

// A record batch (magic 2) with one record, its CRC-32C computed as the broker checks it.
function recordBatch(value: string): Buffer {
  const v = Buffer.from(value);
  // attributes, timestamp delta, offset delta, key length -1, value, no headers
  const record = Buffer.concat([Buffer.from([0, 0, 0]), varint(-1), varint(v.length), v, varint(0)]);
  const tail = Buffer.alloc(2 + 4 + 8 + 8 + 8 + 2 + 4 + 4);
  const now = BigInt(Date.now());
  tail.writeInt16BE(0, 0); // attributes
  tail.writeInt32BE(0, 2); // last offset delta
  tail.writeBigInt64BE(now, 6);
  tail.writeBigInt64BE(now, 14);
  tail.writeBigInt64BE(-1n, 22); // producer id
  tail.writeInt16BE(-1, 30); // producer epoch
  tail.writeInt32BE(-1, 32); // base sequence
  tail.writeInt32BE(1, 36); // records
  const body = Buffer.concat([tail, varint(record.length), record]);
  const head = Buffer.alloc(8 + 4 + 4 + 1 + 4);
  head.writeInt32BE(4 + 1 + 4 + body.length, 8);
  head.writeInt32BE(-1, 12); // partition leader epoch
  head.writeInt8(2, 16); // magic
  head.writeUInt32BE(crc32c(body), 17);
  return Buffer.concat([head, body]);
}
// Produce v7, acks=1, one record to partition 0; its answer: topics [name, partitions [index, error code, ...]].
const produce = (corr: number, topic: string, value: string, clientId: string) => requestFrame(0, 7, corr, clientId,
  Buffer.concat([i16(-1), i16(1), i32(5000), i32(1), str(topic), i32(1), i32(0), bytes(recordBatch(value))]));
const produceError = (answer: Buffer) => answer.readInt16BE(8 + 4 + 2 + answer.readInt16BE(12) + 4 + 4);

describe("SASL identity attacks: pipelined logins and requests behind a login", () => {
  const suite = suiteTestBed("authz-sasl-attacks", {
    // principal_sources left at its default: mtls_uri_san, mtls_subject, sasl, client_id.
    acls: {
      super_users: ["User:admin"],
      rules: [
        // The control user: what the raw frames do when the principal may.
        { principal: "User:alice", permission: "allow", resource: "topic", name: "secret", operations: ["write"] },
        { principal: "User:alice", permission: "allow", resource: "topic", pattern: "prefixed", name: "made-by-alice", operations: ["create"] },
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
        // KIP-368: sessions end after 3 s, clients log in again on the same connection.
        "connections.max.reauth.ms": "3000",
      },
      scram: ["SCRAM-SHA-256=[name=carol,password=carol-pw]", "SCRAM-SHA-256=[name=admin,password=admin-pw]"],
    },
  });
  const { guard } = suite;
  const port = () => suite.bed.envoy.listenPort;
  const secretOffset = () => viewOffset(suite.bed.kafka, "secret");
  const brokerTopics = () => viewTopics(suite.bed.kafka);
  const sessions: RawSession[] = [];
  const open = async () => {
    const s = await RawSession.open(port());
    sessions.push(s);
    return s;
  };
  const answers = async (s: RawSession, n: number) => {
    const got = await s.read(n);
    assert.equal(got.length, n, `expected ${n} answers, got ${got.length}`);
    return got;
  };
  const plainHandshake = async (s: RawSession) => {
    s.write(handshake(1, "PLAIN"));
    assert.equal(errorOf((await answers(s, 1))[0]), 0);
  };
  // A SCRAM login up to the server-first message; returns the client-final to send.
  const scramFirstLeg = async (s: RawSession, user: string, password: string) => {
    const scram = new ScramSha256Client(user, password);
    s.write(handshake(1, "SCRAM-SHA-256"));
    assert.equal(errorOf((await answers(s, 1))[0]), 0);
    s.write(authenticate(2, scram.clientFirst()));
    const [serverFirst] = await answers(s, 1);
    assert.equal(errorOf(serverFirst), 0);
    return scram.clientFinal(authBytesOf(serverFirst));
  };
  // After the login, the connection's principal creates a topic and writes to `secret`.
  const createAndProduce = async (s: RawSession, topic: string, clientId: string) => {
    s.write(createTopic(10, topic, clientId));
    const [created] = await answers(s, 1);
    s.write(produce(11, "secret", `to ${topic}`, clientId));
    const [produced] = await answers(s, 1);
    return { create: createTopicError(created), produce: produceError(produced) };
  };

  const envoyStat = async (name: string) => (await suite.bed.envoy.stats(name)).get(name) ?? 0;

  before(() => createTopics(suite.bed.kafka, ["secret", "orders"]));
  after(() => sessions.forEach((s) => s.close()));

  test("control: the same frames from a user with the grants create the topic and write the record", guard(async () => {
    const s = await open();
    await plainHandshake(s);
    s.write(authenticate(2, plain("alice", "alice-pw")));
    assert.equal(errorOf((await answers(s, 1))[0]), 0);
    assert.deepEqual(await createAndProduce(s, "made-by-alice", "alice-app"), { create: 0, produce: 0 });
    assert.ok((await brokerTopics()).includes("made-by-alice"));
    assert.equal(await secretOffset(), 1);
  }));

  test("PLAIN: a second SaslAuthenticate naming admin in the same write as mallory's login never becomes the principal", guard(async () => {
    const s = await open();
    await plainHandshake(s);
    s.write(authenticate(2, plain("mallory", "mallory-pw")), authenticate(3, plain("admin", "wrong")));
    const [mallory, admin] = await answers(s, 2);
    assert.equal(errorOf(mallory), 0);
    assert.equal(errorOf(admin), ILLEGAL_SASL_STATE, "the broker keeps mallory and refuses the second login");
    assert.deepEqual(await createAndProduce(s, "made-by-mallory", "mallory-app"),
      { create: TOPIC_AUTHORIZATION_FAILED, produce: TOPIC_AUTHORIZATION_FAILED });
    assert.ok(!(await brokerTopics()).includes("made-by-mallory"));
    assert.equal(await secretOffset(), 1);
  }));

  test("SCRAM-SHA-256: a client-first naming admin in the same write as carol's client-final never becomes the principal", guard(async () => {
    const s = await open();
    const clientFinal = await scramFirstLeg(s, "carol", "carol-pw");
    s.write(authenticate(3, clientFinal), authenticate(4, new ScramSha256Client("admin", "wrong").clientFirst()));
    const [carol, admin] = await answers(s, 2);
    assert.equal(errorOf(carol), 0);
    assert.equal(errorOf(admin), ILLEGAL_SASL_STATE, "the broker keeps carol and refuses the second login");
    assert.deepEqual(await createAndProduce(s, "made-by-carol", "carol-app"),
      { create: TOPIC_AUTHORIZATION_FAILED, produce: TOPIC_AUTHORIZATION_FAILED });
    assert.ok(!(await brokerTopics()).includes("made-by-carol"));
    assert.equal(await secretOffset(), 1);
  }));

  test("requests with client id admin pipelined behind a login, before its answer, are refused and the connection closed", guard(async () => {
    const pendingRefused = async () => (await suite.bed.envoy.stats("kafka_proxy.sasl")).get("wasmcustom.kafka_proxy.sasl.pending_refused") ?? 0;
    const refusedBefore = await pendingRefused();
    // PLAIN: the login and the requests in one write.
    const p = await open();
    await plainHandshake(p);
    p.write(authenticate(2, plain("mallory", "mallory-pw"), "admin"),
      createTopic(3, "made-behind-plain", "admin"), produce(4, "secret", "behind plain", "admin"));
    const plainAnswers = await p.read(3, 5000);
    // SCRAM: behind the client-final.
    const s = await open();
    const clientFinal = await scramFirstLeg(s, "carol", "carol-pw");
    s.write(authenticate(3, clientFinal, "admin"),
      createTopic(4, "made-behind-scram", "admin"), produce(5, "secret", "behind scram", "admin"));
    const scramAnswers = await s.read(3, 5000);

    const topics = await brokerTopics();
    assert.ok(!topics.includes("made-behind-plain") && !topics.includes("made-behind-scram"), topics.join());
    assert.equal(await secretOffset(), 1);
    // Fail-closed: the whole write is dropped (the login with it) and the connection closed.
    assert.equal(plainAnswers.length, 0, "nothing of the PLAIN write is answered");
    assert.equal(scramAnswers.length, 0, "nothing of the SCRAM write is answered");
    assert.ok(await p.closed() && await s.closed(), "the filter closes both connections");
    assert.equal(await pendingRefused(), refusedBefore + 2);
  }));

  test("KIP-368: the Java client logging in again as the same SCRAM user keeps its principal and goes on producing", guard(async () => {
    const handshakes = () => envoyStat("wasmcustom.kafka_proxy.requests.api.SaslHandshake.v.1");
    const connections = () => envoyStat("tcp.kafka.downstream_cx_total");
    const [handshakesBefore, connectionsBefore] = [await handshakes(), await connections()];
    const out = await javaClient(["produce", suite.bed.bootstrap, "orders", "reauth", "10,10,10"], 90000, "admin",
      { SASL_MECHANISM: "SCRAM-SHA-256", SASL_USER: "carol", SASL_PASSWORD: "carol-pw", SEND_GAP_MS: "4000" });
    assert.equal(out.match(/produced reauth-\d/g)?.length, 3, out);
    assert.equal(await viewOffset(suite.bed.kafka, "orders"), 3);
    // More logins than connections: at least one re-authentication went through the filter.
    const [logins, opened] = [(await handshakes()) - handshakesBefore, (await connections()) - connectionsBefore];
    assert.ok(logins > opened, `${logins} SaslHandshake requests on ${opened} connections`);
  }));
});
