// One TCP connection kept open across hand-made requests, for what depends on the connection
// (fetch sessions, principals that change between requests): each call writes one frame and
// resolves with the next whole response frame.
import { createConnection, Socket } from "node:net";
import { frameBoundaries } from "./raw_client.ts";

export class RawConnection {
  private buffered = Buffer.alloc(0);
  private waiting: ((frame: Buffer) => void) | null = null;
  private closed = false;

  private constructor(private socket: Socket) {
    socket.on("data", (d) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      this.deliver();
    });
    socket.on("close", () => (this.closed = true));
    socket.on("error", () => (this.closed = true));
  }

  // Bytes received that are not (yet) a whole response frame.
  get unread(): Buffer {
    return this.buffered;
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = createConnection({ host: "127.0.0.1", port });
      s.setNoDelay(true);
      s.once("connect", () => resolve(new RawConnection(s)));
      s.once("error", reject);
    });
  }

  private deliver(): void {
    const [end] = frameBoundaries(this.buffered);
    if (end === undefined || this.waiting === null) return;
    const frame = this.buffered.subarray(0, end);
    this.buffered = this.buffered.subarray(end);
    const w = this.waiting;
    this.waiting = null;
    w(frame);
  }

  // Sends `frame` and resolves with the response frame (size prefix included).
  request(frame: Buffer, timeoutMs = 10000): Promise<Buffer> {
    this.socket.write(frame);
    return this.next(timeoutMs);
  }

  // Writes bytes without waiting for anything (a request in pieces).
  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  // Resolves with the next response frame (after a write that held several requests).
  next(timeoutMs = 10000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error("connection closed"));
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new Error(this.closed ? "connection closed by the proxy" : "no response"));
      }, timeoutMs);
      this.waiting = (f) => {
        clearTimeout(timer);
        resolve(f);
      };
      this.deliver();
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
