// Drives the filter's own Pipeline as a connection does (assembly/proxy/connection.ts): a
// request, then the response to it, with what the connection hands on between the two (the
// requester, the stages' note). Shared by the specs of the stages (rewrite, authz, metrics), with
// the decoding their assertions need and the counters read back from the spec host
// (host_imports.js).
import { Visitor, walk } from "../../assembly/kafka/walker";
import { Entity } from "../../assembly/kafka/layout";
import { ByteBuffer } from "../../assembly/kafka/byte_buffer";
import { Gather } from "../../assembly/kafka/gather";
import { parseResponseHeader, ResponseHeader } from "../../assembly/kafka/message_header";
import { KafkaFrame, Verdict } from "../../assembly/proxy/kafka_frame";
import { decodeRequestHeader, decodeResponseHeader } from "../../assembly/proxy/frame_decode";
import { Counter, defineCounter, flushMetrics } from "../../assembly/proxy/host_metrics";
import { Pipeline, VmState } from "../../filters/pipeline";
import { proxy_get_metric } from "@solo-io/proxy-runtime/assembly/imports";
import { Captured } from "./captured";
import { text } from "./helpers";

// A counter's value, read back from the spec host.
export function count(c: Counter): u64 {
  return valueOf(c.metric_id);
}

// A metric's value by its name (without `kafka_proxy.`): the spec host gives a name defined again
// its existing id, as Envoy does, and a metric never defined reads 0.
export function metric(name: string): u64 {
  return valueOf(<u32>defineCounter(name));
}

function valueOf(id: u32): u64 {
  // Counters reach the host on the VM's ticks.
  flushMetrics();
  const out = new ArrayBuffer(8);
  expect(proxy_get_metric(id, changetype<usize>(out))).toBe(0);
  return load<u64>(changetype<usize>(out));
}

@inline export function isName(entity: i32): bool {
  return entity == Entity.TopicName || entity == Entity.GroupId || entity == Entity.TransactionalId ||
    entity == Entity.CoordinatorKey;
}

// What a frame holds that a stage must respect: its names in wire order, its record sets'
// bytes and its error codes.
export class Contents extends Visitor {
  names: string[] = [];
  kinds: i32[] = [];
  recordBytes: ByteBuffer = new ByteBuffer();
  errors: i16[] = [];
  patterns: string[] = [];

  entity(entity: i32, lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
    if (len < 0 || !isName(entity)) return;
    this.names.push(text(valuePtr, len));
    this.kinds.push(entity);
  }

  records(ptr: usize, len: i32): void {
    if (len > 0) this.recordBytes.append(ptr, len);
  }

  namePattern(lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
    this.patterns.push(len < 0 ? "(null)" : text(valuePtr, len));
  }

  errorCode(code: i16): void {
    this.errors.push(code);
  }
}

// Decodes `buf`, a request or response of `c`'s API version, checking that it decodes exactly.
export function contents(c: Captured, buf: ByteBuffer, isRequest: bool): Contents {
  return contentsOf(c.apiKey, c.apiVersion, isRequest, buf, isRequest ? c.body : -1, c.label);
}

// The same for any frame: `body` is where a request's body starts (a response's is read from its
// header when -1).
export function contentsOf(apiKey: i16, apiVersion: i16, isRequest: bool, buf: ByteBuffer, body: i32, label: string): Contents {
  const seen = new Contents();
  if (body < 0) {
    const h = new ResponseHeader();
    expect(parseResponseHeader(buf.ptr, buf.len, apiKey, apiVersion, h)).toBe(0, label);
    body = h.bodyOffset;
  }
  expect(walk(apiKey, apiVersion, isRequest, buf.ptr + <usize>body, buf.len - body, seen)).toBe(buf.len - body, label);
  expect(<i32>bswap<u32>(load<u32>(buf.ptr))).toBe(buf.len - 4, label + " size prefix");
  return seen;
}

// Walks a hand-built frame whose body starts at `body`.
export function walkBuilt(apiKey: i16, apiVersion: i16, isRequest: bool, buf: ByteBuffer, body: i32): Contents {
  const seen = new Contents();
  expect(walk(apiKey, apiVersion, isRequest, buf.ptr + <usize>body, buf.len - body, seen)).toBe(buf.len - body);
  return seen;
}

// What the network layer sends in place of a replaced frame, as one copy.
export function replacementOf(f: KafkaFrame, out: ByteBuffer): void {
  const g = new Gather();
  expect(f.replacement(g)).toBe(true);
  g.writeTo(out);
}

// One connection's view of an exchange: the request, then a response to it.
export class Exchange {
  pipeline: Pipeline;
  requestFrame: KafkaFrame = new KafkaFrame();
  responseFrame: KafkaFrame = new KafkaFrame();

  constructor(shared: VmState) {
    this.pipeline = new Pipeline(shared);
  }

  // The request as the broker gets it (or the filter's answer, for Verdict.Answer).
  request(c: Captured, out: ByteBuffer): Verdict {
    return this.requestOf(c.frame, out, c.label);
  }

  requestOf(frame: ByteBuffer, out: ByteBuffer, label: string = ""): Verdict {
    const f = this.requestFrame;
    f.ptr = frame.ptr;
    f.len = frame.len;
    f.expectsResponse = true;
    f.note.clear();
    expect(decodeRequestHeader(f)).toBe(0, label);
    const verdict = this.pipeline.request(f);
    out.clear();
    if (verdict == Verdict.Forward) out.append(frame.ptr, frame.len);
    else if (verdict == Verdict.Replace) replacementOf(f, out);
    else out.append(f.rewritten.ptr, f.rewritten.len);
    return verdict;
  }

  // `response` answering the request of `req`, as the client gets it.
  response(req: Captured, response: ByteBuffer, out: ByteBuffer): Verdict {
    return this.responseTo(req.apiKey, req.apiVersion, response, out);
  }

  responseTo(apiKey: i16, apiVersion: i16, response: ByteBuffer, out: ByteBuffer): Verdict {
    const f = this.responseFrame;
    f.ptr = response.ptr;
    f.len = response.len;
    f.apiKey = apiKey;
    f.apiVersion = apiVersion;
    // As the connection does: a response is judged as its request's requester (and counted in
    // its quota bucket), with the note the stages left on the request.
    f.requester = this.requestFrame.requester;
    f.bucketRule = this.requestFrame.bucketRule;
    f.bucket = this.requestFrame.bucket;
    f.note.clear();
    const note = this.requestFrame.note;
    if (note.len > 0) f.note.append(note.ptr, note.len);
    expect(decodeResponseHeader(f)).toBe(0);
    const verdict = this.pipeline.response(f);
    out.clear();
    if (verdict == Verdict.Forward) out.append(response.ptr, response.len);
    else if (verdict == Verdict.Replace) replacementOf(f, out);
    return verdict;
  }
}
