// The whole e2e test bed: Kafka behind Envoy with the filter, on free loopback ports. Logs are
// kept in .tmp/ when a test fails and removed when it passes.
import { rmSync } from "node:fs";
import { before, after } from "node:test";
import { join } from "node:path";
import { WASM, requireInstalled, scratchDir } from "./paths.ts";
import { testbedBackend } from "./backend.ts";
import { freePort } from "./process.ts";
import { startKafka, KafkaBroker, KafkaOptions } from "./kafka.ts";
import { startEnvoy, Envoy, EnvoyOptions } from "./envoy.ts";

export interface TestBed {
  kafka: KafkaBroker;
  envoy: Envoy;
  // host:port clients bootstrap from (Envoy's listener).
  bootstrap: string;
  dir: string;
  stop(keepLogs: boolean): Promise<void>;
}

export interface TestBedOptions {
  // Extra Envoy options such as TLS, given the scratch dir to put certificates in.
  envoy?: (dir: string) => Partial<EnvoyOptions>;
  kafka?: KafkaOptions;
}

export async function startTestBed(name: string, filterConfig: object | null = {}, options: TestBedOptions = {}): Promise<TestBed> {
  requireInstalled((await testbedBackend()) === "containers" ? [WASM] : undefined);
  const dir = scratchDir(name);
  const extra = options.envoy ? options.envoy(dir) : {};
  const listenPort = await freePort();
  const kafka = await startKafka(join(dir, "kafka"), listenPort, options.kafka);
  let envoy: Envoy;
  try {
    envoy = await startEnvoy(dir, { ...extra, listenPort, upstreamPort: kafka.proxiedPort, filterConfig });
  } catch (e) {
    await kafka.stop();
    throw e;
  }
  return {
    kafka,
    envoy,
    bootstrap: `127.0.0.1:${listenPort}`,
    dir,
    async stop(keepLogs: boolean) {
      await envoy.stop();
      await kafka.stop();
      if (keepLogs) console.error(`test bed logs kept in ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}

// For a node:test suite: starts a test bed before its tests and stops it after them, keeping the
// logs when a test wrapped in `guard` failed.
export function suiteTestBed(name: string, filterConfig: object | null = {}, options: TestBedOptions = {}) {
  let bed: TestBed | undefined;
  let failed = false;
  before(async () => {
    bed = await startTestBed(name, filterConfig, options);
  });
  after(async () => {
    await bed?.stop(failed);
  });
  return {
    get bed(): TestBed {
      if (!bed) throw new Error("test bed not started");
      return bed;
    },
    guard: (fn: () => Promise<void>) => async () => {
      try {
        await fn();
      } catch (e) {
        failed = true;
        throw e;
      }
    },
  };
}
