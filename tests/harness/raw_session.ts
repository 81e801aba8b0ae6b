// A bare TCP connection kept open across round trips, for exchanges where the next bytes depend
// on the answer (a SCRAM login computes its proof from the server's first message) and where the
// test decides exactly which requests share one write.
import { createConnection, Socket } from "node:net";
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";

export class RawSession {
  private data = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | null = null;

  private constructor(private socket: Socket) {
    socket.on("data", (d) => {
      this.data = Buffer.concat([this.data, d]);
      this.wake?.();
    });
    const end = () => {
      this.ended = true;
      this.wake?.();
    };
    socket.on("end", end);
    socket.on("close", end);
    socket.on("error", end);
  }

  static open(port: number): Promise<RawSession> {
    return new Promise((resolve, reject) => {
      const s = createConnection({ host: "127.0.0.1", port });
      s.setNoDelay(true);
      s.once("connect", () => resolve(new RawSession(s)));
      s.once("error", reject);
    });
  }

  // Sends the frames in one write.
  write(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  // The next `n` response frames (size prefix included); fewer when the peer closes first or
  // `timeoutMs` passes.
  async read(n: number, timeoutMs = 10000): Promise<Buffer[]> {
    const out: Buffer[] = [];
    const deadline = Date.now() + timeoutMs;
    while (out.length < n) {
      if (this.data.length >= 4 && this.data.length >= 4 + this.data.readInt32BE(0)) {
        const len = 4 + this.data.readInt32BE(0);
        out.push(this.data.subarray(0, len));
        this.data = this.data.subarray(len);
        continue;
      }
      const left = deadline - Date.now();
      if (this.ended || left <= 0) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
    return out;
  }

  // True once the peer closed the connection (waits up to `timeoutMs` for it).
  async closed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.ended;
  }

  close(): void {
    this.socket.destroy();
  }
}

// The client side of SCRAM-SHA-256 (RFC 5802 / 7677), as Kafka's ScramSaslClient speaks it.
export class ScramSha256Client {
  readonly nonce = randomBytes(18).toString("base64");
  private bare: string;

  constructor(private user: string, private password: string) {
    this.bare = `n=${user},r=${this.nonce}`;
  }

  clientFirst(): string {
    return `n,,${this.bare}`;
  }

  // The proof-carrying message answering the server's "r=<nonce>,s=<salt>,i=<iterations>".
  clientFinal(serverFirst: string): string {
    const fields = new Map(serverFirst.split(",").map((f) => [f[0], f.slice(2)] as [string, string]));
    const withoutProof = `c=biws,r=${fields.get("r")}`;
    const salted = pbkdf2Sync(this.password, Buffer.from(fields.get("s")!, "base64"), Number(fields.get("i")), 32, "sha256");
    const clientKey = createHmac("sha256", salted).update("Client Key").digest();
    const storedKey = createHash("sha256").update(clientKey).digest();
    const signature = createHmac("sha256", storedKey).update(`${this.bare},${serverFirst},${withoutProof}`).digest();
    const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]));
    return `${withoutProof},p=${proof.toString("base64")}`;
  }
}
