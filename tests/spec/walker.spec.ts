// The walker and header codec on hand-built frames: what each malformation is reported as,
// and the version rules (flexible encodings, tagged fields, header versions, KIP-511).
import { parseRequestHeader, parseResponseHeader, RequestHeader, ResponseHeader,
  requestHeaderVersion, responseHeaderVersion } from "../../assembly/kafka/message_header";
import { walk, Visitor, WalkError } from "../../assembly/kafka/walker";
import { isFlexible, isValidVersion, apiName } from "../../assembly/kafka/api_table";
import { Entity } from "../../assembly/kafka/layout";
import { ByteBuffer } from "../../assembly/kafka/byte_buffer";
import { FrameBuilder, text } from "./helpers";

const METADATA: i16 = 3;
const API_VERSIONS: i16 = 18;

class Topics extends Visitor {
  names: string[] = [];
  entity(entity: i32, lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
    if (entity == Entity.TopicName) this.names.push(len < 0 ? "<null>" : text(valuePtr, len));
  }
}

// Metadata v12 request (flexible): header v2, then Topics, AllowAutoTopicCreation,
// IncludeTopicAuthorizedOperations and the tagged-field section.
function metadataV12(topicsCount: u32, name: string, tagged: bool): ByteBuffer {
  const b = new FrameBuilder().i16(METADATA).i16(12).i32(7).str("cli").uvarint(0);
  b.uvarint(topicsCount + 1);
  for (let i: u32 = 0; i < topicsCount; i++) b.zeros(16).cstr(name).uvarint(0);
  b.i8(1).i8(0);
  if (tagged) b.uvarint(1).uvarint(42).uvarint(3).raw("xyz"); // an unknown tag, skipped
  else b.uvarint(0);
  return b.finish();
}

function walkRequest(frame: ByteBuffer, v: Visitor): i32 {
  const h = new RequestHeader();
  const err = parseRequestHeader(frame.ptr, frame.len, h);
  if (err < 0) return err;
  return walk(h.apiKey, h.apiVersion, true, frame.ptr + <usize>h.bodyOffset, frame.len - h.bodyOffset, v);
}

describe("request header", () => {
  it("reads api key, version, correlation id and the non-compact client id of header v2", () => {
    const f = metadataV12(1, "orders", false);
    const h = new RequestHeader();
    expect(parseRequestHeader(f.ptr, f.len, h)).toBe(0);
    expect(h.apiKey).toBe(METADATA);
    expect(h.apiVersion).toBe(<i16>12);
    expect(h.correlationId).toBe(7);
    expect(text(h.clientIdPtr, h.clientIdLen)).toBe("cli");
    // size + key + version + correlation + int16 "cli" + empty tagged section
    expect(h.bodyOffset).toBe(4 + 2 + 2 + 4 + 5 + 1);
  });

  it("uses header v1 for non-flexible versions and v2 for flexible ones", () => {
    expect(requestHeaderVersion(METADATA, 8)).toBe(<i16>1);
    expect(requestHeaderVersion(METADATA, 9)).toBe(<i16>2);
  });

  it("reads a null client id", () => {
    const f = new FrameBuilder().i16(METADATA).i16(4).i32(1).i16(-1).i32(-1).i8(1).finish();
    const h = new RequestHeader();
    expect(parseRequestHeader(f.ptr, f.len, h)).toBe(0);
    expect(h.clientIdLen).toBe(-1);
    expect(walk(METADATA, 4, true, f.ptr + <usize>h.bodyOffset, f.len - h.bodyOffset, new Visitor())).toBe(5);
  });

  it("refuses a header cut short", () => {
    const f = new FrameBuilder().i16(METADATA).i16(4).i32(1).i16(10).raw("abc").finish();
    expect(parseRequestHeader(f.ptr, f.len, new RequestHeader())).toBe(WalkError.Truncated);
  });
});

describe("response header", () => {
  it("is v0 for ApiVersions even in flexible versions (KIP-511), v1 for other flexible APIs", () => {
    expect(isFlexible(API_VERSIONS, 3)).toBe(true);
    expect(responseHeaderVersion(API_VERSIONS, 3)).toBe(<i16>0);
    expect(responseHeaderVersion(METADATA, 12)).toBe(<i16>1);
    expect(responseHeaderVersion(METADATA, 8)).toBe(<i16>0);
    const f = new FrameBuilder().i32(99).uvarint(0).finish();
    const h = new ResponseHeader();
    expect(parseResponseHeader(f.ptr, f.len, METADATA, 12, h)).toBe(0);
    expect(h.correlationId).toBe(99);
    expect(h.bodyOffset).toBe(9);
  });
});

