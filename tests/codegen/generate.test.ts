// The committed codec tables are exactly what the generator makes from the installed Kafka
// schemas, and the generator refuses schema constructs it cannot represent.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_OUT, DEFAULT_SCHEMAS, generate, parseVersions } from "../../build/codegen/generate.ts";

test("assembly/kafka/generated/schema_tables.ts is up to date with the Kafka schemas", () => {
  const version = readFileSync(join(DEFAULT_SCHEMAS, "..", "version"), "utf8").trim();
  const fresh = generate(DEFAULT_SCHEMAS, `Apache Kafka ${version} message schemas`);
  const committed = readFileSync(DEFAULT_OUT, "utf8");
  assert.ok(fresh === committed, "generated tables differ from the committed ones: run `npm run codegen` and commit");
});

test("the tables cover every API key of the schemas with both directions", () => {
  const committed = readFileSync(DEFAULT_OUT, "utf8");
  const apis = /\/\/ (\d+) APIs, (\d+) structs, (\d+) fields/.exec(committed);
  assert.ok(apis);
  assert.ok(Number(apis[1]) >= 90, `${apis[1]} APIs`);
  // Produce: versions 3 to 13, flexible from 9 (API_VERSIONS).
  assert.match(committed, /^  3, 13, 9, \/\/ 0 Produce$/m);
});

test("version ranges parse as Kafka writes them", () => {
  assert.deepEqual(parseVersions("3+", "t"), { min: 3, max: 0x7fff });
  assert.deepEqual(parseVersions("1-3", "t"), { min: 1, max: 3 });
  assert.deepEqual(parseVersions("5", "t"), { min: 5, max: 5 });
  assert.deepEqual(parseVersions("none", "t"), { min: 0x7fff, max: -1 });
  assert.throws(() => parseVersions("3-", "Foo.Bar"), /Foo.Bar: bad version range "3-"/);
});
