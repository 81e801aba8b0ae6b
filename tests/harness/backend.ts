// Which test bed runs the broker, Envoy and the registry: local processes (the tools
// scripts/setup.sh installs, process.ts) or containers (testcontainers, containers.ts).
//
// KAFKA_PROXY_TESTBED=process | containers | auto (the default): auto takes containers when a
// Docker engine answers (DOCKER_HOST, else /var/run/docker.sock), processes otherwise.
import { request } from "node:http";
import { Service, type Running } from "./process.ts";
import type { ContainerSpec } from "./containers.ts";

export type Backend = "process" | "containers";

let chosen: Promise<Backend> | undefined;

export function testbedBackend(): Promise<Backend> {
  chosen ??= (async () => {
    const want = process.env.KAFKA_PROXY_TESTBED ?? "auto";
    if (want === "process" || want === "containers") return want;
    if (want !== "auto") throw new Error(`KAFKA_PROXY_TESTBED=${want}: expected process, containers or auto`);
    return (await dockerAnswers()) ? "containers" : "process";
  })();
  return chosen;
}

// GET /_ping on the Docker engine, within 2 s.
export function dockerAnswers(): Promise<boolean> {
  const host = process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
  const target = host.startsWith("unix://")
    ? { socketPath: host.slice("unix://".length) }
    : host.startsWith("tcp://") ? { host: new URL(host.replace("tcp://", "http://")).hostname, port: Number(new URL(host.replace("tcp://", "http://")).port || 2375) } : null;
  if (target === null) return Promise.resolve(false);
  return new Promise((res) => {
    const req = request({ ...target, path: "/_ping", timeout: 2000 }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => res(false));
    req.end();
  });
}

// One part of the test bed, as a process or as a container, whichever the backend is.
export interface LaunchSpec {
  name: string;
  logFile: string;
  process: { cmd: string; args: string[] };
  container: ContainerSpec;
}

export async function launch(spec: LaunchSpec): Promise<Running> {
  if ((await testbedBackend()) === "containers") {
    const { startContainer } = await import("./containers.ts");
    return startContainer(spec.name, spec.logFile, spec.container);
  }
  return new Service(spec.name, spec.logFile, spec.process.cmd, spec.process.args);
}
