// The memory scenario of issue 14: Wasm memory per idle connection. Through one Envoy worker (one
// VM, whose kafka_proxy.wasm_memory_bytes gauge is then that VM's linear memory), `target` client
// connections each do one ApiVersions exchange with the broker and stay open, idle (idleMemory).
// In another fresh VM, connections each carry one Produce with a 1 MiB record (answered) and stay
// open too (bigFrames): one that kept its frame-sized buffer would add 1 MiB each; released, the
// next one reuses the block.
// Linear memory never shrinks and the module's allocator (AssemblyScript's TLSF) grows it by
// doubling it, so the gauge is a high-water mark up to twice the need. The need per idle
// connection is read off the growth steps instead: the heap is full at each step, so between two
// steps the memory in use grew by the size before the second minus the size before the first,
// over the connections opened in between (exact to the batch of connections the gauge is read
// after, 16 of thousands).
//
// File descriptors: Envoy holds two per proxied connection (client side and broker side). Node
// raises its own soft limit to the hard one at start and its children (Envoy, Kafka) inherit it;
// no process here may go past the hard limit, so when it cannot carry `target` connections the
// scenario opens as many as it can and says so (`limitedBy`).
import { readdirSync, readFileSync } from "node:fs";
import { createConnection, Socket } from "node:net";
import type { Envoy } from "../harness/envoy.ts";
import { requestFrame } from "../harness/raw_client.ts";
import { encodeRequest } from "../harness/kafka_codec.ts";
import { recordBatch } from "../e2e/oracle/fill.ts";

export interface IdleMemory {
  // Idle connections opened (and open when measured), and the count asked for.
  connections: number;
  target: number;
  // Why fewer than `target`: the fd hard limit and what Envoy already held.
  limitedBy?: string;
  // The gauge before the idle connections (after a few that came and went) and with them.
  baseBytes: number;
  idleBytes: number;
  // (idleBytes - baseBytes) / connections: what the linear memory came to, per connection. The
  // module's allocator grows the memory by doubling it, so this is up to twice the need.
  highWaterPerIdleConnection: number;
  // The memory's growth steps as connections were opened: [connections open, bytes after the step].
  steps: [number, number][];
  // The need per connection: between two growth steps, the memory in use went from the size
  // before the first to the size before the second (each step happens as soon as the heap is
  // full), over the connections opened in between. From the last two steps; NaN with fewer.
  perIdleConnection: number;
  // kafka_proxy.connections_active with the idle connections open.
  activeConnections: number;
  // Connections closed before their answer and replaced.
  retried: number;
}

export interface BigFrames {
  // Connections that carried one 1 MiB record each (in turn, in a fresh VM), then idled; the
  // gauge after the first and after the last; the growth per such connection after the first
  // (an upper bound of what each keeps: the memory grows by doubling).
  connections: number;
  afterFirstBytes: number;
  afterAllBytes: number;
  perConnection: number;
  // Whether the memory grew by at least 1 MiB per connection after the first: what keeping the
  // frame-sized buffers takes at least (a doubling of a few MiB does not reach it past 8 frames).
  kept: boolean;
}

// The gauge is sampled as each connection starts (and ends, and every 5 s; filters/kafka_proxy.ts):
// a probe connection that starts after everything else is in place, and gets its answer, has
// made the gauge show the memory with all of it.
async function sample(envoy: Envoy, clientId: string): Promise<number> {
  const probe = await open(envoy.listenPort);
  try {
    await exchange(probe, requestFrame(18, 2, 99, clientId));
    return await envoy.stat("wasm_memory_bytes");
  } finally {
    probe.destroy();
  }
}
const MiB = 1048576;

export function hardFdLimit(): number {
  const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
  const hard = line?.trim().split(/\s+/)[4];
  return hard === undefined || hard === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(hard);
}

// One request, whole frames back until the first response is complete; rejects on close.
function exchange(s: Socket, frame: Buffer, timeoutMs = 30000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error("no answer in time")), timeoutMs);
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 4 && got.length >= 4 + got.readInt32BE(0)) done(null);
    };
    const onClose = (e?: unknown) => done(new Error(`closed before the answer${e instanceof Error ? ` (${e.message})` : ""}`));
    const done = (err: Error | null) => {
      clearTimeout(timer);
      s.off("data", onData);
      s.off("close", onClose);
      s.off("error", onClose);
      if (err) reject(err);
      else resolve(got);
    };
    s.on("data", onData);
    s.on("close", onClose);
    s.on("error", onClose);
    s.write(frame);
  });
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.off("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
}

