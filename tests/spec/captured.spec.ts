// The codec against frames captured from real kafkajs and Java-client traffic
// (tests/tools/capture.ts): every frame decodes exactly, and renaming its entities and
// renaming them back reproduces it byte for byte.
import { FRAME_COUNT } from "./fixtures/captured_frames";
import { Visitor } from "../../assembly/kafka/walker";
import { rewriteEntities, Renamer } from "./entity_rewriter";
import { ByteBuffer } from "../../assembly/kafka/byte_buffer";
import { Captured, Names } from "./captured";
import { sameBytes, text } from "./helpers";

const PREFIX = "tenant-a.";

class AddPrefix extends Renamer {
  rename(entity: i32, ptr: usize, len: i32, out: ByteBuffer): bool {
    const p = String.UTF8.encode(PREFIX);
    out.append(changetype<usize>(p), p.byteLength);
    out.append(ptr, len);
    return true;
  }
}

class RemovePrefix extends Renamer {
  rename(entity: i32, ptr: usize, len: i32, out: ByteBuffer): bool {
    const n = PREFIX.length;
    if (len < n || text(ptr, n) != PREFIX) return false;
    out.append(ptr + <usize>n, len - n);
    return true;
  }
}

describe("captured frames", () => {
  it("cover both clients' versions of the main APIs", () => {
    expect(FRAME_COUNT).toBeGreaterThanOrEqual(40);
  });

  it("decode exactly, header and body, in every captured API version", () => {
    for (let i = 0; i < FRAME_COUNT; i++) {
      const c = new Captured(i);
      expect(c.walkBody(c.frame, new Visitor())).toBe(c.frame.len - c.body, c.label);
    }
  });

  it("round-trip through entity renaming byte for byte", () => {
    let renamedFrames = 0;
    const prefixed = new ByteBuffer();
    const restored = new ByteBuffer();
    for (let i = 0; i < FRAME_COUNT; i++) {
      const c = new Captured(i);
      const before = new Names();
      c.walkBody(c.frame, before);

      const renamed = rewriteEntities(c.frame.ptr, c.frame.len, c.body, c.apiKey, c.apiVersion, c.isRequest, new AddPrefix(), prefixed);
      expect(renamed).toBe(before.names.length, c.label);
      if (renamed > 0) renamedFrames++;
      // The renamed frame is a valid frame carrying the new names.
      const after = new Names();
      expect(c.walkBody(prefixed, after)).toBe(prefixed.len - c.body, c.label + " after renaming");
      expect(<i32>load<u32>(prefixed.ptr)).toBe(<i32>bswap<u32>(<u32>(prefixed.len - 4)), "size prefix");
      expect(after.names.length).toBe(before.names.length);
      for (let j = 0; j < after.names.length; j++) expect(after.names[j]).toBe(PREFIX + before.names[j]);

      rewriteEntities(prefixed.ptr, prefixed.len, c.body, c.apiKey, c.apiVersion, c.isRequest, new RemovePrefix(), restored);
      expect(sameBytes(restored, c.frame)).toBe(true, c.label + " restored");
    }
    // Produce, Fetch, Metadata, CreateTopics, offsets and group APIs name topics or groups.
    expect(renamedFrames).toBeGreaterThanOrEqual(20);
  });
});
