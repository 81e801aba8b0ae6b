// Runs tests/clients/JavaClient.java (Apache Kafka's Java client) against the installed jars.
// Compiled once per test process into .tmp/.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { KAFKA_LIBS, ROOT } from "./paths.ts";

const SOURCE = join(ROOT, "tests/clients/JavaClient.java");
const CLASSES = join(ROOT, ".tmp/java-client");

function compile(): void {
  const cls = join(CLASSES, "JavaClient.class");
  if (existsSync(cls) && statSync(cls).mtimeMs >= statSync(SOURCE).mtimeMs) return;
  mkdirSync(CLASSES, { recursive: true });
  const r = spawnSync("javac", ["-cp", `${KAFKA_LIBS}/*`, "-d", CLASSES, SOURCE], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`javac JavaClient.java failed:\n${r.stderr}`);
}

// Resolves with stdout; rejects with both streams when the client fails.
// `clientId` overrides the client's default client id; `extraEnv` adds settings the client reads
// from its environment (GROUP_PROTOCOL).
export function javaClient(args: string[], timeoutMs = 120000, clientId?: string, extraEnv: Record<string, string> = {}): Promise<string> {
  compile();
  return new Promise((res, rej) => {
    const env = { ...process.env, ...(clientId === undefined ? {} : { CLIENT_ID: clientId }), ...extraEnv };
    const p = spawn("java", ["-Xmx512m", "-cp", `${CLASSES}:${KAFKA_LIBS}/*`, "JavaClient", ...args], { timeout: timeoutMs, env });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("close", (code) => {
      if (code === 0) res(out);
      else rej(new Error(`JavaClient ${args.join(" ")} exited ${code}:\n${out}\n${err.slice(-4000)}`));
    });
  });
}
