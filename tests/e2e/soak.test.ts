// The soak's short mode (the long one is `npm run soak -- --long`, 30 minutes): eight producer
// connections, a consumer group and a churn of short connections through Envoy + filter
// (metrics, ACLs, rewriting) for 24 s; after warm-up neither the module's memory nor Envoy's
// heap or RSS may keep growing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { soak } from "../soak/soak.ts";

test("24 s of load and connection churn: Wasm memory, Envoy heap and RSS flat after warm-up", { timeout: 120000 }, async () => {
  const r = await soak(24, 8);
  assert.ok(r.records > 10000, `${r.records} records`);
  assert.ok(r.samples.every((s) => s.wasmBytes > 0));
  // Reassembly buffers reach the largest frame size early; a leak would keep adding pages.
  assert.ok(r.wasmGrowthBytes <= 2 * 1048576, `Wasm memory grew ${r.wasmGrowthBytes} B after warm-up`);
  assert.ok(r.rssGrowthBytes <= 64 * 1048576, `Envoy RSS grew ${r.rssGrowthBytes} B after warm-up`);
  assert.ok(r.shortConnections > 500, `${r.shortConnections} short connections`);
  assert.ok(r.allocatedGrowthBytes <= 32 * 1048576, `Envoy's allocated heap grew ${r.allocatedGrowthBytes} B after warm-up`);
});
