// The gateway stage through the filter's own Pipeline: every broker address a response carries
// (Metadata, FindCoordinator single and list, DescribeCluster, KIP-951 NodeEndpoints in tagged
// fields of Produce and Fetch, ShareFetch) becomes the gateway's address for its node id, in
// each rule form; the edited frame decodes exactly (string and tagged-field sizes re-encoded);
// a broker the rule has no address for is dropped from its list or refuses the response.
import { FrameBuilder, text } from "./helpers";
import { Exchange, count } from "./exchange";
import { Visitor, walk } from "../../assembly/kafka/walker";
import { ByteBuffer } from "../../assembly/kafka/byte_buffer";
import { parseResponseHeader, ResponseHeader } from "../../assembly/kafka/message_header";
import { parseConfig } from "../../assembly/policy/config";
import { Verdict } from "../../assembly/proxy/kafka_frame";
import { ProxyCounters } from "../../assembly/proxy/proxy_counters";
import { VmState } from "../../filters/pipeline";
import { carriesBrokers } from "../../filters/gateway";

const proxyCounters = new ProxyCounters();


function sharedFor(json: string): VmState {
  const parsed = parseConfig(json);
  expect(parsed.error).toBe("");
  return VmState.of(parsed.config!, proxyCounters);
}

const PORT_BASE = sharedFor(`{"metrics": false, "gateway": {"host": "gw.local", "port_base": 19100}}`);
const MAPPED = sharedFor(`{"metrics": false, "gateway": {"brokers": {"1": "edge-a.example:30001", "3": "edge-c.example:30003"}}}`);
const SNI = sharedFor(`{"metrics": false, "gateway": {"sni_domain": "kafka.example.com", "port": 9093}}`);
// With the policy stages on as well (authorization takes the layout hooks for every frame).
const WITH_ACLS = sharedFor(`{"metrics": false, "principal_sources": ["client_id"], "acls": {"rules": [{"principal": "*", "resource": "topic", ` +
  `"name": "*", "operations": ["all"]}]}, "gateway": {"host": "gw.local", "port_base": 19100}}`);

// The broker addresses a frame carries, in wire order.
class Addresses extends Visitor {
  ids: i32[] = [];
  hosts: string[] = [];
  ports: i32[] = [];

  brokerHost(lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
    this.ids.push(<i32>bswap<u32>(load<u32>(lengthPtr - 4)));
    this.hosts.push(text(valuePtr, len));
  }

  brokerPort(ptr: usize): void {
    this.ports.push(<i32>bswap<u32>(load<u32>(ptr)));
  }
}

// Decodes the whole response (it must end exactly where its size prefix says).
function addresses(apiKey: i16, apiVersion: i16, buf: ByteBuffer): Addresses {
  const h = new ResponseHeader();
  const label = "api " + apiKey.toString() + " v" + apiVersion.toString();
  expect(parseResponseHeader(buf.ptr, buf.len, apiKey, apiVersion, h)).toBe(0, label + " header");
  expect(<i32>bswap<u32>(load<u32>(buf.ptr))).toBe(buf.len - 4, label + " size prefix");
  const seen = new Addresses();
  expect(walk(apiKey, apiVersion, false, buf.ptr + <usize>h.bodyOffset, buf.len - h.bodyOffset, seen)).toBe(buf.len - h.bodyOffset, label + " walk");
  return seen;
}

// The response as the client gets it (empty when refused).
function throughGateway(shared: VmState, apiKey: i16, apiVersion: i16, response: ByteBuffer): ByteBuffer {
  const out = new ByteBuffer();
  const verdict = new Exchange(shared).responseTo(apiKey, apiVersion, response, out);
  if (verdict != Verdict.Forward && verdict != Verdict.Replace) {
    expect(verdict).toBe(Verdict.Reject);
    out.clear();
  }
  return out;
}

