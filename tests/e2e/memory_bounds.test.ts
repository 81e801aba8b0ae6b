// Issue 12, items 10 and 11, against real Envoy + filter + Kafka:
// - one Metadata request with 80,000 refused topics must not hold the worker: another
//   connection's round trips stay under 50 ms while it is processed (it took 10.7 s when the
//   refused entries' bookkeeping was quadratic);
// - connections that announce large frames and never finish them hold at most what
//   max_buffered_bytes allows (the rest are closed and counted), the module's memory stays
//   near that, nothing traps, and other clients are served;
// - the reported attack (8 connections sending 70 MiB of a 100 MiB frame, max_request_bytes
//   raised to 100 MiB) no longer makes the module trap; under FAIL_CLOSED that trap refused
//   every later connection.
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { suiteTestBed } from "../harness/testbed.ts";
import { requestFrame } from "../harness/raw_client.ts";
import { startEnvoy, type Envoy } from "../harness/envoy.ts";
import { freePort } from "../harness/process.ts";
import { str } from "../harness/kafka_bytes.ts";

const MiB = 1048576;


// Metadata v4 naming the refused topic `refused` times, then one allowed topic.
function manyRefused(refused: number, correlationId: number): Buffer {
  const count = Buffer.alloc(4);
  count.writeInt32BE(refused + 1, 0);
  return requestFrame(3, 4, correlationId, "stall", Buffer.concat([count, ...Array(refused).fill(str("secrets")), str("stall-ok"),
    Buffer.from([0])]));
}

// Metadata v1 for no topics: the small request whose round trips are timed.
const small = (correlationId: number) => requestFrame(3, 1, correlationId, "other", Buffer.from([0, 0, 0, 0]));

// A connection that reads whole response frames, one at a time.
class Client {
  private buf = Buffer.alloc(0);
  private waiting: ((b: Buffer) => void)[] = [];
  closed = false;
  constructor(readonly socket: Socket) {
    socket.on("data", (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readInt32BE(0)) {
        const n = 4 + this.buf.readInt32BE(0);
        const frame = this.buf.subarray(0, n);
        this.buf = this.buf.subarray(n);
        this.waiting.shift()?.(frame);
      }
    });
    socket.on("close", () => (this.closed = true));
    socket.on("error", () => (this.closed = true));
  }
  static connect(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = createConnection({ host: "127.0.0.1", port }, () => resolve(new Client(s)));
      s.setNoDelay(true);
      s.once("error", reject);
    });
  }
  request(frame: Buffer, timeoutMs = 30000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no response")), timeoutMs);
      this.waiting.push((b) => {
        clearTimeout(timer);
        resolve(b);
      });
      this.socket.write(frame);
    });
  }
}

