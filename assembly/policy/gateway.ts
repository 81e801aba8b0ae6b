// The gateway's address rule: where a client reaches broker N through the proxy (filter config
// key `gateway`). One of three forms:
//   {"host": "gw.example.com", "port_base": 19100}         port per broker: port = port_base + N
//   {"brokers": {"1": "gw.example.com:19201", ...}}        an explicit node id -> host:port map
//   {"sni_domain": "kafka.example.com", "port": 9093}      SNI: broker-N.kafka.example.com:9093
import { JsonKind, JsonValue } from "./json";

export const enum GatewayMode {
  PortPerBroker = 0,
  Map = 1,
  Sni = 2,
}

export class GatewayRules {
  mode: GatewayMode = GatewayMode.PortPerBroker;
  // PortPerBroker: the host; Sni: the domain (UTF-8).
  host: ArrayBuffer = new ArrayBuffer(0);
  // PortPerBroker: the base port; Sni: the one TLS port.
  port: i32 = 0;
  // Map: node ids, hosts and ports, in the configuration's order.
  ids: i32[] = [];
  hosts: ArrayBuffer[] = [];
  ports: i32[] = [];

  // The gateway's port for broker `nodeId`, -1 when it has none (its host: hostOf).
  portOf(nodeId: i32): i32 {
    if (nodeId < 0) return -1;
    if (this.mode == GatewayMode.PortPerBroker) {
      const p = <i64>this.port + <i64>nodeId;
      return p <= 65535 ? <i32>p : -1;
    }
    if (this.mode == GatewayMode.Sni) return this.port;
    const i = this.ids.indexOf(nodeId);
    return i < 0 ? -1 : unchecked(this.ports[i]);
  }

  // Map mode: the host of a mapped `nodeId` (portOf said it has one).
  mappedHost(nodeId: i32): ArrayBuffer {
    return unchecked(this.hosts[this.ids.indexOf(nodeId)]);
  }
}

export class GatewayParse {
  rules: GatewayRules | null = null;
  error: string = "";
}

// A host name or address as clients would dial it: letters, digits, ".", "-", ":" (IPv6), no
// more than 255 bytes.
function validHost(s: string): bool {
  if (s.length == 0 || s.length > 255) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2e || c == 0x2d ||
      c == 0x3a || c == 0x5f;
    if (!ok) return false;
  }
  return true;
}

function portValue(v: JsonValue, low: i32): i32 {
  if (v.kind != JsonKind.Number || v.num != Math.floor(v.num) || v.num < low || v.num > 65535) return -1;
  return <i32>v.num;
}

export function parseGateway(v: JsonValue): GatewayParse {
  const r = new GatewayParse();
  const bad = "config key 'gateway' must be {\"host\", \"port_base\"}, {\"brokers\": {node id: \"host:port\"}} " +
    "or {\"sni_domain\", \"port\"}";
  if (v.kind != JsonKind.Object) {
    r.error = bad;
    return r;
  }
  const g = new GatewayRules();
  let host: JsonValue | null = null;
  let base: JsonValue | null = null;
  let brokers: JsonValue | null = null;
  let domain: JsonValue | null = null;
  let port: JsonValue | null = null;
  for (let i = 0; i < v.keys.length; i++) {
    const k = v.keys[i];
    if (k == "host") host = v.items[i];
    else if (k == "port_base") base = v.items[i];
    else if (k == "brokers") brokers = v.items[i];
    else if (k == "sni_domain") domain = v.items[i];
    else if (k == "port") port = v.items[i];
    else {
      r.error = "unknown config key 'gateway." + k + "'";
      return r;
    }
  }
  const forms = (host !== null || base !== null ? 1 : 0) + (brokers !== null ? 1 : 0) + (domain !== null || port !== null ? 1 : 0);
  if (forms != 1) {
    r.error = bad;
    return r;
  }
  if (brokers !== null) {
    g.mode = GatewayMode.Map;
    const b = brokers;
    if (b.kind != JsonKind.Object || b.keys.length == 0) {
      r.error = "config key 'gateway.brokers' must be a non-empty object of node id to \"host:port\"";
      return r;
    }
    for (let i = 0; i < b.keys.length; i++) {
      const key = b.keys[i];
      const id = parseNodeId(key);
      const item = b.items[i];
      const colon = item.kind == JsonKind.String ? item.str.lastIndexOf(":") : -1;
      const p = colon > 0 ? parsePort(item.str.substring(colon + 1)) : -1;
      const h = colon > 0 ? item.str.substring(0, colon) : "";
      if (id < 0 || p < 1 || !validHost(h) || g.ids.includes(id)) {
        r.error = "config key 'gateway.brokers." + key + "' must map a node id (0 to 2147483647, once) to \"host:port\"";
        return r;
      }
      g.ids.push(id);
      g.hosts.push(String.UTF8.encode(h));
      g.ports.push(p);
    }
  } else if (domain !== null || port !== null) {
    g.mode = GatewayMode.Sni;
    const d = domain;
    if (d === null || d.kind != JsonKind.String || !validHost(d.str) || d.str.length > 230) {
      r.error = "config key 'gateway.sni_domain' must be a DNS name (brokers are broker-<node id>.<sni_domain>)";
      return r;
    }
    g.host = String.UTF8.encode(d.str);
    const p = port;
    g.port = p === null ? -1 : portValue(p, 1);
    if (g.port < 0) {
      r.error = "config key 'gateway.port' must be a port number (the SNI listener's)";
      return r;
    }
  } else {
    g.mode = GatewayMode.PortPerBroker;
    const h = host;
    if (h === null || h.kind != JsonKind.String || !validHost(h.str)) {
      r.error = "config key 'gateway.host' must be the host name or address clients reach the gateway at";
      return r;
    }
    g.host = String.UTF8.encode(h.str);
    const b = base;
    g.port = b === null ? -1 : portValue(b, 0);
    if (g.port < 0) {
      r.error = "config key 'gateway.port_base' must be a port number (broker N listens at port_base + N)";
      return r;
    }
  }
  r.rules = g;
  return r;
}

// Decimal 0..2147483647, no sign or leading zeros; -1 otherwise.
function parseNodeId(s: string): i32 {
  if (s.length == 0 || s.length > 10 || (s.length > 1 && s.charCodeAt(0) == 0x30)) return -1;
  let n: i64 = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    n = n * 10 + (c - 0x30);
  }
  return n > 0x7fffffff ? -1 : <i32>n;
}

function parsePort(s: string): i32 {
  const n = parseNodeId(s);
  return n >= 1 && n <= 65535 ? n : -1;
}
