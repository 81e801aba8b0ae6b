// The Envoy configs the demo and the benchmark run, as the example files users copy: the same
// builder (tests/harness/envoy.ts) with fixed ports (clients on 127.0.0.1:19092, the broker on
// 9092, admin on 9901) and the module at dist/kafka_proxy.wasm. tests/e2e/envoy_config.test.ts
// checks that the files are current and that Envoy validates them.
//   npm run envoy-configs
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { ROOT } from "../harness/paths.ts";
import { envoyConfig } from "../harness/envoy.ts";
import { SCENARIOS } from "../bench/scenarios.ts";

export const LISTEN_PORT = 19092;
export const BROKER_PORT = 9092;
export const ADMIN_PORT = 9901;

// File name (in envoy-config/) -> the config it holds.
export function exampleConfigs(): Map<string, object> {
  const build = (filterConfig: object | null) => envoyConfig(
    { listenPort: LISTEN_PORT, upstreamPort: BROKER_PORT, filterConfig, wasmPath: "dist/kafka_proxy.wasm" }, ADMIN_PORT);
  const out = new Map<string, object>();
  out.set("demo.yaml", build(JSON.parse(readFileSync(join(ROOT, "examples/demo-filter.json"), "utf8"))));
  for (const s of SCENARIOS) {
    // The no-op baseline runs another module: not an example of the filter.
    if (s.envoy !== null && !s.baseline) out.set(`bench-${s.name.replace("+", "-")}.yaml`, build(s.envoy.filter));
  }
  return out;
}

export function render(name: string, config: object): string {
  const what = name === "demo.yaml" ? "the demo (npm run demo)" : `the benchmark's ${name.slice(6, -5)} scenario (npm run bench)`;
  return `# Envoy as ${what} runs it: clients on 127.0.0.1:${LISTEN_PORT}, the broker on 127.0.0.1:${BROKER_PORT}\n` +
    `# (advertising 127.0.0.1:${LISTEN_PORT}, so that clients stay on the proxy).\n` +
    `#   .tools/bin/envoy -c envoy-config/${name}   (from the repository root, after npm run build)\n` +
    `# Written by npm run envoy-configs from tests/harness/envoy.ts; a test keeps it current.\n` + stringify(config);
}

if (process.argv[1]?.endsWith("envoy_configs.ts")) {
  for (const [name, config] of exampleConfigs()) writeFileSync(join(ROOT, "envoy-config", name), render(name, config));
}
