// Tenant isolation where the names are not plain entity fields, through real Envoy + filter +
// Kafka with hand-made frames; the broker's DIRECT listener is the witness of what it holds and
// what it would have shown. ListConfigResources lists a tenant's own topics and groups only; a
// subscription regex that would close the tenant's prefix group (`.*)|(.*`) is refused and never
// gets another tenant's topics assigned; a tenant's ACL requests are refused.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Kafka, logLevel } from "kafkajs";
import { suiteTestBed } from "../harness/testbed.ts";
import { javaClient } from "../harness/java_client.ts";
import { frames, requestFrame } from "../harness/raw_client.ts";
import { createConnection } from "node:net";
import { brokerGroups, createTopics } from "../harness/broker_view.ts";
import { compactStr, i8, i32, uvarint } from "../harness/kafka_bytes.ts";

const CONFIG = {
  principal_sources: ["client_id"],
  rewrite: {
    tenants: [
      { principal: "User:tenant-a", prefix: "tenantA." },
      { principal: "User:tenant-b", prefix: "tenantB." },
    ],
  },
};

// Reads a response body field by field.
class Reader {
  constructor(private b: Buffer, public at: number) {}
  i8() {
    return this.b.readInt8((this.at += 1) - 1);
  }
  i16() {
    return this.b.readInt16BE((this.at += 2) - 2);
  }
  i32() {
    return this.b.readInt32BE((this.at += 4) - 4);
  }
  uvarint() {
    let n = 0;
    for (let shift = 0; ; shift += 7) {
      const c = this.b[this.at++];
      n |= (c & 0x7f) << shift;
      if (c < 0x80) return n;
    }
  }
  compactStr(): string | null {
    const n = this.uvarint() - 1;
    if (n < 0) return null;
    return this.b.subarray((this.at += n) - n, this.at).toString();
  }
  uuid() {
    return this.b.subarray((this.at += 16) - 16, this.at).toString("hex");
  }
  tags() {
    assert.equal(this.uvarint(), 0, "no tagged fields");
  }
}

