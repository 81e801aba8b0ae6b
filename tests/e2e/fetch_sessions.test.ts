// Fetch sessions (KIP-227) through real Envoy + filter + Kafka, with hand-made Fetch frames: the
// broker keeps a session's topics, so an incremental Fetch naming a session id and no topics gets
// that session's records. A session may only be used on the connection it was created on (another
// one gets FETCH_SESSION_ID_NOT_FOUND, as from the broker, and no records), and every topic a
// Fetch response carries (by name or by topic id) must be one the requester may read and, with
// tenants, its tenant's (checked on one connection whose client-id principal changes).
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { suiteTestBed } from "../harness/testbed.ts";
import { javaClient } from "../harness/java_client.ts";
import { requestFrame } from "../harness/raw_client.ts";
import { RawConnection } from "../harness/raw_connection.ts";
import { createTopics } from "../harness/broker_view.ts";
import { allow } from "../harness/acl_rules.ts";
import { compactStr, i32 } from "../harness/kafka_bytes.ts";


const CONFIG = {
  principal_sources: ["client_id"],
  acls: {
    super_users: [],
    rules: [
      allow("User:alice", "topic", "orders", ["read"]),
      allow("User:alice", "topic", "alice-bulk", ["read"]),
      // mallory may read (and describe) only its own topic.
      allow("User:mallory", "topic", "mallory-topic", ["read"]),
      allow("User:tenant-a", "topic", "data", ["read"]),
      allow("User:tenant-b", "topic", "data", ["read"]),
      // A share group (KIP-932): sharer reads its topic; mallory may join the group but not read it.
      allow("User:sharer", "group", "sg", ["read"]),
      allow("User:sharer", "topic", "shared-orders", ["read"]),
      allow("User:sharer", "cluster", "kafka-cluster", ["describe"]),
      allow("User:mallory", "group", "sg", ["read"]),
      // Kafka's admin client (finding topic ids) starts with DescribeCluster.
      allow("User:tenant-b", "cluster", "kafka-cluster", ["describe"]),
      allow("User:alice", "cluster", "kafka-cluster", ["describe"]),
    ],
  },
  rewrite: {
    tenants: [
      { principal: "User:tenant-a", prefix: "tenantA." },
      { principal: "User:tenant-b", prefix: "tenantB." },
    ],
  },
};

const FETCH_SESSION_ID_NOT_FOUND = 70;
const SHARE_SESSION_NOT_FOUND = 122;
const SHARE_SECRET = "share-secret-record";
const ORDERS_SECRET = "orders-secret-record";
const TENANT_B_SECRET = "tenant-b-secret-record";
const BULK_SECRET = "bulk-secret-record";

// A Fetch (flexible: v12 names topics, v13 gives their ids) of partition 0 from offset 0 of
// `topic` (a name, or an id in hex), or of no topic; `sessionId`/`epoch` as KIP-227 has them.
function fetchBody(version: 12 | 13, sessionId: number, epoch: number, topic?: string): Buffer {
  const head = Buffer.alloc(25);
  head.writeInt32BE(-1, 0); // replica id
  head.writeInt32BE(100, 4); // max wait
  head.writeInt32BE(1, 8); // min bytes
  head.writeInt32BE(1 << 20, 12); // max bytes
  head.writeInt8(0, 16); // isolation level
  head.writeInt32BE(sessionId, 17);
  head.writeInt32BE(epoch, 21);
  let topics = Buffer.from([1]);
  if (topic !== undefined) {
    const name = version === 12 ? Buffer.concat([Buffer.from([Buffer.byteLength(topic) + 1]), Buffer.from(topic)]) : Buffer.from(topic, "hex");
    const partition = Buffer.from("00000000" + "ffffffff" + "0000000000000000" + "ffffffff" + "ffffffffffffffff" + "00100000" + "00", "hex");
    topics = Buffer.concat([Buffer.from([2]), name, Buffer.from([2]), partition, Buffer.from([0])]);
  }
  // Forgotten topics (none), rack id "", no tagged fields.
  return Buffer.concat([head, topics, Buffer.from([1, 1, 0])]);
}

