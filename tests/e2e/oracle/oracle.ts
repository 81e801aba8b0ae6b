// "Kafka as the oracle": the same principals, ACLs, initial state and requests on two paths,
//  A: Envoy + the filter (ACL stage, principals from SASL PLAIN) in front of a broker without an
//     authorizer;
//  B: a broker running Kafka's own StandardAuthorizer with the same ACLs and SASL users,
// and the rule that A never shows or does more than B: no resource name, topic id, record or
// authorized operation in A's answer that B hid or refused, and no change on A's broker that the
// same request did not make on B's (read as a super user after each API).
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { requireInstalled, scratchDir } from "../../harness/paths.ts";
import { freePort } from "../../harness/process.ts";
import { startKafka, KafkaBroker } from "../../harness/kafka.ts";
import { startEnvoy, Envoy } from "../../harness/envoy.ts";
import { Api, Struct, loadApis } from "./codec.ts";
import { RawConnection, Outcome, pipelined } from "./client.ts";
import { FillContext, Probe, Shape, fillRequest, recordBatch } from "./fill.ts";
import { Seen, judge, seen } from "./compare.ts";
import { BrokerState, effectLeaks, readState } from "./state.ts";
import { PIPELINED, SEQUENCES } from "./sequences.ts";

const HERE = import.meta.dirname;

export interface Rule { principal: string; permission: string; resource: string; pattern?: string; name: string; operations: string[] }
export interface Scenario {
  users: Record<string, string>;
  super_users: string[];
  topics: string[];
  groups: string[];
  transactional_ids: string[];
  rules: Rule[];
  probes: Record<string, { label: string; topics: string[]; groups: string[]; txns: string[] }[]>;
}

export const scenario: Scenario = JSON.parse(readFileSync(join(HERE, "scenario.json"), "utf8"));

// APIs the sweep does not send, with the reason (the others on the broker listener all go).
export const EXCLUDED: Record<number, string> = {
  17: "SaslHandshake: part of the login every connection of the sweep makes; a second one on an authenticated connection is a protocol error the broker closes on (identity cases are issue 12 items 1-3)",
  36: "SaslAuthenticate: as SaslHandshake",
};

export function filterConfig(s: Scenario): object {
  return { principal_sources: ["sasl"], acls: { super_users: s.super_users, rules: s.rules } };
}

function jaas(s: Scenario): string {
  return `org.apache.kafka.common.security.plain.PlainLoginModule required ${Object.entries(s.users).map(([u, p]) => `user_${u}="${p}"`).join(" ")};`;
}

const SASL_PROPS = (s: Scenario) => ({
  "listener.security.protocol.map": "PROXIED:SASL_PLAINTEXT,DIRECT:PLAINTEXT,CONTROLLER:PLAINTEXT",
  "sasl.enabled.mechanisms": "PLAIN",
  "listener.name.proxied.plain.sasl.jaas.config": jaas(s),
  "share.coordinator.state.topic.replication.factor": "1",
  "share.coordinator.state.topic.min.isr": "1",
});

export interface Beds {
  apis: Map<number, Api>;
  a: { kafka: KafkaBroker; envoy: Envoy };
  b: KafkaBroker;
  dir: string;
  stop(keepLogs: boolean): Promise<void>;
}

