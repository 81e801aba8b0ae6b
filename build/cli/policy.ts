// The one policy file the CLI renders everything from (JSON): the filter's configuration,
// passed through untouched as Envoy's `configuration` and Istio's `pluginConfig`, plus where
// the proxy listens and which image carries the module. Mistakes name the key and the file.
import { readFileSync } from "node:fs";

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
  only(envoy, ["listen", "upstream", "admin", "wasm", "failurePolicy", "tls"], "envoy", file);
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
  return {
    name,
    filter,
    envoy: {
      listen: endpoint(envoy, "listen", "envoy", file, "0.0.0.0:19092"),
      upstream: endpoint(envoy, "upstream", "envoy", file, "127.0.0.1:9092"),
      admin: endpoint(envoy, "admin", "envoy", file, "127.0.0.1:9901"),
      wasm: string(envoy, "wasm", "envoy", file, "dist/kafka_proxy.wasm"),
      failurePolicy,
      tls,
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

export function loadPolicy(file: string): Policy {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new PolicyError(`${file}: cannot read: ${(e as Error).message}`);
  }
  return parsePolicy(text, file);
}
