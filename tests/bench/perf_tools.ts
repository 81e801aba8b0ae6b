// Apache Kafka's own load generators (kafka-producer-perf-test / kafka-consumer-perf-test, i.e.
// org.apache.kafka.tools.ProducerPerformance / ConsumerPerformance from the installed jars),
// run against a bootstrap address, with their summary lines parsed.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { KAFKA_LIBS } from "../harness/paths.ts";

function java(mainClass: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn("java", ["-Xmx512m", "-cp", `${KAFKA_LIBS}/*`, mainClass, ...args], { timeout: timeoutMs });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${mainClass} exited ${code}:\n${out}\n${err.slice(-3000)}`))));
  });
}

export interface ProducerResult {
  records: number;
  recordsPerSec: number;
  mbPerSec: number;
  avgMs: number;
  p50Ms: number;
  p99Ms: number;
}

// "N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency, p50 ms 50th,
// p95 ms 95th, p99 ms 99th, p999 ms 99.9th." is the tool's final line.
export function parseProducerSummary(out: string): ProducerResult {
  const m = /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, [\d.]+ ms max latency, (\d+) ms 50th, \d+ ms 95th, (\d+) ms 99th/
    .exec(out.split("\n").filter((l) => l.includes("records sent")).pop() ?? "");
  if (!m) throw new Error(`no ProducerPerformance summary in:\n${out.slice(-2000)}`);
  return { records: +m[1], recordsPerSec: +m[2], mbPerSec: +m[3], avgMs: +m[4], p50Ms: +m[5], p99Ms: +m[6] };
}

// `throughput` -1 is unthrottled (batching for throughput); otherwise records/s, sent without
// lingering so that the latency is the path's, not the batcher's.
export async function producerPerf(bootstrap: string, topic: string, records: number, size: number, throughput: number,
  clientId: string): Promise<ProducerResult> {
  const linger = throughput < 0 ? "linger.ms=5" : "linger.ms=0";
  const out = await java("org.apache.kafka.tools.ProducerPerformance", [
    "--topic", topic, "--num-records", String(records), "--record-size", String(size), "--throughput", String(throughput),
    "--bootstrap-server", bootstrap,
    "--producer-props", "acks=1", linger, "batch.size=65536", `client.id=${clientId}`, "compression.type=none",
  ], 600000);
  return parseProducerSummary(out);
}

// Records from a file of payloads (one a line, each picked at random per record), with integer
// keys (round-robin in [0, 1000)) and the given codec: the record-validation bench's load.
export async function producerPerfPayloads(bootstrap: string, topic: string, records: number, payloadFile: string,
  compression: string, clientId: string): Promise<ProducerResult> {
  const out = await java("org.apache.kafka.tools.ProducerPerformance", [
    "--topic", topic, "--num-records", String(records), "--payload-file", payloadFile, "--throughput", "-1",
    "--key-distribution", "range", "--record-key-range", "1000", "--bootstrap-server", bootstrap,
    "--producer-props", "acks=1", "linger.ms=5", "batch.size=65536", `client.id=${clientId}`, `compression.type=${compression}`,
  ], 600000);
  return parseProducerSummary(out);
}

export interface ConsumerResult {
  records: number;
  recordsPerSec: number;
  mbPerSec: number;
}

// The tool's CSV line: start, end, MB consumed, MB/s, records, records/s, ...
export async function consumerPerf(bootstrap: string, topic: string, records: number, group: string, clientId: string,
  scratch: string): Promise<ConsumerResult> {
  // The client id is the principal of the authorization scenario; the tool takes it from a file.
  const config = join(scratch, `consumer-${clientId}.properties`);
  writeFileSync(config, `client.id=${clientId}\n`);
  const out = await java("org.apache.kafka.tools.ConsumerPerformance", [
    "--bootstrap-server", bootstrap, "--topic", topic, "--num-records", String(records), "--group", group, "--timeout", "60000",
    "--consumer.config", config,
  ], 600000);
  const line = out.trim().split("\n").filter((l) => /^\d{4}-/.test(l)).pop();
  if (!line) throw new Error(`no ConsumerPerformance result in:\n${out.slice(-2000)}`);
  const f = line.split(",").map((x) => x.trim());
  return { records: +f[4], recordsPerSec: +f[5], mbPerSec: +f[3] };
}
