// `npx tsx tests/bench/cpu_floor.ts`: the bench's CPU column alone, for the scenarios that bound
// it from below. Envoy's CPU seconds per GB over the unthrottled producer runs (Kafka's producer
// perf tool, the same loads as `npm run bench`), in rounds over the scenarios, against
// `tcp_proxy` in the same run: plain `tcp_proxy`, a Wasm module that reads nothing (`wasm no-op`),
// one that only finds Kafka's frames (`wasm framer`: one read per frame start, the least any
// Kafka-aware filter reads) and the filter with metrics. Each round's ratios are printed, then
// the sums over all rounds, user time apart. SCENARIOS and ROUNDS (default 3) choose; WARMUP
// records (of 100 B) go through each Envoy before it is measured, leaving V8's one-off optimising
// compile of the module out.
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { requireInstalled, scratchDir } from "../harness/paths.ts";
import { freePort } from "../harness/process.ts";
import { startKafka } from "../harness/kafka.ts";
import { CLIENT_ID, SCENARIOS, buildBaselines } from "./scenarios.ts";
import { cpuSeconds, startScenarioEnvoy } from "./scenario_envoy.ts";
import { producerPerf } from "./perf_tools.ts";

const NAMES = (process.env.SCENARIOS ?? "tcp_proxy,wasm no-op,wasm framer,filter+metrics").split(",");
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const WARMUP = Number(process.env.WARMUP ?? 0);
const RECORDS: Record<number, number> = { 100: 1000000, 1024: 300000 };
const SIZES = [100, 1024];

requireInstalled();
const scenarios = SCENARIOS.filter((s) => NAMES.includes(s.name) && s.envoy !== null);
if (!scenarios.some((s) => s.name === "tcp_proxy")) throw new Error("SCENARIOS must include tcp_proxy, the yardstick");
buildBaselines(scenarios);
const dir = scratchDir("cpu-floor");
const listenPort = await freePort();
const kafka = await startKafka(join(dir, "kafka"), listenPort, {
  props: { "log.segment.bytes": String(64 * 1048576), "log.retention.bytes": String(256 * 1048576), "log.retention.check.interval.ms": "5000" },
});
// Per scenario and size: CPU seconds (total, user) and GB, per round and summed.
type Sum = { cpu: number; user: number; gb: number };
const sums = new Map<string, Sum>();
const key = (name: string, size: number) => `${name}/${size}`;
const add = (k: string, d: Sum) => {
  const s = sums.get(k) ?? { cpu: 0, user: 0, gb: 0 };
  sums.set(k, { cpu: s.cpu + d.cpu, user: s.user + d.user, gb: s.gb + d.gb });
};
const pct = (a: Sum, b: Sum) => `${((a.cpu / a.gb) / (b.cpu / b.gb) * 100).toFixed(1)}%`;
const perGb = (a: Sum) => `${(a.cpu / a.gb).toFixed(2)} (${(a.user / a.gb).toFixed(2)})`;
try {
  const admin = new Kafka({ clientId: "bench-admin", brokers: [kafka.direct], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({
    topics: scenarios.flatMap((s, i) => [...SIZES.map((size) => `floor-${i}-${size}`), `floor-${i}-warmup`].map((t) => ({ topic: s.brokerTopic(t) }))),
    waitForLeaders: true,
  });
  await admin.disconnect();
  const bootstrap = `127.0.0.1:${listenPort}`;
  for (let round = 1; round <= ROUNDS; round++) {
    const thisRound = new Map<string, Sum>();
    for (const [i, s] of scenarios.entries()) {
      const started = await startScenarioEnvoy(dir, s.envoy!.filter, listenPort, kafka.proxiedPort, undefined, undefined, s.envoy!.wasm);
      if (!("envoy" in started)) throw new Error(`${s.name}: ${started.unavailable}`);
      const envoy = started.envoy;
      try {
        if (WARMUP > 0) await producerPerf(bootstrap, `floor-${i}-warmup`, WARMUP, 100, -1, CLIENT_ID);
        for (const size of SIZES) {
          const before = cpuSeconds(envoy);
          const p = await producerPerf(bootstrap, `floor-${i}-${size}`, RECORDS[size], size, -1, CLIENT_ID);
          const after = cpuSeconds(envoy);
          const d = { cpu: after.total - before.total, user: after.user - before.user, gb: (p.records * size) / 1e9 };
          thisRound.set(key(s.name, size), d);
          add(key(s.name, size), d);
        }
        if (s.name === "wasm framer") {
          const frames = await envoy.stat("framer_frames_x64");
          const reads = await envoy.stat("framer_reads_x64");
          console.log(`round ${round} wasm framer: ${(reads / Math.max(1, frames)).toFixed(2)} reads per frame (${frames * 64} frames)`);
        }
      } finally {
        await envoy.stop();
      }
    }
    for (const s of scenarios) {
      for (const size of SIZES) {
        const r = thisRound.get(key(s.name, size))!;
        console.log(`round ${round} ${s.name} ${size} B: ${perGb(r)} s/GB, ${pct(r, thisRound.get(key("tcp_proxy", size))!)} of tcp_proxy`);
      }
    }
  }
  console.log(`\nover ${ROUNDS} rounds, Envoy CPU s/GB (user), and against tcp_proxy:`);
  for (const s of scenarios) {
    for (const size of SIZES) {
      const r = sums.get(key(s.name, size))!;
      console.log(`${s.name} ${size} B: ${perGb(r)}, ${pct(r, sums.get(key("tcp_proxy", size))!)}`);
    }
  }
} finally {
  await kafka.stop();
}
