// A real OCI registry for the distribution tests: Debian's docker-registry (CNCF distribution)
// on a free loopback port with its own storage, open or asking for credentials (htpasswd Basic,
// or Bearer tokens from a token issuer), and skopeo to pull from it.
import { writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { spawnSync } from "node:child_process";
import { freePort, waitFor } from "./process.ts";
import { launch } from "./backend.ts";
import type { TokenIssuer } from "./token_issuer.ts";

export interface Registry {
  host: string;
  stop(): Promise<void>;
}

export type RegistryAuth =
  | { htpasswd: { username: string; password: string } }
  | { token: TokenIssuer };

// htpasswd wants bcrypt; Debian 12's Python (3.11) still has crypt(3) with it. Cost 4 (bcrypt's
// least): the registry checks the password on every request of a push.
function htpasswdLine(username: string, password: string): string {
  const r = spawnSync("python3", ["-W", "ignore", "-c",
    "import crypt, sys; print(sys.argv[1] + ':' + crypt.crypt(sys.argv[2], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))", username, password],
  { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bcrypt via python3 failed:\n${r.stderr}`);
  return r.stdout;
}

function authConfig(dir: string, auth: RegistryAuth): string {
  if ("htpasswd" in auth) {
    const file = join(dir, "htpasswd");
    writeFileSync(file, htpasswdLine(auth.htpasswd.username, auth.htpasswd.password));
    return `auth: { htpasswd: { realm: kafka-proxy-wasm-test, path: ${file} } }`;
  }
  const t = auth.token;
  return `auth: { token: { realm: "${t.realm}", service: ${t.service}, issuer: ${t.issuer}, rootcertbundle: ${t.certFile} } }`;
}

export async function startRegistry(dir: string, auth?: RegistryAuth): Promise<Registry> {
  mkdirSync(join(dir, "storage"), { recursive: true });
  const port = await freePort();
  const config = join(dir, "registry.yml");
  writeFileSync(config, [
    "version: 0.1",
    "log: { level: warn }",
    `storage: { filesystem: { rootdirectory: ${join(dir, "storage")} }, delete: { enabled: true } }`,
    `http: { addr: 127.0.0.1:${port} }`,
    auth ? authConfig(dir, auth) : "",
    "",
  ].join("\n"));
  const service = await launch({
    name: "docker-registry",
    logFile: join(dir, "registry.log"),
    process: { cmd: "/usr/bin/docker-registry", args: ["serve", config] },
    // The config, the storage, the htpasswd file or the token issuer's certificate at their own paths.
    container: {
      role: "registry",
      command: ["serve", config],
      mounts: [{ path: dir, rw: true }, ...(auth && "token" in auth ? [{ path: dirname(auth.token.certFile) }] : [])],
    },
  });
  const host = `127.0.0.1:${port}`;
  // Up when /v2/ answers: 200 when open, 401 (a challenge) when it asks for credentials.
  await waitFor("the registry to answer", async () => (await fetch(`http://${host}/v2/`)).status === (auth ? 401 : 200), 20000, service);
  return { host, stop: () => service.stop() };
}

// skopeo, plain HTTP to the loopback registry; returns stdout.
export function skopeo(args: string[]): string {
  const r = spawnSync("skopeo", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`skopeo ${args.join(" ")} failed:\n${r.stderr}`);
  return r.stdout;
}
