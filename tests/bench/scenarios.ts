// What the benchmark compares, one entry per way of reaching the broker. The filter's
// configurations (build/envoy/examples.ts: BENCH_FILTERS, also written to envoy-config/) allow
// everything the load does, so each adds only its stage's work.
export interface Scenario {
  name: string;
  // null: the broker's own listener; otherwise Envoy with this filter configuration (null inside
  // `filter` means plain tcp_proxy without the filter).
  envoy: { filter: object | null; wasm?: string } | null;
  // A yardstick, not the filter (its runs count in no goal of the filter's).
  baseline?: boolean;
  // Measured by the full bench only (`--quick` must stay within its time bound).
  fullOnly?: boolean;
  // The broker's name for a topic the load calls `topic` (rewriting adds a prefix).
  brokerTopic(topic: string): string;
}

import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../harness/paths.ts";
import { BENCH_CLIENT_ID, BENCH_FILTERS } from "../../build/envoy/examples.ts";

const same = (t: string) => t;

// The yardstick modules (compiled by buildBaselines): the floor of any Proxy-Wasm network filter
// (noop_filter.ts) and of any that finds Kafka's frames (framer_filter.ts).
export const NOOP_WASM = join(ROOT, ".tmp/bench/noop_filter.wasm");
export const FRAMER_WASM = join(ROOT, ".tmp/bench/framer_filter.wasm");
const BASELINE_SOURCES: Record<string, string> = {
  [NOOP_WASM]: "tests/bench/noop_filter.ts",
  [FRAMER_WASM]: "tests/bench/framer_filter.ts",
};

// Compiles a yardstick module: AssemblyScript's stub runtime (nothing is collected, so none of the
// filter's memory management is in its cost), with options of its own (baseline.asconfig.json): the
// project's asconfig.json would add the filter's entry to it.
export function compileYardstick(source: string, wasm: string): void {
  mkdirSync(join(ROOT, ".tmp/bench"), { recursive: true });
  const asc = spawnSync("npx", ["asc", source, "--config", "tests/bench/baseline.asconfig.json", "-o", wasm], { cwd: ROOT, encoding: "utf8" });
  if (asc.status !== 0) throw new Error(`asc ${source} failed:\n${asc.stderr}`);
}

// Compiles the yardstick modules these scenarios load.
export function buildBaselines(scenarios: Scenario[]): void {
  for (const s of scenarios) {
    if (s.envoy?.wasm !== undefined) compileYardstick(BASELINE_SOURCES[s.envoy.wasm], s.envoy.wasm);
  }
}

// The load's client id; the filter configurations (BENCH_FILTERS) grant it what the load does.
export const CLIENT_ID = BENCH_CLIENT_ID;

// A scenario's filter configuration: the one in envoy-config/bench-<name>.yaml too.
const filter = (name: string) => {
  if (!(name in BENCH_FILTERS)) throw new Error(`no BENCH_FILTERS entry for scenario ${name} (build/envoy/examples.ts)`);
  return BENCH_FILTERS[name];
};

export const SCENARIOS: Scenario[] = [
  { name: "direct", envoy: null, brokerTopic: same },
  { name: "tcp_proxy", envoy: { filter: filter("tcp_proxy") }, brokerTopic: same },
  // Envoy calling into a Wasm module that reads nothing on every data callback: what any
  // Proxy-Wasm network filter costs at least.
  { name: "wasm no-op", envoy: { filter: {}, wasm: NOOP_WASM }, baseline: true, brokerTopic: same },
  // Envoy calling into a Wasm module that reads each frame's start in both directions and does
  // nothing else: what any filter that parses Kafka costs at least in stock Envoy.
  { name: "wasm framer", envoy: { filter: {}, wasm: FRAMER_WASM }, baseline: true, fullOnly: true, brokerTopic: same },
  { name: "filter+metrics", envoy: { filter: filter("filter+metrics") }, brokerTopic: same },
  // With the default audit log (refusals and admin operations: none in this load).
  { name: "filter+authz", envoy: { filter: filter("filter+authz") }, brokerTopic: same },
  // The same without any audit: the default audit's cost is the difference.
  { name: "filter+authz-noaudit", envoy: { filter: filter("filter+authz-noaudit") }, fullOnly: true, brokerTopic: same },
  // The ACLs and a quota on every rate of the load's principal that it never reaches: the
  // quotas stage's accounting (the clock and the bucket's shared data per request; fetch
  // responses held whole to carry a throttle time) when nobody is over quota.
  { name: "filter+authz+quotas", envoy: { filter: filter("filter+authz+quotas") }, fullOnly: true, brokerTopic: same },
  // Every request in the audit log (a request log), uncapped: what logging every request costs.
  { name: "filter+requestlog", envoy: { filter: filter("filter+requestlog") }, fullOnly: true, brokerTopic: same },
  // Every kind of guardrail the load passes (the produce path reads each batch header).
  { name: "filter+guardrails", envoy: { filter: filter("filter+guardrails") }, brokerTopic: same },
  // Record validation on every bench topic: each produced record is read (from Envoy's buffer
  // by range) and walked (key, headers, size); the load's values are not JSON, so the JSON
  // checker's own cost is not in it. Produce requests are decided only once whole.
  { name: "filter+validation", envoy: { filter: filter("filter+validation") }, fullOnly: true, brokerTopic: same },
  { name: "filter+rewrite", envoy: { filter: filter("filter+rewrite") }, brokerTopic: (t) => `tenant.${t}` },
];