describe("message walk", () => {
  it("reports every topic name and consumes the body exactly", () => {
    const f = metadataV12(3, "orders", false);
    const t = new Topics();
    expect(walkRequest(f, t)).toBeGreaterThan(0);
    expect(t.names.length).toBe(3);
    expect(t.names[2]).toBe("orders");
  });

  it("skips unknown tagged fields", () => {
    const t = new Topics();
    expect(walkRequest(metadataV12(1, "a", true), t)).toBeGreaterThan(0);
    expect(t.names[0]).toBe("a");
  });

  it("accepts a null topic list where the version allows it (all topics)", () => {
    const f = new FrameBuilder().i16(METADATA).i16(12).i32(1).str("c").uvarint(0).uvarint(0).i8(1).i8(0).uvarint(0).finish();
    expect(walkRequest(f, new Topics())).toBeGreaterThan(0);
  });

  it("refuses a null topic list in v0, where it is not nullable", () => {
    const f = new FrameBuilder().i16(METADATA).i16(0).i32(1).str("c").i32(-1).finish();
    expect(walkRequest(f, new Visitor())).toBe(WalkError.BadNull);
  });

  it("refuses a body cut short", () => {
    const whole = metadataV12(1, "orders", false);
    const cut = new FrameBuilder();
    cut.buf.append(whole.ptr + 4, whole.len - 4 - 2);
    expect(walkRequest(cut.finish(), new Visitor())).toBe(WalkError.Truncated);
  });

  it("reports where a request's message ends when bytes follow it, as Kafka ignores them", () => {
    const whole = metadataV12(1, "orders", false);
    const h = new RequestHeader();
    parseRequestHeader(whole.ptr, whole.len, h);
    const longer = new FrameBuilder();
    longer.buf.append(whole.ptr + 4, whole.len - 4);
    longer.i8(0).i8(0).i8(1);
    expect(walkRequest(longer.finish(), new Visitor())).toBe(whole.len - h.bodyOffset);
  });

  it("refuses trailing bytes after a response body", () => {
    // Metadata v4 response: throttle, no brokers, null cluster id, controller, no topics; then one byte more.
    const f = new FrameBuilder().i32(1).i32(0).i32(0).i16(-1).i32(1).i32(0).i8(0).finish();
    expect(walk(METADATA, 4, false, f.ptr + 8, f.len - 8, new Visitor())).toBe(WalkError.TrailingBytes);
    expect(walk(METADATA, 4, false, f.ptr + 8, f.len - 9, new Visitor())).toBe(f.len - 9);
  });

  it("refuses an array count larger than the frame", () => {
    const f = new FrameBuilder().i16(METADATA).i16(4).i32(1).str("c").i32(1000000).finish();
    expect(walkRequest(f, new Visitor())).toBe(WalkError.BadLength);
  });

  it("refuses a negative string length other than null", () => {
    const f = new FrameBuilder().i16(METADATA).i16(4).i32(1).str("c").i32(1).i16(-5).i8(1).finish();
    expect(walkRequest(f, new Visitor())).toBe(WalkError.BadLength);
  });

  it("refuses an unsigned varint longer than 5 bytes", () => {
    const f = new FrameBuilder().i16(METADATA).i16(12).i32(1).str("c").uvarint(0)
      .i8(-1).i8(-1).i8(-1).i8(-1).i8(-1).i8(1).finish();
    expect(walkRequest(f, new Visitor())).toBe(WalkError.BadVarint);
  });

  it("refuses a known tagged field whose size does not match its content", () => {
    // ApiVersions v3 response: ErrorCode, ApiKeys [], ThrottleTimeMs, then tag 0
    // (SupportedFeatures, a compact array) declared 3 bytes long but holding 1.
    const f = new FrameBuilder().i16(0).uvarint(1).i32(0).uvarint(1).uvarint(0).uvarint(3).uvarint(1).i8(0).i8(0).finish();
    expect(walk(API_VERSIONS, 3, false, f.ptr + 4, f.len - 4, new Visitor())).toBe(WalkError.BadTaggedField);
  });

  it("refuses versions the schemas do not define", () => {
    expect(isValidVersion(0, 2)).toBe(false, "Produce v2 was removed in Kafka 4");
    expect(isValidVersion(0, 13)).toBe(true);
    expect(isValidVersion(1000, 0)).toBe(false);
    expect(apiName(1000)).toBe("Unknown(1000)");
    expect(walk(0, 2, true, 0, 0, new Visitor())).toBe(WalkError.UnknownVersion);
  });
});