// Metadata v12 (flexible) or v1 (not): brokers 1, 2, 3 at 10.0.0.N:9092, one topic led by 2.
function metadata(version: i16, ids: i32[]): ByteBuffer {
  const flex = version >= 9;
  const b = new FrameBuilder().i32(7);
  if (flex) b.uvarint(0);
  if (version >= 3) b.i32(0);
  if (flex) b.uvarint(ids.length + 1);
  else b.i32(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const host = "10.0.0." + ids[i].toString();
    b.i32(ids[i]);
    if (flex) b.cstr(host).i32(9092).uvarint(0).uvarint(0); // rack null, tags
    else {
      b.str(host).i32(9092);
      if (version >= 1) b.i16(-1);
    }
  }
  if (flex) b.cstr("cluster");
  else if (version >= 2) b.str("cluster");
  if (version >= 1) b.i32(1);
  if (flex) {
    b.uvarint(2).i16(0).cstr("orders").zeros(16).i8(0).uvarint(2);
    b.i16(0).i32(0).i32(2).i32(0).uvarint(2).i32(2).uvarint(2).i32(2).uvarint(1).uvarint(0);
    b.i32(-2147483648).uvarint(0).uvarint(0);
  } else {
    b.i32(1).i16(0).str("orders");
    if (version >= 1) b.i8(0);
    b.i32(1).i16(0).i32(0).i32(2).i32(1).i32(2).i32(1).i32(2);
  }
  return b.finish();
}

// FindCoordinator v2 (one coordinator) or v4 (a list: one found, one not).
function findCoordinator(version: i16, node: i32): ByteBuffer {
  if (version < 4) {
    return new FrameBuilder().i32(5).i32(0).i16(0).i16(-1).i32(node).str("10.0.0.9").i32(9092).finish();
  }
  return new FrameBuilder().i32(5).uvarint(0).i32(0).uvarint(3)
    .cstr("group-a").i32(node).cstr("10.0.0.9").i32(9092).i16(0).uvarint(0).uvarint(0)
    .cstr("group-b").i32(-1).cstr("").i32(-1).i16(15).uvarint(0).uvarint(0)
    .uvarint(0).finish();
}

// DescribeCluster v1: brokers 1 and 2.
function describeCluster(): ByteBuffer {
  return new FrameBuilder().i32(6).uvarint(0).i32(0).i16(0).uvarint(0).i8(1).cstr("cluster").i32(1).uvarint(3)
    .i32(1).cstr("broker-one.internal").i32(9092).uvarint(0).uvarint(0)
    .i32(2).cstr("b2").i32(9092).cstr("rack-b").uvarint(0)
    .i32(-2147483648).uvarint(0).finish();
}

// Produce v10: NOT_LEADER_OR_FOLLOWER with KIP-951's hint, broker 2's endpoint in the top-level
// NodeEndpoints tagged field.
function produceV10(): ByteBuffer {
  return new FrameBuilder().i32(8).uvarint(0).uvarint(2).cstr("orders").uvarint(2)
    .i32(0).i16(6).i32(-1).i32(-1).i32(-1).i32(-1).i32(-1).i32(-1).uvarint(1).uvarint(0)
    .uvarint(1).uvarint(0).uvarint(9).i32(2).i32(5).uvarint(0) // CurrentLeader
    .uvarint(0).i32(0)
    .uvarint(1).uvarint(0).uvarint(20).uvarint(2).i32(2).cstr("10.0.0.2").i32(9092).uvarint(0).uvarint(0)
    .finish();
}

// Fetch v16: one partition with a small record set, then brokers 2 and 3 in NodeEndpoints.
function fetchV16(): ByteBuffer {
  const b = new FrameBuilder().i32(9).uvarint(0).i32(0).i16(0).i32(0).uvarint(2).zeros(16).uvarint(2)
    .i32(0).i16(6).i32(0).i32(0).i32(0).i32(0).i32(0).i32(0).uvarint(0)
    .i32(-1).uvarint(0).uvarint(1).uvarint(1).uvarint(9).i32(3).i32(7).uvarint(0).uvarint(0);
  return b.uvarint(1).uvarint(0).uvarint(1 + 4 + 9 + 4 + 1 + 1 + 4 + 9 + 4 + 1 + 1).uvarint(3)
    .i32(2).cstr("10.0.0.2").i32(9092).uvarint(0).uvarint(0)
    .i32(3).cstr("10.0.0.3").i32(9092).uvarint(0).uvarint(0)
    .finish();
}

