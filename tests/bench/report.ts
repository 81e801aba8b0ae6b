// The benchmark's outputs: JSON (everything measured), a markdown table for the README with
// where each goal stands, and an SVG chart of throughput and Envoy CPU relative to tcp_proxy.
import type { BenchResult, Run } from "./run.ts";
import { SCENARIOS } from "./scenarios.ts";
import { validationMarkdown } from "./validation_bench.ts";

const pct = (x: number | undefined) => (x === undefined || !isFinite(x) ? "n/a" : `${(x * 100).toFixed(1)}%`);
const num = (x: number | undefined, digits = 0) => (x === undefined || !isFinite(x) ? "n/a" : x.toFixed(digits));
const MODULE_BUDGET = 150 * 1024;
// Issue 14: bytes copied across the ABI per byte forwarded, and Wasm memory per idle connection.
const COPY_RATIO_GOAL = 0.02;
const IDLE_CONNECTION_GOAL = 8 * 1024;
const kib = (x: number) => (isFinite(x) ? `${(x / 1024).toFixed(1)} KiB` : "n/a");

// The scenarios that run the filter (not direct, not tcp_proxy alone, not the yardstick modules,
// not the variants measured by the full bench only).
const withFilter = (r: BenchResult) =>
  r.runs.filter((s) => SCENARIOS.some((c) => c.name === s.scenario && c.envoy !== null && c.envoy.filter !== null && !c.baseline &&
    !c.fullOnly));
const CPU_GOAL = 1.25;

function range(values: number[], show: (x: number) => string): string {
  if (values.length === 0) return "n/a";
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi ? show(lo) : `${show(lo)} to ${show(hi)}`;
}

// One line per goal of the issue, with the measured value and whether it was met in this run.
function goals(r: BenchResult): string[] {
  const f = withFilter(r);
  const ratios = (size: number) => f.filter((s) => s.size === size).map((s) => s.vsTcpProxy!);
  const verdict = (ok: boolean) => (ok ? "met" : "not met");
  const out: string[] = [];
  for (const [size, goal] of [[1024, 0.95], [100, 0.85]]) {
    const v = ratios(size);
    out.push(`- throughput at ${size} B >= ${goal * 100}% of tcp_proxy: ${range(v, pct)} (${v.length ? verdict(Math.min(...v) >= goal) : "n/a"})`);
  }
  // The direct path skips Envoy: where its p99 came out above tcp_proxy's, that much is noise,
  // and a goal smaller than it cannot be told apart from it.
  const p99Goal = (what: string, added: number[], directAdded: number[], goal: number, unit: string) => {
    const noise = Math.max(0, ...directAdded);
    const v = !added.length ? "n/a" : noise > goal
      ? `not resolvable in this run: the direct path's p99 came out ${num(noise)} ${unit} above tcp_proxy's`
      : verdict(Math.max(...added) <= goal);
    out.push(`- p99 added <= ${goal} ${unit} (${what}): ${range(added, (x) => `${num(x)} ${unit}`)} (${v})`);
  };
  const direct = r.runs.filter((s) => s.scenario === "direct");
  const known = (xs: (number | undefined)[]) => xs.filter((x): x is number => x !== undefined && isFinite(x));
  p99Goal("one-at-a-time", known(f.map((s) => s.rttP99AddedUs)), known(direct.map((s) => s.rttP99AddedUs)), 100, "µs");
  p99Goal("at the fixed rate, the perf tool's whole ms", known(f.map((s) => s.p99AddedMs)), known(direct.map((s) => s.p99AddedMs)), 0.1, "ms");
  const cpu = known(f.map((s) => s.cpuVsTcpProxy));
  const floor = (name: string) => known(r.runs.filter((s) => s.scenario === name).map((s) => s.cpuVsTcpProxy));
  const framer = floor("wasm framer");
  out.push(`- Envoy CPU per GB <= ${CPU_GOAL}x tcp_proxy: ${range(cpu, pct)} (${cpu.length ? verdict(Math.max(...cpu) <= CPU_GOAL) : "n/a"}); ` +
    `a Wasm module that reads nothing: ${range(floor("wasm no-op"), pct)}` +
    (framer.length ? `; one that only finds the frames (one read per frame start): ${range(framer, pct)}` : ""));
  const consumer = known(f.filter((s) => s.size === 1024).map((s) => s.consumerVsTcpProxy));
  out.push(`- consumer MB/s at 1024 B >= 95% of tcp_proxy: ${range(consumer, pct)} (${consumer.length ? verdict(Math.min(...consumer) >= 0.95) : "n/a"})`);
  const copy = f.filter((s) => s.size === 1024 && s.copyRatio !== undefined).map((s) => s.copyRatio!);
  out.push(`- ABI bytes copied per forwarded byte <= ${COPY_RATIO_GOAL} (Java client, 1 KiB records, produce and consume, with metrics, ` +
    `ACLs and tenant rewriting): ${range(copy, (x) => num(x, 3))} (${copy.length ? verdict(Math.max(...copy) <= COPY_RATIO_GOAL) : "n/a"})`);
  const mem = r.memory ?? [];
  const idle = mem.map((m) => m.idle.perIdleConnection).filter((x) => isFinite(x));
  const counts = [...new Set(mem.map((m) => m.idle.connections))].join(", ");
  out.push(`- Wasm memory per idle connection <= ${kib(IDLE_CONNECTION_GOAL)} (${counts || "no"} idle connections, one worker; ` +
    `${mem.map((m) => m.scenario).join(", ") || "no scenario"}): ${range(idle, kib)} (${idle.length ? verdict(Math.max(...idle) <= IDLE_CONNECTION_GOAL) : "n/a"})`);
  const big = mem.map((m) => m.big.perConnection).filter((x) => isFinite(x));
  out.push(`- a connection that once carried a 1 MiB frame keeps no frame-sized buffer: at most ${range(big, kib)} kept per such connection ` +
    `(${mem.length ? verdict(mem.every((m) => !m.big.kept)) : "n/a"})`);
  out.push(`- module <= ${MODULE_BUDGET} bytes: ${r.moduleBytes} (${verdict(r.moduleBytes <= MODULE_BUDGET)})`);
  const m = r.wasmMemory;
  out.push(`- Wasm memory flat: ${m.afterFirst} bytes after one pass of every load, ${m.after} after ${m.records} more records ` +
    `(${m.records ? verdict(m.after === m.afterFirst) : "n/a"})`);
  return out;
}

