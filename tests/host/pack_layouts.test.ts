// build/pack_data.ts on data layouts it must keep exactly or refuse (from a security review).
import { test } from "node:test";
import assert from "node:assert/strict";
import binaryen from "binaryen";
import { packData } from "../../build/pack_data.ts";

function memoryOf(wasm: Uint8Array): Uint8Array {
  const e = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(wasm)), {}).exports;
  return new Uint8Array((e.memory as WebAssembly.Memory).buffer);
}

function moduleWith(segments: { offset: number; data: Uint8Array }[], pages = 1, max = -1): Uint8Array {
  const m = new binaryen.Module();
  m.setFeatures(binaryen.Features.MVP | binaryen.Features.BulkMemory | binaryen.Features.MutableGlobals);
  m.setMemory(pages, max, "memory", segments.map((s) => ({ offset: m.i32.const(s.offset), data: s.data, passive: false })), false, false, "0");
  assert.ok(m.validate());
  const out = m.emitBinary();
  m.dispose();
  return out;
}

// Wasm applies active segments in index order (a later one overwrites an earlier one); the packer
// lays them out in offset order. asc/Binaryen do not emit overlapping segments today, but if one
// did the build would not notice: the packed module's memory differs, and no check says so.
test("overlapping data segments: packed exactly as wasm applies them, or refused", () => {
  const plain = moduleWith([
    { offset: 1100, data: new Uint8Array(16).fill(0xbb) },
    { offset: 1090, data: new Uint8Array(16).fill(0xaa) },
  ]);
  let packed: Uint8Array;
  try {
    packed = packData(plain).wasm;
  } catch {
    return; // refused: fine
  }
  assert.deepEqual(memoryOf(packed).subarray(1080, 1130), memoryOf(plain).subarray(1080, 1130));
});

// Layouts asc produces: data reaching a page's end (the compressed copy then needs a page more) and
// a memory maximum that leaves no room for it.
test("data ending at a page boundary, with and without room to grow", () => {
  const data = new Uint8Array(2000).map((_, i) => (i * 131) & 0xff);
  const plain = moduleWith([{ offset: 65536 - data.length, data }]);
  const packed = packData(plain).wasm;
  assert.deepEqual(memoryOf(packed).subarray(0, 65536), memoryOf(plain).subarray(0, 65536));
  assert.throws(() => packData(moduleWith([{ offset: 65536 - data.length, data }], 1, 1)), /does not fit/);
});
