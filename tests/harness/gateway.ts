// The gateway as the tests and the cluster demo run it: Envoy from the CLI's own rendering of
// a policy with `envoy.gateway`, and Envoy's per-broker connection counts.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parsePolicy } from "../../build/cli/policy.ts";
import { envoyConfig } from "../../build/cli/render.ts";
import { Cluster } from "./cluster.ts";
import { Envoy } from "./envoy.ts";
import { ENVOY_BIN } from "./paths.ts";
import { Service, freePort, portOpen, waitFor } from "./process.ts";

// A base port with base + id free for every broker id.
export async function freeBase(ids: number[]): Promise<number> {
  for (;;) {
    const base = (await freePort()) - 1;
    let free = base + Math.max(...ids) <= 65535;
    for (const id of ids) if (free && (await portOpen(base + id))) free = false;
    if (free) return base;
  }
}

// Envoy as `render-envoy` renders it from `policy`, up once `ports` accept connections.
export async function startRendered(dir: string, name: string, policy: object, ports: number[], admin: number): Promise<Envoy> {
  const config = { ...envoyConfig(parsePolicy(JSON.stringify(policy), `${name}.json`)), stats_flush_interval: "1s" };
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  const service = new Service("envoy", join(dir, `${name}.log`), ENVOY_BIN,
    ["-c", file, "--concurrency", "1", "--use-dynamic-base-id", "-l", "info"]);
  await waitFor(`${name}'s listeners`, async () => {
    for (const p of ports) if (!(await portOpen(p))) return false;
    return true;
  }, 30000, service);
  return new Envoy(service, admin, ports[0]);
}

// Per broker (by its CLIENT address), the connections Envoy opened to it, from any cluster
// (bootstrap or per-broker), failed ones not counted: Envoy's per-host counters (/clusters).
export async function envoyConnections(envoy: Envoy, cluster: Cluster): Promise<Map<number, number>> {
  const text = await (await fetch(`http://127.0.0.1:${envoy.adminPort}/clusters`)).text();
  const out = new Map<number, number>(cluster.brokers.map((b) => [b.id, 0]));
  for (const line of text.split("\n")) {
    const m = /^kafka_(?:bootstrap|broker_\d+)::127\.0\.0\.1:(\d+)::(cx_total|cx_connect_fail)::(\d+)$/.exec(line.trim());
    const b = m && cluster.brokers.find((x) => x.clientPort === Number(m[1]));
    if (!m || !b) continue;
    out.set(b.id, out.get(b.id)! + (m[2] === "cx_total" ? 1 : -1) * Number(m[3]));
  }
  return out;
}
