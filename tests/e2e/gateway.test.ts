// Gateway mode against a real 3-broker KRaft cluster: one Envoy, rendered by the CLI from a
// policy with `envoy.gateway` (port per broker), in front of brokers that advertise their own
// addresses. Clients (kafkajs and Kafka's Java client) bootstrap from the gateway only; the
// filter gives every broker address in responses the gateway's, so they never leave it:
// counted on both sides (every connection the brokers' client listeners accepted is one Envoy
// made). Then failover: the leader of a partition is killed and restarted while an idempotent
// acks=all producer and a consumer group run through the gateway; every record arrives once, in
// order per partition. Then SNI mode: the Java client over TLS through one port.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { Cluster, clientConnections, startCluster } from "../harness/cluster.ts";
import { Envoy } from "../harness/envoy.ts";
import { WASM, requireInstalled, scratchDir } from "../harness/paths.ts";
import { freePort, sleep, waitFor } from "../harness/process.ts";
import { envoyConnections, freeBase, startRendered } from "../harness/gateway.ts";
import { javaClient } from "../harness/java_client.ts";
import { allow } from "../harness/acl_rules.ts";
import { makeCerts } from "../harness/certs.ts";

const BROKER_IDS = [1, 2, 3];

// The policy stages run with the gateway: authorization (principals from client ids) and a
// topic rename (clients name gw-failover, the brokers hold gw-failover-v2).
const FILTER = {
  principal_sources: ["client_id"],
  acls: {
    super_users: ["User:gw-kafkajs", "User:java-admin"],
    rules: [
      allow("User:java-producer", "topic", "gw-", ["write", "describe"], "prefixed"),
      allow("User:gw-consumer", "topic", "gw-", ["read", "describe"], "prefixed"),
      allow("User:java-consumer", "topic", "gw-", ["read", "describe"], "prefixed"),
      allow("User:gw-consumer", "group", "gw-", ["read"], "prefixed"),
      allow("User:java-consumer", "group", "gw-", ["read"], "prefixed"),
    ],
  },
  rewrite: { renames: [{ principal: "*", resource: "topic", from: "gw-failover", to: "gw-failover-v2" }] },
};

