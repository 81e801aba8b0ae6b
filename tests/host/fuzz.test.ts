// The fuzzer's short mode (the long one is `npm run fuzz -- --long`, 1,000,000 cases) and the
// replay of every saved failing input, against the built module in the test host.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ROOT, WASM, scratchDir } from "../harness/paths.ts";
import { buildVariantModule, patchSource } from "../harness/variant_module.ts";
import { fuzz, fuzzClasses, MAX_MEMORY_GROWTH } from "./fuzz_main.ts";
import { CAPTURED, POLICIES, VALIDATION_POLICY, checkRequests, classOutcomes, runPressureCase, runValidationCase, staysInGroup,
  validationOutcomes, validationProduce } from "./fuzz.ts";
import { frameBoundaries } from "../harness/raw_client.ts";
import { ProxyWasmHost } from "./proxy_wasm_host.ts";

const FIXTURES = join(ROOT, "tests/host/fixtures/fuzz");

test("30,000 fuzz cases (mutated captures, random splits, four policies, both directions): no trap, no oracle broken, no memory growth", async () => {
  const r = await fuzz(30000, 424242, false);
  assert.deepEqual(r.failures, []);
  assert.ok(r.refusals > 100, `the ACL policies refused ${r.refusals} requests or entries`);
  assert.ok(r.refusedTopicCases > 100, `${r.refusedTopicCases} cases sent the refused topic and none of it reached the broker`);
  assert.ok(r.memoryGrowthBytes <= MAX_MEMORY_GROWTH, `module memory grew ${r.memoryGrowthBytes} B after the first tenth`);
  // The module's abi_bytes_read / abi_bytes_written matched the host's copies after every case.
  assert.ok(r.abiBytesRead > 100000 && r.abiBytesWritten > 10000, `ABI bytes: ${r.abiBytesRead} read, ${r.abiBytesWritten} written`);
});

