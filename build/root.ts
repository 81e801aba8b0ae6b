// The repository's root directory, for every Node-side script (CLI, codegen, Envoy configs,
// tests through tests/harness/paths.ts).
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
