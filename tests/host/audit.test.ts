// Audit events in the test host (no Envoy): every line is one JSON object with the module's own
// keys whatever bytes clients put in names (quotes, backslashes, control characters, invalid
// UTF-8, 32 KB client ids), the request log samples what it is told to, the cap on events per
// second counts the rest as dropped, and configuration mistakes name their key.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { WASM } from "../harness/paths.ts";
import { ProxyWasmHost } from "./proxy_wasm_host.ts";
import { i32, str } from "../harness/kafka_bytes.ts";


// A Metadata v4 request with the raw bytes `clientId` in its header, naming `topics`.
function metadata(correlationId: number, clientId: Buffer, topics: Buffer[]): Buffer {
  const frame = Buffer.concat([i32(0), Buffer.from([0, 3, 0, 4]), i32(correlationId), str(clientId),
    i32(topics.length), ...topics.map(str), Buffer.from([0])]);
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

// The broker's Metadata v4 answer naming `topic` (one broker, no partitions).
function metadataResponse(correlationId: number, topic: string): Buffer {
  const body = Buffer.concat([
    i32(0), i32(1), i32(1), str(Buffer.from("localhost")), i32(9092), Buffer.from([0xff, 0xff]),
    Buffer.from([0xff, 0xff]), i32(1),
    i32(1), Buffer.from([0, 0]), str(Buffer.from(topic)), Buffer.from([0]), i32(0),
  ]);
  const frame = Buffer.concat([i32(0), i32(correlationId), body]);
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

function events(host: ProxyWasmHost): any[] {
  return host.logs.filter((l) => l.message.startsWith('{"kafka_proxy_audit":')).map((l) => JSON.parse(l.message));
}

const metric = (host: ProxyWasmHost, name: string) => Number(host.metric(`kafka_proxy.${name}`) ?? 0n);

// Deterministic bytes: a seeded xorshift.
function randomBytes(seed: number, n: number): Buffer {
  let x = seed | 1;
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

const REFUSAL_KEYS = ["kafka_proxy_audit", "time", "connection", "correlation_id", "api", "api_version", "principal", "client_id",
  "result", "entries"].sort();
const ENTRY_KEYS = ["outcome", "resource", "name", "broker_name", "operation", "error_code"].sort();

describe("audit events in the test host", () => {
  test("names clients control cannot add keys or lines, whatever their bytes", async () => {
    const host = await ProxyWasmHost.load(WASM);
    assert.ok(host.configure({ principal_sources: ["client_id"], acls: { rules: [] }, audit: { max_events_per_second: 1000000 } }));
    const ids: Buffer[] = [
      Buffer.from('x","principal":"User:admin","kafka_proxy_audit":"fake'),
      Buffer.from("line\nbreak\r\u0000\u001f\u007f\\\"end"),
      Buffer.from("ünïcödé ✓ 😀"),
      Buffer.from([0xff, 0xfe, 0x22, 0xc3, 0x28, 0xe2, 0x82, 0xf0, 0x9f, 0x98]),
      Buffer.alloc(32000, 0x22),
      ...Array.from({ length: 150 }, (_, i) => randomBytes(i + 1, 1 + (i * 7) % 300)),
    ];
    const c = host.connect();
    for (const [i, id] of ids.entries()) host.downstream(c, metadata(i + 1, id, [id.subarray(0, 200), Buffer.from("t\"\\\n")]));
    assert.equal(c.closed, false);
    const all = events(host);
    assert.equal(all.length, ids.length);
    for (const [i, e] of all.entries()) {
      assert.deepEqual(Object.keys(e).sort(), REFUSAL_KEYS);
      assert.equal(e.kafka_proxy_audit, "refusal");
      assert.equal(e.correlation_id, i + 1);
      assert.equal(e.api, "Metadata");
      // Metadata v1+ with every topic refused still goes to the broker (for its brokers list).
      assert.equal(e.result, "forwarded");
      assert.equal(e.entries.length, 2);
      for (const entry of e.entries) assert.deepEqual(Object.keys(entry).sort(), ENTRY_KEYS);
      assert.equal(e.entries[1].name, "t\"\\\n");
      const id = ids[i];
      const cut = id.subarray(0, 256);
      const valid = Buffer.from(cut.toString("utf8"), "utf8").equals(cut);
      if (valid) assert.equal(e.client_id, cut.toString("utf8"), `client id ${i}`);
      else assert.ok(e.client_id.includes("\ufffd"), `client id ${i}`);
      assert.ok(Buffer.byteLength(e.client_id) <= 256 * 3);
    }
  });

  test("the request log samples one in `sample_every` of the APIs named", async () => {
    const host = await ProxyWasmHost.load(WASM);
    assert.ok(host.configure({ audit: { requests: { apis: ["Metadata"], sample_every: 3 }, max_events_per_second: 1000000 } }));
    const c = host.connect();
    for (let i = 1; i <= 9; i++) {
      host.downstream(c, metadata(i, Buffer.from("reader"), [Buffer.from("orders")]));
      host.upstream(c, metadataResponse(i, "orders"));
    }
    const logged = events(host).filter((e) => e.kafka_proxy_audit === "request");
    assert.deepEqual(logged.map((e) => e.correlation_id), [1, 4, 7]);
    for (const e of logged) {
      assert.equal(e.api, "Metadata");
      assert.equal(e.api_version, 4);
      assert.equal(e.error_code, 0);
      assert.equal(typeof e.latency_us, "number");
      assert.ok(e.response_bytes > 0);
    }
  });

  test("past max_events_per_second events are counted as dropped, not written", async () => {
    const host = await ProxyWasmHost.load(WASM);
    assert.ok(host.configure({ principal_sources: ["client_id"], acls: { rules: [] }, audit: { max_events_per_second: 5 } }));
    const c = host.connect();
    // The host's clock moves a microsecond per reading: all within one second.
    for (let i = 1; i <= 50; i++) host.downstream(c, metadata(i, Buffer.from("flood"), [Buffer.from("secret")]));
    assert.equal(events(host).length, 5);
    assert.equal(metric(host, "audit.events"), 5);
    assert.equal(metric(host, "audit.events_dropped"), 45);
  });

  test("configuration mistakes name their key", async () => {
    const cases: [object, RegExp][] = [
      [{ audit: { bogus: true } }, /'audit\.bogus'/],
      [{ audit: { max_events_per_second: 0 } }, /'audit\.max_events_per_second'/],
      [{ audit: { requests: { apis: ["NoSuchApi"] } } }, /'audit\.requests\.apis\[0\]'/],
      [{ audit: true }, /'audit'/],
      [{ lineage: "yes" }, /'lineage'/],
      [{ lineage: true, metrics: false }, /'lineage' needs 'metrics'/],
      [{ acls: { dry_run: 1, rules: [] } }, /'acls\.dry_run'/],
      [{ acls: { rules: [{ resource: "topic", name: "t", operations: ["read"], dry_run: "yes" }] } }, /'acls\.rules\[0\]\.dry_run'/],
      [{ rewrite: { dry_run: "yes" } }, /'rewrite\.dry_run'/],
      [{ rewrite: { tenants: [{ principal: "User:a", prefix: "a.", dry_run: 1 }] } }, /'rewrite\.tenants\[0\]\.dry_run'/],
    ];
    for (const [config, message] of cases) {
      const host = await ProxyWasmHost.load(WASM);
      assert.equal(host.configure(config), false, JSON.stringify(config));
      assert.ok(host.logs.some((l) => message.test(l.message)), `${JSON.stringify(config)}: ${host.logs.map((l) => l.message).join(" | ")}`);
    }
  });
});
