// The numbers the schema-table generator (build/codegen/generate.ts) and the walker agree on.
// Plain TypeScript on purpose: the generator imports this same file.

// One field of a generated struct has FIELD_WIDTH columns (read through field_table.ts).
export const FIELD_WIDTH = 8;
export const enum FieldCol {
  // kind | ARRAY | FLEX_NEVER | entity << ENTITY_SHIFT | role << ROLE_SHIFT
  Packed = 0,
  VersionMin = 1,
  VersionMax = 2,
  // Versions the field may be null in (NEVER..-1 when never).
  NullableMin = 3,
  NullableMax = 4,
  // Tag number, or -1 for a field that is never tagged.
  Tag = 5,
  // First version the field is a tagged field in (Kafka only uses "N+"; the generator checks).
  TaggedMin = 6,
  // Index into STRUCTS for struct fields and arrays of structs, else -1.
  Struct = 7,
}

export const NEVER = 0x7fff;
// NEVER in the i8 columns of the generated API_VERSIONS table.
export const BYTE_NEVER = 0x7f;

export const enum FieldKind {
  Int8 = 1,
  Int16 = 2,
  Uint16 = 3,
  Int32 = 4,
  Int64 = 5,
  Float64 = 6,
  Bool = 7,
  Uuid = 8,
  String = 9,
  Bytes = 10,
  Records = 11,
  Struct = 12,
}

export const KIND_MASK = 0x0f;
export const ARRAY = 0x10;
// The field is never encoded in the compact (flexible) form, e.g. the request header's client id.
export const FLEX_NEVER = 0x20;
export const ENTITY_SHIFT = 6;
export const ENTITY_MASK = 0x7;
export const ROLE_SHIFT = 9;
// Five bits (roles 0-31): the packed column is an i16, bits 14 and 15 stay clear.
export const ROLE_MASK = 0x1f;

// Kafka's `entityType` annotations: what a field names.
export const enum Entity {
  None = 0,
  TopicName = 1,
  GroupId = 2,
  TransactionalId = 3,
  BrokerId = 4,
  ProducerId = 5,
  // FindCoordinator's keys: a group id or a transactional id, as its KeyType says (Role.KeyType).
  CoordinatorKey = 6,
  // DescribeConfigs/AlterConfigs/IncrementalAlterConfigs/ListConfigResources resource names: a
  // topic, a group or a broker, as the ResourceType beside it says (Role.ResourceType; before the
  // name in the config APIs, after it in ListConfigResources v1+).
  ConfigResourceName = 7,
}

// Fields the walker reports by meaning rather than by entity.
export const enum Role {
  None = 0,
  ErrorCode = 1,
  TopicId = 2,
  Acks = 3,
  ClientSoftwareName = 4,
  ClientSoftwareVersion = 5,
  ClientId = 6,
  // SaslHandshake's mechanism and SaslAuthenticate's token: where a SASL principal comes from.
  SaslMechanism = 7,
  SaslAuthBytes = 8,
  // FindCoordinator's KeyType: 0 group, 1 transaction (int8, reported through Visitor.int8).
  KeyType = 9,
  // The config APIs' ResourceType (int8): 2 topic, 4 broker, 8 broker logger, 16 client
  // metrics, 32 group.
  ResourceType = 10,
  // Regular expressions the broker matches against names: KIP-848 subscriptions
  // (SubscribedTopicRegex), Streams source topic patterns, ListTransactions' id pattern. Reported
  // through Visitor.namePattern with their length prefix, so a stage can rewrite them.
  NamePattern = 11,
  // ACL resource names and name filters (CreateAcls, DescribeAcls, DeleteAcls): topics, groups,
  // transactional ids or the cluster, literal, prefixed or "*", as the resource and pattern
  // types say. Reported through Visitor.text.
  AclResourceName = 12,
  // Responses' AuthorizedOperations bit sets (int32, one bit per AclOperation code; INT32_MIN
  // when not asked for): what the principal may do with the resource the struct describes, or
  // with the cluster at the top level. Reported through Visitor.authorizedOperations.
  AuthorizedOperations = 13,
  // Values the guardrails stage checks (partition counts, replication factors, topic configs,
  // session timeouts: build/codegen/generate.ts GUARDED), reported through Visitor.guarded with
  // their field row (the generated GUARD_*_ROW constants say which is which).
  Guarded = 14,
  // A broker's address in a response (Metadata and DescribeCluster brokers, FindCoordinator's
  // coordinators, KIP-951 NodeEndpoints of Produce/Fetch/ShareFetch/ShareAcknowledge): the Host
  // string, always right after the broker's int32 node id and right before its int32 Port (the
  // generator checks both). Reported through Visitor.brokerHost and Visitor.brokerPort, so the
  // gateway stage (filters/gateway.ts) can put its own address in their place.
  BrokerHost = 15,
  BrokerPort = 16,
}
