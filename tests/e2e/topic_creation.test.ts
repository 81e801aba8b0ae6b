// Requests that make the broker create topics, through real Envoy + filter + Kafka, hand-made:
// Kafka allows that only with CREATE on the topics (or on the cluster), whatever else the request
// needs. A principal without CREATE must not get topics created (the broker's direct listener is
// the witness); one with CREATE does (so the witness can see a creation).
// - StreamsGroupHeartbeat (KIP-1071): the broker creates the topology's missing internal topics
//   (changelog and repartition topics) for a member with READ on the group.
// - Metadata: with auto.create.topics.enable (Kafka's default), the broker creates missing topics
//   a Metadata request names (v4+ when its AllowAutoTopicCreation flag is set, always before).
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { suiteTestBed } from "../harness/testbed.ts";
import { requestFrame } from "../harness/raw_client.ts";
import { RawConnection } from "../harness/raw_connection.ts";
import { brokerTopics, createTopics } from "../harness/broker_view.ts";
import { allow as rule } from "../harness/acl_rules.ts";
import { compactStr, i32 } from "../harness/kafka_bytes.ts";


const CONFIG = {
  principal_sources: ["client_id"],
  acls: {
    super_users: [],
    rules: [
      rule("*", "topic", "streams-in", ["read"]),
      rule("User:streamer", "group", "app", ["read"]),
      rule("User:streamer", "topic", "app-", ["describe"], "prefixed"),
      rule("User:streams-owner", "group", "app2", ["read"], "prefixed"),
      rule("User:streams-owner", "topic", "app2-", ["describe", "create"], "prefixed"),
      rule("User:describer", "topic", "auto-", ["describe"], "prefixed"),
      rule("User:creator", "topic", "auto2-", ["describe", "create"], "prefixed"),
    ],
  },
};

const TOPIC_AUTHORIZATION_FAILED = 29;
// What a group request gets before the broker's group coordinator has loaded.
const COORDINATOR_NOT_AVAILABLE = 15;
const NOT_COORDINATOR = 16;

// A first heartbeat (epoch 0) of a member of `group` whose one subtopology reads `streams-in`
// and keeps a state store in `changelog`, which the broker creates when it is missing.
function joinBody(group: string, changelog: string): Buffer {
  const topicInfo = Buffer.concat([compactStr(changelog), i32(0), Buffer.from([0, 0]), Buffer.from([1, 0])]);
  const subtopology = Buffer.concat([
    compactStr("0"),
    Buffer.from([2]), compactStr("streams-in"), // source topics
    Buffer.from([1]), // source topic regexes
    Buffer.from([2]), topicInfo, // state changelog topics
    Buffer.from([1]), Buffer.from([1]), Buffer.from([1]), // repartition sink, source topics, copartition groups
    Buffer.from([0]),
  ]);
  return Buffer.concat([
    compactStr(group), compactStr(randomUUID()), i32(0), i32(0),
    Buffer.from([0, 0]), // instance id, rack id: null
    i32(30000),
    Buffer.from([1]), i32(0), Buffer.from([2]), subtopology, Buffer.from([0]), // topology
    Buffer.from([1, 1, 1]), // active, standby, warmup tasks: empty
    compactStr("process-1"),
    Buffer.from([0xff]), // user endpoint: null
    Buffer.from([1, 0, 0]), // client tags: empty; task offsets, task end offsets: null
    Buffer.from([0, 0]), // shutdown application; tagged fields
  ]);
}

// Metadata v12 (flexible) asking for `topic` by name, allowing auto-creation; v1 (which always
// allows it).
function metadataV12(topic: string): Buffer {
  return Buffer.concat([Buffer.from([2]), Buffer.alloc(16), compactStr(topic), Buffer.from([0]), Buffer.from([1, 0, 0])]);
}

function metadataV1(topic: string): Buffer {
  const name = Buffer.from(topic);
  const b = Buffer.alloc(6);
  b.writeInt32BE(1, 0);
  b.writeInt16BE(name.length, 4);
  return Buffer.concat([b, name]);
}

