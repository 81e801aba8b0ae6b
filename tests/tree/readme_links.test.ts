// Every relative link in the project's READMEs points at a file or folder that exists.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ROOT } from "../harness/paths.ts";

const SKIP = new Set(["node_modules", ".tmp", ".tools", ".git", "dist"]);

function readmes(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    if (SKIP.has(e.name)) return [];
    const p = join(dir, e.name);
    if (e.isDirectory()) return readmes(p);
    return e.name === "README.md" ? [p] : [];
  });
}

test("every relative link in a README resolves", () => {
  const broken: string[] = [];
  const found = readmes(".");
  assert.ok(found.includes("README.md"), "the root README");
  for (const file of found) {
    const text = readFileSync(join(ROOT, file), "utf8");
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1].split("#")[0];
      if (target === "" || /^[a-z]+:/.test(target)) continue;
      if (!existsSync(join(ROOT, dirname(file), target))) broken.push(`${file}: ${m[1]}`);
    }
  }
  assert.deepEqual(broken, []);
});
