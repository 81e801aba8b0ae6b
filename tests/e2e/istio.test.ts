// The project's WasmPlugin through Istio's own code, without Kubernetes: the module is pushed
// with `kafka-proxy-wasm push` to a real registry (Debian's docker-registry); the WasmPlugin
// `kafka-proxy-wasm render-istio` renders for it (pinned by digest) passes Istio's validation;
// Istio's discovery server (istiod's config store, WasmPlugin -> TrafficExtension translation
// and xDS generation, in-process over a fake Kubernetes client) serves it with the Sidecar and
// PeerAuthentication of a Kafka broker's workload; pilot-agent (Istio's sidecar agent) runs the
// project's Envoy, pulls the image and hands Envoy the module as a local file; Kafka clients
// with workload certificates (SPIFFE URI SANs) then talk mTLS to the Istio-built inbound
// listener, and the filter authorizes them as the policy says. Also: the same WasmPlugin in mode
// CLIENT on a client's sidecar (the egress listener Istio builds for the broker's ServiceEntry),
// and failStrategy FAIL_CLOSE when the pinned digest does not match the image.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { parse, parseAllDocuments, stringify } from "yaml";
import * as tls from "node:tls";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { ROOT, WASM, requireInstalled, scratchDir } from "../harness/paths.ts";
import { freePort, waitFor } from "../harness/process.ts";
import { startRegistry, Registry } from "../harness/registry.ts";
import { startKafka, KafkaBroker, KafkaOptions } from "../harness/kafka.ts";
import { brokerOffset, createTopics } from "../harness/broker_view.ts";
import { requestFrame } from "../harness/raw_client.ts";
import { makeCerts, TestCerts, CertPair } from "../harness/certs.ts";
import {
  ISTIO_VERSION, WASM_CACHE, agentMetrics, envoyConfigDump, envoyStats, istioValidate, requireIstio, startIstioXds, startPilotAgent,
} from "../harness/istio.ts";
import type { Service } from "../harness/process.ts";

const POLICY = join(ROOT, "examples/policy.json");
const WRITER = "spiffe://cluster.local/ns/shop/sa/orders-writer";
const READER = "spiffe://cluster.local/ns/shop/sa/orders-reader";
// The broker's workload: its sidecar applies the WasmPlugin on inbound (mode SERVER).
const BROKER = { name: "kafka-0", namespace: "kafka", labels: { app: "kafka" } };
// A client's workload (the example policy's selector): its sidecar on outbound (mode CLIENT).
const CLIENT = { name: "orders-0", namespace: "shop", labels: { app: "orders" } };
type WorkloadId = typeof BROKER;

function cli(args: string[]): string {
  const r = spawnSync(process.execPath, [join(ROOT, "bin/kafka-proxy-wasm.js"), ...args], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`kafka-proxy-wasm ${args.join(" ")} failed:\n${r.stderr}`);
  return r.stdout;
}

// The example policy (its filter section replaced by `filter` if given) for `workload`, its
// image in the test registry, its Kafka port the sidecar listener's port.
function renderWasmPlugin(dir: string, image: string, port: number, sha256: string, workload = BROKER, filter?: object, mode?: string): any {
  const policy = JSON.parse(readFileSync(POLICY, "utf8"));
  policy.istio = { ...policy.istio, namespace: workload.namespace, selector: workload.labels, image, ports: [port], ...(mode ? { mode } : {}) };
  if (filter) policy.filter = filter;
  const file = join(dir, `policy-${workload.name}-${sha256.slice(0, 8)}.json`);
  writeFileSync(file, JSON.stringify(policy));
  return parse(cli(["render-istio", "--policy", file, "--sha256", sha256]));
}

