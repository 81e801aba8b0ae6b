// The one policy file the CLI renders everything from (JSON): the filter's configuration,
// passed through untouched as Envoy's `configuration` and Istio's `pluginConfig`, plus where
// the proxy listens and which image carries the module. Mistakes name the key and the file.
import { readFileSync } from "node:fs";
import { type ConnectionLimits, parseConnectionLimits } from "./l4_limits.ts";

export interface Policy {
  name: string;
  filter: Record<string, unknown>;
  envoy: {
    listen: { address: string; port: number };
    upstream: { address: string; port: number };
    admin: { address: string; port: number };
    wasm: string;
    // What Envoy does when the module crashes: FAIL_CLOSED closes the connection (no unchecked
    // request reaches Kafka), FAIL_OPEN passes traffic without the filter, FAIL_RELOAD restarts the VM.
    failurePolicy: "FAIL_CLOSED" | "FAIL_OPEN" | "FAIL_RELOAD";
    // Terminate mTLS (Istio's sidecar does this itself; for standalone Envoy).
    tls?: { cert: string; key: string; ca: string };
    // Envoy as the gateway in front of a multi-broker cluster (render.ts: gatewayConfig).
    gateway?: Gateway;
    // Connection limits rendered as Envoy's own network filters (l4_limits.ts).
    connectionLimits?: ConnectionLimits;
  };
  istio: {
    namespace: string;
    selector: Record<string, string>;
    image: string;
    failStrategy: "FAIL_CLOSE" | "FAIL_OPEN" | "FAIL_RELOAD";
    ports: number[];
    // Whose sidecar runs the filter: SERVER the broker's (inbound), CLIENT the client's (outbound).
    mode: "SERVER" | "CLIENT";
  };
}

// `envoy.gateway`: the brokers behind the gateway and how clients reach each through it. The
// filter's `gateway` rule is rendered from this, so brokers keep their own advertised listeners.
export interface Gateway {
  // Node id -> the broker's own address (its advertised listener), in node id order.
  brokers: { id: number; address: string; port: number }[];
  // Whether `envoy.upstream` was given: the bootstrap listener's upstream (else every broker).
  upstreamGiven: boolean;
  // The host clients dial for the per-broker listeners (port modes).
  host: string;
  // The address the per-broker listeners (or the SNI listener) bind.
  bind: string;
  mode: "port_base" | "ports" | "sni";
  portBase?: number;
  // Node id -> listener port (mode "ports").
  ports?: Record<number, number>;
  sni?: { domain: string; port: number; cert: string; key: string; ca?: string };
}

export class PolicyError extends Error {}

type Json = Record<string, unknown>;

function object(v: unknown, key: string, file: string): Json {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new PolicyError(`${file}: '${key}' must be an object`);
  return v as Json;
}

function only(o: Json, allowed: string[], key: string, file: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new PolicyError(`${file}: unknown key '${key ? key + "." : ""}${k}' (expected one of ${allowed.join(", ")})`);
  }
}

function string(o: Json, k: string, key: string, file: string, fallback?: string): string {
  const v = o[k] ?? fallback;
  if (typeof v !== "string" || v.length === 0) throw new PolicyError(`${file}: '${key}.${k}' must be a non-empty string`);
  return v;
}

// "host:port"
function endpoint(o: Json, k: string, key: string, file: string, fallback?: string): { address: string; port: number } {
  const v = string(o, k, key, file, fallback);
  const m = /^(.+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535) throw new PolicyError(`${file}: '${key}.${k}' must be "host:port", got "${v}"`);
  return { address: m[1], port: Number(m[2]) };
}

