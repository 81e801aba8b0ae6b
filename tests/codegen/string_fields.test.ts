// Every string field of every Kafka request and response schema either names something the
// rewriting stage handles (a topic, group or transactional id, typed by Kafka's entityType or by
// build/codegen/generate.ts where Kafka leaves it unannotated; a regular expression over names;
// an ACL resource name) or is on the reviewed list below of strings that name no resource. A
// schema that adds a string field fails this test until someone decides which it is: an
// unclassified name would pass through a tenant's connection unprefixed (ListConfigResources
// once showed every tenant's topics this way).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_SCHEMAS, FieldSpec, entityOf, readSchema, roleOf } from "../../build/codegen/generate.ts";
import { Entity, Role } from "../../assembly/kafka/layout.ts";

// Entities the rewriting stage prefixes in requests and restores or hides in responses
// (coordinator keys and config resource names by the key or resource type beside them).
const NAME_ENTITIES = new Set<Entity>([
  Entity.TopicName, Entity.GroupId, Entity.TransactionalId, Entity.CoordinatorKey, Entity.ConfigResourceName,
]);
// Patterns are confined to the tenant's prefix; ACL APIs are refused to tenants.
const NAME_ROLES = new Set<Role>([Role.NamePattern, Role.AclResourceName]);

// Reviewed: these strings name no topic, group or transactional id. Error messages and status
// details are the broker's free text (they may quote the caller's own names as the broker holds
// them); the rest are member, client, instance, process, rack, host, listener, cluster and log
// dir identities, principals and users (quotas, SCRAM, delegation tokens, ACL principals and
// hosts), config keys and values, feature, protocol, assignor and metric names, states and
// filters on them, and offset commit metadata the client wrote.
const NOT_NAMES = new Set([
// Kafka 4.4: ApiVersions' cluster id (a cluster's identity), and Streams topology descriptions (KIP-1071):
// processor node names, state store names and successor node names, none a Kafka resource.
"ApiVersionsRequest.ClusterId",
"DeleteGroupsResponse.Results.ErrorMessage",
"StreamsGroupDescribeResponse.Groups.AssignorName",
"StreamsGroupTopologyDescriptionUpdateRequest.MemberId",
"StreamsGroupTopologyDescriptionUpdateResponse.ErrorMessage",
"UnregisterControllerResponse.ErrorMessage",
"StreamsGroupDescribeResponse.Groups.TopologyDescription.Subtopologies.SubtopologyId",
"StreamsGroupDescribeResponse.Groups.TopologyDescription.Subtopologies.Nodes.Name",
"StreamsGroupDescribeResponse.Groups.TopologyDescription.Subtopologies.Nodes.Stores",
"StreamsGroupDescribeResponse.Groups.TopologyDescription.Subtopologies.Nodes.Successors",
"StreamsGroupDescribeResponse.Groups.TopologyDescription.GlobalStores.Source.Name",
"StreamsGroupDescribeResponse.Groups.TopologyDescription.GlobalStores.Source.Stores",
"StreamsGroupDescribeResponse.Groups.TopologyDescription.GlobalStores.Source.Successors",
"StreamsGroupDescribeResponse.Groups.TopologyDescription.GlobalStores.Processor.Name",
"StreamsGroupDescribeResponse.Groups.TopologyDescription.GlobalStores.Processor.Stores",
"StreamsGroupDescribeResponse.Groups.TopologyDescription.GlobalStores.Processor.Successors",
"StreamsGroupTopologyDescriptionUpdateRequest.TopologyDescription.Subtopologies.SubtopologyId",
"StreamsGroupTopologyDescriptionUpdateRequest.TopologyDescription.Subtopologies.Nodes.Name",
"StreamsGroupTopologyDescriptionUpdateRequest.TopologyDescription.Subtopologies.Nodes.Stores",
"StreamsGroupTopologyDescriptionUpdateRequest.TopologyDescription.Subtopologies.Nodes.Successors",
"StreamsGroupTopologyDescriptionUpdateRequest.TopologyDescription.GlobalStores.Source.Name",
"StreamsGroupTopologyDescriptionUpdateRequest.TopologyDescription.GlobalStores.Source.Stores",
"StreamsGroupTopologyDescriptionUpdateRequest.TopologyDescription.GlobalStores.Source.Successors",
"StreamsGroupTopologyDescriptionUpdateRequest.TopologyDescription.GlobalStores.Processor.Name",
"StreamsGroupTopologyDescriptionUpdateRequest.TopologyDescription.GlobalStores.Processor.Stores",
"StreamsGroupTopologyDescriptionUpdateRequest.TopologyDescription.GlobalStores.Processor.Successors",
"AddRaftVoterRequest.ClusterId",
"AddRaftVoterRequest.Listeners.Name",
"AddRaftVoterRequest.Listeners.Host",
"AddRaftVoterResponse.ErrorMessage",
"AlterClientQuotasRequest.Entries.Entity.EntityType",
"AlterClientQuotasRequest.Entries.Entity.EntityName",
"AlterClientQuotasRequest.Entries.Ops.Key",
"AlterClientQuotasResponse.Entries.ErrorMessage",
"AlterClientQuotasResponse.Entries.Entity.EntityType",
"AlterClientQuotasResponse.Entries.Entity.EntityName",
"AlterConfigsRequest.Resources.Configs.Name",
"AlterConfigsRequest.Resources.Configs.Value",
"AlterConfigsResponse.Responses.ErrorMessage",
"AlterPartitionReassignmentsResponse.ErrorMessage",
"AlterPartitionReassignmentsResponse.Responses.Partitions.ErrorMessage",
"AlterReplicaLogDirsRequest.Dirs.Path",
"AlterShareGroupOffsetsResponse.ErrorMessage",
"AlterShareGroupOffsetsResponse.Responses.Partitions.ErrorMessage",
"AlterUserScramCredentialsRequest.Deletions.Name",
"AlterUserScramCredentialsRequest.Upsertions.Name",
"AlterUserScramCredentialsResponse.Results.User",
"AlterUserScramCredentialsResponse.Results.ErrorMessage",
"ApiVersionsRequest.ClientSoftwareName",
"ApiVersionsRequest.ClientSoftwareVersion",
"ApiVersionsResponse.SupportedFeatures.Name",
"ApiVersionsResponse.FinalizedFeatures.Name",
"BeginQuorumEpochRequest.ClusterId",
"BeginQuorumEpochRequest.LeaderEndpoints.Name",
"BeginQuorumEpochRequest.LeaderEndpoints.Host",
"BeginQuorumEpochResponse.NodeEndpoints.Host",
"BrokerRegistrationRequest.ClusterId",
"BrokerRegistrationRequest.Listeners.Name",
"BrokerRegistrationRequest.Listeners.Host",
"BrokerRegistrationRequest.Features.Name",
"BrokerRegistrationRequest.Rack",
"ConsumerGroupDescribeResponse.Groups.ErrorMessage",
"ConsumerGroupDescribeResponse.Groups.GroupState",
"ConsumerGroupDescribeResponse.Groups.AssignorName",
"ConsumerGroupDescribeResponse.Groups.Members.MemberId",
"ConsumerGroupDescribeResponse.Groups.Members.InstanceId",
"ConsumerGroupDescribeResponse.Groups.Members.RackId",
"ConsumerGroupDescribeResponse.Groups.Members.ClientId",
"ConsumerGroupDescribeResponse.Groups.Members.ClientHost",
"ConsumerGroupHeartbeatRequest.MemberId",
"ConsumerGroupHeartbeatRequest.InstanceId",
"ConsumerGroupHeartbeatRequest.RackId",
"ConsumerGroupHeartbeatRequest.ServerAssignor",
"ConsumerGroupHeartbeatResponse.ErrorMessage",
"ConsumerGroupHeartbeatResponse.MemberId",
"ControllerRegistrationRequest.Listeners.Name",
"ControllerRegistrationRequest.Listeners.Host",
"ControllerRegistrationRequest.Features.Name",
"ControllerRegistrationResponse.ErrorMessage",
"CreateAclsRequest.Creations.Principal",
"CreateAclsRequest.Creations.Host",
"CreateAclsResponse.Results.ErrorMessage",
"CreateDelegationTokenRequest.OwnerPrincipalType",
"CreateDelegationTokenRequest.OwnerPrincipalName",
"CreateDelegationTokenRequest.Renewers.PrincipalType",
"CreateDelegationTokenRequest.Renewers.PrincipalName",
"CreateDelegationTokenResponse.PrincipalType",
"CreateDelegationTokenResponse.PrincipalName",
"CreateDelegationTokenResponse.TokenRequesterPrincipalType",
"CreateDelegationTokenResponse.TokenRequesterPrincipalName",
"CreateDelegationTokenResponse.TokenId",
"CreatePartitionsResponse.Results.ErrorMessage",
"CreateTopicsRequest.Topics.Configs.Name",
"CreateTopicsRequest.Topics.Configs.Value",
"CreateTopicsResponse.Topics.ErrorMessage",
"CreateTopicsResponse.Topics.Configs.Name",
"CreateTopicsResponse.Topics.Configs.Value",
"DeleteAclsRequest.Filters.PrincipalFilter",
"DeleteAclsRequest.Filters.HostFilter",
"DeleteAclsResponse.FilterResults.ErrorMessage",
"DeleteAclsResponse.FilterResults.MatchingAcls.ErrorMessage",
"DeleteAclsResponse.FilterResults.MatchingAcls.Principal",
"DeleteAclsResponse.FilterResults.MatchingAcls.Host",
"DeleteShareGroupOffsetsResponse.ErrorMessage",
"DeleteShareGroupOffsetsResponse.Responses.ErrorMessage",
"DeleteShareGroupStateResponse.Results.Partitions.ErrorMessage",
"DeleteTopicsResponse.Responses.ErrorMessage",
"DescribeAclsRequest.PrincipalFilter",
"DescribeAclsRequest.HostFilter",
"DescribeAclsResponse.ErrorMessage",
"DescribeAclsResponse.Resources.Acls.Principal",
"DescribeAclsResponse.Resources.Acls.Host",
"DescribeClientQuotasRequest.Components.EntityType",
"DescribeClientQuotasRequest.Components.Match",
"DescribeClientQuotasResponse.ErrorMessage",
"DescribeClientQuotasResponse.Entries.Entity.EntityType",
"DescribeClientQuotasResponse.Entries.Entity.EntityName",
"DescribeClientQuotasResponse.Entries.Values.Key",
"DescribeClusterResponse.ErrorMessage",
"DescribeClusterResponse.ClusterId",
"DescribeClusterResponse.Brokers.Host",
"DescribeClusterResponse.Brokers.Rack",
"DescribeConfigsRequest.Resources.ConfigurationKeys",
"DescribeConfigsResponse.Results.ErrorMessage",
"DescribeConfigsResponse.Results.Configs.Name",
"DescribeConfigsResponse.Results.Configs.Value",
"DescribeConfigsResponse.Results.Configs.Synonyms.Name",
"DescribeConfigsResponse.Results.Configs.Synonyms.Value",
"DescribeConfigsResponse.Results.Configs.Documentation",
"DescribeDelegationTokenRequest.Owners.PrincipalType",
"DescribeDelegationTokenRequest.Owners.PrincipalName",
"DescribeDelegationTokenResponse.Tokens.PrincipalType",
"DescribeDelegationTokenResponse.Tokens.PrincipalName",
"DescribeDelegationTokenResponse.Tokens.TokenRequesterPrincipalType",
"DescribeDelegationTokenResponse.Tokens.TokenRequesterPrincipalName",
"DescribeDelegationTokenResponse.Tokens.TokenId",
"DescribeDelegationTokenResponse.Tokens.Renewers.PrincipalType",
"DescribeDelegationTokenResponse.Tokens.Renewers.PrincipalName",
"DescribeGroupsResponse.Groups.ErrorMessage",
"DescribeGroupsResponse.Groups.GroupState",
"DescribeGroupsResponse.Groups.ProtocolType",
"DescribeGroupsResponse.Groups.ProtocolData",
"DescribeGroupsResponse.Groups.Members.MemberId",
"DescribeGroupsResponse.Groups.Members.GroupInstanceId",
"DescribeGroupsResponse.Groups.Members.ClientId",
"DescribeGroupsResponse.Groups.Members.ClientHost",
"DescribeLogDirsResponse.Results.LogDir",
"DescribeProducersResponse.Topics.Partitions.ErrorMessage",
"DescribeQuorumResponse.ErrorMessage",
"DescribeQuorumResponse.Topics.Partitions.ErrorMessage",
"DescribeQuorumResponse.Nodes.Listeners.Name",
"DescribeQuorumResponse.Nodes.Listeners.Host",
"DescribeShareGroupOffsetsResponse.Groups.Topics.Partitions.ErrorMessage",
"DescribeShareGroupOffsetsResponse.Groups.ErrorMessage",
"DescribeTransactionsResponse.TransactionStates.TransactionState",
"DescribeUserScramCredentialsRequest.Users.Name",
"DescribeUserScramCredentialsResponse.ErrorMessage",
"DescribeUserScramCredentialsResponse.Results.User",
"DescribeUserScramCredentialsResponse.Results.ErrorMessage",
"ElectLeadersResponse.ReplicaElectionResults.PartitionResult.ErrorMessage",
"EndQuorumEpochRequest.ClusterId",
"EndQuorumEpochRequest.LeaderEndpoints.Name",
"EndQuorumEpochRequest.LeaderEndpoints.Host",
"EndQuorumEpochResponse.NodeEndpoints.Host",
"FetchRequest.ClusterId",
"FetchRequest.RackId",
"FetchResponse.NodeEndpoints.Host",
"FetchResponse.NodeEndpoints.Rack",
"FetchSnapshotRequest.ClusterId",
"FetchSnapshotResponse.NodeEndpoints.Host",
"FindCoordinatorResponse.ErrorMessage",
"FindCoordinatorResponse.Host",
"FindCoordinatorResponse.Coordinators.Host",
"FindCoordinatorResponse.Coordinators.ErrorMessage",
"GetTelemetrySubscriptionsResponse.RequestedMetrics",
"HeartbeatRequest.MemberId",
"HeartbeatRequest.GroupInstanceId",
"IncrementalAlterConfigsRequest.Resources.Configs.Name",
"IncrementalAlterConfigsRequest.Resources.Configs.Value",
"IncrementalAlterConfigsResponse.Responses.ErrorMessage",
"InitializeShareGroupStateResponse.Results.Partitions.ErrorMessage",
"JoinGroupRequest.MemberId",
"JoinGroupRequest.GroupInstanceId",
"JoinGroupRequest.ProtocolType",
"JoinGroupRequest.Protocols.Name",
"JoinGroupRequest.Reason",
"JoinGroupResponse.ProtocolType",
"JoinGroupResponse.ProtocolName",
"JoinGroupResponse.Leader",
"JoinGroupResponse.MemberId",
"JoinGroupResponse.Members.MemberId",
"JoinGroupResponse.Members.GroupInstanceId",
"LeaveGroupRequest.MemberId",
"LeaveGroupRequest.Members.MemberId",
"LeaveGroupRequest.Members.GroupInstanceId",
"LeaveGroupRequest.Members.Reason",
"LeaveGroupResponse.Members.MemberId",
"LeaveGroupResponse.Members.GroupInstanceId",
"ListGroupsRequest.StatesFilter",
"ListGroupsRequest.TypesFilter",
"ListGroupsResponse.Groups.ProtocolType",
"ListGroupsResponse.Groups.GroupState",
"ListGroupsResponse.Groups.GroupType",
"ListPartitionReassignmentsResponse.ErrorMessage",
"ListTransactionsRequest.StateFilters",
"ListTransactionsResponse.UnknownStateFilters",
"ListTransactionsResponse.TransactionStates.TransactionState",
"MetadataResponse.Brokers.Host",
"MetadataResponse.Brokers.Rack",
"MetadataResponse.ClusterId",
"OffsetCommitRequest.MemberId",
"OffsetCommitRequest.GroupInstanceId",
"OffsetCommitRequest.Topics.Partitions.CommittedMetadata",
"OffsetFetchRequest.Groups.MemberId",
"OffsetFetchResponse.Topics.Partitions.Metadata",
"OffsetFetchResponse.Groups.Topics.Partitions.Metadata",
"ProduceResponse.Responses.PartitionResponses.RecordErrors.BatchIndexErrorMessage",
"ProduceResponse.Responses.PartitionResponses.ErrorMessage",
"ProduceResponse.NodeEndpoints.Host",
"ProduceResponse.NodeEndpoints.Rack",
"ReadShareGroupStateResponse.Results.Partitions.ErrorMessage",
"ReadShareGroupStateSummaryResponse.Results.Partitions.ErrorMessage",
"RemoveRaftVoterRequest.ClusterId",
"RemoveRaftVoterResponse.ErrorMessage",
"RequestHeader.ClientId",
"SaslAuthenticateResponse.ErrorMessage",
"SaslHandshakeRequest.Mechanism",
"SaslHandshakeResponse.Mechanisms",
"ShareAcknowledgeRequest.MemberId",
"ShareAcknowledgeResponse.ErrorMessage",
"ShareAcknowledgeResponse.Responses.Partitions.ErrorMessage",
"ShareAcknowledgeResponse.NodeEndpoints.Host",
"ShareAcknowledgeResponse.NodeEndpoints.Rack",
"ShareFetchRequest.MemberId",
"ShareFetchResponse.ErrorMessage",
"ShareFetchResponse.Responses.Partitions.ErrorMessage",
"ShareFetchResponse.Responses.Partitions.AcknowledgeErrorMessage",
"ShareFetchResponse.NodeEndpoints.Host",
"ShareFetchResponse.NodeEndpoints.Rack",
"ShareGroupDescribeResponse.Groups.ErrorMessage",
"ShareGroupDescribeResponse.Groups.GroupState",
"ShareGroupDescribeResponse.Groups.AssignorName",
"ShareGroupDescribeResponse.Groups.Members.MemberId",
"ShareGroupDescribeResponse.Groups.Members.RackId",
"ShareGroupDescribeResponse.Groups.Members.ClientId",
"ShareGroupDescribeResponse.Groups.Members.ClientHost",
"ShareGroupHeartbeatRequest.MemberId",
"ShareGroupHeartbeatRequest.RackId",
"ShareGroupHeartbeatResponse.ErrorMessage",
"ShareGroupHeartbeatResponse.MemberId",
"StreamsGroupDescribeResponse.Groups.ErrorMessage",
"StreamsGroupDescribeResponse.Groups.GroupState",
"StreamsGroupDescribeResponse.Groups.Topology.Subtopologies.SubtopologyId",
"StreamsGroupDescribeResponse.Groups.Topology.Subtopologies.StateChangelogTopics.TopicConfigs.Key",
"StreamsGroupDescribeResponse.Groups.Topology.Subtopologies.StateChangelogTopics.TopicConfigs.Value",
"StreamsGroupDescribeResponse.Groups.Topology.Subtopologies.RepartitionSourceTopics.TopicConfigs.Key",
"StreamsGroupDescribeResponse.Groups.Topology.Subtopologies.RepartitionSourceTopics.TopicConfigs.Value",
"StreamsGroupDescribeResponse.Groups.Members.MemberId",
"StreamsGroupDescribeResponse.Groups.Members.InstanceId",
"StreamsGroupDescribeResponse.Groups.Members.RackId",
"StreamsGroupDescribeResponse.Groups.Members.ClientId",
"StreamsGroupDescribeResponse.Groups.Members.ClientHost",
"StreamsGroupDescribeResponse.Groups.Members.ProcessId",
"StreamsGroupDescribeResponse.Groups.Members.UserEndpoint.Host",
"StreamsGroupDescribeResponse.Groups.Members.ClientTags.Key",
"StreamsGroupDescribeResponse.Groups.Members.ClientTags.Value",
"StreamsGroupDescribeResponse.Groups.Members.TaskOffsets.SubtopologyId",
"StreamsGroupDescribeResponse.Groups.Members.TaskEndOffsets.SubtopologyId",
"StreamsGroupDescribeResponse.Groups.Members.Assignment.ActiveTasks.SubtopologyId",
"StreamsGroupDescribeResponse.Groups.Members.Assignment.StandbyTasks.SubtopologyId",
"StreamsGroupDescribeResponse.Groups.Members.Assignment.WarmupTasks.SubtopologyId",
"StreamsGroupDescribeResponse.Groups.Members.TargetAssignment.ActiveTasks.SubtopologyId",
"StreamsGroupDescribeResponse.Groups.Members.TargetAssignment.StandbyTasks.SubtopologyId",
"StreamsGroupDescribeResponse.Groups.Members.TargetAssignment.WarmupTasks.SubtopologyId",
"StreamsGroupHeartbeatRequest.MemberId",
"StreamsGroupHeartbeatRequest.InstanceId",
"StreamsGroupHeartbeatRequest.RackId",
"StreamsGroupHeartbeatRequest.Topology.Subtopologies.SubtopologyId",
"StreamsGroupHeartbeatRequest.Topology.Subtopologies.StateChangelogTopics.TopicConfigs.Key",
"StreamsGroupHeartbeatRequest.Topology.Subtopologies.StateChangelogTopics.TopicConfigs.Value",
"StreamsGroupHeartbeatRequest.Topology.Subtopologies.RepartitionSourceTopics.TopicConfigs.Key",
"StreamsGroupHeartbeatRequest.Topology.Subtopologies.RepartitionSourceTopics.TopicConfigs.Value",
"StreamsGroupHeartbeatRequest.ActiveTasks.SubtopologyId",
"StreamsGroupHeartbeatRequest.StandbyTasks.SubtopologyId",
"StreamsGroupHeartbeatRequest.WarmupTasks.SubtopologyId",
"StreamsGroupHeartbeatRequest.ProcessId",
"StreamsGroupHeartbeatRequest.UserEndpoint.Host",
"StreamsGroupHeartbeatRequest.ClientTags.Key",
"StreamsGroupHeartbeatRequest.ClientTags.Value",
"StreamsGroupHeartbeatRequest.TaskOffsets.SubtopologyId",
"StreamsGroupHeartbeatRequest.TaskEndOffsets.SubtopologyId",
"StreamsGroupHeartbeatResponse.ErrorMessage",
"StreamsGroupHeartbeatResponse.MemberId",
"StreamsGroupHeartbeatResponse.Status.StatusDetail",
"StreamsGroupHeartbeatResponse.ActiveTasks.SubtopologyId",
"StreamsGroupHeartbeatResponse.StandbyTasks.SubtopologyId",
"StreamsGroupHeartbeatResponse.WarmupTasks.SubtopologyId",
"StreamsGroupHeartbeatResponse.PartitionsByUserEndpoint.UserEndpoint.Host",
"SyncGroupRequest.MemberId",
"SyncGroupRequest.GroupInstanceId",
"SyncGroupRequest.ProtocolType",
"SyncGroupRequest.ProtocolName",
"SyncGroupRequest.Assignments.MemberId",
"SyncGroupResponse.ProtocolType",
"SyncGroupResponse.ProtocolName",
"TxnOffsetCommitRequest.MemberId",
"TxnOffsetCommitRequest.GroupInstanceId",
"TxnOffsetCommitRequest.Topics.Partitions.CommittedMetadata",
"UnregisterBrokerResponse.ErrorMessage",
"UpdateFeaturesRequest.FeatureUpdates.Feature",
"UpdateFeaturesResponse.ErrorMessage",
"UpdateFeaturesResponse.Results.Feature",
"UpdateFeaturesResponse.Results.ErrorMessage",
"UpdateRaftVoterRequest.ClusterId",
"UpdateRaftVoterRequest.Listeners.Name",
"UpdateRaftVoterRequest.Listeners.Host",
"UpdateRaftVoterResponse.CurrentLeader.Host",
"VoteRequest.ClusterId",
"VoteResponse.NodeEndpoints.Host",
"WriteShareGroupStateResponse.Results.Partitions.ErrorMessage",
]);

