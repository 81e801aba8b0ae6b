// The Kafka API keys the filter treats specially (every other API is handled through the
// generated tables alone).
export const enum ApiKey {
  Produce = 0,
  Fetch = 1,
  Metadata = 3,
  FindCoordinator = 10,
  ListGroups = 16,
  SaslHandshake = 17,
  ApiVersions = 18,
  CreateTopics = 19,
  InitProducerId = 22,
  SaslAuthenticate = 36,
  DescribeTransactions = 65,
  ListTransactions = 66,
  ConsumerGroupHeartbeat = 68,
  ListConfigResources = 74,
  DescribeTopicPartitions = 75,
  ShareGroupHeartbeat = 76,
  ShareFetch = 78,
  ShareAcknowledge = 79,
}
