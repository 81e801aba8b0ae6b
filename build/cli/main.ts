// kafka-proxy-wasm: build the module, render Envoy and Istio configs from one policy file, and
// push the module as OCI images istio-agent can pull.
//   npx kafka-proxy-wasm <command> [options]      (--help on any command)
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { loadPolicy, PolicyError } from "./policy.ts";
import { envoyConfig, toYaml, wasmPlugin } from "./render.ts";
import { istioLimitsFilter } from "./l4_limits.ts";
import { ROOT } from "../root.ts";
import { Format, FORMATS, parseImage, pushModule } from "./oci.ts";
import { CREDENTIAL_VARIABLES, credentialsFromEnv, RegistryClient } from "./registry_client.ts";
import { lineageGraph, toDot, toMermaid, toSvg } from "./lineage.ts";
import { packData } from "../pack_data.ts";

interface Command {
  usage: string;
  help: string;
  run(args: Args): Promise<void> | void;
}

class UsageError extends Error {}

// --flag value pairs and bare --switches.
class Args {
  private values = new Map<string, string | true>();
  constructor(argv: string[], private allowed: string[]) {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (!a.startsWith("--")) throw new UsageError(`unexpected argument "${a}"`);
      const name = a.slice(2);
      if (!allowed.includes(name)) throw new UsageError(`unknown option --${name}`);
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith("--")) {
        this.values.set(name, next);
        i++;
      } else {
        this.values.set(name, true);
      }
    }
  }
  get(name: string): string | undefined {
    const v = this.values.get(name);
    if (v === true) throw new UsageError(`--${name} needs a value`);
    return v;
  }
  need(name: string): string {
    const v = this.get(name);
    if (v === undefined) throw new UsageError(`--${name} is required`);
    return v;
  }
  has(name: string): boolean {
    return this.values.has(name);
  }
}

function output(args: Args, text: string): void {
  const out = args.get("out");
  if (out === undefined) process.stdout.write(text);
  else {
    writeFileSync(out, text);
    console.error(`wrote ${out}`);
  }
}

const COMMANDS: Record<string, Command> = {
  build: {
    usage: "build",
    help: "Compiles the filter (AssemblyScript) to dist/kafka_proxy.wasm.",
    run() {
      const r = spawnSync("npx", ["asc", "--config", "asconfig.json", "--target", "release"], { cwd: ROOT, stdio: "inherit" });
      if (r.status !== 0) throw new Error("the AssemblyScript build failed");
      // The static data stored compressed, expanded by the start function (build/pack_data.ts).
      const file = join(ROOT, "dist/kafka_proxy.wasm");
      const { wasm, report } = packData(readFileSync(file));
      writeFileSync(file, wasm);
      console.error(`built ${file} (${report.after} bytes; static data ${report.image} bytes stored in ${report.packed})`);
    },
  },
  "render-envoy": {
    usage: "render-envoy --policy <file> [--out <file>]",
    help: "Renders an Envoy static config (YAML): the kafka_proxy filter with the policy's `filter` configuration in front of its upstream.",
    run(args) {
      const p = loadPolicy(args.need("policy"));
      output(args, toYaml(`Rendered by kafka-proxy-wasm from ${args.need("policy")}; check with: envoy --mode validate -c <this file>`, envoyConfig(p)));
    },
  },
  "render-istio": {
    usage: "render-istio --policy <file> [--sha256 <manifest digest>] [--out <file>]",
    help: "Renders an Istio WasmPlugin (type NETWORK) pulling the policy's image, with the filter configuration as pluginConfig, " +
      "and, with envoy.connectionLimits, an EnvoyFilter putting Envoy's connection_limit/local_ratelimit first on the same workload and ports. " +
      "--sha256 pins the image manifest digest that `push` prints.",
    run(args) {
      const p = loadPolicy(args.need("policy"));
      const digest = args.get("sha256")?.replace(/^sha256:/, "");
      if (digest !== undefined && !/^[a-f0-9]{64}$/.test(digest)) throw new UsageError("--sha256 must be 64 hex digits");
      let out = toYaml(`Rendered by kafka-proxy-wasm from ${args.need("policy")}`, wasmPlugin(p, digest));
      // envoy.connectionLimits: Envoy's own filters, as an EnvoyFilter on the same workload.
      const limits = istioLimitsFilter(p.name, p.istio.namespace, p.istio.selector, p.istio.mode, p.istio.ports,
        p.envoy.connectionLimits);
      if (limits !== null) out += "---\n" + toYaml("Connection limits (envoy.connectionLimits), first in the chain", limits);
      output(args, out);
    },
  },
  push: {
    usage: "push --image <host:port/repo:tag> [--format compat|docker|artifact] [--wasm <file>] [--insecure]",
    help: "Pushes the module to an OCI registry: `compat` (an OCI image, a tar.gz layer holding plugin.wasm), `docker` " +
      "(the same layer in a Docker v2 manifest) or `artifact` (the Wasm artifact media types). " +
      "Prints the manifest digest for WasmPlugin.sha256. Loopback registries use plain HTTP. " +
      `A registry that asks for credentials (Basic or a Bearer token) gets them from ${CREDENTIAL_VARIABLES.join(" and ")}.`,
    async run(args) {
      const format = (args.get("format") ?? "compat") as Format;
      if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")}`);
      const wasmFile = args.get("wasm") ?? join(ROOT, "dist/kafka_proxy.wasm");
      let wasm: Buffer;
      try {
        wasm = readFileSync(wasmFile);
      } catch {
        throw new UsageError(`cannot read the module ${wasmFile} (run the build command first)`);
      }
      const client = new RegistryClient(parseImage(args.need("image"), args.has("insecure")), credentialsFromEnv());
      const digest = await pushModule(client, wasm, format);
      console.log(digest);
    },
  },
};

