// `npm run soak [-- --long] [-- --seconds N] [-- --connections N]`: N producer connections and a
// consumer group keep Envoy + filter (metrics, ACLs and rewriting on) busy against Kafka, and a
// churn of short connections (one Metadata request each) opens and closes connections all along,
// while the module's linear memory (the filter's kafka_proxy.wasm_memory_bytes gauge), Envoy's
// heap (admin /memory) and Envoy's RSS are sampled. --long runs 30 minutes with each producer pausing between sends (--pause-ms) so
// the machine stays usable. The broker keeps at most a few hundred MB (retention), so a long run
// does not fill the disk. Prints the samples and the growth after warm-up.
import { readFileSync } from "node:fs";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { startTestBed, TestBed } from "../harness/testbed.ts";
import { exchange, requestFrame } from "../harness/raw_client.ts";

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
  // Envoy's tcmalloc view (admin /memory): bytes in use, and the heap it holds from the OS.
  envoyAllocatedBytes: number;
  envoyHeapBytes: number;
  envoyRssBytes: number;
  records: number;
  shortConnections: number;
}

export interface SoakResult {
  samples: Sample[];
  records: number;
  // Growth from the sample at a quarter of the run (buffers at working size) to the end.
  wasmGrowthBytes: number;
  allocatedGrowthBytes: number;
  rssGrowthBytes: number;
  shortConnections: number;
}

function rss(bed: TestBed): number {
  const status = readFileSync(`/proc/${bed.envoy.service.pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

async function envoyMemory(bed: TestBed): Promise<{ allocated: number; heap: number }> {
  const m = JSON.parse(await bed.envoy.admin("/memory")) as { allocated: string; heap_size: string };
  return { allocated: Number(m.allocated), heap: Number(m.heap_size) };
}

// Metadata v6 for the soak topic, from a client id the ACLs know: a short connection's request.
const topicMetadata = (() => {
  const body = Buffer.alloc(4 + 2 + 4 + 1);
  body.writeInt32BE(1, 0);
  body.writeInt16BE(4, 4);
  body.write("soak", 6);
  return requestFrame(3, 6, 1, "soak-churn", body);
})();

// Bounded logs: small segments, deleted past 128 MiB per partition, checked every 5 s.
const BOUNDED_LOGS = {
  "log.segment.bytes": String(32 * 1048576),
  "log.retention.bytes": String(128 * 1048576),
  "log.retention.check.interval.ms": "5000",
};

export async function soak(seconds: number, connections: number, pauseMs = 0): Promise<SoakResult> {
  // One worker: the module's memory gauge is one VM's (each worker sets it from its own VM, so
  // with several the samples alternate between VMs and read as growth).
  const bed = await startTestBed("soak", SOAK_POLICY, { kafka: { props: BOUNDED_LOGS }, envoy: () => ({ concurrency: 1 }) });
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
    // Per-connection state that outlives its connection shows only with many connections.
    let shortConnections = 0;
    const churn = (async () => {
      while (!stop) {
        const r = await exchange(bed.envoy.listenPort, [topicMetadata], { timeoutMs: 5000, expectBytes: 8 });
        if (r.received.length < 8) {
          failure ??= new Error(`a short connection got ${r.received.length} bytes back`);
          stop = true;
        }
        shortConnections++;
        if (pauseMs > 0) await new Promise((res) => setTimeout(res, pauseMs));
      }
    })();
    const samples: Sample[] = [];
    const start = Date.now();
    const every = Math.max(1, Math.floor(seconds / 20));
    while (!stop && (Date.now() - start) / 1000 < seconds) {
      await new Promise((r) => setTimeout(r, every * 1000));
      const heap = await envoyMemory(bed);
      samples.push({
        seconds: Math.round((Date.now() - start) / 1000),
        wasmBytes: await bed.envoy.stat("wasm_memory_bytes"),
        envoyAllocatedBytes: heap.allocated,
        envoyHeapBytes: heap.heap,
        envoyRssBytes: rss(bed),
        records,
        shortConnections,
      });
    }
    stop = true;
    await Promise.all(producers);
    await churn;
    await consumer.disconnect();
    if (failure !== null) throw new Error(`a producer failed after ${samples.at(-1)?.seconds ?? 0} s: ${(failure as Error).message}`);
    const warm = samples[Math.floor(samples.length / 4)];
    const last = samples[samples.length - 1];
    failed = false;
    return {
      samples, records, shortConnections,
      wasmGrowthBytes: last.wasmBytes - warm.wasmBytes,
      allocatedGrowthBytes: last.envoyAllocatedBytes - warm.envoyAllocatedBytes,
      rssGrowthBytes: last.envoyRssBytes - warm.envoyRssBytes,
    };
  } finally {
    await bed.stop(failed);
  }
}

// What "flat after warm-up" allows, in both modes: the reassembly buffers reach the largest
// frame size early and Envoy's allocator settles, while a leak keeps adding.
export function growthProblems(r: SoakResult): string[] {
  const out: string[] = [];
  if (r.wasmGrowthBytes > 2 * 1048576) out.push(`Wasm memory grew ${r.wasmGrowthBytes} B after warm-up`);
  if (r.rssGrowthBytes > 64 * 1048576) out.push(`Envoy RSS grew ${r.rssGrowthBytes} B after warm-up`);
  if (r.allocatedGrowthBytes > 32 * 1048576) out.push(`Envoy's allocated heap grew ${r.allocatedGrowthBytes} B after warm-up`);
  return out;
}

if (process.argv[1]?.endsWith("soak.ts")) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const long = process.argv.includes("--long");
  const seconds = arg("--seconds") ?? (long ? 1800 : 60);
  const r = await soak(seconds, arg("--connections") ?? 8, arg("--pause-ms") ?? (long ? 20 : 0));
  const mib = (n: number) => (n / 1048576).toFixed(1);
  for (const s of r.samples) {
    console.log(`${String(s.seconds).padStart(5)} s  wasm ${s.wasmBytes} B  envoy allocated ${mib(s.envoyAllocatedBytes)} MiB  ` +
      `heap ${mib(s.envoyHeapBytes)} MiB  rss ${mib(s.envoyRssBytes)} MiB  ${s.records} records  ${s.shortConnections} short connections`);
  }
  console.log(`after warm-up: wasm memory grew ${r.wasmGrowthBytes} B, Envoy allocated ${mib(r.allocatedGrowthBytes)} MiB, ` +
    `RSS ${mib(r.rssGrowthBytes)} MiB; ${r.records} records, ${r.shortConnections} short connections`);
  const problems = growthProblems(r);
  for (const p of problems) console.log(`NOT FLAT: ${p}`);
  process.exitCode = problems.length > 0 ? 1 : 0;
}
