// The benchmark's short mode as part of the test command: it must run end to end (every
// scenario, both record sizes, all outputs) in a few minutes. Numbers are not asserted: on a
// shared CI machine they are noise; `npm run bench` is where they are measured.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ROOT, requireInstalled, scratchDir } from "../harness/paths.ts";
import { freePort } from "../harness/process.ts";
import { SCENARIOS } from "./scenarios.ts";
import { startScenarioEnvoy } from "./scenario_envoy.ts";
import { markdown, svg } from "./report.ts";
import { CODECS } from "./validation_bench.ts";
import type { BenchResult } from "./run.ts";

// Every tag closed in order, one root element: enough to know a browser will draw the chart.
function assertWellFormedSvg(text: string): void {
  assert.match(text, /^<svg [^>]*>[\s\S]*<\/svg>\n$/);
  const open: string[] = [];
  for (const m of text.matchAll(/<(\/?)([a-z]+)[^>]*?(\/?)>/g)) {
    if (m[3] === "/") continue;
    if (m[1] === "/") assert.equal(open.pop(), m[2], `</${m[2]}> closes what it opened`);
    else open.push(m[2]);
  }
  assert.deepEqual(open, []);
  assert.doesNotMatch(text.replace(/<[^>]*>/g, ""), /[<>]|&(?!amp;|lt;|gt;|quot;)/, "text is escaped");
}

let refusal = "";

test("a filter configuration Envoy refuses makes the scenario not available, with Envoy's reason", async () => {
  requireInstalled();
  const dir = scratchDir("bench-refused");
  const upstream = await freePort();
  const started = await startScenarioEnvoy(dir, { no_such_key: 1 }, await freePort(), upstream);
  assert.ok("unavailable" in started, "Envoy refused the configuration");
  assert.match(started.unavailable, /unknown config key 'no_such_key'/);
  refusal = started.unavailable;
  // The same helper with an accepted configuration gives a running Envoy.
  const ok = await startScenarioEnvoy(dir, {}, await freePort(), upstream);
  assert.ok("envoy" in ok);
  await ok.envoy.stop();
  rmSync(dir, { recursive: true, force: true }); // only Envoy's logs, kept when the test fails
});

