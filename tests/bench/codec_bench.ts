// AssemblyScript entry for the per-frame microbenchmark (compiled by microbench.ts, run in
// Node's V8 like Envoy's Wasm runtime) over the captured real frames, as request/response
// pairs: the schema walk alone, and the filter's own pipeline (filters/pipeline.ts) with its
// authorization or its rewriting stage, edited frames handed out as the network layer sends them.
import { FRAME_COUNT, FRAME_HEX, FRAME_INFO } from "../spec/fixtures/captured_frames";
import { parseRequestHeader, parseResponseHeader, RequestHeader, ResponseHeader } from "../../assembly/kafka/message_header";
import { Visitor, walk } from "../../assembly/kafka/walker";
import { ByteBuffer } from "../../assembly/kafka/byte_buffer";
import { Gather } from "../../assembly/kafka/gather";
import { parseConfig } from "../../assembly/policy/config";
import { KafkaFrame, Verdict } from "../../assembly/proxy/kafka_frame";
import { decodeRequestHeader, decodeResponseHeader } from "../../assembly/proxy/frame_decode";
import { ProxyCounters } from "../../assembly/proxy/proxy_counters";
import { Pipeline, VmState } from "../../filters/pipeline";
import { rewriteEntities, Renamer } from "../spec/entity_rewriter";
import { fromHex } from "../spec/helpers";

const frames: ByteBuffer[] = [];
const bodies: i32[] = [];

// The captured clients' ids are their principals; their topic is `capture`. No audit events:
// they need the host's clock and log, which this bench has not (and it measures the walk).
const ACLS = `{"metrics": false, "audit": false, "principal_sources": ["client_id"], "acls": {"rules": [
  {"principal": "*", "permission": "allow", "resource": "topic", "pattern": "prefixed", "name": "capture", "operations": ["all"]},
  {"principal": "*", "permission": "allow", "resource": "group", "name": "*", "operations": ["read"]},
  {"principal": "*", "permission": "allow", "resource": "transactional_id", "name": "*", "operations": ["write"]},
  {"principal": "*", "permission": "allow", "resource": "cluster", "operations": ["idempotent_write", "describe"]},
  {"principal": "User:other", "permission": "deny", "resource": "topic", "name": "*", "operations": ["all"]}]}}`;
const REWRITE = `{"metrics": false, "audit": false, "principal_sources": ["client_id"], "rewrite": {"tenants": [
  {"principal": "User:kafkajs-capture", "prefix": "tenant."},
  {"principal": "User:java-producer", "prefix": "tenant."},
  {"principal": "User:java-consumer", "prefix": "tenant."}]}}`;

function sharedFor(json: string): VmState {
  const parsed = parseConfig(json);
  if (parsed.error.length > 0) throw new Error(parsed.error);
  return VmState.of(parsed.config!, new ProxyCounters());
}

export function frameCount(): i32 {
  if (frames.length > 0) return frames.length;
  for (let i = 0; i < FRAME_COUNT; i++) {
    const f = fromHex(FRAME_HEX[i]);
    let body = 0;
    if (FRAME_INFO[i * 3] == 1) {
      const h = new RequestHeader();
      parseRequestHeader(f.ptr, f.len, h);
      body = h.bodyOffset;
    } else {
      const h = new ResponseHeader();
      parseResponseHeader(f.ptr, f.len, FRAME_INFO[i * 3 + 1], FRAME_INFO[i * 3 + 2], h);
      body = h.bodyOffset;
    }
    frames.push(f);
    bodies.push(body);
  }
  return frames.length;
}

export function frameBytes(): i32 {
  let n = 0;
  for (let i = 0; i < frames.length; i++) n += frames[i].len;
  return n;
}

const plain = new Visitor();

// Each runs over every captured frame `rounds` times and returns a checksum so no work is skipped.
export function parseAll(rounds: i32): i32 {
  let sum = 0;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i];
      sum += walk(FRAME_INFO[i * 3 + 1], FRAME_INFO[i * 3 + 2], FRAME_INFO[i * 3] == 1, f.ptr + <usize>bodies[i], f.len - bodies[i], plain);
    }
  }
  return sum;
}

const PREFIX = String.UTF8.encode("tenant.");

class AddPrefix extends Renamer {
  rename(entity: i32, ptr: usize, len: i32, out: ByteBuffer): bool {
    out.append(changetype<usize>(PREFIX), PREFIX.byteLength);
    out.append(ptr, len);
    return true;
  }
}

// One connection's pipeline over every captured exchange (request, then its response).
class Exchanges {
  pipeline: Pipeline;
  request: KafkaFrame = new KafkaFrame();
  response: KafkaFrame = new KafkaFrame();
  out: Gather = new Gather();
  // The responses as the broker sends them: for a tenant, its names prefixed.
  answers: ByteBuffer[] = [];

  constructor(shared: VmState, prefixed: bool) {
    this.pipeline = new Pipeline(shared);
    for (let i = 0; i < frames.length; i++) {
      if (!prefixed || i % 2 == 0) {
        this.answers.push(frames[i]);
        continue;
      }
      const f = frames[i];
      const broker = new ByteBuffer();
      const n = rewriteEntities(f.ptr, f.len, bodies[i], FRAME_INFO[i * 3 + 1], FRAME_INFO[i * 3 + 2], false, new AddPrefix(), broker);
      this.answers.push(n > 0 ? broker : f);
    }
  }

  run(rounds: i32): i32 {
    let sum = 0;
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i + 1 < frames.length; i += 2) {
        const q = this.request;
        q.ptr = frames[i].ptr;
        q.len = frames[i].len;
        q.note.clear();
        decodeRequestHeader(q);
        const verdict = this.pipeline.request(q);
        sum += this.send(q, verdict);
        if (verdict == Verdict.Answer || verdict == Verdict.Reject) continue;
        // As the connection does: the request's note and requester come back with its response.
        const a = this.response;
        a.ptr = this.answers[i + 1].ptr;
        a.len = this.answers[i + 1].len;
        a.apiKey = q.apiKey;
        a.apiVersion = q.responseVersion;
        a.note.clear();
        a.note.append(q.note.ptr, q.note.len);
        a.requester = q.requester;
        decodeResponseHeader(a);
        sum += this.send(a, this.pipeline.response(a));
      }
    }
    return sum;
  }

  // What the network layer would hand Envoy for the frame.
  private send(f: KafkaFrame, verdict: Verdict): i32 {
    if (verdict != Verdict.Replace) return verdict;
    const g = this.out;
    g.clear();
    if (!f.replacement(g)) throw new Error("edits not applicable");
    return g.count;
  }
}

// Made on first use, once the host can see the module's memory (metrics are defined then).
let authorizing: Exchanges | null = null;
let rewriting: Exchanges | null = null;

export function authorizeAll(rounds: i32): i32 {
  if (authorizing === null) authorizing = new Exchanges(sharedFor(ACLS), false);
  return authorizing!.run(rounds);
}

export function rewriteAll(rounds: i32): i32 {
  if (rewriting === null) rewriting = new Exchanges(sharedFor(REWRITE), true);
  return rewriting!.run(rounds);
}
