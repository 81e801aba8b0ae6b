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
import { encodeRequest, encodeResponse } from "../harness/kafka_codec.ts";
import { batchOf } from "./produce_frames.ts";

// The frames the quota tests exchange: a Fetch v11 request for partition t-0, its answer with
// `bytes` of records, and a Produce v9 answer (throttle_time_ms is its last field).
const fetchV11 = (id: number, client: string, maxBytes = 8 << 20) => encodeRequest(1, 11, id, client, {
  ReplicaId: -1, MaxWaitMs: 100, MinBytes: 1, MaxBytes: maxBytes, IsolationLevel: 0, SessionId: 0, SessionEpoch: -1,
  Topics: [{ Topic: "t", Partitions: [{ Partition: 0, CurrentLeaderEpoch: -1, FetchOffset: 0, LogStartOffset: -1, PartitionMaxBytes: maxBytes }] }],
  ForgottenTopicsData: [], RackId: "",
});
const fetchAnswerV11 = (id: number, bytes: number) => encodeResponse(1, 11, id, {
  ThrottleTimeMs: 0, ErrorCode: 0, SessionId: 0,
  Responses: [{ Topic: "t", Partitions: [{ PartitionIndex: 0, ErrorCode: 0, HighWatermark: 0n, LastStableOffset: 0n, LogStartOffset: 0n, AbortedTransactions: [], PreferredReadReplica: -1, Records: batchOf(bytes) }] }],
});
const produceAnswerV9 = (id: number) => encodeResponse(0, 9, id, {
  Responses: [{ Name: "t", PartitionResponses: [{ Index: 0, ErrorCode: 0, BaseOffset: 0n, LogAppendTimeMs: -1n, LogStartOffset: 0n, RecordErrors: [], ErrorMessage: null }] }],
  ThrottleTimeMs: 0,
});
// A test host with principals from client ids and these quota rules.
async function quotaHost(rules: object[]): Promise<ProxyWasmHost> {
  const host = await ProxyWasmHost.load(WASM);
  assert.ok(host.configure({ principal_sources: ["client_id"], quotas: { rules } }));
  return host;
}

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
  const host = await quotaHost([{ name: "slow", principal: "User:fast-producer", produce_bytes_per_second: 1000 }]);
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

// The mute holds on every request path (a security review found three that escaped it): once a
// connection owes throttle time, nothing more of its requests reaches the broker until a tick
// after the time is up resumes it, however the client cuts and sizes its writes.
const MUTE_CONFIG = {
  principal_sources: ["client_id"],
  max_held_bytes: 8192,
  quotas: { rules: [{ name: "slow", principal: "User:greedy", produce_bytes_per_second: 16 }] },
};

// Produce v9 (flexible: tagged fields after the last record set) with acks=0 or 1.
function produceFrame(id: number, bytes: number, acks = 0): Buffer {
  return encodeRequest(0, 9, id, "greedy", {
    Acks: acks, TimeoutMs: 30000, TopicData: [{ Name: "t", PartitionData: [{ Index: 0, Records: batchOf(bytes) }] }],
  });
}

// A request that cannot be decided before its end: Metadata naming `bytes` worth of topics.
function metadataFrame(id: number, bytes: number): Buffer {
  const names: { Name: string }[] = [];
  for (let i = 0, n = 0; n < bytes; i++, n += 42) names.push({ Name: `topic-${String(i).padStart(32, "0")}` });
  return encodeRequest(3, 4, id, "greedy", { Topics: names, AllowAutoTopicCreation: false });
}

async function mutedHost() {
  const host = await ProxyWasmHost.load(WASM);
  assert.ok(host.configure(MUTE_CONFIG));
  const c = host.connect();
  // 600 bytes against 16 bytes/s (at least 10 s counted): over at once; acks=0 mutes at once.
  const first = produceFrame(1, 600);
  host.downstream(c, first);
  assert.equal(Buffer.concat(c.toUpstream).length, 0, "the request that went over is held");
  return { host, c, first };
}

// Nothing went up while muted; then, the time up, a tick sends exactly what the client wrote.
function resumesWith(host: ProxyWasmHost, c: ReturnType<ProxyWasmHost["connect"]>, sent: Buffer) {
  assert.equal(c.closed, false);
  assert.equal(Buffer.concat(c.toUpstream).length, 0, "request bytes went to the broker while the connection was muted");
  host.tick();
  assert.equal(Buffer.concat(c.toUpstream).length, 0, "a tick resumed the connection before its time was up");
  host.advance(12_000);
  host.tick();
  const up = Buffer.concat(c.toUpstream);
  assert.ok(up.equals(sent), "after the mute the broker gets exactly the client's requests");
}

