// Answers built by the filter for refused requests: for every captured request, the error
// response decodes exactly against its schema, carries the request's correlation id, sets every
// error code, and names the same topics/groups the request asked about.
import { FRAME_COUNT } from "./fixtures/captured_frames";
import { Visitor, walk } from "../../assembly/kafka/walker";
import { buildErrorResponse, EntryFilter } from "../../assembly/kafka/error_response";
import { parseResponseHeader, ResponseHeader } from "../../assembly/kafka/message_header";
import { ByteBuffer } from "../../assembly/kafka/byte_buffer";
import { Entity } from "../../assembly/kafka/layout";
import { Captured, Names } from "./captured";
import { text } from "./helpers";

const PRODUCE: i16 = 0;

class Errors extends Visitor {
  codes: i16[] = [];
  errorCode(code: i16): void {
    this.codes.push(code);
  }
}

function correlationOf(c: Captured): i32 {
  return <i32>bswap<u32>(load<u32>(c.frame.ptr + 8));
}

function answer(c: Captured, code: i16, filter: EntryFilter | null, out: ByteBuffer): ResponseHeader {
  const ok = buildErrorResponse(c.apiKey, c.apiVersion, correlationOf(c), c.frame.ptr + <usize>c.body, c.frame.len - c.body,
    code, filter, out);
  expect(ok).toBe(true, c.label);
  const h = new ResponseHeader();
  expect(parseResponseHeader(out.ptr, out.len, c.apiKey, c.apiVersion, h)).toBe(0, c.label + " header");
  expect(<i32>bswap<u32>(load<u32>(out.ptr))).toBe(out.len - 4, c.label + " size");
  return h;
}

describe("error responses", () => {
  it("decode, keep the correlation id and set every error code, for every captured request", () => {
    const out = new ByteBuffer();
    let answered = 0;
    for (let i = 0; i < FRAME_COUNT; i++) {
      const c = new Captured(i);
      if (!c.isRequest) continue;
      const h = answer(c, 29, null, out);
      expect(h.correlationId).toBe(correlationOf(c), c.label);
      const errors = new Errors();
      const n = walk(c.apiKey, c.apiVersion, false, out.ptr + <usize>h.bodyOffset, out.len - h.bodyOffset, errors);
      expect(n).toBe(out.len - h.bodyOffset, c.label + " decodes");
      for (let j = 0; j < errors.codes.length; j++) expect(errors.codes[j]).toBe(29, c.label);
      answered++;
    }
    expect(answered).toBeGreaterThanOrEqual(20);
  });

  it("answer each topic and partition a Produce request names", () => {
    const out = new ByteBuffer();
    let checked = 0;
    for (let i = 0; i < FRAME_COUNT; i++) {
      const c = new Captured(i);
      if (!c.isRequest || c.apiKey != PRODUCE || c.apiVersion >= 13) continue;
      const asked = new Names();
      c.walkBody(c.frame, asked);
      const h = answer(c, 29, null, out);
      const told = new Names();
      const errors = new Errors();
      walk(c.apiKey, c.apiVersion, false, out.ptr + <usize>h.bodyOffset, out.len - h.bodyOffset, told);
      walk(c.apiKey, c.apiVersion, false, out.ptr + <usize>h.bodyOffset, out.len - h.bodyOffset, errors);
      const topics = asked.names.filter((n: string): bool => n.length > 0);
      expect(told.names.join(",")).toBe(topics.join(","), c.label);
      // One error per partition; a produce request here carries one partition per topic.
      expect(errors.codes.length).toBeGreaterThanOrEqual(told.names.length);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});