describe("topic creation on the broker's initiative through Envoy + filter + Kafka", () => {
  const suite = suiteTestBed("topic-creation", CONFIG, {
    kafka: { props: { "group.coordinator.rebalance.protocols": "classic,consumer,streams", "auto.create.topics.enable": "true" } },
  });
  const { guard } = suite;
  const heartbeat = async (clientId: string, group: string, changelog: string): Promise<number> => {
    const c = await RawConnection.open(suite.bed.envoy.listenPort);
    try {
      const response = await c.request(requestFrame(88, 0, 7, clientId, joinBody(group, changelog), true));
      // size, correlation id, header tags, throttle time, then the error code.
      assert.equal(response.readInt32BE(4), 7);
      return response.readInt16BE(13);
    } finally {
      c.close();
    }
  };
  const waitForTopic = async (topic: string, timeoutMs: number): Promise<boolean> => {
    for (const end = Date.now() + timeoutMs; Date.now() < end; await new Promise((r) => setTimeout(r, 250))) {
      if ((await brokerTopics(suite.bed.kafka)).includes(topic)) return true;
    }
    return false;
  };

  before(() => createTopics(suite.bed.kafka, ["streams-in"]));

  test("READ on the group and DESCRIBE on the topics without CREATE: refused, no internal topic on the broker", guard(async () => {
    // With CREATE, a heartbeat has the broker create its changelog topic (once the group
    // coordinator, which the first group request starts, is up).
    let error = NOT_COORDINATOR;
    for (let i = 0; i < 60 && (error == NOT_COORDINATOR || error == COORDINATOR_NOT_AVAILABLE); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 500));
      // FindCoordinator v3 (key, key type group) has the broker create its offsets topic.
      const c = await RawConnection.open(suite.bed.envoy.listenPort);
      await c.request(requestFrame(10, 3, 8, "streams-owner", Buffer.concat([compactStr("app2"), Buffer.from([0, 0])]), true));
      c.close();
      error = await heartbeat("streams-owner", "app2", "app2-store-changelog");
    }
    assert.equal(error, 0);
    assert.ok(await waitForTopic("app2-store-changelog", 15000), "the broker creates internal topics for a member allowed to");

    assert.equal(await heartbeat("streamer", "app", "app-store-changelog"), TOPIC_AUTHORIZATION_FAILED);
    // Another allowed member after it: once its topic exists, the refused one's would too, had
    // its heartbeat reached the broker.
    assert.equal(await heartbeat("streams-owner", "app2-late", "app2-late-changelog"), 0);
    assert.ok(await waitForTopic("app2-late-changelog", 15000));
    assert.ok(!(await brokerTopics(suite.bed.kafka)).includes("app-store-changelog"), "an internal topic was created without CREATE");
  }));

  test("Metadata auto-creation without CREATE: the topic is not created", guard(async () => {
    const metadata = async (clientId: string, version: number, body: Buffer) => {
      const c = await RawConnection.open(suite.bed.envoy.listenPort);
      try {
        const response = await c.request(requestFrame(3, version, 9, clientId, body, version >= 9));
        assert.equal(response.readInt32BE(4), 9);
      } finally {
        c.close();
      }
    };
    await metadata("describer", 12, metadataV12("auto-one"));
    await metadata("describer", 1, metadataV1("auto-v1"));
    // A principal with CREATE gets its topic; after that the others would exist too.
    await metadata("creator", 12, metadataV12("auto2-one"));
    assert.ok(await waitForTopic("auto2-one", 15000), "the broker auto-creates topics for a principal allowed to");
    await metadata("creator", 1, metadataV1("auto2-v1"));
    assert.ok(await waitForTopic("auto2-v1", 15000));
    const topics = await brokerTopics(suite.bed.kafka);
    assert.ok(!topics.includes("auto-one"), "Metadata v12 created a topic without CREATE");
    assert.ok(!topics.includes("auto-v1"), "Metadata v1 created a topic without CREATE");
  }));
});