interface FetchAnswer {
  error: number;
  sessionId: number;
  topics: number;
  bytes: Buffer;
}

// Response v12/v13: size, correlation id, header tags, throttle time, error code, session id, then
// the compact topic array's count + 1.
function parseFetch(frame: Buffer, correlationId: number): FetchAnswer {
  assert.equal(frame.readInt32BE(4), correlationId);
  return { error: frame.readInt16BE(13), sessionId: frame.readInt32BE(15), topics: frame[19] - 1, bytes: frame };
}

// ShareGroupHeartbeat v1: a member joining `group` subscribed to `topic`.
function shareJoinBody(group: string, member: string, topic: string): Buffer {
  return Buffer.concat([compactStr(group), compactStr(member), i32(0), Buffer.from([0]), Buffer.from([2]), compactStr(topic), Buffer.from([0])]);
}

// ShareFetch v1 of partition 0 of the topic with id `topicId` (hex), or of no topic.
function shareFetchBody(group: string, member: string, epoch: number, topicId?: string): Buffer {
  const topics = topicId === undefined ? Buffer.from([1])
    : Buffer.concat([Buffer.from([2]), Buffer.from(topicId, "hex"), Buffer.from([2]), i32(0), Buffer.from([1, 0]), Buffer.from([0])]);
  return Buffer.concat([compactStr(group), compactStr(member), i32(epoch), i32(500), i32(1), i32(1 << 20), i32(100), i32(100),
    topics, Buffer.from([1, 0])]);
}

