// Deterministic record values both the TypeScript tests and tests/clients/JavaClient.java build,
// so either side can check what the other sent, byte for byte.
import { createHash } from "node:crypto";

export function payload(size: number, index: number): Buffer {
  const b = Buffer.alloc(size);
  for (let j = 0; j < size; j++) b[j] = (index * 31 + j * 7 + (j >> 8)) & 0xff;
  return b;
}

export function sha256(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}

// 0 B to 1 MiB.
export const SIZES = [0, 1, 100, 1024, 16 * 1024, 300 * 1024, 1024 * 1024];

// The "record <key> <size> <sha256>" lines the test clients print for records written with keys
// `<prefix>-<index>` and values payload(size, index), sorted.
export function recordLines(prefix: string, sizes: number[]): string[] {
  return sizes.map((size, i) => `record ${prefix}-${i} ${size} ${sha256(payload(size, i))}`).sort();
}

// The lines of a client's output for keys with `prefix`, sorted.
export function recordsRead(out: string, prefix: string): string[] {
  return out.split("\n").filter((l) => l.startsWith(`record ${prefix}-`)).sort();
}
