// The one Envoy config builder: the kafka_proxy filter, the tcp_proxy behind it, listeners,
// clusters and the stats tag rules, spelled once. The CLI (../cli/render.ts: `render-envoy`),
// the example files (./examples.ts: envoy-config/), the test harness (tests/harness/envoy.ts),
// the demo and the bench all build their Envoy configs from these pieces.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../root.ts";

export interface Endpoint {
  address: string;
  port: number;
}

// Envoy's tag extraction rules that turn the filter's stat names into Prometheus labels; the
// same list stands in envoy-config/kafka-proxy.yaml (tests/e2e/envoy_config.test.ts checks).
export const STATS_TAGS: { tag_name: string; regex: string }[] = JSON.parse(
  readFileSync(join(ROOT, "envoy-config/kafka-stats-tags.json"), "utf8"));

export const address = (e: Endpoint) => ({ socket_address: { address: e.address, port_value: e.port } });

// An IPv4 or IPv6 literal: a cluster of those is STATIC, any name makes it STRICT_DNS.
export const isIp = (a: string) => /^[\d.]+$/.test(a) || a.includes(":");

// The kafka_proxy Wasm network filter.
export function wasmFilter(filterConfig: object, wasmPath: string, failurePolicy?: string): object {
  return {
    name: "envoy.filters.network.wasm",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm",
      config: {
        name: "kafka_proxy",
        root_id: "kafka_proxy",
        configuration: { "@type": "type.googleapis.com/google.protobuf.StringValue", value: JSON.stringify(filterConfig) },
        vm_config: { runtime: "envoy.wasm.runtime.v8", code: { local: { filename: wasmPath } } },
        ...(failurePolicy ? { failure_policy: failurePolicy } : {}),
      },
    },
  };
}

// Envoy's plain TCP proxy to `cluster`, the last filter of every chain.
export function tcpProxy(statPrefix: string, cluster: string): object {
  return {
    name: "envoy.filters.network.tcp_proxy",
    typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: statPrefix, cluster },
  };
}

// What a chain runs: the filter (null: plain tcp_proxy, the bench's and tests' baseline) in front
// of tcp_proxy.
export interface ChainFilter {
  config: object;
  wasm: string;
  failurePolicy?: string;
}

export function filters(filter: ChainFilter | null, statPrefix: string, cluster: string): object[] {
  return [...(filter ? [wasmFilter(filter.config, filter.wasm, filter.failurePolicy)] : []), tcpProxy(statPrefix, cluster)];
}

// Downstream TLS: `ca` set, clients must present a certificate it signs (mTLS: the filter reads
// the peer certificate's URI SAN / subject from the connection's properties).
export function downstreamTls(tls: { cert: string; key: string; ca?: string }): object {
  return {
    name: "envoy.transport_sockets.tls",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
      ...(tls.ca ? { require_client_certificate: true } : {}),
      common_tls_context: {
        tls_certificates: [{ certificate_chain: { filename: tls.cert }, private_key: { filename: tls.key } }],
        ...(tls.ca ? { validation_context: { trusted_ca: { filename: tls.ca } } } : {}),
      },
    },
  };
}

export function mtlsTransportSocket(tls: { cert: string; key: string; ca: string }): object {
  return downstreamTls(tls);
}

// A cluster of `endpoints`; `maxConnections`: its circuit breaker on connections (Envoy's
// default: 1024; tcp_proxy closes a client connection past it).
export function cluster(name: string, endpoints: Endpoint[], maxConnections?: number): object {
  return {
    name,
    connect_timeout: "5s",
    type: endpoints.every((e) => isIp(e.address)) ? "STATIC" : "STRICT_DNS",
    ...(maxConnections !== undefined
      ? { circuit_breakers: { thresholds: [{ max_connections: maxConnections, max_pending_requests: maxConnections }] } }
      : {}),
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: endpoints.map((e) => ({ endpoint: { address: address(e) } })) }] },
  };
}

// The static bootstrap around listeners and clusters. `statsFlushInterval`: histograms reach the
// admin endpoint at each flush (the tests use a short one).
export function bootstrap(b: { admin: Endpoint; listeners: object[]; clusters: object[]; statsFlushInterval?: string }): object {
  return {
    stats_config: { stats_tags: STATS_TAGS },
    ...(b.statsFlushInterval ? { stats_flush_interval: b.statsFlushInterval } : {}),
    admin: { address: address(b.admin) },
    static_resources: { listeners: b.listeners, clusters: b.clusters },
  };
}

// Envoy in front of one upstream: one listener, one chain (the filter, unless null, then
// tcp_proxy), one cluster `kafka_broker`. What `render-envoy` writes without a gateway, what
// the tests, the demo and the bench run, and envoy-config/demo.yaml and bench-*.yaml.
export interface SingleUpstream {
  name: string;
  listen: Endpoint;
  upstream: Endpoint;
  admin: Endpoint;
  filter: ChainFilter | null;
  tls?: { cert: string; key: string; ca: string };
  maxUpstreamConnections?: number;
  statsFlushInterval?: string;
  // Envoy's own network filters before the Wasm filter (the policy's connection limits).
  networkFilters?: object[];
}

export function singleUpstream(o: SingleUpstream): object {
  const chain: Record<string, unknown> = { filters: [...(o.networkFilters ?? []), ...filters(o.filter, o.name, "kafka_broker")] };
  if (o.tls) chain.transport_socket = mtlsTransportSocket(o.tls);
  return bootstrap({
    admin: o.admin,
    statsFlushInterval: o.statsFlushInterval,
    listeners: [{ name: o.name, address: address(o.listen), filter_chains: [chain] }],
    clusters: [cluster("kafka_broker", [o.upstream], o.maxUpstreamConnections)],
  });
}