// ShareFetch v1: no topics, broker 1 in NodeEndpoints (not tagged here).
function shareFetchV1(): ByteBuffer {
  return new FrameBuilder().i32(10).uvarint(0).i32(0).i16(0).uvarint(0).i32(30000).uvarint(1)
    .uvarint(2).i32(1).cstr("10.0.0.1").i32(9092).uvarint(0).uvarint(0).uvarint(0).finish();
}

describe("gateway: which responses name brokers (from the schemas)", () => {
  it("covers Metadata, FindCoordinator, DescribeCluster, KIP-951 Produce v10+/Fetch v16+, ShareFetch, ShareAcknowledge", () => {
    expect(carriesBrokers(3, 0)).toBe(true);
    expect(carriesBrokers(10, 0)).toBe(true);
    expect(carriesBrokers(60, 0)).toBe(true);
    expect(carriesBrokers(0, 9)).toBe(false);
    expect(carriesBrokers(0, 10)).toBe(true);
    expect(carriesBrokers(1, 15)).toBe(false);
    expect(carriesBrokers(1, 16)).toBe(true);
    expect(carriesBrokers(78, 1)).toBe(true);
    expect(carriesBrokers(79, 1)).toBe(true);
    // Raft's and the controllers' own endpoints are not the clients'.
    expect(carriesBrokers(55, 2)).toBe(false); // DescribeQuorum
    expect(carriesBrokers(52, 1)).toBe(false); // Vote
    expect(carriesBrokers(19, 7)).toBe(false); // CreateTopics
  });
});

describe("gateway: port per broker", () => {
  it("readdresses Metadata brokers (flexible v12 and v1) to host and port_base + node id", () => {
    const versions: i16[] = [12, 1, 0];
    for (let v = 0; v < versions.length; v++) {
      const ver = versions[v];
      const before = addresses(3, ver, metadata(ver, [1, 2, 3]));
      expect(before.hosts[0]).toBe("10.0.0.1");
      const out = addresses(3, ver, throughGateway(PORT_BASE, 3, ver, metadata(ver, [1, 2, 3])));
      expect(out.ids).toStrictEqual([1, 2, 3]);
      expect(out.hosts).toStrictEqual(["gw.local", "gw.local", "gw.local"]);
      expect(out.ports).toStrictEqual([19101, 19102, 19103]);
    }
  });

  it("readdresses FindCoordinator's single coordinator (v2) and its list (v4), leaving 'not found' entries", () => {
    const v2 = addresses(10, 2, throughGateway(PORT_BASE, 10, 2, findCoordinator(2, 3)));
    expect(v2.hosts).toStrictEqual(["gw.local"]);
    expect(v2.ports).toStrictEqual([19103]);
    const v4 = addresses(10, 4, throughGateway(PORT_BASE, 10, 4, findCoordinator(4, 2)));
    expect(v4.ids).toStrictEqual([2, -1]);
    expect(v4.hosts).toStrictEqual(["gw.local", ""]);
    expect(v4.ports).toStrictEqual([19102, -1]);
  });

  it("readdresses DescribeCluster brokers", () => {
    const out = addresses(60, 1, throughGateway(PORT_BASE, 60, 1, describeCluster()));
    expect(out.hosts).toStrictEqual(["gw.local", "gw.local"]);
    expect(out.ports).toStrictEqual([19101, 19102]);
  });

  it("readdresses KIP-951 NodeEndpoints inside tagged fields (Produce v10, Fetch v16), re-encoding their sizes", () => {
    const p = addresses(0, 10, throughGateway(PORT_BASE, 0, 10, produceV10()));
    expect(p.hosts).toStrictEqual(["gw.local"]);
    expect(p.ports).toStrictEqual([19102]);
    const f = addresses(1, 16, throughGateway(PORT_BASE, 1, 16, fetchV16()));
    expect(f.ids).toStrictEqual([2, 3]);
    expect(f.hosts).toStrictEqual(["gw.local", "gw.local"]);
    expect(f.ports).toStrictEqual([19102, 19103]);
    // With authorization on too (its layout hooks and edits share the walk).
    const a = addresses(1, 16, throughGateway(WITH_ACLS, 1, 16, fetchV16()));
    expect(a.ports).toStrictEqual([19102, 19103]);
  });

  it("readdresses ShareFetch NodeEndpoints", () => {
    const out = addresses(78, 1, throughGateway(PORT_BASE, 78, 1, shareFetchV1()));
    expect(out.hosts).toStrictEqual(["gw.local"]);
    expect(out.ports).toStrictEqual([19101]);
  });
});

