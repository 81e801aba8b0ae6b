// `npm run fuzz [-- --long] [-- --cases N] [-- --seed S] [-- --wasm FILE]`: runs fuzz cases
// (tests/host/fuzz.ts) against dist/kafka_proxy.wasm (or FILE) in the test host, round-robin over
// the policies and both directions, and saves any failing input under tests/host/fixtures/fuzz/
// for the short mode to replay; then a quarter as many protocol-class cases (pipelined SASL legs,
// emptied lists, regex payloads, session reuse), round-robin over the classes, whose failures
// replay from their seed and class (runClassCase). --long runs 1,000,000 cases.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, WASM } from "../harness/paths.ts";
import { ProxyWasmHost } from "./proxy_wasm_host.ts";
import { CLASS_POLICIES, CLASSES, POLICIES, runCase, runListsCase, runRegexCase, runResponseCase, runSaslCase, runSessionCase } from "./fuzz.ts";

export interface FuzzResult {
  cases: number;
  failures: string[];
  seconds: number;
  // Requests and entries the ACL policies refused: the "never forwarded" oracle had work to do.
  refusals: number;
  // Cases under the ACL policies whose requests named the refused topic.
  refusedTopicCases: number;
  // Growth of the modules' linear memory over the last nine tenths of the run (the buffers reach
  // their working size early; a leak keeps growing).
  memoryGrowthBytes: number;
  // Bytes the hosts copied across the ABI (data buffers), which the module's counters matched
  // after every case: the ABI byte oracle had work to do.
  abiBytesRead: number;
  abiBytesWritten: number;
}

// What the four modules' memory may still grow after the first tenth of a run: a buffer reaching
// a new largest frame now and then, not a leak (one of ~400 B per connection grew it by 9 MB in
// 30,000 cases).
export const MAX_MEMORY_GROWTH = 2 * 1048576;

// A frame buffer takes a whole frame as soon as its size prefix is in (up to max_request_bytes,
// 8 MiB by default), and linear memory never shrinks: the first mutated size prefix near the
// limit raises the high-water mark by up to 8 MiB, once per module (freed, the block is reused).
// One unfinished frame of the largest size, before the run, puts that step before the
// measurement, so what the run still adds is growth the cases caused.
function warmUp(host: ProxyWasmHost): void {
  const c = host.connect();
  const frame = Buffer.alloc(131072);
  frame.writeInt32BE(8 * 1048576, 0);
  // The size first, then more than the buffer holds: the growth that reserves the whole frame.
  host.downstream(c, frame.subarray(0, 16));
  host.downstream(c, frame.subarray(16));
  host.close(c);
}

export async function fuzz(cases: number, firstSeed: number, save: boolean, wasm = WASM): Promise<FuzzResult> {
  const hosts = new Map<string, ProxyWasmHost>();
  for (const [name, config] of Object.entries(POLICIES)) {
    const host = await ProxyWasmHost.load(wasm);
    if (!host.configure(config)) throw new Error(`policy ${name} refused`);
    warmUp(host);
    hosts.set(name, host);
  }
  const names = [...hosts.keys()];
  const failures: string[] = [];
  const start = Date.now();
  const memory = () => [...hosts.values()].reduce((n, h) => n + h.memoryBytes(), 0);
  let warmMemory = 0;
  let refusedTopicCases = 0;
  for (let i = 0; i < cases; i++) {
    if (i === Math.floor(cases / 10)) warmMemory = memory();
    const seed = firstSeed + i;
    const policy = names[i % names.length];
    const host = hosts.get(policy)!;
    // Every fourth case per policy is a response case, so each policy sees both directions.
    const result = Math.floor(i / names.length) % 4 === 3 ? runResponseCase(host, policy, seed) : runCase(host, policy, seed);
    if (result.namedRefused && (policy === "acls" || policy === "combined")) refusedTopicCases++;
    if (!result.ok) {
      failures.push(`seed ${seed} (${policy}): ${result.problem}`);
      if (save && result.input) {
        writeFileSync(join(ROOT, "tests/host/fixtures/fuzz", `${policy}-${seed}.json`),
          JSON.stringify({ policy, seed, problem: result.problem, input: result.input.toString("hex") }) + "\n");
      }
      // A trapped module is in an undefined state: start that policy's host afresh.
      hosts.set(policy, await ProxyWasmHost.load(wasm));
      hosts.get(policy)!.configure(POLICIES[policy]);
      warmUp(hosts.get(policy)!);
    }
  }
  let refusals = 0;
  for (const name of ["acls", "combined"]) {
    const h = hosts.get(name)!;
    refusals += Number((h.metric("kafka_proxy.authz.requests_denied") ?? 0n) + (h.metric("kafka_proxy.authz.entries_denied") ?? 0n));
  }
  const hostsNow = [...hosts.values()];
  return { cases, failures, seconds: (Date.now() - start) / 1000, refusals, refusedTopicCases, memoryGrowthBytes: failures.length > 0 ? 0 : memory() - warmMemory,
    abiBytesRead: hostsNow.reduce((n, h) => n + h.abiBytes.read, 0), abiBytesWritten: hostsNow.reduce((n, h) => n + h.abiBytes.written, 0) };
}

