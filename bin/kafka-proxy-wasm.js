#!/usr/bin/env node
// `npx kafka-proxy-wasm`: runs the TypeScript CLI (build/cli/main.ts) through tsx.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// tsx resolved from this package, so the CLI works from any directory.
const r = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), join(root, "build/cli/main.ts"), ...process.argv.slice(2)], {
  stdio: "inherit",
  cwd: process.cwd(),
});
process.exit(r.status ?? 1);