describe("gateway: explicit map", () => {
  it("readdresses mapped brokers and drops unmapped ones from lists, counted", () => {
    const before = count(MAPPED.gatewayCounters!.unmapped);
    const out = addresses(3, 12, throughGateway(MAPPED, 3, 12, metadata(12, [1, 2, 3])));
    expect(out.ids).toStrictEqual([1, 3]);
    expect(out.hosts).toStrictEqual(["edge-a.example", "edge-c.example"]);
    expect(out.ports).toStrictEqual([30001, 30003]);
    expect(count(MAPPED.gatewayCounters!.unmapped)).toBe(before + 1);
    // In a tagged field: the endpoint list shrinks and the field's size follows.
    const f = addresses(1, 16, throughGateway(MAPPED, 1, 16, fetchV16()));
    expect(f.ids).toStrictEqual([3]);
    expect(f.hosts).toStrictEqual(["edge-c.example"]);
    const v4 = addresses(10, 4, throughGateway(MAPPED, 10, 4, findCoordinator(4, 2)));
    expect(v4.ids).toStrictEqual([-1]);
  });

  it("refuses a response whose lone coordinator has no gateway address", () => {
    expect(throughGateway(MAPPED, 10, 2, findCoordinator(2, 2)).len).toBe(0);
    const ok = addresses(10, 2, throughGateway(MAPPED, 10, 2, findCoordinator(2, 1)));
    expect(ok.hosts).toStrictEqual(["edge-a.example"]);
    expect(ok.ports).toStrictEqual([30001]);
  });
});

describe("gateway: SNI", () => {
  it("names broker N broker-N.<domain> on the one TLS port", () => {
    const out = addresses(3, 12, throughGateway(SNI, 3, 12, metadata(12, [1, 2, 13])));
    expect(out.hosts).toStrictEqual(["broker-1.kafka.example.com", "broker-2.kafka.example.com", "broker-13.kafka.example.com"]);
    expect(out.ports).toStrictEqual([9093, 9093, 9093]);
    const p = addresses(0, 10, throughGateway(SNI, 0, 10, produceV10()));
    expect(p.hosts).toStrictEqual(["broker-2.kafka.example.com"]);
  });
});

// The configuration's error for `json`, which must name `key`.
function refused(json: string, key: string): void {
  const error = parseConfig(json).error;
  expect(error.includes(key)).toBe(true, json + " -> " + error);
}

describe("gateway: configuration", () => {
  it("refuses malformed rules, naming the key", () => {
    refused(`{"gateway": {"host": "gw", "port_base": 70000}}`, "gateway.port_base");
    refused(`{"gateway": {"host": "gw"}}`, "gateway.port_base");
    refused(`{"gateway": {"host": "gw", "port_base": 1, "sni_domain": "x"}}`, "'gateway' must be");
    refused(`{"gateway": {"brokers": {"x": "gw:1"}}}`, "gateway.brokers.x");
    refused(`{"metrics": false, "gateway": {"brokers": {"1": "gw"}}}`, "gateway.brokers.1");
    refused(`{"gateway": {"sni_domain": "k.example", "port": 0}}`, "gateway.port");
    refused(`{"gateway": {"hosts": "gw"}}`, "unknown config key 'gateway.hosts'");
    refused(`{"forward": "immediately", "gateway": {"host": "gw", "port_base": 1}}`, "'gateway'");
  });
});