test("mute, path 1: a request larger than max_held_bytes does not take the held requests up with it", async () => {
  const { host, c, first } = await mutedHost();
  const big = metadataFrame(2, 12_000);
  // Its start alone passes max_held_bytes: before, it was copied into the module and the
  // callback went on (Continue), the held request with it.
  host.downstream(c, big.subarray(0, 9000));
  assert.equal(Buffer.concat(c.toUpstream).length, 0, "the held request escaped with a request past max_held_bytes");
  host.downstream(c, big.subarray(9000));
  resumesWith(host, c, Buffer.concat([first, big]));
});

test("mute, path 2: a request copied into the module before the mute completes, and waits", async () => {
  const host = await ProxyWasmHost.load(WASM);
  assert.ok(host.configure(MUTE_CONFIG));
  const c = host.connect();
  // acks=1: the mute begins with the response, while a large request is being copied in.
  const produce = produceFrame(1, 600, 1);
  host.downstream(c, produce);
  const big = metadataFrame(2, 12_000);
  host.downstream(c, big.subarray(0, 9000));
  assert.equal(Buffer.concat(c.toUpstream).length, produce.length + 0, "before the mute only the produce went");
  c.toUpstream.length = 0;
  host.upstream(c, produceAnswerV9(1));
  const answer = Buffer.concat(c.toDownstream);
  assert.ok(answer.readInt32BE(answer.length - 5) > 0, "the response carries a throttle time");
  // The rest of the copied request: before, the callback that completed a copied request went
  // on when nothing came after it in the same write.
  host.downstream(c, big.subarray(9000));
  assert.equal(Buffer.concat(c.toUpstream).length, 0, "a request completed in the module went up while muted");
  const next = metadataFrame(3, 100);
  host.downstream(c, next);
  // Before the mute began, the copied request's first bytes had not gone: all of it waits.
  resumesWith(host, c, Buffer.concat([big, next]));
});

test("mute, path 3: writes that end inside a produce request's last record set do not escape", async () => {
  const { host, c, first } = await mutedHost();
  const second = produceFrame(2, 3000);
  const third = produceFrame(3, 3000);
  // Each write ends inside a record set: the request is decided early and its rest goes by as
  // it comes; before, the callback then went on (the mute only took hold on a boundary).
  const all = Buffer.concat([second, third]);
  for (const cut of [0, 1500, second.length + 100, second.length + 2000]) {
    const end = [1500, second.length + 100, second.length + 2000, all.length].find((e) => e > cut)!;
    host.downstream(c, all.subarray(cut, end));
    assert.equal(Buffer.concat(c.toUpstream).length, 0, `bytes went up after the write ending at ${end}`);
  }
  resumesWith(host, c, Buffer.concat([first, all]));
});

test("mute, any cut: pipelined produce and large requests split at random points never pass a muted connection", async () => {
  let seed = 17;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
  let closed = 0;
  for (let round = 0; round < 60; round++) {
    const { host, c, first } = await mutedHost();
    const frames: Buffer[] = [];
    for (let i = 0, total = 0; total < 11000; i++) {
      const f = rand(3) === 0 ? metadataFrame(10 + i, 500 + rand(4000)) : produceFrame(10 + i, 100 + rand(1500));
      frames.push(f);
      total += f.length;
    }
    const stream = Buffer.concat(frames);
    for (let at = 0; at < stream.length && !c.closed;) {
      const n = 1 + rand(rand(4) === 0 ? 6000 : 300);
      host.downstream(c, stream.subarray(at, at + n));
      at += n;
      assert.equal(Buffer.concat(c.toUpstream).length, 0, `round ${round}: bytes went up while muted (at ${at})`);
    }
    // More than max_held_bytes of requests decided while muted, then one that cannot wait in
    // Envoy: the connection is closed rather than copied again and again.
    if (c.closed) {
      closed++;
      assert.ok(host.logs.some((l) => l.message.includes("past max_held_bytes")), host.logs.map((l) => l.message).join("\n"));
      continue;
    }
    resumesWith(host, c, Buffer.concat([first, stream]));
  }
  console.error(`closed: ${closed} of 60`);
  assert.ok(closed > 0 && closed < 40, `${closed} of 60 rounds closed`);
});