// Opens a connection and writes the first `sent` bytes of a request announcing `size` bytes,
// never the rest; resolves once written, or once the proxy closed the connection.
function hold(port: number, size: number, sent: number): Promise<{ socket: Socket; closed: () => boolean }> {
  return new Promise((resolve) => {
    let closed = false;
    const s = createConnection({ host: "127.0.0.1", port });
    s.on("error", () => (closed = true));
    s.on("close", () => {
      closed = true;
      resolve({ socket: s, closed: () => closed });
    });
    s.on("connect", async () => {
      const head = requestFrame(0, 3, 1, "hog");
      head.writeInt32BE(size, 0);
      const chunk = Buffer.alloc(MiB);
      let at = 0;
      while (at < sent && !closed) {
        const piece = at === 0 ? Buffer.concat([head, chunk.subarray(head.length)]) : chunk;
        const n = Math.min(piece.length, sent - at);
        at += n;
        if (!s.write(piece.subarray(0, n))) await new Promise((r) => s.once("drain", r).once("close", r));
      }
      resolve({ socket: s, closed: () => closed });
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// What shows that the module crashed in Envoy.
const TRAPPED = /wasm trap|unreachable|Function: proxy_on_\w+ failed|VM failed|failed to create/i;

const CONFIG = {
  max_request_bytes: 4 * MiB,
  max_buffered_bytes: 64 * MiB,
  principal_sources: ["client_id"],
  acls: {
    rules: [
      { principal: "*", permission: "allow", resource: "topic", name: "*", operations: ["all"] },
      { principal: "*", permission: "deny", resource: "topic", name: "secrets", operations: ["all"] },
      { principal: "*", permission: "allow", resource: "cluster", operations: ["describe", "idempotent_write"] },
    ],
  },
};

describe("memory and CPU bounds through Envoy + filter + Kafka", () => {
  // One worker: the budget is per VM (each Envoy worker has its own), which this test counts.
  const suite = suiteTestBed("memory_bounds", CONFIG, { envoy: () => ({ concurrency: 1 }) });
  const { guard } = suite;
  const stat = (name: string) => suite.bed.envoy.stat(name);

  test("50 connections holding unfinished 4 MiB frames: bounded memory, the excess closed and counted, others served", guard(async () => {
    const port = suite.bed.envoy.listenPort;
    let memory = 0;
    // Two waves: the second finds the memory the first used, and the module's memory stops growing.
    for (let wave = 0; wave < 2; wave++) {
      const before = await stat("frames_over_memory_budget");
      const hogs = await Promise.all(Array.from({ length: 50 }, () => hold(port, 4 * MiB, 4 * MiB - 1)));
      await sleep(1000);
      const open = hogs.filter((h) => !h.closed()).length;
      // Frames past 64 KiB may use half of the 64 MiB: 7 buffers of a whole 4 MiB frame, fewer
      // while other connections hold their first reads.
      assert.ok(open >= 4 && open <= 7, `${open} connections hold their frame`);
      assert.equal(await stat("frames_over_memory_budget") - before, 50 - open);
      // Other clients are served meanwhile.
      const c = await Client.connect(port);
      const r = await c.request(small(1), 10000);
      assert.equal(r.readInt32BE(4), 1);
      c.socket.destroy();
      // The module's memory (sampled as connections come and go; this test runs first, so it is
      // the frames' doing) stays under max_buffered_bytes (52 MiB seen): large frames hold at
      // most half of it, in whole-frame buffers the allocator reuses; the second wave reuses
      // what the first left.
      // Linear memory only grows, and the allocator grows it by doubling, so the bound the README
      // states is twice max_buffered_bytes (52-92 MiB seen here for 64 MiB).
      const now = await stat("wasm_memory_bytes");
      assert.ok(now <= 2 * 64 * MiB, `Wasm memory ${now} bytes`);
      if (wave === 1) assert.equal(now, memory, "the second wave grew the module's memory");
      memory = now;
      for (const h of hogs) h.socket.destroy();
      await sleep(500);
    }
    assert.doesNotMatch(suite.bed.envoy.service.log(), TRAPPED);
  }));

  // Times the other connection's round trips while `stall` sends its request; returns the worst.
  async function worstWhile(stallRequest: Buffer): Promise<{ worst: number; rtts: number[]; answer: Buffer | null }> {
    const port = suite.bed.envoy.listenPort;
    const other = await Client.connect(port);
    for (let i = 0; i < 5; i++) await other.request(small(i)); // warm: the broker connection is up
    const stall = await Client.connect(port);
    let done = false;
    const finished = stall.request(stallRequest, 60000).then((b) => b, () => null).finally(() => (done = true));
    stall.socket.on("close", () => (done = true));
    const rtts: number[] = [];
    for (let i = 100; !done || rtts.length < 20; i++) {
      const t0 = performance.now();
      await other.request(small(i));
      rtts.push(performance.now() - t0);
      await sleep(5);
    }
    const answer = stall.closed ? null : await finished;
    other.socket.destroy();
    stall.socket.destroy();
    return { worst: Math.max(...rtts), rtts, answer };
  }

  test("80,000 refused entries in one request leave other connections' round trips under 50 ms", guard(async () => {
    const before = await stat("authz.requests_denied");
    const { worst, rtts, answer } = await worstWhile(manyRefused(80000, 1));
    // Past 5,000 refusals the filter stops and closes the connection.
    assert.equal(answer, null);
    assert.equal(await stat("authz.requests_denied"), before + 1);
    assert.ok(worst < 50, `worst round trip ${worst.toFixed(1)} ms over ${rtts.length}`);
  }));

  test("5,000 refused entries are answered, each with its error, and others' round trips stay under 50 ms", guard(async () => {
    const { worst, rtts, answer } = await worstWhile(manyRefused(5000, 1));
    assert.ok(answer !== null);
    assert.equal(answer.toString("latin1").split("secrets").length - 1, 5000);
    assert.ok(worst < 50, `worst round trip ${worst.toFixed(1)} ms over ${rtts.length}`);
  }));

  describe("the reported attack: 8 connections x 70 MiB of a 100 MiB frame, max_request_bytes 100 MiB, FAIL_CLOSED", () => {
    let envoy: Envoy | undefined;
    after(async () => {
      await envoy?.stop();
    });

    test("no trap; later connections are served", guard(async () => {
      const bed = suite.bed;
      envoy = await startEnvoy(join(bed.dir), {
        listenPort: await freePort(), upstreamPort: bed.kafka.proxiedPort, filterConfig: { max_request_bytes: 100 * MiB },
        failurePolicy: "FAIL_CLOSED",
      });
      const port = envoy.listenPort;
      const hogs = [];
      // One after another, as the memory would pile up the same way.
      for (let i = 0; i < 8; i++) hogs.push(await hold(port, 100 * MiB, 70 * MiB));
      await sleep(1000);
      const c = await Client.connect(port);
      const r = await c.request(small(1), 10000);
      assert.equal(r.readInt32BE(4), 1);
      c.socket.destroy();
      assert.ok(await envoy.stat("frames_over_memory_budget") >= 1);
      assert.doesNotMatch(envoy.service.log(), TRAPPED);
      for (const h of hogs) h.socket.destroy();
    }));
  });
});
