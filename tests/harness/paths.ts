// Where the project's own installs live (scripts/setup.sh puts them there).
import { join } from "node:path";
import { existsSync, mkdtempSync, mkdirSync } from "node:fs";
import { ROOT } from "../../build/root.ts";

export { ROOT };
export const ENVOY_BIN = join(ROOT, ".tools/envoy/envoy/_bin/envoy");
export const KAFKA_LIBS = join(ROOT, ".tools/kafka/libs");
export const KAFKA39_LIBS = join(ROOT, ".tools/kafka39/libs");
export const WASM = join(ROOT, "dist/kafka_proxy.wasm");

// The containers backend needs only the module (its images hold Envoy and Kafka).
export function requireInstalled(paths: string[] = [ENVOY_BIN, KAFKA_LIBS, WASM]): void {
  for (const p of paths) {
    if (!existsSync(p)) throw new Error(`${p} is missing: run \`npm run setup && npm run build\` first`);
  }
}

// Scratch space under the project's git-ignored .tmp/, kept after a failed run for its logs.
export function scratchDir(prefix: string): string {
  const base = join(ROOT, ".tmp");
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, `${prefix}-`));
}
