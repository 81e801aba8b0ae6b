// `npx tsx tests/bench/envoy_profile.ts`: where Envoy's instructions go, per scenario, for a
// produce phase and a consume phase counted apart (1 KiB records, Kafka's perf tools), under
// callgrind with per-instruction dumps. Prints each phase's total, its split by object (the
// envoy binary; "???": code callgrind finds no object for, i.e. the Wasm module's JIT code at
// high addresses, V8's entry stubs, and Envoy's malloc/free at 0x628xxxx-0x629xxxx; libc) and
// the filter's request/response counts, and leaves the dumps in the printed directory for
// callgrind_annotate. JIT functions show as jump-table slots (0x...<base>+8*i): slot i is the
// module's function i after its imports, named by a build with --debug (its name section).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ROOT, requireInstalled, scratchDir } from "../harness/paths.ts";
import { freePort } from "../harness/process.ts";
import { startKafka } from "../harness/kafka.ts";
import { CountedEnvoy } from "./callgrind.ts";
import { CLIENT_ID, SCENARIOS, buildBaselines } from "./scenarios.ts";
import { consumerPerf, producerPerf } from "./perf_tools.ts";

const NAMES = (process.env.SCENARIOS ?? "tcp_proxy,wasm no-op,filter+metrics").split(",");
const RECORDS = Number(process.env.RECORDS ?? 20000);
const WARMUP = Number(process.env.WARMUP ?? 20000);

// Instructions per object from a callgrind dump (self cost; "ob=" and "cob=" names share one
// table of compressed "(n) name" ids, files and functions their own).
export function byObject(file: string): Map<string, number> {
  const obNames = new Map<string, string>();
  const totals = new Map<string, number>();
  let ob = "?";
  let inCall = false;
  const name = (v: string) => {
    const m = /^\((\d+)\)(?: (.*))?$/.exec(v);
    if (!m) return v;
    if (m[2] !== undefined) obNames.set(m[1], m[2]);
    return obNames.get(m[1]) ?? v;
  };
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.startsWith("ob=")) ob = name(line.slice(3));
    else if (line.startsWith("cob=")) name(line.slice(4));
    else if (line.startsWith("calls=")) inCall = true;
    else if (/^[0-9+\-*]/.test(line)) {
      // The line after calls= is the call's inclusive cost, not self cost.
      if (inCall) { inCall = false; continue; }
      const parts = line.trim().split(/\s+/);
      const ir = Number(parts[parts.length - 1]);
      if (!Number.isNaN(ir)) totals.set(ob, (totals.get(ob) ?? 0) + ir);
    }
  }
  return totals;
}

requireInstalled();
const scenarios = SCENARIOS.filter((s) => NAMES.includes(s.name));
buildBaselines(scenarios);
const dir = scratchDir("envoy-profile");
console.log(`dumps in ${dir}`);
const listenPort = await freePort();
const kafka = await startKafka(join(dir, "kafka"), listenPort);
const stat = async (envoy: CountedEnvoy) => {
  const out: Record<string, number> = {};
  for (const line of (await envoy.admin("/stats?filter=kafka_proxy")).split("\n")) {
    const m = /^(\S+): (\d+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
};
try {
  const admin = new Kafka({ clientId: "bench-admin", brokers: [kafka.direct], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({
    topics: scenarios.flatMap((s, i) => [`prof-${i}`, `prof-${i}-warmup`].map((t) => ({ topic: s.brokerTopic(t) }))), waitForLeaders: true,
  });
  await admin.disconnect();
  const bootstrap = `127.0.0.1:${listenPort}`;
  for (const [i, s] of scenarios.entries()) {
    const envoy = await CountedEnvoy.start(dir, `envoy-${i}`, {
      listenPort, upstreamPort: kafka.proxiedPort, filterConfig: s.envoy!.filter,
      // FILTER_WASM: another build of the filter (a before/after comparison).
      wasmPath: s.envoy!.wasm ?? (s.envoy!.filter !== null ? process.env.FILTER_WASM : undefined),
    }, ["--dump-instr=yes"]);
    try {
      await producerPerf(bootstrap, `prof-${i}-warmup`, WARMUP, 100, -1, CLIENT_ID);
      await consumerPerf(bootstrap, `prof-${i}-warmup`, WARMUP, `prof-${i}-warmup`, CLIENT_ID, dir);
      const idlePerMs = await envoy.idlePerMs();
      for (const phase of ["produce", "consume"]) {
        const before = await stat(envoy);
        const r = await envoy.count(async () => {
          if (phase === "produce") await producerPerf(bootstrap, `prof-${i}`, RECORDS, 1024, -1, CLIENT_ID);
          else await consumerPerf(bootstrap, `prof-${i}`, RECORDS, `prof-${i}-g`, CLIENT_ID, dir);
        });
        const after = await stat(envoy);
        const idle = idlePerMs * r.ms;
        const gb = (RECORDS * 1024) / 1e9;
        console.log(`${s.name} ${phase}: ${((r.instructions - idle) / gb / 1e9).toFixed(3)} G/GB (${(r.instructions / 1e6).toFixed(1)} M counted, idle ${(idle / 1e6).toFixed(1)} M, ${(r.ms / 1000).toFixed(1)} s) ${r.files.join(" ")}`);
        const objs = new Map<string, number>();
        for (const f of r.files) for (const [k, v] of byObject(f)) objs.set(k, (objs.get(k) ?? 0) + v);
        for (const [k, v] of [...objs].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${(v / 1e6).toFixed(1).padStart(9)} M  ${k}`);
        const deltas = Object.entries(after).filter(([k, v]) => v !== (before[k] ?? 0) && /requests_forwarded|responses_forwarded/.test(k));
        for (const [k, v] of deltas) console.log(`  ${k}: +${v - (before[k] ?? 0)}`);
      }
    } finally {
      await envoy.stop();
    }
  }
} finally {
  await kafka.stop();
}
