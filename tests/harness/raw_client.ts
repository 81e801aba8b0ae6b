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

// The frame builders and splitters (kafka_bytes.ts), for the tests that send what they build.
export { fetchByIdFrame, frameBoundaries, frames, requestFrame } from "./kafka_bytes.ts";
