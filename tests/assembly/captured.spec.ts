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

function label(i: i32): string {
  const isRequest = FRAME_INFO[i * 3] == 1;
  return apiName(FRAME_INFO[i * 3 + 1]) + " v" + FRAME_INFO[i * 3 + 2].toString() + (isRequest ? " request" : " response");
}

function bodyOffset(frame: ByteBuffer, isRequest: bool, apiKey: i16, apiVersion: i16): i32 {
  if (isRequest) {
    const h = new RequestHeader();
    expect(parseRequestHeader(frame.ptr, frame.len, h)).toBe(0, "header of " + apiName(apiKey));
    expect(h.apiKey).toBe(apiKey);
    expect(h.apiVersion).toBe(apiVersion);
    return h.bodyOffset;
  }
  const h = new ResponseHeader();
  expect(parseResponseHeader(frame.ptr, frame.len, apiKey, apiVersion, h)).toBe(0, "header of " + apiName(apiKey));
  return h.bodyOffset;
}

describe("captured frames", () => {
  it("cover both clients' versions of the main APIs", () => {
    expect(FRAME_COUNT).toBeGreaterThanOrEqual(40);
  });

  it("decode exactly, header and body, in every captured API version", () => {
    for (let i = 0; i < FRAME_COUNT; i++) {
      const isRequest = FRAME_INFO[i * 3] == 1;
      const apiKey = FRAME_INFO[i * 3 + 1];
      const apiVersion = FRAME_INFO[i * 3 + 2];
      const frame = fromHex(FRAME_HEX[i]);
      const body = bodyOffset(frame, isRequest, apiKey, apiVersion);
      const n = walk(apiKey, apiVersion, isRequest, frame.ptr + <usize>body, frame.len - body, new Visitor());
      expect(n).toBe(frame.len - body, label(i));
    }
  });

  it("round-trip through entity renaming byte for byte", () => {
    let renamedFrames = 0;
    const prefixed = new ByteBuffer();
    const restored = new ByteBuffer();
    for (let i = 0; i < FRAME_COUNT; i++) {
      const isRequest = FRAME_INFO[i * 3] == 1;
      const apiKey = FRAME_INFO[i * 3 + 1];
      const apiVersion = FRAME_INFO[i * 3 + 2];
      const frame = fromHex(FRAME_HEX[i]);
      const body = bodyOffset(frame, isRequest, apiKey, apiVersion);
      const before = new Names();
      walk(apiKey, apiVersion, isRequest, frame.ptr + <usize>body, frame.len - body, before);

      const renamed = rewriteEntities(frame.ptr, frame.len, body, apiKey, apiVersion, isRequest, new AddPrefix(), prefixed);
      expect(renamed).toBe(before.names.length, label(i));
      if (renamed > 0) renamedFrames++;
      // The renamed frame is a valid frame carrying the new names.
      const after = new Names();
      const n = walk(apiKey, apiVersion, isRequest, prefixed.ptr + <usize>body, prefixed.len - body, after);
      expect(n).toBe(prefixed.len - body, label(i) + " after renaming");
      expect(<i32>load<u32>(prefixed.ptr)).toBe(<i32>bswap<u32>(<u32>(prefixed.len - 4)), "size prefix");
      for (let j = 0; j < after.names.length; j++) expect(after.names[j]).toBe(PREFIX + before.names[j]);

      rewriteEntities(prefixed.ptr, prefixed.len, body, apiKey, apiVersion, isRequest, new RemovePrefix(), restored);
      expect(sameBytes(restored, frame)).toBe(true, label(i) + " restored");
    }
    // Produce, Fetch, Metadata, CreateTopics, offsets and group APIs name topics or groups.
    expect(renamedFrames).toBeGreaterThanOrEqual(20);
  });
});