// A certificate for every name under `domain` (*.domain), signed by the test CA in `dir`.
function wildcardCert(dir: string, domain: string): { cert: string; key: string } {
  const run = (args: string[]) => {
    const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed:\n${r.stderr}`);
  };
  writeFileSync(join(dir, "sni.ext"), `subjectAltName=DNS:*.${domain}\nextendedKeyUsage=serverAuth\n`);
  run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "sni.key", "-subj", `/CN=*.${domain}`, "-out", "sni.csr"]);
  run(["x509", "-req", "-in", "sni.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-sha256",
    "-extfile", "sni.ext", "-out", "sni.crt"]);
  return { cert: join(dir, "sni.crt"), key: join(dir, "sni.key") };
}

async function startGateway(dir: string, cluster: Cluster): Promise<{ envoy: Envoy; bootstrap: string; base: number }> {
  const [listen, admin, base] = [await freePort(), await freePort(), await freeBase(BROKER_IDS)];
  const envoy = await startRendered(dir, "envoy-gateway", {
    name: "kafka-gateway",
    filter: FILTER,
    envoy: {
      listen: `127.0.0.1:${listen}`,
      admin: `127.0.0.1:${admin}`,
      wasm: WASM,
      gateway: {
        brokers: Object.fromEntries(cluster.brokers.map((b) => [String(b.id), `127.0.0.1:${b.clientPort}`])),
        host: "127.0.0.1",
        port_base: base,
      },
    },
  }, [listen, ...BROKER_IDS.map((id) => base + id)], admin);
  return { envoy, bootstrap: `127.0.0.1:${listen}`, base };
}

// Produce responses (v10+: they carry KIP-951 leader endpoints) that answered
// NOT_LEADER_OR_FOLLOWER, by the filter's metrics.
async function produceNotLeader(envoy: Envoy): Promise<number> {
  let n = 0;
  for (const [name, v] of await envoy.stats("responses.api.Produce")) {
    const m = /responses\.api\.Produce\.v\.(\d+)\.error\.6$/.exec(name);
    if (m && Number(m[1]) >= 10) n += v;
  }
  return n;
}

describe("gateway mode: 3 KRaft brokers behind one Envoy, port per broker", () => {
  let dir = "";
  let cluster: Cluster | undefined;
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  // A restarted broker's JMX counts start again: Envoy's connections to it up to then.
  const countedBefore = new Map<number, number>();

  // Every connection each broker's client listener accepted is one the gateway made.
  const onlyViaGateway = async (sni?: Envoy) => {
    const viaEnvoy = await envoyConnections(gateway!.envoy, cluster!);
    const viaSni = sni ? await envoyConnections(sni, cluster!) : new Map<number, number>();
    for (const b of cluster!.brokers) {
      assert.ok(viaEnvoy.get(b.id)! > 0, `Envoy connected to broker ${b.id}`);
      assert.equal(clientConnections(b), viaEnvoy.get(b.id)! + (viaSni.get(b.id) ?? 0) - (countedBefore.get(b.id) ?? 0),
        `broker ${b.id}: connections its client listener accepted = connections Envoy made`);
    }
  };

  before(async () => {
    requireInstalled();
    dir = scratchDir("gateway");
    cluster = await startCluster(join(dir, "cluster"), BROKER_IDS);
    gateway = await startGateway(dir, cluster);
  });

  after(async () => {
    await gateway?.envoy.stop();
    await cluster?.stop();
  });

  test("kafkajs creates a 6-partition RF3 topic, produces and consumes in a group, seeing only gateway addresses", async () => {
    const { bootstrap, base } = gateway!;
    const kafka = new Kafka({ brokers: [bootstrap], clientId: "gw-kafkajs", logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      assert.ok(await admin.createTopics({ topics: [{ topic: "gw-kafkajs", numPartitions: 6, replicationFactor: 3 }], waitForLeaders: true }));
      const described = await admin.describeCluster();
      assert.deepEqual(described.brokers.map((b) => `${b.host}:${b.port}`).sort(),
        BROKER_IDS.map((id) => `127.0.0.1:${base + id}`).sort(), "brokers as kafkajs sees them: the gateway's listeners");
      const meta = await admin.fetchTopicMetadata({ topics: ["gw-kafkajs"] });
      const partitions = meta.topics[0].partitions;
      assert.equal(partitions.length, 6);
      for (const p of partitions) assert.equal(p.replicas.length, 3);
      assert.deepEqual([...new Set(partitions.map((p) => p.leader))].sort(), BROKER_IDS, "leaders spread over every broker");
    } finally {
      await admin.disconnect();
    }
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const COUNT = 120;
    for (let i = 0; i < COUNT; i += 20) {
      await producer.send({
        topic: "gw-kafkajs",
        acks: -1,
        messages: Array.from({ length: 20 }, (_, j) => ({ key: `k-${i + j}`, value: `v-${i + j}` })),
      });
    }
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: "gw-kafkajs-group" });
    await consumer.connect();
    await consumer.subscribe({ topic: "gw-kafkajs", fromBeginning: true });
    const seen: { partition: number; offset: number; key: string }[] = [];
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push({ partition, offset: Number(message.offset), key: message.key!.toString() });
      },
    });
    await waitFor("kafkajs to consume every record", async () => seen.length >= COUNT, 60000);
    await consumer.disconnect();
    assert.equal(seen.length, COUNT);
    assert.equal(new Set(seen.map((s) => s.key)).size, COUNT, "every record once");
    assert.ok(new Set(seen.map((s) => s.partition)).size > 1, "records spread over partitions");
    for (const p of new Set(seen.map((s) => s.partition))) {
      const inP = seen.filter((s) => s.partition === p);
      for (let i = 1; i < inP.length; i++) {
        assert.ok(inP[i].offset > inP[i - 1].offset, `partition ${p} in offset order`);
        assert.ok(Number(inP[i].key.slice(2)) > Number(inP[i - 1].key.slice(2)), `partition ${p} in produce order`);
      }
    }
  });

  test("the Java client creates a 6-partition RF3 topic, produces and consumes in a group through the gateway", async () => {
    const { bootstrap } = gateway!;
    const created = await javaClient(["create", bootstrap, "gw-java", "6", "3"]);
    const lines = created.trim().split("\n").filter((l) => l.startsWith("partition "));
    assert.equal(lines.length, 6, created);
    for (const l of lines) assert.match(l, /replicas 3$/);
    // The Java admin client's DescribeCluster answer, readdressed.
    const nodes = created.split("\n").filter((l) => l.startsWith("node ")).sort();
    assert.deepEqual(nodes, BROKER_IDS.map((id) => `node ${id} 127.0.0.1:${gateway!.base + id}`), created);
    const describeClusters = [...(await gateway!.envoy.stats("requests.api.DescribeCluster")).values()].reduce((a, b) => a + b, 0);
    assert.ok(describeClusters > 0, "the Java admin client asked with DescribeCluster");
    const sizes = Array.from({ length: 60 }, (_, i) => String(100 + i)).join(",");
    const produced = await javaClient(["produce", bootstrap, "gw-java", "j", sizes]);
    assert.equal(produced.split("\n").filter((l) => l.startsWith("produced ")).length, 60, produced);
    const consumed = await javaClient(["consume", bootstrap, "gw-java", "gw-java-group", "60"]);
    const keys = consumed.split("\n").filter((l) => l.startsWith("record ")).map((l) => l.split(" ")[1]);
    assert.deepEqual([...keys].sort(), Array.from({ length: 60 }, (_, i) => `j-${i}`).sort(), consumed);
  });

  test("no client connection reached a broker directly: the brokers' client listeners only ever saw Envoy", async () => {
    const { envoy } = gateway!;
    await onlyViaGateway();
    assert.ok(await envoy.stat("gateway.addresses_rewritten") > 0);
    assert.equal(await envoy.stat("gateway.brokers_unmapped"), 0);
  });

  test("failover: a partition leader killed and restarted under an idempotent acks=all producer and a consumer group", async () => {
    const { bootstrap, envoy } = gateway!;
    // The brokers' topic, made on the side (min.insync.replicas 2: acks=all holds with one broker down).
    const side = new Kafka({ brokers: cluster!.internal, logLevel: logLevel.NOTHING }).admin();
    await side.connect();
    await side.createTopics({
      topics: [{ topic: "gw-failover-v2", numPartitions: 6, replicationFactor: 3, configEntries: [{ name: "min.insync.replicas", value: "2" }] }],
      waitForLeaders: true,
    });
    const leaderOf0 = async () => (await side.fetchTopicMetadata({ topics: ["gw-failover-v2"] })).topics[0].partitions.find((p) => p.partitionId === 0)!.leader;
    const victim = await leaderOf0();
    const COUNT = 400;
    const kafka = new Kafka({ brokers: [bootstrap], clientId: "gw-consumer", logLevel: logLevel.NOTHING,
      retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2000 } });
    const consumer = kafka.consumer({ groupId: "gw-failover-group", sessionTimeout: 10000, heartbeatInterval: 1000 });
    await consumer.connect();
    await consumer.subscribe({ topic: "gw-failover", fromBeginning: true });
    const seen: { partition: number; offset: number; key: string }[] = [];
    await consumer.run({
      autoCommitThreshold: 1,
      eachMessage: async ({ topic, partition, message }) => {
        assert.equal(topic, "gw-failover");
        seen.push({ partition, offset: Number(message.offset), key: message.key!.toString() });
      },
    });
    // The Java producer: acks=all, idempotent (the client's default), each send awaited.
    const sizes = Array.from({ length: COUNT }, () => "64").join(",");
    const producing = javaClient(["produce", bootstrap, "gw-failover", "f", sizes], 240000, undefined, { SEND_GAP_MS: "20" });
    await waitFor("the first records", async () => seen.length >= 40, 60000);
    await cluster!.kill(victim);
    countedBefore.set(victim, (await envoyConnections(envoy, cluster!)).get(victim)!);
    await waitFor("a new leader for partition 0", async () => (await leaderOf0()) !== victim, 30000);
    await waitFor("records after the failover", async () => seen.length >= 200, 90000);
    await cluster!.restart(victim);
    const produced = await producing;
    assert.equal(produced.split("\n").filter((l) => l.startsWith("produced ")).length, COUNT);
    await waitFor("every record consumed", async () => seen.length >= COUNT, 90000);
    // Room for a duplicate to show up.
    await sleep(3000);
    await consumer.disconnect();
    // A group member may be handed a partition again from its last commit when the failover
    // moved the group coordinator (Kafka's at-least-once for groups): such a re-read is the same
    // record (same partition and offset) again, counted apart. Each record of the log must be
    // consumed, once, and the log must hold each produced record once (the idempotent producer
    // retried through the gateway without duplicating).
    const first = new Map<string, { partition: number; offset: number; key: string }>();
    for (const r of seen) {
      const at = `${r.partition}@${r.offset}`;
      const before = first.get(at);
      if (before === undefined) first.set(at, r);
      else assert.equal(before.key, r.key, `a re-read of ${at} is the same record`);
    }
    const records = [...first.values()];
    console.error(`gateway failover: ${records.length} records consumed, ${seen.length - records.length} re-read after a rebalance`);
    assert.equal(records.length, COUNT, "every record consumed once");
    assert.equal(new Set(records.map((s) => s.key)).size, COUNT, "no record duplicated in the log");
    for (const p of new Set(records.map((s) => s.partition))) {
      const inP = records.filter((s) => s.partition === p).sort((a, b) => a.offset - b.offset);
      for (let i = 1; i < inP.length; i++) {
        assert.equal(inP[i].offset, inP[i - 1].offset + 1, `partition ${p}: no gap`);
        assert.ok(Number(inP[i].key.slice(2)) > Number(inP[i - 1].key.slice(2)), `partition ${p} in produce order`);
      }
    }
    // Delivered in order within each partition: past re-reads, each new record is the next offset.
    for (const p of new Set(seen.map((s) => s.partition))) {
      let high = -1;
      for (const r of seen.filter((s) => s.partition === p)) {
        if (r.offset <= high) continue;
        assert.equal(r.offset, high + 1, `partition ${p} delivered in order`);
        high = r.offset;
      }
    }
    // The rename applied throughout: the brokers hold the records under their name, and no
    // topic by the client's name was made.
    const offsets = await side.fetchTopicOffsets("gw-failover-v2");
    assert.equal(offsets.reduce((n, o) => n + Number(o.high), 0), COUNT);
    assert.ok(!(await side.listTopics()).includes("gw-failover"));
    await side.disconnect();
    // Authorization still applies on the gateway's per-broker listeners after the failover.
    const intruder = new Kafka({ brokers: [bootstrap], clientId: "gw-intruder", logLevel: logLevel.NOTHING, retry: { retries: 0 } }).producer();
    await intruder.connect();
    const refused = await intruder.send({ topic: "gw-failover", acks: -1, messages: [{ value: "x" }] }).then(() => null, (e) => e);
    assert.equal(refused?.cause?.type ?? refused?.type, "TOPIC_AUTHORIZATION_FAILED", `${refused}`);
    await intruder.disconnect();
    assert.ok(await envoy.stat("gateway.addresses_rewritten") > 0);
    // Through the failover too, the clients only ever connected through the gateway.
    await onlyViaGateway();
  });

  test("SNI mode: the Java client over TLS reaches every broker through one port, as broker-<id>.<domain>; KIP-951 leader hints", async () => {
    const certDir = join(dir, "sni-certs");
    mkdirSync(certDir, { recursive: true });
    const ca = makeCerts(certDir).ca;
    const domain = "kafka.test";
    const { cert, key } = wildcardCert(certDir, domain);
    const [port, admin] = [await freePort(), await freePort()];
    const envoy = await startRendered(dir, "envoy-sni", {
      name: "kafka-sni",
      filter: FILTER,
      envoy: {
        admin: `127.0.0.1:${admin}`,
        wasm: WASM,
        gateway: {
          brokers: Object.fromEntries(cluster!.brokers.map((b) => [String(b.id), `127.0.0.1:${b.clientPort}`])),
          bind: "127.0.0.1",
          sni: { domain, port, cert, key },
        },
      },
    }, [port], admin);
    try {
      // The client resolves the gateway's names (and only those) to loopback; it speaks TLS
      // only, so the brokers' own plaintext listeners would fail it.
      const hosts = join(certDir, "hosts");
      writeFileSync(hosts, `127.0.0.1 bootstrap.${domain} ${BROKER_IDS.map((id) => `broker-${id}.${domain}`).join(" ")}\n`);
      const env = { TLS_CA: ca, JAVA_TOOL_OPTIONS: `-Djdk.net.hosts.file=${hosts}` };
      const bootstrap = `bootstrap.${domain}:${port}`;
      const created = await javaClient(["create", bootstrap, "gw-sni", "6", "3"], 120000, undefined, env);
      assert.equal(created.split("\n").filter((l) => /^partition \d+ leader \d+ replicas 3$/.test(l)).length, 6, created);
      const sizes = Array.from({ length: 30 }, (_, i) => String(200 + i)).join(",");
      const produced = await javaClient(["produce", bootstrap, "gw-sni", "s", sizes], 120000, undefined, env);
      assert.equal(produced.split("\n").filter((l) => l.startsWith("produced ")).length, 30, produced);
      const consumed = await javaClient(["consume", bootstrap, "gw-sni", "gw-sni-group", "30"], 120000, undefined, env);
      const keys = consumed.split("\n").filter((l) => l.startsWith("record ")).map((l) => l.split(" ")[1]);
      assert.deepEqual([...keys].sort(), Array.from({ length: 30 }, (_, i) => `s-${i}`).sort(), consumed);
      // Every broker's filter chain (picked by SNI name) carried traffic.
      const stats = await envoy.stats("kafka_broker_");
      for (const id of BROKER_IDS) {
        assert.ok((stats.get(`cluster.kafka_broker_${id}.upstream_cx_total`) ?? 0) > 0, `broker-${id}.${domain} was used`);
      }
      assert.ok(await envoy.stat("gateway.addresses_rewritten") > 0);
      await onlyViaGateway(envoy);

      // KIP-951: leaders move (preferred leader election: the failover left some partitions
      // led by another replica) under a running producer. Its next send to a moved partition's
      // old leader gets NOT_LEADER_OR_FOLLOWER with the new leader's endpoint (Produce v13: a
      // tagged field, re-sized here as broker-<id>.kafka.test is longer than the broker's own
      // 127.0.0.1), and it follows the hint to the gateway's name for the new leader.
      const side = new Kafka({ brokers: cluster!.internal, logLevel: logLevel.NOTHING }).admin();
      await side.connect();
      try {
        const meta = async () => (await side.fetchTopicMetadata({ topics: ["gw-failover-v2"] })).topics[0].partitions;
        assert.ok((await meta()).some((p) => p.leader !== p.replicas[0]), "some partition is led by another replica than its preferred one");
        const high = async () => (await side.fetchTopicOffsets("gw-failover-v2")).reduce((n, o) => n + Number(o.high), 0);
        const start = await high();
        const errorsBefore = await produceNotLeader(envoy);
        const COUNT = 200;
        const producing = javaClient(["produce", bootstrap, "gw-failover", "m", Array.from({ length: COUNT }, () => "32").join(",")],
          120000, undefined, { ...env, SEND_GAP_MS: "25" });
        await waitFor("the producer under way", async () => (await high()) >= start + 20, 60000);
        const elected = await javaClient(["elect", bootstrap, "gw-failover"], 120000, undefined, env);
        for (const p of await meta()) assert.equal(p.leader, p.replicas[0], elected);
        const produced2 = await producing;
        assert.equal(produced2.split("\n").filter((l) => l.startsWith("produced ")).length, COUNT);
        assert.equal(await high(), start + COUNT, "every record once");
        assert.ok(await produceNotLeader(envoy) > errorsBefore, "the producer met NOT_LEADER_OR_FOLLOWER with a leader hint");
        await onlyViaGateway(envoy);
      } finally {
        await side.disconnect();
      }
    } finally {
      await envoy.stop();
    }
  });

  test("the brokers' connection counts do see a client that goes around the gateway", async () => {
    const b = cluster!.brokers[0];
    const [before, envoyBefore] = [clientConnections(b), (await envoyConnections(gateway!.envoy, cluster!)).get(b.id)];
    const direct = new Kafka({ brokers: [`127.0.0.1:${b.clientPort}`], logLevel: logLevel.NOTHING }).admin();
    await direct.connect();
    await direct.listTopics();
    await direct.disconnect();
    assert.ok(clientConnections(b) > before);
    assert.equal((await envoyConnections(gateway!.envoy, cluster!)).get(b.id), envoyBefore);
  });
});
