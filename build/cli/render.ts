// What the CLI renders from a policy: an Envoy static config (the filter in front of one
// upstream, or with `envoy.gateway` in front of a multi-broker cluster; Prometheus tag rules
// included), built from ../envoy/bootstrap.ts's pieces, and an Istio WasmPlugin of type NETWORK.
import { stringify } from "yaml";
import type { Gateway, Policy } from "./policy.ts";
import { address, bootstrap, cluster, downstreamTls, filters, mtlsTransportSocket, singleUpstream } from "../envoy/bootstrap.ts";
import { l4Filters } from "./l4_limits.ts";

export function envoyConfig(p: Policy): object {
  if (p.envoy.gateway) return gatewayConfig(p, p.envoy.gateway);
  return singleUpstream({
    name: p.name,
    listen: p.envoy.listen,
    upstream: p.envoy.upstream,
    admin: p.envoy.admin,
    filter: { config: p.filter, wasm: p.envoy.wasm, failurePolicy: p.envoy.failurePolicy },
    tls: p.envoy.tls,
    networkFilters: l4Filters(p.envoy.connectionLimits, p.name),
  });
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
  const filter = { config: { ...p.filter, gateway: gatewayRule(g) }, wasm: p.envoy.wasm, failurePolicy: p.envoy.failurePolicy };
  const chain = (cluster: string, stat: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    ...extra,
    filters: [...l4Filters(p.envoy.connectionLimits, stat), ...filters(filter, stat, cluster)],
  });
  const bootstrapEndpoints = g.upstreamGiven ? [p.envoy.upstream] : g.brokers;
  const clusters = [cluster("kafka_bootstrap", bootstrapEndpoints), ...g.brokers.map((b) => cluster(`kafka_broker_${b.id}`, [b]))];
  const listeners: object[] = [];
  if (g.mode === "sni") {
    const sni = g.sni!;
    const named = (server: string, cluster: string, stat: string) =>
      chain(cluster, stat, { filter_chain_match: { server_names: [server] }, transport_socket: downstreamTls(sni) });
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
  return bootstrap({ admin: p.envoy.admin, listeners, clusters });
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
