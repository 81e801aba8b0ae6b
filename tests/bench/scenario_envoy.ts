// Envoy in front of the broker for one scenario. A filter configuration that Envoy refuses (for
// instance a key this build of the module does not know yet) makes that scenario "not
// available" with Envoy's own reason, instead of failing the whole run. The baseline (plain
// tcp_proxy) has no such excuse: its failure is the run's.
import { readFileSync } from "node:fs";
import { startEnvoy, Envoy } from "../harness/envoy.ts";

export type ScenarioEnvoy = { envoy: Envoy } | { unavailable: string };

// The first error Envoy logged before exiting, without its timestamp/thread/source prefix
// ("[time][pid][error][wasm] [source/...cc:1157] wasm log kafka_proxy: rejected configuration:
// unknown config key 'x'" gives "rejected configuration: unknown config key 'x'").
export function refusalReason(startError: string): string {
  const line = startError.split("\n").find((l) => /\]\[(error|critical)\]/.test(l));
  if (line === undefined) return startError.split("\n")[0];
  return line.replace(/^(\[[^\]]*\])+\s*(\[[^\]]*\]\s*)?/, "").replace(/^wasm log [^:]*: /, "").trim();
}

// Every scenario's Envoy listens on the port the broker advertises; another process on the
// machine may hold it for a moment between scenarios, so a failed bind is retried.
// `concurrency`: Envoy's workers when not the tests' default (the memory scenario wants one VM);
// `maxUpstreamConnections`: past Envoy's default circuit breaker of 1024 (the memory scenario's
// thousands of idle connections).
// `wasmPath`: another module than the filter's (the no-op baseline).
export async function startScenarioEnvoy(dir: string, filter: object | null, listenPort: number, upstreamPort: number,
  concurrency?: number, maxUpstreamConnections?: number, wasmPath?: string): Promise<ScenarioEnvoy> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { envoy: await startEnvoy(dir, { listenPort, upstreamPort, filterConfig: filter, concurrency, maxUpstreamConnections, wasmPath }) };
    } catch (err) {
      if (/Address already in use/.test(String(err)) && attempt < 10) {
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (filter === null) throw err;
      return { unavailable: refusalReason(String(err)) };
    }
  }
}

// Envoy's CPU seconds so far, user and user + system (/proc/<pid>/stat, in clock ticks of
// 1/100 s). User time holds the module and Envoy's side of its host calls; system time is the
// sockets' work, which a filter changes only through how the bytes are read and written.
export function cpuSeconds(envoy: Envoy | null): { user: number; total: number } {
  if (envoy === null) return { user: 0, total: 0 };
  const fields = readFileSync(`/proc/${envoy.service.pid}/stat`, "utf8").split(") ")[1].split(" ");
  return { user: Number(fields[11]) / 100, total: (Number(fields[11]) + Number(fields[12])) / 100 };
}
