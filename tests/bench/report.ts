// The benchmark's outputs: JSON (everything measured), a markdown table for the README and an
// SVG bar chart of throughput relative to tcp_proxy.
import type { BenchResult } from "./run.ts";

const pct = (x: number | undefined) => (x === undefined || !isFinite(x) ? "n/a" : `${(x * 100).toFixed(1)}%`);
const num = (x: number | undefined, digits = 0) => (x === undefined || !isFinite(x) ? "n/a" : x.toFixed(digits));

export function markdown(r: BenchResult): string {
  const lines: string[] = [];
  lines.push(`Measured ${r.date} on ${r.machine} (${r.mode} mode, \`${r.command}\`).`, "");
  lines.push("| scenario | size | records/s | MB/s | vs tcp_proxy | p50 / p99 ms @ fixed rate | one-at-a-time p50 / p99 µs | p99 added µs | Envoy CPU s/GB | consumer MB/s | kafkajs records/s |");
  lines.push("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const s of r.runs) {
    lines.push(`| ${s.scenario} | ${s.size} B | ${num(s.recordsPerSec)} | ${num(s.mbPerSec, 1)} | ${pct(s.vsTcpProxy)} | ` +
      `${num(s.latencyP50Ms)} / ${num(s.latencyP99Ms)} | ${num(s.rttP50Us)} / ${num(s.rttP99Us)} | ${num(s.rttP99AddedUs)} | ` +
      `${num(s.envoyCpuSecondsPerGB, 2)} | ${num(s.consumerMbPerSec, 1)} | ${num(s.kafkajsRecordsPerSec)} |`);
  }
  lines.push("");
  const m = r.micro;
  lines.push(`Per frame in V8 over ${m.frames} captured frames (mean ${m.meanFrameBytes} B): parse ${num(m.parseNsPerFrame)} ns, ` +
    `parse + authorize ${num(m.authorizeNsPerFrame)} ns, parse + rewrite ${num(m.rewriteNsPerFrame)} ns.`);
  lines.push(`Module: ${r.moduleBytes} bytes (goal <= ${150 * 1024}). Wasm memory (filter+metrics, 100 B): ` +
    `${r.wasmMemory.before} bytes before, ${r.wasmMemory.afterFirst} after the first run, ${r.wasmMemory.after} after ` +
    `${r.wasmMemory.records} records.`);
  lines.push("", "p99 added: one-at-a-time p99 minus tcp_proxy's, in µs (the perf tool's fixed-rate latencies are whole ms).",
    "", "Goals (not assertions): throughput >= 95% of tcp_proxy at 1 KiB and >= 85% at 100 B; p99 added <= 0.1 ms;",
    "module <= 150 KiB; Wasm memory flat.");
  return lines.join("\n") + "\n";
}

// Horizontal bars: records/s of each scenario relative to tcp_proxy, per record size.
export function svg(r: BenchResult): string {
  const rows = r.runs.filter((s) => s.vsTcpProxy !== undefined);
  const barH = 18;
  const gap = 6;
  const left = 190;
  const width = 640;
  const scale = (width - left - 80) / Math.max(1.2, ...rows.map((s) => s.vsTcpProxy!));
  const height = 50 + rows.length * (barH + gap) + 30;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="10" y="20" font-size="14">kafka-proxy-wasm: producer throughput relative to Envoy tcp_proxy (${r.mode} run, ${r.date.slice(0, 10)})</text>`);
  rows.forEach((s, i) => {
    const y = 40 + i * (barH + gap);
    const w = Math.max(1, s.vsTcpProxy! * scale);
    const colour = s.scenario === "tcp_proxy" ? "#888" : s.scenario === "direct" ? "#4a90d9" : "#e07b39";
    out.push(`<text x="${left - 8}" y="${y + 13}" text-anchor="end">${s.scenario} ${s.size} B</text>`);
    out.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${colour}"/>`);
    out.push(`<text x="${left + w + 4}" y="${y + 13}">${pct(s.vsTcpProxy)}</text>`);
  });
  const x100 = left + scale;
  out.push(`<line x1="${x100}" y1="35" x2="${x100}" y2="${height - 25}" stroke="#333" stroke-dasharray="4 3"/>`);
  out.push(`<text x="${x100}" y="${height - 10}" text-anchor="middle">tcp_proxy = 100%</text>`);
  out.push("</svg>");
  return out.join("\n") + "\n";
}
