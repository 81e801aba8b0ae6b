// The build's post-pass that stores the static data compressed (build/pack_data.ts): the compressor
// round-trips, and a packed module's memory, when its own start function runs and after, is what
// the data segments of the unpacked module wrote.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import binaryen from "binaryen";
import { compress, expand, packData } from "../../build/pack_data.ts";
import { ROOT } from "../harness/paths.ts";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s >>> 24;
  };
}

test("the compressor round-trips literals, runs, near and far repeats", () => {
  const next = rng(7);
  const cases: Uint8Array[] = [new Uint8Array(0), Uint8Array.of(5), new Uint8Array(1000)];
  const text = new TextEncoder().encode("config key 'gateway' must be an object; config key 'audit' must be ".repeat(50));
  cases.push(text);
  const mixed = new Uint8Array(200_000);
  for (let i = 0; i < mixed.length; i++) mixed[i] = i % 7000 < 300 ? next() : i % 3 === 0 ? next() & 3 : 0;
  mixed.set(mixed.subarray(0, 5000), 150_000); // a repeat from further back than a distance reaches
  cases.push(mixed);
  const random = new Uint8Array(3000).map(() => next());
  cases.push(random);
  for (const c of cases) assert.deepEqual(expand(compress(c), c.length), c);
  assert.ok(compress(text).length < text.length / 10, "repeats are stored as copies");
});

// A module with data segments at gaps, zero runs inside, and a start function that copies a byte of
// the static data into a global: the start function must see the expanded data.
function sampleModule(): Uint8Array {
  const m = new binaryen.Module();
  m.setFeatures(binaryen.Features.MVP | binaryen.Features.BulkMemory | binaryen.Features.MutableGlobals);
  const utf16 = (s: string) => new Uint8Array(Buffer.from(s, "utf16le"));
  m.setMemory(1, -1, "memory", [
    { offset: m.i32.const(1036), data: Uint8Array.of(0x1c), passive: false },
    { offset: m.i32.const(1048), data: Uint8Array.of(2, 0, 0, 0, 8, 0, 0, 0, ...utf16("read")), passive: false },
    { offset: m.i32.const(1100), data: utf16("must be an object of API name to newest version".repeat(4)), passive: false },
    { offset: m.i32.const(4000), data: new Uint8Array(300).map((_, i) => (i * 37) & 0xff), passive: false },
  ], false, false, "0");
  m.addGlobal("seen", binaryen.i32, true, m.i32.const(0));
  m.addGlobalExport("seen", "seen");
  m.setStart(m.addFunction("start", binaryen.none, binaryen.none, [],
    m.global.set("seen", m.i32.add(m.i32.load8_u(0, 1, m.i32.const(1036)), m.i32.load8_u(0, 1, m.i32.const(4299))))));
  assert.ok(m.validate());
  const out = m.emitBinary();
  m.dispose();
  return out;
}

test("a packed module's memory and start function see what the data segments wrote", () => {
  const plain = sampleModule();
  const { wasm: packed, report } = packData(plain);
  assert.equal(report.segments, 4);
  const a = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(plain)), {}).exports;
  const b = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(packed)), {}).exports;
  const memA = new Uint8Array((a.memory as WebAssembly.Memory).buffer);
  const memB = new Uint8Array((b.memory as WebAssembly.Memory).buffer);
  assert.equal(memB.length, memA.length);
  assert.deepEqual(memB, memA, "the whole memory, the compressed copy zeroed");
  assert.equal((b.seen as WebAssembly.Global).value, (a.seen as WebAssembly.Global).value);
  assert.equal((a.seen as WebAssembly.Global).value, 0x1c + ((299 * 37) & 0xff));
});

test("the built module stores its static data as one compressed segment", () => {
  const wasm = readFileSync(join(ROOT, "dist/kafka_proxy.wasm"));
  const m = binaryen.readBinary(wasm);
  try {
    assert.equal(m.getNumMemorySegments(), 1, "run `npm run --silent build` (it packs the data)");
  } finally {
    m.dispose();
  }
});
