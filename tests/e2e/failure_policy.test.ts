// What happens when the module itself crashes (a trap), with Envoy's Wasm `failure_policy`:
// FAIL_CLOSED closes the connection (nothing unchecked reaches Kafka); FAIL_OPEN lets traffic
// through without the filter. A test-only module (tests/host/trap/) traps on its first data;
// the production module has no such hook.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ROOT, requireInstalled, scratchDir } from "../harness/paths.ts";
import { startTestBed } from "../harness/testbed.ts";
import { exchange, requestFrame } from "../harness/raw_client.ts";

describe("Envoy's failure_policy for a trapping module", () => {
  let trapWasm = "";
  before(() => {
    requireInstalled();
    trapWasm = join(scratchDir("trap"), "trap.wasm");
    const r = spawnSync("npx", ["asc", "--config", "tests/host/trap/asconfig.json", "-o", trapWasm], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  });

  test("FAIL_CLOSED: the connection is closed and the broker sees nothing", async () => {
    const bed = await startTestBed("fail-closed", {}, { envoy: () => ({ wasmPath: trapWasm, failurePolicy: "FAIL_CLOSED" }) });
    let failed = true;
    try {
      const r = await exchange(bed.envoy.listenPort, [requestFrame(18, 2, 1, "trap")], { timeoutMs: 3000 });
      assert.equal(r.closedByPeer, true);
      assert.equal(r.received.length, 0, "no answer came back");
      // tcp_proxy opens the upstream connection up front; no byte may have gone over it.
      const sent = await bed.envoy.stats("cluster.kafka_broker.upstream_cx_tx_bytes_total");
      assert.equal(sent.get("cluster.kafka_broker.upstream_cx_tx_bytes_total"), 0, "no byte went to the broker");
      assert.match(bed.envoy.service.log(), /Function: proxy_on_downstream_data failed|unreachable/);
      failed = false;
    } finally {
      await bed.stop(failed);
    }
  });

  test("FAIL_OPEN: traffic goes on without the filter", async () => {
    const bed = await startTestBed("fail-open", {}, { envoy: () => ({ wasmPath: trapWasm, failurePolicy: "FAIL_OPEN" }) });
    let failed = true;
    try {
      const admin = new Kafka({ clientId: "fail-open", brokers: [bed.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } }).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: "open" }], waitForLeaders: true });
      assert.ok((await admin.listTopics()).includes("open"));
      await admin.disconnect();
      failed = false;
    } finally {
      await bed.stop(failed);
    }
  });
});
