// Renders the filter's Prometheus output as an SVG of bar charts: the same series the Grafana
// dashboard (docs/grafana/kafka-proxy-dashboard.json) plots over time, as totals of one run.
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

function sumBy(samples: Sample[], name: string, label: string): [string, number][] {
  const totals = new Map<string, number>();
  for (const s of samples) if (s.name === name) totals.set(s.labels[label], (totals.get(s.labels[label]) ?? 0) + s.value);
  return [...totals].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
}

function escape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
}

function chart(title: string, rows: [string, number][], unit: string, x: number, y: number): string {
  const width = 440;
  const bar = 18;
  const max = Math.max(1, ...rows.map(([, v]) => v));
  const parts = [`<text x="${x}" y="${y}" font-weight="bold">${escape(title)}</text>`];
  rows.forEach(([label, v], i) => {
    const top = y + 12 + i * (bar + 6);
    const w = Math.max(1, Math.round((v / max) * (width - 190)));
    parts.push(`<text x="${x}" y="${top + 13}" font-size="12">${escape(label)}</text>`);
    parts.push(`<rect x="${x + 130}" y="${top}" width="${w}" height="${bar}" fill="#3d71d9"/>`);
    parts.push(`<text x="${x + 136 + w}" y="${top + 13}" font-size="12">${Math.round(v * 10) / 10} ${unit}</text>`);
  });
  return parts.join("\n");
}

export function renderMetricsSvg(prometheusText: string, caption: string): string {
  const s = parsePrometheus(prometheusText);
  const latency = sumBy(s, "kafka_proxy_latency_us_sum", "kafka_api").map(([api, sum]): [string, number] => {
    const count = sumBy(s, "kafka_proxy_latency_us_count", "kafka_api").find(([a]) => a === api)?.[1] ?? 1;
    return [api, sum / count / 1000];
  }).sort((a, b) => b[1] - a[1]);
  const charts = [
    chart("Requests by API", sumBy(s, "kafka_proxy_requests", "kafka_api"), "", 10, 50),
    chart("Mean request latency by API", latency, "ms", 480, 50),
    chart("Produced records by topic", sumBy(s, "kafka_proxy_topic_produce_records", "kafka_topic"), "", 10, 460),
    chart("Fetched records by topic", sumBy(s, "kafka_proxy_topic_fetch_records", "kafka_topic"), "", 480, 460),
    chart("Requests by client id", sumBy(s, "kafka_proxy_client_requests", "kafka_client_id"), "", 10, 600),
    chart("Connections by client software", sumBy(s, "kafka_proxy_client_software_connections", "kafka_client_software"), "", 480, 600),
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="960" height="780" font-family="sans-serif" font-size="14">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="24" font-size="16">${escape(caption)}</text>
${charts.join("\n")}
</svg>
`;
}
