// `npm run soak [-- --long] [-- --seconds N] [-- --connections N]`: N producer connections and a
// consumer group keep Envoy + filter (metrics, ACLs and rewriting on) busy against Kafka while
// the module's linear memory (the filter's kafka_proxy.wasm_memory_bytes gauge) and Envoy's RSS
// are sampled. --long runs 30 minutes with each producer pausing between sends (--pause-ms) so
// the machine stays usable. The broker keeps at most a few hundred MB (retention), so a long run
// does not fill the disk. Prints the samples and the growth after warm-up.
import { readFileSync } from "node:fs";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { startTestBed, TestBed } from "../harness/testbed.ts";

export const SOAK_POLICY = {
  principal_sources: ["client_id"],
  acls: {
    rules: [
      { principal: "*", permission: "allow", resource: "topic", name: "soak", operations: ["write", "read"] },
      { principal: "*", permission: "allow", resource: "group", name: "soak", operations: ["read"] },
    ],
  },
  rewrite: { tenants: [{ principal: "User:soak-tenant", prefix: "tenant." }] },
};

export interface Sample {
  seconds: number;
  wasmBytes: number;
  envoyRssBytes: number;
  records: number;
}

export interface SoakResult {
  samples: Sample[];
  records: number;
  // Growth from the sample at a quarter of the run (buffers at working size) to the end.
  wasmGrowthBytes: number;
  rssGrowthBytes: number;
}

function rss(bed: TestBed): number {
  const status = readFileSync(`/proc/${bed.envoy.service.proc.pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

// Bounded logs: small segments, deleted past 128 MiB per partition, checked every 5 s.
const BOUNDED_LOGS = {
  "log.segment.bytes": String(32 * 1048576),
  "log.retention.bytes": String(128 * 1048576),
  "log.retention.check.interval.ms": "5000",
};

export async function soak(seconds: number, connections: number, pauseMs = 0): Promise<SoakResult> {
  const bed = await startTestBed("soak", SOAK_POLICY, { kafka: { props: BOUNDED_LOGS } });
  let failed = true;
  try {
    const direct = new Kafka({ clientId: "setup", brokers: [bed.kafka.direct], logLevel: logLevel.NOTHING }).admin();
    await direct.connect();
    await direct.createTopics({ topics: [{ topic: "soak" }, { topic: "tenant.soak" }], waitForLeaders: true });
    await direct.disconnect();
    let records = 0;
    let stop = false;
    let failure: unknown = null;
    const value = Buffer.alloc(512, 0x6b);
    const producers = Array.from({ length: connections }, async (_, i) => {
      // Half the connections are a rewritten tenant; all pass the ACLs.
      const clientId = i % 2 === 0 ? `soak-${i}` : "soak-tenant";
      const p = new Kafka({ clientId, brokers: [bed.bootstrap], logLevel: logLevel.NOTHING })
        .producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await p.connect();
      try {
        while (!stop) {
          await p.send({ topic: "soak", messages: Array.from({ length: 50 }, (_, k) => ({ key: `k${k}`, value })) });
          records += 50;
          if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
        }
      } catch (e) {
        // A failed producer ends the run (reported below) instead of crashing the process.
        failure ??= e;
        stop = true;
      } finally {
        await p.disconnect();
      }
    });
    const consumer = new Kafka({ clientId: "soak-reader", brokers: [bed.bootstrap], logLevel: logLevel.NOTHING }).consumer({ groupId: "soak" });
    await consumer.connect();
    await consumer.subscribe({ topics: ["soak"], fromBeginning: true });
    await consumer.run({ eachBatch: async () => {} });
    const samples: Sample[] = [];
    const start = Date.now();
    const every = Math.max(1, Math.floor(seconds / 20));
    while (!stop && (Date.now() - start) / 1000 < seconds) {
      await new Promise((r) => setTimeout(r, every * 1000));
      samples.push({
        seconds: Math.round((Date.now() - start) / 1000),
        wasmBytes: await bed.envoy.stat("wasm_memory_bytes"),
        envoyRssBytes: rss(bed),
        records,
      });
    }
    stop = true;
    await Promise.all(producers);
    await consumer.disconnect();
    if (failure !== null) throw new Error(`a producer failed after ${samples.at(-1)?.seconds ?? 0} s: ${(failure as Error).message}`);
    const warm = samples[Math.floor(samples.length / 4)];
    const last = samples[samples.length - 1];
    failed = false;
    return { samples, records, wasmGrowthBytes: last.wasmBytes - warm.wasmBytes, rssGrowthBytes: last.envoyRssBytes - warm.envoyRssBytes };
  } finally {
    await bed.stop(failed);
  }
}

if (process.argv[1]?.endsWith("soak.ts")) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const long = process.argv.includes("--long");
  const seconds = arg("--seconds") ?? (long ? 1800 : 60);
  const r = await soak(seconds, arg("--connections") ?? 8, arg("--pause-ms") ?? (long ? 20 : 0));
  for (const s of r.samples) {
    console.log(`${String(s.seconds).padStart(5)} s  wasm ${s.wasmBytes} B  envoy rss ${(s.envoyRssBytes / 1048576).toFixed(1)} MiB  ${s.records} records`);
  }
  console.log(`after warm-up: wasm memory grew ${r.wasmGrowthBytes} B, Envoy RSS ${(r.rssGrowthBytes / 1048576).toFixed(1)} MiB, ${r.records} records`);
}