function row(s: Run): string {
  return `| ${s.scenario} | ${s.size} B | ${num(s.recordsPerSec)} | ${num(s.mbPerSec, 1)} | ${pct(s.vsTcpProxy)} | ` +
    `${num(s.latencyP50Ms)} / ${num(s.latencyP99Ms)} @ ${num(s.latencyRate)}/s | ${num(s.rttP50Us)} / ${num(s.rttP99Us)} | ` +
    `${num(s.rttP99AddedUs)} | ${num(s.envoyCpuSecondsPerGB, 2)}${s.envoyUserSecondsPerGB !== undefined ? ` (${num(s.envoyUserSecondsPerGB, 2)})` : ""} | ${pct(s.cpuVsTcpProxy)} | ${num(s.copyRatio, 3)} | ${num(s.consumerMbPerSec, 1)} | ` +
    `${num(s.kafkajsRecordsPerSec)} |`;
}

export function markdown(r: BenchResult): string {
  const lines: string[] = [];
  lines.push(`Measured ${r.date} on ${r.machine} (${r.mode} mode, \`${r.command}\`; load average ` +
    `${r.load.start.toFixed(1)} at the start, ${r.load.end.toFixed(1)} at the end).`, "");
  lines.push("| scenario | size | records/s | MB/s | vs tcp_proxy | p50 / p99 ms at fixed rate | one-at-a-time p50 / p99 µs | " +
    "p99 added µs | Envoy CPU s/GB (user) | CPU vs tcp_proxy | ABI copy ratio | consumer MB/s | kafkajs records/s |");
  lines.push("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const s of r.runs) lines.push(row(s));
  for (const u of r.unavailable) lines.push(`| ${u.scenario} | all | not available: ${u.reason.replace(/\|/g, "\\|")} |${" |".repeat(10)}`);
  lines.push("");
  const m = r.micro;
  lines.push(`Per frame in V8 over ${m.frames} captured frames (mean ${m.meanFrameBytes} B): the schema walk alone ${num(m.parseNsPerFrame)} ns; ` +
    `the filter's pipeline (header, walk, stage, edited frames handed out) with ACLs ${num(m.authorizeNsPerFrame)} ns, ` +
    `with tenant rewriting ${num(m.rewriteNsPerFrame)} ns.`);
  lines.push(`Module: ${r.moduleBytes} bytes. Wasm memory (filter+metrics, 100 B; the filter's gauge, as Envoy reports ` +
    `no per-VM memory): ${r.wasmMemory.before} bytes in a fresh Envoy, ${r.wasmMemory.afterFirst} after one pass of every ` +
    `load, ${r.wasmMemory.after} after ${r.wasmMemory.records} more records. Envoy RSS at the same points: ` +
    `${r.envoyRss.before}, ${r.envoyRss.afterFirst}, ${r.envoyRss.after} bytes.`);
  if ((r.memory ?? []).length + (r.memoryFailures ?? []).length > 0) {
    lines.push("", "| scenario (one worker) | idle connections | Wasm memory before / with them | per idle connection: need / linear memory | " +
      "1 MiB frames carried | memory after the first / all | kept per such connection (at most) |");
    lines.push("| --- | --- | --- | --- | --- | --- | --- |");
    for (const m of r.memory) {
      lines.push(`| ${m.scenario} | ${m.idle.connections}${m.idle.limitedBy ? ` (of ${m.idle.target}: ${m.idle.limitedBy})` : ""} | ` +
        `${m.idle.baseBytes} / ${m.idle.idleBytes} | ${kib(m.idle.perIdleConnection)} / ${kib(m.idle.highWaterPerIdleConnection)} | ` +
        `${m.big.connections} | ${m.big.afterFirstBytes} / ${m.big.afterAllBytes} | ${kib(m.big.perConnection)} |`);
    }
    for (const f of r.memoryFailures ?? []) lines.push(`| ${f.scenario} | not measured: ${f.reason.replace(/\|/g, "\\|")} |${" |".repeat(5)}`);
  }
  lines.push("", "ABI copy ratio: (kafka_proxy.abi_bytes_read + abi_bytes_written) / kafka_proxy.bytes_forwarded from Envoy's stats, " +
    "over the Java producer's unthrottled runs and the Java consumer's run.",
  "Memory per idle connection: the need, from the steps of the module's linear memory as the connections were opened (the " +
    "allocator doubles the memory, so the memory itself over the connections is up to twice the need, shown after the slash).",
  "", "p99 added: one-at-a-time p99 minus tcp_proxy's, in µs (the perf tool's fixed-rate latencies are whole ms).",
    "", "Goals (reported, not asserted):", "", ...goals(r));
  if (r.validation !== undefined) lines.push("", validationMarkdown(r.validation).trimEnd());
  return lines.join("\n") + "\n";
}

// Two panels of horizontal bars, one row per scenario and record size: producer records/s and
// Envoy CPU-seconds per GB, each relative to tcp_proxy (the dashed line).
export function svg(r: BenchResult): string {
  const barH = 16;
  const gap = 6;
  const label = 170;
  const panel = 330;
  const width = label + 2 * panel + 20;
  const rows = r.runs.length + r.unavailable.length;
  const top = 58;
  const height = top + rows * (barH + gap) + 30;
  const colour = (s: Run) => (s.scenario === "tcp_proxy" ? "#888" : s.scenario === "direct" ? "#4a90d9" : "#e07b39");
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="10" y="20" font-size="14">kafka-proxy-wasm vs Envoy tcp_proxy (${r.mode} run, ${r.date.slice(0, 10)})</text>`);
  const panels: { title: string; value: (s: Run) => number | undefined }[] = [
    { title: "producer records/s (higher is better)", value: (s) => s.vsTcpProxy },
    { title: "Envoy CPU-seconds per GB (lower is better)", value: (s) => s.cpuVsTcpProxy },
  ];
  panels.forEach((p, pi) => {
    const x0 = label + pi * panel;
    const max = Math.max(1.2, ...r.runs.map((s) => p.value(s) ?? 0));
    const scale = (panel - 70) / max;
    out.push(`<text x="${x0}" y="${top - 12}">${p.title}</text>`);
    r.runs.forEach((s, i) => {
      const y = top + i * (barH + gap);
      const v = p.value(s);
      if (v === undefined || !isFinite(v)) {
        out.push(`<text x="${x0 + 4}" y="${y + 12}" fill="#666">n/a</text>`);
        return;
      }
      const w = Math.max(1, v * scale);
      out.push(`<rect x="${x0}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${colour(s)}"/>`);
      out.push(`<text x="${(x0 + w + 4).toFixed(1)}" y="${y + 12}">${pct(v)}</text>`);
    });
    const x100 = (x0 + scale).toFixed(1);
    out.push(`<line x1="${x100}" y1="${top - 6}" x2="${x100}" y2="${height - 25}" stroke="#333" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${x100}" y="${height - 10}" text-anchor="middle">tcp_proxy = 100%</text>`);
  });
  r.runs.forEach((s, i) => {
    out.push(`<text x="${label - 8}" y="${top + i * (barH + gap) + 12}" text-anchor="end">${s.scenario} ${s.size} B</text>`);
  });
  r.unavailable.forEach((u, k) => {
    const y = top + (r.runs.length + k) * (barH + gap) + 12;
    out.push(`<text x="${label - 8}" y="${y}" text-anchor="end">${u.scenario}</text>`);
    out.push(`<text x="${label}" y="${y}" fill="#a00">not available: ${escapeXml(u.reason)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
