// Record validation's cost per MB produced, per codec (issue 19): Envoy's CPU time per MB of
// records that Kafka's own producer perf tool sends through (a) tcp_proxy alone, (b) the filter
// without validation rules (filter+metrics' configuration: the same minus the rules) and (c) the
// filter with a rule that reads every byte of every record (filter+validation-json: a key, and a
// value that is a JSON object with an `id`). The records are 1 KiB JSON objects with a key, sent
// uncompressed and with gzip, snappy, lz4 and zstd. The module inflates gzip, snappy and lz4
// before checking; zstd it does not inflate, and the rule passes it (`unsupported_compression:
// "pass"`), so that row is the cost of passing an unchecked batch.
//
// Every run is verified: the producer's sends all succeeded, the broker (its direct listener)
// holds exactly the records sent, the rule refused nothing, and the rule read at least every
// payload byte (or, for zstd, passed its batches uninflated and read none).
//
// Part of `npm run bench` (run.ts; a tiny load with --quick); alone, with its own broker:
//   npx tsx tests/bench/validation_bench.ts [--quick] [--rounds N] [--records N]
//   npx tsx tests/bench/validation_bench.ts --callgrind [--records N] [--warmup N] [--only scenario,...]
//     (Envoy's instructions, one worker, under Valgrind's callgrind)
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { BENCH_FILTERS } from "../../build/envoy/examples.ts";
import type { Envoy } from "../harness/envoy.ts";
import { startKafka, type KafkaBroker } from "../harness/kafka.ts";
import { ROOT, requireInstalled, scratchDir } from "../harness/paths.ts";
import { freePort, sleep } from "../harness/process.ts";
import { CountedEnvoy } from "./callgrind.ts";
import { producerPerfPayloads } from "./perf_tools.ts";
import { startScenarioEnvoy } from "./scenario_envoy.ts";
import { CLIENT_ID } from "./scenarios.ts";

export const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
export type Codec = (typeof CODECS)[number];
const RULE = "bench-json";
// Every record's size: JSON objects padded to exactly this many bytes.
export const RECORD_BYTES = 1024;

export const VALIDATION_SCENARIOS: { name: string; filter: object | null }[] = [
  { name: "tcp_proxy", filter: BENCH_FILTERS["tcp_proxy"] },
  { name: "filter (no rules)", filter: BENCH_FILTERS["filter+metrics"] },
  { name: "filter+validation-json", filter: BENCH_FILTERS["filter+validation-json"] },
];
const VALIDATING = "filter+validation-json";

export interface ValidationRun {
  scenario: string;
  codec: Codec;
  round: number;
  records: number;
  mbPerSec: number;
  // Envoy's user + system CPU seconds over the run (/proc, 10 ms ticks).
  envoyCpuSeconds: number;
  // Bytes Envoy received from the producer (tcp_proxy's downstream_cx_rx_bytes_total): the
  // batches as compressed on the wire.
  wireBytes: number;
  // Records the broker gained on the run's topic (its direct listener).
  brokerRecords: number;
  // The filter's validation counters over the run (validating scenario only).
  refused?: number;
  validatedBytes?: number;
  unsupportedPassed?: number;
}

export interface ValidationCell {
  scenario: string;
  codec: Codec;
  // Envoy CPU ms per MB (10^6 bytes of record values) in each round, and their median.
  cpuMsPerMB: number[];
  medianCpuMsPerMB: number;
  wireBytesPerMB: number;
  mbPerSec: number;
}

export interface ValidationInstructions {
  scenario: string;
  codec: Codec;
  bytes: number;
  instructions: number;
  instructionsPerMB: number;
}

export interface ValidationBench {
  recordBytes: number;
  recordsPerRun: number;
  rounds: number;
  runs: ValidationRun[];
  cells: ValidationCell[];
  // What failed verification (empty: every produced record was accepted and counted).
  failures: string[];
  instructions?: ValidationInstructions[];
}

// A seeded generator: the same payloads every run.
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

const WORDS = ("order shipped pending cancelled paid refund warehouse north south east west express standard " +
  "customer returned gift priority fragile box pallet crate priced discounted taxed invoice euro dollar " +
  "berlin paris lisbon tokyo lima oslo cairo quito").split(" ");

