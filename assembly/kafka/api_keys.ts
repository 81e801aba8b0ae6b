// The Kafka API keys the filter treats specially (every other API is handled through the
// generated tables alone).
export const enum ApiKey {
  Produce = 0,
  Fetch = 1,
  Metadata = 3,
  OffsetFetch = 9,
  FindCoordinator = 10,
  ListGroups = 16,
  ApiVersions = 18,
  CreateTopics = 19,
  SaslAuthenticate = 36,
  ListTransactions = 66,
  ConsumerGroupHeartbeat = 68,
  ConsumerGroupDescribe = 69,
  DescribeTopicPartitions = 75,
  ShareGroupDescribe = 77,
}
