// A multi-broker Apache Kafka cluster (KRaft): one controller process and N broker processes,
// small heaps, loopback ports, for the gateway tests.
//
// Every broker has two listeners, both advertising the broker's own address (nothing points
// at Envoy): CLIENT, the one the gateway forwards to, and INTERNAL, for replication and for the
// tests' own look at the cluster. The brokers expose JMX so that a test can count the
// connections each CLIENT listener accepted (clientConnections): with every client behind the
// gateway, that is exactly the gateway's upstream connections.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { Kafka, logLevel } from "kafkajs";
import { KAFKA_LIBS } from "./paths.ts";
import { Service, freePort, waitFor } from "./process.ts";
import { LOG4J } from "./kafka.ts";

export interface ClusterBroker {
  id: number;
  clientPort: number;
  internalPort: number;
  jmxPort: number;
  // 127.0.0.1:<INTERNAL port>, for the tests' own admin clients.
  internal: string;
  service: Service | null;
  propsFile: string;
  logFile: string;
}

export interface Cluster {
  brokers: ClusterBroker[];
  controller: Service;
  // INTERNAL addresses of all brokers.
  internal: string[];
  // Kills broker `id` at once (SIGKILL: no controlled shutdown), then restart() brings it back.
  kill(id: number): Promise<void>;
  restart(id: number): Promise<void>;
  stop(): Promise<void>;
}

function java(dir: string, heap: string, jmxPort?: number): string[] {
  const log4jFile = join(dir, "log4j2.properties");
  writeFileSync(log4jFile, LOG4J);
  const jmx = jmxPort === undefined ? [] : [
    "-Dcom.sun.management.jmxremote", `-Dcom.sun.management.jmxremote.port=${jmxPort}`,
    `-Dcom.sun.management.jmxremote.rmi.port=${jmxPort}`, "-Dcom.sun.management.jmxremote.authenticate=false",
    "-Dcom.sun.management.jmxremote.ssl=false", "-Djava.rmi.server.hostname=127.0.0.1",
  ];
  return [`-Xms${heap}`, `-Xmx${heap}`, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", ...jmx,
    `-Dlog4j2.configurationFile=${log4jFile}`, "-cp", `${KAFKA_LIBS}/*`];
}

function writeProps(file: string, props: Record<string, string>): void {
  writeFileSync(file, Object.entries(props).map(([k, v]) => `${k}=${v}`).join("\n") + "\n");
}

function format(args: string[], clusterId: string, propsFile: string, standalone: boolean): void {
  const r = spawnSync("java", [...args, "kafka.tools.StorageTool", "format", "-t", clusterId, "-c", propsFile,
    ...(standalone ? ["--standalone"] : ["--no-initial-controllers"])], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`kafka storage format failed:\n${r.stdout}\n${r.stderr}`);
}