// Distinct JSON order events, one a line, each exactly RECORD_BYTES long: field names and words
// repeat as in real events (so the codecs have something to do), numbers and ids vary.
export function writePayloads(file: string, count = 2000): void {
  const r = rng(19);
  const pick = () => WORDS[Math.floor(r() * WORDS.length)];
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const event: Record<string, unknown> = {
      id: 100000 + i,
      customer: `cust-${Math.floor(r() * 1e6).toString(36)}`,
      ts: 1765000000000 + Math.floor(r() * 1e9),
      status: pick(),
      amount: Math.round(r() * 1e6) / 100,
      currency: r() < 0.5 ? "EUR" : "USD",
      items: Array.from({ length: 1 + Math.floor(r() * 4) }, () => ({ sku: `sku-${Math.floor(r() * 1e5)}`, qty: 1 + Math.floor(r() * 9), tag: pick() })),
      address: { city: pick(), zip: String(Math.floor(r() * 1e5)).padStart(5, "0"), street: `${pick()} ${pick()} ${Math.floor(r() * 300)}` },
      note: "",
    };
    let line = JSON.stringify(event);
    const words: string[] = [];
    while (line.length < RECORD_BYTES) {
      words.push(pick());
      event.note = words.join(" ");
      line = JSON.stringify(event);
    }
    // Cut the note to the exact length (still a JSON string: the words are plain ASCII).
    event.note = (event.note as string).slice(0, (event.note as string).length - (line.length - RECORD_BYTES));
    line = JSON.stringify(event);
    if (line.length !== RECORD_BYTES) throw new Error(`payload ${i} is ${line.length} bytes`);
    lines.push(line);
  }
  writeFileSync(file, lines.join("\n") + "\n");
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const topicOf = (scenarioIndex: number, codec: Codec) => `bench-json.${scenarioIndex}.${codec}`;

async function brokerRecords(admin: ReturnType<Kafka["admin"]>, topic: string): Promise<number> {
  // High watermarks: what retention deletes does not lower them. Just after the topics were
  // created the broker may not yet know itself their leader (NOT_LEADER_FOR_PARTITION): retried.
  for (let attempt = 1; ; attempt++) {
    try {
      return (await admin.fetchTopicOffsets(topic)).reduce((sum, o) => sum + Number(o.high), 0);
    } catch (e) {
      if (attempt >= 20) throw e;
      await sleep(500);
    }
  }
}