interface StringField {
  path: string;
  entity: Entity;
  role: Role;
}

function stringFields(): StringField[] {
  const out: StringField[] = [];
  for (const file of readdirSync(DEFAULT_SCHEMAS).filter((f) => f.endsWith(".json")).sort()) {
    const spec = readSchema(join(DEFAULT_SCHEMAS, file));
    if (spec.type !== "request" && spec.type !== "response" && spec.type !== "header") continue;
    const visit = (prefix: string, fields: FieldSpec[]) => {
      for (const f of fields) {
        const base = f.type.replace(/^\[\]/, "");
        if (base === "string") out.push({ path: prefix + f.name, entity: entityOf(spec.name, f), role: roleOf(spec.name, f) });
        const inner = f.fields ?? spec.commonStructs?.find((s) => s.name === base)?.fields;
        if (inner) visit(`${prefix}${f.name}.`, inner);
      }
    };
    visit(`${spec.name}.`, spec.fields ?? []);
  }
  return out;
}

const handled = (f: StringField) => NAME_ENTITIES.has(f.entity) || NAME_ROLES.has(f.role);

test("every string field of every schema is a handled name or reviewed as not one", () => {
  const fields = stringFields();
  assert.ok(fields.length > 400, `${fields.length} string fields`);
  const unreviewed = fields.filter((f) => !handled(f) && !NOT_NAMES.has(f.path)).map((f) => f.path);
  assert.deepEqual(unreviewed, [], "string fields neither classified as names (generate.ts) nor reviewed in NOT_NAMES");
});

