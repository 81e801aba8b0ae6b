// Quotas (issue 17) through real Envoy + filter + Kafka: Kafka's own load generators
// (kafka-producer-perf-test / kafka-consumer-perf-test: ProducerPerformance and
// ConsumerPerformance from the installed jars) and kafkajs, throttled by throttle_time_ms in the
// responses as a broker over quota throttles them (KIP-219). Nothing is refused or dropped: every
// acknowledged record is on the broker (its DIRECT listener, no filter, is the witness), and a
// principal without a quota keeps its rate beside a throttled one. One broker for the file.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { suiteTestBed } from "../harness/testbed.ts";
import { KAFKA_LIBS } from "../harness/paths.ts";
import { brokerOffset, createTopics } from "../harness/broker_view.ts";
import { parseProducerSummary } from "../bench/perf_tools.ts";
import { startEnvoy } from "../harness/envoy.ts";
import { freePort } from "../harness/process.ts";
import { RawConnection } from "../harness/raw_connection.ts";
import { requestFrame } from "../harness/raw_client.ts";
import { encodeRequest } from "../harness/kafka_codec.ts";
import { l4Filters } from "../../build/cli/l4_limits.ts";
import { parsePolicy } from "../../build/cli/policy.ts";

const MiB = 1048576;
const CONFIG = {
  principal_sources: ["client_id"],
  quotas: {
    rules: [
      { name: "limited", principal: "User:limited", produce_bytes_per_second: MiB },
      { name: "reader", principal: "User:reader", fetch_bytes_per_second: MiB },
      { name: "kjs", principal: "User:kjs", produce_bytes_per_second: 256 * 1024 },
      { name: "raw", principal: "User:raw", produce_bytes_per_second: 1000 },
      { name: "rawbig", principal: "User:rawbig", produce_bytes_per_second: 25000 },
      { name: "rawmulti", principal: "User:rawmulti", produce_bytes_per_second: 25000 },
      { name: "rawhuge", principal: "User:rawhuge", produce_bytes_per_second: 25000 },
    ],
  },
};