test("the ABI byte oracle catches a module that under-reports its copies", async () => {
  // The module's counters flushed at half their value: the copy ratio it reports would look
  // better than it is.
  const dir = scratchDir("fuzz-abi-under");
  try {
    const wasm = buildVariantModule(dir, "under-reporting", (src) => {
      patchSource(src, "assembly/proxy/proxy_counters.ts", "this.abiBytesRead.increment(<u32>abiBytesRead)", "this.abiBytesRead.increment(<u32>abiBytesRead / 2)");
    });
    const r = await fuzz(200, 31337, false, wasm);
    assert.ok(r.failures.length > 50, `${r.failures.length} of 200 cases failed`);
    assert.ok(r.failures.every((f) => f.includes("abi byte counters")), r.failures.find((f) => !f.includes("abi byte counters")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("400 pressure cases (huge counts of refused entries, many unfinished frames), four policies: no trap, no oracle broken", async () => {
  const failures: string[] = [];
  for (const [policy, config] of Object.entries(POLICIES)) {
    const host = await ProxyWasmHost.load(WASM);
    assert.ok(host.configure(config));
    for (let seed = 1; seed <= 100; seed++) {
      const r = runPressureCase(host, policy, seed);
      if (!r.ok) failures.push(`seed ${seed} (${policy}): ${r.problem}`);
    }
    // Frames held under the default budget (256 MiB, half for large frames) plus what the rest took.
    assert.ok(host.memoryBytes() <= 256 * 1048576, `${policy}: module memory ${host.memoryBytes()} B`);
  }
  assert.deepEqual(failures, []);
});

test("2,000 protocol-class cases (pipelined SASL legs, emptied lists, regex payloads, session reuse): no trap, no oracle broken, every oracle had work", async () => {
  const before = { ...classOutcomes };
  const { failures, hosts } = await fuzzClasses(2000, 777, WASM);
  assert.deepEqual(failures, []);
  const metric = (cls: string, name: string) => Number(hosts.get(cls)!.metric(`kafka_proxy.${name}`) ?? 0n);
  // Requests pipelined behind a login were refused, and logins both let and kept requests out.
  assert.ok(metric("sasl", "sasl.pending_refused") > 50);
  assert.ok(metric("sasl", "authz.requests_denied") > 50);
  assert.ok(metric("lists", "authz.requests_denied") > 100, "requests whose every topic was refused");
  assert.ok(classOutcomes.patternsForwarded - before.patternsForwarded > 50, "patterns that went up (checked)");
  assert.ok(classOutcomes.patternsRefused - before.patternsRefused > 50, "patterns answered 128");
  assert.ok(classOutcomes.ownSessionsForwarded - before.ownSessionsForwarded > 20, "Fetches on their own session");
  assert.ok(classOutcomes.foreignSessionsRefused - before.foreignSessionsRefused > 50, "Fetches naming a foreign session, answered 70");
});

test("3,000 record validation cases (valid and broken JSON, bad UTF-8, deep nesting, headers, lying varints, codecs): no trap, a partition goes on iff its records pass the reference check (the rest of its request goes on), bounded memory", async () => {
  const host = await ProxyWasmHost.load(WASM);
  assert.ok(host.configure(VALIDATION_POLICY));
  const before = { ...validationOutcomes };
  const failures: string[] = [];
  for (let seed = 1; seed <= 3000; seed++) {
    const r = runValidationCase(host, seed);
    if (!r.ok) failures.push(`seed ${seed}: ${r.problem}`);
  }
  assert.deepEqual(failures.slice(0, 10), []);
  for (const k of ["forwarded", "refused", "unchecked"] as const) {
    assert.ok(validationOutcomes[k] - before[k] > 200, `${k}: ${validationOutcomes[k] - before[k]}`);
  }
  assert.ok(host.memoryBytes() <= 64 * 1048576, `module memory ${host.memoryBytes()} B`);
});

test("a Produce request cut inside its records waits for them only when it names a validated topic (the others go on as they arrive)", async () => {
  const host = await ProxyWasmHost.load(WASM);
  assert.ok(host.configure(VALIDATION_POLICY));
  for (const [topic, early] of [["free", true], ["json", false]] as [string, boolean][]) {
    const frame = validationProduce(topic, ["{\"a\": 1}", "[" + " ".repeat(200) + "]"]);
    const c = host.connect();
    host.downstream(c, frame.subarray(0, frame.length - 100));
    const before = Buffer.concat(c.toUpstream).length;
    assert.equal(before > 0, early, `${topic}: ${before} bytes went on before the request was whole`);
    host.downstream(c, frame.subarray(frame.length - 100));
    assert.ok(Buffer.concat(c.toUpstream).equals(frame), topic);
    host.close(c);
  }
});

test("the regex oracle's reader: what stays inside (?:...) and what escapes it", () => {
  for (const p of ["ord.*", "(a|b)", "[)]x", "[]a]", "\\)", "a\\\\", "(?i)a", "[[:alpha:]]+", "((a)(b))"]) assert.ok(staysInGroup(p), p);
  for (const p of [".*)|(.*", ")", "(", "a\\", "\\Q)\\E", "[a", "[)", "(()", "\\x{29}", "\\051", "a)(b"]) assert.ok(!staysInGroup(p), p);
});

test("saved failing inputs replay clean", async () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith(".json"));
  for (const file of files) {
    const c = JSON.parse(readFileSync(join(FIXTURES, file), "utf8"));
    const host = await ProxyWasmHost.load(WASM);
    assert.ok(host.configure(POLICIES[c.policy]));
    const input = Buffer.from(c.input, "hex");
    const r = checkRequests(host, c.policy, input, [input]);
    assert.ok(r.ok, `${file}: ${r.problem}`);
  }
});

test("tagged fields the schemas do not know (KIP-482) pass through byte for byte, in the header and the body", async () => {
  const host = await ProxyWasmHost.load(WASM);
  assert.ok(host.configure(POLICIES.metrics));
  // The Java client's Metadata v13: request header v2 (a tag buffer after the client id) and a
  // flexible body ending in its own tag buffer.
  const meta = CAPTURED.find((c) => c.isRequest && c.apiKey === 3 && c.version === 13)!.bytes;
  const headerTags = 14 + meta.readInt16BE(12);
  assert.equal(meta[headerTags], 0);
  assert.equal(meta.at(-1), 0);
  // Tag 7 with 3 bytes in the header; tags 2 and 900 (two-byte varint) in the body.
  const tagged = Buffer.concat([
    meta.subarray(0, headerTags), Buffer.from([1, 7, 3, 0xaa, 0xbb, 0xcc]),
    meta.subarray(headerTags + 1, meta.length - 1), Buffer.from([2, 2, 1, 0x01, 0x84, 0x07, 0]),
  ]);
  tagged.writeInt32BE(tagged.length - 4, 0);
  const forwarded = Number(host.metric("kafka_proxy.requests_forwarded") ?? 0n);
  const c = host.connect();
  host.downstream(c, tagged);
  assert.equal(c.closed, false);
  assert.deepEqual(Buffer.concat(c.toUpstream), tagged);
  assert.equal(Number(host.metric("kafka_proxy.requests_forwarded")) - forwarded, 1);
  // A tagged field whose size runs past the frame is refused, not forwarded.
  const lying = Buffer.from(tagged);
  lying[headerTags + 2] = 100;
  const d = host.connect();
  host.downstream(d, lying);
  assert.equal(d.closed, true);
  assert.deepEqual(Buffer.concat(d.toUpstream), Buffer.alloc(0));
});

test("the oracle's frame parser sees whole frames only", () => {
  // Two whole frames (2 and 1 body bytes), then one announcing 255 bytes with 1 present.
  assert.deepEqual(frameBoundaries(Buffer.from("0000000201020000000103000000ff00", "hex")), [6, 11]);
  assert.deepEqual(frameBoundaries(Buffer.from("ffffffff00", "hex")), []);
});
