// Child processes of the test bed: started with their output in a log file, stopped for sure.
import { spawn, ChildProcess } from "node:child_process";
import { openSync, readFileSync, closeSync } from "node:fs";
import { createConnection, createServer } from "node:net";

// A running part of the test bed, a child process (Service) or a container (containers.ts): its
// output in a log file, whether it exited, and a sure stop.
export interface Running {
  readonly name: string;
  readonly logFile: string;
  readonly exited: boolean;
  readonly exitCode: number | null;
  // Its process id on this machine (a container's main process as the host sees it).
  readonly pid: number | undefined;
  log(): string;
  tail(lines?: number): string;
  stop(timeoutMs?: number): Promise<void>;
}

export class Service implements Running {
  readonly proc: ChildProcess;
  exited = false;
  exitCode: number | null = null;

  constructor(readonly name: string, readonly logFile: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv) {
    const fd = openSync(logFile, "a");
    this.proc = spawn(cmd, args, { stdio: ["ignore", fd, fd], env: { ...process.env, ...env }, detached: true });
    closeSync(fd);
    this.proc.on("exit", (code) => {
      this.exited = true;
      this.exitCode = code;
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  log(): string {
    return readLog(this.logFile);
  }

  tail(lines = 40): string {
    return logTail(this.logFile, lines);
  }

  async stop(timeoutMs = 15000): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((res) => this.proc.once("exit", () => res()));
    try {
      process.kill(-this.proc.pid!, "SIGTERM");
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-this.proc.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
    }, timeoutMs);
    await done;
    clearTimeout(timer);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

// Polls `check` until it returns true; fails with the service's log tail when it exits or times out.
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, service?: Running): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service?.exited) throw new Error(`${service.name} exited (${service.exitCode}) before ${what}:\n${service.tail()}`);
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    await sleep(200);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${service ? `:\n${service.tail()}` : ""}`);
}

// A loopback port nobody listens on right now.
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

export function portOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createConnection({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      res(true);
    });
    s.once("error", () => res(false));
  });
}

// A test-bed part's log file (empty before it exists), and its last lines, for error messages.
export function readLog(logFile: string): string {
  try {
    return readFileSync(logFile, "utf8");
  } catch {
    return "";
  }
}

export function logTail(logFile: string, lines = 40): string {
  return readLog(logFile).split("\n").slice(-lines).join("\n");
}
