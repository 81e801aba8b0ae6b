// Topic ids across Envoy workers: each worker runs its own filter VM, and a client's connections
// land on any of them, so the connection that fetched the metadata naming an id is rarely the one
// that produces or fetches by it. Through Envoy at --concurrency 2 and 4, started fresh (no worker
// has seen any id), franz-go and Apache Kafka's Java client (Produce v13 and Fetch by topic id)
// write and read in consumer groups, under ACLs and as a tenant whose topics are renamed: nothing
// is refused for an id the principal may use, and the records read back are byte-identical.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { suiteTestBed } from "../harness/testbed.ts";
import { javaClient } from "../harness/java_client.ts";
import { client } from "../harness/more_clients.ts";
import { brokerOffset, createTopics } from "../harness/broker_view.ts";
import { recordLines, recordsRead } from "./payload.ts";
import { WORKERS_CONFIG } from "./client_policy.ts";

const SIZES = [0, 1, 100, 1024, 16 * 1024, 200 * 1024];

type Runner = (args: string[], clientId: string) => Promise<string>;
const RUNNERS: Record<"java" | "franz", Runner> = {
  java: (args, clientId) => javaClient(args, 120000, clientId),
  franz: (args, clientId) => client("franz", args, clientId),
};


for (const concurrency of [2, 4]) {
  describe(`topic ids at Envoy --concurrency ${concurrency}: every worker knows them`, () => {
    const suite = suiteTestBed(`workers-${concurrency}`, WORKERS_CONFIG, { envoy: () => ({ concurrency }) });
    const { guard } = suite;
    const stat = (name: string) => suite.bed.envoy.stat(name);
    let written = 0;
    let tenantWritten = 0;

    before(() => createTopics(suite.bed.kafka, ["orders", "tenantA.orders"]));

    for (const kind of ["franz", "java"] as const) {
      test(`${kind}: produces and consumes in a group by topic id under ACLs, nothing refused`, guard(async () => {
        const run = RUNNERS[kind];
        const prefix = `${kind}-${concurrency}`;
        const out = await run(["produce", suite.bed.bootstrap, "orders", prefix, SIZES.join(",")], "writer");
        assert.match(out, new RegExp(`produced ${prefix}-${SIZES.length - 1} `));
        written += SIZES.length;
        assert.equal(await brokerOffset(suite.bed.kafka, "orders"), written);
        // Each client reads in its own group, from the start: every record so far.
        const out2 = await run(["consume", suite.bed.bootstrap, "orders", `readers-${kind}`, String(written)], "reader");
        assert.deepEqual(recordsRead(out2, prefix), recordLines(prefix, SIZES));
        assert.equal(await stat("authz.topic_ids_unknown"), 0);
        assert.equal(await stat("authz.requests_denied"), 0);
        assert.equal(await stat("authz.entries_denied"), 0);
      }));

      test(`${kind}: a tenant produces and consumes its renamed topic by id, nothing refused`, guard(async () => {
        const run = RUNNERS[kind];
        const prefix = `${kind}-tenant-${concurrency}`;
        await run(["produce", suite.bed.bootstrap, "orders", prefix, SIZES.join(",")], "tenant-a");
        tenantWritten += SIZES.length;
        assert.equal(await brokerOffset(suite.bed.kafka, "tenantA.orders"), tenantWritten);
        const out2 = await run(["consume", suite.bed.bootstrap, "orders", `readers-${kind}`, String(tenantWritten)], "tenant-a");
        assert.deepEqual(recordsRead(out2, prefix), recordLines(prefix, SIZES));
        assert.equal(await stat("rewrite.topic_ids_refused"), 0);
        assert.equal(await stat("authz.topic_ids_unknown"), 0);
        assert.equal(await stat("authz.requests_denied"), 0);
      }));
    }

    test("the connections did use ids that another worker had learned", guard(async () => {
      // Without this the suite could pass with every connection on one worker.
      assert.ok((await stat("topic_ids.shared_hits")) > 0);
      assert.equal(await stat("topic_ids.shared_full"), 0);
    }));
  });
}
