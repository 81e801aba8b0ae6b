// Per-frame cost in V8 (Node's WebAssembly, the engine Envoy's `envoy.wasm.runtime.v8` embeds)
// over the captured real frames: the schema walk alone, and the filter's pipeline with its
// authorization or rewriting stage (tests/bench/codec_bench.ts).
import { spawnSync } from "node:child_process";
import { readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../harness/paths.ts";
import { hostImports } from "../spec/host_imports.js";

export interface MicroResult {
  frames: number;
  meanFrameBytes: number;
  parseNsPerFrame: number;
  authorizeNsPerFrame: number;
  rewriteNsPerFrame: number;
}

export function microbench(rounds: number): MicroResult {
  const outDir = join(ROOT, ".tmp/bench");
  mkdirSync(outDir, { recursive: true });
  const wasmFile = join(outDir, "codec_bench.wasm");
  // Its own asconfig: the root one would compile the filter in as well.
  const asc = spawnSync("npx", ["asc", "--config", "tests/bench/asconfig.json", "-o", wasmFile], {
    cwd: ROOT, encoding: "utf8",
  });
  if (asc.status !== 0) throw new Error(`asc codec_bench failed:\n${asc.stderr}`);
  const binary = readFileSync(wasmFile);
  const module = new WebAssembly.Module(binary);
  // The stages count into Proxy-Wasm metrics (the specs' small metrics host); anything else the
  // module asks of its host fails loudly.
  // hostImports takes the module's exports (it reads their memory, and allocates in shared-data reads).
  let exports: WebAssembly.Exports | undefined;
  const imports = hostImports(binary, () => exports!) as unknown as Record<string, Record<string, unknown>>;
  for (const i of WebAssembly.Module.imports(module)) {
    imports[i.module] ??= {};
    imports[i.module][i.name] ??= () => {
      throw new Error(`codec_bench called ${i.module}.${i.name}`);
    };
  }
  const instance = new WebAssembly.Instance(module, imports as WebAssembly.Imports);
  exports = instance.exports;
  const e = instance.exports as Record<string, (n?: number) => number>;
  const frames = e.frameCount();
  const bytes = e.frameBytes();
  const time = (fn: (n: number) => number): number => {
    fn(Math.max(1, rounds / 10)); // warm up the JIT tiers
    const start = process.hrtime.bigint();
    fn(rounds);
    return Number(process.hrtime.bigint() - start) / (rounds * frames);
  };
  return {
    frames,
    meanFrameBytes: Math.round(bytes / frames),
    parseNsPerFrame: time(e.parseAll),
    authorizeNsPerFrame: time(e.authorizeAll),
    rewriteNsPerFrame: time(e.rewriteAll),
  };
}
