// The benchmark's short mode as part of the test command: it must run end to end (every
// scenario, both record sizes, all outputs) in a few minutes. Numbers are not asserted: on a
// shared CI machine they are noise; `npm run bench` is where they are measured.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, requireInstalled, scratchDir } from "../harness/paths.ts";
import { SCENARIOS } from "./scenarios.ts";

test("npm run bench -- --quick measures every scenario and writes JSON, markdown and SVG", { timeout: 240000 }, () => {
  requireInstalled();
  const out = scratchDir("bench-quick");
  const r = spawnSync("npx", ["tsx", "tests/bench/run.ts", "--quick", "--out", out], { cwd: ROOT, encoding: "utf8", timeout: 230000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const result = JSON.parse(readFileSync(join(out, "latest.json"), "utf8"));
  assert.equal(result.runs.length, SCENARIOS.length * 2);
  for (const run of result.runs) {
    assert.ok(run.recordsPerSec > 0 && run.mbPerSec > 0, `${run.scenario} ${run.size} B moved records`);
    assert.ok(run.latencyP99Ms >= 0 && run.consumerMbPerSec > 0 && run.kafkajsRecordsPerSec > 0, JSON.stringify(run));
    assert.ok(run.rttP99Us >= run.rttP50Us && run.rttP50Us > 0, JSON.stringify(run));
  }
  assert.ok(result.micro.parseNsPerFrame > 0 && result.moduleBytes > 0);
  assert.ok(result.wasmMemory.before > 0 && result.wasmMemory.after >= result.wasmMemory.before);
  assert.match(readFileSync(join(out, "latest.md"), "utf8"), /\| filter\+rewrite \| 1024 B \|/);
  assert.match(readFileSync(join(out, "latest.svg"), "utf8"), /^<svg [^>]*>[\s\S]*<\/svg>\n$/);
  assert.ok(existsSync(join(out, "latest.svg")));
});
