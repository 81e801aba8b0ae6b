// The per-API operation table (assembly/policy/operations.ts) is written by hand after Kafka's
// docs; every row's API key must be the API its comment names in the installed schemas (a row
// on the wrong key gives one API another's rules).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../harness/paths.ts";
import { DEFAULT_SCHEMAS } from "../../build/codegen/generate.ts";

test("every row of the ACL operation table sits on the API key its name has in Kafka's schemas", () => {
  const names = new Map<number, string>();
  for (const file of readdirSync(DEFAULT_SCHEMAS).filter((f) => f.endsWith("Request.json"))) {
    const schema = JSON.parse(readFileSync(join(DEFAULT_SCHEMAS, file), "utf8").replace(/^\s*\/\/.*$/gm, ""));
    names.set(schema.apiKey, schema.name.replace(/Request$/, ""));
  }
  const table = readFileSync(join(ROOT, "assembly/policy/operations.ts"), "utf8");
  const rows = [...table.matchAll(/^ {2}(\d+), [^/]*\/\/ (\w+)/gm)];
  assert.ok(rows.length >= 60, `${rows.length} rows`);
  for (const [, key, name] of rows) assert.equal(names.get(Number(key)), name, `row for API key ${key}`);
});

// operations.ts createsTopic: in StreamsGroupHeartbeat, the topic names inside struct arrays are
// the internal topics the broker creates (needing CREATE), the plain string arrays the source and
// sink topics (DESCRIBE). A schema that moves a name between the two kinds must fail here.
test("StreamsGroupHeartbeat's topic names in struct arrays are exactly the topics the broker creates", () => {
  const schema = JSON.parse(readFileSync(join(DEFAULT_SCHEMAS, "StreamsGroupHeartbeatRequest.json"), "utf8").replace(/^\s*\/\/.*$/gm, ""));
  const structs = new Map<string, any[]>((schema.commonStructs ?? []).map((s: any) => [s.name, s.fields]));
  const inStructArrays: string[] = [];
  const inStringArrays: string[] = [];
  const visit = (fields: any[], path: string) => {
    for (const f of fields) {
      if (f.entityType === "topicName") (f.type === "[]string" ? inStringArrays : inStructArrays).push(`${path}${f.name}`);
      const inner = f.fields ?? structs.get(String(f.type).replace(/^\[\]/, ""));
      if (inner) visit(inner, `${path}${f.name}.`);
    }
  };
  visit(schema.fields, "");
  assert.deepEqual(inStringArrays.sort(), ["Topology.Subtopologies.RepartitionSinkTopics", "Topology.Subtopologies.SourceTopics"]);
  assert.deepEqual(inStructArrays.sort(), ["Topology.Subtopologies.RepartitionSourceTopics.Name", "Topology.Subtopologies.StateChangelogTopics.Name"]);
});
