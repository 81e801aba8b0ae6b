// What the CLI renders from a policy: an Envoy static config (the filter in front of one
// upstream, or with `envoy.gateway` in front of a multi-broker cluster; Prometheus tag rules
// included) and an Istio WasmPlugin of type NETWORK.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import type { Gateway, Policy } from "./policy.ts";
import { l4Filters } from "./l4_limits.ts";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const address = (e: { address: string; port: number }) => ({ socket_address: { address: e.address, port_value: e.port } });

// The kafka_proxy Wasm network filter (also what the test harness puts in its Envoy configs).
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

// Downstream mTLS: the filter reads the peer certificate's URI SAN / subject from the
// connection's properties.
export function mtlsTransportSocket(tls: { cert: string; key: string; ca: string }): object {
  return {
    name: "envoy.transport_sockets.tls",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
      require_client_certificate: true,
      common_tls_context: {
        tls_certificates: [{ certificate_chain: { filename: tls.cert }, private_key: { filename: tls.key } }],
        validation_context: { trusted_ca: { filename: tls.ca } },
      },
    },
  };
}

export function envoyConfig(p: Policy): object {
  if (p.envoy.gateway) return gatewayConfig(p, p.envoy.gateway);
  const chain: Record<string, unknown> = {
    filters: [
      ...l4Filters(p.envoy.connectionLimits, p.name),
      wasmFilter(p.filter, p.envoy.wasm, p.envoy.failurePolicy),
      {
        name: "envoy.filters.network.tcp_proxy",
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
          stat_prefix: p.name,
          cluster: "kafka_broker",
        },
      },
    ],
  };
  if (p.envoy.tls) chain.transport_socket = mtlsTransportSocket(p.envoy.tls);
  const upstreamIsIp = /^[\d.]+$/.test(p.envoy.upstream.address);
  return {
    stats_config: { stats_tags: JSON.parse(readFileSync(join(ROOT, "envoy-config/kafka-stats-tags.json"), "utf8")) },
    admin: { address: address(p.envoy.admin) },
    static_resources: {
      listeners: [{ name: p.name, address: address(p.envoy.listen), filter_chains: [chain] }],
      clusters: [{
        name: "kafka_broker",
        connect_timeout: "5s",
        type: upstreamIsIp ? "STATIC" : "STRICT_DNS",
        load_assignment: {
          cluster_name: "kafka_broker",
          endpoints: [{ lb_endpoints: [{ endpoint: { address: address(p.envoy.upstream) } }] }],
        },
      }],
    },
  };
}

const isIp = (a: string) => /^[\d.]+$/.test(a) || a.includes(":");

function cluster(name: string, endpoints: { address: string; port: number }[]): object {
  return {
    name,
    connect_timeout: "5s",
    type: endpoints.every((e) => isIp(e.address)) ? "STATIC" : "STRICT_DNS",
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: endpoints.map((e) => ({ endpoint: { address: address(e) } })) }] },
  };
}

// The filter's `gateway` rule: where clients reach broker N through this Envoy.
export function gatewayRule(g: Gateway): Record<string, unknown> {
  if (g.mode === "port_base") return { host: g.host, port_base: g.portBase };
  if (g.mode === "sni") return { sni_domain: g.sni!.domain, port: g.sni!.port };
  return { brokers: Object.fromEntries(g.brokers.map((b) => [String(b.id), `${g.host}:${g.ports![b.id]}`])) };
}

