// A bare TCP client for sending hand-made bytes and seeing exactly what comes back.
import { createConnection } from "node:net";

export interface RawResult {
  received: Buffer;
  // True when the proxy closed the connection (rather than our timeout ending the wait).
  closedByPeer: boolean;
}

// Writes each chunk (with `gapMs` between them), then reads until the peer closes, `expectBytes`
// have arrived, or `timeoutMs` passes.
export function exchange(port: number, chunks: Buffer[], opts: { expectBytes?: number; timeoutMs?: number; gapMs?: number } = {}): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: "127.0.0.1", port });
    s.setNoDelay(true);
    const parts: Buffer[] = [];
    let got = 0;
    let done = false;
    const finish = (closedByPeer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ received: Buffer.concat(parts), closedByPeer });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 5000);
    s.on("data", (d) => {
      parts.push(d);
      got += d.length;
      if (opts.expectBytes !== undefined && got >= opts.expectBytes) finish(false);
    });
    s.on("end", () => finish(true));
    s.on("close", () => finish(true));
    s.on("error", (e) => (done ? undefined : reject(e)));
    s.on("connect", async () => {
      for (const c of chunks) {
        if (s.destroyed) return;
        s.write(c);
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
    });
  });
}

// A request frame: size, api key, version, correlation id, int16 client id, body.
export function requestFrame(apiKey: number, apiVersion: number, correlationId: number, clientId: string, body: Buffer = Buffer.alloc(0), flexibleHeader = false): Buffer {
  const id = Buffer.from(clientId);
  const head = Buffer.alloc(12 + 2);
  head.writeInt16BE(apiKey, 4);
  head.writeInt16BE(apiVersion, 6);
  head.writeInt32BE(correlationId, 8);
  head.writeInt16BE(id.length, 12);
  const tagged = flexibleHeader ? Buffer.from([0]) : Buffer.alloc(0);
  const frame = Buffer.concat([head, id, tagged, body]);
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

// Where the whole frames at the start of a stream end (by their size prefixes; a negative
// size or a frame running past the data stops it).
export function frameBoundaries(data: Buffer): number[] {
  const ends: number[] = [];
  let at = 0;
  while (at + 4 <= data.length) {
    const size = data.readInt32BE(at);
    if (size < 0 || at + 4 + size > data.length) break;
    at += 4 + size;
    ends.push(at);
  }
  return ends;
}

// Splits a stream into its whole frames.
export function frames(data: Buffer): Buffer[] {
  let start = 0;
  return frameBoundaries(data).map((end) => data.subarray(start, (start = end)));
}

// A Fetch v13 (flexible, topics by id) of partition 0 of topic `id` (32 hex digits) from offset 0,
// correlation id 41.
export function fetchByIdFrame(id: string, clientId: string): Buffer {
  const body = Buffer.concat([
    Buffer.from("ffffffff" + "00000000" + "00000001" + "00100000" + "00" + "00000000" + "ffffffff", "hex"),
    Buffer.from([2]), Buffer.from(id, "hex"),
    Buffer.from([2]), Buffer.from("00000000" + "ffffffff" + "0000000000000000" + "ffffffff" + "ffffffffffffffff" + "00100000", "hex"),
    Buffer.from([0, 0]), Buffer.from([1, 1, 0]),
  ]);
  return requestFrame(1, 13, 41, clientId, body, true);
}
