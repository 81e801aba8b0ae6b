// Hostile byte streams against real Envoy + filter + Kafka (framing.test.ts covers oversized and
// negative sizes, bad headers, unknown API keys and undecodable bodies): lying frame lengths, a
// request smuggled inside another's declared length, a version past what the broker offers,
// deep pipelining. Each gets a clear outcome and a counter, and the broker's own listener shows
// that nothing smuggled got through.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { suiteTestBed } from "../harness/testbed.ts";
import { exchange, frames, requestFrame } from "../harness/raw_client.ts";
import { brokerTopics as viewTopics } from "../harness/broker_view.ts";
import { i16, i32, str } from "../harness/kafka_bytes.ts";


// CreateTopics v4 for one topic (what a smuggler would like the broker to run).
const createTopic = (name: string, correlation: number) => requestFrame(19, 4, correlation, "smuggler",
  Buffer.concat([i32(1), str(name), i32(1), i16(1), i32(0), i32(0), i32(5000), Buffer.from([0])]));
// Metadata v6 naming no topics.
const metadata = (correlation: number) => requestFrame(3, 6, correlation, "smuggler", Buffer.concat([i32(0), Buffer.from([0])]));

describe("adversarial traffic through Envoy + filter + Kafka", () => {
  const suite = suiteTestBed("adversarial", {});
  const { guard } = suite;
  const stat = (name: string) => suite.bed.envoy.stat(name);
  const brokerTopics = () => viewTopics(suite.bed.kafka);


  test("a request smuggled inside another's declared length never reaches the broker: the bytes after the outer message are stripped", guard(async () => {
    // Kafka's broker parses the outer message and ignores what follows it in the frame; the
    // filter answers the same way and strips those bytes, so they cannot reach the broker at all.
    const before = await stat("requests_trailing_bytes");
    const outer = metadata(1);
    const hidden = createTopic("smuggled-a", 2);
    const lying = Buffer.concat([outer, hidden]);
    lying.writeInt32BE(lying.length - 4, 0);
    // Sent in pieces that cut through the outer header and the hidden frame's size prefix.
    const r = await exchange(suite.bed.envoy.listenPort, [lying.subarray(0, 7), lying.subarray(7, outer.length + 2), lying.subarray(outer.length + 2)],
      { timeoutMs: 3000, gapMs: 20 });
    assert.equal(r.closedByPeer, false);
    const answers = frames(r.received);
    assert.equal(answers.length, 1);
    assert.equal(answers[0].readInt32BE(4), 1, "the outer Metadata's answer");
    assert.equal(await stat("requests_trailing_bytes"), before + 1);
    assert.ok(!(await brokerTopics()).includes("smuggled-a"));
  }));

  test("a frame length shorter than its body: the rest is not a request of its own", guard(async () => {
    const before = await stat("connections_closed_protocol_error");
    const frame = createTopic("smuggled-b", 1);
    const short = Buffer.from(frame);
    short.writeInt32BE(20, 0); // the header and a bit: the tail would start a new "frame"
    const r = await exchange(suite.bed.envoy.listenPort, [short], { timeoutMs: 3000 });
    assert.equal(r.closedByPeer, true);
    assert.equal(await stat("connections_closed_protocol_error"), before + 1);
    assert.ok(!(await brokerTopics()).includes("smuggled-b"));
  }));

  test("a version past what the broker advertises is refused and counted, not passed on", guard(async () => {
    const before = await stat("requests_unsupported_version");
    const r = await exchange(suite.bed.envoy.listenPort, [requestFrame(0, 14, 1, "future", Buffer.alloc(16))], { timeoutMs: 3000 });
    assert.equal(r.closedByPeer, true);
    assert.equal(await stat("requests_unsupported_version"), before + 1);
  }));

  test("200 pipelined requests in one write are all answered, in order", guard(async () => {
    // Every answer has the size of this one.
    const one = (await exchange(suite.bed.envoy.listenPort, [metadata(999)], { timeoutMs: 3000, expectBytes: 8 })).received;
    const size = one.readInt32BE(0) + 4;
    const before = await stat("requests_forwarded");
    const batch = Buffer.concat(Array.from({ length: 200 }, (_, i) => metadata(1000 + i)));
    const r = await exchange(suite.bed.envoy.listenPort, [batch], { timeoutMs: 10000, expectBytes: 200 * size });
    const answers = frames(r.received);
    assert.ok(answers.length >= 200, `${answers.length} answers`);
    assert.deepEqual(answers.slice(0, 200).map((f) => f.readInt32BE(4)), Array.from({ length: 200 }, (_, i) => 1000 + i));
    assert.equal(await stat("requests_forwarded"), before + 200);
  }));

  test("pipelined requests cut every 13 bytes (through size prefixes and headers) are all answered, in order", guard(async () => {
    const before = await stat("requests_forwarded");
    const batch = Buffer.concat(Array.from({ length: 20 }, (_, i) => metadata(2000 + i)));
    const chunks = Array.from({ length: Math.ceil(batch.length / 13) }, (_, i) => batch.subarray(i * 13, i * 13 + 13));
    const one = (await exchange(suite.bed.envoy.listenPort, [metadata(1)], { timeoutMs: 3000, expectBytes: 8 })).received;
    const r = await exchange(suite.bed.envoy.listenPort, chunks, { timeoutMs: 10000, gapMs: 1, expectBytes: 20 * (one.readInt32BE(0) + 4) });
    assert.deepEqual(frames(r.received).map((f) => f.readInt32BE(4)), Array.from({ length: 20 }, (_, i) => 2000 + i));
    assert.equal(r.closedByPeer, false);
    assert.equal(await stat("requests_forwarded"), before + 21);
  }));
});