const RUN_CLASS = { sasl: runSaslCase, lists: runListsCase, regex: runRegexCase, sessions: runSessionCase };
export const runClassCase = (host: ProxyWasmHost, name: string, seed: number) => RUN_CLASS[name as keyof typeof RUN_CLASS](host, seed);

// The protocol classes, round-robin, one host per class (each class's policy).
export async function fuzzClasses(cases: number, firstSeed: number, wasm = WASM): Promise<{ failures: string[]; hosts: Map<string, ProxyWasmHost> }> {
  const hosts = new Map<string, ProxyWasmHost>();
  const fresh = async (name: string) => {
    const host = await ProxyWasmHost.load(wasm);
    if (!host.configure(CLASS_POLICIES[name])) throw new Error(`class ${name}: policy refused`);
    hosts.set(name, host);
  };
  for (const name of CLASSES) await fresh(name);
  const failures: string[] = [];
  for (let i = 0; i < cases; i++) {
    const name = CLASSES[i % CLASSES.length];
    const seed = firstSeed + i;
    const result = runClassCase(hosts.get(name)!, name, seed);
    if (!result.ok) {
      failures.push(`seed ${seed} (class ${name}): ${result.problem}`);
      await fresh(name);
    }
  }
  return { failures, hosts };
}

if (process.argv[1]?.endsWith("fuzz_main.ts")) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const cases = arg("--cases") ?? (process.argv.includes("--long") ? 1_000_000 : 20_000);
  const i = process.argv.indexOf("--wasm");
  const wasm = i > 0 ? process.argv[i + 1] : WASM;
  // Another module (an older or weakened build) is for showing the oracles fail: nothing saved.
  const r = await fuzz(cases, arg("--seed") ?? 1, i < 0, wasm);
  if (r.memoryGrowthBytes > MAX_MEMORY_GROWTH) r.failures.push(`module memory kept growing: ${r.memoryGrowthBytes} B`);
  const classCases = Math.ceil(cases / 4);
  const classStart = Date.now();
  const classes = await fuzzClasses(classCases, arg("--seed") ?? 1, wasm);
  r.failures.push(...classes.failures);
  console.log(`${r.cases} cases in ${r.seconds.toFixed(1)} s (${Math.round(r.cases / r.seconds)}/s), ${r.failures.length} failures, ` +
    `${r.refusals} ACL refusals (${r.refusedTopicCases} cases naming the refused topic), module memory grew ${r.memoryGrowthBytes} B after the first tenth, ` +
    `${r.abiBytesRead} B read and ${r.abiBytesWritten} B written across the ABI (as counted by the module); ` +
    `${classCases} protocol-class cases (${CLASSES.join(", ")}) in ${((Date.now() - classStart) / 1000).toFixed(1)} s`);
  for (const name of CLASSES) {
    const mine = classes.failures.filter((f) => f.includes(`(class ${name})`));
    if (mine.length > 0) console.log(`  class ${name}: ${mine.length} failures, first: ${mine[0]}`);
  }
  for (const f of r.failures.slice(0, 20)) console.log(`  ${f}`);
  process.exitCode = r.failures.length > 0 ? 1 : 0;
}
