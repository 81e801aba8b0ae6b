// Issue 14 in the test host: record payloads stay in the host's buffer. Large produce requests
// and fetch responses arrive in many data callbacks; what the module copies across the ABI
// (its own counters, which the fuzzer holds equal to the host's count of copied bytes) stays a
// small fraction of what it forwards, while the forwarded bytes, the record counts and the
// policies' edits stay exactly what they were when every byte was copied.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ProxyWasmHost, type Connection } from "./proxy_wasm_host.ts";
import { POLICIES } from "./fuzz.ts";
import { decodeRequest, encodeRequest, encodeResponse } from "../harness/kafka_codec.ts";
import { frames } from "../harness/raw_client.ts";
import { WASM } from "../harness/paths.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

// A record set of v2 batches of `batchBytes` each (headers valid, `perBatch` records counted in
// each), `bytes` long in all.
function recordSet(bytes: number, batchBytes: number, perBatch: number): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes; at += batchBytes) {
    const n = Math.min(batchBytes, bytes - at);
    const b = Buffer.alloc(n, 0x5a);
    b.writeBigInt64BE(0n, 0);
    b.writeInt32BE(n - 12, 8);
    b.writeInt32BE(0, 12);
    b[16] = 2;
    b.writeInt32BE(perBatch, 57);
    parts.push(b);
  }
  return Buffer.concat(parts);
}

const produce = (version: number, correlationId: number, topics: [string, Buffer][]) =>
  encodeRequest(0, version, correlationId, "hot-path", {
    Acks: -1, TimeoutMs: 30000,
    TopicData: topics.map(([Name, Records]) => ({ Name, PartitionData: [{ Index: 0, Records }] })),
  });

const metric = (host: ProxyWasmHost, name: string) => Number(host.metric(`kafka_proxy.${name}`) ?? 0n);
const copied = (host: ProxyWasmHost) => metric(host, "abi_bytes_read") + metric(host, "abi_bytes_written");

