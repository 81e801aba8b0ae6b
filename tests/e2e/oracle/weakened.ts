// A test-only variant of the module with one row of the operation table weakened, to show the
// oracle catches a mistake in it: the sources are copied to a scratch directory, the row's
// operation on one kind of resource is set to None ("no check"), and the copy is built with the
// production build options. The production sources and dist/ are not touched.
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { ROOT } from "../../harness/paths.ts";

// Columns of the table in assembly/policy/operations.ts after the API key.
const COLUMNS = { topic: 1, group: 2, transactional_id: 3, cluster: 4 } as const;

export function buildWeakenedModule(dir: string, apiKey: number, column: keyof typeof COLUMNS): string {
  for (const d of ["assembly", "filters", "build/shims"]) cpSync(join(ROOT, d), join(dir, d), { recursive: true });
  const file = join(dir, "assembly/policy/operations.ts");
  const lines = readFileSync(file, "utf8").split("\n");
  const at = lines.findIndex((l) => new RegExp(`^\\s*${apiKey}, .*, // `).test(l));
  if (at < 0) throw new Error(`no row for API ${apiKey} in operations.ts`);
  const [cells, comment] = lines[at].split("//");
  const values = cells.split(",").map((c) => c.trim()).filter((c) => c !== "");
  if (values[COLUMNS[column]] === "0") throw new Error(`API ${apiKey} needs nothing on ${column}: weakening it changes nothing`);
  values[COLUMNS[column]] = "0";
  lines[at] = `  ${values.join(", ")}, //${comment} (weakened for the oracle's own test)`;
  writeFileSync(file, lines.join("\n"));
  const config = JSON.parse(readFileSync(join(ROOT, "asconfig.json"), "utf8"));
  const out = join(dir, "weakened.wasm");
  config.targets.release.outFile = out;
  writeFileSync(join(dir, "asconfig.json"), JSON.stringify(config));
  const asc = join(ROOT, "node_modules/.bin/asc");
  const r = spawnSync(asc, ["--config", "asconfig.json", "--target", "release"], { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`building the weakened module failed:\n${r.stdout}\n${r.stderr}`);
  return out;
}