describe("fetch sessions through Envoy + filter + Kafka", () => {
  const suite = suiteTestBed("fetch-sessions", CONFIG, {
    kafka: { props: { "group.coordinator.rebalance.protocols": "classic,consumer,share" } },
  });
  const { guard } = suite;
  const stat = (name: string) => suite.bed.envoy.stat(name);
  let correlation = 100;
  const fetch = async (c: RawConnection, clientId: string, version: 12 | 13, sessionId: number, epoch: number, topic?: string) => {
    const id = ++correlation;
    return parseFetch(await c.request(requestFrame(1, version, id, clientId, fetchBody(version, sessionId, epoch, topic), true)), id);
  };
  const open = () => RawConnection.open(suite.bed.envoy.listenPort);
  let tenantBDataId = "";

  before(async () => {
    await createTopics(suite.bed.kafka, ["orders", "tenantB.data", "tenantA.data", "shared-orders", "alice-bulk"]);
    const producer = new Kafka({ clientId: "setup", brokers: [suite.bed.kafka.direct], logLevel: logLevel.NOTHING })
      .producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: "orders", messages: [{ value: ORDERS_SECRET }] });
    await producer.send({ topic: "tenantB.data", messages: [{ value: TENANT_B_SECRET }] });
    // Answers to fetches of this topic span many of Envoy's reads (the hot path streams them).
    await producer.send({ topic: "alice-bulk", messages: [{ value: BULK_SECRET }] });
    for (let i = 0; i < 8; i++) await producer.send({ topic: "alice-bulk", messages: [{ value: "x".repeat(100_000) }] });
    await producer.disconnect();
    // Tenant B learns its topic's id through the proxy (which learns it from that Metadata).
    tenantBDataId = /topicid ([0-9a-f]{32})/.exec(await javaClient(["topicid", suite.bed.bootstrap, "data"], 120000, "tenant-b"))![1];
  });

  test("another connection's session id gets FETCH_SESSION_ID_NOT_FOUND and none of its records; the owner keeps using it", guard(async () => {
    const a = await open();
    const m = await open();
    try {
      const full = await fetch(a, "alice", 12, 0, 0, "orders");
      assert.equal(full.error, 0);
      assert.notEqual(full.sessionId, 0, "the broker opened a session");
      assert.ok(full.bytes.includes(ORDERS_SECRET));
      // mallory may not read `orders`, and names no topic: only the session would give them.
      const stolen = await fetch(m, "mallory", 12, full.sessionId, 1);
      assert.ok(!stolen.bytes.includes(ORDERS_SECRET), "mallory got alice's session's records");
      assert.deepEqual([stolen.error, stolen.sessionId, stolen.topics], [FETCH_SESSION_ID_NOT_FOUND, 0, 0]);
      // The suite's first refusal.
      assert.equal(await stat("sessions.refused"), 1);
      // The owner's incremental fetch (the session still at epoch 1) goes on.
      const next = await fetch(a, "alice", 12, full.sessionId, 1);
      assert.deepEqual([next.error, next.sessionId], [0, full.sessionId]);
      assert.ok(next.bytes.includes(ORDERS_SECRET));
    } finally {
      a.close();
      m.close();
    }
  }));

  test("two fetches pipelined from different principals: each answer is judged as its requester, and neither owns the session", guard(async () => {
    // alice's new-session Fetch of `alice-bulk` and, in the same write, a sessionless Fetch
    // (epoch -1) from mallory: the broker opens a session for alice only, but mallory's request
    // was the connection's last when alice's answer named the session.
    const bulkId = /topicid ([0-9a-f]{32})/.exec(await javaClient(["topicid", suite.bed.bootstrap, "alice-bulk"], 120000, "alice"))![1];
    const c = await open();
    try {
      const first = ++correlation;
      const second = ++correlation;
      const full = parseFetch(await c.request(Buffer.concat([
        requestFrame(1, 13, first, "alice", fetchBody(13, 0, 0, bulkId), true),
        requestFrame(1, 13, second, "mallory", fetchBody(13, 0, -1), true),
      ])), first);
      assert.equal(full.error, 0);
      assert.notEqual(full.sessionId, 0, "the broker opened a session for alice");
      assert.ok(full.bytes.includes(BULK_SECRET), "alice's answer was judged as mallory's");
      assert.ok(full.bytes.length > 500_000, "the answer spans many reads");
      assert.equal(parseFetch(await c.next(), second).sessionId, 0, "a sessionless fetch opens none");
      // mallory's incremental fetch of alice's session: its answer cannot go on unchecked.
      // (A closed connection would not do: the first bytes of an answer that streams have gone.)
      const stolen = await fetch(c, "mallory", 13, full.sessionId, 1).catch(() => null);
      assert.ok(!c.unread.includes(BULK_SECRET), "mallory got records of alice's session, in part of an answer");
      assert.ok(stolen !== null, "the connection was closed");
      assert.ok(!stolen.bytes.includes(BULK_SECRET), "mallory got the records of alice's session");
      assert.deepEqual([stolen.error, stolen.topics], [0, 0]);
    } finally {
      c.close();
    }
  }));

  test("by topic id (v13): tenant A cannot use tenant B's session", guard(async () => {
    const b = await open();
    const a = await open();
    try {
      const full = await fetch(b, "tenant-b", 13, 0, 0, tenantBDataId);
      assert.equal(full.error, 0);
      assert.notEqual(full.sessionId, 0);
      assert.ok(full.bytes.includes(TENANT_B_SECRET));
      const stolen = await fetch(a, "tenant-a", 13, full.sessionId, 1);
      assert.ok(!stolen.bytes.includes(TENANT_B_SECRET), "tenant A got tenant B's records");
      assert.deepEqual([stolen.error, stolen.topics], [FETCH_SESSION_ID_NOT_FOUND, 0]);
    } finally {
      b.close();
      a.close();
    }
  }));

  test("on one connection whose principal changes, a response topic the requester may not read is dropped (by name and by id)", guard(async () => {
    const c = await open();
    try {
      const full = await fetch(c, "alice", 12, 0, 0, "orders");
      assert.ok(full.bytes.includes(ORDERS_SECRET));
      const byName = await fetch(c, "mallory", 12, full.sessionId, 1);
      assert.ok(!byName.bytes.includes(ORDERS_SECRET), "mallory got records of a topic it may not read");
      assert.deepEqual([byName.error, byName.topics], [0, 0]);

      const fullB = await fetch(c, "tenant-b", 13, 0, 0, tenantBDataId);
      assert.ok(fullB.bytes.includes(TENANT_B_SECRET));
      const byId = await fetch(c, "tenant-a", 13, fullB.sessionId, 1);
      assert.ok(!byId.bytes.includes(TENANT_B_SECRET), "tenant A got tenant B's records by topic id");
      assert.deepEqual([byId.error, byId.topics], [0, 0]);
      // The suite's only drops but the pipelined test's one (the other tests' sessions are
      // refused before any response).
      assert.equal(await stat("sessions.response_topics_dropped"), 3);
    } finally {
      c.close();
    }
  }));

  test("share sessions: another connection naming a member's share session gets SHARE_SESSION_NOT_FOUND and none of its records", guard(async () => {
    const sharedId = /topicid ([0-9a-f]{32})/.exec(await javaClient(["topicid", suite.bed.bootstrap, "shared-orders"], 120000, "sharer"))![1];
    const member = randomUUID();
    // The group starts at the log's beginning (share.auto.offset.reset, set on the broker directly
    // with IncrementalAlterConfigs v1 on the group resource, type 32).
    const config = Buffer.concat([Buffer.from([2, 32]), compactStr("sg"), Buffer.from([2]), compactStr("share.auto.offset.reset"),
      Buffer.from([0]), compactStr("earliest"), Buffer.from([0, 0]), Buffer.from([0, 0])]);
    const direct = await RawConnection.open(suite.bed.kafka.directPort);
    const altered = await direct.request(requestFrame(44, 1, 300, "setup", config, true));
    direct.close();
    // size, correlation id, header tags, throttle time, one resource (count), its error code.
    assert.equal(altered.readInt16BE(14), 0, "share.auto.offset.reset set");
    const v = await open();
    const m = await open();
    let id = 200;
    const shareFetch = async (c: RawConnection, clientId: string, epoch: number, topic?: string) => {
      const frame = await c.request(requestFrame(78, 1, ++id, clientId, shareFetchBody("sg", member, epoch, topic), true));
      assert.equal(frame.readInt32BE(4), id);
      // size, correlation id, header tags, throttle time, then the error code.
      return { error: frame.readInt16BE(13), bytes: frame };
    };
    try {
      // Join (the coordinator may still be loading), then open the share session, which starts
      // the share partition at the log end: records written after it are the session's to fetch.
      let joined = -1;
      for (let i = 0; i < 40 && joined !== 0; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 500));
        // FindCoordinator v3 (key, key type group) has the broker create its offsets topic.
        await v.request(requestFrame(10, 3, ++id, "sharer", Buffer.concat([compactStr("sg"), Buffer.from([0, 0])]), true));
        const f = await v.request(requestFrame(76, 1, ++id, "sharer", shareJoinBody("sg", member, "shared-orders"), true));
        joined = f.readInt16BE(13);
      }
      assert.equal(joined, 0, "the member joined the share group");
      assert.equal((await shareFetch(v, "sharer", 0, sharedId)).error, 0);
      const producer = new Kafka({ clientId: "setup", brokers: [suite.bed.kafka.direct], logLevel: logLevel.NOTHING })
        .producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      await producer.send({ topic: "shared-orders", messages: [{ value: SHARE_SECRET }] });
      await producer.disconnect();
      // mallory may use the group, not read the topic: only the session would give it records.
      // (Polled: the share partition starts asynchronously; each request is the session's next epoch.)
      let stolen = await shareFetch(m, "mallory", 1);
      for (let epoch = 2; epoch < 20 && stolen.error === 0 && !stolen.bytes.includes(SHARE_SECRET); epoch++) stolen = await shareFetch(m, "mallory", epoch);
      assert.ok(!stolen.bytes.includes(SHARE_SECRET), "mallory got the member's share session's records");
      assert.equal(stolen.error, SHARE_SESSION_NOT_FOUND);
      // The member's own incremental fetch gets them.
      let got = false;
      for (let epoch = 1; epoch < 20 && !got; epoch++) got = (await shareFetch(v, "sharer", epoch)).bytes.includes(SHARE_SECRET);
      assert.ok(got, "the member fetches its records through its session");
    } finally {
      v.close();
      m.close();
    }
  }));
});
