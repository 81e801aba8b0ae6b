// Runs the tests' other clients, built or installed by scripts/setup.sh: franz-go
// (tests/clients/franz, built into .tools/franz/) and librdkafka through confluent-kafka
// (tests/clients/rdkafka_client.py, wheel in .tools/python). Both take the same commands and
// print the same lines as tests/clients/JavaClient.java; on failure they print
// "error <elapsed ms> <message>" on stderr.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./paths.ts";

export const FRANZ_BIN = join(ROOT, ".tools/franz/franz");
export const RDKAFKA_PATH = join(ROOT, ".tools/python");
const RDKAFKA_DRIVER = join(ROOT, "tests/clients/rdkafka_client.py");

export type ClientKind = "franz" | "rdkafka";

export interface ClientRun {
  ok: boolean;
  stdout: string;
  stderr: string;
  // From the client's "error <ms> ..." line, when it failed.
  errorMs?: number;
  error?: string;
}

function requireClient(kind: ClientKind): void {
  const p = kind === "franz" ? FRANZ_BIN : join(RDKAFKA_PATH, "confluent_kafka");
  if (!existsSync(p)) throw new Error(`${p} is missing: run \`npm run setup\` first`);
}

// Resolves with the run's outcome (a client that failed is not an exception: tests check its error).
// `extraEnv` adds settings the client reads from its environment (TIMEOUT_S).
export function runClient(kind: ClientKind, args: string[], clientId?: string, timeoutMs = 120000,
  extraEnv: Record<string, string> = {}): Promise<ClientRun> {
  requireClient(kind);
  const [cmd, argv] = kind === "franz" ? [FRANZ_BIN, args] : ["python3", [RDKAFKA_DRIVER, ...args]];
  const env = { ...process.env, PYTHONPATH: RDKAFKA_PATH, ...(clientId === undefined ? {} : { CLIENT_ID: clientId }), ...extraEnv };
  return new Promise((res) => {
    const p = spawn(cmd, argv, { timeout: timeoutMs, env });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (code) => {
      const m = /^error (\d+) (.*)$/m.exec(stderr);
      res({ ok: code === 0, stdout, stderr, errorMs: m ? Number(m[1]) : undefined, error: m?.[2] });
    });
  });
}

// Like runClient, but a failure is an exception carrying the client's output.
export async function client(kind: ClientKind, args: string[], clientId?: string, timeoutMs = 120000): Promise<string> {
  const r = await runClient(kind, args, clientId, timeoutMs);
  if (!r.ok) throw new Error(`${kind} ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}
