// A single-node Apache Kafka (KRaft, combined broker + controller) from the jars in
// .tools/kafka/libs, run with the machine's Java on loopback ports.
//
// Two client listeners: PROXIED is the one Envoy forwards to and it advertises Envoy's port,
// so clients that bootstrap through Envoy stay on Envoy; DIRECT advertises itself and is how
// tests look at the broker without the filter.
import { randomBytes } from "node:crypto";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { Kafka, logLevel } from "kafkajs";
import { KAFKA_LIBS } from "./paths.ts";
import { Service, freePort, waitFor, type Running } from "./process.ts";
import { testbedBackend } from "./backend.ts";

export interface KafkaBroker {
  proxiedPort: number;
  directPort: number;
  // host:port of the DIRECT listener.
  direct: string;
  dir: string;
  service: Running;
  stop(): Promise<void>;
}

// The brokers' logging (also the cluster harness's, cluster.ts).
export const LOG4J = `
appender.console.type = Console
appender.console.name = out
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.kafka.name = org.apache.kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
`;

// `advertisedProxyPort`: where clients reach the PROXIED listener (Envoy's listener port).
export interface KafkaOptions {
  // Broker properties added to (or replacing) the defaults, e.g. SASL on the PROXIED listener.
  props?: Record<string, string>;
  // SCRAM credentials created at format time, as StorageTool's --add-scram takes them.
  scram?: string[];
  // Another broker's jars than the current one's (KAFKA39_LIBS: the old-broker test).
  libs?: string;
}

export async function startKafka(dir: string, advertisedProxyPort: number, options: KafkaOptions = {}): Promise<KafkaBroker> {
  mkdirSync(dir, { recursive: true });
  const [proxiedPort, directPort, controllerPort] = [await freePort(), await freePort(), await freePort()];
  const props = {
    "process.roles": "broker,controller",
    "node.id": "1",
    "controller.quorum.voters": `1@127.0.0.1:${controllerPort}`,
    "listeners": `PROXIED://127.0.0.1:${proxiedPort},DIRECT://127.0.0.1:${directPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    "advertised.listeners": `PROXIED://127.0.0.1:${advertisedProxyPort},DIRECT://127.0.0.1:${directPort}`,
    "listener.security.protocol.map": "PROXIED:PLAINTEXT,DIRECT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "inter.broker.listener.name": "DIRECT",
    "controller.listener.names": "CONTROLLER",
    "log.dirs": join(dir, "data"),
    "num.partitions": "1",
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
    "auto.create.topics.enable": "false",
    // Room for the 1 MiB records the tests send, with their batch overhead.
    "message.max.bytes": String(4 * 1024 * 1024),
    "socket.request.max.bytes": String(16 * 1024 * 1024),
  };
  Object.assign(props, options.props ?? {});
  const propsFile = join(dir, "server.properties");
  writeFileSync(propsFile, Object.entries(props).map(([k, v]) => `${k}=${v}`).join("\n") + "\n");
  const log4jFile = join(dir, "log4j2.properties");
  writeFileSync(log4jFile, LOG4J);
  // Kafka's own ids never start with '-': the tool's argument parser would take one for an option.
  let clusterId = randomBytes(16).toString("base64url");
  while (clusterId.startsWith("-")) clusterId = randomBytes(16).toString("base64url");
  const heap = ["-Xms256m", "-Xmx768m"];
  const gc = ["-XX:+UseG1GC"];
  const scram = (options.scram ?? []).flatMap((c) => ["--add-scram", c]);
  const logFile = join(dir, "kafka.log");
  let service: Running;
  // Another broker's jars (options.libs) exist only as local jars: that broker stays a process.
  if ((await testbedBackend()) === "containers" && (options.libs === undefined || options.libs === KAFKA_LIBS)) {
    // Kafka's own scripts, as apache/kafka has them, with the environment they read; one
    // container formats the storage and then becomes the broker.
    const { startContainer } = await import("./containers.ts");
    service = await startContainer("kafka", logFile, {
      role: "kafka",
      shell: 'id=$1; props=$2; shift 2; /opt/kafka/bin/kafka-storage.sh format -t "$id" -c "$props" "$@" && exec /opt/kafka/bin/kafka-server-start.sh "$props"',
      command: [clusterId, propsFile, ...scram],
      env: {
        KAFKA_HEAP_OPTS: heap.join(" "),
        KAFKA_JVM_PERFORMANCE_OPTS: gc.join(" "),
        KAFKA_LOG4J_OPTS: `-Dlog4j2.configurationFile=${log4jFile}`,
        LOG_DIR: join(dir, "logs"),
      },
      mounts: [{ path: dir, rw: true }],
    });
  } else {
    const java = [...heap, ...gc, `-Dlog4j2.configurationFile=${log4jFile}`, "-cp", `${options.libs ?? KAFKA_LIBS}/*`];
    const format = spawnSync("java", [...java, "kafka.tools.StorageTool", "format", "-t", clusterId, "-c", propsFile, ...scram], {
      encoding: "utf8",
    });
    if (format.status !== 0) throw new Error(`kafka storage format failed:\n${format.stdout}\n${format.stderr}`);
    service = new Service("kafka", logFile, "java", [...java, "kafka.Kafka", propsFile]);
  }
  const direct = `127.0.0.1:${directPort}`;
  await waitFor("the Kafka broker to answer Metadata", async () => {
    const admin = new Kafka({ brokers: [direct], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    try {
      await admin.connect();
      await admin.listTopics();
      return true;
    } finally {
      await admin.disconnect();
    }
  }, 90000, service);
  return {
    proxiedPort,
    directPort,
    direct,
    dir,
    service,
    stop: () => service.stop(),
  };
}
