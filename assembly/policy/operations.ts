// What each Kafka API asks of the ACLs, after Kafka's own checks (KafkaApis, ControllerApis and
// AuthHelper in Kafka 4.3; the docs' table "Operations and Resources on Protocols" lags them):
// the operation on every topic, group and transactional id the request names (the generated
// walker finds them in any version), and the operation on the cluster an API needs as a whole.
// APIs not listed are broker-to-broker or controller APIs and need CLUSTER_ACTION, so an
// unexpected API is refused unless a super user sends it.
import { Operation } from "./acl";
import { Entity, FieldCol, FieldKind, KIND_MASK } from "../kafka/layout";
import { MAX_API_KEY } from "../kafka/generated/schema_tables";
import { fieldCol } from "../kafka/field_table";

// Per row: API key, topic op, group op, transactional id op, cluster op.
const WIDTH = 5;
// prettier-ignore
const TABLE: StaticArray<i32> = [
  0, Operation.Write, 0, Operation.Write, 0, // Produce
  1, Operation.Read, 0, 0, 0, // Fetch (a replica id asks for CLUSTER_ACTION, see clusterOperation)
  2, Operation.Describe, 0, 0, 0, // ListOffsets
  3, Operation.Describe, 0, 0, 0, // Metadata
  8, Operation.Read, Operation.Read, 0, 0, // OffsetCommit
  9, Operation.Describe, Operation.Describe, 0, 0, // OffsetFetch
  10, 0, Operation.Describe, Operation.Describe, 0, // FindCoordinator (keys typed by KeyType, see coordinator.ts)
  11, 0, Operation.Read, 0, 0, // JoinGroup
  12, 0, Operation.Read, 0, 0, // Heartbeat
  13, 0, Operation.Read, 0, 0, // LeaveGroup
  14, 0, Operation.Read, 0, 0, // SyncGroup
  15, 0, Operation.Describe, 0, 0, // DescribeGroups
  16, 0, Operation.Describe, 0, 0, // ListGroups (the response lists only describable groups)
  17, 0, 0, 0, 0, // SaslHandshake
  18, 0, 0, 0, 0, // ApiVersions
  19, Operation.Create, 0, 0, 0, // CreateTopics (CREATE on the cluster also allows it)
  20, Operation.Delete, 0, 0, 0, // DeleteTopics
  21, Operation.Delete, 0, 0, 0, // DeleteRecords
  22, 0, 0, Operation.Write, 0, // InitProducerId (idempotent producers need WRITE on their topics; Enable2Pc, authz.ts)
  23, Operation.Describe, 0, 0, 0, // OffsetForLeaderEpoch
  24, Operation.Write, 0, Operation.Write, 0, // AddPartitionsToTxn (v4+ is broker traffic, see clusterOperation)
  25, 0, Operation.Read, Operation.Write, 0, // AddOffsetsToTxn
  26, 0, 0, Operation.Write, 0, // EndTxn
  28, Operation.Read, Operation.Read, Operation.Write, 0, // TxnOffsetCommit
  29, 0, 0, 0, Operation.Describe, // DescribeAcls
  30, 0, 0, 0, Operation.Alter, // CreateAcls
  31, 0, 0, 0, Operation.Alter, // DeleteAcls
  // The config APIs' resources: topics and groups here, brokers on the cluster (authz.ts).
  32, Operation.DescribeConfigs, Operation.DescribeConfigs, 0, 0, // DescribeConfigs
  33, Operation.AlterConfigs, Operation.AlterConfigs, 0, 0, // AlterConfigs
  34, 0, 0, 0, Operation.Alter, // AlterReplicaLogDirs
  35, 0, 0, 0, Operation.Describe, // DescribeLogDirs
  36, 0, 0, 0, 0, // SaslAuthenticate
  37, Operation.Alter, 0, 0, 0, // CreatePartitions
  38, 0, 0, 0, Operation.Alter, // CreateDelegationToken
  39, 0, 0, 0, Operation.Alter, // RenewDelegationToken
  40, 0, 0, 0, Operation.Alter, // ExpireDelegationToken
  41, 0, 0, 0, Operation.Describe, // DescribeDelegationToken
  42, 0, Operation.Delete, 0, 0, // DeleteGroups
  43, 0, 0, 0, Operation.Alter, // ElectLeaders
  44, Operation.AlterConfigs, Operation.AlterConfigs, 0, 0, // IncrementalAlterConfigs
  45, 0, 0, 0, Operation.Alter, // AlterPartitionReassignments
  46, 0, 0, 0, Operation.Describe, // ListPartitionReassignments
  47, Operation.Read, Operation.Delete, 0, 0, // OffsetDelete
  48, 0, 0, 0, Operation.DescribeConfigs, // DescribeClientQuotas
  49, 0, 0, 0, Operation.AlterConfigs, // AlterClientQuotas
  50, 0, 0, 0, Operation.Describe, // DescribeUserScramCredentials
  51, 0, 0, 0, Operation.Alter, // AlterUserScramCredentials
  55, 0, 0, 0, Operation.Describe, // DescribeQuorum
  57, 0, 0, 0, Operation.Alter, // UpdateFeatures
  60, 0, 0, 0, 0, // DescribeCluster (Kafka asks nothing, like Metadata's broker list)
  61, Operation.Read, 0, 0, 0, // DescribeProducers
  64, 0, 0, 0, Operation.Alter, // UnregisterBroker
  65, 0, 0, Operation.Describe, 0, // DescribeTransactions
  66, 0, 0, Operation.Describe, 0, // ListTransactions (the response lists only describable ids)
  68, Operation.Describe, Operation.Read, 0, 0, // ConsumerGroupHeartbeat
  69, 0, Operation.Describe, 0, 0, // ConsumerGroupDescribe
  71, 0, 0, 0, 0, // GetTelemetrySubscriptions
  72, 0, 0, 0, 0, // PushTelemetry
  74, 0, 0, 0, Operation.DescribeConfigs, // ListConfigResources
  75, Operation.Describe, 0, 0, 0, // DescribeTopicPartitions
  76, Operation.Describe, Operation.Read, 0, 0, // ShareGroupHeartbeat
  77, 0, Operation.Describe, 0, 0, // ShareGroupDescribe
  78, Operation.Read, Operation.Read, 0, 0, // ShareFetch
  79, Operation.Read, Operation.Read, 0, 0, // ShareAcknowledge
  90, Operation.Describe, Operation.Describe, 0, 0, // DescribeShareGroupOffsets
  91, Operation.Read, Operation.Read, 0, 0, // AlterShareGroupOffsets
  92, Operation.Read, Operation.Delete, 0, 0, // DeleteShareGroupOffsets
  80, 0, 0, 0, Operation.Alter, // AddRaftVoter
  81, 0, 0, 0, Operation.Alter, // RemoveRaftVoter
  88, Operation.Describe, Operation.Read, 0, 0, // StreamsGroupHeartbeat (and CREATE, see createsTopic)
  89, 0, Operation.Describe, 0, 0, // StreamsGroupDescribe
  93, 0, Operation.Read, 0, 0, // StreamsGroupTopologyDescriptionUpdate
  94, 0, 0, 0, Operation.Alter, // UnregisterController
];

