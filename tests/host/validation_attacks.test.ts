// Per-partition validation under attack (from a security review), against the built module.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProxyWasmHost } from "../host/proxy_wasm_host.ts";
import { WASM } from "../harness/paths.ts";
import { validationProduce } from "./fuzz.ts";
import { produceV9 } from "./produce_frames.ts";

// A rule written for the broker's topic `orders-v2`; the producer (client id `fuzz`) is renamed
// `orders` -> `orders-v2`, so the rule covers what it writes (broker-side cover, 91411cf). The
// request's probe (ValidationStage.wholeRequest) matches client names only, so a request whose
// last record set arrives in a later read is decided early, its record set still in Envoy's
// buffer unread: a valid batch is refused as malformed. (Without the rename, or unsplit, it goes on.)
const CONFIG = {
  principal_sources: ["client_id"],
  rewrite: { renames: [{ principal: "User:fuzz", from: "orders", to: "orders-v2" }] },
  validation: { rules: [{ name: "json", topics: ["orders-v2"], json: true }] },
};

for (const split of [0, 3, 1500]) {
  test(`a valid batch to a rule topic reached by a rename goes on (last ${split} bytes in a second read)`, async () => {
    const h = await ProxyWasmHost.load(WASM);
    assert.ok(h.configure(CONFIG));
    const c = h.connect();
    const frame = validationProduce("orders", ["{\"a\":1}" + " ".repeat(3000)]);
    if (split > 0) {
      h.downstream(c, frame.subarray(0, frame.length - split));
      h.downstream(c, frame.subarray(frame.length - split));
    } else h.downstream(c, frame);
    assert.equal(h.metric("kafka_proxy.validation.json.refused"), 0n, "a valid batch was refused");
    assert.ok(Buffer.concat(c.toUpstream).length > 3000, "the batch did not reach the broker");
  });
}

test("an invalid batch to a rule topic reached by a rename is refused, split or not", async () => {
  for (const split of [0, 3, 1500]) {
    const h = await ProxyWasmHost.load(WASM);
    assert.ok(h.configure(CONFIG));
    const c = h.connect();
    const frame = validationProduce("orders", ["not json" + " ".repeat(3000)]);
    if (split > 0) {
      h.downstream(c, frame.subarray(0, frame.length - split));
      h.downstream(c, frame.subarray(frame.length - split));
    } else h.downstream(c, frame);
    assert.equal(Buffer.concat(c.toUpstream).includes(Buffer.from("not json")), false, `split ${split}`);
  }
});

// Each refused partition's answer waits in the request's note until the broker answers. The
// rule's message (twice from v8) goes only into the first answers, and past 5,000 refused
// partitions (as past 5,000 refused ACL entries) the connection is closed: a client with produce
// rights on a rule topic cannot make the filter hold many times what it sends, for as long as its
// earlier requests keep the broker busy, and fill a worker's budget.
test("refused partitions' answers held for the broker's response stay bounded", async () => {
  const h = await ProxyWasmHost.load(WASM);
  // 2 MB of budget.
  assert.ok(h.configure({ max_buffered_bytes: 2 << 20, validation: { rules: [{ name: "json", topics: ["json"], json: true }] } }));
  const good = Buffer.alloc(61);
  good.writeInt32BE(49, 8);
  good[16] = 2;
  // Each a 1-byte record set (malformed: refused), and one valid partition of another topic.
  const request = (n: number) => produceV9([{ name: "json", parts: Array.from({ length: n }, () => Buffer.from([1])) },
    { name: "free", parts: [good] }]);
  const c = h.connect();
  const within = request(5_000);
  h.downstream(c, within);
  assert.equal(c.closed, false, `a ${within.length}-byte request took more than 2 MB: ${h.logs.map((l) => l.message).join("; ")}`);
  assert.ok(Buffer.concat(c.toUpstream).length > 0);
  const past = h.connect();
  h.downstream(past, request(5_001));
  assert.equal(past.closed, true);
  assert.equal(past.toUpstream.length, 0);
  assert.ok(h.logs.some((l) => /more than 5000 refused entries/.test(l.message)), h.logs.map((l) => l.message).join("; "));
});

// Two topic entries naming one topic, each with a refused partition and a valid one: the broker
// (Kafka keys a Produce request's partitions by topic-partition) answers with one entry for the
// topic. The merge keeps one group per request entry and merges only the first into it; the
// second is never merged and the connection is closed after the broker wrote the valid
// partitions: the client never learns their outcome (it retries: duplicates without idempotence).
test("duplicate topic entries with refused partitions: their answers merge into the broker's one entry", async () => {
  const { encodeResponse, decodeResponse } = await import("../harness/kafka_codec.ts");
  const h = await ProxyWasmHost.load(WASM);
  assert.ok(h.configure({ validation: { rules: [{ name: "json", topics: ["json"], json: true }] } }));
  const c = h.connect();
  const good = Buffer.alloc(61);
  good.writeInt32BE(49, 8);
  good[16] = 2;
  const bad = Buffer.from([1]);
  // Entry 1: partitions 0 (bad), 1 (good); entry 2: 0 (bad), 1 (bad), 2 (good).
  h.downstream(c, produceV9([{ name: "json", parts: [bad, good] }, { name: "json", parts: [bad, bad, good] }]));
  assert.equal(c.closed, false);
  const ok = (i: number) => ({ Index: i, ErrorCode: 0, BaseOffset: 0n, LogAppendTimeMs: -1n, LogStartOffset: 0n, RecordErrors: [], ErrorMessage: null });
  h.upstream(c, encodeResponse(0, 9, 5, { Responses: [{ Name: "json", PartitionResponses: [ok(1), ok(2)] }], ThrottleTimeMs: 0 }));
  assert.equal(c.closed, false, h.logs.map((l) => l.message).join("; "));
  const body = decodeResponse(0, 9, Buffer.concat(c.toDownstream)).body;
  const codes = body.Responses.flatMap((t: any) => t.PartitionResponses.map((p: any) => `${t.Name}/${p.Index}=${p.ErrorCode}`));
  for (const want of ["json/1=0", "json/2=0", "json/0=87", "json/1=87"]) assert.ok(codes.includes(want), codes.join(" "));
});
