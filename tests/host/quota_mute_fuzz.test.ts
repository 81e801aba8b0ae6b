// The quotas mute (from a security review): ticks, time passing and the mute's end interleaved with
// writes cut at random points, every request path (produce decided early, requests past
// max_held_bytes, small ones).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProxyWasmHost } from "../host/proxy_wasm_host.ts";
import { WASM } from "../harness/paths.ts";
import { encodeRequest, encodeResponse } from "../harness/kafka_codec.ts";
import { batchOf, seededRandom } from "./produce_frames.ts";

const CONFIG = {
  principal_sources: ["client_id"],
  max_held_bytes: 8192,
  quotas: { rules: [{ name: "slow", principal: "User:greedy", produce_bytes_per_second: 16 }] },
};

// Produce v9 acks=0 by `client` (only `greedy` has a quota: the others add nothing to the mute).
function produceFrame(id: number, bytes: number, client: string, acks = 0): Buffer {
  return encodeRequest(0, 9, id, client, {
    Acks: acks, TimeoutMs: 30000, TopicData: [{ Name: "t", PartitionData: [{ Index: 0, Records: batchOf(bytes, id & 0xff) }] }],
  });
}
function metadataFrame(id: number, bytes: number): Buffer {
  const names: { Name: string }[] = [];
  for (let i = 0, n = 0; n < bytes; i++, n += 42) names.push({ Name: `topic-${String(id).padStart(8, "0")}-${String(i).padStart(23, "0")}` });
  return encodeRequest(3, 4, id, "other", { Topics: names, AllowAutoTopicCreation: false });
}

test("mute with ticks and time passing between random writes: nothing up before its end, then every byte once, in order", async () => {
  const rand = seededRandom(Number(process.env.SEED ?? 3));
  let closed = 0;
  let resumedMidStream = 0;
  for (let round = 0; round < 80; round++) {
    const host = await ProxyWasmHost.load(WASM);
    assert.ok(host.configure(CONFIG));
    const c = host.connect();
    // 600 bytes against 16 B/s: muted for tens of seconds from here.
    const first = produceFrame(1, 600, "greedy");
    host.downstream(c, first);
    assert.equal(Buffer.concat(c.toUpstream).length, 0);
    const frames: Buffer[] = [];
    for (let i = 0, total = 0; total < 9000; i++) {
      const k = rand(4);
      const f = k === 0 ? metadataFrame(10 + i, 300 + rand(9000)) : produceFrame(10 + i, 80 + rand(k === 1 ? 9000 : 1200), "other");
      frames.push(f);
      total += f.length;
    }
    const stream = Buffer.concat(frames);
    // Time in ms since the mute began; it is up after at least 10 s (600 B at 16 B/s over a window).
    let t = 0;
    const endAt = rand(2) === 0 ? Infinity : rand(stream.length);
    let ended = false;
    for (let at = 0; at < stream.length && !c.closed;) {
      if (!ended && at >= endAt) {
        host.advance(120_000);
        t += 120_000;
        ended = true;
        host.tick();
      }
      const n = 1 + rand(rand(4) === 0 ? 7000 : 400);
      host.downstream(c, stream.subarray(at, at + n));
      at += n;
      if (rand(3) === 0) {
        const dt = rand(ended ? 3000 : 1500);
        if (!ended && t + dt < 9000) {
          host.advance(dt);
          t += dt;
        }
        host.tick();
      }
      if (!ended) assert.equal(Buffer.concat(c.toUpstream).length, 0, `round ${round}: bytes went up while muted (at ${at})`);
    }
    if (c.closed) {
      closed++;
      assert.ok(host.logs.some((l) => l.message.includes("past max_held_bytes")), `round ${round}: ` + host.logs.map((l) => l.message).join("\n"));
      continue;
    }
    if (ended && Buffer.concat(c.toUpstream).length > 0) resumedMidStream++;
    if (process.env.DBG) console.error(`round ${round} ended ${ended} endAt ${endAt} of ${stream.length} up ${Buffer.concat(c.toUpstream).length} held ${c.held[2].length}`);
    host.advance(120_000);
    host.tick();
    host.tick();
    const up = Buffer.concat(c.toUpstream);
    const want = Buffer.concat([first, stream]);
    let diff = 0;
    while (diff < Math.min(up.length, want.length) && up[diff] === want[diff]) diff++;
    assert.ok(up.equals(want), `round ${round}: the broker got ${up.length} bytes, not the client's ${want.length} (first difference at ${diff}); held ${c.held[2].length}`);
  }
  console.error(`closed ${closed}, resumed mid-stream ${resumedMidStream} of 80`);
});

test("a mute that begins mid-stream (an acks=1 response) stops every request path at once; the tick sends the rest once, in order", async () => {
  const rand = seededRandom(Number(process.env.SEED ?? 7));
  let closed = 0;
  for (let round = 0; round < 80; round++) {
    const host = await ProxyWasmHost.load(WASM);
    assert.ok(host.configure(CONFIG));
    const c = host.connect();
    const first = produceFrame(1, 600, "greedy", 1);
    const frames: Buffer[] = [];
    for (let i = 0, total = 0; total < 9000; i++) {
      const k = rand(4);
      const f = k === 0 ? metadataFrame(10 + i, 300 + rand(9000)) : produceFrame(10 + i, 80 + rand(k === 1 ? 9000 : 1200), "other");
      frames.push(f);
      total += f.length;
    }
    const stream = Buffer.concat([first, ...frames]);
    const respondAt = first.length + rand(stream.length - first.length);
    let responded = false;
    let upAtMute = -1;
    for (let at = 0; at < stream.length && !c.closed;) {
      if (!responded && at >= respondAt) {
        responded = true;
        host.upstream(c, encodeResponse(0, 9, 1, {
          Responses: [{ Name: "t", PartitionResponses: [{ Index: 0, ErrorCode: 0, BaseOffset: 0n, LogAppendTimeMs: -1n, LogStartOffset: 0n, RecordErrors: [], ErrorMessage: null }] }],
          ThrottleTimeMs: 0,
        }));
        const answer = Buffer.concat(c.toDownstream);
        assert.ok(answer.readInt32BE(answer.length - 5) > 0, "the response carries a throttle time");
        upAtMute = Buffer.concat(c.toUpstream).length;
      }
      const n = 1 + rand(rand(4) === 0 ? 7000 : 400);
      host.downstream(c, stream.subarray(at, at + n));
      at += n;
      if (rand(3) === 0) {
        host.advance(rand(1000));
        host.tick();
      }
      if (responded) assert.equal(Buffer.concat(c.toUpstream).length, upAtMute, `round ${round}: bytes went up while muted (at ${at})`);
    }
    if (c.closed) {
      closed++;
      assert.ok(host.logs.some((l) => l.message.includes("past max_held_bytes")), `round ${round}: ` + host.logs.map((l) => l.message).join("\n"));
      continue;
    }
    host.advance(120_000);
    host.tick();
    host.tick();
    const up = Buffer.concat(c.toUpstream);
    let diff = 0;
    while (diff < Math.min(up.length, stream.length) && up[diff] === stream[diff]) diff++;
    assert.ok(up.equals(stream), `round ${round}: the broker got ${up.length} bytes, not the client's ${stream.length} (first difference at ${diff}); held ${c.held[2].length}`);
  }
  console.error(`closed ${closed} of 80`);
});
