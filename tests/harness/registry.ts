// A real OCI registry for the distribution tests: Debian's docker-registry (CNCF distribution)
// on a free loopback port with its own storage, and skopeo to pull from it.
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { Service, freePort, waitFor } from "./process.ts";

export interface Registry {
  host: string;
  stop(): Promise<void>;
}

export async function startRegistry(dir: string): Promise<Registry> {
  mkdirSync(join(dir, "storage"), { recursive: true });
  const port = await freePort();
  const config = join(dir, "registry.yml");
  writeFileSync(config, [
    "version: 0.1",
    "log: { level: warn }",
    `storage: { filesystem: { rootdirectory: ${join(dir, "storage")} }, delete: { enabled: true } }`,
    `http: { addr: 127.0.0.1:${port} }`,
    "",
  ].join("\n"));
  const service = new Service("docker-registry", join(dir, "registry.log"), "/usr/bin/docker-registry", ["serve", config]);
  const host = `127.0.0.1:${port}`;
  await waitFor("the registry to answer", async () => (await fetch(`http://${host}/v2/`)).ok, 20000, service);
  return { host, stop: () => service.stop() };
}

// skopeo, plain HTTP to the loopback registry; returns stdout.
export function skopeo(args: string[]): string {
  const r = spawnSync("skopeo", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`skopeo ${args.join(" ")} failed:\n${r.stderr}`);
  return r.stdout;
}