// Opens `target` idle connections (fewer when the fd limit says so), `batch` at a time, and
// follows the gauge's growth steps.
export async function idleMemory(envoy: Envoy, clientId: string, target: number): Promise<IdleMemory> {
  const sockets: Socket[] = [];
  const apiVersions = requestFrame(18, 2, 1, clientId);
  const gauge = () => envoy.stat("wasm_memory_bytes");
  // Two fds per connection in Envoy, what it holds already, and room for a few more.
  const envoyFds = readdirSync(`/proc/${envoy.service.pid}/fd`).length;
  const connections = Math.min(target, Math.floor((hardFdLimit() - envoyFds - 64) / 2));
  // A connection closed before its answer (seen once, on a loaded machine, without a word in
  // Envoy's or the filter's log) is replaced by another, up to 1% of them.
  let retried = 0;
  const idle = async (): Promise<void> => {
    const s = await open(envoy.listenPort);
    sockets.push(s);
    try {
      const answer = await exchange(s, apiVersions);
      if (answer.readInt32BE(4) !== 1) throw new Error("an ApiVersions answer with another correlation id");
    } catch (e) {
      if (!String(e).includes("closed before") || ++retried > Math.max(3, connections / 100)) throw new Error(`${e} (${sockets.length} connections open, ${retried} replaced)`);
      sockets.splice(sockets.indexOf(s), 1);
      return idle();
    }
  };
  try {
    // A few connections that come and go first: what the first connections allocate once per VM.
    for (let i = 0; i < 20; i++) await idle();
    for (const s of sockets.splice(0)) s.destroy();
    const baseBytes = await sample(envoy, clientId);
    // The gauge is sampled at each connection's start (and every 5 s): read after every batch,
    // it shows a growth step within one batch of the connection that caused it.
    const batch = 16;
    const steps: [number, number][] = [];
    let last = baseBytes;
    for (let open = 0; open < connections;) {
      const n = Math.min(batch, connections - open);
      await Promise.all(Array.from({ length: n }, idle));
      open += n;
      const now = await gauge();
      if (now !== last) steps.push([open, now]);
      last = now;
    }
    const idleBytes = await sample(envoy, clientId);
    // Sizes before the last two steps, and the connections open at each.
    let perIdleConnection = NaN;
    if (steps.length >= 2) {
      const [k1, b1] = steps[steps.length - 2];
      const k2 = steps[steps.length - 1][0];
      const before1 = steps.length >= 3 ? steps[steps.length - 3][1] : baseBytes;
      perIdleConnection = (b1 - before1) / (k2 - k1);
    }
    return {
      connections, target,
      limitedBy: connections < target ? `the fd hard limit ${hardFdLimit()} (Envoy: 2 per connection, ${envoyFds} held before)` : undefined,
      baseBytes, idleBytes, highWaterPerIdleConnection: (idleBytes - baseBytes) / connections, steps, perIdleConnection,
      activeConnections: await envoy.stat("connections_active"), retried,
    };
  } finally {
    for (const s of sockets) s.destroy();
  }
}

// `count` connections each carry one Produce with a 1 MiB record to `topic` (a topic the
// scenario's policy lets the client write, as the client names it), one after the other, and
// stay open.
export async function bigFrames(envoy: Envoy, clientId: string, topic: string, count: number): Promise<BigFrames> {
  const sockets: Socket[] = [];
  try {
    let afterFirstBytes = 0;
    for (let i = 0; i < count; i++) {
      const s = await open(envoy.listenPort);
      sockets.push(s);
      const frame = encodeRequest(0, 7, 2, clientId, { TransactionalId: null, Acks: 1, TimeoutMs: 30000,
        TopicData: [{ Name: topic, PartitionData: [{ Index: 0, Records: recordBatch("m".repeat(MiB)) }] }] });
      const answer = await exchange(s, frame);
      if (answer.readInt32BE(4) !== 2) throw new Error("a Produce answer with another correlation id");
      if (i === 0) afterFirstBytes = await sample(envoy, clientId);
    }
    const afterAllBytes = await sample(envoy, clientId);
    return { connections: count, afterFirstBytes, afterAllBytes, perConnection: count > 1 ? (afterAllBytes - afterFirstBytes) / (count - 1) : NaN,
      kept: afterAllBytes - afterFirstBytes >= (count - 1) * MiB };
  } finally {
    for (const s of sockets) s.destroy();
  }
}