// A fetch response's bytes count under the rule of the request it answers (a review found them
// counted under the connection's latest request's rule: with client-id rules, pipelined
// requests of other client ids took them).
test("fetch bytes count under the rule of the request answered, not of the connection's latest request", async () => {
  const fetch = (id: number, client: string) => fetchV11(id, client, 1 << 20);
  const answer = fetchAnswerV11;
  const host = await ProxyWasmHost.load(WASM);
  assert.ok(host.configure({
    quotas: { rules: [
      { name: "heavy", principal: "*", client_id: "heavy", fetch_bytes_per_second: 100 },
      { name: "light", principal: "*", client_id: "light", fetch_bytes_per_second: 1e9 },
    ] },
  }));
  const c = host.connect();
  // Pipelined: heavy's fetch, then light's; the broker answers heavy's with 20 kB (over its
  // 100 B/s at once), then light's with 20 kB (well within its bound).
  host.downstream(c, Buffer.concat([fetch(1, "heavy"), fetch(2, "light")]));
  host.upstream(c, answer(1, 20_000));
  const first = Buffer.concat(c.toDownstream);
  c.toDownstream.length = 0;
  // Fetch v11's throttle_time_ms is the body's first field.
  assert.ok(first.readInt32BE(8) > 0, "heavy's response carries no throttle time: its bytes were counted elsewhere");
  assert.equal(host.metric("kafka_proxy.quotas.heavy.throttled_responses"), 1n);
  host.upstream(c, answer(2, 20_000));
  // light's response: its bytes under light's rule (heavy's bucket has heavy's 20 kB only); it
  // still carries the connection's owed time, as the broker's muted channel would.
  // The fetch buckets (kind 1) of each rule and principal (here the client id's).
  const key = (rule: number, client: string) => `kq1\n${rule}\nUser:${client}`;
  const sum = (k: string) => {
    const v = host.sharedData.get(k)?.value;
    if (v === undefined) return -1;
    let total = 0;
    for (let at = 8; at + 16 <= v.length; at += 16) total += v.readDoubleLE(at + 8);
    return total;
  };
  assert.equal(sum(key(0, "heavy")), first.length - 4);
  assert.equal(sum(key(1, "light")), Buffer.concat(c.toDownstream).length - 4);
  assert.equal(host.metric("kafka_proxy.quotas.light.throttled_responses") ?? 0n, 1n);
});

// Fetch responses to a principal with a quota go on as they arrive (issues 14 and 17: they were
// held whole and copied into the module, in case they had to carry a throttle time), unless the
// response's start, its size counted, finds the connection owing time: that one is held whole,
// carries throttle_time_ms, and the connection is muted after it.
test("a quota'd consumer's 2 MiB fetch response streams within its quota; over it, it carries the throttle time and the mute follows", async () => {
  const fetch = (id: number) => fetchV11(id, "consumer");
  const answer = fetchAnswerV11;
  const copied = (host: ProxyWasmHost) =>
    Number(host.metric("kafka_proxy.abi_bytes_read") ?? 0n) + Number(host.metric("kafka_proxy.abi_bytes_written") ?? 0n);
  const sum = (host: ProxyWasmHost) => {
    const v = host.sharedData.get("kq1\n0\nUser:consumer")?.value;
    let total = 0;
    for (let at = 8; v !== undefined && at + 16 <= v.length; at += 16) total += v.readDoubleLE(at + 8);
    return total;
  };
  // The response in 64 KiB callbacks; how many of them let all their bytes go on at once.
  const respond = (host: ProxyWasmHost, c: ReturnType<ProxyWasmHost["connect"]>, response: Buffer) => {
    c.toDownstream.length = 0;
    const before = copied(host);
    let went = 0;
    let streamed = 0;
    for (let at = 0; at < response.length; at += 64 * 1024) {
      const part = response.subarray(at, at + 64 * 1024);
      host.upstream(c, part);
      const now = Buffer.concat(c.toDownstream).length;
      if (now === went + part.length) streamed++;
      went = now;
    }
    return { out: Buffer.concat(c.toDownstream), ratio: (copied(host) - before) / response.length, streamed };
  };
  const MiB = 1 << 20;
  const rounds: string[] = [];
  for (const [bound, dryRun] of [[1e9, false], [100_000, false], [100_000, true]] as const) {
    const host = await quotaHost([{ name: "consumers", principal: "User:consumer", fetch_bytes_per_second: bound, dry_run: dryRun }]);
    const c = host.connect();
    host.downstream(c, fetch(1));
    assert.equal(Buffer.concat(c.toUpstream).length, fetch(1).length);
    const response = answer(1, 2 * MiB);
    const r = respond(host, c, response);
    assert.equal(c.closed, false);
    // Counted once, whichever way it went.
    assert.equal(sum(host), response.length - 4);
    rounds.push(`bound ${bound}${dryRun ? " (dry run)" : ""}: ${(r.ratio * response.length).toFixed(0)} ABI bytes for a ${response.length}-byte response (${r.ratio.toFixed(4)}), ${r.streamed} of ${Math.ceil(response.length / (64 * 1024))} callbacks went on at once`);
    c.toUpstream.length = 0;
    if (bound === 1e9 || dryRun) {
      // Within its quota, or over a dry run's (counted, nothing changed): it streams, byte for
      // byte, hardly copied, and nothing is muted.
      assert.ok(r.out.equals(response), "the streamed response changed");
      assert.equal(r.streamed, Math.ceil(response.length / (64 * 1024)), "a callback's bytes were held back");
      assert.ok(r.ratio <= 0.02, `copied ${r.ratio.toFixed(4)} of the response`);
      assert.equal(host.metric("kafka_proxy.quotas.consumers.throttled_responses") ?? 0n, 0n);
      assert.equal(host.metric("kafka_proxy.quotas.consumers.would_throttle") ?? 0n, dryRun ? 1n : 0n);
      host.downstream(c, fetch(2));
      assert.equal(Buffer.concat(c.toUpstream).length, fetch(2).length, "the next fetch waited");
    } else {
      // 2 MiB against 100 kB/s (Kafka's window counts at least 10 s): over at its start. Held
      // whole, it carries the time (Fetch v11's throttle_time_ms is the body's first field)...
      assert.equal(r.out.length, response.length);
      const throttle = r.out.readInt32BE(8);
      assert.ok(throttle > 0, "the response over quota carries no throttle time");
      assert.ok(r.out.subarray(12).equals(response.subarray(12)), "more than throttle_time_ms changed");
      assert.equal(host.metric("kafka_proxy.quotas.consumers.throttled_responses"), 1n);
      // ...and the connection is muted for it: the next fetch waits until a tick after it.
      host.downstream(c, fetch(2));
      assert.equal(Buffer.concat(c.toUpstream).length, 0, "a request went on while the consumer owed throttle time");
      host.advance(throttle + 1);
      host.tick();
      assert.ok(Buffer.concat(c.toUpstream).equals(fetch(2)), "the mute did not end with the throttle time");
    }
  }
  console.error(rounds.join("\n"));
});

