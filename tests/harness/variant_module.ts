// Test-only builds of the module: the sources are copied to a scratch directory, `edit` changes
// the copy (a check weakened, tables trimmed), and the copy is built with the production build
// options. The production sources and dist/ are not touched. Returns the .wasm's path.
import { cpSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { ROOT } from "./paths.ts";

export function buildVariantModule(dir: string, name: string, edit: (src: string) => void): string {
  const src = join(dir, `${name}-src`);
  for (const d of ["assembly", "filters", "build/shims"]) cpSync(join(ROOT, d), join(src, d), { recursive: true });
  cpSync(join(ROOT, "asconfig.json"), join(src, "asconfig.json"));
  symlinkSync(join(ROOT, "node_modules"), join(src, "node_modules"));
  edit(src);
  const out = join(dir, `${name}.wasm`);
  const r = spawnSync(join(ROOT, "node_modules/.bin/asc"), ["--config", "asconfig.json", "--target", "release", "-o", out],
    { cwd: src, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`building the ${name} module failed:\n${r.stdout}\n${r.stderr}`);
  rmSync(src, { recursive: true, force: true });
  return out;
}

// Replaces `from` by `to` in one source file of the copy; throws when `from` is not there, so a
// test cannot go on patching nothing after the code it targets changed.
export function patchSource(src: string, file: string, from: string, to: string): void {
  const path = join(src, file);
  const text = readFileSync(path, "utf8");
  if (!text.includes(from)) throw new Error(`${file} no longer has the line this test patches: ${from}`);
  writeFileSync(path, text.replace(from, to));
}
