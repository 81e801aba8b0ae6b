// What a broker holds, read as a super user on its DIRECT listener: topics and their partitions,
// records (high watermarks), committed offsets, groups, non-default configs, ACLs, transactional
// ids, SCRAM users, client quotas, finalized features. The oracle compares what each step changed
// on the filter path with what it changed on the reference broker.
import { Api, Struct } from "./codec.ts";
import { RawConnection } from "./client.ts";

export interface BrokerState {
  // "kind:key" -> value; records are counters (compared by growth), the rest exact values.
  entries: Map<string, string>;
  topicIds: Map<string, Buffer>;
}

export const COUNTER_PREFIX = "records:";

async function ask(conn: RawConnection, apis: Map<number, Api>, key: number, version: number, body: Struct): Promise<Struct> {
  const r = await conn.send(apis.get(key)!, version, body, 10000);
  if (r.kind !== "response") throw new Error(`state read ${apis.get(key)!.name}: ${r.kind}`);
  return r.body;
}

export async function readState(conn: RawConnection, apis: Map<number, Api>): Promise<BrokerState> {
  const entries = new Map<string, string>();
  const topicIds = new Map<string, Buffer>();
  const md = await ask(conn, apis, 3, 12, { Topics: null, AllowAutoTopicCreation: false, IncludeTopicAuthorizedOperations: false });
  const topics: { name: string; partitions: number }[] = [];
  for (const t of md.Topics as Struct[]) {
    const name = t.Name as string;
    topicIds.set(name, t.TopicId as Buffer);
    const partitions = (t.Partitions as Struct[]).length;
    topics.push({ name, partitions });
    entries.set(`topic:${name}`, String(partitions));
  }
  const lo = await ask(conn, apis, 2, 9, {
    ReplicaId: -1, IsolationLevel: 0,
    Topics: topics.map((t) => ({ Name: t.name, Partitions: Array.from({ length: t.partitions }, (_, i) => ({ PartitionIndex: i, CurrentLeaderEpoch: -1, Timestamp: -1n })) })),
  });
  for (const t of lo.Topics as Struct[]) {
    for (const p of t.Partitions as Struct[]) if (p.ErrorCode === 0) entries.set(`${COUNTER_PREFIX}${t.Name}:${p.PartitionIndex}`, String(p.Offset));
  }
  const groups = await ask(conn, apis, 16, 5, { StatesFilter: [], TypesFilter: [] });
  const groupIds = (groups.Groups as Struct[]).map((g) => g.GroupId as string);
  for (const g of groupIds) entries.set(`group:${g}`, "");
  if (groupIds.length) {
    const of = await ask(conn, apis, 9, 9, { Groups: groupIds.map((g) => ({ GroupId: g, MemberId: null, MemberEpoch: -1, Topics: null })), RequireStable: false });
    for (const g of of.Groups as Struct[]) {
      for (const t of g.Topics as Struct[]) {
        for (const p of t.Partitions as Struct[]) entries.set(`offset:${g.GroupId}:${t.Name}:${p.PartitionIndex}`, String(p.CommittedOffset));
      }
    }
  }
  const resources = [
    ...topics.map((t) => ({ ResourceType: 2, ResourceName: t.name, ConfigurationKeys: null })),
    ...groupIds.map((g) => ({ ResourceType: 32, ResourceName: g, ConfigurationKeys: null })),
    { ResourceType: 4, ResourceName: "1", ConfigurationKeys: null },
    { ResourceType: 4, ResourceName: "", ConfigurationKeys: null },
  ];
  const dc = await ask(conn, apis, 32, 4, { Resources: resources, IncludeSynonyms: false, IncludeDocumentation: false });
  for (const r of dc.Results as Struct[]) {
    for (const c of (r.Configs as Struct[]) ?? []) {
      // Sources: 1 dynamic topic/group, 2 dynamic broker, 3 dynamic default broker, 8 client metrics/group.
      if ([1, 2, 3, 8].includes(c.ConfigSource as number)) entries.set(`config:${r.ResourceType}:${r.ResourceName}:${c.Name}`, String(c.Value));
    }
  }
  const acls = await ask(conn, apis, 29, 3, {
    ResourceTypeFilter: 1, ResourceNameFilter: null, PatternTypeFilter: 1, PrincipalFilter: null, HostFilter: null, Operation: 1, PermissionType: 1,
  });
  for (const r of (acls.Resources as Struct[]) ?? []) {
    for (const a of r.Acls as Struct[]) entries.set(`acl:${r.ResourceType}:${r.PatternType}:${r.ResourceName}:${a.Principal}:${a.Host}:${a.Operation}:${a.PermissionType}`, "");
  }
  const txns = await ask(conn, apis, 66, 1, { StateFilters: [], ProducerIdFilters: [], DurationFilter: -1n });
  for (const t of (txns.TransactionStates as Struct[]) ?? []) entries.set(`transactional-id:${t.TransactionalId}`, "");
  const scram = await ask(conn, apis, 50, 0, { Users: null });
  for (const u of (scram.Results as Struct[]) ?? []) {
    for (const c of (u.CredentialInfos as Struct[]) ?? []) entries.set(`scram:${u.User}:${c.Mechanism}`, String(c.Iterations));
  }
  const quotas = await ask(conn, apis, 48, 1, { Components: [], Strict: false });
  for (const e of (quotas.Entries as Struct[]) ?? []) {
    const entity = (e.Entity as Struct[]).map((x) => `${x.EntityType}=${x.EntityName}`).join(",");
    for (const v of e.Values as Struct[]) entries.set(`quota:${entity}:${v.Key}`, String(v.Value));
  }
  const av = await ask(conn, apis, 18, 3, { ClientSoftwareName: "oracle", ClientSoftwareVersion: "1" });
  for (const f of (av.FinalizedFeatures as Struct[]) ?? []) entries.set(`feature:${f.Name}`, String(f.MaxVersionLevel));
  return { entries, topicIds };
}

// What a step changed on the filter path (before -> after) that it did not change on the
// reference broker: an entry created or changed on A that B does not now hold, an entry removed
// on A that B still holds, records that grew more on A than on B.
export function effectLeaks(aBefore: BrokerState, aAfter: BrokerState, bBefore: BrokerState, bAfter: BrokerState): string[] {
  const out: string[] = [];
  for (const [k, v] of aAfter.entries) {
    if (aBefore.entries.get(k) === v) continue;
    if (k.startsWith(COUNTER_PREFIX)) {
      // The coordinators' own logs grow with timing (expirations, markers, rebalances), not
      // only with what clients were allowed: their effects are read from the groups, offsets
      // and transactional ids instead.
      if (k.startsWith(`${COUNTER_PREFIX}__`)) continue;
      const grewA = BigInt(v) - BigInt(aBefore.entries.get(k) ?? "0");
      const grewB = BigInt(bAfter.entries.get(k) ?? "0") - BigInt(bBefore.entries.get(k) ?? "0");
      if (grewA > grewB) out.push(`${k}: ${grewA} records written through the filter, ${grewB} on the broker with the authorizer`);
      continue;
    }
    if (bAfter.entries.get(k) !== v) out.push(`${k}${v ? `=${v}` : ""}: ${aBefore.entries.has(k) ? "changed" : "created"} through the filter, not on the broker with the authorizer`);
  }
  for (const [k] of aBefore.entries) {
    if (!aAfter.entries.has(k) && bAfter.entries.has(k)) out.push(`${k}: removed through the filter, still on the broker with the authorizer`);
  }
  return out;
}
