// The gateway demo (npm run demo -- --cluster): a 3-broker KRaft cluster whose brokers advertise
// their own addresses, one Envoy in front rendered by the CLI from examples/gateway-policy.json
// (port per broker), clients that only know the gateway's bootstrap address.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { clientConnections, startCluster } from "../harness/cluster.ts";
import { envoyConnections, freeBase, startRendered } from "../harness/gateway.ts";
import { javaClient } from "../harness/java_client.ts";
import { ROOT, WASM, scratchDir } from "../harness/paths.ts";
import { freePort } from "../harness/process.ts";

const step = (s: string) => console.log(`\n== ${s}`);
const IDS = [1, 2, 3];

step("starting a KRaft controller and brokers 1, 2, 3 (each advertising its own address)");
const dir = scratchDir("demo-cluster");
const cluster = await startCluster(join(dir, "cluster"), IDS);
let failed = false;
try {
  for (const b of cluster.brokers) console.log(`broker ${b.id}: client listener 127.0.0.1:${b.clientPort}`);
  step("rendering Envoy from examples/gateway-policy.json (brokers and ports filled in for this machine)");
  const policy = JSON.parse(readFileSync(join(ROOT, "examples/gateway-policy.json"), "utf8"));
  const [listen, admin, base] = [await freePort(), await freePort(), await freeBase(IDS)];
  policy.envoy = {
    ...policy.envoy, listen: `127.0.0.1:${listen}`, admin: `127.0.0.1:${admin}`, wasm: WASM,
    gateway: {
      ...policy.envoy.gateway, port_base: base,
      brokers: Object.fromEntries(cluster.brokers.map((b) => [String(b.id), `127.0.0.1:${b.clientPort}`])),
    },
  };
  console.log(JSON.stringify(policy.envoy.gateway, null, 1));
  const envoy = await startRendered(dir, "envoy-gateway", policy, [listen, ...IDS.map((id) => base + id)], admin);
  try {
    const bootstrap = `127.0.0.1:${listen}`;
    console.log(`gateway: bootstrap ${bootstrap}, broker N at 127.0.0.1:${base}+N`);
    step("kafkajs creates topic 'orders' (6 partitions, replication factor 3) through the gateway");
    const kafka = new Kafka({ clientId: "demo-kafkajs", brokers: [bootstrap], logLevel: logLevel.NOTHING });
    const adminClient = kafka.admin();
    await adminClient.connect();
    await adminClient.createTopics({ topics: [{ topic: "orders", numPartitions: 6, replicationFactor: 3 }], waitForLeaders: true });
    const described = await adminClient.describeCluster();
    console.log(`brokers as the client sees them: ${described.brokers.map((b) => `${b.nodeId}=${b.host}:${b.port}`).join(" ")}`);
    await adminClient.disconnect();
    step("kafkajs produces 12 orders; the Java consumer group reads them");
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: "orders", acks: -1, messages: Array.from({ length: 12 }, (_, i) => ({ key: `o${i}`, value: `order ${i}` })) });
    await producer.disconnect();
    const consumed = await javaClient(["consume", bootstrap, "orders", "demo-group", "12"]);
    console.log(consumed.trim().split("\n").slice(-3).join("\n"));
    step("every connection the brokers' client listeners accepted came from Envoy");
    const viaEnvoy = await envoyConnections(envoy, cluster);
    for (const b of cluster.brokers) console.log(`broker ${b.id}: ${clientConnections(b)} accepted, ${viaEnvoy.get(b.id)} made by Envoy`);
    console.log(`gateway.addresses_rewritten ${await envoy.stat("gateway.addresses_rewritten")}, ` +
      `gateway.brokers_unmapped ${await envoy.stat("gateway.brokers_unmapped")}`);
  } finally {
    await envoy.stop();
  }
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await cluster.stop();
}
process.exit(failed ? 1 : 0);
