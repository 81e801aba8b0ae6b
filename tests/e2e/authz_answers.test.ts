// The shapes of the filter's answers against Kafka's own (KafkaApis), through real Envoy + filter +
// Kafka with raw requests (principals from the client id): AuthorizedOperations computed from the
// filter's ACLs, all-or-nothing AddPartitionsToTxn, ElectLeaders refused per partition, refusals
// answered rather than closed (DeleteTopics v1-5, KIP-848 heartbeats), Fetch refused per topic.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { suiteTestBed } from "../harness/testbed.ts";
import { exchange, frames } from "../harness/raw_client.ts";
import { Struct, decodeResponse, encodeRequest, loadApis } from "./oracle/codec.ts";
import { allow } from "../harness/acl_rules.ts";


const CONFIG = {
  principal_sources: ["client_id"],
  acls: {
    super_users: ["User:admin"],
    rules: [
      allow("User:alice", "topic", "a-", ["read", "write"], "prefixed"),
      allow("User:alice", "topic", "shared", ["describe"]),
      allow("User:alice", "group", "ga", ["read"]),
      allow("User:alice", "transactional_id", "tx-a", ["write"]),
    ],
  },
};

// Kafka's AclOperation codes as bits (Utils.to32BitField).
const bit = (...codes: number[]) => codes.reduce((a, c) => a | (1 << c), 0);
const READ = 3, WRITE = 4, CREATE = 5, DELETE = 6, ALTER = 7, DESCRIBE = 8, CLUSTER_ACTION = 9, DESCRIBE_CONFIGS = 10,
  ALTER_CONFIGS = 11, IDEMPOTENT_WRITE = 12;
const NOT_ASKED = -2147483648;

