// Envoy under Valgrind's callgrind, counting the instructions it executes (every thread, user
// space only) while a piece of load runs: an exact measure of Envoy's work that, unlike CPU time,
// does not depend on what else two shared cores are doing. Counting is off outside `count`, so
// start-up and module compilation are left out.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ENVOY_BIN } from "../harness/paths.ts";
import { Service, freePort, sleep, waitFor } from "../harness/process.ts";
import { envoyConfig, type EnvoyOptions } from "../harness/envoy.ts";

export class CountedEnvoy {
  private readonly seen = new Set<string>();
  private dumps = 0;

  private constructor(readonly service: Service, readonly adminPort: number, private readonly dir: string, private readonly prefix: string) {}

  // One worker: its instructions are the whole of Envoy's work on the load.
  // `extra`: more callgrind options (envoy_profile.ts: --dump-instr=yes).
  static async start(dir: string, name: string, opts: Omit<EnvoyOptions, "concurrency">, extra: string[] = []): Promise<CountedEnvoy> {
    const adminPort = await freePort();
    const config = join(dir, `${name}.json`);
    writeFileSync(config, JSON.stringify(envoyConfig(opts, adminPort)));
    const prefix = `callgrind-${name}.`;
    const service = new Service("envoy", join(dir, `${name}.log`), "valgrind", [
      "--tool=callgrind", "--instr-atstart=no", "--smc-check=all-non-file", "--separate-threads=no", ...extra,
      `--callgrind-out-file=${join(dir, prefix)}%p`,
      ENVOY_BIN, "-c", config, "--concurrency", "1", "--use-dynamic-base-id", "-l", "warning",
    ]);
    const envoy = new CountedEnvoy(service, adminPort, dir, prefix);
    await waitFor(`Envoy under callgrind (${name})`, async () => {
      try {
        return (await envoy.admin("/ready")).trim() === "LIVE";
      } catch {
        return false;
      }
    }, 300000, service);
    return envoy;
  }

  async admin(path: string): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.adminPort}${path}`)).text();
  }

  private control(...args: string[]): void {
    const r = spawnSync("callgrind_control", [...args, String(this.service.proc.pid)], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`callgrind_control ${args.join(" ")}: ${r.stderr}${r.stdout}`);
  }

  // The instructions Envoy executed while `load` ran, and how long it ran.
  async count(load: () => Promise<unknown>): Promise<{ instructions: number; ms: number; files: string[] }> {
    this.control("-z");
    this.control("-i", "on");
    const start = Date.now();
    await load();
    this.control("-i", "off");
    const ms = Date.now() - start;
    this.control("-d", `dump-${++this.dumps}`);
    let instructions = 0;
    const files: string[] = [];
    for (const f of readdirSync(this.dir).filter((n) => n.startsWith(this.prefix) && !this.seen.has(n))) {
      this.seen.add(f);
      files.push(join(this.dir, f));
      const m = /^totals: (\d+)/m.exec(readFileSync(join(this.dir, f), "utf8"));
      if (m) instructions += Number(m[1]);
    }
    return { instructions, ms, files };
  }

  // Instructions per second with no traffic (Envoy's timers, the module's tick): under Valgrind a
  // load runs many times longer than natively, so this share is taken out of a load's count.
  async idlePerMs(ms = 5000): Promise<number> {
    const idle = await this.count(() => sleep(ms));
    return idle.instructions / idle.ms;
  }

  stop(): Promise<void> {
    return this.service.stop(60000);
  }
}
