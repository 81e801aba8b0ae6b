// What the benchmark compares, one entry per way of reaching the broker. The filter's
// configurations allow everything the load does, so each adds only its stage's work.
export interface Scenario {
  name: string;
  // null: the broker's own listener; otherwise Envoy with this filter configuration (null inside
  // `filter` means plain tcp_proxy without the filter).
  envoy: { filter: object | null } | null;
  // The broker's name for a topic the load calls `topic` (rewriting adds a prefix).
  brokerTopic(topic: string): string;
}

const same = (t: string) => t;

export const CLIENT_ID = "bench";

export const SCENARIOS: Scenario[] = [
  { name: "direct", envoy: null, brokerTopic: same },
  { name: "tcp_proxy", envoy: { filter: null }, brokerTopic: same },
  { name: "filter+metrics", envoy: { filter: {} }, brokerTopic: same },
  {
    name: "filter+authz",
    envoy: {
      filter: {
        principal_sources: ["client_id"],
        acls: {
          rules: [
            { principal: `User:${CLIENT_ID}`, permission: "allow", resource: "topic", pattern: "prefixed", name: "bench", operations: ["write", "read"] },
            { principal: `User:${CLIENT_ID}`, permission: "allow", resource: "group", pattern: "prefixed", name: "bench", operations: ["read"] },
          ],
        },
      },
    },
    brokerTopic: same,
  },
  {
    name: "filter+rewrite",
    envoy: { filter: { principal_sources: ["client_id"], rewrite: { tenants: [{ principal: `User:${CLIENT_ID}`, prefix: "tenant." }] } } },
    brokerTopic: (t) => `tenant.${t}`,
  },
];