function java(cls: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn("java", ["-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", `${KAFKA_LIBS}/*`, cls, ...args], { timeout: 180000 });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cls} exited ${code}:\n${out.slice(-3000)}`))));
  });
}

// kafka-producer-perf-test with its metrics printed at the end; `throughput` -1 is unthrottled.
async function producerPerf(bootstrap: string, topic: string, records: number, throughput: number, clientId: string) {
  const out = await java("org.apache.kafka.tools.ProducerPerformance", [
    "--topic", topic, "--num-records", String(records), "--record-size", "1000", "--throughput", String(throughput),
    "--bootstrap-server", bootstrap, "--print-metrics",
    "--producer-props", "acks=all", "linger.ms=5", "batch.size=65536", `client.id=${clientId}`, "compression.type=none",
  ]);
  const metric = (name: string) => {
    const m = new RegExp(`producer-metrics:${name}:\\{client-id=${clientId}\\}\\s*:\\s*([\\d.E-]+)`).exec(out);
    return m ? Number(m[1]) : NaN;
  };
  return {
    ...parseProducerSummary(out), out, throttleAvg: metric("produce-throttle-time-avg"),
    errors: metric("record-error-total"), seconds: 0,
  };
}

async function timed<T extends { seconds: number }>(run: Promise<T>): Promise<T> {
  const start = Date.now();
  const r = await run;
  r.seconds = (Date.now() - start) / 1000;
  return r;
}

// Kafka's rate counts at least samples-1 whole samples (10 s), so a client starts with a burst of
// about 10 s worth of its quota, and once that sample leaves the window (11 s) the next burst
// follows: the broker's quota is a rate over whole windows, with bursts at their starts. The
// sustained rate is measured as Kafka means it: from the start of the first burst to the start
// of the last one, whole periods (the test asks for at least 20 s of them). `series`: pairs of
// (ms, records so far); a burst is more than `burst` records between two readings.
function sustained(series: [number, number][], burst: number): { perSec: number; seconds: number; bursts: number } {
  const starts: number[] = [];
  for (let i = 0; i + 1 < series.length; i++) {
    if (series[i + 1][1] - series[i][1] > burst && (starts.length === 0 || starts[starts.length - 1] < i - 2)) starts.push(i);
  }
  const a = series[starts[0]];
  const b = series[starts[starts.length - 1]];
  return { perSec: (b[1] - a[1]) / ((b[0] - a[0]) / 1000), seconds: (b[0] - a[0]) / 1000, bursts: starts.length };
}

describe("quotas through Envoy + filter + Kafka", () => {
  const suite = suiteTestBed("quotas", CONFIG);
  const { guard } = suite;
  const stat = (name: string) => suite.bed.envoy.stat(`quotas.${name}`);

  test("kafka-producer-perf-test limited to 1 MiB/s produce sustains it with Kafka's throttling; a principal without a quota keeps its rate", guard(async () => {
    await createTopics(suite.bed.kafka, ["q.limited", "q.free"]);
    const bootstrap = suite.bed.bootstrap;
    // The free principal alone, at a fixed 3,000 records/s: its unthrottled rate.
    const alone = await producerPerf(bootstrap, "q.free", 9000, 3000, "free");
    const throttledBefore = await stat("limited.throttled_responses");
    const closesBefore = await suite.bed.envoy.stat("connections_closed_protocol_error");
    // 38 MB unthrottled from the limited principal (three quota periods), the free one beside
    // it; the broker's offsets read every half second on its direct listener.
    const series: [number, number][] = [];
    let done = false;
    const poll = (async () => {
      const admin = new Kafka({ clientId: "broker-view", brokers: [suite.bed.kafka.direct], logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      const t0 = Date.now();
      while (!done) {
        const o = Number((await admin.fetchTopicOffsets("q.limited")).find((x) => x.partition === 0)!.high);
        series.push([Date.now() - t0, o]);
        await new Promise((r) => setTimeout(r, 500));
      }
      await admin.disconnect();
    })();
    const [limited, free] = await Promise.all([
      timed(producerPerf(bootstrap, "q.limited", 38000, -1, "limited")),
      producerPerf(bootstrap, "q.free", 60000, 3000, "free"),
    ]);
    done = true;
    await poll;
    const rate = sustained(series, 2000);
    const mib = rate.perSec * 1000 / MiB;
    console.error(`limited: ${mib.toFixed(3)} MiB/s over ${rate.seconds}s (${rate.bursts} bursts); whole run ` +
      `${limited.mbPerSec} MB/s (tool), throttle avg ${limited.throttleAvg} ms; free alone ${alone.recordsPerSec}/s, ` +
      `beside ${free.recordsPerSec}/s; offsets ${JSON.stringify(series)}`);
    assert.ok(rate.seconds >= 20, `${rate.seconds} s`);
    assert.ok(Math.abs(mib - 1) <= 0.1, `${mib} MiB/s`);
    assert.ok(limited.throttleAvg > 0, `produce-throttle-time-avg ${limited.throttleAvg}`);
    assert.equal(limited.errors, 0);
    assert.equal(free.errors, 0);
    assert.ok(free.recordsPerSec >= 0.9 * alone.recordsPerSec, `${free.recordsPerSec} < 0.9 x ${alone.recordsPerSec}`);
    // Every acknowledged record is on the broker; nothing was refused.
    assert.equal(await brokerOffset(suite.bed.kafka, "q.limited"), limited.records);
    assert.equal(await brokerOffset(suite.bed.kafka, "q.free"), alone.records + free.records);
    assert.ok(await stat("limited.throttled_responses") > throttledBefore);
    assert.ok(await stat("limited.throttle_ms") > 0);
    // No connection closed by the filter.
    assert.equal(await suite.bed.envoy.stat("connections_closed_protocol_error"), closesBefore);
  }));

  test("kafka-consumer-perf-test (a group member) limited to 1 MiB/s fetch consumes at it, nothing lost", guard(async () => {
    await createTopics(suite.bed.kafka, ["q.fetch"]);
    // 37 MB written on the broker's direct listener (no quota there): three quota periods and
    // some of the fourth (the tool stops between two bursts).
    await producerPerf(suite.bed.kafka.direct, "q.fetch", 37000, -1, "seed");
    const config = join(suite.bed.dir, "reader.properties");
    // A throttled broker answers a fetch empty and un-counts it; the filter cannot drop what the
    // broker sent, so a throttled response still goes on whole (here 1 MiB, the consumer's
    // max.partition.fetch.bytes) and the consumption runs a few percent over the quota.
    writeFileSync(config, "client.id=reader\n");
    // The bytes of the reader's responses as they pass Envoy (the metrics stage's per client id
    // counter), read every half second, and the tool's own count of what it consumed.
    const series: [number, number][] = [];
    let done = false;
    const bytes = async () => (await suite.bed.envoy.stats("client_response_bytes.client.reader"))
      .get("wasmcustom.kafka_proxy.client_response_bytes.client.reader") ?? 0;
    const t0 = Date.now();
    const poll = (async () => {
      while (!done) {
        series.push([Date.now() - t0, await bytes()]);
        await new Promise((r) => setTimeout(r, 250));
      }
      series.push([Date.now() - t0, await bytes()]);
    })();
    const out = await java("org.apache.kafka.tools.ConsumerPerformance", [
      "--bootstrap-server", suite.bed.bootstrap, "--topic", "q.fetch", "--num-records", "37000", "--group", "q-readers",
      "--timeout", "120000", "--consumer.config", config,
    ]).finally(() => (done = true));
    await poll;
    const line = out.trim().split("\n").filter((l) => /^\d{4}-/.test(l)).pop();
    assert.ok(line, out.slice(-2000));
    const records = +line!.split(",")[4].trim();
    const rate = sustained(series, 2 * MiB);
    const mib = rate.perSec / MiB;
    console.error(`reader: ${mib.toFixed(3)} MiB/s over ${rate.seconds}s (${rate.bursts} bursts), ${records} records; ` +
      `tool: ${line}; bytes ${JSON.stringify(series)}`);
    // The tool says so when a timeout ends it before 37,000 records.
    assert.doesNotMatch(out, /Exiting before consuming/);
    assert.equal(records, 37000);
    assert.ok(rate.seconds >= 20, `${rate.seconds} s`);
    assert.ok(Math.abs(mib - 1) <= 0.1, `${mib} MiB/s`);
    assert.ok(await stat("reader.throttled_responses") > 0);
  }));

  test("kafkajs under a produce quota honours throttle_time_ms: slowed to its quota, no errors, nothing lost", guard(async () => {
    await createTopics(suite.bed.kafka, ["q.kjs"]);
    const kafka = new Kafka({ clientId: "kjs", brokers: [suite.bed.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const value = Buffer.alloc(1000, 0x61);
    const start = Date.now();
    let sent = 0;
    try {
      // 5 MB in batches of 100 records against 256 KiB/s: the first ~2.5 MB fill the window
      // (Kafka's rate counts at least 10 s), the rest waits for it.
      for (let i = 0; i < 50; i++) {
        await producer.send({ topic: "q.kjs", acks: -1, messages: Array.from({ length: 100 }, () => ({ value })) });
        sent += 100;
      }
    } finally {
      await producer.disconnect();
    }
    const seconds = (Date.now() - start) / 1000;
    console.error(`kafkajs: ${sent} records in ${seconds}s`);
    assert.equal(await brokerOffset(suite.bed.kafka, "q.kjs"), sent);
    // Unthrottled this takes well under 2 s here.
    assert.ok(seconds >= 8, `${seconds} s`);
    assert.ok(await stat("kjs.throttled_responses") > 0);
  }));

  test("a client that ignores throttle_time_ms (Produce v3, before KIP-219) is muted as the broker mutes it: its next request waits out the throttle time", guard(async () => {
    await createTopics(suite.bed.kafka, ["q.raw"]);
    const c = await RawConnection.open(suite.bed.envoy.listenPort);
    try {
      // 12 kB against 1,000 B/s: 1,200 B/s over Kafka's first 10 s, 20% over: 2 s of throttle.
      const records = Buffer.alloc(12000, 0);
      const produce = encodeRequest(0, 3, 1, "raw", {
        TransactionalId: null, Acks: 1, TimeoutMs: 30000,
        TopicData: [{ Name: "q.raw", PartitionData: [{ Index: 0, Records: records }] }],
      });
      const first = await c.request(produce);
      const throttle = first.readInt32BE(first.length - 4);
      assert.ok(throttle >= 1500 && throttle <= 2500, `throttle_time_ms ${throttle}`);
      const start = Date.now();
      const second = await c.request(requestFrame(18, 0, 2, "raw"));
      const waited = Date.now() - start;
      console.error(`raw: throttle_time_ms ${throttle}, the next request answered after ${waited} ms`);
      assert.ok(second.length > 8);
      assert.ok(waited >= throttle - 250, `answered after ${waited} ms, throttle ${throttle} ms`);
      assert.ok(waited <= throttle + 1000, `answered after ${waited} ms, throttle ${throttle} ms`);
    } finally {
      c.close();
    }
  }));

  // The mute on the paths a security review found it escaped by: a request larger than
  // max_held_bytes (256 KiB here) that cannot be decided before its end (a two-topic Produce whose
  // first record set is 300 kB: it is copied into the module), and a single-topic one, decided
  // early, whose first write ends inside its last record set; and the same with 3 MB requests,
  // more than Envoy's per-connection buffer (1 MiB): Envoy stops reading the muted connection
  // and the tick's proxy_continue_stream gets it going again.
  for (const [client, topics, size] of [["rawbig", ["q.raw"], 300000], ["rawmulti", ["q.raw", "q.raw2"], 300000],
    ["rawhuge", ["q.raw"], 3000000]] as const) {
    test(`a client that ignores throttle_time_ms and sends ${size / 1000} kB requests (${topics.length} topic(s)) is muted all the same`, guard(async () => {
      await createTopics(suite.bed.kafka, ["q.raw", "q.raw2"]);
      const c = await RawConnection.open(suite.bed.envoy.listenPort);
      try {
        const produce = (id: number, ts: readonly string[], bytes = 300000) => encodeRequest(0, 3, id, client, {
          TransactionalId: null, Acks: 1, TimeoutMs: 30000,
          TopicData: ts.map((Name, i) => ({ Name, PartitionData: [{ Index: 0, Records: Buffer.alloc(i === 0 ? bytes : 1000, 0) }] })),
        });
        // 300 kB against 25,000 B/s: 30,000 B/s over Kafka's first 10 s, 20% over: 2 s.
        const first = await c.request(produce(1, ["q.raw"]));
        const throttle = first.readInt32BE(first.length - 4);
        assert.ok(throttle >= 1500 && throttle <= 2500, `throttle_time_ms ${throttle}`);
        // In two writes 200 ms apart, each reaching the filter in a callback of its own. Two
        // topics: the first write ends 10 kB before the request's end, past max_held_bytes. One
        // topic: the first write is this request and the next one but its last 10 kB, so that
        // it ends inside a record set (before, the mute took hold only on a request boundary).
        const start = Date.now();
        const next = produce(2, topics, size);
        const third = topics.length === 1 ? produce(3, topics, size) : Buffer.alloc(0);
        const stream = Buffer.concat([next, third]);
        c.send(stream.subarray(0, stream.length - 10000));
        await new Promise((r) => setTimeout(r, 200));
        const second = await c.request(stream.subarray(stream.length - 10000), 20000);
        const waited = Date.now() - start;
        console.error(`${client}: throttle_time_ms ${throttle}, the next ${size / 1000} kB request answered after ${waited} ms`);
        assert.ok(second.length > 8);
        assert.ok(waited >= throttle - 250, `answered after ${waited} ms, throttle ${throttle} ms`);
        assert.ok(waited <= throttle + 1500, `answered after ${waited} ms, throttle ${throttle} ms`);
        if (third.length > 0) assert.ok((await c.next(20000)).length > 8);
      } finally {
        c.close();
      }
    }));
  }

  // A connection within the limits is answered (ApiVersions v0 through the filter to the
  // broker); one past them is closed by Envoy before the filter sees a byte.
  async function attempt(port: number): Promise<RawConnection | null> {
    const c = await RawConnection.open(port);
    try {
      await c.request(requestFrame(18, 0, 1, "l4"), 5000);
      return c;
    } catch {
      c.close();
      return null;
    }
  }

  test("L4 limits from the policy file (Envoy's connection_limit and local_ratelimit before the filter) refuse and count the excess connections; those within them are unaffected", guard(async () => {
    const policy = parsePolicy(JSON.stringify({ envoy: { connectionLimits: { max: 3 } } }), "limits.json");
    const rated = parsePolicy(JSON.stringify({ envoy: { connectionLimits: { perSecond: 4, burst: 4 } } }), "rate.json");
    const envoys = await Promise.all([policy, rated].map(async (p, i) => startEnvoy(suite.bed.dir, {
      listenPort: await freePort(), upstreamPort: suite.bed.kafka.proxiedPort, filterConfig: CONFIG,
      networkFilters: l4Filters(p.envoy.connectionLimits, i === 0 ? "concurrent" : "rate"),
    })));
    const [limited, rate] = envoys;
    try {
      // Concurrent: three held open, the fourth and fifth closed; once one goes, a new one passes.
      const held: RawConnection[] = [];
      for (let i = 0; i < 3; i++) held.push((await attempt(limited.listenPort))!);
      assert.ok(held.every((c) => c !== null));
      assert.equal(await attempt(limited.listenPort), null);
      assert.equal(await attempt(limited.listenPort), null);
      held.pop()!.close();
      await new Promise((r) => setTimeout(r, 300));
      const again = await attempt(limited.listenPort);
      assert.notEqual(again, null);
      // Those held are still served.
      for (const c of held) assert.ok((await c.request(requestFrame(18, 0, 2, "l4"))).length > 8);
      for (const c of [...held, again!]) c.close();
      const stats = await limited.stats("connection_limit.concurrent");
      assert.equal(stats.get("connection_limit.concurrent.limited_connections"), 2);
      // Per second: a bucket of 4; 8 connections at once, 4 answered and 4 closed.
      const results = await Promise.all(Array.from({ length: 8 }, () => attempt(rate.listenPort)));
      const ok = results.filter((c) => c !== null);
      for (const c of ok) c!.close();
      assert.equal(ok.length, 4);
      const rs = await rate.stats("local_rate_limit.rate");
      console.error(`L4 stats: ${JSON.stringify([...stats, ...rs])}`);
      assert.equal([...rs].find(([k]) => k.endsWith("rate_limited"))?.[1], 4);
    } finally {
      await Promise.all(envoys.map((e) => e.stop()));
    }
  }));
});