// Counters of one Envoy: received bytes, and the validation rule's.
async function counters(envoy: Envoy): Promise<{ rx: number; refused: number; bytes: number; passed: number }> {
  // One read (Envoy's stats filter is a regular expression; each read waits for the module's tick).
  const v = await envoy.stats("downstream_cx_rx_bytes_total|kafka_proxy\\.validation\\.");
  const rx = [...v.entries()].filter(([k]) => /^tcp\..*\.downstream_cx_rx_bytes_total$/.test(k)).reduce((s, [, n]) => s + n, 0);
  const get = (n: string) => v.get(`wasmcustom.kafka_proxy.validation.${n}`) ?? 0;
  return { rx, refused: get(`${RULE}.refused`), bytes: get("bytes"), passed: get("unsupported_passed") };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

export interface ValidationOptions {
  kafka: KafkaBroker;
  dir: string;
  listenPort: number;
  rounds: number;
  records: number;
  // Which scenario runs which codecs (default: all of them).
  codecsFor?: (scenario: string) => readonly Codec[];
  log?: (line: string) => void;
}

export async function validationBench(o: ValidationOptions): Promise<ValidationBench> {
  const log = o.log ?? console.log;
  const codecsFor = o.codecsFor ?? (() => CODECS);
  const payloads = join(o.dir, "validation-payloads.jsonl");
  writePayloads(payloads);
  const admin = new Kafka({ clientId: "bench-admin", brokers: [o.kafka.direct], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const runs: ValidationRun[] = [];
  const failures: string[] = [];
  try {
    await admin.createTopics({
      topics: VALIDATION_SCENARIOS.flatMap((s, i) => codecsFor(s.name).map((c) => ({ topic: topicOf(i, c) }))),
      waitForLeaders: true,
    });
    // Rounds over all scenarios and codecs (the machine's other load drifts over all alike).
    for (let round = 1; round <= o.rounds; round++) {
      for (const [i, s] of VALIDATION_SCENARIOS.entries()) {
        if (codecsFor(s.name).length === 0) continue;
        const started = await startScenarioEnvoy(o.dir, s.filter, o.listenPort, o.kafka.proxiedPort);
        if (!("envoy" in started)) throw new Error(`${s.name}: Envoy refused the configuration: ${started.unavailable}`);
        const envoy = started.envoy;
        try {
          for (const codec of codecsFor(s.name)) {
            const topic = topicOf(i, codec);
            const held = await brokerRecords(admin, topic);
            const c0 = await counters(envoy);
            const cpu0 = cpuSeconds(envoy.service.pid!);
            const p = await producerPerfPayloads(`127.0.0.1:${o.listenPort}`, topic, o.records, payloads, codec, CLIENT_ID);
            const cpu = cpuSeconds(envoy.service.pid!) - cpu0;
            const c1 = await counters(envoy);
            const run: ValidationRun = {
              scenario: s.name, codec, round, records: p.records, mbPerSec: p.mbPerSec, envoyCpuSeconds: cpu,
              wireBytes: c1.rx - c0.rx, brokerRecords: (await brokerRecords(admin, topic)) - held,
              ...(s.name === VALIDATING ? { refused: c1.refused - c0.refused, validatedBytes: c1.bytes - c0.bytes, unsupportedPassed: c1.passed - c0.passed } : {}),
            };
            runs.push(run);
            const what = `round ${round} ${s.name} ${codec}`;
            if (p.records !== o.records) failures.push(`${what}: the producer sent ${p.records} of ${o.records} records`);
            if (run.brokerRecords !== o.records) failures.push(`${what}: the broker gained ${run.brokerRecords} records, not ${o.records}`);
            if (s.name === VALIDATING) {
              if (run.refused !== 0) failures.push(`${what}: ${run.refused} batches refused (INVALID_RECORD)`);
              if (codec === "zstd") {
                if (run.unsupportedPassed! <= 0 || run.validatedBytes !== 0) failures.push(`${what}: zstd not passed unread (${JSON.stringify(run)})`);
              } else if (run.validatedBytes! < o.records * RECORD_BYTES) {
                failures.push(`${what}: the rule read ${run.validatedBytes} bytes, less than the ${o.records * RECORD_BYTES} payload bytes`);
              }
            }
            log(`validation bench: ${what}: ${Math.round(p.recordsPerSec)} records/s, Envoy ${(cpu * 1000 / (o.records * RECORD_BYTES / 1e6)).toFixed(2)} CPU ms/MB, ` +
              `${(run.wireBytes / 1e6).toFixed(1)} MB on the wire, ${run.brokerRecords} records on the broker` +
              (run.validatedBytes !== undefined ? `, ${(run.validatedBytes / 1e6).toFixed(1)} MB validated, ${run.refused} refused, ${run.unsupportedPassed} passed unchecked` : ""));
          }
        } finally {
          await envoy.stop();
        }
      }
    }
  } finally {
    await admin.disconnect();
  }
  const mb = (o.records * RECORD_BYTES) / 1e6;
  const cells: ValidationCell[] = [];
  for (const s of VALIDATION_SCENARIOS) {
    for (const codec of codecsFor(s.name)) {
      const rs = runs.filter((r) => r.scenario === s.name && r.codec === codec);
      const perMB = rs.map((r) => (r.envoyCpuSeconds * 1000) / mb);
      cells.push({
        scenario: s.name, codec, cpuMsPerMB: perMB, medianCpuMsPerMB: median(perMB),
        wireBytesPerMB: median(rs.map((r) => r.wireBytes / mb)), mbPerSec: median(rs.map((r) => r.mbPerSec)),
      });
    }
  }
  return { recordBytes: RECORD_BYTES, recordsPerRun: o.records, rounds: o.rounds, runs, cells, failures };
}

// Envoy (one worker) under callgrind per scenario, every codec: instructions per MB of records.
// `only`: these scenarios (default all); `warmup`: records per codec before counting.
export async function validationInstructions(o: Omit<ValidationOptions, "rounds"> & { only?: string[]; warmup?: number }): Promise<ValidationInstructions[]> {
  const log = o.log ?? console.log;
  const payloads = join(o.dir, "validation-payloads.jsonl");
  writePayloads(payloads);
  const admin = new Kafka({ clientId: "bench-admin", brokers: [o.kafka.direct], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const out: ValidationInstructions[] = [];
  try {
    await admin.createTopics({
      topics: VALIDATION_SCENARIOS.flatMap((s, i) => CODECS.map((c) => ({ topic: `${topicOf(i, c)}.cg` }))),
      waitForLeaders: true,
    });
    for (const [i, s] of VALIDATION_SCENARIOS.entries()) {
      if (o.only !== undefined && !o.only.includes(s.name)) continue;
      const envoy = await CountedEnvoy.start(o.dir, `validation-${i}`, { listenPort: o.listenPort, upstreamPort: o.kafka.proxiedPort, filterConfig: s.filter });
      try {
        const bootstrap = `127.0.0.1:${o.listenPort}`;
        // Warm-up (not counted): V8's optimising tier compiles the hot functions once they ran a while.
        for (const codec of CODECS) await producerPerfPayloads(bootstrap, `${topicOf(i, codec)}.cg`, o.warmup ?? 5000, payloads, codec, CLIENT_ID);
        const idlePerMs = await envoy.idlePerMs();
        for (const codec of CODECS) {
          const topic = `${topicOf(i, codec)}.cg`;
          const held = await brokerRecords(admin, topic);
          let sent = 0;
          const { instructions: counted, ms } = await envoy.count(async () => {
            sent = (await producerPerfPayloads(bootstrap, topic, o.records, payloads, codec, CLIENT_ID)).records;
          });
          const gained = (await brokerRecords(admin, topic)) - held;
          if (sent !== o.records || gained !== o.records) throw new Error(`callgrind ${s.name} ${codec}: sent ${sent}, broker gained ${gained}, of ${o.records}`);
          const instructions = counted - idlePerMs * ms;
          const bytes = o.records * RECORD_BYTES;
          out.push({ scenario: s.name, codec, bytes, instructions, instructionsPerMB: instructions / (bytes / 1e6) });
          log(`validation callgrind: ${s.name} ${codec}: ${(instructions / (bytes / 1e6) / 1e6).toFixed(2)} M instructions per MB ` +
            `(${(counted / 1e6).toFixed(0)} M counted in ${(ms / 1000).toFixed(1)} s, idle ${(idlePerMs * ms / 1e6).toFixed(0)} M)`);
        }
      } finally {
        await envoy.stop();
      }
    }
  } finally {
    await admin.disconnect();
  }
  return out;
}

const ms = (x: number) => (isFinite(x) ? x.toFixed(2) : "n/a");

// Codec × scenario: Envoy CPU ms per MB (median, and the rounds' range), and the differences
// that are validation's cost.
export function validationMarkdown(v: ValidationBench): string {
  const lines: string[] = [];
  const cell = (s: string, c: Codec) => v.cells.find((x) => x.scenario === s && x.codec === c);
  const show = (x: ValidationCell | undefined) => {
    if (x === undefined) return "n/a";
    const lo = Math.min(...x.cpuMsPerMB);
    const hi = Math.max(...x.cpuMsPerMB);
    return x.cpuMsPerMB.length > 1 ? `${ms(x.medianCpuMsPerMB)} (${ms(lo)}-${ms(hi)})` : ms(x.medianCpuMsPerMB);
  };
  const [tcp, plain, valid] = VALIDATION_SCENARIOS.map((s) => s.name);
  if (v.cells.length > 0) {
    lines.push(`Record validation per codec: Envoy CPU ms per MB of records (${v.recordBytes} B JSON objects with a key, ` +
      `${v.recordsPerRun} records per run, median of ${v.rounds} round${v.rounds === 1 ? "" : "s"} (range)); ` +
      `\`${valid}\` checks every record's key and JSON value; zstd is passed uninflated.`);
    lines.push("");
    lines.push(`| codec | wire bytes per MB | ${tcp} | ${plain} | ${valid} | validation added (ms/MB) | validation vs ${plain} | producer MB/s through ${valid} |`);
    lines.push("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const c of CODECS) {
      const [t, p, w] = [cell(tcp, c), cell(plain, c), cell(valid, c)];
      if (t === undefined && p === undefined && w === undefined) continue;
      const added = p && w ? ms(w.medianCpuMsPerMB - p.medianCpuMsPerMB) : "n/a";
      const ratio = p && w ? `${(w.medianCpuMsPerMB / p.medianCpuMsPerMB).toFixed(1)}×` : "n/a";
      const wire = (w ?? p ?? t)!.wireBytesPerMB;
      lines.push(`| ${c} | ${(wire / 1e6).toFixed(2)} MB | ${show(t)} | ${show(p)} | ${show(w)} | ${added} | ${ratio} | ${w ? w.mbPerSec.toFixed(1) : "n/a"} |`);
    }
    const checked = v.runs.filter((r) => r.scenario === valid);
    lines.push("");
    lines.push(v.failures.length === 0
      ? `Verified: every run's ${v.recordsPerRun} records were sent and are on the broker; the rule refused none ` +
        `(${checked.length} validating runs, ${(checked.reduce((s, r) => s + (r.validatedBytes ?? 0), 0) / 1e6).toFixed(0)} MB validated).`
      : `VERIFICATION FAILED: ${v.failures.join("; ")}`);
  }
  if (v.instructions !== undefined && v.instructions.length > 0) {
    const ins = (s: string, c: Codec) => v.instructions!.find((x) => x.scenario === s && x.codec === c);
    const m = (x: ValidationInstructions | undefined) => (x === undefined ? "n/a" : (x.instructionsPerMB / 1e6).toFixed(1));
    if (lines.length > 0) lines.push("");
    lines.push(`Envoy (one worker) under callgrind: M instructions per MB of records.`);
    lines.push("");
    lines.push(`| codec | ${tcp} | ${plain} | ${valid} | validation added | validation vs ${plain} |`);
    lines.push("| --- | --- | --- | --- | --- | --- |");
    for (const c of CODECS) {
      const [t, p, w] = [ins(tcp, c), ins(plain, c), ins(valid, c)];
      lines.push(`| ${c} | ${m(t)} | ${m(p)} | ${m(w)} | ${p && w ? ((w.instructionsPerMB - p.instructionsPerMB) / 1e6).toFixed(1) : "n/a"} | ` +
        `${p && w ? `${(w.instructionsPerMB / p.instructionsPerMB).toFixed(1)}×` : "n/a"} |`);
    }
  }
  return lines.join("\n") + "\n";
}

// Alone: its own broker and output (.tmp/bench-validation/latest.{json,md}).
if (process.argv[1]?.endsWith("validation_bench.ts")) {
  requireInstalled();
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const quick = process.argv.includes("--quick");
  const callgrind = process.argv.includes("--callgrind");
  const dir = scratchDir("bench-validation");
  const listenPort = await freePort();
  const kafka = await startKafka(join(dir, "kafka"), listenPort, {
    props: { "log.segment.bytes": String(64 * 1048576), "log.retention.bytes": String(256 * 1048576), "log.retention.check.interval.ms": "5000" },
  });
  let result: ValidationBench;
  try {
    if (callgrind) {
      const records = Number(arg("--records") ?? 10000);
      const instructions = await validationInstructions({
        kafka, dir, listenPort, records, only: arg("--only")?.split(","), warmup: Number(arg("--warmup") ?? 5000),
      });
      result = { recordBytes: RECORD_BYTES, recordsPerRun: records, rounds: 0, runs: [], cells: [], failures: [], instructions };
    } else {
      result = await validationBench({
        kafka, dir, listenPort, rounds: Number(arg("--rounds") ?? (quick ? 1 : 3)), records: Number(arg("--records") ?? (quick ? 2000 : 150000)),
      });
    }
  } finally {
    await kafka.stop();
  }
  const out = arg("--out") ?? join(ROOT, ".tmp/bench-validation");
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, callgrind ? "callgrind.json" : "latest.json"), JSON.stringify(result, null, 2) + "\n");
  const md = validationMarkdown(result);
  writeFileSync(join(out, callgrind ? "callgrind.md" : "latest.md"), md);
  console.log("\n" + md);
  rmSync(dir, { recursive: true, force: true });
  if (result.failures.length > 0) process.exit(1);
}