// Envoy as the gateway of a multi-broker cluster: a bootstrap listener (or SNI name) whose
// upstream is any broker, and one listener (or SNI filter chain) per broker whose upstream is
// that broker alone; every chain runs the filter with the `gateway` rule, which readdresses the
// brokers responses name to these listeners, so clients never leave the gateway.
function gatewayConfig(p: Policy, g: Gateway): object {
  const filterConfig = { ...p.filter, gateway: gatewayRule(g) };
  const chain = (cluster: string, stat: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    ...extra,
    filters: [
      ...l4Filters(p.envoy.connectionLimits, stat),
      wasmFilter(filterConfig, p.envoy.wasm, p.envoy.failurePolicy),
      {
        name: "envoy.filters.network.tcp_proxy",
        typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: stat, cluster },
      },
    ],
  });
  const bootstrapEndpoints = g.upstreamGiven ? [p.envoy.upstream] : g.brokers;
  const clusters = [cluster("kafka_bootstrap", bootstrapEndpoints), ...g.brokers.map((b) => cluster(`kafka_broker_${b.id}`, [b]))];
  const listeners: object[] = [];
  if (g.mode === "sni") {
    const sni = g.sni!;
    const tls = (): object => ({
      name: "envoy.transport_sockets.tls",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        ...(sni.ca ? { require_client_certificate: true } : {}),
        common_tls_context: {
          tls_certificates: [{ certificate_chain: { filename: sni.cert }, private_key: { filename: sni.key } }],
          ...(sni.ca ? { validation_context: { trusted_ca: { filename: sni.ca } } } : {}),
        },
      },
    });
    const named = (server: string, cluster: string, stat: string) =>
      chain(cluster, stat, { filter_chain_match: { server_names: [server] }, transport_socket: tls() });
    listeners.push({
      name: `${p.name}-sni`,
      address: address({ address: g.bind, port: sni.port }),
      listener_filters: [{
        name: "envoy.filters.listener.tls_inspector",
        typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector" },
      }],
      filter_chains: [
        named(`bootstrap.${sni.domain}`, "kafka_bootstrap", `${p.name}-bootstrap`),
        ...g.brokers.map((b) => named(`broker-${b.id}.${sni.domain}`, `kafka_broker_${b.id}`, `${p.name}-broker-${b.id}`)),
      ],
    });
  } else {
    const withTls = (c: Record<string, unknown>) => (p.envoy.tls ? { ...c, transport_socket: mtlsTransportSocket(p.envoy.tls) } : c);
    listeners.push({ name: p.name, address: address(p.envoy.listen), filter_chains: [withTls(chain("kafka_bootstrap", `${p.name}-bootstrap`))] });
    for (const b of g.brokers) {
      const port = g.mode === "port_base" ? g.portBase! + b.id : g.ports![b.id];
      listeners.push({
        name: `${p.name}-broker-${b.id}`,
        address: address({ address: g.bind, port }),
        filter_chains: [withTls(chain(`kafka_broker_${b.id}`, `${p.name}-broker-${b.id}`))],
      });
    }
  }
  return {
    stats_config: { stats_tags: JSON.parse(readFileSync(join(ROOT, "envoy-config/kafka-stats-tags.json"), "utf8")) },
    admin: { address: address(p.envoy.admin) },
    static_resources: { listeners, clusters },
  };
}

// `sha256` is the image manifest's digest (hex), which istio-agent checks the pulled image
// against; without it the plugin is pinned by tag only.
export function wasmPlugin(p: Policy, sha256?: string): object {
  const spec: Record<string, unknown> = {
    selector: { matchLabels: p.istio.selector },
    url: `oci://${p.istio.image}`,
  };
  if (sha256) spec.sha256 = sha256;
  Object.assign(spec, {
    imagePullPolicy: "IfNotPresent",
    pluginName: "kafka_proxy",
    type: "NETWORK",
    phase: "AUTHZ",
    failStrategy: p.istio.failStrategy,
    pluginConfig: p.filter,
    match: [{ mode: p.istio.mode, ports: p.istio.ports.map((number) => ({ number })) }],
  });
  return {
    apiVersion: "extensions.istio.io/v1alpha1",
    kind: "WasmPlugin",
    metadata: { name: p.name, namespace: p.istio.namespace },
    spec,
  };
}

export function toYaml(header: string, doc: object): string {
  return header.split("\n").map((l) => `# ${l}`.trimEnd()).join("\n") + "\n" + stringify(doc, { lineWidth: 0 });
}
