// The containers test bed (backend.ts): the broker, Envoy and the registry as containers started
// with testcontainers' GenericContainer, on the host's network, so that every port, address and
// readiness check is the process backend's own.
//
// Images: the official ones (apache/kafka, envoyproxy/envoy, registry) at the pinned versions,
// or the project's own, built by scripts/images.sh from the artefacts scripts/setup.sh installs
// (kafka-proxy-wasm/*) where Docker Hub cannot be reached. KAFKA_PROXY_TESTBED_IMAGES=official |
// local | auto (the default: a local image where its tag exists, else the official one).
//
// Every container mounts the host paths it reads or writes at the same path, so the
// configuration files the harness writes (server.properties, Envoy's config with the module's
// path, the registry's config) are the same text for both backends.
//
// Ryuk, testcontainers' reaper, runs from testcontainers/ryuk, which must be pulled from Docker
// Hub: where that image is not present and the local images are in use (Docker Hub does not
// answer), Ryuk is disabled (TESTCONTAINERS_RYUK_DISABLED=true) and the harness removes its
// containers itself: stop() at the end of each test bed, a `docker rm -f` of the ones still
// running when the test process exits, and scripts/test.sh removes leftovers labelled
// kafka-proxy-wasm.testbed before it starts.
import { createWriteStream, readFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { GenericContainer, ImageName, getContainerRuntimeClient, type StartedTestContainer } from "testcontainers";
import { logTail, readLog, type Running } from "./process.ts";
import { ROOT } from "./paths.ts";

// The containers share the host's network, so they are reached on this machine's loopback; this
// also spares testcontainers its look-up of the default bridge network's gateway, which fails
// where dockerd runs without one (--bridge=none, as scripts/setup.sh starts it).
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= "localhost";

export type Role = "kafka" | "envoy" | "registry";

export interface ContainerSpec {
  role: Role;
  // The image's own arguments (Envoy's, the registry's), or the shell script's with `shell`.
  command: string[];
  // Runs `command` as `/bin/sh -c <script> <args>` instead of the image's entrypoint.
  shell?: string;
  env?: Record<string, string>;
  // Host paths mounted at the same path inside; read-only unless `rw`.
  mounts: { path: string; rw?: boolean }[];
}

// The pinned versions: Kafka's from build/kafka-deps/pom.xml, Envoy's from scripts/setup.sh.
const KAFKA_VERSION = /<kafka\.version>(.*)<\/kafka\.version>/.exec(readFileSync(join(ROOT, "build/kafka-deps/pom.xml"), "utf8"))![1];
const ENVOY_VERSION = /^ENVOY_VERSION=(\S+)$/m.exec(readFileSync(join(ROOT, "scripts/setup.sh"), "utf8"))![1];

export const OFFICIAL_IMAGES: Record<Role, string> = {
  kafka: `apache/kafka:${KAFKA_VERSION}`,
  envoy: `envoyproxy/envoy:v${ENVOY_VERSION}`,
  registry: "registry:2.8.3",
};
export const LOCAL_IMAGES: Record<Role, string> = {
  kafka: `kafka-proxy-wasm/kafka:${KAFKA_VERSION}`,
  envoy: `kafka-proxy-wasm/envoy:${ENVOY_VERSION}`,
  registry: "kafka-proxy-wasm/registry:2.8",
};

export const TESTBED_LABEL = "kafka-proxy-wasm.testbed";

async function imageExists(name: string): Promise<boolean> {
  const client = await getContainerRuntimeClient();
  return client.image.exists(ImageName.fromString(name));
}

const chosenImages = new Map<Role, Promise<string>>();

export function imageFor(role: Role): Promise<string> {
  let p = chosenImages.get(role);
  if (!p) {
    p = (async () => {
      const want = process.env.KAFKA_PROXY_TESTBED_IMAGES ?? "auto";
      if (want === "official") return OFFICIAL_IMAGES[role];
      if (want === "local") return LOCAL_IMAGES[role];
      return (await imageExists(LOCAL_IMAGES[role])) ? LOCAL_IMAGES[role] : OFFICIAL_IMAGES[role];
    })();
    chosenImages.set(role, p);
  }
  return p;
}

let ryukDecided = false;

// Ryuk stays on where its image is present or the official images are pulled (so Docker Hub
// answers); it is turned off where neither holds, since it could not start.
async function decideRyuk(image: string): Promise<void> {
  if (ryukDecided || process.env.TESTCONTAINERS_RYUK_DISABLED !== undefined) return;
  ryukDecided = true;
  const { REAPER_IMAGE } = await import("testcontainers/build/reaper/reaper.js");
  if (Object.values(LOCAL_IMAGES).includes(image) && !(await imageExists(REAPER_IMAGE))) {
    process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
  }
}

const live = new Set<string>();
let exitHook = false;

// Without Ryuk, containers a crashed test process left behind are removed when it exits.
function removeOnExit(id: string): void {
  live.add(id);
  if (exitHook) return;
  exitHook = true;
  process.once("exit", () => {
    if (live.size > 0 && process.env.TESTCONTAINERS_RYUK_DISABLED === "true") {
      spawnSync("docker", ["rm", "-f", ...live], { stdio: "ignore" });
    }
  });
}

export class ContainerService implements Running {
  exited = false;
  exitCode: number | null = null;
  pid: number | undefined;
  container: StartedTestContainer | undefined;
  private logEnded: Promise<void> = Promise.resolve();

  constructor(readonly name: string, readonly logFile: string) {}

  // The container's output goes to the log file; the end of its log is its exit.
  consumeLog(stream: NodeJS.ReadableStream): void {
    const file = createWriteStream(this.logFile, { flags: "a" });
    stream.pipe(file);
    this.logEnded = new Promise((res) => {
      stream.once("end", async () => {
        try {
          if (this.container) {
            const client = await getContainerRuntimeClient();
            const info = await client.container.inspect(client.container.getById(this.container.getId()));
            this.exitCode = info.State.ExitCode ?? null;
          }
        } catch {
          /* already removed */
        }
        this.exited = true;
        file.end(() => res());
      });
    });
  }

  log(): string {
    return readLog(this.logFile);
  }

  tail(lines = 40): string {
    return logTail(this.logFile, lines);
  }

  async stop(timeoutMs = 15000): Promise<void> {
    if (!this.container) return;
    const c = this.container;
    this.container = undefined;
    await c.stop({ timeout: timeoutMs, remove: false });
    live.delete(c.getId());
    // The last lines of the log reach the file.
    await Promise.race([this.logEnded, new Promise((r) => setTimeout(r, 2000))]);
  }
}

// One mount per path (Docker refuses two), writable when any wants it.
function mounts(spec: ContainerSpec): { source: string; target: string; mode: "rw" | "ro" }[] {
  const rw = new Map<string, boolean>();
  for (const m of spec.mounts) rw.set(m.path, (rw.get(m.path) ?? false) || (m.rw ?? false));
  return [...rw].map(([path, w]) => ({ source: path, target: path, mode: w ? "rw" : "ro" }));
}

// Docker removes it once stopped (HostConfig.AutoRemove), in the background: removing a
// container's copy of its image is slow on the vfs storage driver (18 s for the broker's), and
// its log is already in the log file. (withAutoRemove only sets what stop() does.)
class TestBedContainer extends GenericContainer {
  constructor(image: string) {
    super(image);
    this.hostConfig.AutoRemove = true;
  }
}

export async function startContainer(name: string, logFile: string, spec: ContainerSpec): Promise<ContainerService> {
  const image = await imageFor(spec.role);
  await decideRyuk(image);
  const service = new ContainerService(name, logFile);
  let container = new TestBedContainer(image)
    .withNetworkMode("host")
    // Files it writes in the mounted folders belong to the test's user, who removes them.
    .withUser(`${process.getuid!()}:${process.getgid!()}`)
    .withLabels({ [TESTBED_LABEL]: name })
    .withEnvironment(spec.env ?? {})
    .withBindMounts(mounts(spec))
    .withLogConsumer((stream) => service.consumeLog(stream));
  container = spec.shell !== undefined
    ? container.withEntrypoint(["/bin/sh", "-c"]).withCommand([spec.shell, name, ...spec.command])
    : container.withCommand(spec.command);
  // Readiness is the harness's own check (waitFor), as with processes.
  const started = await container.start();
  service.container = started;
  removeOnExit(started.getId());
  try {
    const client = await getContainerRuntimeClient();
    const info = await client.container.inspect(client.container.getById(started.getId()));
    service.pid = info.State.Pid || undefined;
  } catch {
    /* exited already: waitFor reports it */
  }
  return service;
}