describe("the filter answers as Kafka does", () => {
  const suite = suiteTestBed("authz-answers", CONFIG);
  const { guard } = suite;
  const apis = loadApis();

  // One request on a fresh connection, and its decoded answer (failing if the filter closed it).
  const answer = async (clientId: string, key: number, version: number, body: Struct): Promise<Struct> => {
    const api = apis.get(key)!;
    const frame = encodeRequest(api, version, 7, clientId, body);
    let got: Buffer = Buffer.alloc(0);
    for (let expect = 4; ; ) {
      const r = await exchange(suite.bed.envoy.listenPort, [frame], { timeoutMs: 10000, expectBytes: expect });
      got = r.received;
      if (got.length >= 4 && got.length >= 4 + got.readInt32BE(0)) break;
      assert.ok(!r.closedByPeer, `${api.name} v${version}: the filter closed the connection instead of answering`);
      if (got.length < 4) assert.fail(`${api.name} v${version}: no answer`);
      expect = 4 + got.readInt32BE(0);
    }
    return decodeResponse(api, version, got.subarray(0, 4 + got.readInt32BE(0))).body;
  };
  const list = (s: Struct, name: string) => s[name] as Struct[];

  before(async () => {
    await answer("admin", 19, 5, {
      Topics: ["a-1", "shared", "secret"].map((Name) => ({ Name, NumPartitions: 1, ReplicationFactor: 1, Assignments: [], Configs: [] })),
      TimeoutMs: 30000, ValidateOnly: false,
    });
  });

  test("AuthorizedOperations are the principal's from the filter's ACLs, not a broker without authorizer's 'everything'", guard(async () => {
    const md = await answer("alice", 3, 10, {
      Topics: [{ Name: "a-1", TopicId: Buffer.alloc(16) }, { Name: "shared", TopicId: Buffer.alloc(16) }],
      AllowAutoTopicCreation: false, IncludeClusterAuthorizedOperations: true, IncludeTopicAuthorizedOperations: true,
    });
    const ops = Object.fromEntries(list(md, "Topics").map((t) => [t.Name as string, t.TopicAuthorizedOperations]));
    // READ and WRITE imply DESCRIBE (Kafka's implied operations).
    assert.deepEqual(ops, { "a-1": bit(READ, WRITE, DESCRIBE), shared: bit(DESCRIBE) });
    assert.equal(md.ClusterAuthorizedOperations, 0);
    // Not asked for: the broker's INT32_MIN stays.
    const plain = await answer("alice", 3, 10, { Topics: [{ Name: "a-1", TopicId: Buffer.alloc(16) }], AllowAutoTopicCreation: false });
    assert.equal(list(plain, "Topics")[0].TopicAuthorizedOperations, NOT_ASKED);
    // A super user may do everything Kafka reports for a cluster and a topic.
    const su = await answer("admin", 3, 10, {
      Topics: [{ Name: "secret", TopicId: Buffer.alloc(16) }], AllowAutoTopicCreation: false,
      IncludeClusterAuthorizedOperations: true, IncludeTopicAuthorizedOperations: true,
    });
    assert.equal(su.ClusterAuthorizedOperations, bit(CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE));
    assert.equal(list(su, "Topics")[0].TopicAuthorizedOperations, bit(READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS));
    const dtp = await answer("alice", 75, 0, { Topics: [{ Name: "a-1" }], ResponsePartitionLimit: 100, Cursor: null });
    assert.equal(list(dtp, "Topics")[0].TopicAuthorizedOperations, bit(READ, WRITE, DESCRIBE));
    // A KIP-848 group of alice's, described with the classic and the new API.
    // The first group request makes the broker create its offsets topic: retried until loaded.
    let joined: Struct = {};
    for (let i = 0; i < 30; i++) {
      await answer("alice", 10, 4, { KeyType: 0, CoordinatorKeys: ["ga"] });
      joined = await answer("alice", 68, 0, {
        GroupId: "ga", MemberId: "m-ops", MemberEpoch: 0, InstanceId: null, RackId: null, RebalanceTimeoutMs: 30000,
        SubscribedTopicNames: ["a-1"], ServerAssignor: null, TopicPartitions: [],
      });
      if (joined.ErrorCode !== 14 && joined.ErrorCode !== 15 && joined.ErrorCode !== 16) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(joined.ErrorCode, 0);
    const described = await answer("alice", 69, 0, { GroupIds: ["ga"], IncludeAuthorizedOperations: true });
    assert.equal(list(described, "Groups")[0].AuthorizedOperations, bit(READ, DESCRIBE));
    const groups = await answer("alice", 15, 5, { Groups: ["ga"], IncludeAuthorizedOperations: true });
    assert.equal(list(groups, "Groups")[0].AuthorizedOperations, bit(READ, DESCRIBE));
    const cluster = await answer("alice", 60, 1, { IncludeClusterAuthorizedOperations: true, EndpointType: 1 });
    if (cluster.ErrorCode === 0) assert.equal(cluster.ClusterAuthorizedOperations, 0);
  }));

  test("AddPartitionsToTxn v3 with a refused topic adds nothing: 29 for it, OPERATION_NOT_ATTEMPTED (55) for the others", guard(async () => {
    const r = await answer("alice", 24, 3, {
      V3AndBelowTransactionalId: "tx-a", V3AndBelowProducerId: 1000n, V3AndBelowProducerEpoch: 0,
      V3AndBelowTopics: [{ Name: "a-1", Partitions: [0] }, { Name: "secret", Partitions: [0] }],
    });
    const codes = Object.fromEntries(list(r, "ResultsByTopicV3AndBelow").map((t) =>
      [t.Name as string, list(t, "ResultsByPartition").map((p) => p.PartitionErrorCode)]));
    assert.deepEqual(codes, { "a-1": [55], secret: [29] });
  }));

  test("ElectLeaders refused: each partition gets CLUSTER_AUTHORIZATION_FAILED (31), and the top level from v1", guard(async () => {
    for (const version of [0, 1]) {
      const r = await answer("alice", 43, version, { ElectionType: 0, TopicPartitions: [{ Topic: "a-1", Partitions: [0, 1] }], TimeoutMs: 1000 });
      const results = list(r, "ReplicaElectionResults");
      assert.deepEqual(results.map((t) => [t.Topic, list(t, "PartitionResult").map((p) => [p.PartitionId, p.ErrorCode])]),
        [["a-1", [[0, 31], [1, 31]]]], `v${version}`);
      if (version >= 1) assert.equal(r.ErrorCode, 31);
    }
  }));

  test("DeleteTopics v1-5 refused: answered per topic with 29, not closed, and the topic stays", guard(async () => {
    for (const version of [1, 5]) {
      const r = await answer("alice", 20, version, { TopicNames: ["a-1"], TimeoutMs: 1000 });
      assert.deepEqual(list(r, "Responses").map((t) => [t.Name, t.ErrorCode]), [["a-1", 29]], `v${version}`);
    }
    const md = await answer("admin", 3, 1, { Topics: [{ Name: "a-1" }] });
    assert.equal(list(md, "Topics")[0].ErrorCode, 0, "a-1 still exists");
  }));

  test("a KIP-848 heartbeat subscribing to a refused topic among granted ones gets TOPIC_AUTHORIZATION_FAILED, as from Kafka", guard(async () => {
    const r = await answer("alice", 68, 0, {
      GroupId: "ga", MemberId: "m-1", MemberEpoch: 0, InstanceId: null, RackId: null, RebalanceTimeoutMs: 30000,
      SubscribedTopicNames: ["a-1", "secret"], ServerAssignor: null, TopicPartitions: [],
    });
    assert.equal(r.ErrorCode, 29);
    assert.equal(r.Assignment, null);
  }));

  test("Fetch v12: forgotten topics are not checked, a refused topic gets 29 on its partitions and the granted one is fetched", guard(async () => {
    const part = { Partition: 0, CurrentLeaderEpoch: -1, FetchOffset: 0n, LastFetchedEpoch: -1, LogStartOffset: -1n, PartitionMaxBytes: 1024 };
    const base = { ReplicaId: -1, MaxWaitMs: 10, MinBytes: 0, MaxBytes: 65536, IsolationLevel: 0, SessionId: 0, SessionEpoch: -1, RackId: "" };
    const forgotten = await answer("alice", 1, 12, { ...base, Topics: [{ Topic: "a-1", Partitions: [part] }], ForgottenTopicsData: [{ Topic: "secret", Partitions: [0] }] });
    assert.equal(forgotten.ErrorCode, 0);
    assert.deepEqual(list(forgotten, "Responses").map((t) => [t.Topic, list(t, "Partitions").map((p) => p.ErrorCode)]), [["a-1", [0]]]);
    const mixed = await answer("alice", 1, 12, { ...base, Topics: [{ Topic: "a-1", Partitions: [part] }, { Topic: "secret", Partitions: [part] }],
      ForgottenTopicsData: [{ Topic: "secret", Partitions: [0] }] });
    assert.equal(mixed.ErrorCode, 0);
    assert.deepEqual(list(mixed, "Responses").map((t) => [t.Topic, list(t, "Partitions").map((p) => p.ErrorCode)]), [["a-1", [0]], ["secret", [29]]]);
  }));
});

describe("AuthorizedOperations with tenants: computed on the client's names", () => {
  const suite = suiteTestBed("authz-answers-tenant", {
    principal_sources: ["client_id"],
    rewrite: { tenants: [{ principal: "User:tenant-a", prefix: "tenantA." }] },
    acls: { rules: [allow("User:tenant-a", "topic", "t1", ["read", "create"])] },
  });
  const apis = loadApis();

  test("a tenant's topic shows the operations its ACLs (on the client name) allow", suite.guard(async () => {
    const ask = async (key: number, version: number, body: Struct) => {
      const api = apis.get(key)!;
      const { received } = await exchange(suite.bed.envoy.listenPort, [encodeRequest(api, version, 7, "tenant-a", body)], { timeoutMs: 10000, expectBytes: 8 });
      let [frame] = frames(received);
      if (!frame) {
        // The first bytes only: wait for the whole frame.
        const again = await exchange(suite.bed.envoy.listenPort, [encodeRequest(api, version, 7, "tenant-a", body)],
          { timeoutMs: 10000, expectBytes: 4 + received.readInt32BE(0) });
        [frame] = frames(again.received);
      }
      return decodeResponse(api, version, frame).body;
    };
    const created = await ask(19, 5, { Topics: [{ Name: "t1", NumPartitions: 1, ReplicationFactor: 1, Assignments: [], Configs: [] }], TimeoutMs: 30000, ValidateOnly: false });
    assert.equal((created.Topics as Struct[])[0].ErrorCode, 0);
    const md = await ask(3, 10, { Topics: [{ Name: "t1", TopicId: Buffer.alloc(16) }], AllowAutoTopicCreation: false, IncludeTopicAuthorizedOperations: true });
    const [t] = md.Topics as Struct[];
    assert.equal(t.Name, "t1");
    assert.equal(t.TopicAuthorizedOperations, bit(READ, CREATE, DESCRIBE));
  }));
});