test("npm run bench -- --quick measures every scenario in under 3 minutes and writes JSON, markdown and SVG", { timeout: 200000 }, () => {
  requireInstalled();
  const out = scratchDir("bench-quick");
  // The bound for the short mode: killed (and failed) past 3 minutes.
  const r = spawnSync("npx", ["tsx", "tests/bench/run.ts", "--quick", "--out", out], { cwd: ROOT, encoding: "utf8", timeout: 180000 });
  assert.equal(r.status, 0, `${r.signal ?? ""}\n${r.stdout}\n${r.stderr}`);
  const result: BenchResult = JSON.parse(readFileSync(join(out, "latest.json"), "utf8"));
  // Every key the scenarios use is known to this build of the module: none may be missing.
  assert.deepEqual(result.unavailable, []);
  const measured = SCENARIOS.filter((s) => !s.fullOnly);
  assert.deepEqual(result.runs.map((x) => x.scenario).sort(), measured.flatMap((s) => [s.name, s.name]).sort());
  for (const run of result.runs) {
    assert.ok(run.recordsPerSec > 0 && run.mbPerSec > 0, `${run.scenario} ${run.size} B moved records`);
    assert.ok(run.latencyP99Ms! >= 0 && run.consumerMbPerSec! > 0 && run.kafkajsRecordsPerSec! > 0, JSON.stringify(run));
    assert.ok(run.rttP99Us! >= run.rttP50Us! && run.rttP50Us! > 0, JSON.stringify(run));
    assert.ok(run.vsTcpProxy! > 0 && isFinite(run.vsTcpProxy!), JSON.stringify(run));
    if (run.scenario !== "direct") assert.ok(run.envoyCpuSecondsPerGB! > 0, `${run.scenario} ${run.size} B: Envoy CPU measured`);
    // The copy ratio where the filter runs: it read every byte it forwarded at least once today
    // (ratio > 0), from Envoy's own counters.
    if (run.scenario.startsWith("filter+")) {
      assert.ok(run.bytesForwarded! >= run.records * run.size && run.copyRatio! > 0 && isFinite(run.copyRatio!), JSON.stringify(run));
      assert.equal(run.copyRatio, (run.abiBytesRead! + run.abiBytesWritten!) / run.bytesForwarded!);
    } else assert.equal(run.copyRatio, undefined, `${run.scenario}: no filter, no copy ratio`);
  }
  // The memory scenario: the idle connections were all open at once in one VM, its memory grew
  // in steps that give a need per connection, and the 1 MiB frames went through.
  assert.deepEqual(result.memoryFailures, []);
  assert.equal(result.memory.length, 1);
  const mem = result.memory[0];
  assert.equal(mem.idle.connections, 300);
  assert.ok(mem.idle.activeConnections >= 300, JSON.stringify(mem.idle));
  // Linear memory grows in 64 KiB pages: with a few KiB per connection, the need read from its
  // steps and the memory over the connections agree only within a page's worth.
  assert.ok(mem.idle.steps.length >= 1 && mem.idle.perIdleConnection > 0 && mem.idle.highWaterPerIdleConnection > 0,
    JSON.stringify(mem.idle));
  // 1 MiB produce frames now stay in Envoy's buffer (issue 14): memory need not grow at all.
  assert.ok(mem.big.connections === 8 && mem.big.afterFirstBytes > 0 && mem.big.afterAllBytes >= mem.big.afterFirstBytes, JSON.stringify(mem.big));
  // Record validation per codec: every codec through the validating filter, each run's records
  // all sent, all on the broker, none refused, and read by the rule (zstd passed unread).
  const v = result.validation!;
  assert.deepEqual(v.failures, []);
  assert.deepEqual(v.cells.filter((c) => c.scenario === "filter+validation-json").map((c) => c.codec), [...CODECS]);
  for (const run of v.runs) {
    assert.ok(run.records === v.recordsPerRun && run.brokerRecords === v.recordsPerRun && run.envoyCpuSeconds >= 0, JSON.stringify(run));
    if (run.scenario !== "filter+validation-json") continue;
    assert.equal(run.refused, 0, JSON.stringify(run));
    if (run.codec === "zstd") assert.ok(run.unsupportedPassed! > 0 && run.validatedBytes === 0, JSON.stringify(run));
    else assert.ok(run.validatedBytes! >= v.recordsPerRun * v.recordBytes && run.unsupportedPassed === 0, JSON.stringify(run));
  }
  assert.ok(result.micro.parseNsPerFrame > 0 && result.moduleBytes > 0);
  assert.ok(result.wasmMemory.before > 0 && result.wasmMemory.after >= result.wasmMemory.before);
  assert.ok(result.envoyRss.before > 0 && result.envoyRss.after > 0);
  assert.ok(result.load.start >= 0 && result.load.end >= 0);
  const md = readFileSync(join(out, "latest.md"), "utf8");
  for (const s of measured) assert.match(md, new RegExp(`\\| ${s.name.replace("+", "\\+")} \\| 1024 B \\| \\d+ \\|`));
  assert.match(md, /- module <= \d+ bytes: \d+ \((met|not met)\)/);
  assert.match(md, /- ABI bytes copied per forwarded byte <= 0.02 \(Java client[^)]*\): [\d.]+( to [\d.]+)? \((met|not met)\)/);
  assert.match(md, /- Wasm memory per idle connection <= 8.0 KiB \(300 idle connections[^)]*\): [\d.]+ KiB \((met|not met)\)/);
  assert.match(md, /\| filter\+rewrite \| 1024 B \|( [^|]* \|){8} \d\.\d{3} \|/);
  for (const c of CODECS) assert.match(md, new RegExp(`\\| ${c} \\| [\\d.]+ MB \\|( [^|]* \\|){2} \\d+\\.\\d\\d \\|`));
  assert.match(md, /Verified: every run's 1000 records were sent and are on the broker; the rule refused none/);
  assertWellFormedSvg(readFileSync(join(out, "latest.svg"), "utf8"));

  // The same results with a refused scenario (the reason Envoy gave above) still render.
  assert.ok(refusal !== "");
  const withRefusal = { ...result, unavailable: [{ scenario: "filter+refused", reason: refusal }] };
  assert.ok(markdown(withRefusal).includes(`| filter+refused | all | not available: ${refusal} |`));
  const chart = svg(withRefusal);
  assertWellFormedSvg(chart);
  assert.match(chart, /not available: [^<]*no_such_key/);
  rmSync(out, { recursive: true, force: true });
});
