// Quotas (issue 17) under the fuzzer's pressure cases: with a quota for every principal and every
// client id (bounds never reached, so nothing is throttled and the ACL oracle still holds), the
// stage's lookups, bucket claims past their bound and shared-data records run on garbage frames
// and made-up client ids: no trap, no oracle broken, the buckets stay bounded.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProxyWasmHost } from "../host/proxy_wasm_host.ts";
import { POLICIES, runPressureCase } from "../host/fuzz.ts";
import { WASM } from "../harness/paths.ts";
import { requestFrame } from "../harness/raw_client.ts";
import { encodeRequest } from "../harness/kafka_codec.ts";

test("pressure cases with a quota per principal and client id: no trap, no oracle broken, at most 1,000 buckets", async () => {
  const host = await ProxyWasmHost.load(WASM);
  assert.ok(host.configure({
    ...(POLICIES.acls as object),
    quotas: { rules: [{ name: "each", principal: "*", client_id: "*", produce_bytes_per_second: 1e15, fetch_bytes_per_second: 1e15, requests_per_second: 1e15 }] },
  }));
  const failures: string[] = [];
  for (let seed = 1; seed <= 100; seed++) {
    const r = runPressureCase(host, "acls", seed);
    if (!r.ok) failures.push(`seed ${seed}: ${r.problem}`);
  }
  assert.deepEqual(failures, []);
  // A client making up a client id per connection: 1,500 of them, 3 buckets each (one per rate).
  for (let i = 0; i < 1500; i++) {
    const c = host.connect();
    host.downstream(c, requestFrame(18, 0, 1, `made-up-${i}`));
    assert.equal(c.closed, false);
  }
  const buckets = [...host.sharedData.keys()].filter((k) => k.startsWith("kq") && !k.startsWith("kq#"));
  const claimed = buckets.filter((k) => !k.endsWith("\n*"));
  assert.ok(buckets.length > 0, "no bucket was made");
  assert.equal(claimed.length, 1000);
  // The overflow buckets (one per rate, made when first counted into: here requests/s).
  assert.equal(buckets.length - claimed.length, 1);
  assert.ok(Number(host.metric("kafka_proxy.quotas.overflowed") ?? 0n) >= 3 * 1500 - 1000);
  assert.equal(host.metric("kafka_proxy.quotas.errors") ?? 0n, 0n);
  console.error(`buckets: ${buckets.length} (${claimed.length} claimed), shared keys ${host.sharedData.size}`);
});

// A producer with acks=0 gets no response to carry a throttle time: the broker mutes such a
// channel at once (a security review found the filter never muted it, so the quota only counted).
test("acks=0 producer over its produce quota: muted at once, its next request waits in the host", async () => {
  const host = await ProxyWasmHost.load(WASM);
  assert.ok(host.configure({
    principal_sources: ["client_id"],
    quotas: { rules: [{ name: "slow", principal: "User:fast-producer", produce_bytes_per_second: 1000 }] },
  }));
  const c = host.connect();
  // One v2 record batch header over 16 KiB (the filter reads only the header).
  const batch = Buffer.alloc(16 * 1024, 0x5a);
  batch.writeBigInt64BE(0n, 0);
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeInt32BE(0, 12);
  batch[16] = 2;
  batch.writeInt32BE(16, 57);
  const produce = (id: number) => encodeRequest(0, 9, id, "fast-producer", {
    Acks: 0, TimeoutMs: 30000, TopicData: [{ Name: "t", PartitionData: [{ Index: 0, Records: batch }] }],
  });
  // 16 KiB against 1,000 bytes/s (Kafka's window counts at least 10 s): over at once. Like a
  // broker after an acks=0 request over quota, the filter mutes the connection; the request that
  // went over waits in Envoy with it (the broker would have applied it first).
  host.downstream(c, produce(1));
  host.downstream(c, produce(2));
  assert.equal(Buffer.concat(c.toUpstream).length, 0, "requests went on while the producer owed throttle time");
  assert.equal(c.held[2].length, 2 * produce(1).length, "both requests wait in the host's buffer");
  assert.ok(Number(host.metric("kafka_proxy.quotas.slow.throttled_responses") ?? 0n) >= 1);
  assert.equal(c.closed, false);
});
