// The Envoy configs the demo and the benchmark run, as the example files users copy in
// envoy-config/: the one builder (./bootstrap.ts, as the tests run it: listener and stat prefix
// "kafka", stats flushed every second) with fixed ports (clients on 127.0.0.1:19092, the broker
// on 9092, admin on 9901) and the module at dist/kafka_proxy.wasm. The bench's scenarios
// (tests/bench/scenarios.ts) run BENCH_FILTERS; tests/e2e/envoy_config.test.ts checks that the
// files are current and that Envoy validates them. envoy-config/kafka-gateway.yaml is
// `render-envoy --policy examples/gateway-policy.json`; kafka-proxy*.yaml are written by hand.
//   npm run envoy-configs
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { singleUpstream } from "./bootstrap.ts";
import { ROOT } from "../root.ts";

export const LISTEN_PORT = 19092;
export const BROKER_PORT = 9092;
export const ADMIN_PORT = 9901;

// The client id the bench's load uses (its principal: principal_sources client_id).
export const BENCH_CLIENT_ID = "bench";

// ACLs allowing everything the bench's load does.
const BENCH_AUTHZ = {
  principal_sources: ["client_id"],
  acls: {
    rules: [
      { principal: `User:${BENCH_CLIENT_ID}`, permission: "allow", resource: "topic", pattern: "prefixed", name: "bench", operations: ["write", "read"] },
      { principal: `User:${BENCH_CLIENT_ID}`, permission: "allow", resource: "group", pattern: "prefixed", name: "bench", operations: ["read"] },
    ],
  },
};

// The filter configuration of each bench scenario that runs the filter (null: plain tcp_proxy),
// by scenario name; each allows everything the load does, so each adds only its stage's work.
export const BENCH_FILTERS: Record<string, object | null> = {
  "tcp_proxy": null,
  "filter+metrics": {},
  // With the default audit log (refusals and admin operations: none in this load).
  "filter+authz": BENCH_AUTHZ,
  // The same without any audit: the default audit's cost is the difference.
  "filter+authz-noaudit": { ...BENCH_AUTHZ, audit: false },
  // The ACLs and a quota on every rate of the load's principal that it never reaches.
  "filter+authz+quotas": {
    ...BENCH_AUTHZ,
    quotas: {
      rules: [{
        name: "bench", principal: `User:${BENCH_CLIENT_ID}`, produce_bytes_per_second: 1e12, fetch_bytes_per_second: 1e12,
        requests_per_second: 1e9,
      }],
    },
  },
  // Every request in the audit log (a request log), uncapped: what logging every request costs.
  "filter+requestlog": { ...BENCH_AUTHZ, audit: { requests: true, connections: true, max_events_per_second: 1000000 } },
  // Every kind of guardrail the load passes: the produce path reads each batch header (codec,
  // size, record count, timestamps) and decides a request only once it is all here.
  "filter+guardrails": {
    principal_sources: ["client_id"],
    guardrails: [
      {
        name: "bench",
        topic_name_pattern: "bench[a-z0-9._-]*",
        partitions: { max: 64 },
        topic_configs: { ranges: { "retention.ms": { max: 604800000 } } },
        acks: ["all", 1],
        compression: ["none", "lz4", "zstd"],
        max_batch_bytes: 1048576,
        max_batch_records: 100000,
        timestamp_max_past_ms: 86400000,
        timestamp_max_future_ms: 3600000,
        client_id_required: true,
        client_id_pattern: "bench[a-z0-9-]*",
        group_id_pattern: "[a-z0-9._-]+",
        session_timeout_ms: { min: 1000, max: 300000 },
      },
    ],
  },
  // Record validation on every bench topic (key, headers, size of each record; not JSON).
  "filter+validation": {
    validation: { rules: [{ name: "bench", topics: ["bench*"], key: "forbidden", max_headers: 0, max_record_bytes: 1048576 }] },
  },
  // Record validation that reads every byte of every record: a key and a JSON object with an
  // `id` on the validation bench's topics (tests/bench/validation_bench.ts); zstd (not inflated
  // by the module) passed and counted.
  "filter+validation-json": {
    validation: {
      rules: [{
        name: "bench-json", topics: ["bench-json.*"], key: "required", json: true, json_object: true, json_fields: ["id"],
        max_record_bytes: 1048576, unsupported_compression: "pass",
      }],
    },
  },
  "filter+rewrite": { principal_sources: ["client_id"], rewrite: { tenants: [{ principal: `User:${BENCH_CLIENT_ID}`, prefix: "tenant." }] } },
};

// Envoy with the filter (null: without) on the examples' fixed ports.
function exampleConfig(filterConfig: object | null): object {
  const loopback = (port: number) => ({ address: "127.0.0.1", port });
  return singleUpstream({
    name: "kafka",
    listen: loopback(LISTEN_PORT),
    upstream: loopback(BROKER_PORT),
    admin: loopback(ADMIN_PORT),
    filter: filterConfig === null ? null : { config: filterConfig, wasm: "dist/kafka_proxy.wasm" },
    statsFlushInterval: "1s",
  });
}

// File name (in envoy-config/) -> the config it holds.
export function exampleConfigs(): Map<string, object> {
  const out = new Map<string, object>();
  out.set("demo.yaml", exampleConfig(JSON.parse(readFileSync(join(ROOT, "examples/demo-filter.json"), "utf8"))));
  for (const [name, filter] of Object.entries(BENCH_FILTERS)) out.set(`bench-${name.replaceAll("+", "-")}.yaml`, exampleConfig(filter));
  return out;
}

export function render(name: string, config: object): string {
  const what = name === "demo.yaml" ? "the demo (npm run demo)" : `the benchmark's ${name.slice(6, -5)} scenario (npm run bench)`;
  return `# Envoy as ${what} runs it: clients on 127.0.0.1:${LISTEN_PORT}, the broker on 127.0.0.1:${BROKER_PORT}\n` +
    `# (advertising 127.0.0.1:${LISTEN_PORT}, so that clients stay on the proxy).\n` +
    `#   .tools/bin/envoy -c envoy-config/${name}   (from the repository root, after npm run build)\n` +
    `# Written by npm run envoy-configs from build/envoy/examples.ts; a test keeps it current.\n` + stringify(config);
}

if (process.argv[1]?.endsWith("examples.ts")) {
  for (const [name, config] of exampleConfigs()) writeFileSync(join(ROOT, "envoy-config", name), render(name, config));
}
