// Hand-picked requests that need state from an earlier answer (a fetch session, a group member's
// epoch) and so cannot be generated one at a time. Each step runs on both paths with the values
// its own path answered before, and every step's answers are judged like a generated request.
import { Struct } from "./codec.ts";
import { RawRequest } from "./client.ts";
import { recordBatch } from "./fill.ts";

export interface Step {
  principal: string;
  key: number;
  version: number;
  // Builds the request from this path's earlier answers and topic ids.
  body: (earlier: Struct[], topicId: (name: string) => Buffer) => Struct;
  // Wait before sending (the broker does some work in the background, e.g. resolving regexes).
  delayMs?: number;
}

export interface Sequence {
  label: string;
  // The API the sequence belongs to: it runs after that API's generated requests.
  key: number;
  steps: Step[];
}

const fetchTopic = (topic: string, v: number, topicId: (n: string) => Buffer): Struct => ({
  ...(v >= 13 ? { TopicId: topicId(topic) } : { Topic: topic }),
  Partitions: [{ Partition: 0, CurrentLeaderEpoch: -1, FetchOffset: 0n, LastFetchedEpoch: -1, LogStartOffset: -1n, PartitionMaxBytes: 1 << 20 }],
});

const fetchBody = (sessionId: number, epoch: number, topics: Struct[]): Struct => ({
  ReplicaId: -1, MaxWaitMs: 0, MinBytes: 0, MaxBytes: 1 << 20, IsolationLevel: 0, SessionId: sessionId, SessionEpoch: epoch,
  Topics: topics, ForgottenTopicsData: [], RackId: "",
});

// bob picks up alice's fetch session by its id (issue 12 item 9): an incremental Fetch naming
// no topics, by name (v12) and by topic id (v13+).
const sessionReuse = (v: number): Sequence => ({
  label: `fetch session of another principal (v${v})`,
  key: 1,
  steps: [
    { principal: "alice", key: 1, version: v, body: (_, id) => fetchBody(0, 0, [fetchTopic("o.alice", v, id)]) },
    { principal: "bob", key: 1, version: v, body: (earlier) => fetchBody(earlier[0].SessionId as number, 1, []) },
  ],
});

// A KIP-848 member subscribing by regex (issue 12 item 6): the broker resolves the regex in the
// background, so the assignment comes with a later heartbeat; then the group is described.
const regexSubscription = (principal: string, group: string): Sequence => {
  const beat = (earlier: Struct[], epoch: number) => ({
    GroupId: group, MemberId: `oracleRegex${principal}AAAAAAAAA`.slice(0, 22), MemberEpoch: epoch, InstanceId: null, RackId: null,
    RebalanceTimeoutMs: 5000, SubscribedTopicNames: null, SubscribedTopicRegex: ".*", ServerAssignor: null, TopicPartitions: epoch === 0 ? [] : null,
  });
  const epochOf = (earlier: Struct[]) => (earlier[earlier.length - 1]?.MemberEpoch as number) ?? 0;
  return {
    label: `regex subscription by ${principal}`,
    key: 68,
    steps: [
      { principal, key: 68, version: 1, body: (e) => beat(e, 0) },
      { principal, key: 68, version: 1, delayMs: 1500, body: (e) => beat(e, epochOf(e)) },
      { principal, key: 68, version: 1, delayMs: 1500, body: (e) => beat(e, epochOf(e)) },
      { principal, key: 69, version: 1, body: () => ({ GroupIds: [group], IncludeAuthorizedOperations: false }) },
    ],
  };
};