export function parsePolicy(text: string, file: string): Policy {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new PolicyError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  const root = object(raw, "", file);
  only(root, ["name", "filter", "envoy", "istio"], "", file);
  const name = string(root, "name", "", file, "kafka-proxy");
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) throw new PolicyError(`${file}: 'name' must be a DNS label, got "${name}"`);
  const filter = object(root.filter ?? {}, "filter", file);
  const envoy = object(root.envoy ?? {}, "envoy", file);
  only(envoy, ["listen", "upstream", "admin", "wasm", "failurePolicy", "tls", "gateway", "connectionLimits"], "envoy", file);
  const failurePolicy = string(envoy, "failurePolicy", "envoy", file, "FAIL_CLOSED");
  if (failurePolicy !== "FAIL_CLOSED" && failurePolicy !== "FAIL_OPEN" && failurePolicy !== "FAIL_RELOAD") {
    throw new PolicyError(`${file}: 'envoy.failurePolicy' must be FAIL_CLOSED, FAIL_OPEN or FAIL_RELOAD`);
  }
  let tls: Policy["envoy"]["tls"];
  if (envoy.tls !== undefined) {
    const t = object(envoy.tls, "envoy.tls", file);
    only(t, ["cert", "key", "ca"], "envoy.tls", file);
    tls = { cert: string(t, "cert", "envoy.tls", file), key: string(t, "key", "envoy.tls", file), ca: string(t, "ca", "envoy.tls", file) };
  }
  const istio = object(root.istio ?? {}, "istio", file);
  only(istio, ["namespace", "selector", "image", "failStrategy", "ports", "mode"], "istio", file);
  const selector = object(istio.selector ?? {}, "istio.selector", file);
  for (const [k, v] of Object.entries(selector)) {
    if (typeof v !== "string") throw new PolicyError(`${file}: 'istio.selector.${k}' must be a string`);
  }
  const failStrategy = string(istio, "failStrategy", "istio", file, "FAIL_CLOSE");
  if (failStrategy !== "FAIL_CLOSE" && failStrategy !== "FAIL_OPEN" && failStrategy !== "FAIL_RELOAD") {
    throw new PolicyError(`${file}: 'istio.failStrategy' must be FAIL_CLOSE, FAIL_OPEN or FAIL_RELOAD`);
  }
  const mode = string(istio, "mode", "istio", file, "SERVER");
  if (mode !== "SERVER" && mode !== "CLIENT") throw new PolicyError(`${file}: 'istio.mode' must be SERVER or CLIENT`);
  const ports = istio.ports ?? [9092];
  if (!Array.isArray(ports) || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
    throw new PolicyError(`${file}: 'istio.ports' must be a list of port numbers`);
  }
  const listen = endpoint(envoy, "listen", "envoy", file, "0.0.0.0:19092");
  const admin = endpoint(envoy, "admin", "envoy", file, "127.0.0.1:9901");
  let gateway: Gateway | undefined;
  if (envoy.gateway !== undefined) {
    if (filter.gateway !== undefined) {
      throw new PolicyError(`${file}: 'filter.gateway' is rendered from 'envoy.gateway': set the gateway there`);
    }
    gateway = parseGateway(object(envoy.gateway, "envoy.gateway", file), envoy.upstream !== undefined, listen, admin, file);
  }
  return {
    name,
    filter,
    envoy: {
      listen,
      upstream: endpoint(envoy, "upstream", "envoy", file, "127.0.0.1:9092"),
      admin,
      wasm: string(envoy, "wasm", "envoy", file, "dist/kafka_proxy.wasm"),
      failurePolicy,
      tls,
      ...(gateway ? { gateway } : {}),
      ...(envoy.connectionLimits !== undefined ? { connectionLimits: parseConnectionLimits(envoy.connectionLimits, file) } : {}),
    },
    istio: {
      namespace: string(istio, "namespace", "istio", file, "default"),
      selector: selector as Record<string, string>,
      image: string(istio, "image", "istio", file, "localhost:5000/kafka-proxy-wasm:latest"),
      failStrategy,
      ports: ports as number[],
      mode,
    },
  };
}

const NODE_ID = /^(0|[1-9]\d{0,9})$/;

function port(v: unknown, key: string, file: string): number {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 65535) throw new PolicyError(`${file}: '${key}' must be a port number`);
  return v as number;
}