export async function startCluster(dir: string, brokerIds: number[]): Promise<Cluster> {
  mkdirSync(dir, { recursive: true });
  let clusterId = randomBytes(16).toString("base64url");
  while (clusterId.startsWith("-")) clusterId = randomBytes(16).toString("base64url");
  const controllerPort = await freePort();
  const controllerId = 100;
  const quorum = {
    "controller.quorum.bootstrap.servers": `127.0.0.1:${controllerPort}`,
    "controller.listener.names": "CONTROLLER",
  };
  const rf = String(Math.min(3, brokerIds.length));
  const common = {
    "num.partitions": "1",
    "offsets.topic.replication.factor": rf,
    "offsets.topic.num.partitions": "3",
    "transaction.state.log.replication.factor": rf,
    "transaction.state.log.min.isr": "1",
    "share.coordinator.state.topic.replication.factor": rf,
    "share.coordinator.state.topic.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
    "auto.create.topics.enable": "false",
    "num.network.threads": "1",
    "num.io.threads": "2",
    "num.recovery.threads.per.data.dir": "1",
    "background.threads": "2",
    "log.cleaner.enable": "false",
    // A killed broker is fenced (and leaves the ISRs) within seconds, not Kafka's default 9 s.
    "broker.session.timeout.ms": "4000",
    "broker.heartbeat.interval.ms": "1000",
    // Leaders move only when a test elects them (preferred leader election).
    "auto.leader.rebalance.enable": "false",
  };
  // The controller.
  const cdir = join(dir, "controller");
  mkdirSync(cdir, { recursive: true });
  const cprops = join(cdir, "server.properties");
  writeProps(cprops, {
    "process.roles": "controller",
    "node.id": String(controllerId),
    ...quorum,
    "listeners": `CONTROLLER://127.0.0.1:${controllerPort}`,
    "listener.security.protocol.map": "CONTROLLER:PLAINTEXT",
    "log.dirs": join(cdir, "data"),
    ...common,
  });
  const cjava = java(cdir, "192m");
  format(cjava, clusterId, cprops, true);
  const controller = new Service("kafka-controller", join(cdir, "kafka.log"), "java", [...cjava, "kafka.Kafka", cprops]);
  const brokers: ClusterBroker[] = [];
  // Ports are picked right before a broker starts (after every format, which takes seconds), so
  // that another process is unlikely to take one first; a broker that still finds one taken is
  // given new ones and started again.
  const taken = new Set<number>([controllerPort]);
  const pick = async () => {
    for (;;) {
      const p = await freePort();
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  const configure = async (b: ClusterBroker) => {
    [b.clientPort, b.internalPort, b.jmxPort] = [await pick(), await pick(), await pick()];
    b.internal = `127.0.0.1:${b.internalPort}`;
    writeProps(b.propsFile, {
      "process.roles": "broker",
      "node.id": String(b.id),
      ...quorum,
      "listeners": `CLIENT://127.0.0.1:${b.clientPort},INTERNAL://127.0.0.1:${b.internalPort}`,
      "advertised.listeners": `CLIENT://127.0.0.1:${b.clientPort},INTERNAL://127.0.0.1:${b.internalPort}`,
      "listener.security.protocol.map": "CLIENT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
      "inter.broker.listener.name": "INTERNAL",
      "log.dirs": join(b.propsFile, "..", "data"),
      ...common,
    });
  };
  const start = (b: ClusterBroker) => {
    b.service = new Service(`kafka-broker-${b.id}`, b.logFile, "java", [...java(join(b.logFile, ".."), "256m", b.jmxPort), "kafka.Kafka", b.propsFile]);
  };
  const ready = async (b: ClusterBroker, retryPorts: boolean) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await waitFor(`broker ${b.id} to answer Metadata listing every broker`, async () => {
          const admin = new Kafka({ brokers: [b.internal], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
          try {
            await admin.connect();
            const c = await admin.describeCluster();
            return c.brokers.length === brokers.filter((x) => x.service !== null && !x.service.exited).length;
          } finally {
            await admin.disconnect();
          }
        }, 120000, b.service!);
        return;
      } catch (e) {
        if (!retryPorts || attempt >= 3 || !b.service!.exited || !/already in use/i.test(b.service!.log())) throw e;
        await configure(b);
        start(b);
      }
    }
  };
  try {
    for (const id of brokerIds) {
      const bdir = join(dir, `broker-${id}`);
      mkdirSync(bdir, { recursive: true });
      const b: ClusterBroker = {
        id, clientPort: 0, internalPort: 0, jmxPort: 0, internal: "", service: null,
        propsFile: join(bdir, "server.properties"), logFile: join(bdir, "kafka.log"),
      };
      await configure(b);
      format(java(bdir, "256m"), clusterId, b.propsFile, false);
      brokers.push(b);
    }
    for (const b of brokers) {
      await configure(b);
      start(b);
    }
    for (const b of brokers) await ready(b, true);
  } catch (e) {
    await Promise.all(brokers.map((b) => b.service?.stop()));
    await controller.stop();
    throw e;
  }
  const internal = brokers.map((b) => b.internal);
  const byId = (id: number) => {
    const b = brokers.find((x) => x.id === id);
    if (!b) throw new Error(`no broker ${id}`);
    return b;
  };
  return {
    brokers,
    controller,
    internal,
    async kill(id) {
      const b = byId(id);
      const s = b.service!;
      const done = new Promise<void>((res) => (s.exited ? res() : s.proc.once("exit", () => res())));
      process.kill(-s.proc.pid!, "SIGKILL");
      await done;
    },
    async restart(id) {
      const b = byId(id);
      start(b);
      await ready(b, false);
    },
    async stop() {
      await Promise.all(brokers.map((b) => b.service?.stop()));
      await controller.stop();
    },
  };
}

// Connections broker `b`'s CLIENT listener accepted since it started (JMX, Kafka's
// socket-server-metrics), read with Kafka's own JmxTool.
export function clientConnections(b: ClusterBroker): number {
  const r = spawnSync("java", ["-Xmx64m", "-XX:TieredStopAtLevel=1", "-cp", `${KAFKA_LIBS}/*`, "org.apache.kafka.tools.JmxTool",
    "--jmx-url", `service:jmx:rmi:///jndi/rmi://127.0.0.1:${b.jmxPort}/jmxrmi`,
    "--object-name", "kafka.server:type=socket-server-metrics,listener=CLIENT,networkProcessor=*",
    "--attributes", "connection-creation-total", "--one-time", "true", "--report-format", "properties"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`JmxTool failed:\n${r.stdout}\n${r.stderr}`);
  let total = 0;
  let found = false;
  for (const m of r.stdout.matchAll(/connection-creation-total=([\d.E]+)/g)) {
    total += Number(m[1]);
    found = true;
  }
  if (!found) throw new Error(`JmxTool printed no connection-creation-total:\n${r.stdout}\n${r.stderr}`);
  return total;
}
