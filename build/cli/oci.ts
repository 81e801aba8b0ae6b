// Pushes the module to an OCI registry in the layouts istio-agent pulls
// (../shared/reference/wasm-oci-image-spec.md):
// - "compat": an OCI image whose last (only) layer is a tar.gz holding `plugin.wasm`;
// - "docker": the same layer in a Docker v2 manifest (what `docker build` of a FROM scratch
//   image with `COPY plugin.wasm ./` and `docker push` make; istio-agent tries this one first);
// - "artifact": the Wasm artifact, exactly two layers: the raw module
//   (application/vnd.module.wasm.content.layer.v1+wasm) and its runtime config JSON.
// Speaks the registry's HTTP API v2 directly (blob uploads, manifest PUT); no docker needed.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { RegistryClient } from "./registry_client.ts";

export const MEDIA = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  imageConfig: "application/vnd.oci.image.config.v1+json",
  tarGzipLayer: "application/vnd.oci.image.layer.v1.tar+gzip",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  wasmContent: "application/vnd.module.wasm.content.layer.v1+wasm",
  wasmConfig: "application/vnd.module.wasm.config.v1+json",
};

export interface ImageRef {
  // http(s)://host:port
  registry: string;
  repository: string;
  tag: string;
}

// "host:port/repo[:tag]"; plain HTTP for loopback registries, HTTPS otherwise.
export function parseImage(ref: string, insecure = false): ImageRef {
  const m = /^([^/]+)\/([a-z0-9._/-]+?)(?::([\w][\w.-]{0,127}))?$/.exec(ref);
  if (!m) throw new Error(`image reference "${ref}" is not host[:port]/repository[:tag]`);
  const plain = insecure || /^(localhost|127\.0\.0\.1)(:\d+)?$/.test(m[1]);
  return { registry: `${plain ? "http" : "https"}://${m[1]}`, repository: m[2], tag: m[3] ?? "latest" };
}

const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

// A POSIX ustar archive with one regular file (what `tar czf x.tgz plugin.wasm` would make).
export function tarOneFile(name: string, data: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const put = (s: string, at: number, len: number) => header.write(s, at, len, "ascii");
  const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, "0") + "\0";
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(data.length, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  header.fill(0x20, 148, 156); // checksum counts as spaces while it is computed
  put("0", 156, 1);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  let sum = 0;
  for (const b of header) sum += b;
  put(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header, data, pad, Buffer.alloc(1024)]);
}

async function ok(res: Response, what: string): Promise<Response> {
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
  return res;
}

async function pushBlob(client: RegistryClient, blob: Buffer): Promise<{ digest: string; size: number }> {
  const img = client.image;
  const digest = sha256(blob);
  const base = `${img.registry}/v2/${img.repository}/blobs`;
  const head = await client.fetch(`${base}/${digest}`, { method: "HEAD" });
  if (head.ok) return { digest, size: blob.length };
  const start = await ok(await client.fetch(`${base}/uploads/`, { method: "POST" }), `starting a blob upload to ${img.registry}`);
  const location = new URL(start.headers.get("location")!, img.registry);
  location.searchParams.set("digest", digest);
  await ok(await client.fetch(location, { method: "PUT", body: blob, headers: { "content-type": "application/octet-stream" } }),
    `uploading blob ${digest}`);
  return { digest, size: blob.length };
}

async function pushManifest(client: RegistryClient, manifest: { schemaVersion: 2; mediaType: string; [key: string]: unknown }): Promise<string> {
  const img = client.image;
  const body = Buffer.from(JSON.stringify(manifest));
  const res = await ok(await client.fetch(`${img.registry}/v2/${img.repository}/manifests/${img.tag}`, {
    method: "PUT", body, headers: { "content-type": manifest.mediaType },
  }), `pushing the manifest of ${img.repository}:${img.tag}`);
  const digest = res.headers.get("docker-content-digest") ?? sha256(body);
  if (digest !== sha256(body)) throw new Error(`registry reports manifest digest ${digest}, expected ${sha256(body)}`);
  return digest;
}

export const FORMATS = ["compat", "docker", "artifact"] as const;
export type Format = (typeof FORMATS)[number];

// Pushes `wasm` as the client's image in `format`; returns the manifest digest (what WasmPlugin.sha256 pins).
export async function pushModule(client: RegistryClient, wasm: Buffer, format: Format, rootId = "kafka_proxy"): Promise<string> {
  if (wasm.subarray(0, 4).toString("latin1") !== "\0asm") throw new Error("the module does not start with the Wasm magic bytes");
  const runtimeConfig = Buffer.from(JSON.stringify({ type: "envoy_proxy", abiVersions: ["v0-0.2.1"], config: { root_ids: [rootId] } }));
  if (format === "compat" || format === "docker") {
    const docker = format === "docker";
    const tar = tarOneFile("plugin.wasm", wasm);
    const layer = await pushBlob(client, gzipSync(tar));
    const config = await pushBlob(client, Buffer.from(JSON.stringify({
      architecture: "wasm", os: "wasip1", rootfs: { type: "layers", diff_ids: [sha256(tar)] },
    })));
    return pushManifest(client, {
      schemaVersion: 2,
      mediaType: docker ? MEDIA.dockerManifest : MEDIA.manifest,
      config: { mediaType: docker ? MEDIA.dockerConfig : MEDIA.imageConfig, ...config },
      layers: [{ mediaType: docker ? MEDIA.dockerLayer : MEDIA.tarGzipLayer, ...layer }],
      // Docker v2 manifests have no annotations.
      ...(docker ? {} : { annotations: { "module.wasm.image/variant": "compat" } }),
    });
  }
  const content = await pushBlob(client, wasm);
  const config = await pushBlob(client, runtimeConfig);
  return pushManifest(client, {
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: { mediaType: MEDIA.wasmConfig, ...config },
    layers: [
      { mediaType: MEDIA.wasmConfig, ...config, annotations: { "org.opencontainers.image.title": "runtime-config.json" } },
      { mediaType: MEDIA.wasmContent, ...content, annotations: { "org.opencontainers.image.title": "filter.wasm" } },
    ],
  });
}
