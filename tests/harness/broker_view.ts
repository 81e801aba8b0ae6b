// What the broker itself holds, read on its DIRECT listener (no Envoy, no filter): the tests'
// proof of what did or did not get through the proxy.
import { Kafka, logLevel } from "kafkajs";
import type { KafkaBroker } from "./kafka.ts";

async function withAdmin<T>(kafka: KafkaBroker, fn: (admin: ReturnType<Kafka["admin"]>) => Promise<T>): Promise<T> {
  const admin = new Kafka({ clientId: "broker-view", brokers: [kafka.direct], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

// Records in a partition (0 unless given; its high watermark).
export function brokerOffset(kafka: KafkaBroker, topic: string, partition = 0): Promise<number> {
  return withAdmin(kafka, async (a) => Number((await a.fetchTopicOffsets(topic)).find((o) => o.partition === partition)!.high));
}

export function brokerTopics(kafka: KafkaBroker): Promise<string[]> {
  return withAdmin(kafka, (a) => a.listTopics());
}

export function brokerGroups(kafka: KafkaBroker): Promise<string[]> {
  return withAdmin(kafka, async (a) => (await a.listGroups()).groups.map((g) => g.groupId));
}

export function createTopics(kafka: KafkaBroker, topics: string[], numPartitions?: number): Promise<unknown> {
  return withAdmin(kafka, (a) => a.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions })), waitForLeaders: true }));
}
