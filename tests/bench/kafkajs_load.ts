// A Node.js client's view of the same path: kafkajs producing batches as fast as it can.
import { Kafka, logLevel, Partitioners } from "kafkajs";

async function connectedProducer(bootstrap: string, clientId: string) {
  const producer = new Kafka({ clientId, brokers: [bootstrap], logLevel: logLevel.NOTHING })
    .producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  return producer;
}

export async function kafkajsProduce(bootstrap: string, topic: string, records: number, size: number, clientId: string):
  Promise<{ recordsPerSec: number; mbPerSec: number }> {
  const producer = await connectedProducer(bootstrap, clientId);
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

// Request latency with microsecond resolution: one record per Produce, one at a time, so each
// send is one round trip through the path (the client's own overhead is the same on every path,
// so differences between scenarios are the proxy's).
export async function kafkajsRoundTrips(bootstrap: string, topic: string, sends: number, size: number, clientId: string):
  Promise<{ p50Us: number; p99Us: number }> {
  const producer = await connectedProducer(bootstrap, clientId);
  const value = Buffer.alloc(size, 0x72);
  const times: number[] = [];
  try {
    for (let i = 0; i < sends + 50; i++) {
      const start = process.hrtime.bigint();
      await producer.send({ topic, acks: 1, messages: [{ value }] });
      // The first sends warm up connections and JIT tiers.
      if (i >= 50) times.push(Number(process.hrtime.bigint() - start) / 1000);
    }
  } finally {
    await producer.disconnect();
  }
  times.sort((a, b) => a - b);
  return { p50Us: times[Math.floor(times.length * 0.5)], p99Us: times[Math.floor(times.length * 0.99)] };
}
