// AssemblyScript entry for the per-frame microbenchmark (compiled by microbench.ts, run in
// Node's V8 like Envoy's Wasm runtime): the filter's codec work on the captured real frames.
import { FRAME_COUNT, FRAME_HEX, FRAME_INFO } from "../assembly/fixtures/captured_frames";
import { parseRequestHeader, parseResponseHeader, RequestHeader, ResponseHeader } from "../../assembly/kafka/header";
import { Visitor, walk } from "../../assembly/kafka/walker";
import { rewriteEntities, Renamer } from "../../assembly/kafka/entity_rewriter";
import { ByteBuffer } from "../../assembly/kafka/byte_buffer";
import { Entity } from "../../assembly/kafka/layout";
import { Acl, Operation, ResourceType, parseAcl } from "../../assembly/policy/acl";
import { parseJson } from "../../assembly/policy/json";
import { fromHex } from "../assembly/helpers";

const frames: ByteBuffer[] = [];
const bodies: i32[] = [];
const PREFIX = String.UTF8.encode("tenant.");

class AddPrefix extends Renamer {
  rename(entity: i32, ptr: usize, len: i32, out: ByteBuffer): bool {
    out.append(changetype<usize>(PREFIX), PREFIX.byteLength);
    out.append(ptr, len);
    return true;
  }
}

// Checks every topic and group a frame names against a small rule set, as the authz stage does.
class Authorize extends Visitor {
  acl: Acl;
  allowed: i32 = 0;
  constructor() {
    super();
    this.acl = parseAcl(parseJson(`{"rules": [
      {"principal": "User:bench", "permission": "allow", "resource": "topic", "pattern": "prefixed", "name": "bench", "operations": ["write", "read"]},
      {"principal": "User:bench", "permission": "allow", "resource": "group", "name": "*", "operations": ["read"]},
      {"principal": "User:other", "permission": "deny", "resource": "topic", "name": "*", "operations": ["all"]}]}`).value!).acl!;
  }
  entity(entity: i32, lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
    if (len < 0) return;
    if (entity == Entity.TopicName && this.acl.authorize("User:bench", ResourceType.Topic, valuePtr, len, Operation.Write)) this.allowed++;
    if (entity == Entity.GroupId && this.acl.authorize("User:bench", ResourceType.Group, valuePtr, len, Operation.Read)) this.allowed++;
  }
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
const authorize = new Authorize();
const out = new ByteBuffer();
const renamer = new AddPrefix();

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

export function authorizeAll(rounds: i32): i32 {
  authorize.allowed = 0;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i];
      walk(FRAME_INFO[i * 3 + 1], FRAME_INFO[i * 3 + 2], FRAME_INFO[i * 3] == 1, f.ptr + <usize>bodies[i], f.len - bodies[i], authorize);
    }
  }
  return authorize.allowed;
}

export function rewriteAll(rounds: i32): i32 {
  let sum = 0;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i];
      sum += rewriteEntities(f.ptr, f.len, bodies[i], FRAME_INFO[i * 3 + 1], FRAME_INFO[i * 3 + 2], FRAME_INFO[i * 3] == 1, renamer, out);
    }
  }
  return sum;
}
