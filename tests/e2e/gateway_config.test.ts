// render-envoy with `envoy.gateway` in the policy: the bootstrap listener, one listener per
// broker (or one SNI listener with a filter chain per broker), their clusters and the filter's
// gateway rule, each form passing the real Envoy's `--mode validate` (which runs the filter's
// configure step too); mistakes in the policy name the key; render-istio renders the sidecar
// shape from the same policy without the rule (a sidecar needs no readdressing).
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { parse } from "yaml";
import { ROOT, requireInstalled, scratchDir } from "../harness/paths.ts";
import { envoyConfig, validateEnvoyConfig } from "../harness/envoy.ts";
import { makeCerts } from "../harness/certs.ts";

const POLICY = join(ROOT, "examples/gateway-policy.json");

function cli(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, "bin/kafka-proxy-wasm.js"), ...args], { cwd: ROOT, encoding: "utf8" });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const filterConfigOf = (chain: any) => JSON.parse(chain.filters[0].typed_config.config.configuration.value);
const portOf = (l: any) => l.address.socket_address.port_value;

describe("render-envoy: the gateway of a multi-broker cluster", () => {
  let dir = "";
  const policy = JSON.parse(readFileSync(POLICY, "utf8"));
  // Renders `p` (written to a file) and validates the result with Envoy.
  const render = (name: string, p: object): any => {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(p));
    const out = join(dir, `${name}.yaml`);
    const r = cli(["render-envoy", "--policy", file, "--out", out]);
    assert.equal(r.status, 0, r.stderr);
    const v = validateEnvoyConfig(out);
    assert.ok(v.ok, v.output);
    return parse(readFileSync(out, "utf8"));
  };
  const refused = (p: object, message: RegExp) => {
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify(p));
    const r = cli(["render-envoy", "--policy", file]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, message);
  };
  const withGateway = (g: object) => ({ ...policy, envoy: { ...policy.envoy, gateway: g } });

  before(() => {
    requireInstalled();
    dir = scratchDir("gateway-config");
  });

  test("port per broker: a bootstrap listener, one listener per broker at port_base + node id, each broker its own cluster", () => {
    const c = render("port-base", policy);
    const listeners = c.static_resources.listeners;
    assert.deepEqual(listeners.map((l: any) => [l.name, portOf(l)]), [
      ["kafka-gateway", 19092], ["kafka-gateway-broker-1", 19101], ["kafka-gateway-broker-2", 19102], ["kafka-gateway-broker-3", 19103],
    ]);
    for (const l of listeners) {
      assert.deepEqual(filterConfigOf(l.filter_chains[0]), { ...policy.filter, gateway: { host: "127.0.0.1", port_base: 19100 } });
    }
    const clusters = Object.fromEntries(c.static_resources.clusters.map((k: any) =>
      [k.name, k.load_assignment.endpoints[0].lb_endpoints.map((e: any) => `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`)]));
    assert.deepEqual(clusters, {
      kafka_bootstrap: ["10.0.0.11:9092", "10.0.0.12:9092", "10.0.0.13:9092"],
      kafka_broker_1: ["10.0.0.11:9092"], kafka_broker_2: ["10.0.0.12:9092"], kafka_broker_3: ["10.0.0.13:9092"],
    });
    assert.equal(listeners[2].filter_chains[0].filters[1].typed_config.cluster, "kafka_broker_2");
    // The committed example is what the CLI renders from examples/gateway-policy.json.
    const example = readFileSync(join(ROOT, "envoy-config/kafka-gateway.yaml"), "utf8");
    assert.equal(example, cli(["render-envoy", "--policy", "examples/gateway-policy.json"]).stdout);
  });

  test("explicit ports: the filter gets the node id -> host:port map; envoy.upstream, when given, is the bootstrap's", () => {
    const c = render("ports", {
      ...policy,
      envoy: { ...policy.envoy, upstream: "10.0.0.12:9092", gateway: { ...policy.envoy.gateway, port_base: undefined, ports: { 1: 30001, 2: 30002, 3: 30003 } } },
    });
    const listeners = c.static_resources.listeners;
    assert.deepEqual(listeners.map(portOf), [19092, 30001, 30002, 30003]);
    assert.deepEqual(filterConfigOf(listeners[0].filter_chains[0]).gateway,
      { brokers: { 1: "127.0.0.1:30001", 2: "127.0.0.1:30002", 3: "127.0.0.1:30003" } });
    assert.equal(c.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints.length, 1);
  });

  test("SNI: one TLS listener, a filter chain per broker name and one for bootstrap.<domain>", () => {
    const certs = join(dir, "certs");
    mkdirSync(certs, { recursive: true });
    const made = makeCerts(certs);
    const c = render("sni", withGateway({
      brokers: policy.envoy.gateway.brokers,
      bind: "0.0.0.0",
      sni: { domain: "kafka.example.com", port: 9093, cert: made.server.cert, key: made.server.key },
    }));
    const listeners = c.static_resources.listeners;
    assert.equal(listeners.length, 1);
    assert.equal(portOf(listeners[0]), 9093);
    assert.equal(listeners[0].listener_filters[0].name, "envoy.filters.listener.tls_inspector");
    assert.deepEqual(listeners[0].filter_chains.map((ch: any) => ch.filter_chain_match.server_names[0]),
      ["bootstrap.kafka.example.com", "broker-1.kafka.example.com", "broker-2.kafka.example.com", "broker-3.kafka.example.com"]);
    assert.deepEqual(filterConfigOf(listeners[0].filter_chains[1]).gateway, { sni_domain: "kafka.example.com", port: 9093 });
    assert.equal(listeners[0].filter_chains[3].filters[1].typed_config.cluster, "kafka_broker_3");
  });

  test("policy mistakes name the key", () => {
    refused(withGateway({ host: "127.0.0.1", port_base: 19100 }), /'envoy.gateway.brokers' must be an object/);
    refused(withGateway({ brokers: { one: "10.0.0.1:9092" }, port_base: 19100 }), /'envoy.gateway.brokers.one': keys must be broker node ids/);
    refused(withGateway({ brokers: { 1: "10.0.0.1" }, port_base: 19100 }), /'envoy.gateway.brokers.1' must be "host:port"/);
    refused(withGateway({ brokers: { 1: "10.0.0.1:9092" }, port_base: 19100, ports: { 1: 2 } }), /exactly one of port_base, ports, sni/);
    refused(withGateway({ brokers: { 1: "10.0.0.1:9092" }, port_base: 19091 }), /broker 1's listener \(port_base \+ 1\) would listen on port 19092, as 'envoy.listen' does/);
    refused(withGateway({ brokers: { 1: "10.0.0.1:9092", 2: "10.0.0.2:9092" }, ports: { 1: 30001 } }), /'envoy.gateway.ports' has no port for broker 2/);
    refused(withGateway({ brokers: { 1: "10.0.0.1:9092" }, host: "0.0.0.0", port_base: 19100 }), /'envoy.gateway.host' must be the address clients dial/);
    refused(withGateway({ brokers: { 1: "10.0.0.1:9092" }, sni: { domain: "Kafka_Example", port: 9093, cert: "c", key: "k" } }), /'envoy.gateway.sni.domain' must be a DNS name/);
    refused({ ...policy, filter: { gateway: { host: "x", port_base: 1 } } }, /'filter.gateway' is rendered from 'envoy.gateway'/);
  });

  test("the filter refuses a malformed gateway rule: Envoy does not load it", () => {
    const file = join(dir, "bad-rule.json");
    writeFileSync(file, JSON.stringify(envoyConfig({ listenPort: 19092, upstreamPort: 9092, filterConfig: { gateway: { host: "gw", port_base: 70000 } } }, 9901)));
    const v = validateEnvoyConfig(file);
    assert.equal(v.ok, false);
    assert.match(v.output, /config key 'gateway.port_base' must be a port number/);
  });

  test("render-istio renders the sidecar shape from the same policy, without the gateway rule", () => {
    const r = cli(["render-istio", "--policy", POLICY]);
    assert.equal(r.status, 0, r.stderr);
    const plugin = parse(r.stdout);
    assert.deepEqual(plugin.spec.pluginConfig, policy.filter);
    assert.equal(plugin.spec.pluginConfig.gateway, undefined);
  });
});