export async function startBeds(name: string, s: Scenario = scenario, wasmPath?: string): Promise<Beds> {
  requireInstalled();
  const dir = scratchDir(name);
  const envoyPort = await freePort();
  const [kafkaA, kafkaB] = await Promise.all([
    startKafka(join(dir, "kafka-filter-path"), envoyPort, { props: SASL_PROPS(s) }),
    startKafka(join(dir, "kafka-authorizer"), await freePort(), {
      props: {
        ...SASL_PROPS(s),
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        // ANONYMOUS: the DIRECT and CONTROLLER listeners (plaintext), which set the test up and read the state.
        "super.users": [...s.super_users, "User:ANONYMOUS"].join(";"),
      },
    }),
  ]);
  const envoy = await startEnvoy(dir, { listenPort: envoyPort, upstreamPort: kafkaA.proxiedPort, filterConfig: filterConfig(s), wasmPath });
  return {
    apis: loadApis(),
    a: { kafka: kafkaA, envoy },
    b: kafkaB,
    dir,
    async stop(keepLogs: boolean) {
      await envoy.stop();
      await Promise.all([kafkaA.stop(), kafkaB.stop()]);
      if (keepLogs) console.error(`oracle logs kept in ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}

const RETRIABLE = new Set([14, 15, 16, 51, 5, 6]);

async function until(what: string, fn: () => Promise<boolean>, ms = 60000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out: ${what}`);
}

const OPS: Record<string, number> = {
  all: 2, read: 3, write: 4, create: 5, delete: 6, alter: 7, describe: 8, cluster_action: 9,
  describe_configs: 10, alter_configs: 11, idempotent_write: 12,
};
const RESOURCES: Record<string, number> = { topic: 2, group: 3, cluster: 4, transactional_id: 5 };

// The scenario's initial state, made the same way on a broker through its DIRECT listener.
export async function setUp(apis: Map<number, Api>, direct: RawConnection, s: Scenario, withAcls: boolean): Promise<void> {
  const send = async (key: number, v: number, body: Struct): Promise<Struct> => {
    const r = await direct.send(apis.get(key)!, v, body, 15000);
    if (r.kind !== "response") throw new Error(`set-up ${apis.get(key)!.name}: ${r.kind}`);
    return r.body;
  };
  await send(19, 7, { Topics: s.topics.map((Name) => ({ Name, NumPartitions: 1, ReplicationFactor: 1 })), TimeoutMs: 15000, ValidateOnly: false });
  await until("topic leaders", async () => {
    const md = await send(3, 12, { Topics: s.topics.map((Name) => ({ Name })), AllowAutoTopicCreation: false });
    return (md.Topics as Struct[]).every((t) => t.ErrorCode === 0 && (t.Partitions as Struct[]).every((p) => (p.LeaderId as number) >= 0));
  });
  await until("the initial records", async () => {
    const produced = await send(0, 9, {
      TransactionalId: null, Acks: -1, TimeoutMs: 10000,
      TopicData: s.topics.map((Name) => ({ Name, PartitionData: [{ Index: 0, Records: recordBatch(`initial ${Name}`) }] })),
    });
    const codes = (produced.Responses as Struct[]).flatMap((t) => (t.PartitionResponses as Struct[]).map((p) => p.ErrorCode as number));
    if (codes.some((c) => c !== 0 && !RETRIABLE.has(c))) throw new Error(`set-up produce: ${codes}`);
    // A retry after a partial success writes those topics twice: the same on both brokers is
    // all that matters, so only the first full success counts and partial ones are retried whole.
    return codes.every((c) => c === 0);
  });
  // The coordinators' internal topics are created by the first FindCoordinator.
  for (const [KeyType, keys] of [[0, s.groups], [1, s.transactional_ids]] as const) {
    await until("the coordinators", async () => {
      const r = await send(10, 4, { KeyType, CoordinatorKeys: keys });
      return (r.Coordinators as Struct[]).every((c) => c.ErrorCode === 0);
    });
  }
  for (const GroupId of s.groups) {
    await until(`offsets of ${GroupId}`, async () => {
      const r = await send(8, 8, {
        GroupId, GenerationIdOrMemberEpoch: -1, MemberId: "", GroupInstanceId: null,
        Topics: s.topics.map((Name) => ({ Name, Partitions: [{ PartitionIndex: 0, CommittedOffset: 1n, CommittedLeaderEpoch: -1, CommittedMetadata: "" }] })),
      });
      const codes = (r.Topics as Struct[]).flatMap((t) => (t.Partitions as Struct[]).map((p) => p.ErrorCode as number));
      if (codes.some((c) => c !== 0 && !RETRIABLE.has(c))) throw new Error(`set-up commit ${GroupId}: ${codes}`);
      if (process.env.ORACLE_DEBUG) console.error(GroupId, codes);
      return codes.every((c) => c === 0);
    });
  }
  for (const TransactionalId of s.transactional_ids) {
    await until(`producer id of ${TransactionalId}`, async () => {
      const r = await send(22, 5, { TransactionalId, TransactionTimeoutMs: 60000, ProducerId: -1n, ProducerEpoch: -1 });
      if (r.ErrorCode !== 0 && !RETRIABLE.has(r.ErrorCode as number)) throw new Error(`set-up InitProducerId ${TransactionalId}: ${r.ErrorCode}`);
      return r.ErrorCode === 0;
    });
  }
  if (!withAcls) return;
  const r = await send(30, 3, {
    Creations: s.rules.map((rule) => ({
      ResourceType: RESOURCES[rule.resource], ResourceName: rule.resource === "cluster" ? "kafka-cluster" : rule.name,
      ResourcePatternType: rule.pattern === "prefixed" ? 4 : 3, Principal: rule.principal === "*" ? "User:*" : rule.principal,
      Host: "*", Operation: -1, PermissionType: rule.permission === "deny" ? 2 : 3,
    })).flatMap((c, i) => s.rules[i].operations.map((op) => ({ ...c, Operation: OPS[op] }))),
  });
  for (const res of r.Results as Struct[]) if (res.ErrorCode !== 0) throw new Error(`CreateAcls: ${res.ErrorCode} ${res.ErrorMessage}`);
}

export interface Finding {
  api: string;
  key: number;
  version?: number;
  principal?: string;
  probe?: string;
  kind: "shown" | "effect" | "stricter" | "forwarded";
  detail: string;
}

export interface SweepResult {
  findings: Finding[];
  requests: number;
  inconclusive: number;
  // Per API: answers not compared (the reference broker failed for another reason than
  // authorization, or did not answer in time).
  inconclusiveByApi: Record<string, number>;
  // API versions the schemas know that a broker (or the filter's ApiVersions) does not offer.
  skippedVersions: { key: number; api: string; version: number }[];
  excluded: { key: number; api: string; reason: string }[];
  sweptVersions: number;
  // Versions swept per API key.
  sweptByApi: Record<number, number>;
  // API versions none of whose generated requests the reference broker answered: the harness
  // could not build a request the broker accepts, so nothing was compared there.
  unansweredByBroker: string[];
  elapsedMs: number;
}

function supportedRanges(body: Struct): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  for (const k of body.ApiKeys as Struct[]) out.set(k.ApiKey as number, [k.MinVersion as number, k.MaxVersion as number]);
  return out;
}

// Requests sent per API beyond the generic probes: config APIs on groups and brokers too,
// FindCoordinator for transactions too, ACL APIs on groups too.
function probeVariants(key: number, p: Probe): Probe[] {
  if (key === 32 || key === 33 || key === 44) return [p, { ...p, resource: "group" }, { ...p, resource: "broker" }];
  if (key === 10) return [p, { ...p, keyType: 1 }];
  if (key >= 29 && key <= 31) return [p, { ...p, resource: "group" }];
  return [p];
}

export async function sweep(beds: Beds, s: Scenario, onlyKeys?: number[]): Promise<SweepResult> {
  const started = Date.now();
  const { apis } = beds;
  const directA = new RawConnection(beds.a.kafka.directPort, apis);
  const directB = new RawConnection(beds.b.directPort, apis);
  const principals = Object.keys(s.probes);
  const connA = new Map(principals.map((u) => [u, new RawConnection(beds.a.envoy.listenPort, apis, { user: u, password: s.users[u] })]));
  const connB = new Map(principals.map((u) => [u, new RawConnection(beds.b.proxiedPort, apis, { user: u, password: s.users[u] })]));
  const result: SweepResult = { findings: [], requests: 0, inconclusive: 0, inconclusiveByApi: {}, skippedVersions: [], excluded: [], sweptVersions: 0, sweptByApi: {}, unansweredByBroker: [], elapsedMs: 0 };
  try {
    const versionsOf = async (c: RawConnection) => {
      const r = await c.send(apis.get(18)!, 3, { ClientSoftwareName: "oracle", ClientSoftwareVersion: "1" });
      if (r.kind !== "response") throw new Error(`ApiVersions: ${r.kind}`);
      return supportedRanges(r.body);
    };
    const [rangesA, rangesB] = [await versionsOf(connA.get(principals[0])!), await versionsOf(connB.get(principals[0])!)];
    // Clients ask Metadata first; the filter learns topic ids from these answers (README:
    // Authorization), so requests by topic id can be checked from the first API on.
    for (const principal of principals) {
      for (const conn of [connA.get(principal)!, connB.get(principal)!]) await conn.send(apis.get(3)!, 12, { Topics: null, AllowAutoTopicCreation: false });
    }
    let stateA = await readState(directA, apis);
    let stateB = await readState(directB, apis);
    const keys = [...apis.keys()].sort((x, y) => x - y).filter((k) => !onlyKeys || onlyKeys.includes(k));
    for (const key of keys) {
      const api = apis.get(key)!;
      if (!api.listeners.includes("broker")) continue;
      if (EXCLUDED[key]) {
        result.excluded.push({ key, api: api.name, reason: EXCLUDED[key] });
        continue;
      }
      const idsA = new Map([...stateA.topicIds].map(([n, id]) => [id.toString("hex"), n]));
      const idsB = new Map([...stateB.topicIds].map(([n, id]) => [id.toString("hex"), n]));
      const known = knownNames(s, stateA, stateB);
      for (let version = api.min; version <= api.max; version++) {
        const ra = rangesA.get(key);
        const rb = rangesB.get(key);
        if (!ra || !rb || version < Math.max(ra[0], rb[0]) || version > Math.min(ra[1], rb[1])) {
          result.skippedVersions.push({ key, api: api.name, version });
          continue;
        }
        result.sweptVersions++;
        result.sweptByApi[key] = (result.sweptByApi[key] ?? 0) + 1;
        for (const principal of principals) {
          const probes = s.probes[principal];
          const cases: { probe: Probe; shape: Shape; label: string }[] = [];
          for (const p of probes) {
            const probe: Probe = { topics: p.topics, groups: p.groups, txns: p.txns, resource: "topic", keyType: 0 };
            for (const variant of probeVariants(key, probe)) cases.push({ probe: variant, shape: p.topics.length > 1 ? "pair" : "one", label: p.label + variantLabel(variant) });
          }
          const first = probes[0];
          for (const variant of probeVariants(key, { topics: first.topics, groups: first.groups, txns: first.txns, resource: "topic", keyType: 0 })) {
            cases.push({ probe: variant, shape: "all", label: "all" + variantLabel(variant) });
          }
          let answered = 0;
          for (const c of cases) {
            const ctx = (ids: BrokerState["topicIds"]): FillContext => ({
              api, version, shape: c.shape, probe: c.probe, principal,
              topicId: (n) => ids.get(n) ?? fakeId(n),
            });
            const outA = await connA.get(principal)!.send(api, version, fillRequest(ctx(stateA.topicIds)));
            const outB = await connB.get(principal)!.send(api, version, fillRequest(ctx(stateB.topicIds)));
            result.requests++;
            if (TRACE.has(key)) console.error(JSON.stringify({ key, version, principal, probe: c.label, shape: c.shape, a: outA, b: outB }, traceJson));
            const at = { api: api.name, key, version, principal, probe: `${c.label} (${c.shape})` };
            judgeInto(result, at, api, version, outA, outB, known, idsA, idsB);
            if (outB.kind === "response") answered++;
          }
          if (answered === 0) result.unansweredByBroker.push(`${api.name}(${key}) v${version} ${principal}`);
        }
      }
      for (const seq of SEQUENCES.filter((q) => q.key === key)) {
        const earlierA: Struct[] = [];
        const earlierB: Struct[] = [];
        for (const step of seq.steps) {
          const stepApi = apis.get(step.key)!;
          if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
          const outA = await connA.get(step.principal)!.send(stepApi, step.version, step.body(earlierA, (n) => stateA.topicIds.get(n) ?? fakeId(n)));
          const outB = await connB.get(step.principal)!.send(stepApi, step.version, step.body(earlierB, (n) => stateB.topicIds.get(n) ?? fakeId(n)));
          result.requests++;
          if (TRACE.has(key)) console.error(JSON.stringify({ sequence: seq.label, key: step.key, a: outA, b: outB }, traceJson));
          earlierA.push(outA.kind === "response" ? outA.body : {});
          earlierB.push(outB.kind === "response" ? outB.body : {});
          const at = { api: stepApi.name, key: step.key, version: step.version, principal: step.principal, probe: `${seq.label} (sequence)` };
          judgeInto(result, at, stepApi, step.version, outA, outB, known, idsA, idsB);
        }
      }
      for (const seq of PIPELINED.filter((q) => q.key === key)) {
        const outsA = await pipelined(beds.a.envoy.listenPort, apis, seq.batches);
        const outsB = await pipelined(beds.b.proxiedPort, apis, seq.batches);
        const all = seq.batches.flat();
        for (let i = seq.judgeFrom; i < all.length; i++) {
          const stepApi = apis.get(all[i].key)!;
          result.requests++;
          if (TRACE.has(key)) console.error(JSON.stringify({ sequence: seq.label, key: all[i].key, a: outsA[i], b: outsB[i] }, traceJson));
          const at = { api: stepApi.name, key: all[i].key, version: all[i].version, principal: seq.principal, probe: `${seq.label} (sequence)` };
          judgeInto(result, at, stepApi, all[i].version, outsA[i], outsB[i], known, idsA, idsB);
        }
      }
      const [nextA, nextB] = [await readState(directA, apis), await readState(directB, apis)];
      for (const d of effectLeaks(stateA, nextA, stateB, nextB)) result.findings.push({ api: api.name, key, kind: "effect", detail: d });
      [stateA, stateB] = [nextA, nextB];
    }
  } finally {
    for (const c of [directA, directB, ...connA.values(), ...connB.values()]) c.close();
  }
  result.elapsedMs = Date.now() - started;
  return result;
}

// ORACLE_TRACE=1,3: print both answers of these APIs (to see why a case was judged as it was).
const TRACE = new Set((process.env.ORACLE_TRACE ?? "").split(",").filter((x) => x).map(Number));
const traceJson = (_: string, v: unknown) => typeof v === "bigint" ? String(v) : v && typeof v === "object" && (v as { type?: string }).type === "Buffer" ? `<${(v as { data: number[] }).data.length} bytes>` : v;

function judgeInto(result: SweepResult, at: Omit<Finding, "kind" | "detail">, api: Api, version: number, outA: Outcome, outB: Outcome,
  known: Set<string>, idsA: Map<string, string>, idsB: Map<string, string>) {
  const seenA = shown(api, version, outA, known, (id) => idsA.get(id.toString("hex")));
  const seenB = shown(api, version, outB, known, (id) => idsB.get(id.toString("hex")));
  if (outA.kind === "undecodable") result.findings.push({ ...at, kind: "shown", detail: `undecodable answer on the filter path: ${outA.error}` });
  if (!seenA) {
    // The filter path closed the connection or did not answer where the broker answered.
    if (outB.kind === "response") result.findings.push({ ...at, kind: "stricter", detail: `filter path ${outA.kind}, the broker answered` });
    return;
  }
  if (outB.kind === "timeout") {
    // No answer in time from the reference broker (a slow machine): nothing to compare.
    result.inconclusive++;
    result.inconclusiveByApi[at.api] = (result.inconclusiveByApi[at.api] ?? 0) + 1;
    return;
  }
  if (!seenB) {
    // The broker closed the connection (or answered garbage); anything A shows is more than B shows.
    for (const [n, st] of seenA.names) if (st.kind === "visible") result.findings.push({ ...at, kind: "shown", detail: `${n}: shown, the broker with the authorizer answered nothing (${outB.kind})` });
    return;
  }
  const v = judge(seenA, seenB);
  if (v.inconclusive) {
    result.inconclusive++;
    result.inconclusiveByApi[at.api] = (result.inconclusiveByApi[at.api] ?? 0) + 1;
  }
  for (const d of v.leaks) result.findings.push({ ...at, kind: "shown", detail: d });
  for (const d of v.stricter) result.findings.push({ ...at, kind: "stricter", detail: d });
  for (const d of v.forwarded) result.findings.push({ ...at, kind: "forwarded", detail: d });
}

function variantLabel(p: Probe): string {
  return p.resource !== "topic" ? ` [${p.resource} resource]` : p.keyType === 1 ? " [transaction key]" : "";
}

function shown(api: Api, version: number, out: Outcome, known: Set<string>, idName: (id: Buffer) => string | undefined): Seen | undefined {
  return out.kind === "response" ? seen(api, version, out.body, known, idName) : undefined;
}

// A topic id no broker gave out, fixed per name so both paths send the same bytes.
function fakeId(name: string): Buffer {
  const b = Buffer.alloc(16, 0x5a);
  Buffer.from(name).copy(b, 0, 0, 16);
  return b;
}

function knownNames(s: Scenario, a: BrokerState, b: BrokerState): Set<string> {
  const out = new Set<string>([...s.topics, ...s.groups, ...s.transactional_ids]);
  for (const list of Object.values(s.probes)) for (const p of list) [...p.topics, ...p.groups, ...p.txns].forEach((n) => out.add(n));
  for (const st of [a, b]) {
    for (const k of st.entries.keys()) {
      const m = /^(topic|group|transactional-id):(.*)$/.exec(k);
      if (m) out.add(m[2]);
    }
  }
  return out;
}