function parseGateway(g: Json, upstreamGiven: boolean, listen: { address: string; port: number },
  admin: { address: string; port: number }, file: string): Gateway {
  only(g, ["brokers", "host", "bind", "port_base", "ports", "sni"], "envoy.gateway", file);
  const brokersIn = object(g.brokers, "envoy.gateway.brokers", file);
  const brokers: Gateway["brokers"] = [];
  for (const k of Object.keys(brokersIn)) {
    if (!NODE_ID.test(k) || Number(k) > 2147483647) throw new PolicyError(`${file}: 'envoy.gateway.brokers.${k}': keys must be broker node ids`);
    const e = endpoint(brokersIn, k, "envoy.gateway.brokers", file);
    brokers.push({ id: Number(k), ...e });
  }
  if (brokers.length === 0) throw new PolicyError(`${file}: 'envoy.gateway.brokers' must map at least one node id to its "host:port"`);
  brokers.sort((a, b) => a.id - b.id);
  const modes = ["port_base", "ports", "sni"].filter((m) => g[m] !== undefined);
  if (modes.length !== 1) throw new PolicyError(`${file}: 'envoy.gateway' needs exactly one of port_base, ports, sni`);
  const mode = modes[0] as Gateway["mode"];
  const bind = string(g, "bind", "envoy.gateway", file, listen.address);
  const wildcard = (h: string) => h === "0.0.0.0" || h === "::";
  const out: Gateway = { brokers, upstreamGiven, host: "", bind, mode };
  const taken = new Map<number, string>([[admin.port, "envoy.admin"]]);
  const claim = (p: number, what: string) => {
    const other = taken.get(p);
    if (other !== undefined) throw new PolicyError(`${file}: ${what} would listen on port ${p}, as ${other} does`);
    taken.set(p, what);
  };
  if (mode === "sni") {
    const s = object(g.sni, "envoy.gateway.sni", file);
    only(s, ["domain", "port", "cert", "key", "ca"], "envoy.gateway.sni", file);
    const domain = string(s, "domain", "envoy.gateway.sni", file);
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/.test(domain)) {
      throw new PolicyError(`${file}: 'envoy.gateway.sni.domain' must be a DNS name (brokers are broker-<node id>.<domain>)`);
    }
    out.sni = {
      domain,
      port: port(s.port, "envoy.gateway.sni.port", file),
      cert: string(s, "cert", "envoy.gateway.sni", file),
      key: string(s, "key", "envoy.gateway.sni", file),
      ...(s.ca !== undefined ? { ca: string(s, "ca", "envoy.gateway.sni", file) } : {}),
    };
    claim(out.sni.port, "'envoy.gateway.sni.port'");
    return out;
  }
  out.host = string(g, "host", "envoy.gateway", file, wildcard(listen.address) ? undefined : listen.address);
  if (wildcard(out.host)) throw new PolicyError(`${file}: 'envoy.gateway.host' must be the address clients dial, not ${out.host}`);
  claim(listen.port, "'envoy.listen'");
  if (mode === "port_base") {
    const base = g.port_base;
    if (!Number.isInteger(base) || (base as number) < 0) throw new PolicyError(`${file}: 'envoy.gateway.port_base' must be a port number`);
    out.portBase = base as number;
    for (const b of brokers) {
      const p = out.portBase + b.id;
      if (p < 1 || p > 65535) throw new PolicyError(`${file}: 'envoy.gateway.port_base' + node id ${b.id} is not a port number`);
      claim(p, `broker ${b.id}'s listener (port_base + ${b.id})`);
    }
  } else {
    const ports = object(g.ports, "envoy.gateway.ports", file);
    out.ports = {};
    for (const b of brokers) {
      if (ports[b.id] === undefined) throw new PolicyError(`${file}: 'envoy.gateway.ports' has no port for broker ${b.id}`);
      out.ports[b.id] = port(ports[b.id], `envoy.gateway.ports.${b.id}`, file);
      claim(out.ports[b.id], `broker ${b.id}'s listener`);
    }
    for (const k of Object.keys(ports)) {
      if (!brokers.some((b) => String(b.id) === k)) throw new PolicyError(`${file}: 'envoy.gateway.ports.${k}' names no broker of 'envoy.gateway.brokers'`);
    }
  }
  return out;
}

export function loadPolicy(file: string): Policy {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new PolicyError(`${file}: cannot read: ${(e as Error).message}`);
  }
  return parsePolicy(text, file);
}
