// Framing through real Envoy + filter + Kafka with hand-made bytes: frames split into single
// bytes or coalesced into one write still reach the broker and come back in order; frames the
// filter cannot check are never forwarded: it counts them, logs why and closes the connection.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { suiteTestBed } from "../harness/testbed.ts";
import { exchange, frames, requestFrame } from "../harness/raw_client.ts";

const API_VERSIONS = 18;
const METADATA = 3;
const MAX_REQUEST = 64 * 1024;

// Metadata v4 for all topics: null topic list, allow auto-creation false.
const metadataAllTopics = () => Buffer.from([0xff, 0xff, 0xff, 0xff, 0]);

describe("framing through Envoy + filter + Kafka", () => {
  const suite = suiteTestBed("framing", { max_request_bytes: MAX_REQUEST });
  const { guard } = suite;
  const port = () => suite.bed.envoy.listenPort;

  test("a request split into 1-byte writes is reassembled and answered", guard(async () => {
    const req = requestFrame(API_VERSIONS, 0, 41, "split");
    const chunks = [...req].map((b) => Buffer.from([b]));
    const r = await exchange(port(), chunks, { gapMs: 2, timeoutMs: 8000, expectBytes: 8 });
    const [resp] = frames(r.received);
    assert.ok(resp, "no response");
    assert.equal(resp.readInt32BE(4), 41, "correlation id");
    assert.equal(resp.readInt16BE(8), 0, "error code");
  }));

  test("pipelined requests coalesced into one write are answered in order", guard(async () => {
    const batch = Buffer.concat([
      requestFrame(API_VERSIONS, 0, 1, "pipe"),
      requestFrame(METADATA, 4, 2, "pipe", metadataAllTopics()),
      requestFrame(API_VERSIONS, 2, 3, "pipe"),
    ]);
    const r = await exchange(port(), [batch], { timeoutMs: 8000 });
    const got = frames(r.received).map((f) => f.readInt32BE(4));
    assert.deepEqual(got.slice(0, 3), [1, 2, 3]);
  }));

  const refused = async (bytes: Buffer, counter: string, logText: RegExp) => {
    const before = await suite.bed.envoy.stat(counter);
    const closesBefore = await suite.bed.envoy.stat("connections_closed_protocol_error");
    const r = await exchange(port(), [bytes], { timeoutMs: 8000 });
    assert.equal(r.closedByPeer, true, "connection closed by the proxy");
    assert.equal(r.received.length, 0, "nothing answered");
    assert.equal(await suite.bed.envoy.stat(counter), before + 1, counter);
    assert.equal(await suite.bed.envoy.stat("connections_closed_protocol_error"), closesBefore + 1);
    assert.match(suite.bed.envoy.service.log(), logText);
  };

  test("a frame larger than max_request_bytes is refused", guard(async () => {
    const big = Buffer.alloc(8);
    big.writeInt32BE(MAX_REQUEST + 1, 0);
    await refused(big, "requests_oversized", /larger than the configured maximum of 65536/);
  }));

  test("a negative frame size is refused", guard(async () => {
    await refused(Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2, 3]), "requests_malformed", /negative frame size -16/);
  }));

  test("an undecodable request header is refused", guard(async () => {
    await refused(Buffer.from([0, 0, 0, 3, 0, 18, 0]), "requests_malformed", /undecodable request header/);
  }));

  test("an unknown API key is refused", guard(async () => {
    await refused(requestFrame(999, 0, 5, "x"), "requests_unsupported_version", /unknown API key 999 version 0/);
  }));

  test("a body that does not match its schema is refused", guard(async () => {
    // Metadata v4 claiming 5 topics but carrying none.
    await refused(requestFrame(METADATA, 4, 6, "x", Buffer.from([0, 0, 0, 5, 0])), "requests_malformed", /Metadata v4 request body does not decode/);
  }));

  test("the filter is still healthy for well-formed traffic afterwards", guard(async () => {
    const r = await exchange(port(), [requestFrame(API_VERSIONS, 0, 77, "after")], { timeoutMs: 8000, expectBytes: 8 });
    assert.equal(frames(r.received)[0]?.readInt32BE(4), 77);
  }));
});
