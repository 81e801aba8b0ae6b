// The module's dependency rule (assembly/README.md): kafka <- proxy <- policy <- filters. A layer
// imports only from itself and the layers before it, so the codec can be read (and tested)
// without the network layer, and the network layer without the policy model.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { ROOT } from "../harness/paths.ts";

const LAYERS = ["assembly/kafka", "assembly/proxy", "assembly/policy", "filters"];

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []);
}

const layerOf = (file: string) => LAYERS.findIndex((l) => file === l || file.startsWith(l + "/"));

test("no layer imports from a layer after it (kafka <- proxy <- policy <- filters)", () => {
  const upward: string[] = [];
  let imports = 0;
  for (const layer of LAYERS) {
    for (const file of files(layer)) {
      const from = layerOf(file);
      for (const m of readFileSync(join(ROOT, file), "utf8").matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gm)) {
        if (!m[1].startsWith(".")) continue;
        imports++;
        const target = relative(ROOT, resolve(ROOT, dirname(file), m[1]));
        const to = layerOf(target);
        if (to < 0) upward.push(`${file} imports ${m[1]}, outside the module's layers`);
        else if (to > from) upward.push(`${file} (${LAYERS[from]}) imports ${m[1]} (${LAYERS[to]})`);
      }
    }
  }
  assert.ok(imports > 100, `only ${imports} relative imports found: the scan is broken`);
  assert.deepEqual(upward, []);
});