// Time owed since a streamed fetch response started (a pipelined produce request went over its
// quota meanwhile) cannot be written into it (its first bytes are gone): the response goes on
// unchanged, the connection is muted after it, and the produce response carries the time.
test("a fetch response streaming when a pipelined produce request runs up throttle time goes on unchanged, then the mute", async () => {
  const host = await quotaHost([{ name: "both", principal: "User:greedy", fetch_bytes_per_second: 1e9, produce_bytes_per_second: 16 }]);
  const c = host.connect();
  const fetch = fetchV11(1, "greedy");
  const response = fetchAnswerV11(1, 1 << 20);
  host.downstream(c, fetch);
  host.upstream(c, response.subarray(0, 64 * 1024));
  assert.equal(Buffer.concat(c.toDownstream).length, 64 * 1024, "the response's start was held");
  // 600 bytes against 16 bytes/s: over at once (the time is owed from now on).
  const produce = produceFrame(2, 600, 1);
  host.downstream(c, produce);
  assert.ok(Buffer.concat(c.toUpstream).equals(Buffer.concat([fetch, produce])));
  host.upstream(c, response.subarray(64 * 1024));
  assert.equal(c.closed, false);
  assert.ok(Buffer.concat(c.toDownstream).equals(response), "the streamed response changed");
  // The mute follows the fetch response as it would any response.
  c.toUpstream.length = 0;
  host.downstream(c, produceFrame(3, 100, 1));
  assert.equal(Buffer.concat(c.toUpstream).length, 0, "a request went on while the producer owed throttle time");
  assert.equal(host.metric("kafka_proxy.quotas.both.throttled_responses"), 1n);
  // The produce response carries the time (Produce v9: header v1, throttle_time_ms last).
  c.toDownstream.length = 0;
  const answer = produceAnswerV9(2);
  host.upstream(c, answer);
  const out = Buffer.concat(c.toDownstream);
  assert.equal(out.length, answer.length);
  assert.ok(out.readInt32BE(out.length - 5) > 0, "the produce response carries no throttle time");
});

// Time owed under a request rate quota (no fetch bound): a fetch response starting while it is
// owed is held whole to carry it, as one owed under a fetch quota.
test("a fetch response starting while request-rate throttle time is owed is held whole and carries it", async () => {
  const host = await quotaHost([{ name: "chatty", principal: "User:chatty", requests_per_second: 1 }]);
  const c = host.connect();
  const fetch = (id: number) => fetchV11(id, "chatty");
  // 12 requests at once against 1 request/s (at least 10 s counted): over.
  host.downstream(c, Buffer.concat(Array.from({ length: 12 }, (_, i) => fetch(i + 1))));
  const response = fetchAnswerV11(1, 1 << 20);
  host.upstream(c, response.subarray(0, 64 * 1024));
  assert.equal(Buffer.concat(c.toDownstream).length, 0, "the response's start went on: it cannot carry the throttle time");
  host.upstream(c, response.subarray(64 * 1024));
  assert.equal(c.closed, false);
  const out = Buffer.concat(c.toDownstream);
  assert.equal(out.length, response.length);
  assert.ok(out.readInt32BE(8) > 0, "the response carries no throttle time");
  assert.equal(host.metric("kafka_proxy.quotas.chatty.throttled_responses"), 1n);
});
