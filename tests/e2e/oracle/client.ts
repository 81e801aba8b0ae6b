// A raw Kafka connection for the oracle: one request at a time, SASL PLAIN login first when
// given credentials, answers matched by correlation id. A request that gets no answer in time or
// a connection the peer closed ends the connection; the next request opens a new one.
import { createConnection, Socket } from "node:net";
import { Api, Struct, decodeResponse, encodeRequest } from "./codec.ts";

export type Outcome =
  | { kind: "response"; body: Struct }
  | { kind: "timeout" }
  | { kind: "closed" }
  | { kind: "undecodable"; error: string };

export class RawConnection {
  private socket?: Socket;
  private buffered = Buffer.alloc(0);
  private waiting?: (frame: Buffer | null) => void;
  private correlation = 1;

  constructor(private readonly port: number, private readonly apis: Map<number, Api>,
    private readonly login?: { user: string; password: string }) {}

  private open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = createConnection({ host: "127.0.0.1", port: this.port });
      s.setNoDelay(true);
      s.once("connect", () => resolve());
      s.once("error", (e) => reject(e));
      s.on("error", () => undefined);
      s.on("data", (d) => {
        this.buffered = Buffer.concat([this.buffered, d]);
        this.deliver();
      });
      s.on("close", () => {
        if (this.socket === s) this.socket = undefined;
        const w = this.waiting;
        this.waiting = undefined;
        w?.(null);
      });
      this.socket = s;
      this.buffered = Buffer.alloc(0);
    });
  }

  private deliver() {
    if (this.buffered.length < 4) return;
    const size = this.buffered.readInt32BE(0);
    if (this.buffered.length < 4 + size) return;
    const frame = this.buffered.subarray(0, 4 + size);
    this.buffered = this.buffered.subarray(4 + size);
    const w = this.waiting;
    this.waiting = undefined;
    w?.(frame);
  }

  close() {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private async ensure(): Promise<void> {
    if (this.socket) return;
    await this.open();
    if (!this.login) return;
    const hs = await this.raw(this.apis.get(17)!, 1, { Mechanism: "PLAIN" }, 5000);
    if (hs.kind !== "response" || hs.body.ErrorCode !== 0) throw new Error(`SaslHandshake failed: ${JSON.stringify(hs)}`);
    const token = Buffer.from(`\0${this.login.user}\0${this.login.password}`);
    const auth = await this.raw(this.apis.get(36)!, 2, { AuthBytes: token }, 5000);
    if (auth.kind !== "response" || auth.body.ErrorCode !== 0) throw new Error(`SaslAuthenticate failed for ${this.login.user}: ${JSON.stringify(auth)}`);
  }

  private raw(api: Api, version: number, body: Struct, timeoutMs: number): Promise<Outcome> {
    const id = this.correlation++;
    const frame = encodeRequest(api, version, id, "oracle", body);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        this.close();
        resolve({ kind: "timeout" });
      }, timeoutMs);
      this.waiting = (answer) => {
        clearTimeout(timer);
        if (!answer) return resolve({ kind: "closed" });
        try {
          const r = decodeResponse(api, version, answer);
          if (r.correlationId !== id) throw new Error(`correlation id ${r.correlationId}, expected ${id}`);
          resolve({ kind: "response", body: r.body });
        } catch (e) {
          this.close();
          resolve({ kind: "undecodable", error: (e as Error).message });
        }
      };
      this.socket!.write(frame);
    });
  }

  async send(api: Api, version: number, body: Struct, timeoutMs = 4000): Promise<Outcome> {
    await this.ensure();
    return this.raw(api, version, body, timeoutMs);
  }
}

export interface RawRequest {
  key: number;
  version: number;
  body: Struct;
}

// A fresh connection that writes each batch of requests in one write (pipelined, no waiting
// between them) and the next batch once the previous one's answers arrived; no login of its
// own, so a batch can carry SASL legs. Outcomes in request order.
export function pipelined(port: number, apis: Map<number, Api>, batches: RawRequest[][], timeoutMs = 5000): Promise<Outcome[]> {
  return new Promise((resolve) => {
    const s = createConnection({ host: "127.0.0.1", port });
    s.setNoDelay(true);
    const all = batches.flat();
    const outcomes: Outcome[] = all.map(() => ({ kind: "timeout" }));
    let buffered = Buffer.alloc(0);
    let next = 0; // the request whose answer comes next
    let batch = 0;
    let batchEnd = 0;
    let done = false;
    const finish = (rest: Outcome["kind"]) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (let i = next; i < all.length; i++) outcomes[i] = { kind: rest } as Outcome;
      s.destroy();
      resolve(outcomes);
    };
    const timer = setTimeout(() => finish("timeout"), timeoutMs * batches.length);
    const writeBatch = () => {
      const frames = batches[batch].map((r, i) => encodeRequest(apis.get(r.key)!, r.version, batchEnd + i + 1, "oracle", r.body));
      batchEnd += batches[batch].length;
      batch++;
      s.write(Buffer.concat(frames));
    };
    s.on("connect", writeBatch);
    s.on("error", () => undefined);
    s.on("close", () => finish("closed"));
    s.on("data", (d) => {
      buffered = Buffer.concat([buffered, d]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const frame = buffered.subarray(0, 4 + buffered.readInt32BE(0));
        buffered = buffered.subarray(frame.length);
        const r = all[next];
        try {
          outcomes[next] = { kind: "response", body: decodeResponse(apis.get(r.key)!, r.version, frame).body };
        } catch (e) {
          outcomes[next] = { kind: "undecodable", error: (e as Error).message };
        }
        next++;
        if (next === all.length) return finish("timeout");
        if (next === batchEnd) writeBatch();
      }
    });
  });
}