// Row offset in TABLE per API key (-1 for unlisted keys), so the per-entity lookup is O(1).
const ROWS: StaticArray<i32> = buildRows();

function buildRows(): StaticArray<i32> {
  const rows = new StaticArray<i32>(<i32>MAX_API_KEY + 1);
  for (let k = 0; k < rows.length; k++) rows[k] = -1;
  for (let i = 0; i < TABLE.length; i += WIDTH) if (TABLE[i] < rows.length) rows[TABLE[i]] = i;
  return rows;
}

function rowOf(apiKey: i16): i32 {
  return apiKey >= 0 && <i32>apiKey < ROWS.length ? unchecked(ROWS[apiKey]) : -1;
}

// The operation `apiKey` needs on an entity it names; None when it needs none.
export function entityOperation(apiKey: i16, entity: i32): i32 {
  const row = rowOf(apiKey);
  if (row < 0) return Operation.None;
  if (entity == Entity.TopicName) return unchecked(TABLE[row + 1]);
  if (entity == Entity.GroupId) return unchecked(TABLE[row + 2]);
  if (entity == Entity.TransactionalId) return unchecked(TABLE[row + 3]);
  return Operation.None;
}

// The operation a config API needs on each resource it names.
export function configOperation(apiKey: i16): i32 {
  if (apiKey == 32) return Operation.DescribeConfigs;
  if (apiKey == 33 || apiKey == 44) return Operation.AlterConfigs;
  return Operation.None;
}

// The operation `apiKey` needs on the cluster; CLUSTER_ACTION for APIs clients do not send.
export function clusterOperation(apiKey: i16, version: i16): i32 {
  // AddPartitionsToTxn v4+ batches transactions between brokers.
  if (apiKey == 24 && version >= 4) return Operation.ClusterAction;
  const row = rowOf(apiKey);
  return row < 0 ? Operation.ClusterAction : unchecked(TABLE[row + 4]);
}

// StreamsGroupHeartbeat: the broker creates the topology's internal topics that are missing (its
// repartition source and changelog topics, the TopicInfo structs; source and sink topics are
// plain strings), and Kafka asks CREATE on them or on the cluster for that
// (KafkaApis.handleStreamsGroupHeartbeat). The filter cannot tell which exist, so it asks CREATE
// for every one the request names. `arrayRow` is the field row of the array the name sits in.
export function createsTopic(apiKey: i16, arrayRow: i32): bool {
  return apiKey == 88 && arrayRow >= 0 && (<i32>fieldCol(arrayRow, FieldCol.Packed) & KIND_MASK) == FieldKind.Struct;
}
