// Istio's own code outside Kubernetes, for tests/e2e/istio.test.ts: the Go binaries that
// scripts/setup.sh builds into .tools/istio from the istio.io/istio module pinned in
// istio/xds/go.mod:
//   istio-xds    istio/xds/main.go: Istio's config validation, and Istio's in-process discovery
//                server (pilot/test/xds NewFakeDiscoveryServer) serving configs over plaintext xDS
//   pilot-agent  Istio's sidecar agent (pilot/cmd/pilot-agent), which starts the project's Envoy,
//                proxies xDS, serves workload certificates over SDS and fetches Wasm modules
// Both bind Istio's fixed ports on loopback (xDS 15010; Envoy admin 15000, agent 15020,
// health 15021, Envoy Prometheus 15090), so one Istio test bed runs at a time.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { ENVOY_BIN, ROOT } from "./paths.ts";
import { Service, portOpen, waitFor } from "./process.ts";
import { STATS_SETTLE_MS } from "./envoy.ts";

export const ISTIO_DIR = join(ROOT, ".tools/istio");
export const ISTIO_XDS = join(ISTIO_DIR, "istio-xds");
export const PILOT_AGENT = join(ISTIO_DIR, "pilot-agent");
// Istio's sidecar bootstrap template (tools/packaging/common/envoy_bootstrap.json in the module).
export const BOOTSTRAP_TEMPLATE = join(ISTIO_DIR, "envoy_bootstrap_tmpl.json");
export const WASM_CACHE = "/var/lib/istio/data";
export const XDS_ADDRESS = "127.0.0.1:15010";
export const ENVOY_ADMIN = "http://127.0.0.1:15000";
export const AGENT_STATUS = "http://127.0.0.1:15020";
// The istio.io/istio pseudo-version the binaries are built from.
export const ISTIO_VERSION = /istio\.io\/istio (\S+)/.exec(readFileSync(join(ROOT, "istio/xds/go.mod"), "utf8"))?.[1] ?? "unknown";

// Istio's features read by the discovery server (not by the agent): stock Envoy has neither
// Istio's metadata exchange filter (with it on, Envoy rejects every cluster Istio sends:
// "Didn't find a registered implementation for 'istio.metadata_exchange'") nor its ALPN
// override HTTP filter (these TCP-only configs do not use it; off for any HTTP port).
const PILOT_ENV = { PILOT_ENABLE_METADATA_EXCHANGE: "false", PILOT_ENABLE_ALPN_FILTER: "false" };

export function requireIstio(): void {
  for (const p of [ISTIO_XDS, PILOT_AGENT, BOOTSTRAP_TEMPLATE]) {
    if (!existsSync(p)) throw new Error(`${p} is missing: run \`npm run setup\` first`);
  }
}

// Istio's validation (what istiod's admission webhook runs) on a file of configs.
export function istioValidate(file: string): { ok: boolean; output: string } {
  const r = spawnSync(ISTIO_XDS, ["validate", file], { encoding: "utf8", env: { ...process.env, ...PILOT_ENV } });
  return { ok: r.status === 0, output: r.stdout + r.stderr };
}

export async function startIstioXds(dir: string, configFile: string): Promise<Service> {
  if (await portOpen(15010)) throw new Error(`${XDS_ADDRESS} is taken: another Istio test bed runs`);
  const service = new Service("istio-xds", join(dir, "istio-xds.log"), ISTIO_XDS,
    ["serve", "--config", configFile, "--listen", XDS_ADDRESS], PILOT_ENV);
  await waitFor("Istio's discovery server", async () => /^ready /m.test(service.log()), 120_000, service);
  return service;
}

export interface Workload {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  // Workload certificate files (PEM): Istio's file-mounted credentials, served over SDS.
  certs: { cert: string; key: string; root: string };
  // Registries the agent may pull from over plain HTTP.
  insecureRegistries: string[];
}

// pilot-agent as a sidecar outside Kubernetes, in `dir` (its working directory holds
// ./etc/istio/proxy, ./var/lib/istio/envoy and ./var/run/secrets/workload-spiffe-credentials),
// started with the project's Envoy; resolves once Envoy's admin answers.
export async function startPilotAgent(dir: string, w: Workload): Promise<Service> {
  const creds = join(dir, "var/run/secrets/workload-spiffe-credentials");
  mkdirSync(creds, { recursive: true });
  copyFileSync(w.certs.cert, join(creds, "cert-chain.pem"));
  copyFileSync(w.certs.key, join(creds, "key.pem"));
  copyFileSync(w.certs.root, join(creds, "root-cert.pem"));
  mkdirSync(join(dir, "var/lib/istio/envoy"), { recursive: true });
  copyFileSync(BOOTSTRAP_TEMPLATE, join(dir, "var/lib/istio/envoy/envoy_bootstrap_tmpl.json"));
  mkdirSync(join(dir, "etc/istio/proxy"), { recursive: true });
  // The agent's Wasm module cache: a fixed path (constants.IstioDataDir) that Istio's proxy
  // image ships and the agent does not create.
  mkdirSync(WASM_CACHE, { recursive: true });
  const proxyConfig = {
    discoveryAddress: XDS_ADDRESS,
    controlPlaneAuthPolicy: "NONE",
    binaryPath: ENVOY_BIN,
    configPath: join(dir, "etc/istio/proxy"),
    concurrency: 2,
    drainDuration: "1s",
    terminationDrainDuration: "1s",
  };
  writeFileSync(join(dir, "proxy-config.json"), JSON.stringify(proxyConfig));
  for (const port of [15000, 15020, 15021, 15090]) {
    if (await portOpen(port)) throw new Error(`port ${port} is taken: another Istio sidecar runs`);
  }
  const service = new Service("pilot-agent", join(dir, "pilot-agent.log"), "/usr/bin/env",
    ["-C", dir, PILOT_AGENT, "proxy", "sidecar", "--log_output_level=default:info,wasm:debug"], {
      PROXY_CONFIG: JSON.stringify(proxyConfig),
      POD_NAME: w.name,
      POD_NAMESPACE: w.namespace,
      INSTANCE_IP: "127.0.0.1",
      SERVICE_ACCOUNT: w.name,
      ISTIO_META_INTERCEPTION_MODE: "NONE",
      ISTIO_METAJSON_LABELS: JSON.stringify(w.labels),
      WASM_INSECURE_REGISTRIES: w.insecureRegistries.join(","),
    });
  await waitFor("Envoy's admin under pilot-agent", async () => (await fetch(`${ENVOY_ADMIN}/ready`)).ok, 60_000, service);
  return service;
}

export async function envoyConfigDump(): Promise<any> {
  return (await fetch(`${ENVOY_ADMIN}/config_dump`)).json();
}

// Envoy's counters whose names contain `filter`, from its admin.
export async function envoyStats(filter: string): Promise<Map<string, number>> {
  await new Promise((r) => setTimeout(r, STATS_SETTLE_MS));
  const text = await (await fetch(`${ENVOY_ADMIN}/stats?filter=${encodeURIComponent(filter)}`)).text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(\S+): (-?\d+)$/.exec(line.trim());
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

// The agent's own metrics (istio_agent_*), from its merged Prometheus endpoint.
export async function agentMetrics(): Promise<string> {
  return (await fetch(`${AGENT_STATUS}/stats/prometheus`)).text();
}
