// Connection limits (L4) from the policy's `envoy.connectionLimits`, rendered as Envoy's own
// network filters ahead of the Wasm filter: `envoy.filters.network.local_ratelimit` (new
// connections per second, a token bucket; a connection without a token is closed at once) and
// `envoy.filters.network.connection_limit` (concurrent connections; past the limit a new one is
// closed). Envoy counts what they refuse: local_ratelimit.<prefix>.rate_limited and
// connection_limit.<prefix>.limited_connections (and .active_connections).
import { PolicyError } from "./policy.ts";

export interface ConnectionLimits {
  // Concurrent connections of the listener (filter chain).
  max?: number;
  // New connections per second, with bursts of up to `burst` (default: perSecond).
  perSecond?: number;
  burst?: number;
}

function count(o: Record<string, unknown>, k: string, file: string): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 1e9) {
    throw new PolicyError(`${file}: 'envoy.connectionLimits.${k}' must be a whole number from 1 to 1000000000`);
  }
  return v as number;
}

export function parseConnectionLimits(v: unknown, file: string): ConnectionLimits | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new PolicyError(`${file}: 'envoy.connectionLimits' must be an object`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!["max", "perSecond", "burst"].includes(k)) {
      throw new PolicyError(`${file}: unknown key 'envoy.connectionLimits.${k}' (expected one of max, perSecond, burst)`);
    }
  }
  const limits = { max: count(o, "max", file), perSecond: count(o, "perSecond", file), burst: count(o, "burst", file) };
  if (limits.max === undefined && limits.perSecond === undefined) {
    throw new PolicyError(`${file}: 'envoy.connectionLimits' needs max or perSecond`);
  }
  if (limits.burst !== undefined && limits.perSecond === undefined) {
    throw new PolicyError(`${file}: 'envoy.connectionLimits.burst' needs perSecond`);
  }
  return limits;
}

// The filters that go before the Wasm filter in a chain (none without limits); `statPrefix`
// names their stats.
export function l4Filters(limits: ConnectionLimits | undefined, statPrefix: string): object[] {
  const out: object[] = [];
  if (limits?.perSecond !== undefined) {
    out.push({
      name: "envoy.filters.network.local_ratelimit",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit",
        stat_prefix: statPrefix,
        token_bucket: { max_tokens: limits.burst ?? limits.perSecond, tokens_per_fill: limits.perSecond, fill_interval: "1s" },
      },
    });
  }
  if (limits?.max !== undefined) {
    out.push({
      name: "envoy.filters.network.connection_limit",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit",
        stat_prefix: statPrefix,
        max_connections: limits.max,
      },
    });
  }
  return out;
}

// The same filters for an Istio sidecar: an EnvoyFilter on the WasmPlugin's workload (its
// selector and namespace) that puts them first in the filter chain of each of its ports
// (inbound for mode SERVER, outbound for CLIENT), ahead of Istio's own filters and the Wasm
// filter, so a refused connection costs nothing more. Patches are applied in order, each
// INSERT_FIRST: in reverse, the chain reads as in l4Filters. None without limits.
export function istioLimitsFilter(name: string, namespace: string, selector: Record<string, string>,
  mode: "SERVER" | "CLIENT", ports: number[], limits: ConnectionLimits | undefined): object | null {
  const filters = l4Filters(limits, name);
  if (filters.length === 0) return null;
  const configPatches = ports.flatMap((portNumber) => [...filters].reverse().map((value) => ({
    applyTo: "NETWORK_FILTER",
    match: { context: mode === "SERVER" ? "SIDECAR_INBOUND" : "SIDECAR_OUTBOUND", listener: { portNumber } },
    patch: { operation: "INSERT_FIRST", value },
  })));
  return {
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "EnvoyFilter",
    metadata: { name: `${name}-connection-limits`, namespace },
    spec: { workloadSelector: { labels: selector }, configPatches },
  };
}
