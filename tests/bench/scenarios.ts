// What the benchmark compares, one entry per way of reaching the broker. The filter's
// configurations allow everything the load does, so each adds only its stage's work.
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

import { join } from "node:path";
import { ROOT } from "../harness/paths.ts";

const same = (t: string) => t;

// The floor of any Proxy-Wasm network filter (noop_filter.ts, compiled by run.ts).
export const NOOP_WASM = join(ROOT, ".tmp/bench/noop_filter.wasm");

export const CLIENT_ID = "bench";

// ACLs allowing everything the load does.
const AUTHZ = {
  principal_sources: ["client_id"],
  acls: {
    rules: [
      { principal: `User:${CLIENT_ID}`, permission: "allow", resource: "topic", pattern: "prefixed", name: "bench", operations: ["write", "read"] },
      { principal: `User:${CLIENT_ID}`, permission: "allow", resource: "group", pattern: "prefixed", name: "bench", operations: ["read"] },
    ],
  },
};

export const SCENARIOS: Scenario[] = [
  { name: "direct", envoy: null, brokerTopic: same },
  { name: "tcp_proxy", envoy: { filter: null }, brokerTopic: same },
  // Envoy calling into a Wasm module that reads nothing on every data callback: what any
  // Proxy-Wasm network filter costs at least.
  { name: "wasm no-op", envoy: { filter: {}, wasm: NOOP_WASM }, baseline: true, brokerTopic: same },
  { name: "filter+metrics", envoy: { filter: {} }, brokerTopic: same },
  // With the default audit log (refusals and admin operations: none in this load).
  { name: "filter+authz", envoy: { filter: AUTHZ }, brokerTopic: same },
  // The same without any audit: the default audit's cost is the difference.
  { name: "filter+authz-noaudit", envoy: { filter: { ...AUTHZ, audit: false } }, fullOnly: true, brokerTopic: same },
  // Every request in the audit log (a request log), uncapped: what logging every request costs.
  {
    name: "filter+requestlog",
    envoy: { filter: { ...AUTHZ, audit: { requests: true, connections: true, max_events_per_second: 1000000 } } },
    fullOnly: true,
    brokerTopic: same,
  },
  {
    // Every kind of guardrail the load passes: the produce path reads each batch header (codec,
    // size, record count, timestamps) and decides a request only once it is all here.
    name: "filter+guardrails",
    envoy: {
      filter: {
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
    },
    brokerTopic: same,
  },
  {
    // Record validation on every bench topic: each produced record is read (from Envoy's buffer
    // by range) and walked (key, headers, size); the load's values are not JSON, so the JSON
    // checker's own cost is not in it. Produce requests are decided only once whole.
    name: "filter+validation",
    envoy: {
      filter: {
        validation: { rules: [{ name: "bench", topics: ["bench*"], key: "forbidden", max_headers: 0, max_record_bytes: 1048576 }] },
      },
    },
    fullOnly: true,
    brokerTopic: same,
  },
  {
    name: "filter+rewrite",
    envoy: { filter: { principal_sources: ["client_id"], rewrite: { tenants: [{ principal: `User:${CLIENT_ID}`, prefix: "tenant." }] } } },
    brokerTopic: (t) => `tenant.${t}`,
  },
];