function chunks(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

async function hostWith(policy: string): Promise<ProxyWasmHost> {
  const host = await ProxyWasmHost.load(WASM);
  assert.ok(host.configure(POLICIES[policy]));
  return host;
}

function send(host: ProxyWasmHost, c: Connection, bytes: Buffer, chunk: number): void {
  for (const part of chunks(bytes, chunk)) host.downstream(c, part);
}

describe("hot path: record payloads stay in the host's buffer (issue 14)", () => {
  for (const policy of ["metrics", "acls", "rewrite"]) {
    test(`${policy}: 4 pipelined 1 MiB produce requests in 64 KiB callbacks go on byte for byte, under 2% copied`, async () => {
      const host = await hostWith(policy);
      const c = host.connect();
      const input = Buffer.concat([1, 2, 3, 4].map((i) => produce(9, i, [["capture", recordSet(MiB, 16 * KiB, 16)]])));
      const before = copied(host);
      send(host, c, input, 64 * KiB);
      const sent = Buffer.concat(c.toUpstream);
      assert.equal(c.closed, false);
      if (policy === "rewrite") {
        // Not the tenant's client id: names go as they are.
        assert.ok(sent.equals(input));
      } else {
        assert.ok(sent.equals(input), "forwarded bytes differ");
      }
      const ratio = (copied(host) - before) / input.length;
      assert.ok(ratio <= 0.02, `copied ${ratio.toFixed(4)} of the forwarded bytes`);
      if (policy === "metrics") assert.equal(metric(host, "topic_produce_records.topic.capture"), 4 * 64 * 16);
    });
  }

  // Envoy allocates what proxy_get_buffer_bytes hands over through the module's `malloc` export
  // when it has one (proxy-wasm-cpp-host's WasmBase::getFunctions), not proxy_on_memory_allocate:
  // that must be the allocator returning the destination the read armed, or every read in Envoy
  // allocates a block, copies out of it and frees it (2.1 reads per produce pair under callgrind:
  // ~2,000 instructions a pair). The test host calls the allocator Envoy would.
  test("the allocator Envoy calls (malloc) is the armed one", async () => {
    const host = await hostWith("metrics");
    assert.equal(host.allocator, "malloc");
    assert.ok(host.sameExport("malloc", "proxy_on_memory_allocate"), "malloc is not proxy_on_memory_allocate");
  });

  // A clock read costs Envoy about 1,200 instructions: the requests of one data callback are
  // stamped with one read, the responses of one callback timed with one, whatever their number.
  test("metrics: 10 requests in one callback and their 10 responses in one read the clock twice", async () => {
    const host = await hostWith("metrics");
    const c = host.connect();
    const requests = (from: number, n: number) =>
      Buffer.concat(Array.from({ length: n }, (_, i) => produce(9, from + i, [["capture", recordSet(KiB, KiB, 1)]])));
    const responses = (from: number, n: number) => Buffer.concat(Array.from({ length: n }, (_, i) => encodeResponse(0, 9, from + i, {
      Responses: [{ Name: "capture", PartitionResponses: [{ Index: 0, ErrorCode: 0, BaseOffset: 0n, LogAppendTimeMs: -1n, LogStartOffset: 0n, RecordErrors: [], ErrorMessage: null }] }],
      ThrottleTimeMs: 0,
    })));
    // The first exchange defines the metrics' labels (shared data calls).
    host.downstream(c, requests(0, 1));
    host.upstream(c, responses(0, 1));
    c.toDownstream.length = 0;
    const input = requests(1, 10);
    const answers = responses(1, 10);
    const before = host.stateCalls;
    host.downstream(c, input);
    assert.equal(host.stateCalls - before, 1, "clock reads for 10 requests");
    host.upstream(c, answers);
    assert.equal(host.stateCalls - before, 2, "clock reads for 10 responses");
    assert.equal(c.closed, false);
    assert.ok(Buffer.concat(c.toDownstream).equals(answers));
    // The test host's clock moves 1 µs a read: each response is timed 1 µs after its request.
    assert.equal(metric(host, "latency_us.api.Produce.v.9"), 1);
    assert.equal(metric(host, "requests_forwarded"), 11);
  });

  // Each proxy_get_buffer_bytes costs Envoy about a microsecond (it calls back into the module to
  // allocate the copy), more than the bytes: a produce request whose header, structure and first
  // batch header fit in one read window costs that read and one for the bytes after its record
  // set; its response one read; a rewritten one the same reads and one write each way. No counter
  // is handed to the host per frame.
  for (const policy of ["metrics", "acls", "rewrite"]) {
    test(`${policy}: a 64 KiB produce request costs 2 buffer reads, its response 1, no metric call`, async () => {
      const host = await hostWith(policy);
      const c = host.connect();
      const tenant = policy === "rewrite" ? "kafkajs-capture" : "perf-producer";
      const calls = () => ({ ...c.abiBytes });
      const increments = host.incrementCalls;
      for (let i = 0; i < 20; i++) {
        const request = encodeRequest(0, 9, i, tenant, {
          Acks: -1, TimeoutMs: 30000, TopicData: [{ Name: "capture", PartitionData: [{ Index: 0, Records: recordSet(64 * KiB, 64 * KiB, 64) }] }],
        });
        const before = calls();
        send(host, c, request, 16 * KiB);
        const afterRequest = calls();
        host.upstream(c, encodeResponse(0, 9, i, {
          Responses: [{ Name: policy === "rewrite" ? "t.capture" : "capture", PartitionResponses: [{ Index: 0, ErrorCode: 0, BaseOffset: 0n, LogAppendTimeMs: -1n, LogStartOffset: 0n, RecordErrors: [], ErrorMessage: null }] }],
          ThrottleTimeMs: 0,
        }));
        const after = calls();
        const writes = policy === "rewrite" ? 1 : 0;
        assert.deepEqual([afterRequest.reads - before.reads, afterRequest.writes - before.writes], [2, writes], `request ${i}: reads, writes`);
        assert.deepEqual([after.reads - afterRequest.reads, after.writes - afterRequest.writes], [1, writes], `response ${i}: reads, writes`);
      }
      assert.equal(c.closed, false);
      // Counters are summed in the module and handed over on its ticks, not called per frame.
      assert.equal(host.incrementCalls - increments, 0, "proxy_increment_metric calls between ticks");
      if (policy === "metrics") assert.equal(metric(host, "topic_produce_records.topic.capture"), 20 * 64);
      if (policy === "rewrite") assert.ok(Buffer.concat(c.toUpstream).includes("t.capture"), "the tenant's topic renamed");
    });
  }

  // A producer with requests in flight sends them back to back: the read of what follows a
  // request's last record set (its empty tagged fields) takes the next request's start with it
  // (copyAhead), so such a request costs one read, not two.
  for (const policy of ["metrics", "acls", "rewrite"]) {
    test(`${policy}: back-to-back 64 KiB produce requests cost 1 buffer read each, byte for byte`, async () => {
      const host = await hostWith(policy);
      const c = host.connect();
      const tenant = policy === "rewrite" ? "kafkajs-capture" : "perf-producer";
      const input = Buffer.concat(Array.from({ length: 20 }, (_, i) => encodeRequest(0, 9, i, tenant, {
        Acks: -1, TimeoutMs: 30000, TopicData: [{ Name: "capture", PartitionData: [{ Index: 0, Records: recordSet(64 * KiB, 64 * KiB, 64) }] }],
      })));
      const before = c.abiBytes.reads;
      send(host, c, input, 16 * KiB);
      // The first request's window, then one read per request end (the last one's finds no
      // request behind it): 21, where reading each request's end alone took 40. A renamed
      // request costs one more: its rename rewrites the callback's first bytes, so the end of
      // the request before it is copied out too (59 before).
      assert.equal(c.abiBytes.reads - before, policy === "rewrite" ? 40 : 21);
      assert.equal(c.closed, false);
      const sent = Buffer.concat(c.toUpstream);
      if (policy === "rewrite") assert.equal(frames(sent).length, 20);
      else assert.ok(sent.equals(input), "forwarded bytes differ");
      if (policy === "metrics") assert.equal(metric(host, "topic_produce_records.topic.capture"), 20 * 64);
    });
  }

  // Quotas (issue 17): a principal without a quota costs no host call more than the same
  // policy without the stage (the rule is looked up once per principal, in the module); one
  // with a quota pays its bucket's shared data (read, compare-and-swap write) per request. Its
  // clock reads, even while it owes throttle time (here: always, far over its quota), are the
  // data callback's one clock read, which the request and response stamps take anyway.
  test("quotas: no shared-data or clock call more per frame for a principal without a quota", async () => {
    const quotas = { rules: [{ name: "other", principal: "User:someone-else", produce_bytes_per_second: 1000 }] };
    const perExchange: number[] = [];
    for (const [policy, clientId] of [[POLICIES.acls, "perf-producer"], [{ ...POLICIES.acls, quotas }, "perf-producer"],
      [{ ...POLICIES.acls, quotas }, "someone-else"]] as [object, string][]) {
      const host = await ProxyWasmHost.load(WASM);
      assert.ok(host.configure(policy));
      const c = host.connect();
      const exchange = (i: number) => {
        send(host, c, encodeRequest(0, 9, i, clientId, {
          Acks: -1, TimeoutMs: 30000, TopicData: [{ Name: "capture", PartitionData: [{ Index: 0, Records: recordSet(16 * KiB, 16 * KiB, 16) }] }],
        }), 64 * KiB);
        host.upstream(c, encodeResponse(0, 9, i, {
          Responses: [{ Name: "capture", PartitionResponses: [{ Index: 0, ErrorCode: 0, BaseOffset: 0n, LogAppendTimeMs: -1n, LogStartOffset: 0n, RecordErrors: [], ErrorMessage: null }] }],
          ThrottleTimeMs: 0,
        }));
      };
      exchange(0);
      const before = host.stateCalls;
      for (let i = 1; i <= 20; i++) exchange(i);
      assert.equal(c.closed, false);
      perExchange.push((host.stateCalls - before) / 20);
    }
    assert.equal(perExchange[1], perExchange[0], `without a quota: ${perExchange[1]} calls per exchange, ${perExchange[0]} without the stage`);
    assert.equal(perExchange[2], perExchange[0] + 2, `with a quota: ${perExchange[2]}`);
  });

  test("metrics: a produce request whose last record set arrives a byte at a time is counted whole", async () => {
    const host = await hostWith("metrics");
    const c = host.connect();
    const input = produce(9, 7, [["capture", recordSet(4 * KiB, 1 * KiB, 3)]]);
    send(host, c, input.subarray(0, 200), 200);
    send(host, c, input.subarray(200), 1);
    assert.ok(Buffer.concat(c.toUpstream).equals(input));
    assert.equal(metric(host, "topic_produce_records.topic.capture"), 12);
    assert.equal(metric(host, "requests_forwarded"), 1);
  });

  test("acls: a refused topic after an allowed one's 1 MiB records is cut out, the allowed records intact", async () => {
    const host = await hostWith("acls");
    const c = host.connect();
    const allowed = recordSet(MiB, 16 * KiB, 16);
    const input = produce(9, 9, [["capture", allowed], ["secrets", recordSet(256 * KiB, 16 * KiB, 16)]]);
    send(host, c, input, 64 * KiB);
    const sent = Buffer.concat(c.toUpstream);
    assert.equal(c.closed, false);
    const out = frames(sent);
    assert.equal(out.length, 1);
    const req = decodeRequest(out[0]);
    assert.deepEqual(req.body.TopicData.map((t: { Name: string }) => t.Name), ["capture"]);
    assert.ok(req.body.TopicData[0].PartitionData[0].Records.equals(allowed));
    assert.ok(!sent.includes("secrets"));
  });

  test("acls: a refused last topic decided before its records arrive: they never reach the broker", async () => {
    const host = await hostWith("acls");
    const c = host.connect();
    const input = produce(9, 11, [["capture", recordSet(16 * KiB, 16 * KiB, 4)], ["secrets", recordSet(MiB, 16 * KiB, 16)]]);
    send(host, c, input, 32 * KiB);
    const sent = Buffer.concat(c.toUpstream);
    assert.equal(c.closed, false);
    const out = frames(sent);
    assert.equal(out.length, 1, "one whole edited frame");
    assert.deepEqual(decodeRequest(out[0]).body.TopicData.map((t: { Name: string }) => t.Name), ["capture"]);
    assert.ok(sent.length < 20 * KiB, `${sent.length} bytes went on`);
  });

  for (const version of [12, 13]) {
    test(`metrics and acls: a 2 MiB fetch v${version} response in 64 KiB callbacks goes on as it arrives, under 2% copied`, async () => {
      for (const policy of ["metrics", "acls"]) {
        const host = await hostWith(policy);
        const c = host.connect();
        const topicId = Buffer.alloc(16, 7);
        const request = encodeRequest(1, version, 21, "hot-path", {
          ReplicaId: -1, MaxWaitMs: 100, MinBytes: 1, MaxBytes: 50 * MiB, IsolationLevel: 0, SessionId: 0, SessionEpoch: -1,
          Topics: [{ Topic: "capture", TopicId: topicId, Partitions: [{ Partition: 0, FetchOffset: 0, PartitionMaxBytes: 4 * MiB }] }],
        });
        host.downstream(c, request);
        if (version >= 13 && policy === "acls") {
          // An id never named by a Metadata response is refused before it reaches the broker: the
          // filter answers (an ApiVersions stand-in goes up in its place).
          const up = Buffer.concat(c.toUpstream);
          assert.equal(up.length, 14);
          assert.equal(up.readInt16BE(4), 18);
          continue;
        }
        assert.equal(Buffer.concat(c.toUpstream).length, request.length);
        const records = recordSet(2 * MiB, 16 * KiB, 16);
        const response = encodeResponse(1, version, 21, {
          ThrottleTimeMs: 0, ErrorCode: 0, SessionId: 0,
          Responses: [{ Topic: "capture", TopicId: topicId, Partitions: [{ PartitionIndex: 0, HighWatermark: 128, Records: records }] }],
        });
        const before = copied(host);
        let went = 0;
        for (const part of chunks(response, 64 * KiB)) {
          host.upstream(c, part);
          const now = Buffer.concat(c.toDownstream).length;
          // Each callback's bytes leave in it: nothing is held back until the frame's end.
          assert.equal(now, went + part.length);
          went = now;
        }
        assert.ok(Buffer.concat(c.toDownstream).equals(response), `${policy}: forwarded bytes differ`);
        const ratio = (copied(host) - before) / response.length;
        assert.ok(ratio <= 0.02, `${policy}: copied ${ratio.toFixed(4)} of the forwarded bytes`);
        assert.equal(metric(host, "responses_forwarded"), 1);
        if (policy === "metrics" && version === 12) assert.equal(metric(host, "topic_fetch_records.topic.capture"), 128 * 16);
      }
    });
  }

  // Guardrails (issue 18) read the batch headers as the records go by, and nothing else of them.
  const GUARDRAILS = {
    principal_sources: ["client_id"],
    guardrails: [{ name: "producers", acks: ["all"], compression: ["none", "zstd"], max_batch_records: 1000 }],
  };
  const guardedHost = async (): Promise<ProxyWasmHost> => {
    const host = await ProxyWasmHost.load(WASM);
    assert.ok(host.configure(GUARDRAILS));
    return host;
  };
  // recordSet's batches with plain attributes (no compression; recordSet leaves filler there).
  const plain = (records: Buffer, batchBytes: number): Buffer => {
    const b = Buffer.from(records);
    for (let at = 0; at + 61 <= b.length; at += batchBytes) b.writeInt16BE(0, at + 21);
    return b;
  };
  // Compression codec 1 (gzip) in the attributes of batch `index` of a record set.
  const gzipAt = (records: Buffer, batchBytes: number, index: number): Buffer => {
    const b = plain(records, batchBytes);
    b.writeInt16BE(1, index * batchBytes + 21);
    return b;
  };

  test("guardrails: 4 pipelined 1 MiB compliant produce requests in 64 KiB callbacks go on byte for byte, under 2% copied", async () => {
    const host = await guardedHost();
    const c = host.connect();
    const input = Buffer.concat([1, 2, 3, 4].map((i) => produce(9, i, [["capture", plain(recordSet(MiB, 16 * KiB, 16), 16 * KiB)]])));
    const before = copied(host);
    send(host, c, input, 64 * KiB);
    assert.equal(c.closed, false);
    assert.ok(Buffer.concat(c.toUpstream).equals(input), "forwarded bytes differ");
    const ratio = (copied(host) - before) / input.length;
    assert.ok(ratio <= 0.02, `copied ${ratio.toFixed(4)} of the forwarded bytes`);
    assert.equal(metric(host, "guardrails.producers.violations"), 0);
  });

  test("guardrails: a forbidden codec in the first callback's batch is answered, nothing goes to the broker", async () => {
    const host = await guardedHost();
    const c = host.connect();
    const input = produce(9, 5, [["capture", gzipAt(recordSet(MiB, 16 * KiB, 16), 16 * KiB, 0)]]);
    send(host, c, input, 64 * KiB);
    assert.equal(c.closed, false);
    // Nothing of the request went up (an ApiVersions stand-in keeps the correlation order).
    assert.ok(Buffer.concat(c.toUpstream).length < 64, `${Buffer.concat(c.toUpstream).length} bytes went up`);
    assert.equal(metric(host, "guardrails.producers.violations"), 1);
  });

  test("guardrails: a forbidden codec in a batch arriving after the request was decided closes the connection before the frame's end goes on", async () => {
    const host = await guardedHost();
    const c = host.connect();
    const input = produce(9, 6, [["capture", gzipAt(recordSet(MiB, 16 * KiB, 16), 16 * KiB, 40)]]);
    send(host, c, input, 64 * KiB);
    assert.equal(c.closed, true);
    const up = Buffer.concat(c.toUpstream).length;
    assert.ok(up < input.length - 16 * KiB, `${up} of ${input.length} bytes went up`);
    assert.equal(metric(host, "guardrails.producers.violations"), 1);
  });

  test("guardrails: a 2 MiB fetch v13 response by a topic id no Metadata response named goes on as it arrives, under 2% copied", async () => {
    const host = await guardedHost();
    const c = host.connect();
    const topicId = Buffer.alloc(16, 9);
    const request = encodeRequest(1, 13, 31, "hot-path", {
      ReplicaId: -1, MaxWaitMs: 100, MinBytes: 1, MaxBytes: 50 * MiB, IsolationLevel: 0, SessionId: 0, SessionEpoch: -1,
      Topics: [{ TopicId: topicId, Partitions: [{ Partition: 0, FetchOffset: 0, PartitionMaxBytes: 4 * MiB }] }],
    });
    host.downstream(c, request);
    assert.ok(Buffer.concat(c.toUpstream).equals(request));
    const response = encodeResponse(1, 13, 31, {
      ThrottleTimeMs: 0, ErrorCode: 0, SessionId: 0,
      Responses: [{ TopicId: topicId, Partitions: [{ PartitionIndex: 0, HighWatermark: 128, Records: recordSet(2 * MiB, 16 * KiB, 16) }] }],
    });
    const before = copied(host);
    for (const part of chunks(response, 64 * KiB)) host.upstream(c, part);
    assert.equal(c.closed, false);
    assert.ok(Buffer.concat(c.toDownstream).equals(response), "forwarded bytes differ");
    assert.ok((copied(host) - before) / response.length <= 0.02);
  });

  test("an idle connection holds no frame-sized buffer after a 1 MiB frame", async () => {
    const host = await hostWith("acls");
    const warm = host.connect();
    send(host, warm, produce(9, 1, [["capture", recordSet(MiB, 16 * KiB, 16)]]), 64 * KiB);
    const base = host.memoryBytes();
    for (let i = 0; i < 200; i++) {
      const c = host.connect();
      send(host, c, produce(9, 1, [["capture", recordSet(MiB, 16 * KiB, 16)]]), 64 * KiB);
    }
    const perConnection = (host.memoryBytes() - base) / 200;
    assert.ok(perConnection <= 8 * KiB, `${perConnection} bytes per connection`);
  });
});
