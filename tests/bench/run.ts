// `npm run bench [-- --quick] [-- --out DIR]`: what the filter costs, side by side in one run on
// one machine: the broker directly, Envoy tcp_proxy alone, and Envoy with the filter's stages
// (scenarios.ts). One KRaft broker; each Envoy (--concurrency 1) listens on the port the broker
// advertises, one scenario at a time. Writes JSON, a markdown table and an SVG chart.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ROOT, WASM, requireInstalled, scratchDir } from "../harness/paths.ts";
import { freePort } from "../harness/process.ts";
import { startKafka } from "../harness/kafka.ts";
import { startEnvoy, Envoy } from "../harness/envoy.ts";
import { CLIENT_ID, SCENARIOS, Scenario } from "./scenarios.ts";
import { consumerPerf, producerPerf } from "./perf_tools.ts";
import { kafkajsProduce, kafkajsRoundTrips } from "./kafkajs_load.ts";
import { microbench, MicroResult } from "./microbench.ts";
import { markdown, svg } from "./report.ts";

export interface Run {
  scenario: string;
  size: number;
  records: number;
  recordsPerSec: number;
  mbPerSec: number;
  vsTcpProxy?: number;
  latencyRate?: number;
  latencyP50Ms?: number;
  latencyP99Ms?: number;
  p99AddedMs?: number;
  envoyCpuSecondsPerGB?: number;
  consumerMbPerSec?: number;
  kafkajsRecordsPerSec?: number;
  // One Produce at a time (kafkajsRoundTrips): p50/p99 in microseconds, and p99 minus tcp_proxy's.
  rttP50Us?: number;
  rttP99Us?: number;
  rttP99AddedUs?: number;
}

export interface BenchResult {
  date: string;
  mode: "quick" | "full";
  command: string;
  machine: string;
  moduleBytes: number;
  // The module's memory before the first run, after the first and after the last (flat after
  // the buffers reached their working size means no leak).
  wasmMemory: { before: number; afterFirst: number; after: number; records: number };
  micro: MicroResult;
  runs: Run[];
}

const quick = process.argv.includes("--quick");
const outArg = process.argv.indexOf("--out");
const outDir = outArg > 0 ? process.argv[outArg + 1] : join(ROOT, quick ? ".tmp/bench-quick" : "bench-results");
const SIZES = [100, 1024];
const RECORDS: Record<number, number> = quick ? { 100: 50000, 1024: 20000 } : { 100: 1000000, 1024: 300000 };
const LATENCY_SECONDS = quick ? 3 : 20;
const KAFKAJS_RECORDS = quick ? 5000 : 50000;
const ROUND_TRIPS = quick ? 200 : 5000;
// Unthrottled runs per scenario and size; the median is reported (loopback on a shared machine
// is noisy).
const REPEATS = quick ? 1 : 3;