// One request, one response (flexible header v2 request, header v1 response) on a fresh
// connection: the reader starts after the response header.
function call(port: number, apiKey: number, version: number, clientId: string, body: Buffer): Promise<Reader> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: "127.0.0.1", port });
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer to API ${apiKey} v${version}`));
    }, 10000);
    s.on("connect", () => s.write(requestFrame(apiKey, version, 7, clientId, body, true)));
    s.on("error", reject);
    s.on("data", (d) => {
      got = Buffer.concat([got, d]);
      const [response] = frames(got);
      if (!response) return;
      clearTimeout(timer);
      s.destroy();
      assert.equal(response.readInt32BE(4), 7);
      const r = new Reader(response, 8);
      r.tags();
      resolve(r);
    });
  });
}

describe("tenant isolation beyond entity fields, through Envoy + filter + Kafka", () => {
  const suite = suiteTestBed("tenant-isolation", CONFIG);
  const { guard } = suite;
  const stat = (name: string) => suite.bed.envoy.stat(name);
  const proxyPort = () => suite.bed.envoy.listenPort;
  const directPort = () => suite.bed.kafka.directPort;

  before(async () => {
    const kafka = suite.bed.kafka;
    await createTopics(kafka, ["tenantA.orders", "tenantB.orders", "tenantB.secret"]);
    // An offset commit makes the broker create __consumer_offsets.
    const admin = new Kafka({ clientId: "setup", brokers: [kafka.direct], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await admin.setOffsets({ groupId: "tenantB.readers", topic: "tenantB.orders", partitions: [{ partition: 0, offset: "0" }] });
    } finally {
      await admin.disconnect();
    }
    // Groups are config resources once they have a config of their own (IncrementalAlterConfigs
    // v1 on the DIRECT listener: SET consumer.heartbeat.interval.ms).
    for (const group of ["tenantA.readers", "tenantB.readers"]) {
      const body = Buffer.concat([
        uvarint(2), i8(32), compactStr(group), uvarint(2), compactStr("consumer.heartbeat.interval.ms"), i8(0), compactStr("6000"), uvarint(0), uvarint(0),
        i8(0), uvarint(0),
      ]);
      const r = await call(kafka.directPort, 44, 1, "setup", body);
      r.i32();
      assert.equal(r.uvarint(), 2);
      assert.equal(r.i16(), 0, `group config of ${group}`);
    }
  });

  // ListConfigResources v1 for topics (2) and groups (32): [name, type] pairs.
  const listConfigResources = async (port: number, clientId: string): Promise<[string, number][]> => {
    const r = await call(port, 74, 1, clientId, Buffer.concat([uvarint(3), i8(2), i8(32), uvarint(0)]));
    r.i32();
    assert.equal(r.i16(), 0, "ListConfigResources error code");
    const out: [string, number][] = [];
    for (let n = r.uvarint() - 1; n > 0; n--) {
      const name = r.compactStr()!;
      const type = r.i8();
      r.tags();
      out.push([name, type]);
    }
    r.tags();
    return out;
  };

  test("ListConfigResources shows a tenant its own topics and groups, by their client names, and nothing else", guard(async () => {
    // The broker lists every tenant's names and its internal topic.
    const direct = (await listConfigResources(directPort(), "witness")).map(([n, t]) => `${t} ${n}`);
    for (const e of ["2 tenantA.orders", "2 tenantB.orders", "2 tenantB.secret", "2 __consumer_offsets", "32 tenantA.readers", "32 tenantB.readers"]) {
      assert.ok(direct.includes(e), `the broker lists ${e}: ${direct.join(",")}`);
    }
    const hiddenBefore = await stat("rewrite.names_hidden");
    const shown = (await listConfigResources(proxyPort(), "tenant-a")).map(([n, t]) => `${t} ${n}`).sort();
    assert.deepEqual(shown, ["2 orders", "32 readers"]);
    assert.ok((await stat("rewrite.names_hidden")) >= hiddenBefore + 4);
  }));

  // ConsumerGroupHeartbeat v1 joining `group` with `regex`: error code and assigned topic ids.
  const joinByRegex = async (clientId: string, group: string, regex: string) => {
    const memberId = randomUUID();
    const heartbeat = (epoch: number, join: boolean) => Buffer.concat([
      compactStr(group), compactStr(memberId), i32(epoch), compactStr(null), compactStr(null), i32(60000),
      compactStr(null) /* SubscribedTopicNames: null */, join ? compactStr(regex) : compactStr(null), compactStr(null),
      join ? uvarint(1) : uvarint(0) /* TopicPartitions: [] when joining, else null */, uvarint(0),
    ]);
    const assigned = new Set<string>();
    let epoch = 0;
    let error = 0;
    // The broker resolves a regex in the background: heartbeat a while to see what it assigns.
    for (let i = 0; i < 12; i++) {
      const r = await call(proxyPort(), 68, 1, clientId, heartbeat(epoch, i == 0));
      r.i32();
      error = r.i16();
      r.compactStr();
      r.compactStr();
      const newEpoch = r.i32();
      r.i32();
      if (error != 0) break;
      epoch = newEpoch;
      if (r.i8() >= 0) {
        for (let t = r.uvarint() - 1; t > 0; t--) {
          assigned.add(r.uuid());
          for (let p = r.uvarint() - 1; p > 0; p--) r.i32();
          r.tags();
        }
        r.tags();
      }
      await new Promise((res) => setTimeout(res, 500));
    }
    return { error, assigned };
  };

  test("a regex that would close the tenant's prefix group is refused, and no other tenant's topic is ever assigned", guard(async () => {
    const idOf = async (topic: string) => /topicid ([0-9a-f]{32})/.exec(await javaClient(["topicid", suite.bed.kafka.direct, topic]))![1];
    const foreign = [await idOf("tenantB.orders"), await idOf("tenantB.secret"), await idOf("__consumer_offsets")];
    const { error, assigned } = await joinByRegex("tenant-a", "escape", ".*)|(.*");
    for (const id of foreign) assert.ok(!assigned.has(id), `topic ${id} of another tenant assigned to tenant-a`);
    assert.equal(error, 128, "INVALID_REGULAR_EXPRESSION");
    // The suite's bed is its own: this is the first pattern it refused.
    assert.equal(await stat("rewrite.patterns_refused"), 1);
    // The broker never saw the member: no tenantA.escape group.
    assert.ok(!(await brokerGroups(suite.bed.kafka)).includes("tenantA.escape"));
  }));

  test("a tenant's ACL requests are refused with CLUSTER_AUTHORIZATION_FAILED", guard(async () => {
    // DescribeAcls v2: any resource type, any name, any pattern, principal, host, operation, permission.
    const body = Buffer.concat([i8(1), compactStr(null), i8(1), compactStr(null), compactStr(null), i8(1), i8(1), uvarint(0)]);
    const r = await call(proxyPort(), 29, 2, "tenant-a", body);
    r.i32();
    assert.equal(r.i16(), 31);
    // CreateAcls v3 granting everything on every topic ("*", literal) is refused by the filter
    // (the broker, without an authorizer, would answer SECURITY_DISABLED).
    const grant = Buffer.concat([i8(2), compactStr("*"), i8(3), compactStr("User:tenant-a"), compactStr("*"), i8(2), i8(3), uvarint(0)]);
    const c = await call(proxyPort(), 30, 3, "tenant-a", Buffer.concat([uvarint(3), grant, grant, uvarint(0)]));
    c.i32();
    for (let n = c.uvarint() - 1; n > 0; n--) {
      assert.equal(c.i16(), 31);
      c.compactStr();
      c.tags();
    }
    assert.equal(await stat("rewrite.acl_requests_refused"), 2);
  }));
});
