// What happens when the module itself crashes (a trap), under each of Envoy's Wasm
// `failure_policy` values, for the connection that crashed it and for the healthy connections
// after it. A test-only module (tests/host/trap/) traps on data carrying "POISON" and passes
// everything else; the production module has no such hook. One broker serves an Envoy per policy.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { rmSync } from "node:fs";
import { ROOT, requireInstalled, scratchDir } from "../harness/paths.ts";
import { freePort, sleep } from "../harness/process.ts";
import { startKafka, KafkaBroker } from "../harness/kafka.ts";
import { startEnvoy, Envoy, EnvoyOptions } from "../harness/envoy.ts";
import { exchange, requestFrame } from "../harness/raw_client.ts";

type Policy = EnvoyOptions["failurePolicy"];

// An ApiVersions request; the broker's answer proves the connection reached it.
const request = (clientId: string) => requestFrame(18, 2, 7, clientId);

interface Outcome {
  answered: boolean;
  // Bytes Envoy sent to the broker over all connections.
  upstreamBytes: number;
}

describe("Envoy's failure_policy for a module that traps", () => {
  let dir = "";
  let trapWasm = "";
  let kafka: KafkaBroker;
  let failed = false;

  before(async () => {
    requireInstalled();
    dir = scratchDir("failure-policy");
    trapWasm = join(dir, "trap.wasm");
    const r = spawnSync("npx", ["asc", "--config", "tests/host/trap/asconfig.json", "-o", trapWasm], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    // Only raw requests reach the broker here, so what its PROXIED listener advertises is moot.
    kafka = await startKafka(join(dir, "kafka"), await freePort());
  });
  after(async () => {
    await kafka?.stop();
    if (failed) console.error(`failure_policy logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  // A healthy connection, the poisoned one, a healthy one right after it and one more 2.5 s later
  // (past FAIL_RELOAD's reload backoff of about a second), through a fresh Envoy. The policy acts
  // on the VM that trapped, and each worker has its own: with one worker every connection meets
  // that VM (with more, a worker whose VM did not trap keeps serving its connections).
  async function scenario(policy: Policy, check: (envoy: Envoy, outcomes: Outcome[]) => Promise<void>): Promise<void> {
    const envoy = await startEnvoy(dir, { listenPort: await freePort(), upstreamPort: kafka.proxiedPort, filterConfig: {}, wasmPath: trapWasm,
      failurePolicy: policy, concurrency: 1 });
    try {
      const outcomes: Outcome[] = [];
      for (const clientId of ["healthy", "POISON", "healthy", "healthy"]) {
        if (outcomes.length === 3) await sleep(2500);
        // A connection refused by a dead VM may be reset rather than closed: either is "not answered".
        const r = await exchange(envoy.listenPort, [request(clientId)], { timeoutMs: 3000, expectBytes: 4 })
          .catch(() => ({ received: Buffer.alloc(0), closedByPeer: true }));
        const stats = await envoy.stats("cluster.kafka_broker.upstream_cx_tx_bytes_total");
        outcomes.push({ answered: r.received.length > 0, upstreamBytes: stats.get("cluster.kafka_broker.upstream_cx_tx_bytes_total") ?? -1 });
      }
      // The poisoned connection is closed before any of its bytes reach the broker, whatever the policy.
      assert.equal(outcomes[0].answered, true, "the first healthy connection is answered");
      assert.equal(outcomes[1].answered, false, "the poisoned connection is not answered");
      assert.equal(outcomes[1].upstreamBytes, request("healthy").length, "no byte of the poisoned connection reached the broker");
      assert.match(envoy.service.log(), /proxy_on_downstream_data failed|unreachable/);
      await check(envoy, outcomes);
    } catch (e) {
      failed = true;
      throw e;
    } finally {
      await envoy.stop();
    }
  }

  test("FAIL_CLOSED: the VM stays dead; every later connection is refused too", () => scenario("FAIL_CLOSED", async (_, o) => {
    assert.deepEqual(o.slice(2).map((x) => x.answered), [false, false]);
    assert.equal(o[3].upstreamBytes, request("healthy").length, "nothing after the crash reached the broker");
  }));

  test("no failure_policy set: the same as FAIL_CLOSED", () => scenario(undefined, async (_, o) => {
    assert.deepEqual(o.slice(2).map((x) => x.answered), [false, false]);
    assert.equal(o[3].upstreamBytes, request("healthy").length);
  }));

  test("FAIL_RELOAD: refused during the reload backoff, then a fresh VM and the filter again", () => scenario("FAIL_RELOAD", async (envoy, o) => {
    assert.deepEqual(o.slice(2).map((x) => x.answered), [false, true]);
    const stats = await envoy.stats("vm_reload");
    assert.ok((stats.get("wasm.kafka_proxy.vm_reload_backoff") ?? 0) >= 1, "the connection right after the crash met the backoff");
    assert.equal(stats.get("wasm.kafka_proxy.vm_reload_success"), 1, "one VM reload");
  }));

  test("FAIL_OPEN: later connections bypass the filter (no checks at all)", () => scenario("FAIL_OPEN", async (envoy, o) => {
    assert.deepEqual(o.slice(2).map((x) => x.answered), [true, true]);
    const stats = await envoy.stats("vm_reload");
    assert.equal(stats.get("wasm.kafka_proxy.vm_reload_success") ?? 0, 0, "no VM was reloaded: the filter is skipped");
  }));
});
