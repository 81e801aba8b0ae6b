// A test-only variant of the module with one row of the operation table weakened, to show the
// oracle catches a mistake in it: the row's operation on one kind of resource is set to None
// ("no check") in a copy of the sources (variant_module.ts).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildVariantModule } from "../../harness/variant_module.ts";

// Columns of the table in assembly/policy/operations.ts after the API key.
const COLUMNS = { topic: 1, group: 2, transactional_id: 3, cluster: 4 } as const;

export function buildWeakenedModule(dir: string, apiKey: number, column: keyof typeof COLUMNS): string {
  return buildVariantModule(dir, "weakened", (src) => {
    const file = join(src, "assembly/policy/operations.ts");
    const lines = readFileSync(file, "utf8").split("\n");
    const at = lines.findIndex((l) => new RegExp(`^\\s*${apiKey}, .*, // `).test(l));
    if (at < 0) throw new Error(`no row for API ${apiKey} in operations.ts`);
    const [cells, comment] = lines[at].split("//");
    const values = cells.split(",").map((c) => c.trim()).filter((c) => c !== "");
    if (values[COLUMNS[column]] === "0") throw new Error(`API ${apiKey} needs nothing on ${column}: weakening it changes nothing`);
    values[COLUMNS[column]] = "0";
    lines[at] = `  ${values.join(", ")}, //${comment} (weakened for the oracle's own test)`;
    writeFileSync(file, lines.join("\n"));
  });
}
