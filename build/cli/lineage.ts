// `kafka-proxy-wasm lineage`: the data lineage graph from the filter's lineage counters
// (filters/lineage.ts, `"lineage": true`) in a Prometheus scrape of Envoy (/stats/prometheus),
// live or saved: workloads (principals, else client ids) -> topics they produce to, topics ->
// workloads that consume them, topics -> consumer groups committing offsets of them. Laid out by
// ELK (elkjs, layered algorithm) and drawn as SVG; DOT and Mermaid text for other tools.
import ELKModule from "elkjs/lib/elk.bundled.js";

export type NodeKind = "workload" | "topic" | "group";

export interface LineageNode {
  id: string;
  kind: NodeKind;
  // Envoy's label: the name with characters outside [A-Za-z0-9._/-] as "_" (label_table.ts).
  name: string;
}

export interface LineageEdge {
  from: string;
  to: string;
  kind: "produce" | "consume" | "commit";
  // Records produced or consumed, or offset commits.
  count: number;
  bytes: number;
}

export interface LineageGraph {
  nodes: LineageNode[];
  edges: LineageEdge[];
}

const nodeId = (kind: NodeKind, name: string) => `${kind}:${name}`;

function labels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]] = m[2].replace(/\\(.)/g, "$1");
  return out;
}

// The graph of a Prometheus text scrape (series with a zero value are left out).
export function lineageGraph(scrape: string): LineageGraph {
  const nodes = new Map<string, LineageNode>();
  const edges = new Map<string, LineageEdge>();
  const node = (kind: NodeKind, name: string): string => {
    const id = nodeId(kind, name);
    if (!nodes.has(id)) nodes.set(id, { id, kind, name });
    return id;
  };
  const edge = (from: string, to: string, kind: LineageEdge["kind"]): LineageEdge => {
    const key = `${from}|${to}|${kind}`;
    let e = edges.get(key);
    if (!e) edges.set(key, (e = { from, to, kind, count: 0, bytes: 0 }));
    return e;
  };
  for (const line of scrape.split("\n")) {
    const m = /^kafka_proxy_lineage_(produce_records|produce_bytes|consume_records|consume_bytes|group_commits)\{([^}]*)\}\s+(\S+)/.exec(line.trim());
    if (!m) continue;
    const value = Number(m[3]);
    if (!(value > 0)) continue;
    const l = labels(m[2]);
    const topic = l.kafka_lineage_topic;
    if (topic === undefined) continue;
    const [stat, unit] = [m[1].split("_")[0], m[1].split("_")[1]];
    if (stat === "group") {
      if (l.kafka_group === undefined) continue;
      edge(node("topic", topic), node("group", l.kafka_group), "commit").count += value;
      continue;
    }
    if (l.kafka_workload === undefined) continue;
    const w = node("workload", l.kafka_workload);
    const t = node("topic", topic);
    const e = stat === "produce" ? edge(w, t, "produce") : edge(t, w, "consume");
    if (unit === "records") e.count += value;
    else e.bytes += value;
  }
  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return {
    nodes: [...nodes.values()].sort(byId),
    edges: [...edges.values()].sort((a, b) => byId({ id: `${a.from}|${a.to}|${a.kind}` }, { id: `${b.from}|${b.to}|${b.kind}` })),
  };
}

const quote = (s: string) => JSON.stringify(s);
const edgeLabel = (e: LineageEdge) => e.kind === "commit" ? `${e.count} commits` : `${e.kind} ${e.count} records`;

export function toDot(g: LineageGraph): string {
  const shape: Record<NodeKind, string> = { workload: "box", topic: "cylinder", group: "ellipse" };
  return [
    "digraph lineage {", "  rankdir=LR;",
    ...g.nodes.map((n) => `  ${quote(n.id)} [label=${quote(n.name)}, shape=${shape[n.kind]}];`),
    ...g.edges.map((e) => `  ${quote(e.from)} -> ${quote(e.to)} [label=${quote(edgeLabel(e))}${e.kind === "consume" ? ", style=dashed" : ""}];`),
    "}", "",
  ].join("\n");
}

