// `npx tsx tests/bench/envoy_instructions.ts`: Envoy's cost per GB as a count of instructions
// instead of CPU time. On two shared cores Envoy's CPU seconds per GB spread more from run to run
// than the difference being measured (README: Benchmarks); the number of instructions Envoy
// executes for the same load does not depend on what else the machine is doing. Envoy (one
// worker) runs under Valgrind's callgrind with counting switched on only around the load:
// Kafka's own producer and consumer perf tools through Envoy, per scenario and record size.
// Instructions leave out the kernel's share (sockets), which is the same with and without the
// filter, so the ratio to tcp_proxy here is larger than a CPU-time ratio would be.
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ROOT, requireInstalled, scratchDir } from "../harness/paths.ts";
import { freePort } from "../harness/process.ts";
import { startKafka } from "../harness/kafka.ts";
import { CountedEnvoy } from "./callgrind.ts";
import { CLIENT_ID, SCENARIOS, buildBaselines } from "./scenarios.ts";
import { consumerPerf, producerPerf } from "./perf_tools.ts";

const NAMES = (process.env.SCENARIOS ?? "tcp_proxy,wasm no-op,filter+metrics,filter+authz,filter+rewrite").split(",");
const RECORDS: Record<number, number> = { 100: Number(process.env.RECORDS_100 ?? 100000), 1024: Number(process.env.RECORDS_1024 ?? 20000) };

const WARMUP = 20000;
// Records sent to (and read from) each 1 KiB topic during the warm-up: the filter defines a
// topic's metrics the first time it sees the topic, and Envoy spends about 740,000 instructions on
// each definition (its stats tag extraction), ~3 M per topic: a one-off that would otherwise be
// counted in the 1 KiB load (about 0.07 G instructions per GB of it).
const WARMUP_1024 = 100;

requireInstalled();
const scenarios = SCENARIOS.filter((s) => NAMES.includes(s.name));
buildBaselines(scenarios);
const dir = scratchDir("envoy-instructions");
const listenPort = await freePort();
const kafka = await startKafka(join(dir, "kafka"), listenPort);
const rows: { scenario: string; size: number; bytes: number; instructions: number; counted: number; idlePerSecond: number; seconds: number }[] = [];
try {
  const admin = new Kafka({ clientId: "bench-admin", brokers: [kafka.direct], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({
    topics: scenarios.flatMap((s, i) => [100, 1024].map((size) => ({ topic: s.brokerTopic(`bench-${i}-${size}`) }))),
    waitForLeaders: true,
  });
  await admin.disconnect();
  const bootstrap = `127.0.0.1:${listenPort}`;
  for (const [i, s] of scenarios.entries()) {
    const envoy = await CountedEnvoy.start(dir, `envoy-${i}`, {
      listenPort, upstreamPort: kafka.proxiedPort, filterConfig: s.envoy!.filter, wasmPath: s.envoy!.wasm,
    });
    try {
      // Warm-up, not counted: V8 compiles the module's hot functions again with its optimising
      // tier once they have run a while (in background threads), a one-off cost that a long
      // run spreads thin.
      await producerPerf(bootstrap, `bench-${i}-100`, WARMUP, 100, -1, CLIENT_ID);
      await consumerPerf(bootstrap, `bench-${i}-100`, WARMUP, `bench-${i}-warmup`, CLIENT_ID, dir);
      await producerPerf(bootstrap, `bench-${i}-1024`, WARMUP_1024, 1024, -1, CLIENT_ID);
      await consumerPerf(bootstrap, `bench-${i}-1024`, WARMUP_1024, `bench-${i}-1024-warmup`, CLIENT_ID, dir);
      const idlePerMs = await envoy.idlePerMs();
      for (const size of [100, 1024]) {
        const topic = `bench-${i}-${size}`;
        let bytes = 0;
        const { instructions: counted, ms } = await envoy.count(async () => {
          const p = await producerPerf(bootstrap, topic, RECORDS[size], size, -1, CLIENT_ID);
          const c = await consumerPerf(bootstrap, topic, RECORDS[size] + (size === 100 ? WARMUP : WARMUP_1024), `${topic}-g`, CLIENT_ID, dir);
          bytes = (p.records + c.records) * size;
        });
        const instructions = counted - idlePerMs * ms;
        rows.push({ scenario: s.name, size, bytes, instructions, counted, idlePerSecond: idlePerMs * 1000, seconds: ms / 1000 });
        console.log(`${s.name} ${size} B: ${(instructions / (bytes / 1e9) / 1e9).toFixed(3)} G instructions per GB ` +
          `(${(counted / 1e6).toFixed(1)} M counted in ${(ms / 1000).toFixed(1)} s, of which idle ${(idlePerMs * ms / 1e6).toFixed(1)} M)`);
      }
    } finally {
      await envoy.stop();
    }
  }
} finally {
  await kafka.stop();
}
console.log(JSON.stringify(rows));
