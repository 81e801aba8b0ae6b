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