// What a Kafka broker's workload needs from Istio outside Kubernetes: a Sidecar whose ingress
// binds the Kafka port on loopback (interception mode NONE: nothing redirects traffic) and
// forwards to the broker, and STRICT mTLS on it.
function brokerConfigs(port: number, brokerPort: number): object[] {
  return [
    {
      apiVersion: "networking.istio.io/v1", kind: "Sidecar", metadata: { name: "kafka", namespace: BROKER.namespace },
      spec: {
        workloadSelector: { labels: BROKER.labels },
        ingress: [{ port: { number: port, protocol: "TCP", name: "tcp-kafka" }, bind: "127.0.0.1", defaultEndpoint: `127.0.0.1:${brokerPort}` }],
        egress: [{ hosts: ["./*"] }],
      },
    },
    {
      apiVersion: "security.istio.io/v1", kind: "PeerAuthentication", metadata: { name: "kafka", namespace: BROKER.namespace },
      spec: { selector: { matchLabels: BROKER.labels }, mtls: { mode: "STRICT" } },
    },
  ];
}

// What a Kafka client's workload needs for its sidecar to carry its Kafka traffic without
// redirection: the broker as a ServiceEntry (outside the mesh, a static loopback endpoint) and
// a Sidecar whose egress listener binds the Kafka port on loopback for that host.
function clientConfigs(port: number, brokerPort: number): object[] {
  return [
    {
      apiVersion: "networking.istio.io/v1", kind: "ServiceEntry", metadata: { name: "kafka", namespace: CLIENT.namespace },
      spec: {
        hosts: ["kafka.example"], location: "MESH_EXTERNAL", resolution: "STATIC",
        ports: [{ number: port, name: "tcp-kafka", protocol: "TCP" }],
        endpoints: [{ address: "127.0.0.1", ports: { "tcp-kafka": brokerPort } }],
      },
    },
    {
      apiVersion: "networking.istio.io/v1", kind: "Sidecar", metadata: { name: "orders", namespace: CLIENT.namespace },
      spec: {
        workloadSelector: { labels: CLIENT.labels },
        egress: [{ port: { number: port, protocol: "TCP", name: "tcp-kafka" }, bind: "127.0.0.1", hosts: ["./kafka.example"] }],
      },
    },
  ];
}

const yamlDocs = (docs: object[]) => docs.map((d) => stringify(d)).join("---\n");

// Istio's network Wasm filters in Envoy's config dump (ECDS), by name.
function ecdsFilters(dump: any): Map<string, any> {
  const out = new Map<string, any>();
  for (const c of dump.configs) {
    if (!String(c["@type"]).endsWith("EcdsConfigDump")) continue;
    for (const f of c.ecds_filters ?? []) out.set(f.ecds_filter.name, f.ecds_filter.typed_config);
  }
  return out;
}

function listener(dump: any, port: number): any {
  const listeners = dump.configs.find((c: any) => String(c["@type"]).endsWith("ListenersConfigDump"));
  return (listeners.dynamic_listeners ?? []).map((l: any) => l.active_state?.listener)
    .find((l: any) => l?.address?.socket_address?.port_value === port);
}

const counter = (metrics: string, name: string, result: string): number => {
  const m = new RegExp(`^${name}\\{[^}]*result="${result}"[^}]*\\} (\\d+)`, "m").exec(metrics);
  return m ? Number(m[1]) : 0;
};

// A Kafka error 29 (TOPIC_AUTHORIZATION_FAILED) somewhere in kafkajs' error and its causes.
function refusedWith29(e: any): boolean {
  if (!e || typeof e !== "object") return false;
  if (e.type === "TOPIC_AUTHORIZATION_FAILED" && (e.code === undefined || e.code === 29)) return true;
  return refusedWith29(e.cause) || (e.errors ?? []).some(refusedWith29);
}

interface Bed {
  dir: string;
  port: number;
  kafka: KafkaBroker;
  xds: Service;
  agent: Service;
}

