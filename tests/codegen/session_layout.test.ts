// filters/fetch_sessions.ts reads the session fields of Fetch requests and responses at fixed
// body offsets, and ShareFetch/ShareAcknowledge keys as the first two fields: this checks those
// offsets against Kafka's schemas for every version they know, so a schema that moves them fails
// here rather than binding sessions to the wrong bytes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_SCHEMAS, parseVersions, readSchema } from "../../build/codegen/generate.ts";

const SIZES: Record<string, number> = { int8: 1, bool: 1, int16: 2, int32: 4, int64: 8, uuid: 16 };

// The body offset of `field` in `version`: every non-tagged field before it must be fixed-size.
function offsetOf(message: string, version: number, field: string): number {
  const schema = readSchema(join(DEFAULT_SCHEMAS, `${message}.json`));
  let at = 0;
  for (const f of schema.fields) {
    const v = parseVersions(f.versions, f.name);
    if (version < v.min || version > v.max) continue;
    if (f.taggedVersions !== undefined) continue;
    if (f.name === field) return at;
    const size = SIZES[f.type];
    assert.ok(size !== undefined, `${message} v${version}: ${f.name} (${f.type}) before ${field} is not fixed-size`);
    at += size;
  }
  throw new Error(`${message} v${version} has no ${field}`);
}

function versions(message: string): number[] {
  const v = parseVersions(readSchema(join(DEFAULT_SCHEMAS, `${message}.json`)).validVersions, message);
  return Array.from({ length: v.max - v.min + 1 }, (_, i) => v.min + i);
}

test("Fetch's SessionId sits where fetch_sessions.ts reads it, in every version", () => {
  for (const v of versions("FetchRequest")) {
    if (v < 7) continue;
    assert.equal(offsetOf("FetchRequest", v, "SessionId"), v < 15 ? 17 : 13, `request v${v}`);
    assert.equal(offsetOf("FetchResponse", v, "SessionId"), 6, `response v${v}`);
  }
});

test("ShareFetch and ShareAcknowledge open with GroupId, MemberId, ShareSessionEpoch", () => {
  for (const message of ["ShareFetchRequest", "ShareAcknowledgeRequest"]) {
    const names = readSchema(join(DEFAULT_SCHEMAS, `${message}.json`)).fields.slice(0, 3).map((f) => `${f.name}:${f.type}`);
    assert.deepEqual(names, ["GroupId:string", "MemberId:string", "ShareSessionEpoch:int32"], message);
  }
});