// Envoy's user + system CPU seconds so far (/proc/<pid>/stat, in clock ticks of 1/100 s).
function cpuSeconds(envoy: Envoy | null): number {
  if (envoy === null) return 0;
  const fields = readFileSync(`/proc/${envoy.service.proc.pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function main(): Promise<void> {
  requireInstalled();
  const dir = scratchDir("bench");
  const listenPort = await freePort();
  // Each scenario writes gigabytes in the full run: small segments, deleted past 256 MiB.
  const kafka = await startKafka(join(dir, "kafka"), listenPort, {
    props: { "log.segment.bytes": String(64 * 1048576), "log.retention.bytes": String(256 * 1048576), "log.retention.check.interval.ms": "5000" },
  });
  const runs: Run[] = [];
  const wasmMemory = { before: 0, afterFirst: 0, after: 0, records: 0 };
  try {
    const admin = new Kafka({ clientId: "bench-admin", brokers: [kafka.direct], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const topics = SCENARIOS.flatMap((s, i) => SIZES.flatMap((size) => ["", "-lat", "-js"].map((k) => s.brokerTopic(`bench-${i}-${size}${k}`))));
    await admin.createTopics({ topics: topics.map((topic) => ({ topic })), waitForLeaders: true });
    await admin.disconnect();
    // tcp_proxy first: its ceiling sets the fixed rate of every latency run.
    const order = [...SCENARIOS.keys()].sort((a, b) => Number(SCENARIOS[b].name === "tcp_proxy") - Number(SCENARIOS[a].name === "tcp_proxy"));
    const ceiling: Record<number, number> = {};
    for (const i of order) {
      const s: Scenario = SCENARIOS[i];
      let envoy: Envoy | null = null;
      if (s.envoy !== null) {
        envoy = await startEnvoy(dir, { listenPort, upstreamPort: kafka.proxiedPort, filterConfig: s.envoy.filter });
      }
      const bootstrap = envoy !== null ? `127.0.0.1:${listenPort}` : kafka.direct;
      try {
        for (const size of SIZES) {
          const topic = `bench-${i}-${size}`;
          const tracksMemory = s.name === "filter+metrics" && size === 100;
          if (tracksMemory) wasmMemory.before = await envoy!.stat("wasm_memory_bytes");
          const cpu0 = cpuSeconds(envoy);
          const tries = [];
          for (let k = 0; k < REPEATS; k++) {
            tries.push(await producerPerf(bootstrap, topic, RECORDS[size], size, -1, CLIENT_ID));
            if (tracksMemory && k === 0) wasmMemory.afterFirst = await envoy!.stat("wasm_memory_bytes");
          }
          const cpu = (cpuSeconds(envoy) - cpu0) / REPEATS;
          const p = tries.sort((a, b) => a.recordsPerSec - b.recordsPerSec)[Math.floor(REPEATS / 2)];
          if (tracksMemory) {
            wasmMemory.after = await envoy!.stat("wasm_memory_bytes");
            wasmMemory.records = p.records * REPEATS;
          }
          if (s.name === "tcp_proxy") ceiling[size] = p.recordsPerSec;
          const rate = Math.max(100, Math.round(ceiling[size] / 2));
          const lat = await producerPerf(bootstrap, `${topic}-lat`, rate * LATENCY_SECONDS, size, rate, CLIENT_ID);
          const c = await consumerPerf(bootstrap, topic, RECORDS[size], `bench-${i}-${size}`, CLIENT_ID, dir);
          const js = await kafkajsProduce(bootstrap, `${topic}-js`, KAFKAJS_RECORDS, size, CLIENT_ID);
          const rtt = await kafkajsRoundTrips(bootstrap, `${topic}-js`, ROUND_TRIPS, size, CLIENT_ID);
          const run: Run = {
            scenario: s.name, size, records: p.records, recordsPerSec: p.recordsPerSec, mbPerSec: p.mbPerSec,
            latencyRate: rate, latencyP50Ms: lat.p50Ms, latencyP99Ms: lat.p99Ms,
            envoyCpuSecondsPerGB: envoy !== null ? cpu / ((p.records * size) / 1e9) : undefined,
            consumerMbPerSec: c.mbPerSec, kafkajsRecordsPerSec: js.recordsPerSec, rttP50Us: rtt.p50Us, rttP99Us: rtt.p99Us,
          };
          runs.push(run);
          console.log(`${s.name} ${size} B: ${Math.round(p.recordsPerSec)} records/s, p99 ${lat.p99Ms} ms at ${rate}/s`);
        }
      } finally {
        await envoy?.stop();
      }
    }
  } finally {
    await kafka.stop();
  }
  // The broker's data is only scratch (logs of a failed run stay for a look).
  rmSync(dir, { recursive: true, force: true });
  const byKey = (name: string, size: number) => runs.find((r) => r.scenario === name && r.size === size);
  const ordered: Run[] = [];
  for (const s of SCENARIOS) {
    for (const size of SIZES) {
      const r = byKey(s.name, size)!;
      const base = byKey("tcp_proxy", size)!;
      r.vsTcpProxy = r.recordsPerSec / base.recordsPerSec;
      r.p99AddedMs = r.latencyP99Ms! - base.latencyP99Ms!;
      r.rttP99AddedUs = r.rttP99Us! - base.rttP99Us!;
      ordered.push(r);
    }
  }
  const result: BenchResult = {
    date: new Date().toISOString(),
    mode: quick ? "quick" : "full",
    command: quick ? "npm run bench -- --quick" : "npm run bench",
    machine: `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, shared`,
    moduleBytes: statSync(WASM).size,
    wasmMemory,
    micro: microbench(quick ? 500 : 20000),
    runs: ordered,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "latest.json"), JSON.stringify(result, null, 2) + "\n");
  writeFileSync(join(outDir, "latest.md"), markdown(result));
  writeFileSync(join(outDir, "latest.svg"), svg(result));
  console.log("\n" + markdown(result));
  console.log(`written to ${outDir}/latest.{json,md,svg}`);
}

await main();
