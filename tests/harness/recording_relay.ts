// A transparent TCP relay put between Envoy and the broker to see exactly which bytes Envoy
// forwarded upstream and which the broker sent back, per connection (Envoy's own stats only
// count them).
import { createServer, createConnection, Server, Socket } from "node:net";
import { freePort } from "./process.ts";

export interface RelayedConnection {
  toBroker: Buffer[];
  fromBroker: Buffer[];
}

export interface RecordingRelay {
  port: number;
  // In the order Envoy opened them.
  connections: RelayedConnection[];
  stop(): Promise<void>;
}

export async function startRecordingRelay(targetPort: number): Promise<RecordingRelay> {
  const port = await freePort();
  const connections: RelayedConnection[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((envoySide) => {
    const record: RelayedConnection = { toBroker: [], fromBroker: [] };
    connections.push(record);
    const brokerSide = createConnection({ host: "127.0.0.1", port: targetPort });
    for (const s of [envoySide, brokerSide]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      // Either side going away ends the pair; errors are the other side's business.
      s.on("error", () => undefined);
    }
    envoySide.on("data", (d) => {
      record.toBroker.push(Buffer.from(d));
      brokerSide.write(d);
    });
    brokerSide.on("data", (d) => {
      record.fromBroker.push(Buffer.from(d));
      envoySide.write(d);
    });
    envoySide.on("close", () => brokerSide.destroy());
    brokerSide.on("close", () => envoySide.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    port,
    connections,
    stop: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