COMMANDS.lineage = {
  usage: "lineage (--prometheus <url> | --scrape <file>) [--svg <file>] [--dot <file>] [--mermaid <file>]",
  help: "Draws the data lineage the filter counted (config `\"lineage\": true`): workloads -> topics they produce to, " +
    "topics -> workloads consuming them (dashed), topics -> consumer groups committing offsets. Reads Envoy's Prometheus " +
    "stats (e.g. http://127.0.0.1:9901/stats/prometheus) or a saved scrape; writes SVG (laid out by ELK), DOT and " +
    "Mermaid text; with no output file prints the DOT text.",
  async run(args) {
    const url = args.get("prometheus");
    const file = args.get("scrape");
    if ((url === undefined) === (file === undefined)) throw new UsageError("give one of --prometheus <url> or --scrape <file>");
    let scrape: string;
    if (url !== undefined) {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`${url} answered ${res.status}`);
      scrape = await res.text();
    } else {
      scrape = readFileSync(file!, "utf8");
    }
    const graph = lineageGraph(scrape);
    if (graph.edges.length === 0) console.error("no lineage counters in the scrape (is `\"lineage\": true` in the filter config?)");
    const write = (path: string, text: string) => {
      writeFileSync(path, text);
      console.error(`wrote ${path}`);
    };
    const svg = args.get("svg");
    const dot = args.get("dot");
    const mermaid = args.get("mermaid");
    if (svg !== undefined) write(svg, await toSvg(graph));
    if (dot !== undefined) write(dot, toDot(graph));
    if (mermaid !== undefined) write(mermaid, toMermaid(graph));
    if (svg === undefined && dot === undefined && mermaid === undefined) process.stdout.write(toDot(graph));
  },
};

const OPTIONS: Record<string, string[]> = {
  lineage: ["prometheus", "scrape", "svg", "dot", "mermaid", "help"],
  build: ["help"],
  "render-envoy": ["policy", "out", "help"],
  "render-istio": ["policy", "sha256", "out", "help"],
  push: ["image", "format", "wasm", "insecure", "help"],
};

function usage(): string {
  return ["usage: kafka-proxy-wasm <command> [options]", "", "commands:",
    ...Object.values(COMMANDS).map((c) => `  ${c.usage}\n      ${c.help}`), "", "--help after a command shows its help."].join("\n") + "\n";
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`kafka-proxy-wasm: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    const args = new Args(rest, OPTIONS[name]);
    if (args.has("help")) {
      process.stdout.write(`usage: kafka-proxy-wasm ${cmd.usage}\n\n${cmd.help}\n`);
      return 0;
    }
    await cmd.run(args);
    return 0;
  } catch (e) {
    const usageHint = e instanceof UsageError ? `\nusage: kafka-proxy-wasm ${cmd.usage}` : "";
    const kind = e instanceof PolicyError || e instanceof UsageError ? "" : "error: ";
    process.stderr.write(`kafka-proxy-wasm ${name}: ${kind}${(e as Error).message}${usageHint}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
