// Listings and emptied lists through real Envoy + filter + Kafka (issue 12, items 4-7): what a
// principal sees where a request means "all topics", or comes to mean it once its refused
// entries are dropped, must be what Kafka's own authorizer would show: nothing it may not
// describe. Raw frames (tests/harness/kafka_codec.ts) reach every API version; the broker's
// DIRECT listener (no filter, no authorizer) shows what really exists and what got through.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { suiteTestBed } from "../harness/testbed.ts";
import { brokerGroups, createTopics } from "../harness/broker_view.ts";
import { call, decodeResponse, encodeRequest, Session } from "../harness/kafka_codec.ts";
import { RawConnection } from "../harness/raw_connection.ts";
import { allow } from "../harness/acl_rules.ts";


const CONFIG = {
  principal_sources: ["client_id"],
  acls: {
    super_users: ["User:admin"],
    rules: [
      // The reader may see orders and zeta, never secret; it may use groups rg and rg-sub. CREATE
      // on orders: Metadata v0-3 always asks the broker to create missing topics, and the filter
      // refuses such entries without CREATE (topic_creation.test.ts).
      allow("User:reader", "topic", "orders", ["read", "describe", "create"]),
      allow("User:reader", "topic", "zeta", ["describe"]),
      allow("User:reader", "group", "rg", ["read", "describe"]),
      allow("User:reader", "group", "rg-sub", ["read"]),
    ],
  },
};

const TOPIC_AUTHORIZATION_FAILED = 29;
const CLUSTER_AUTHORIZATION_FAILED = 31;