test("the reviewed list names only existing fields the generator does not classify", () => {
  const byPath = new Map(stringFields().map((f) => [f.path, f]));
  for (const path of NOT_NAMES) {
    const f = byPath.get(path);
    assert.ok(f !== undefined, `${path} is no longer a string field of the schemas`);
    assert.ok(!handled(f), `${path} is classified as a name and reviewed as not one`);
  }
});

test("names Kafka leaves unannotated are classified", () => {
  const byPath = new Map(stringFields().map((f) => [f.path, f]));
  const expect: [string, Entity, Role][] = [
    ["ListConfigResourcesResponse.ConfigResources.ResourceName", Entity.ConfigResourceName, Role.None],
    ["DescribeConfigsRequest.Resources.ResourceName", Entity.ConfigResourceName, Role.None],
    ["FindCoordinatorRequest.CoordinatorKeys", Entity.CoordinatorKey, Role.None],
    ["ReadShareGroupStateRequest.GroupId", Entity.GroupId, Role.None],
    ["WriteShareGroupStateRequest.GroupId", Entity.GroupId, Role.None],
    ["CreateAclsRequest.Creations.ResourceName", Entity.None, Role.AclResourceName],
    ["DescribeAclsRequest.ResourceNameFilter", Entity.None, Role.AclResourceName],
    ["DeleteAclsRequest.Filters.ResourceNameFilter", Entity.None, Role.AclResourceName],
    ["DescribeAclsResponse.Resources.ResourceName", Entity.None, Role.AclResourceName],
    ["DeleteAclsResponse.FilterResults.MatchingAcls.ResourceName", Entity.None, Role.AclResourceName],
    ["ConsumerGroupHeartbeatRequest.SubscribedTopicRegex", Entity.None, Role.NamePattern],
    ["StreamsGroupHeartbeatRequest.Topology.Subtopologies.SourceTopicRegex", Entity.None, Role.NamePattern],
    ["ListTransactionsRequest.TransactionalIdPattern", Entity.None, Role.NamePattern],
  ];
  for (const [path, entity, role] of expect) {
    const f = byPath.get(path);
    assert.ok(f !== undefined, path);
    assert.deepEqual([f.entity, f.role], [entity, role], path);
  }
});
