// `npm run bench [-- --quick] [-- --out DIR]`: what the filter costs, side by side in one run on
// one machine: the broker directly, Envoy tcp_proxy alone, and Envoy with the filter's stages
// (scenarios.ts). One KRaft broker; each Envoy (--concurrency 2, or ENVOY_CONCURRENCY) listens on the port the broker
// advertises, one scenario at a time. Then record validation's cost per MB for each codec
// (validation_bench.ts; also runnable alone, and under callgrind). Writes JSON, markdown tables
// and an SVG chart.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ROOT, WASM, requireInstalled, scratchDir } from "../harness/paths.ts";
import { freePort } from "../harness/process.ts";
import { startKafka } from "../harness/kafka.ts";
import type { Envoy } from "../harness/envoy.ts";
import { CLIENT_ID, SCENARIOS as ALL_SCENARIOS, Scenario, buildBaselines } from "./scenarios.ts";
import { cpuSeconds, startScenarioEnvoy } from "./scenario_envoy.ts";
import { consumerPerf, producerPerf, ProducerResult } from "./perf_tools.ts";
import { kafkajsProduce, kafkajsRoundTrips } from "./kafkajs_load.ts";
import { microbench, MicroResult } from "./microbench.ts";
import { markdown, svg } from "./report.ts";
import { BigFrames, IdleMemory, bigFrames, idleMemory } from "./idle_memory.ts";
import { CODECS, ValidationBench, validationBench } from "./validation_bench.ts";

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
  // Of it, user time.
  envoyUserSecondsPerGB?: number;
  cpuVsTcpProxy?: number;
  consumerMbPerSec?: number;
  consumerVsTcpProxy?: number;
  kafkajsRecordsPerSec?: number;
  // One Produce at a time (kafkajsRoundTrips): p50/p99 in microseconds, and p99 minus tcp_proxy's.
  rttP50Us?: number;
  rttP99Us?: number;
  rttP99AddedUs?: number;
  // Bytes the module copied across the ABI (kafka_proxy.abi_bytes_read / abi_bytes_written) and
  // the bytes it let through (kafka_proxy.bytes_forwarded), from Envoy's stats, over the Java
  // client's load (the unthrottled producer runs and the consumer run), and their ratio.
  abiBytesRead?: number;
  abiBytesWritten?: number;
  bytesForwarded?: number;
  copyRatio?: number;
}

// The memory scenario, per filter scenario (idle_memory.ts).
export interface MemoryRun {
  scenario: string;
  idle: IdleMemory;
  big: BigFrames;
}

export interface BenchResult {
  date: string;
  mode: "quick" | "full";
  command: string;
  machine: string;
  // The 1-minute load average when the run started and ended: other users' work on the shared
  // machine, which the numbers carry.
  load: { start: number; end: number };
  moduleBytes: number;
  // The module's memory (filter+metrics, 100 B) in a fresh Envoy, after one pass of every kind
  // of load, and after `records` more (flat once the buffers reached their working size means
  // no leak).
  wasmMemory: { before: number; afterFirst: number; after: number; records: number };
  // Envoy itself reports no per-VM memory (only tcmalloc totals and VM counts), so the process's
  // resident size is sampled at the same points as the module's gauge.
  envoyRss: { before: number; afterFirst: number; after: number };
  // Scenarios whose Envoy refused the filter configuration, with Envoy's reason.
  unavailable: { scenario: string; reason: string }[];
  micro: MicroResult;
  runs: Run[];
  memory: MemoryRun[];
  // Memory scenarios that could not be measured, and why.
  memoryFailures: { scenario: string; reason: string }[];
  // Record validation's cost per MB per codec (validation_bench.ts).
  validation?: ValidationBench;
}

