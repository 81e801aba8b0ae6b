// Data lineage (filters/lineage.ts, `"lineage": true`) through real Envoy + filter + Kafka: the
// demo's policy and workload (kafkajs and Java producers, a Java consumer group, a refused
// producer, a tenant) yield exactly the expected edges
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

const DEMO_POLICY = JSON.parse(readFileSync(join(ROOT, "examples/demo-filter.json"), "utf8"));

describe("data lineage counters and the lineage command (the demo's policy and workload)", () => {
  const suite = suiteTestBed("lineage", DEMO_POLICY);
  const { guard } = suite;
  const client = (clientId: string, retries = 2) =>
    new Kafka({ clientId, brokers: [suite.bed.bootstrap], logLevel: logLevel.NOTHING, retry: { retries } });
  const produce = async (clientId: string, topic: string, values: string[], retries = 2) => {
    const producer = client(clientId, retries).producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries } });
    await producer.connect();
    try {
      await producer.send({ topic, messages: values.map((value) => ({ value })) });
    } finally {
      await producer.disconnect();
    }
  };

  before(async () => {
    const admin = new Kafka({ brokers: [suite.bed.kafka.direct], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "orders" }, { topic: "blue.orders" }], waitForLeaders: true });
    await admin.disconnect();
  });

  test("the demo's workload yields the expected edges; the command writes SVG, DOT and Mermaid", guard(async () => {
    // tests/demo/demo.ts: kafkajs writes 3 orders, the Java producer 2, the Java consumer group
    // reads the 5 and commits, the intruder is refused, tenant team-blue writes its `orders`
    // (the broker's blue.orders).
    await produce("demo-kafkajs", "orders", ["apple", "pear", "plum"]);
    await javaClient(["produce", suite.bed.bootstrap, "orders", "java", "10,20"]);
    assert.match(await javaClient(["consume", suite.bed.bootstrap, "orders", "demo-group", "5"]), /consumed 5/);
    await assert.rejects(produce("intruder", "orders", ["forged"], 0));
    await produce("team-blue", "orders", ["blue order"]);

    const scrape = await suite.bed.envoy.admin("/stats/prometheus");
    const graph = lineageGraph(scrape);
    const edges = graph.edges.filter((e) => e.kind !== "commit").map((e) => `${e.from} -${e.kind}-> ${e.to} ${e.count}`);
    // Principals as Envoy labels them ("User:x" as "User_x"); the tenant's topic by its broker name.
    assert.deepEqual(edges.sort(), [
      "topic:orders -consume-> workload:User_java-consumer 5",
      "workload:User_demo-kafkajs -produce-> topic:orders 3",
      "workload:User_java-producer -produce-> topic:orders 2",
      "workload:User_team-blue -produce-> topic:blue.orders 1",
    ]);
    const commits = graph.edges.filter((e) => e.kind === "commit");
    assert.deepEqual(commits.map((e) => `${e.from} -> ${e.to}`), ["topic:orders -> group:demo-group"]);
    assert.ok(commits[0].count >= 1);
    for (const e of graph.edges.filter((x) => x.kind !== "commit")) assert.ok(e.bytes > 0);
    assert.deepEqual(graph.nodes.map((n) => n.id), [
      "group:demo-group", "topic:blue.orders", "topic:orders",
      "workload:User_demo-kafkajs", "workload:User_java-consumer", "workload:User_java-producer", "workload:User_team-blue",
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
    assert.ok(saved.stdout.includes('"workload:User_demo-kafkajs" -> "topic:orders"'));
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
