// The fuzzer's short mode (the long one is `npm run fuzz -- --long`, 1,000,000 cases) and the
// replay of every saved failing input, against the built module in the test host.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, WASM } from "../harness/paths.ts";
import { fuzz, MAX_MEMORY_GROWTH } from "../host/fuzz_main.ts";
import { POLICIES, checkRequests } from "../host/fuzz.ts";
import { frameBoundaries } from "../harness/raw_client.ts";
import { ProxyWasmHost } from "../host/proxy_wasm_host.ts";

const FIXTURES = join(ROOT, "tests/unit/fixtures/fuzz");

test("30,000 fuzz cases (mutated captures, random splits, four policies, both directions): no trap, no oracle broken, no memory growth", async () => {
  const r = await fuzz(30000, 424242, false);
  assert.deepEqual(r.failures, []);
  assert.ok(r.refusals > 100, `the ACL policies refused ${r.refusals} requests or entries`);
  assert.ok(r.memoryGrowthBytes <= MAX_MEMORY_GROWTH, `module memory grew ${r.memoryGrowthBytes} B after the first tenth`);
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

test("the oracle's frame parser sees whole frames only", () => {
  // Two whole frames (2 and 1 body bytes), then one announcing 255 bytes with 1 present.
  assert.deepEqual(frameBoundaries(Buffer.from("0000000201020000000103000000ff00", "hex")), [6, 11]);
  assert.deepEqual(frameBoundaries(Buffer.from("ffffffff00", "hex")), []);
});
