// tsx only strips types: without this, the CLI, the codegen, the test host, the harness and the
// tests could carry type errors that no run shows. (AssemblyScript is checked by asc.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../harness/paths.ts";

test("tsc --noEmit over the Node side (tsconfig.json) finds no type error", () => {
  const r = spawnSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(ROOT, "tsconfig.json")], { encoding: "utf8" });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
});
