// The README's demo: a Kafka broker behind Envoy with the kafka_proxy filter, a small workload
// from two client implementations, a producer the ACLs refuse, a frame the filter refuses, and
// the filter's stats.
//   npm run demo
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { startTestBed } from "../harness/testbed.ts";
import { javaClient } from "../harness/java_client.ts";
import { exchange, requestFrame } from "../harness/raw_client.ts";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../harness/paths.ts";
import { renderMetricsSvg } from "./plot_metrics.ts";
import { lineageGraph, toSvg } from "../../build/cli/lineage.ts";

const step = (s: string) => console.log(`\n== ${s}`);

// npm run demo -- --cluster: the gateway in front of a 3-broker cluster instead.
if (process.argv.includes("--cluster")) await import("./demo_cluster.ts");

step("starting Kafka (KRaft, one node) and Envoy with the kafka_proxy filter");
// The filter configuration: ACLs by client id (the demo needs no certificates; the tests also
// cover mTLS and SASL), and team blue as a tenant whose `orders` is the broker's `blue.orders`.
const POLICY = JSON.parse(readFileSync(join(ROOT, "examples/demo-filter.json"), "utf8"));
console.log(`filter configuration:\n${JSON.stringify(POLICY, null, 1)}`);
// Envoy with its default concurrency (one worker, one filter VM, per core), as in production.
const bed = await startTestBed("demo", POLICY, { envoy: () => ({ concurrency: "default" }) });
let failed = false;
try {
  console.log(`clients bootstrap from ${bed.bootstrap} (Envoy); broker's direct listener ${bed.kafka.direct}`);
  const kafka = new Kafka({ clientId: "demo-kafkajs", brokers: [bed.bootstrap], logLevel: logLevel.NOTHING });
  const admin = new Kafka({ clientId: "demo-admin", brokers: [bed.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "orders" }], waitForLeaders: true });

  step("kafkajs (Produce v7, non-flexible) writes 3 orders through the filter");
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({ topic: "orders", messages: ["apple", "pear", "plum"].map((v, i) => ({ key: `o${i}`, value: v })) });
  await producer.disconnect();

  step("Apache Kafka's Java client (Produce v13 with topic ids, flexible) writes 2 more");
  console.log((await javaClient(["produce", bed.bootstrap, "orders", "java", "10,20"])).trim());

  step("the Java consumer group reads all 5 through the filter and commits");
  const out = await javaClient(["consume", bed.bootstrap, "orders", "demo-group", "5"]);
  console.log(out.trim());
  await admin.disconnect();

  step("client 'intruder' (no WRITE grant) tries to add an order: refused with Kafka's own error");
  const intruder = new Kafka({ clientId: "intruder", brokers: [bed.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } })
    .producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });
  await intruder.connect();
  try {
    await intruder.send({ topic: "orders", messages: [{ value: "forged" }] });
    throw new Error("the intruder's write went through");
  } catch (e: any) {
    console.log(`intruder got: ${e.name}: ${e.message}`);
  } finally {
    await intruder.disconnect();
  }
  const direct = new Kafka({ clientId: "demo-admin", brokers: [bed.kafka.direct], logLevel: logLevel.NOTHING }).admin();
  await direct.connect();
  const high = (await direct.fetchTopicOffsets("orders")).map((o) => o.high).join(",");
  await direct.disconnect();
  console.log(`broker's own listener: orders holds ${high} records (the 5 allowed ones)`);

  step("tenant 'team-blue' writes its own `orders`: the broker stores it as `blue.orders`");
  const adminDirect = new Kafka({ clientId: "demo-admin", brokers: [bed.kafka.direct], logLevel: logLevel.NOTHING }).admin();
  await adminDirect.connect();
  await adminDirect.createTopics({ topics: [{ topic: "blue.orders" }], waitForLeaders: true });
  const blue = new Kafka({ clientId: "team-blue", brokers: [bed.bootstrap], logLevel: logLevel.NOTHING });
  const blueProducer = blue.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await blueProducer.connect();
  const [sent] = await blueProducer.send({ topic: "orders", messages: [{ value: "blue order" }] });
  await blueProducer.disconnect();
  console.log(`team-blue was told: topic ${sent.topicName}, offset ${sent.baseOffset}`);
  const blueAdmin = blue.admin();
  await blueAdmin.connect();
  console.log(`team-blue's topic list: ${JSON.stringify(await blueAdmin.listTopics())}`);
  await blueAdmin.disconnect();
  const blueHigh = (await adminDirect.fetchTopicOffsets("blue.orders")).map((o) => o.high).join(",");
  console.log(`broker's own listener: topics ${JSON.stringify((await adminDirect.listTopics()).filter((t) => !t.startsWith("__")).sort())}, blue.orders holds ${blueHigh}`);
  await adminDirect.disconnect();

  step("a hand-made request for API key 999 is refused: connection closed, counted, logged");
  const r = await exchange(bed.envoy.listenPort, [requestFrame(999, 0, 1, "mallory")]);
  console.log(`proxy closed the connection: ${r.closedByPeer}, bytes answered: ${r.received.length}`);
  const line = bed.envoy.service.log().split("\n").find((l) => l.includes("closing connection"));
  console.log(`Envoy log: ${line?.replace(/^.*wasm log /, "")}`);

  step("the filter's metrics, as Prometheus scrapes them from Envoy (/stats/prometheus)");
  await new Promise((r) => setTimeout(r, 1500)); // one stats flush, for the latency histograms
  const prom = await bed.envoy.admin("/stats/prometheus");
  const shown = prom.split("\n").filter((l) => /^kafka_proxy_(requests|responses|topic_|client_|authz_|rewrite_|principal_)/.test(l) && !/ 0$/.test(l));
  console.log(shown.join("\n"));
  const svg = join(ROOT, "docs/demo-metrics.svg");
  writeFileSync(svg, renderMetricsSvg(prom, "kafka-proxy-wasm: metrics of one `npm run demo` run, from Envoy's /stats/prometheus"));
  console.log(`\nplot of these metrics: ${svg}`);

  step("data lineage (\"lineage\": true): kafka-proxy-wasm lineage --prometheus http://<envoy admin>/stats/prometheus");
  const graph = lineageGraph(prom);
  for (const e of graph.edges) console.log(`${e.from} -> ${e.to}: ${e.kind === "commit" ? `${e.count} commits` : `${e.kind} ${e.count} records`}`);
  const lineageSvg = join(ROOT, "docs/demo-lineage.svg");
  writeFileSync(lineageSvg, await toSvg(graph));
  console.log(`lineage graph (laid out by elkjs): ${lineageSvg}`);
} catch (e) {
  failed = true;
  throw e;
} finally {
  await bed.stop(failed);
}
