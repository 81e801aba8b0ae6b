// Every Envoy config in envoy-config/ passes the real Envoy's `--mode validate` (which also
// loads the Wasm module and runs its configure step), and a bad filter configuration makes
// Envoy refuse the filter with a message naming the bad key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { validateEnvoyConfig } from "../harness/envoy.ts";
import { makeCerts } from "../harness/certs.ts";
import { ROOT, requireInstalled, scratchDir } from "../harness/paths.ts";
import { BENCH_FILTERS, exampleConfigs, render } from "../../build/envoy/examples.ts";
import { SCENARIOS } from "../bench/scenarios.ts";

const CONFIG_DIR = join(ROOT, "envoy-config");
const files = readdirSync(CONFIG_DIR).filter((f) => f.endsWith(".yaml"));

test("envoy-config/ holds the example configs, the demo's and the benchmark's as they run", () => {
  assert.ok(files.includes("kafka-proxy.yaml") && files.includes("kafka-proxy-mtls.yaml"));
  for (const [name, config] of exampleConfigs()) {
    assert.ok(files.includes(name), `envoy-config/${name} (npm run envoy-configs writes it)`);
    assert.equal(readFileSync(join(CONFIG_DIR, name), "utf8"), render(name, config), `envoy-config/${name} is current (npm run envoy-configs)`);
  }
  // Every bench scenario that runs the filter (or plain tcp_proxy) runs its example's config.
  for (const s of SCENARIOS) {
    if (s.envoy !== null && !s.baseline) assert.deepEqual(s.envoy.filter, BENCH_FILTERS[s.name], `${s.name}: BENCH_FILTERS (build/envoy/examples.ts)`);
  }
});

for (const file of files) {
  test(`envoy --mode validate accepts envoy-config/${file}`, () => {
    requireInstalled();
    process.chdir(ROOT);
    let path = join(CONFIG_DIR, file);
    const text = readFileSync(path, "utf8");
    // Envoy loads the certificates it names: the mTLS example gets a freshly made set.
    if (text.includes("envoy-config/certs/")) {
      const dir = scratchDir("certs");
      makeCerts(dir);
      path = join(dir, file);
      writeFileSync(path, text.replaceAll("envoy-config/certs/", `${dir}/`));
    }
    const r = validateEnvoyConfig(path);
    assert.ok(r.ok, r.output);
  });
}

const BAD: [string, RegExp][] = [
  [`{ "max_request_bytes": 100, "bogus": true }`, /unknown config key 'bogus'/],
  [`{ "max_request_bytes": "big" }`, /config key 'max_request_bytes' must be a whole number of bytes/],
  [`{ "forward": "sometimes" }`, /config key 'forward' must be "after_check" or "immediately"/],
  [`{ "forward": `, /config is not valid JSON/],
  [`{ "acls": { "rules": [{ "principal": "*", "resource": "topic", "name": "t", "operations": ["reed"] }] } }`,
    /config key 'acls.rules\[0\].operations\[0\]': unknown operation 'reed'/],
  [`{ "acls": { "rules": [{ "principal": "*", "resource": "topic", "name": "t*", "pattern": "glob", "operations": ["read"] }] } }`,
    /config key 'acls.rules\[0\].pattern' must be "literal" or "prefixed"/],
  [`{ "rewrite": { "tenants": [{ "principal": "User:a", "prefix": "a/" }] } }`,
    /config key 'rewrite.tenants\[0\].prefix' must use only/],
  // One tenant's prefix starting with another's would give it the other's names.
  [`{ "rewrite": { "tenants": [{ "principal": "User:a", "prefix": "t." }, { "principal": "User:b", "prefix": "t.y." }] } }`,
    /config key 'rewrite.tenants\[1\].prefix' overlaps another tenant's prefix/],
  [`{ "rewrite": { "tenants": [{ "principal": "User:a", "prefix": "t.y." }, { "principal": "User:b", "prefix": "t." }] } }`,
    /config key 'rewrite.tenants\[1\].prefix' overlaps another tenant's prefix/],
  [`{ "rewrite": { "tenants": [{ "principal": "User:a", "prefix": "__" }] } }`,
    /config key 'rewrite.tenants\[0\].prefix' would own Kafka's internal topics/],
  [`{ "rewrite": { "tenants": [{ "principal": "User:a", "prefix": "a." }], "renames": [{ "principal": "*", "from": "x", "to": "a.x" }] } }`,
    /config key 'rewrite.renames\[0\]' names a topic under a tenant prefix/],
  [`{ "rewrite": { "renames": [{ "principal": "*", "from": "x", "to": "y" }, { "principal": "User:c", "from": "z", "to": "y" }] } }`,
    /config key 'rewrite.renames\[1\]' collides with an earlier rename/],
  // Guardrails: a range over a config Kafka does not have, a bad pattern, min over max.
  [`{ "guardrails": [{ "name": "topics", "topic_configs": { "ranges": { "retention.msec": { "max": 1 } } } }] }`,
    /config key 'guardrails.topics.topic_configs.ranges.retention.msec' is not a Kafka topic config/],
  [`{ "guardrails": [{ "name": "topics", "topic_name_pattern": "[a-z" }] }`,
    /config key 'guardrails.topics.topic_name_pattern' is not a supported regular expression: unterminated '\[' at offset 4/],
  [`{ "guardrails": [{ "name": "topics", "partitions": { "min": 50, "max": 12 } }] }`,
    /config key 'guardrails.topics.partitions' has min greater than max/],
];

for (const [json, message] of BAD) {
  test(`Envoy refuses the filter with configuration ${json}`, () => {
    requireInstalled();
    process.chdir(ROOT);
    const template = readFileSync(join(CONFIG_DIR, "kafka-proxy.yaml"), "utf8");
    const bad = template.replace(/^(\s*)\{ "max_request_bytes".*$/m, (_, indent) => indent + json);
    assert.notEqual(bad, template);
    const file = join(scratchDir("bad-config"), "envoy.yaml");
    writeFileSync(file, bad);
    const r = validateEnvoyConfig(file);
    assert.equal(r.ok, false);
    assert.match(r.output, message);
    assert.match(r.output, /Plugin kafka_proxy failed to load/);
  });
}

test("envoy-config/kafka-proxy.yaml carries the same stats tag rules the tests use", () => {
  const yaml = readFileSync(join(CONFIG_DIR, "kafka-proxy.yaml"), "utf8");
  const tags: { tag_name: string; regex: string }[] = JSON.parse(readFileSync(join(CONFIG_DIR, "kafka-stats-tags.json"), "utf8"));
  assert.ok(tags.length >= 6);
  for (const t of tags) assert.ok(yaml.includes(`- tag_name: ${t.tag_name}\n      regex: '${t.regex}'`), t.tag_name);
});
