// Data lineage (filters/lineage.ts, `"lineage": true`) through real Envoy + filter + Kafka: a
// known workload of kafkajs and Java producers and consumers yields exactly the expected edges
// in Envoy's Prometheus output (workload -> topic, topic -> consuming workload, topic -> group),
// and `kafka-proxy-wasm lineage` draws them (SVG laid out by elkjs, DOT, Mermaid), from the live
// endpoint and from a saved scrape.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { suiteTestBed } from "../harness/testbed.ts";
import { javaClient } from "../harness/java_client.ts";
import { ROOT } from "../harness/paths.ts";
import { lineageGraph } from "../../build/cli/lineage.ts";

describe("data lineage counters and the lineage command", () => {
  const suite = suiteTestBed("lineage", { lineage: true });
  const { guard } = suite;
  const client = (clientId: string) =>
    new Kafka({ clientId, brokers: [suite.bed.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });

  before(async () => {
    const admin = new Kafka({ brokers: [suite.bed.kafka.direct], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "orders" }, { topic: "payments" }], waitForLeaders: true });
    await admin.disconnect();
  });

  test("a known workload yields the expected edges; the command writes SVG, DOT and Mermaid", guard(async () => {
    // kafkajs: orders-app writes 3 orders; billing-app reads them in group billing.
    const producer = client("orders-app").producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: "orders", messages: [{ value: "a" }, { value: "b" }, { value: "c" }] });
    await producer.disconnect();
    const consumer = client("billing-app").consumer({ groupId: "billing" });
    await consumer.connect();
    await consumer.subscribe({ topic: "orders", fromBeginning: true });
    let seen = 0;
    await new Promise<void>((resolve) => {
      consumer.run({ eachMessage: async () => { if (++seen === 3) resolve(); } });
    });
    await consumer.commitOffsets([{ topic: "orders", partition: 0, offset: "3" }]);
    await consumer.disconnect();
    // Java: payments-svc writes 2 payments; ledger reads them in group ledger (commitSync).
    await javaClient(["produce", suite.bed.bootstrap, "payments", "p", "10,10"], 120000, "payments-svc");
    const out = await javaClient(["consume", suite.bed.bootstrap, "payments", "ledger", "2"], 120000, "ledger");
    assert.match(out, /consumed 2/);

    const scrape = await suite.bed.envoy.admin("/stats/prometheus");
    const graph = lineageGraph(scrape);
    const edges = graph.edges.filter((e) => e.kind !== "commit").map((e) => `${e.from} -${e.kind}-> ${e.to} ${e.count}`);
    assert.deepEqual(edges.sort(), [
      "topic:orders -consume-> workload:billing-app 3",
      "topic:payments -consume-> workload:ledger 2",
      "workload:orders-app -produce-> topic:orders 3",
      "workload:payments-svc -produce-> topic:payments 2",
    ]);
    const commits = graph.edges.filter((e) => e.kind === "commit");
    assert.deepEqual(commits.map((e) => `${e.from} -> ${e.to}`).sort(), ["topic:orders -> group:billing", "topic:payments -> group:ledger"]);
    for (const e of commits) assert.ok(e.count >= 1);
    for (const e of graph.edges.filter((x) => x.kind !== "commit")) assert.ok(e.bytes > 0);
    assert.deepEqual(graph.nodes.map((n) => n.id), [
      "group:billing", "group:ledger", "topic:orders", "topic:payments",
      "workload:billing-app", "workload:ledger", "workload:orders-app", "workload:payments-svc",
    ]);

    // The command, from the live endpoint and from the saved scrape: the same graph.
    const dir = suite.bed.dir;
    const cli = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, "bin/kafka-proxy-wasm.js"), "lineage", ...args], { encoding: "utf8" });
    const live = cli("--prometheus", `http://127.0.0.1:${suite.bed.envoy.adminPort}/stats/prometheus`,
      "--svg", join(dir, "lineage.svg"), "--dot", join(dir, "lineage.dot"), "--mermaid", join(dir, "lineage.mmd"));
    assert.equal(live.status, 0, live.stderr);
    writeFileSync(join(dir, "scrape.txt"), scrape);
    const saved = cli("--scrape", join(dir, "scrape.txt"));
    assert.equal(saved.status, 0, saved.stderr);
    const dot = readFileSync(join(dir, "lineage.dot"), "utf8");
    for (const e of graph.edges) assert.ok(dot.includes(`"${e.from}" -> "${e.to}"`), `${e.from} -> ${e.to}`);
    assert.ok(saved.stdout.includes('"workload:orders-app" -> "topic:orders"'));
    const mermaid = readFileSync(join(dir, "lineage.mmd"), "utf8");
    assert.match(mermaid, /^flowchart LR$/m);
    assert.equal((mermaid.match(/-->|-\.->/g) ?? []).length, graph.edges.length);
    const svg = readFileSync(join(dir, "lineage.svg"), "utf8");
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal((svg.match(/<g class="node /g) ?? []).length, graph.nodes.length);
    assert.equal((svg.match(/<polyline class="edge /g) ?? []).length, graph.edges.length);
    for (const n of graph.nodes) assert.ok(svg.includes(`>${n.name}</text>`), n.name);
    if (process.env.LINEAGE_SVG_OUT) writeFileSync(process.env.LINEAGE_SVG_OUT, svg);
  }));
});
