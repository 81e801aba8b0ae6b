// `npx tsx tests/bench/host_calls.ts`: what Envoy spends per Proxy-Wasm host call, which decides
// how the hot path reads (README: Hot path). Envoy (one worker) runs probe_filter.ts in front of a
// loopback echo server; 16 connections each send 200 bytes and wait for the echo, so that every
// downstream callback carries one message. Envoy's CPU per round trip is compared between
// variants of the probe: nothing, 4 buffer reads, 16 metric increments, 8 clock reads, 4 reads of
// 128 bytes. Two rounds, to show the noise. With `--instructions`, Envoy runs under callgrind
// (callgrind.ts) and each variant's cost is counted in instructions per round trip instead:
// exact, so one round.
import { readFileSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { startEnvoy } from "../harness/envoy.ts";
import { ROOT, requireInstalled, scratchDir } from "../harness/paths.ts";
import { freePort } from "../harness/process.ts";
import { CountedEnvoy } from "./callgrind.ts";
import { compileYardstick } from "./scenarios.ts";

const PROBE = join(ROOT, ".tmp/bench/probe_filter.wasm");
const VARIANTS = ["0 0 0 8", "4 0 0 8", "0 16 0 8", "0 0 8 8", "4 0 0 128"];
const SECONDS = 6;
const CONNECTIONS = 16;

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

requireInstalled();
compileYardstick("tests/bench/probe_filter.ts", PROBE);
const echo = createServer((s) => {
  s.on("data", (d) => s.write(d));
  s.on("error", () => {});
});
await new Promise<void>((r) => echo.listen(0, "127.0.0.1", () => r()));
const upstreamPort = (echo.address() as { port: number }).port;
const dir = scratchDir("host-calls");
const message = Buffer.alloc(200, 1);
const instructionsMode = process.argv.includes("--instructions");
// Round trips per connection in the instruction count (a fixed number: the count is exact).
const COUNTED_ROUND_TRIPS = 200;

// Each connection sends the message and waits for its echo, again and again, until `more` says
// stop; resolves with the number of round trips.
async function pingPong(listenPort: number, more: (roundTrips: number) => boolean): Promise<number> {
  const sockets = await Promise.all(Array.from({ length: CONNECTIONS }, () => new Promise<Socket>((resolve) => {
    const s = connect(listenPort, "127.0.0.1", () => resolve(s));
    s.setNoDelay(true);
  })));
  const counts = await Promise.all(sockets.map((s) => new Promise<number>((done) => {
    let got = 0;
    let trips = 0;
    s.on("data", (d: Buffer) => {
      got += d.length;
      if (got < message.length) return;
      got -= message.length;
      if (!more(++trips)) done(trips);
      else s.write(message);
    });
    s.write(message);
  })));
  sockets.forEach((s) => s.destroy());
  return counts.reduce((a, b) => a + b, 0);
}

function describe(variant: string): string {
  const [reads, increments, clock, readLen] = variant.split(" ");
  return `${reads} reads of ${readLen} B, ${increments} increments, ${clock} clock reads per callback`;
}

try {
  if (instructionsMode) {
    for (const variant of VARIANTS) {
      const listenPort = await freePort();
      const envoy = await CountedEnvoy.start(dir, `probe-${variant.replaceAll(" ", "-")}`,
        { listenPort, upstreamPort, filterConfig: variant as unknown as object, wasmPath: PROBE });
      try {
        await pingPong(listenPort, (n) => n < 20);
        let trips = 0;
        const { instructions } = await envoy.count(async () => {
          trips = await pingPong(listenPort, (n) => n < COUNTED_ROUND_TRIPS);
        });
        console.log(`${describe(variant)}: ${Math.round(instructions / trips)} Envoy instructions per round trip (${trips} round trips)`);
      } finally {
        await envoy.stop();
      }
    }
  } else {
    for (const round of [1, 2]) {
      for (const variant of VARIANTS) {
        const listenPort = await freePort();
        const envoy = await startEnvoy(dir, { listenPort, upstreamPort, filterConfig: variant as unknown as object, wasmPath: PROBE, concurrency: 1 });
        const pid = envoy.service.pid!;
        const cpu0 = cpuSeconds(pid);
        const end = Date.now() + SECONDS * 1000;
        await pingPong(listenPort, () => Date.now() <= end);
        const cpu = cpuSeconds(pid) - cpu0;
        const callbacks = (await envoy.stat("probe_callbacks_x64")) * 64;
        console.log(`round ${round}: ${describe(variant)}: ` +
          `${(cpu / callbacks * 1e6).toFixed(2)} µs of Envoy CPU per round trip (${callbacks} round trips)`);
        await envoy.stop();
      }
    }
  }
} finally {
  echo.close();
}
