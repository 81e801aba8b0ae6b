// Answers the filter builds for the entries of one list (issue 12): with a filter covering every
// entry (a request whose list was emptied by refusals), only the entries carry the error and the
// message's own error code stays 0, as the broker's answer would; CreateAcls answers each
// creation.
import { Visitor, walk } from "../../assembly/kafka/walker";
import { buildErrorResponse, EntryFilter } from "../../assembly/kafka/error_response";
import { parseResponseHeader, ResponseHeader } from "../../assembly/kafka/message_header";
import { ByteBuffer } from "../../assembly/kafka/byte_buffer";
import { writeInt16, writeInt32 } from "../../assembly/kafka/writer";

class Layout extends Visitor {
  codes: i16[] = [];
  firstArrayRow: i32 = -1;
  elements: usize[] = [];
  depth: i32 = 0;
  constructor() {
    super();
    this.wantsLayout = true;
  }
  errorCode(code: i16): void {
    this.codes.push(code);
  }
  arrayStart(row: i32, countPtr: usize, countEnd: usize, count: i32, compact: bool): void {
    if (this.firstArrayRow < 0) this.firstArrayRow = row;
  }
  elementStart(ptr: usize): void {
    if (this.depth++ == 0) this.elements.push(ptr);
  }
  elementEnd(ptr: usize): void {
    this.depth--;
  }
}

function str(out: ByteBuffer, s: string): void {
  const b = String.UTF8.encode(s);
  writeInt16(out, <i16>b.byteLength);
  out.append(changetype<usize>(b), b.byteLength);
}

function errorsOf(apiKey: i16, version: i16, out: ByteBuffer): i16[] {
  const h = new ResponseHeader();
  expect(parseResponseHeader(out.ptr, out.len, apiKey, version, h)).toBe(0);
  const v = new Layout();
  expect(walk(apiKey, version, false, out.ptr + <usize>h.bodyOffset, out.len - h.bodyOffset, v)).toBe(out.len - h.bodyOffset);
  return v.codes;
}

describe("answers for refused entries", () => {
  it("OffsetFetch v5 with every topic refused: 29 per partition, top-level error 0", () => {
    const body = new ByteBuffer();
    str(body, "rg");
    writeInt32(body, 2);
    str(body, "secret");
    writeInt32(body, 1);
    writeInt32(body, 0);
    str(body, "other");
    writeInt32(body, 1);
    writeInt32(body, 3);
    const layout = new Layout();
    expect(walk(9, 5, true, body.ptr, body.len, layout)).toBe(body.len);
    const filter = new EntryFilter();
    filter.reset(layout.firstArrayRow);
    for (let i = 0; i < layout.elements.length; i++) filter.add(<i32>(layout.elements[i] - body.ptr));
    const out = new ByteBuffer();
    expect(buildErrorResponse(9, 5, 7, body.ptr, body.len, 29, filter, out)).toBe(true);
    // Wire order: each topic's partition, then the message's own error code.
    expect(errorsOf(9, 5, out).join(",")).toBe("29,29,0");
    // Refused as a whole, every error code says so.
    expect(buildErrorResponse(9, 5, 7, body.ptr, body.len, 30, null, out)).toBe(true);
    expect(errorsOf(9, 5, out).join(",")).toBe("30,30,30");
  });

  it("CreateAcls v1 refused: one result with 31 per creation", () => {
    const body = new ByteBuffer();
    writeInt32(body, 3);
    for (let i = 0; i < 3; i++) {
      body.append(changetype<usize>(new StaticArray<u8>(1)), 1); // resource type
      str(body, "orders");
      body.append(changetype<usize>(new StaticArray<u8>(1)), 1); // pattern type
      str(body, "User:x");
      str(body, "*");
      body.append(changetype<usize>(new StaticArray<u8>(2)), 2); // operation, permission type
    }
    const out = new ByteBuffer();
    expect(buildErrorResponse(30, 1, 7, body.ptr, body.len, 31, null, out)).toBe(true);
    expect(errorsOf(30, 1, out).join(",")).toBe("31,31,31");
  });
});
