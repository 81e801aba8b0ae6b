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
import { exchange, fetchByIdFrame, frames, requestFrame } from "../harness/raw_client.ts";
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

    test("on every worker, an id another worker learned gets the principal's own verdict; an id no one saw is unknown", guard(async () => {
      // The id, read on the broker's own listener: the proxy does not learn it from this.
      const id = /topicid ([0-9a-f]{32})/.exec(await javaClient(["topicid", suite.bed.kafka.direct, "orders"]))![1];
      const fetchAs = async (topicId: string, clientId: string) => {
        const { received } = await exchange(suite.bed.envoy.listenPort, [fetchByIdFrame(topicId, clientId)], { timeoutMs: 1500 });
        const [response] = frames(received);
        // size, correlation id, header tags, throttle time, error code, session id, one topic
        // (its id), one partition: index, then its error code.
        assert.equal(response.readInt32BE(4), 41);
        assert.equal(response.subarray(20, 36).toString("hex"), topicId);
        return response.readInt16BE(41);
      };
      const unknownBefore = await stat("authz.topic_ids_unknown");
      // Fresh connections, each on whichever worker the kernel picks.
      for (let i = 0; i < concurrency; i++) {
        assert.equal(await fetchAs(id, "reader"), 0);
        assert.equal(await fetchAs(id, "stranger"), 29, "TOPIC_AUTHORIZATION_FAILED");
      }
      assert.equal(await stat("authz.topic_ids_unknown"), unknownBefore);
      // An id no broker response named: unknown on every worker, never guessed.
      assert.equal(await fetchAs("0123456789abcdef0123456789abcdef", "reader"), 100, "UNKNOWN_TOPIC_ID");
      assert.equal(await stat("authz.topic_ids_unknown"), unknownBefore + 1);
    }));

    test("an id one connection's worker learned serves connections on the other workers", guard(async () => {
      // Without this the suite could pass with every connection on one worker (the kernel picks
      // one per connection) or with every worker learning each id from its own Metadata. A topic
      // no client has asked about yet: one Metadata request (one worker) names its id, then 16
      // connections at once fetch by it; all get their data, and some land on another worker,
      // which finds the id in the shared data (all 16 on the learning worker: 2^-16 at 2 workers).
      await createTopics(suite.bed.kafka, ["id-probe"]);
      const hitsBefore = await stat("topic_ids.shared_hits");
      const unknownBefore = await stat("authz.topic_ids_unknown");
      const metadata = Buffer.concat([Buffer.from([2]), Buffer.alloc(16), Buffer.from([9]), Buffer.from("id-probe"),
        Buffer.from([0]), Buffer.from([1, 0, 0])]);
      const { received } = await exchange(suite.bed.envoy.listenPort, [requestFrame(3, 12, 7, "reader", metadata, true)], { timeoutMs: 3000 });
      const [answer] = frames(received);
      // size, correlation id, header tags, throttle time, brokers (compact array): the id sits
      // right after the topic's error code and name; find it by the name.
      const at = answer.indexOf(Buffer.from("id-probe"));
      assert.ok(at > 0, "the Metadata answer names the topic");
      const id = answer.subarray(at + 8, at + 24).toString("hex");
      assert.notEqual(id, "0".repeat(32));
      const codes = await Promise.all(Array.from({ length: 16 }, async () => {
        const { received: r } = await exchange(suite.bed.envoy.listenPort, [fetchByIdFrame(id, "reader")], { timeoutMs: 3000 });
        return frames(r)[0].readInt16BE(41);
      }));
      assert.deepEqual(codes, Array(16).fill(0), "every connection fetched by the id");
      assert.equal(await stat("authz.topic_ids_unknown"), unknownBefore);
      assert.ok((await stat("topic_ids.shared_hits")) > hitsBefore, "another worker found the id in the shared data");
      assert.equal(await stat("topic_ids.shared_full"), 0);
    }));
  });
}
