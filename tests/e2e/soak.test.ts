// The soak's short mode (the long one is `npm run soak -- --long`, 30 minutes): eight producer
// connections, a consumer group and a churn of short connections through Envoy + filter
// (metrics, ACLs, rewriting) for 24 s; after warm-up neither the module's memory nor Envoy's
// heap or RSS may keep growing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { growthProblems, soak } from "../soak/soak.ts";

test("24 s of load and connection churn: Wasm memory, Envoy heap and RSS flat after warm-up", { timeout: 120000 }, async () => {
  const r = await soak(24, 8);
  assert.ok(r.records > 10000, `${r.records} records`);
  assert.ok(r.samples.every((s) => s.wasmBytes > 0));
  assert.deepEqual(growthProblems(r), []);
  // How many depends on the machine's load; that the churn ran at all is what counts here.
  assert.ok(r.shortConnections > 20, `${r.shortConnections} short connections`);
});