const quick = process.argv.includes("--quick");
const SCENARIOS = quick ? ALL_SCENARIOS.filter((s) => !s.fullOnly) : ALL_SCENARIOS;
const outArg = process.argv.indexOf("--out");
const outDir = outArg > 0 ? process.argv[outArg + 1] : join(ROOT, quick ? ".tmp/bench-quick" : "bench-results");
const SIZES = [100, 1024];
// The quick mode checks that every part runs (its numbers mean little): small loads, as JVM starts
// dominate its time, but enough bytes that Envoy's CPU time (in 10 ms ticks) is never zero.
const RECORDS: Record<number, number> = quick ? { 100: 50000, 1024: 20000 } : { 100: 1000000, 1024: 300000 };
const LATENCY_SECONDS = quick ? 1 : 20;
const KAFKAJS_RECORDS = quick ? 1000 : 50000;
const ROUND_TRIPS = quick ? 100 : 5000;
// Rounds of unthrottled runs over all scenarios; the median is reported (loopback on a shared
// machine is noisy).
const REPEATS = quick ? 1 : 3;
// The memory scenario: idle connections and connections that carried a 1 MiB record (the quick
// mode only for the rewriting scenario, whose connections hold the most).
const IDLE_CONNECTIONS = quick ? 300 : 10000;
const BIG_FRAMES = quick ? 8 : 32;
// Record validation per codec (validation_bench.ts): rounds over tcp_proxy, the filter without
// rules and the filter validating every record, each codec, 1 KiB JSON records. The quick mode
// (within its time bound) only sends each codec through the validating filter.
const VALIDATION_ROUNDS = quick ? 1 : 3;
const VALIDATION_RECORDS = quick ? 1000 : 100000;

// The filter's ABI byte counters in Envoy's stats (zeros without the filter).
const ABI = ["abi_bytes_read", "abi_bytes_written", "bytes_forwarded"];
async function abiBytes(envoy: Envoy | null): Promise<number[]> {
  if (envoy === null) return ABI.map(() => 0);
  const stats = await envoy.stats("kafka_proxy.");
  return ABI.map((n) => stats.get(`wasmcustom.kafka_proxy.${n}`) ?? 0);
}
const minus = (a: number[], b: number[]) => a.map((x, i) => x - b[i]);
const plus = (a: number[] | undefined, b: number[]) => (a === undefined ? b : a.map((x, i) => x + b[i]));

