// StreamsGroupHeartbeat (KIP-1071) through real Envoy + filter + Kafka, hand-made: the broker
// creates the topology's missing internal topics (changelog and repartition topics) for the
// member, which Kafka allows only with CREATE on them (or on the cluster). A principal with READ
// on the group and DESCRIBE on the topics but no CREATE must not get them created (the broker's
// direct listener is the witness); one with CREATE does (so the witness can see a creation).
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { suiteTestBed } from "../harness/testbed.ts";
import { requestFrame } from "../harness/raw_client.ts";
import { RawConnection } from "../harness/raw_connection.ts";
import { brokerTopics, createTopics } from "../harness/broker_view.ts";

const rule = (principal: string, resource: string, name: string, operations: string[], pattern = "literal") =>
  ({ principal, permission: "allow", resource, name, operations, pattern });

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
    ],
  },
};

const TOPIC_AUTHORIZATION_FAILED = 29;
// What a group request gets before the broker's group coordinator has loaded.
const COORDINATOR_NOT_AVAILABLE = 15;
const NOT_COORDINATOR = 16;

function compactString(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length + 1]), b]);
}

function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
}

// A first heartbeat (epoch 0) of a member of `group` whose one subtopology reads `streams-in`
// and keeps a state store in `changelog`, which the broker creates when it is missing.
function joinBody(group: string, changelog: string): Buffer {
  const topicInfo = Buffer.concat([compactString(changelog), int32(0), Buffer.from([0, 0]), Buffer.from([1, 0])]);
  const subtopology = Buffer.concat([
    compactString("0"),
    Buffer.from([2]), compactString("streams-in"), // source topics
    Buffer.from([1]), // source topic regexes
    Buffer.from([2]), topicInfo, // state changelog topics
    Buffer.from([1]), Buffer.from([1]), Buffer.from([1]), // repartition sink, source topics, copartition groups
    Buffer.from([0]),
  ]);
  return Buffer.concat([
    compactString(group), compactString(randomUUID()), int32(0), int32(0),
    Buffer.from([0, 0]), // instance id, rack id: null
    int32(30000),
    Buffer.from([1]), int32(0), Buffer.from([2]), subtopology, Buffer.from([0]), // topology
    Buffer.from([1, 1, 1]), // active, standby, warmup tasks: empty
    compactString("process-1"),
    Buffer.from([0xff]), // user endpoint: null
    Buffer.from([1, 0, 0]), // client tags: empty; task offsets, task end offsets: null
    Buffer.from([0, 0]), // shutdown application; tagged fields
  ]);
}

describe("StreamsGroupHeartbeat internal topic creation through Envoy + filter + Kafka", () => {
  const suite = suiteTestBed("streams-create", CONFIG, {
    kafka: { props: { "group.coordinator.rebalance.protocols": "classic,consumer,streams" } },
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
      await c.request(requestFrame(10, 3, 8, "streams-owner", Buffer.concat([compactString("app2"), Buffer.from([0, 0])]), true));
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
});
