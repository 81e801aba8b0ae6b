// Per-frame cost of the filter's codec work in V8 (Node's WebAssembly, the engine Envoy's
// `envoy.wasm.runtime.v8` embeds): walking, authorizing and rewriting the captured real frames.
import { spawnSync } from "node:child_process";
import { readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../harness/paths.ts";

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
  const module = new WebAssembly.Module(readFileSync(wasmFile));
  // The codec imports nothing it uses on this path; whatever the runtime asks for fails loudly.
  const imports: Record<string, Record<string, () => never>> = {};
  for (const i of WebAssembly.Module.imports(module)) {
    imports[i.module] ??= {};
    imports[i.module][i.name] = () => {
      throw new Error(`codec_bench called ${i.module}.${i.name}`);
    };
  }
  const e = new WebAssembly.Instance(module, imports).exports as Record<string, (n?: number) => number>;
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
