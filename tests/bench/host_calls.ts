// `npx tsx tests/bench/host_calls.ts`: what Envoy spends per Proxy-Wasm host call, which decides
// how the hot path reads (README: Hot path). Envoy (one worker) runs probe_filter.ts in front of a
// loopback echo server; 16 connections each send 200 bytes and wait for the echo, so that every
// downstream callback carries one message. Envoy's CPU per round trip is compared between
// variants of the probe: nothing, 4 buffer reads, 16 metric increments, 8 clock reads, 4 reads of
// 128 bytes. Two rounds, to show the noise.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { startEnvoy } from "../harness/envoy.ts";
import { ROOT, requireInstalled, scratchDir } from "../harness/paths.ts";
import { freePort } from "../harness/process.ts";

const PROBE = join(ROOT, ".tmp/bench/probe_filter.wasm");
const VARIANTS = ["0 0 0 8", "4 0 0 8", "0 16 0 8", "0 0 8 8", "4 0 0 128"];
const SECONDS = 6;
const CONNECTIONS = 16;

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

requireInstalled();
mkdirSync(join(ROOT, ".tmp/bench"), { recursive: true });
const asc = spawnSync("npx", ["asc", "tests/bench/probe_filter.ts", "--runtime", "stub", "-O3", "--use", "abort=", "-o", PROBE],
  { cwd: ROOT, encoding: "utf8" });
if (asc.status !== 0) throw new Error(`asc probe_filter failed:\n${asc.stderr}`);
const echo = createServer((s) => {
  s.on("data", (d) => s.write(d));
  s.on("error", () => {});
});
await new Promise<void>((r) => echo.listen(0, "127.0.0.1", () => r()));
const upstreamPort = (echo.address() as { port: number }).port;
const dir = scratchDir("host-calls");
const message = Buffer.alloc(200, 1);
try {
  for (const round of [1, 2]) {
    for (const variant of VARIANTS) {
      const listenPort = await freePort();
      const envoy = await startEnvoy(dir, { listenPort, upstreamPort, filterConfig: variant as unknown as object, wasmPath: PROBE, concurrency: 1 });
      const pid = envoy.service.proc.pid!;
      const sockets = await Promise.all(Array.from({ length: CONNECTIONS }, () => new Promise<Socket>((resolve) => {
        const s = connect(listenPort, "127.0.0.1", () => resolve(s));
        s.setNoDelay(true);
      })));
      const cpu0 = cpuSeconds(pid);
      const end = Date.now() + SECONDS * 1000;
      await Promise.all(sockets.map((s) => new Promise<void>((done) => {
        let got = 0;
        s.on("data", (d: Buffer) => {
          got += d.length;
          if (got < message.length) return;
          got -= message.length;
          if (Date.now() > end) done();
          else s.write(message);
        });
        s.write(message);
      })));
      const cpu = cpuSeconds(pid) - cpu0;
      const callbacks = (await envoy.stat("probe_callbacks_x64")) * 64;
      const [reads, increments, clock, readLen] = variant.split(" ");
      console.log(`round ${round}: ${reads} reads of ${readLen} B, ${increments} increments, ${clock} clock reads per callback: ` +
        `${(cpu / callbacks * 1e6).toFixed(2)} µs of Envoy CPU per round trip (${callbacks} round trips)`);
      sockets.forEach((s) => s.destroy());
      await envoy.stop();
    }
  }
} finally {
  echo.close();
}
