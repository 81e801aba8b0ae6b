// The codec against frames captured from real kafkajs and Java-client traffic
// (tests/tools/capture.ts): every frame decodes exactly, and renaming its entities and
// renaming them back reproduces it byte for byte.
import { FRAME_COUNT, FRAME_HEX, FRAME_INFO } from "./fixtures/captured_frames";
import { parseRequestHeader, parseResponseHeader, RequestHeader, ResponseHeader } from "../../assembly/kafka/header";
import { walk, Visitor } from "../../assembly/kafka/walker";
import { rewriteEntities, Renamer } from "../../assembly/kafka/entity_rewriter";
import { ByteBuffer } from "../../assembly/kafka/byte_buffer";
import { apiName } from "../../assembly/kafka/apis";
import { Entity } from "../../assembly/kafka/layout";
import { fromHex, sameBytes, text } from "./helpers";

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

// Collects the string entities of a walk, to compare before and after renaming.
class Names extends Visitor {
  names: string[] = [];
  entity(entity: i32, lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
    if (len >= 0 && (entity == Entity.TopicName || entity == Entity.GroupId || entity == Entity.TransactionalId)) {
      this.names.push(text(valuePtr, len));
    }
  }
}

// Captured frame `i`, its header decoded (and checked against what the capture recorded).
class Captured {
  isRequest: bool;
  apiKey: i16;
  apiVersion: i16;
  frame: ByteBuffer;
  body: i32 = 0;
  label: string = "";

  constructor(i: i32) {
    this.isRequest = FRAME_INFO[i * 3] == 1;
    this.apiKey = FRAME_INFO[i * 3 + 1];
    this.apiVersion = FRAME_INFO[i * 3 + 2];
    this.frame = fromHex(FRAME_HEX[i]);
    this.label = apiName(FRAME_INFO[i * 3 + 1]) + " v" + FRAME_INFO[i * 3 + 2].toString() + (FRAME_INFO[i * 3] == 1 ? " request" : " response");
    if (this.isRequest) {
      const h = new RequestHeader();
      expect(parseRequestHeader(this.frame.ptr, this.frame.len, h)).toBe(0, "header of " + this.label);
      expect(h.apiKey).toBe(this.apiKey);
      expect(h.apiVersion).toBe(this.apiVersion);
      this.body = h.bodyOffset;
    } else {
      const h = new ResponseHeader();
      expect(parseResponseHeader(this.frame.ptr, this.frame.len, this.apiKey, this.apiVersion, h)).toBe(0, "header of " + this.label);
      this.body = h.bodyOffset;
    }
  }

  walkBody(buf: ByteBuffer, v: Visitor): i32 {
    return walk(this.apiKey, this.apiVersion, this.isRequest, buf.ptr + <usize>this.body, buf.len - this.body, v);
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