// Envoy's resident set size in bytes (/proc/<pid>/status VmRSS, in kB).
function rssBytes(envoy: Envoy): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${envoy.service.pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

async function main(): Promise<void> {
  requireInstalled();
  buildBaselines(SCENARIOS);
  const loadAtStart = loadavg()[0];
  const dir = scratchDir("bench");
  const listenPort = await freePort();
  // Each scenario writes gigabytes in the full run: small segments, deleted past 256 MiB.
  const kafka = await startKafka(join(dir, "kafka"), listenPort, {
    props: { "log.segment.bytes": String(64 * 1048576), "log.retention.bytes": String(256 * 1048576), "log.retention.check.interval.ms": "5000" },
  });
  const runs: Run[] = [];
  const wasmMemory = { before: 0, afterFirst: 0, after: 0, records: 0 };
  const envoyRss = { before: 0, afterFirst: 0, after: 0 };
  const unavailable: BenchResult["unavailable"] = [];
  const memory: MemoryRun[] = [];
  const memoryFailures: { scenario: string; reason: string }[] = [];
  let validation: ValidationBench | undefined;
  // ABI bytes per scenario and size over the Java client's load.
  const copies = new Map<string, number[]>();
  try {
    const admin = new Kafka({ clientId: "bench-admin", brokers: [kafka.direct], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const topics = SCENARIOS.flatMap((s, i) => SIZES.flatMap((size) => ["", "-lat", "-js"].map((k) => s.brokerTopic(`bench-${i}-${size}${k}`))));
    await admin.createTopics({ topics: topics.map((topic) => ({ topic })), waitForLeaders: true });
    await admin.disconnect();
    // Envoy for scenario `s` (none for direct), or null when its filter configuration is refused.
    const reach = async (s: Scenario): Promise<{ envoy: Envoy | null; bootstrap: string } | null> => {
      if (unavailable.some((u) => u.scenario === s.name)) return null;
      if (s.envoy === null) return { envoy: null, bootstrap: kafka.direct };
      const started = await startScenarioEnvoy(dir, s.envoy.filter, listenPort, kafka.proxiedPort, undefined, undefined, s.envoy.wasm);
      if ("envoy" in started) return { envoy: started.envoy, bootstrap: `127.0.0.1:${listenPort}` };
      unavailable.push({ scenario: s.name, reason: started.unavailable });
      console.log(`${s.name}: not available: ${started.unavailable}`);
      return null;
    };
    // Throughput: rounds over all scenarios rather than repeats within one, so that the load
    // other users put on the shared machine drifts over every scenario alike; the median round
    // is reported, and Envoy's CPU is summed over all rounds.
    const tries = new Map<string, { p: ProducerResult; cpu: number; user: number }[]>();
    const key = (s: Scenario, size: number) => `${s.name}/${size}`;
    for (let round = 0; round < REPEATS; round++) {
      for (const [i, s] of SCENARIOS.entries()) {
        const path = await reach(s);
        if (path === null) continue;
        try {
          for (const size of SIZES) {
            const cpu0 = cpuSeconds(path.envoy);
            const abi0 = await abiBytes(path.envoy);
            const p = await producerPerf(path.bootstrap, `bench-${i}-${size}`, RECORDS[size], size, -1, CLIENT_ID);
            const cpu1 = cpuSeconds(path.envoy);
            tries.set(key(s, size), [...(tries.get(key(s, size)) ?? []), { p, cpu: cpu1.total - cpu0.total, user: cpu1.user - cpu0.user }]);
            copies.set(key(s, size), plus(copies.get(key(s, size)), minus(await abiBytes(path.envoy), abi0)));
            console.log(`round ${round + 1}/${REPEATS} ${s.name} ${size} B: ${Math.round(p.recordsPerSec)} records/s`);
          }
        } finally {
          await path.envoy?.stop();
        }
      }
    }
    const median = (s: Scenario, size: number) =>
      [...tries.get(key(s, size))!].sort((a, b) => a.p.recordsPerSec - b.p.recordsPerSec)[Math.floor(REPEATS / 2)].p;
    const tcpProxy = SCENARIOS.find((s) => s.name === "tcp_proxy")!;
    // Latency at a fixed rate (half of tcp_proxy's ceiling), consumer and kafkajs, one Envoy per
    // scenario.
    for (const [i, s] of SCENARIOS.entries()) {
      const path = await reach(s);
      if (path === null) continue;
      const { envoy, bootstrap } = path;
      try {
        for (const size of SIZES) {
          const topic = `bench-${i}-${size}`;
          const tracksMemory = s.name === "filter+metrics" && size === 100;
          if (tracksMemory) {
            wasmMemory.before = await envoy!.stat("wasm_memory_bytes");
            envoyRss.before = rssBytes(envoy!);
          }
          const rate = Math.max(100, Math.round(median(tcpProxy, size).recordsPerSec / 2));
          const lat = await producerPerf(bootstrap, `${topic}-lat`, rate * LATENCY_SECONDS, size, rate, CLIENT_ID);
          const abi0 = await abiBytes(envoy);
          const c = await consumerPerf(bootstrap, topic, RECORDS[size], `bench-${i}-${size}`, CLIENT_ID, dir);
          const [abiRead, abiWritten, forwarded] = plus(copies.get(key(s, size)), minus(await abiBytes(envoy), abi0));
          const js = await kafkajsProduce(bootstrap, `${topic}-js`, KAFKAJS_RECORDS, size, CLIENT_ID);
          const rtt = await kafkajsRoundTrips(bootstrap, `${topic}-js`, ROUND_TRIPS, size, CLIENT_ID);
          if (tracksMemory) {
            // Every kind of request and response has passed once; a leak would show over
            // another full throughput run through the same VM.
            wasmMemory.afterFirst = await envoy!.stat("wasm_memory_bytes");
            envoyRss.afterFirst = rssBytes(envoy!);
            wasmMemory.records = (await producerPerf(bootstrap, topic, RECORDS[size], size, -1, CLIENT_ID)).records;
            wasmMemory.after = await envoy!.stat("wasm_memory_bytes");
            envoyRss.after = rssBytes(envoy!);
          }
          const p = median(s, size);
          const all = tries.get(key(s, size))!;
          const gb = all.reduce((sum, t) => sum + t.p.records * size, 0) / 1e9;
          runs.push({
            scenario: s.name, size, records: p.records, recordsPerSec: p.recordsPerSec, mbPerSec: p.mbPerSec,
            latencyRate: rate, latencyP50Ms: lat.p50Ms, latencyP99Ms: lat.p99Ms,
            envoyCpuSecondsPerGB: envoy !== null ? all.reduce((sum, t) => sum + t.cpu, 0) / gb : undefined,
            envoyUserSecondsPerGB: envoy !== null ? all.reduce((sum, t) => sum + t.user, 0) / gb : undefined,
            consumerMbPerSec: c.mbPerSec, kafkajsRecordsPerSec: js.recordsPerSec, rttP50Us: rtt.p50Us, rttP99Us: rtt.p99Us,
            ...(forwarded > 0 ? { abiBytesRead: abiRead, abiBytesWritten: abiWritten, bytesForwarded: forwarded, copyRatio: (abiRead + abiWritten) / forwarded } : {}),
          });
          console.log(`${s.name} ${size} B: p99 ${lat.p99Ms} ms at ${rate}/s, one-at-a-time p99 ${Math.round(rtt.p99Us)} µs`);
        }
      } finally {
        await envoy?.stop();
      }
    }
    // Memory: each filter scenario in fresh one-worker Envoys (one VM: the gauge is its memory).
    for (const [i, s] of SCENARIOS.entries()) {
      if (s.envoy === null || s.envoy.filter === null || s.baseline || (quick && s.name !== "filter+rewrite")) continue;
      if (unavailable.some((u) => u.scenario === s.name)) continue;
      const fresh = async <T>(f: (envoy: Envoy) => Promise<T>): Promise<T> => {
        const started = await startScenarioEnvoy(dir, s.envoy!.filter, listenPort, kafka.proxiedPort, 1, 2 * IDLE_CONNECTIONS);
        if (!("envoy" in started)) throw new Error(`${s.name}: ${started.unavailable}`);
        try {
          return await f(started.envoy);
        } finally {
          await started.envoy.stop();
        }
      };
      let idle: IdleMemory;
      let big: BigFrames;
      try {
        idle = await fresh((envoy) => idleMemory(envoy, CLIENT_ID, IDLE_CONNECTIONS));
        big = await fresh((envoy) => bigFrames(envoy, CLIENT_ID, `bench-${i}-1024`, BIG_FRAMES));
      } catch (e) {
        // The rest of the run's results stand; the memory table says what went wrong.
        memoryFailures.push({ scenario: s.name, reason: String(e).split("\n")[0] });
        console.log(`${s.name}: memory scenario failed: ${e}`);
        continue;
      }
      memory.push({ scenario: s.name, idle, big });
      console.log(`${s.name}: ${idle.connections} idle connections: ${Math.round(idle.perIdleConnection)} B each ` +
        `(${Math.round(idle.highWaterPerIdleConnection)} B of linear memory each); ${big.connections} that carried 1 MiB: ` +
        `${Math.round(big.perConnection)} B each at most${big.kept ? ", frame-sized buffers kept" : ""}`);
    }
    validation = await validationBench({
      kafka, dir, listenPort, rounds: VALIDATION_ROUNDS, records: VALIDATION_RECORDS,
      codecsFor: (name) => (quick && name !== "filter+validation-json" ? [] : CODECS),
    });
  } finally {
    await kafka.stop();
  }
  // The broker's data is only scratch (logs of a failed run stay for a look).
  rmSync(dir, { recursive: true, force: true });
  const byKey = (name: string, size: number) => runs.find((r) => r.scenario === name && r.size === size);
  const ordered: Run[] = [];
  for (const s of SCENARIOS) {
    for (const size of SIZES) {
      const r = byKey(s.name, size);
      if (r === undefined) continue; // not available
      const base = byKey("tcp_proxy", size)!;
      r.vsTcpProxy = r.recordsPerSec / base.recordsPerSec;
      if (r.envoyCpuSecondsPerGB !== undefined) r.cpuVsTcpProxy = r.envoyCpuSecondsPerGB / base.envoyCpuSecondsPerGB!;
      r.consumerVsTcpProxy = r.consumerMbPerSec! / base.consumerMbPerSec!;
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
    load: { start: loadAtStart, end: loadavg()[0] },
    moduleBytes: statSync(WASM).size,
    wasmMemory,
    envoyRss,
    unavailable,
    micro: microbench(quick ? 500 : 20000),
    runs: ordered,
    memory,
    memoryFailures,
    validation,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "latest.json"), JSON.stringify(result, null, 2) + "\n");
  writeFileSync(join(outDir, "latest.md"), markdown(result));
  writeFileSync(join(outDir, "latest.svg"), svg(result));
  console.log("\n" + markdown(result));
  console.log(`written to ${outDir}/latest.{json,md,svg}`);
}

await main();