export function toMermaid(g: LineageGraph): string {
  const ids = new Map(g.nodes.map((n, i) => [n.id, `n${i}`]));
  // Mermaid labels: quoted, with `"` as its entity.
  const text = (s: string) => `"${s.replace(/"/g, "#quot;")}"`;
  const shape = (n: LineageNode) => n.kind === "topic" ? `[(${text(n.name)})]` : n.kind === "group" ? `([${text(n.name)}])` : `[${text(n.name)}]`;
  return [
    "flowchart LR",
    ...g.nodes.map((n) => `  ${ids.get(n.id)}${shape(n)}`),
    ...g.edges.map((e) => `  ${ids.get(e.from)} ${e.kind === "consume" ? "-.->" : "-->"}|${text(edgeLabel(e))}| ${ids.get(e.to)}`),
    "",
  ].join("\n");
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const FILL: Record<NodeKind, string> = { workload: "#dbeafe", topic: "#fef3c7", group: "#dcfce7" };
const CHAR_WIDTH = 7.2;

// Lays the graph out with ELK's layered algorithm (left to right) and draws it.
export async function toSvg(g: LineageGraph): Promise<string> {
  const ELK = (ELKModule as any).default ?? ELKModule;
  const elk = new ELK();
  const layout = await elk.layout({
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered", "elk.direction": "RIGHT", "elk.edgeRouting": "POLYLINE",
      "elk.layered.spacing.nodeNodeBetweenLayers": "90", "elk.spacing.nodeNode": "30", "elk.spacing.edgeLabel": "4",
    },
    children: g.nodes.map((n) => ({ id: n.id, width: Math.max(80, n.name.length * CHAR_WIDTH + 24), height: 36 })),
    edges: g.edges.map((e, i) => ({
      id: `e${i}`, sources: [e.from], targets: [e.to],
      labels: [{ text: edgeLabel(e), width: edgeLabel(e).length * 6 + 4, height: 14 }],
    })),
  });
  const kind = new Map(g.nodes.map((n) => [n.id, n]));
  const width = Math.ceil((layout.width ?? 0) + 20);
  const height = Math.ceil((layout.height ?? 0) + 20);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="-10 -10 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>`,
  ];
  for (const [i, e] of (layout.edges ?? []).entries()) {
    const src = g.edges[i];
    for (const s of e.sections ?? []) {
      const pts = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint].map((p: any) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
      out.push(`<polyline class="edge ${src.kind}" points="${pts}" fill="none" stroke="#555" stroke-width="1.5"${src.kind === "consume" ? ' stroke-dasharray="5,3"' : ""} marker-end="url(#arrow)"/>`);
    }
    for (const l of e.labels ?? []) {
      out.push(`<text class="edge-label" x="${(l.x ?? 0).toFixed(1)}" y="${((l.y ?? 0) + 11).toFixed(1)}" fill="#333" font-size="10">${esc(l.text ?? "")}</text>`);
    }
  }
  for (const c of layout.children ?? []) {
    const n = kind.get(c.id)!;
    const rx = n.kind === "group" ? 18 : n.kind === "topic" ? 8 : 2;
    out.push(`<g class="node ${n.kind}" data-id="${esc(n.id)}"><rect x="${c.x.toFixed(1)}" y="${c.y.toFixed(1)}" width="${c.width.toFixed(1)}" height="${c.height.toFixed(1)}" rx="${rx}" fill="${FILL[n.kind]}" stroke="#333"/>` +
      `<text x="${(c.x + c.width / 2).toFixed(1)}" y="${(c.y + c.height / 2 + 4).toFixed(1)}" text-anchor="middle">${esc(n.name)}</text></g>`);
  }
  out.push("</svg>", "");
  return out.join("\n");
}
