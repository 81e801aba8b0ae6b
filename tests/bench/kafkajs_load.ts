// A Node.js client's view of the same path: kafkajs producing batches as fast as it can.
import { Kafka, logLevel, Partitioners } from "kafkajs";

export async function kafkajsProduce(bootstrap: string, topic: string, records: number, size: number, clientId: string):
  Promise<{ recordsPerSec: number; mbPerSec: number }> {
  const producer = new Kafka({ clientId, brokers: [bootstrap], logLevel: logLevel.NOTHING })
    .producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const value = Buffer.alloc(size, 0x61);
  const batch = 500;
  const messages = Array.from({ length: batch }, () => ({ value }));
  const start = process.hrtime.bigint();
  try {
    for (let sent = 0; sent < records; sent += batch) await producer.send({ topic, acks: 1, messages });
  } finally {
    await producer.disconnect();
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const total = Math.ceil(records / batch) * batch;
  return { recordsPerSec: total / seconds, mbPerSec: (total * size) / seconds / 1048576 };
}