describe(`Istio (${ISTIO_VERSION}): the WasmPlugin through Istio's discovery server and pilot-agent`, () => {
  let registry: Registry | undefined;
  let dir = "";
  let certs: TestCerts;
  let image = "";
  let digest = "";
  let failed = false;

  before(async () => {
    requireInstalled();
    requireIstio();
    dir = scratchDir("istio");
    registry = await startRegistry(join(dir, "registry"));
    image = `${registry.host}/kafka-proxy-wasm:istio`;
    digest = cli(["push", "--image", image]).trim();
    certs = makeCerts(dir);
  });
  after(async () => {
    await registry?.stop();
    if (failed) console.error(`istio test logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  // Kafka behind a workload's Istio sidecar (the broker's by default), with `plugin` served next
  // to the workload's configs; clients reach the broker through the sidecar's listener on `port`.
  async function withBed(name: string, plugin: (port: number) => any, fn: (bed: Bed) => Promise<void>,
    workload: WorkloadId = BROKER, configs = brokerConfigs, kafkaOptions: KafkaOptions = {}): Promise<void> {
    const bedDir = join(dir, name);
    const port = await freePort();
    const kafka = await startKafka(join(bedDir, "kafka"), port, kafkaOptions);
    const cached = new Set(existsSync(WASM_CACHE) ? readdirSync(WASM_CACHE) : []);
    let xds: Service | undefined;
    let agent: Service | undefined;
    try {
      const configFile = join(bedDir, "istio-configs.yaml");
      writeFileSync(configFile, yamlDocs([plugin(port), ...configs(port, kafka.proxiedPort)]));
      xds = await startIstioXds(bedDir, configFile);
      agent = await startPilotAgent(join(bedDir, "sidecar"), {
        ...workload,
        certs: { cert: certs.server.cert, key: certs.server.key, root: certs.ca },
        insecureRegistries: [registry!.host],
      });
      await fn({ dir: bedDir, port, kafka, xds, agent });
    } catch (e) {
      failed = true;
      throw e;
    } finally {
      await agent?.stop();
      await xds?.stop();
      await kafka.stop();
      // The modules this agent fetched into Istio's fixed cache directory.
      for (const entry of existsSync(WASM_CACHE) ? readdirSync(WASM_CACHE) : []) {
        if (!cached.has(entry)) rmSync(join(WASM_CACHE, entry), { recursive: true, force: true });
      }
    }
  }

  // A client with its workload certificate, as a meshed client's sidecar presents it.
  const client = (port: number, pair: CertPair) => new Kafka({
    clientId: "istio-test", brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING,
    ssl: { ca: [readFileSync(certs.ca)], cert: readFileSync(pair.cert), key: readFileSync(pair.key), servername: "localhost" },
  });
  const producer = (port: number, pair: CertPair) =>
    client(port, pair).producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });

  test("Istio's validation accepts the rendered WasmPlugin and the broker's configs, and refuses a broken WasmPlugin", () => {
    const plugin = renderWasmPlugin(dir, image, 9092, digest.slice(7));
    const file = join(dir, "validate.yaml");
    writeFileSync(file, yamlDocs([plugin, ...brokerConfigs(9092, 9093), ...clientConfigs(9092, 9093)]));
    const ok = istioValidate(file);
    assert.ok(ok.ok, ok.output);
    assert.match(ok.output, /^valid WasmPlugin kafka\/kafka-proxy$/m);
    assert.match(ok.output, /^valid Sidecar kafka\/kafka$/m);
    assert.match(ok.output, /^valid PeerAuthentication kafka\/kafka$/m);
    assert.match(ok.output, /^valid ServiceEntry shop\/kafka$/m);
    assert.match(ok.output, /^valid Sidecar shop\/orders$/m);
    // The same validation refuses what istiod's webhook would.
    writeFileSync(file, yamlDocs([{ ...plugin, spec: { ...plugin.spec, sha256: "not-a-digest" } }]));
    const bad = istioValidate(file);
    assert.equal(bad.ok, false, bad.output);
    assert.match(bad.output, /sha256/);
  });

  test("broker inbound (mode SERVER): the agent pulls the image, Envoy runs the filter from the local file, mTLS principals are authorized", { timeout: 300_000 }, async () => {
    let rendered: any;
    await withBed("server", (port) => (rendered = renderWasmPlugin(dir, image, port, digest.slice(7))), async ({ port, kafka }) => {
      // Istio's translation: the WasmPlugin is served as a TrafficExtension, whose ECDS name
      // Envoy's listener on the Sidecar's ingress port refers to.
      const ecdsName = "extensions.istio.io/trafficextension/kafka.kafka-proxy~istio-translated-wasmplugin";
      let dump: any;
      await waitFor("the Istio-built listener with its ECDS filter", async () => {
        dump = await envoyConfigDump();
        return listener(dump, port) !== undefined && ecdsFilters(dump).has(ecdsName);
      }, 60_000);
      const chains = listener(dump, port).filter_chains;
      const names = chains.flatMap((c: any) => c.filters.map((f: any) => f.name));
      assert.ok(names.includes(ecdsName), `listener filters: ${names}`);
      assert.ok(chains.every((c: any) => c.transport_socket?.name === "envoy.transport_sockets.tls"), "STRICT mTLS: TLS on every chain");
      // The agent rewrote the remote (OCI) code source into a local file it fetched.
      const wasm = ecdsFilters(dump).get(ecdsName);
      assert.equal(wasm["@type"], "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm");
      assert.equal(wasm.config.name, "kafka.kafka-proxy~istio-translated-wasmplugin");
      assert.equal(wasm.config.root_id, "kafka_proxy");
      assert.equal(wasm.config.failure_policy, "FAIL_CLOSED");
      const code = wasm.config.vm_config.code;
      assert.equal(code.remote, undefined, "no remote source left for Envoy");
      const file = code.local.filename;
      assert.match(file, /^\/var\/lib\/istio\/data\//);
      assert.ok(readFileSync(file).equals(readFileSync(WASM)), "the fetched file is the built module");
      // The WasmPlugin's pluginConfig (the policy's filter section), as the filter's JSON configuration.
      assert.deepEqual(JSON.parse(wasm.config.configuration.value), rendered.spec.pluginConfig);
      const metrics = await agentMetrics();
      assert.equal(counter(metrics, "istio_agent_wasm_remote_fetch_count", "success"), 1, metrics);
      assert.equal(counter(metrics, "istio_agent_wasm_config_conversion_count", "success") >= 1, true);

      // Kafka through the Istio-built inbound listener: the principals are the clients'
      // SPIFFE ids from their certificates.
      await createTopics(kafka, ["orders"]);
      const writer = producer(port, certs.client("writer", WRITER));
      await writer.connect();
      await writer.send({ topic: "orders", messages: [{ key: "k", value: "through istio" }] });
      await writer.disconnect();
      const refused = producer(port, certs.client("reader", READER));
      await refused.connect();
      await assert.rejects(refused.send({ topic: "orders", messages: [{ value: "refused" }] }),
        refusedWith29);
      await refused.disconnect();
      assert.equal(await brokerOffset(kafka, "orders"), 1, "the refused record never reached the broker");
      const stats = await envoyStats("kafka_proxy");
      assert.ok((stats.get("wasmcustom.kafka_proxy.authz.entries_denied") ?? 0) >= 1, JSON.stringify([...stats]));
      assert.ok((stats.get("wasmcustom.kafka_proxy.requests.api.Produce.v.7") ?? 0) >= 2, JSON.stringify([...stats]));
    });
  });

  test("failStrategy FAIL_CLOSE: an image whose digest does not match is not run, and traffic is refused, not passed", { timeout: 300_000 }, async () => {
    const wrong = "0".repeat(64);
    await withBed("fail-close", (port) => renderWasmPlugin(dir, image, port, wrong), async ({ port, kafka }) => {
      const ecdsName = "extensions.istio.io/trafficextension/kafka.kafka-proxy~istio-translated-wasmplugin";
      let dump: any;
      await waitFor("the Istio-built listener with its ECDS filter", async () => {
        dump = await envoyConfigDump();
        return listener(dump, port) !== undefined && ecdsFilters(dump).has(ecdsName);
      }, 60_000);
      // In the Wasm filter's place the agent put a deny-all RBAC filter (FAIL_CLOSE).
      const filter = ecdsFilters(dump).get(ecdsName);
      assert.equal(filter["@type"], "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC", JSON.stringify(filter));
      assert.equal(filter.stat_prefix, "wasm-default-deny");
      const metrics = await agentMetrics();
      assert.equal(counter(metrics, "istio_agent_wasm_remote_fetch_count", "success"), 0, metrics);
      assert.ok(counter(metrics, "istio_agent_wasm_remote_fetch_count", "checksum_mismatched") >= 1, metrics);
      assert.ok(counter(metrics, "istio_agent_wasm_config_conversion_count", "fetch_failure") >= 1, metrics);
      await createTopics(kafka, ["orders"]);
      const writer = producer(port, certs.client("writer-closed", WRITER));
      await assert.rejects(async () => {
        await writer.connect();
        await writer.send({ topic: "orders", messages: [{ value: "must not pass" }] });
      });
      await writer.disconnect();
      assert.equal(await brokerOffset(kafka, "orders"), 0, "nothing reached the broker");
      const denied = [...(await envoyStats("wasm-default-deny"))].filter(([k]) => k.endsWith("denied"));
      assert.ok(denied.some(([, v]) => v >= 1), JSON.stringify(denied));
    });
  });
  // envoy.connectionLimits under Istio: render-istio adds an EnvoyFilter on the WasmPlugin's
  // workload and port. Istio's validation takes it, Istio's discovery server applies it to the
  // listener it builds for the Sidecar's ingress port (Envoy accepts the result: it is in its
  // config dump), the limits come first in the chain, before the Wasm filter, and Envoy refuses
  // the connection past `max` while those within it reach the broker through the filter.
  test("envoy.connectionLimits: render-istio's EnvoyFilter puts connection_limit and local_ratelimit first on the Kafka chain, which refuses the connection past max", { timeout: 300_000 }, async () => {
    let limits: any;
    const render = (port: number) => {
      const policy = JSON.parse(readFileSync(POLICY, "utf8"));
      policy.istio = { ...policy.istio, namespace: BROKER.namespace, selector: BROKER.labels, image, ports: [port] };
      policy.envoy = { ...policy.envoy, connectionLimits: { max: 2, perSecond: 50 } };
      const file = join(dir, "policy-limits.json");
      writeFileSync(file, JSON.stringify(policy));
      const docs = parseAllDocuments(cli(["render-istio", "--policy", file, "--sha256", digest.slice(7)])).map((d) => d.toJS());
      assert.deepEqual(docs.map((d) => d.kind), ["WasmPlugin", "EnvoyFilter"]);
      limits = docs[1];
      return docs[0];
    };
    await withBed("limits", render, async ({ port }) => {
      const file = join(dir, "limits", "envoyfilter.yaml");
      writeFileSync(file, stringify(limits));
      const valid = istioValidate(file);
      assert.ok(valid.ok, valid.output);
      assert.match(valid.output, /^valid EnvoyFilter kafka\/kafka-proxy-connection-limits$/m);
      const ecdsName = "extensions.istio.io/trafficextension/kafka.kafka-proxy~istio-translated-wasmplugin";
      let names: string[] = [];
      await waitFor("the Istio-built listener with the limits and the ECDS filter", async () => {
        const dump = await envoyConfigDump();
        const l = listener(dump, port);
        names = l === undefined ? [] : l.filter_chains[0].filters.map((f: any) => f.name);
        return names.includes(ecdsName) && names.includes("envoy.filters.network.connection_limit");
      }, 60_000);
      assert.deepEqual(names.slice(0, 2), ["envoy.filters.network.local_ratelimit", "envoy.filters.network.connection_limit"], `listener filters: ${names}`);
      assert.ok(names.indexOf(ecdsName) > 1, `listener filters: ${names}`);
      // mTLS connections with a workload certificate, each asking ApiVersions v0 through the
      // filter: two are answered, the third is closed by Envoy.
      const pair = certs.client("limits", WRITER);
      const open = () => new Promise<{ socket: tls.TLSSocket; answered: boolean }>((resolve) => {
        const socket = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca: readFileSync(certs.ca), cert: readFileSync(pair.cert), key: readFileSync(pair.key) });
        let got = Buffer.alloc(0);
        const done = (answered: boolean) => resolve({ socket, answered });
        socket.once("secureConnect", () => socket.write(requestFrame(18, 0, 1, "limits")));
        socket.on("data", (d) => {
          got = Buffer.concat([got, d]);
          if (got.length >= 4 && got.length >= got.readInt32BE(0) + 4) done(true);
        });
        socket.once("close", () => done(false));
        socket.once("error", () => done(false));
        setTimeout(() => done(false), 10_000);
      });
      const first = await open();
      const second = await open();
      const third = await open();
      for (const c of [first, second, third]) c.socket.destroy();
      assert.deepEqual([first.answered, second.answered, third.answered], [true, true, false]);
      // The filter saw the two requests, not the third. (Istio's bootstrap keeps only the stats
      // its stats_matcher names: connection_limit's counters need the workload's
      // proxyStatsMatcher, inclusionPrefixes connection_limit and local_rate_limit.)
      const stats = await envoyStats("kafka_proxy.client_requests");
      assert.equal(stats.get("wasmcustom.kafka_proxy.client_requests.client.limits"), 2, JSON.stringify([...stats]));
    }, BROKER, (p, brokerPort) => [...brokerConfigs(p, brokerPort), limits]);
  });

  // The CLI renders mode SERVER (the broker's sidecar) unless the policy's istio.mode says CLIENT,
  // the client's sidecar on outbound. There the application talks plaintext to its own sidecar, so
  // no certificate names it: the principal is the SASL user the broker accepted.
  test("client outbound (istio.mode CLIENT): the filter authorizes and rewrites on the listener Istio builds for the broker's ServiceEntry", { timeout: 300_000 }, async () => {
    const filter = {
      principal_sources: ["sasl"],
      acls: { rules: [{ principal: "User:alice", permission: "allow", resource: "topic", name: "orders", operations: ["write"] }] },
      // alice's names get her tenant prefix on the way to the broker (ACLs are on her names).
      rewrite: { tenants: [{ principal: "User:alice", prefix: "tenantA." }] },
    };
    const plugin = (port: number) => {
      const p = renderWasmPlugin(dir, image, port, digest.slice(7), CLIENT, filter, "CLIENT");
      assert.deepEqual(p.spec.match, [{ mode: "CLIENT", ports: [{ number: port }] }]);
      return p;
    };
    const kafkaOptions: KafkaOptions = {
      props: {
        "listener.security.protocol.map": "PROXIED:SASL_PLAINTEXT,DIRECT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.proxied.plain.sasl.jaas.config":
          'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-pw" user_mallory="mallory-pw";',
      },
    };
    await withBed("client", plugin, async ({ port, kafka }) => {
      const ecdsName = "extensions.istio.io/trafficextension/shop.kafka-proxy~istio-translated-wasmplugin";
      let dump: any;
      await waitFor("the Istio-built egress listener with its ECDS filter", async () => {
        dump = await envoyConfigDump();
        return listener(dump, port) !== undefined && ecdsFilters(dump).has(ecdsName);
      }, 60_000);
      const l = listener(dump, port);
      assert.equal(l.traffic_direction, "OUTBOUND");
      const names = l.filter_chains.flatMap((c: any) => c.filters.map((f: any) => f.name));
      assert.ok(names.includes(ecdsName), `listener filters: ${names}`);
      const wasm = ecdsFilters(dump).get(ecdsName);
      assert.equal(wasm["@type"], "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm", JSON.stringify(wasm));
      assert.match(wasm.config.vm_config.code.local.filename, /^\/var\/lib\/istio\/data\//);
      assert.equal(counter(await agentMetrics(), "istio_agent_wasm_remote_fetch_count", "success"), 1);

      await createTopics(kafka, ["tenantA.orders"]);
      const sasl = (username: string) => new Kafka({
        clientId: "istio-client", brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 0 },
        sasl: { mechanism: "plain", username, password: `${username}-pw` },
      }).producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });
      const alice = sasl("alice");
      await alice.connect();
      await alice.send({ topic: "orders", messages: [{ value: "from alice, out through the sidecar" }] });
      await alice.disconnect();
      const mallory = sasl("mallory");
      await mallory.connect();
      await assert.rejects(mallory.send({ topic: "orders", messages: [{ value: "refused" }] }),
        refusedWith29);
      await mallory.disconnect();
      // alice's `orders` is the broker's `tenantA.orders`; mallory's refused record went nowhere.
      assert.equal(await brokerOffset(kafka, "tenantA.orders"), 1);
      const stats = await envoyStats("kafka_proxy");
      assert.ok((stats.get("wasmcustom.kafka_proxy.authz.entries_denied") ?? 0) >= 1, JSON.stringify([...stats]));
      assert.ok((stats.get("wasmcustom.kafka_proxy.rewrite.names_renamed") ?? 0) >= 1, JSON.stringify([...stats]));
    }, CLIENT, clientConfigs, kafkaOptions);
  });
});