// A transactional producer of alice's own transactional id adds a topic she may not write
// (AddPartitionsToTxn) and commits offsets to a group she may not read (TxnOffsetCommit).
const transaction: Sequence = {
  label: "transaction on a granted id touching a refused topic and group",
  key: 28,
  steps: [
    { principal: "alice", key: 22, version: 5, body: () => ({ TransactionalId: "x.alice", TransactionTimeoutMs: 60000, ProducerId: -1n, ProducerEpoch: -1 }) },
    { principal: "alice", key: 24, version: 3, body: (e) => ({ V3AndBelowTransactionalId: "x.alice", V3AndBelowProducerId: e[0].ProducerId, V3AndBelowProducerEpoch: e[0].ProducerEpoch, V3AndBelowTopics: [{ Name: "o.alice", Partitions: [0] }, { Name: "o.secret", Partitions: [0] }] }) },
    { principal: "alice", key: 28, version: 3, body: (e) => ({ TransactionalId: "x.alice", GroupId: "g.secret", ProducerId: e[0].ProducerId, ProducerEpoch: e[0].ProducerEpoch, GenerationId: -1, MemberId: "", GroupInstanceId: null, Topics: [{ Name: "o.alice", Partitions: [{ PartitionIndex: 0, CommittedOffset: 1n, CommittedLeaderEpoch: -1, CommittedMetadata: "" }] }] }) },
    { principal: "alice", key: 0, version: 9, body: () => ({ TransactionalId: null, Acks: -1, TimeoutMs: 2000, TopicData: [{ Name: "o.alice", PartitionData: [{ Index: 0, Records: recordBatch("sequence") }] }, { Name: "o.secret", PartitionData: [{ Index: 0, Records: recordBatch("sequence") }] }] }) },
  ],
};

// A streams member whose topology names a changelog topic that does not exist yet (issue 12
// item 8): Kafka creates it only for a principal with CREATE on it; alice has READ on the group
// and the source topic, no CREATE on the changelog.
const streamsChangelog: Sequence = (() => {
  const beat = (epoch: number) => ({
    GroupId: "s.alice-app", MemberId: "oracleStreamsAliceAAAAA", MemberEpoch: epoch, EndpointInformationEpoch: 0, InstanceId: null, RackId: null,
    RebalanceTimeoutMs: 1000, ProcessId: "oracle-process", UserEndpoint: null, ClientTags: null, TaskOffsets: null, TaskEndOffsets: null,
    ActiveTasks: [], StandbyTasks: [], WarmupTasks: [], ShutdownApplication: false,
    Topology: epoch === 0 ? {
      Epoch: 0,
      Subtopologies: [{
        SubtopologyId: "0", SourceTopics: ["o.alice"], SourceTopicRegex: [], RepartitionSinkTopics: [], RepartitionSourceTopics: [], CopartitionGroups: [],
        StateChangelogTopics: [{ Name: "s.alice-app-store-changelog", Partitions: 0, ReplicationFactor: 0, TopicConfigs: [] }],
      }],
    } : null,
  });
  return {
    label: "streams topology with a new changelog topic",
    key: 88,
    steps: [
      { principal: "alice", key: 88, version: 0, body: () => beat(0) },
      { principal: "alice", key: 88, version: 0, delayMs: 1500, body: (e) => beat((e[0].MemberEpoch as number) ?? 0) },
    ],
  };
})();

export const SEQUENCES: Sequence[] = [
  sessionReuse(12), sessionReuse(13), sessionReuse(17), regexSubscription("alice", "g.alice"), regexSubscription("bob", "g.bob"), transaction, streamsChangelog,
];

// Requests written back to back on a fresh connection, SASL legs included; the answers from
// `judgeFrom` on are judged (the login's own answers are not resources).
export interface PipelinedSequence {
  label: string;
  key: number;
  principal: string;
  batches: RawRequest[][];
  judgeFrom: number;
}

const plain = (user: string, password: string): RawRequest => ({ key: 36, version: 2, body: { AuthBytes: Buffer.from(`\0${user}\0${password}`) } });

// mallory logs in and, in the same write, sends a second SaslAuthenticate naming the super
// user with a wrong password (issue 12 item 1); then creates a topic and writes to one she has
// no grant on.
export const PIPELINED: PipelinedSequence[] = [{
  label: "pipelined SASL: a second login naming the super user",
  key: 19,
  principal: "mallory",
  batches: [
    [{ key: 17, version: 1, body: { Mechanism: "PLAIN" } }, plain("mallory", "mallory-pw"), plain("admin", "wrong")],
    [
      { key: 19, version: 7, body: { Topics: [{ Name: "o.mallory-made", NumPartitions: 1, ReplicationFactor: 1, Assignments: [], Configs: [] }], TimeoutMs: 5000, ValidateOnly: false } },
      { key: 0, version: 9, body: { TransactionalId: null, Acks: -1, TimeoutMs: 2000, TopicData: [{ Name: "o.secret", PartitionData: [{ Index: 0, Records: recordBatch("mallory") }] }] } },
    ],
  ],
  judgeFrom: 3,
}];