describe("listings and emptied lists through Envoy + filter + Kafka", () => {
  const suite = suiteTestBed("authz-listings", CONFIG);
  const { guard } = suite;
  const proxy = () => suite.bed.envoy.listenPort;
  const direct = () => suite.bed.kafka.direct;
  const ids = new Map<string, string>();
  const idOf = (b: Buffer) => b.toString("hex");

  before(async () => {
    await createTopics(suite.bed.kafka, ["orders", "secret", "zeta"]);
    // Every topic's id, from the broker itself; the same Metadata through the proxy (by the super
    // user) teaches the filter the ids, as any client's metadata refresh would.
    const meta = await call(direct(), 3, 12, "broker-view", { Topics: null });
    for (const t of meta.Topics) ids.set(t.Name, idOf(t.TopicId));
    await call(proxy(), 3, 12, "admin", { Topics: null });
    // Committed offsets of group rg for a topic the reader may read and one it may not see.
    // The broker answers NOT_COORDINATOR until its offsets topic exists.
    let errors: number[] = [];
    for (let i = 0; i < 60; i++) {
      // FindCoordinator is what makes the broker create it.
      await call(direct(), 10, 4, "broker-view", { KeyType: 0, CoordinatorKeys: ["rg"] });
      const commit = await call(direct(), 8, 2, "broker-view", {
        GroupId: "rg", GenerationIdOrMemberEpoch: -1, MemberId: "", RetentionTimeMs: -1,
        Topics: ["orders", "secret"].map((Name) => ({ Name, Partitions: [{ PartitionIndex: 0, CommittedOffset: 1, CommittedMetadata: "" }] })),
      });
      errors = commit.Topics.map((t: any) => t.Partitions[0].ErrorCode);
      if (errors.every((e) => e === 0)) break;
      await new Promise((res) => setTimeout(res, 500));
    }
    assert.deepEqual(errors, [0, 0], "offsets committed");
  });

  test("item 4: Metadata v0 naming only a refused topic is answered by the filter, not turned into all topics", guard(async () => {
    const r = await call(proxy(), 3, 0, "reader", { Topics: [{ Name: "secret" }] });
    assert.deepEqual(r.Topics.map((t: any) => [t.Name, t.ErrorCode]), [["secret", TOPIC_AUTHORIZATION_FAILED]]);
    // A named topic it may see still comes from the broker, the refused one merged in.
    const mixed = await call(proxy(), 3, 0, "reader", { Topics: [{ Name: "orders" }, { Name: "secret" }] });
    assert.deepEqual(mixed.Topics.map((t: any) => [t.Name, t.ErrorCode]).sort(), [["orders", 0], ["secret", TOPIC_AUTHORIZATION_FAILED]]);
    assert.ok(mixed.Brokers.length > 0);
  }));

  test("a listing pipelined behind another principal's request is judged as its own requester", guard(async () => {
    // reader asks for all topics and, in the same write, admin (a super user by client id) asks
    // for its API versions: the listing must still be the reader's, never the admin's.
    const c = await RawConnection.open(proxy());
    try {
      const listing = await c.request(Buffer.concat([
        encodeRequest(3, 12, 1, "reader", { Topics: null, AllowAutoTopicCreation: false, IncludeTopicAuthorizedOperations: false }),
        encodeRequest(18, 0, 2, "admin", {}),
      ]));
      const names = decodeResponse(3, 12, listing).body.Topics.map((t: any) => t.Name).sort();
      assert.deepEqual(names, ["orders", "zeta"]);
      assert.equal(decodeResponse(18, 0, await c.next()).body.ErrorCode, 0);
    } finally {
      c.close();
    }
  }));

  test("item 4: DescribeTopicPartitions naming only a refused topic gets error 29, not every topic", guard(async () => {
    const r = await call(proxy(), 75, 0, "reader", { Topics: [{ Name: "secret" }], ResponsePartitionLimit: 100, Cursor: null });
    assert.deepEqual(r.Topics.map((t: any) => [t.Name, t.ErrorCode]), [["secret", TOPIC_AUTHORIZATION_FAILED]]);
    assert.equal(r.NextCursor, null);
  }));

  test("item 4: an OffsetFetch v7 naming only a refused topic gets error 29 per partition and no top-level error", guard(async () => {
    const r = await call(proxy(), 9, 7, "reader", { GroupId: "rg", Topics: [{ Name: "secret", PartitionIndexes: [0] }], RequireStable: false });
    assert.equal(r.ErrorCode, 0);
    assert.deepEqual(r.Topics.map((t: any) => [t.Name, t.Partitions.map((p: any) => p.ErrorCode)]), [["secret", [TOPIC_AUTHORIZATION_FAILED]]]);
  }));

  test("a ConsumerGroupHeartbeat subscribing to a refused topic is refused whole with 29, as Kafka does", guard(async () => {
    const r = await call(proxy(), 68, 0, "reader", {
      GroupId: "rg-sub", MemberId: "", MemberEpoch: 0, RebalanceTimeoutMs: 30000, SubscribedTopicNames: ["secret"], TopicPartitions: [],
    });
    assert.equal(r.ErrorCode, TOPIC_AUTHORIZATION_FAILED);
    assert.ok(!(await brokerGroups(suite.bed.kafka)).includes("rg-sub"), "the heartbeat never reached the broker");
  }));

  test("item 5: DescribeTopicPartitions over all topics, page by page, shows only describable topics and cursors", guard(async () => {
    const seen: string[] = [];
    const cursors: string[] = [];
    let cursor: any = null;
    // One partition per page: the broker's cursor stops at every topic, hidden ones included.
    const session = new Session(proxy());
    try {
      for (let page = 0; page < 20; page++) {
        const r = await session.call(75, 0, "reader", { Topics: [], ResponsePartitionLimit: 1, Cursor: cursor });
        for (const t of r.Topics) seen.push(t.Name);
        cursor = r.NextCursor;
        if (cursor === null) break;
        cursors.push(cursor.TopicName);
      }
    } finally {
      session.close();
    }
    assert.equal(cursor, null, "the listing ends");
    assert.deepEqual(seen, ["orders", "zeta"]);
    for (const c of cursors) assert.ok(["", "orders", "zeta"].includes(c), `cursor ${JSON.stringify(c)} names no hidden topic`);
    // The broker's own listing stops its cursor at the hidden topic.
    const all = await call(direct(), 75, 0, "broker-view", { Topics: [{ Name: "orders" }, { Name: "secret" }], ResponsePartitionLimit: 1, Cursor: null });
    assert.deepEqual(all.NextCursor, { TopicName: "secret", PartitionIndex: 0 });
    // The placeholder cursor on a connection that holds none ends the listing (no loop back to the start).
    const other = await call(proxy(), 75, 0, "reader", { Topics: [], ResponsePartitionLimit: 1, Cursor: { TopicName: "", PartitionIndex: 0 } });
    assert.deepEqual([other.Topics, other.NextCursor], [[], null]);
  }));

  test("item 7: OffsetFetch for all topics of a readable group hides what the caller may not describe (v7, v8, v10)", guard(async () => {
    const v7 = await call(proxy(), 9, 7, "reader", { GroupId: "rg", Topics: null, RequireStable: false });
    assert.deepEqual(v7.Topics.map((t: any) => t.Name), ["orders"]);
    const v8 = await call(proxy(), 9, 8, "reader", { Groups: [{ GroupId: "rg", Topics: null }], RequireStable: false });
    assert.deepEqual(v8.Groups[0].Topics.map((t: any) => t.Name), ["orders"]);
    const v10 = await call(proxy(), 9, 10, "reader", { Groups: [{ GroupId: "rg", MemberId: null, MemberEpoch: -1, Topics: null }], RequireStable: false });
    assert.deepEqual(v10.Groups[0].Topics.map((t: any) => idOf(t.TopicId)), [ids.get("orders")]);
    // The broker holds both; the super user sees both through the proxy.
    const adminView = await call(proxy(), 9, 8, "admin", { Groups: [{ GroupId: "rg", Topics: null }], RequireStable: false });
    assert.deepEqual(adminView.Groups[0].Topics.map((t: any) => t.Name).sort(), ["orders", "secret"]);
  }));

  test("item 6: a KIP-848 regex subscription (.*) gets no undescribable topic; ConsumerGroupDescribe refuses the group naming one", guard(async () => {
    const memberId = randomUUID();
    const heartbeat = (epoch: number, join: boolean) => call(proxy(), 68, 1, "reader", join
      ? { GroupId: "rg", MemberId: memberId, MemberEpoch: 0, RebalanceTimeoutMs: 30000, SubscribedTopicNames: null,
        SubscribedTopicRegex: ".*", ServerAssignor: null, TopicPartitions: [] }
      : { GroupId: "rg", MemberId: memberId, MemberEpoch: epoch, RebalanceTimeoutMs: -1, SubscribedTopicNames: null,
        SubscribedTopicRegex: null, ServerAssignor: null, TopicPartitions: null });
    let r = await heartbeat(0, true);
    assert.equal(r.ErrorCode, 0);
    let assigned: string[] | undefined;
    // The broker resolves the regex in the background: heartbeat until an assignment comes.
    for (let i = 0; i < 40 && assigned === undefined; i++) {
      if (r.Assignment !== null && r.Assignment.TopicPartitions.length > 0) assigned = r.Assignment.TopicPartitions.map((t: any) => idOf(t.TopicId));
      else {
        await new Promise((res) => setTimeout(res, 250));
        r = await heartbeat(r.MemberEpoch, false);
        assert.equal(r.ErrorCode, 0);
      }
    }
    assert.ok(assigned !== undefined, "an assignment arrived");
    assert.ok(assigned!.includes(ids.get("orders")!), "the readable topic is assigned");
    assert.ok(!assigned!.includes(ids.get("secret")!), "the undescribable topic is not");
    for (const id of assigned!) assert.ok([ids.get("orders"), ids.get("zeta")].includes(id), `assigned id ${id} is describable`);
    // The broker (no authorizer) did assign secret: its description names it, so the reader gets
    // Kafka's answer for such a group.
    const view = await call(direct(), 69, 0, "broker-view", { GroupIds: ["rg"], IncludeAuthorizedOperations: false });
    const names = view.Groups[0].Members.flatMap((m: any) => m.Assignment.TopicPartitions.map((t: any) => t.TopicName));
    assert.ok(names.includes("secret"), "the broker assigned the hidden topic");
    const d = await call(proxy(), 69, 0, "reader", { GroupIds: ["rg"], IncludeAuthorizedOperations: false });
    assert.equal(d.Groups.length, 1);
    assert.equal(d.Groups[0].GroupId, "rg");
    assert.equal(d.Groups[0].ErrorCode, TOPIC_AUTHORIZATION_FAILED);
    assert.deepEqual(d.Groups[0].Members, []);
    // The super user sees the whole group.
    const a = await call(proxy(), 69, 0, "admin", { GroupIds: ["rg"], IncludeAuthorizedOperations: false });
    assert.equal(a.Groups[0].ErrorCode, 0);
    assert.equal(a.Groups[0].Members.length, 1);
  }));

  test("CreateAcls and DeleteAcls refused: one result per creation / filter with 31, as Kafka answers", guard(async () => {
    const acl = { ResourceType: 2, ResourceName: "orders", ResourcePatternType: 3, Principal: "User:reader", Host: "*", Operation: 3, PermissionType: 3 };
    const c = await call(proxy(), 30, 3, "reader", { Creations: [acl, { ...acl, ResourceName: "zeta" }] });
    assert.deepEqual(c.Results.map((x: any) => x.ErrorCode), [CLUSTER_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED]);
    const filter = { ResourceTypeFilter: 2, ResourceNameFilter: "orders", PatternTypeFilter: 3, PrincipalFilter: null, HostFilter: null, Operation: 1, PermissionType: 1 };
    const d = await call(proxy(), 31, 3, "reader", { Filters: [filter, filter, filter] });
    assert.deepEqual(d.FilterResults.map((x: any) => [x.ErrorCode, x.MatchingAcls.length]), [[31, 0], [31, 0], [31, 0]]);
    const describe = await call(proxy(), 29, 3, "reader", { ResourceTypeFilter: 1, ResourceNameFilter: null, PatternTypeFilter: 1,
      PrincipalFilter: null, HostFilter: null, Operation: 1, PermissionType: 1 });
    assert.equal(describe.ErrorCode, CLUSTER_AUTHORIZATION_FAILED);
    assert.deepEqual(describe.Resources, []);
  }));

  test("a 30 KB client id makes no 30 KB metric label: it counts under `other`", guard(async () => {
    const longId = "x".repeat(30000);
    const other = async () => (await suite.bed.envoy.stats("client_requests.client.other")).get("wasmcustom.kafka_proxy.client_requests.client.other") ?? 0;
    const before = await other();
    const r = await call(proxy(), 18, 0, longId, {});
    assert.equal(r.ErrorCode, 0);
    assert.equal(await other(), before + 1);
    const names = [...(await suite.bed.envoy.stats()).keys()];
    const longest = Math.max(...names.map((n) => n.length));
    assert.ok(longest < 400, `longest stat name has ${longest} characters`);
  }));
});
