// Distribution through the CLI (`npx kafka-proxy-wasm`): one policy file renders an Envoy config
// the real Envoy accepts and an Istio WasmPlugin that validates against Istio's own CRD schema;
// the module is pushed to a real registry (Debian's docker-registry) in both formats
// istio-agent pulls, pulled back with skopeo byte for byte, and the pulled module runs in Envoy
// in front of Kafka.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { gunzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { parse } from "yaml";
import Ajv from "ajv";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { ROOT, WASM, requireInstalled, scratchDir } from "../harness/paths.ts";
import { validateEnvoyConfig } from "../harness/envoy.ts";
import { startRegistry, skopeo, Registry } from "../harness/registry.ts";
import { startTokenIssuer } from "../harness/token_issuer.ts";
import { startTestBed } from "../harness/testbed.ts";
import { brokerOffset, createTopics } from "../harness/broker_view.ts";

const POLICY = join(ROOT, "examples/policy.json");

function cli(args: string[], env: Record<string, string> = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, "bin/kafka-proxy-wasm.js"), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

// Istio's CRD schema for WasmPlugin (openAPIV3Schema), plus its one CEL rule (url schemes),
// which a JSON-schema validator cannot run.
function crdValidator(): (doc: any) => string[] {
  const crd = parse(readFileSync(join(ROOT, "tests/data/istio-wasmplugin-crd.yaml"), "utf8").replace(/^#.*\n/, ""));
  const version = crd.spec.versions.find((v: any) => v.name === "v1alpha1");
  // The two formats the CRD names, as Kubernetes' API server checks them.
  const formats = {
    int32: { type: "number" as const, validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 },
    "date-time": (s: string) => !Number.isNaN(Date.parse(s)) && /^\d{4}-\d{2}-\d{2}T/.test(s),
  };
  const ajv = new Ajv.default({ strict: false, allErrors: true, formats });
  const validate = ajv.compile(version.schema.openAPIV3Schema);
  return (doc) => {
    const errors = validate(doc) ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message}`);
    if (doc.apiVersion !== `${crd.spec.group}/v1alpha1` || doc.kind !== crd.spec.names.kind) errors.push("apiVersion/kind");
    const scheme = /^([a-z]+):\/\//.exec(doc.spec?.url ?? "")?.[1] ?? "";
    if (!["", "http", "https", "oci", "file"].includes(scheme)) errors.push("url must have schema one of [http, https, file, oci]");
    return errors;
  };
}

// The tar entry named plugin.wasm in a gzip'd tar layer.
function pluginFromLayer(tgz: Buffer): Buffer {
  const tar = gunzipSync(tgz);
  for (let at = 0; at + 512 <= tar.length;) {
    const name = tar.toString("latin1", at, at + 100).replace(/\0.*$/s, "");
    const size = parseInt(tar.toString("latin1", at + 124, at + 136).replace(/\0.*$/s, "").trim() || "0", 8);
    if (name === "") break;
    if (name.split("/").pop() === "plugin.wasm") return tar.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error("no plugin.wasm in the layer");
}

describe("distribution: CLI, Envoy and Istio configs, OCI images in a real registry", () => {
  let registry: Registry | undefined;
  let dir = "";
  const digests: Record<string, string> = {};

  before(async () => {
    requireInstalled();
    dir = scratchDir("distribution");
    registry = await startRegistry(join(dir, "registry"));
  });
  after(async () => {
    await registry?.stop();
  });

  test("every command has --help; bad input names the key or the file", () => {
    assert.equal(cli(["--help"]).status, 0);
    for (const command of ["build", "render-envoy", "render-istio", "push"]) {
      const r = cli([command, "--help"]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^usage: kafka-proxy-wasm ${command}`));
    }
    const bad = join(dir, "bad-policy.json");
    writeFileSync(bad, JSON.stringify({ filter: {}, istio: { imgae: "x/y:1" } }));
    let r = cli(["render-istio", "--policy", bad]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /bad-policy.json: unknown key 'istio.imgae'/);
    r = cli(["render-envoy", "--policy", join(dir, "missing.json")]);
    assert.match(r.stderr, /missing.json: cannot read/);
    r = cli(["push", "--image", `${registry!.host}/x:1`, "--format", "zip"]);
    assert.match(r.stderr, /--format must be one of compat, docker, artifact/);
  });

  test("the rendered Envoy config passes envoy --mode validate, which also runs the filter's configure", () => {
    const out = join(dir, "envoy.yaml");
    const r = cli(["render-envoy", "--policy", POLICY, "--out", out]);
    assert.equal(r.status, 0, r.stderr);
    const v = validateEnvoyConfig(out);
    assert.ok(v.ok, v.output);
    // The policy's failure policy is the Wasm filter's; Envoy takes the other values too.
    const wasmConfig = (file: string) =>
      parse(readFileSync(file, "utf8")).static_resources.listeners[0].filter_chains[0].filters[0].typed_config.config;
    assert.equal(wasmConfig(out).failure_policy, "FAIL_CLOSED");
    const policy = JSON.parse(readFileSync(POLICY, "utf8"));
    const openPolicy = join(dir, "policy-fail-open.json");
    writeFileSync(openPolicy, JSON.stringify({ ...policy, envoy: { ...policy.envoy, failurePolicy: "FAIL_OPEN" } }));
    const openOut = join(dir, "envoy-fail-open.yaml");
    assert.equal(cli(["render-envoy", "--policy", openPolicy, "--out", openOut]).status, 0);
    assert.equal(wasmConfig(openOut).failure_policy, "FAIL_OPEN");
    const open = validateEnvoyConfig(openOut);
    assert.ok(open.ok, open.output);
    writeFileSync(openPolicy, JSON.stringify({ ...policy, envoy: { ...policy.envoy, failurePolicy: "OPEN" } }));
    assert.match(cli(["render-envoy", "--policy", openPolicy]).stderr, /policy-fail-open.json: 'envoy.failurePolicy' must be/);
    // A filter configuration the module refuses makes the rendered config fail validation.
    policy.filter.acls.rules[0].operations = ["wrte"];
    const badPolicy = join(dir, "policy-bad-op.json");
    writeFileSync(badPolicy, JSON.stringify(policy));
    cli(["render-envoy", "--policy", badPolicy, "--out", join(dir, "envoy-bad.yaml")]);
    const bad = validateEnvoyConfig(join(dir, "envoy-bad.yaml"));
    assert.equal(bad.ok, false);
    assert.match(bad.output, /unknown operation 'wrte'/);
  });

  test("the rendered WasmPlugin and istio/'s example validate against Istio's CRD schema", () => {
    const validate = crdValidator();
    const r = cli(["render-istio", "--policy", POLICY]);
    assert.equal(r.status, 0, r.stderr);
    const plugin = parse(r.stdout);
    assert.deepEqual(validate(plugin), []);
    assert.equal(plugin.spec.type, "NETWORK");
    assert.deepEqual(plugin.spec.pluginConfig, JSON.parse(readFileSync(POLICY, "utf8")).filter);
    // The committed example is what the CLI renders from examples/policy.json.
    const example = readFileSync(join(ROOT, "istio/kafka-proxy-wasmplugin.yaml"), "utf8");
    assert.deepEqual(parse(example), plugin);
    for (const file of readdirSync(join(ROOT, "istio")).filter((f) => f.endsWith(".yaml"))) {
      assert.deepEqual(validate(parse(readFileSync(join(ROOT, "istio", file), "utf8"))), [], file);
    }
    // Every failStrategy Istio knows renders and validates; others are refused, naming the key.
    const policy = JSON.parse(readFileSync(POLICY, "utf8"));
    for (const failStrategy of ["FAIL_OPEN", "FAIL_RELOAD", "FAIL_SOMETIMES"]) {
      const file = join(dir, `policy-${failStrategy}.json`);
      writeFileSync(file, JSON.stringify({ ...policy, istio: { ...policy.istio, failStrategy } }));
      const out = cli(["render-istio", "--policy", file]);
      if (failStrategy === "FAIL_SOMETIMES") {
        assert.match(out.stderr, /'istio.failStrategy' must be FAIL_CLOSE, FAIL_OPEN or FAIL_RELOAD/);
        continue;
      }
      assert.equal(out.status, 0, out.stderr);
      const rendered = parse(out.stdout);
      assert.equal(rendered.spec.failStrategy, failStrategy);
      assert.deepEqual(validate(rendered), [], failStrategy);
    }
    // The validator does reject what Istio would.
    assert.notDeepEqual(validate({ ...plugin, spec: { ...plugin.spec, type: "TCP" } }), []);
    assert.notDeepEqual(validate({ ...plugin, spec: { ...plugin.spec, url: "ftp://x/y" } }), []);
    assert.notDeepEqual(validate({ ...plugin, spec: { ...plugin.spec, priority: 2 ** 31 } }), []);
  });

  // The tar.gz layer's media type in each compat layout (the manifest's own type decides which).
  const COMPAT_LAYOUTS: Record<string, { manifest: string; layer: string }> = {
    compat: { manifest: "application/vnd.oci.image.manifest.v1+json", layer: "application/vnd.oci.image.layer.v1.tar+gzip" },
    docker: { manifest: "application/vnd.docker.distribution.manifest.v2+json", layer: "application/vnd.docker.image.rootfs.diff.tar.gzip" },
  };

  for (const format of ["compat", "docker", "artifact"]) {
    test(`push (${format}) to a real registry; skopeo pulls back the same module; the digest pins it`, () => {
      const image = `${registry!.host}/kafka-proxy-wasm:${format}`;
      const r = cli(["push", "--image", image, "--format", format]);
      assert.equal(r.status, 0, r.stderr);
      const digest = r.stdout.trim();
      assert.match(digest, /^sha256:[a-f0-9]{64}$/);
      digests[format] = digest;
      // The registry serves the manifest whose digest push printed (what WasmPlugin.sha256 pins).
      const raw = skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${image}`]);
      assert.equal(`sha256:${createHash("sha256").update(raw).digest("hex")}`, digest);
      const pulled = join(dir, `pulled-${format}`);
      skopeo(["copy", "--src-tls-verify=false", `docker://${image}`, `dir:${pulled}`]);
      const manifest = JSON.parse(readFileSync(join(pulled, "manifest.json"), "utf8"));
      const blob = (d: string) => readFileSync(join(pulled, d.replace(/^sha256:/, "")));
      let module: Buffer;
      const compat = COMPAT_LAYOUTS[format];
      if (compat) {
        assert.equal(manifest.mediaType, compat.manifest);
        const layer = manifest.layers[manifest.layers.length - 1];
        assert.equal(layer.mediaType, compat.layer);
        module = pluginFromLayer(blob(layer.digest));
      } else {
        assert.equal(manifest.layers.length, 2);
        const content = manifest.layers.find((l: any) => l.mediaType === "application/vnd.module.wasm.content.layer.v1+wasm");
        assert.ok(manifest.layers.some((l: any) => l.mediaType === "application/vnd.module.wasm.config.v1+json"));
        module = blob(content.digest);
      }
      assert.ok(module.equals(readFileSync(WASM)), "pulled module is byte-identical");
      mkdirSync(join(dir, "modules"), { recursive: true });
      writeFileSync(join(dir, "modules", `${format}.wasm`), module);
      // The WasmPlugin pinned to this push still validates.
      const plugin = parse(cli(["render-istio", "--policy", POLICY, "--sha256", digest]).stdout);
      assert.equal(plugin.spec.sha256, digest.slice(7));
      assert.deepEqual(crdValidator()(plugin), []);
    });
  }

  // Registries that ask for credentials: Basic (htpasswd) and Bearer tokens from a token issuer
  // (how Harbor, GHCR and Docker Hub work). push takes the credentials from the environment.
  const USER = { username: "pusher", password: "s3cret" };
  const credentials = (password: string) => ({ KAFKA_PROXY_WASM_REGISTRY_USER: USER.username, KAFKA_PROXY_WASM_REGISTRY_PASSWORD: password });
  for (const kind of ["htpasswd", "token"] as const) {
    test(`push to a registry asking for credentials (${kind === "htpasswd" ? "Basic" : "Bearer token"}); skopeo pulls with them`, async () => {
      const authDir = join(dir, `registry-${kind}`);
      mkdirSync(authDir);
      const issuer = kind === "token" ? await startTokenIssuer(authDir, USER) : undefined;
      const reg = await startRegistry(authDir, issuer ? { token: issuer } : { htpasswd: USER });
      try {
        const image = `${reg.host}/kafka-proxy-wasm:${kind}`;
        let r = cli(["push", "--image", image]);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /set KAFKA_PROXY_WASM_REGISTRY_USER and KAFKA_PROXY_WASM_REGISTRY_PASSWORD/);
        r = cli(["push", "--image", image], credentials("wrong"));
        assert.equal(r.status, 1);
        assert.match(r.stderr, /HTTP 401/);
        r = cli(["push", "--image", image], credentials(USER.password));
        assert.equal(r.status, 0, r.stderr);
        const digest = r.stdout.trim();
        if (issuer) assert.equal(issuer.issued(), 1, "one token from the issuer for the whole push");

        const creds = `${USER.username}:${USER.password}`;
        assert.throws(() => skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${image}`]), /unauthorized|authentication required/i);
        const raw = skopeo(["inspect", "--raw", "--tls-verify=false", `--creds=${creds}`, `docker://${image}`]);
        assert.equal(`sha256:${createHash("sha256").update(raw).digest("hex")}`, digest);
        const pulled = join(authDir, "pulled");
        skopeo(["copy", "--src-tls-verify=false", `--src-creds=${creds}`, `docker://${image}`, `dir:${pulled}`]);
        const layer = JSON.parse(readFileSync(join(pulled, "manifest.json"), "utf8")).layers[0];
        const module = pluginFromLayer(readFileSync(join(pulled, layer.digest.replace(/^sha256:/, ""))));
        assert.ok(module.equals(readFileSync(WASM)), "pulled module is byte-identical");
      } finally {
        await reg.stop();
        await issuer?.stop();
      }
    });
  }

  // What an Istio sidecar would run: the pulled module with the WasmPlugin's pluginConfig (the
  // policy's filter). The test's Envoy has no TLS, so the clients stand in for their SPIFFE ids
  // with their client ids, a source the example policy rightly leaves out.
  test("the module pulled from the registry enforces the policy in Envoy: allowed produce and consume, refused write", { timeout: 180_000 }, async () => {
    assert.ok(digests.compat, "the compat push ran");
    const wasmPath = join(dir, "modules", "compat.wasm");
    const filter = JSON.parse(readFileSync(POLICY, "utf8")).filter;
    const bed = await startTestBed("distribution-run", { ...filter, principal_sources: ["client_id"] }, { envoy: () => ({ wasmPath }) });
    let failed = true;
    try {
      // kafkajs' default retries: the group coordinator may still be starting on a fresh broker.
      const client = (sa: string) => new Kafka({
        clientId: `spiffe://cluster.local/ns/shop/sa/${sa}`, brokers: [bed.bootstrap], logLevel: logLevel.NOTHING,
      });
      // No principal in the policy may create topics: made on the broker's direct listener.
      await createTopics(bed.kafka, ["orders"]);

      const writer = client("orders-writer").producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });
      await writer.connect();
      await writer.send({ topic: "orders", messages: [{ key: "k", value: "from the registry" }] });
      await writer.disconnect();

      const reader = client("orders-reader");
      const consumer = reader.consumer({ groupId: "orders-pulled", maxWaitTimeInMs: 200 });
      await consumer.connect();
      await consumer.subscribe({ topic: "orders", fromBeginning: true });
      const value = await new Promise<string>((resolve, reject) => {
        consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
        consumer.run({ eachMessage: async ({ message }) => resolve(message.value!.toString()) }).catch(reject);
      });
      await consumer.disconnect();
      assert.equal(value, "from the registry");

      // The reader may only read: its write is refused by the filter.
      const refused = reader.producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });
      await refused.connect();
      await assert.rejects(refused.send({ topic: "orders", messages: [{ value: "refused" }] }),
        (e: any) => /TOPIC_AUTHORIZATION_FAILED/.test(String(e.type ?? "") + e.message + JSON.stringify(e.errors ?? "")));
      await refused.disconnect();
      assert.equal(await brokerOffset(bed.kafka, "orders"), 1, "the refused record never reached the broker");

      assert.equal(await bed.envoy.stat("requests.api.Produce.v.7"), 2);
      assert.ok((await bed.envoy.stat("authz.entries_denied")) >= 1);
      // ...and it was the pulled file Envoy loaded.
      const config = readdirSync(bed.dir).find((f) => f.startsWith("envoy-") && f.endsWith(".json"))!;
      assert.ok(readFileSync(join(bed.dir, config), "utf8").includes(wasmPath));
      failed = false;
    } finally {
      await bed.stop(failed);
    }
  });
});
