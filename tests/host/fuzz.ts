// Fuzzing the filter through the test host: real captured frames (both clients, 25 API
// versions), mutated (bytes, size prefixes, versions, API keys, truncation, duplication,
// tagged fields, injected names), pipelined and split at random TCP boundaries, under four policies.
// Oracles, for every case:
// - the module never traps and never asks Envoy for what it cannot do;
// - under the observe-free policy (metrics only), what reaches the broker is exactly the whole
//   frames of the input up to the first one the filter refused, unchanged, and the connection is
//   closed iff a frame was refused; responses likewise towards the client;
// - under the ACL policy nothing naming the refused topic ever reaches the broker;
// - under every policy the forwarded bytes are whole frames;
// - the counters agree with the bytes: under the metrics policy requests_forwarded (responses_
//   forwarded) grows by the number of frames that went on, and a close is counted as a refusal;
// - no per-connection state outlives its connection (connections_active back where it was).
import { FRAME_COUNT, FRAME_HEX, FRAME_INFO } from "../assembly/fixtures/captured_frames.ts";
import { ProxyWasmHost, Trap } from "./proxy_wasm_host.ts";
import { frameBoundaries, frames, requestFrame } from "../harness/raw_client.ts";

export const POLICIES: Record<string, object> = {
  metrics: {},
  acls: {
    principal_sources: ["client_id"],
    acls: {
      rules: [
        { principal: "*", permission: "allow", resource: "topic", name: "*", operations: ["all"] },
        { principal: "*", permission: "deny", resource: "topic", name: "secrets", operations: ["all"] },
        { principal: "*", permission: "allow", resource: "group", name: "*", operations: ["all"] },
        { principal: "*", permission: "allow", resource: "transactional_id", name: "*", operations: ["all"] },
        // Not CREATE: as in Kafka, CREATE on the cluster would allow creating any topic, the
        // refused one too.
        { principal: "*", permission: "allow", resource: "cluster",
          operations: ["describe", "alter", "cluster_action", "describe_configs", "alter_configs", "idempotent_write"] },
      ],
    },
  },
  // The kafkajs captures' client id: their names get the prefix.
  rewrite: { principal_sources: ["client_id"], rewrite: { tenants: [{ principal: "User:kafkajs-capture", prefix: "t." }] } },
};
// Every stage at once: entries dropped and names renamed in the same frames.
POLICIES.combined = { ...POLICIES.acls, rewrite: (POLICIES.rewrite as { rewrite: object }).rewrite };

interface Captured {
  isRequest: boolean;
  apiKey: number;
  version: number;
  bytes: Buffer;
}

export const CAPTURED: Captured[] = Array.from({ length: FRAME_COUNT as number }, (_, i) => ({
  isRequest: FRAME_INFO[i * 3] === 1,
  apiKey: FRAME_INFO[i * 3 + 1] as number,
  version: FRAME_INFO[i * 3 + 2] as number,
  bytes: Buffer.from(FRAME_HEX[i] as string, "hex"),
}));

// xorshift32: deterministic per seed, so every failure replays.
export class Rng {
  constructor(private s: number) {
    if (this.s === 0) this.s = 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return this.next() % n;
  }
  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }
}

// Its first occurrence: later ones may be inside record values, which no ACL looks at.
const CAPTURED_TOPIC = /(?<![a-z-])capture(?![a-z-])/;

function mutate(frame: Buffer, r: Rng): Buffer {
  const b = Buffer.from(frame);
  switch (r.below(10)) {
    case 0: // flip bytes anywhere
      for (let i = 1 + r.below(3); i > 0; i--) b[r.below(b.length)] ^= 1 << r.below(8);
      return b;
    case 1: // size prefix off by a little, or absurd
      b.writeInt32BE(r.chance(0.5) ? b.readInt32BE(0) + r.below(9) - 4 : (r.next() | 0), 0);
      return b;
    case 2: // another version of the same API, maybe one that does not exist
      if (b.length >= 8) b.writeInt16BE(r.below(24) - 2, 6);
      return b;
    case 3: // another API key
      if (b.length >= 6) b.writeInt16BE(r.below(100) - 3, 4);
      return b;
    case 4: // cut short, size prefix kept (the next frame's bytes complete it)
      return b.subarray(0, 4 + r.below(Math.max(1, b.length - 4)));
    case 5: // cut short with a matching size prefix
      {
        const cut = Buffer.from(b.subarray(0, 8 + r.below(Math.max(1, b.length - 8))));
        cut.writeInt32BE(cut.length - 4, 0);
        return cut;
      }
    case 6: // bytes inserted into the body, size prefix adjusted
      {
        const at = 8 + r.below(Math.max(1, b.length - 8));
        const junk = Buffer.from(Array.from({ length: 1 + r.below(8) }, () => r.below(256)));
        const out = Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]);
        out.writeInt32BE(out.length - 4, 0);
        return out;
      }
    case 7: // tagged fields (flexible versions) where the frame has an empty tag buffer
      return withTaggedFields(b, r);
    case 8: // the captured topic `capture` (not the client id or group ids around it) made one
      // the ACL policy refuses, of the same length
      return Buffer.from(b.toString("latin1").replace(CAPTURED_TOPIC, "secrets"), "latin1");
    default: // a count or length field (any 4-byte window) set to something large or negative
      if (b.length > 16) b.writeInt32BE(r.chance(0.5) ? -2 - r.below(100) : r.below(1 << 20), 12 + r.below(b.length - 16));
      return b;
  }
}

function uvarint(n: number): number[] {
  const out: number[] = [];
  for (n >>>= 0; n >= 0x80; n >>>= 7) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return out;
}

// Replaces an empty tag buffer (a 0 byte) of a request header v2 (after the client id) or at
// the end of the body with 1-3 tagged fields: tags known or not, in order or not, sizes that
// fit or lie. A frame that is not flexible just gets junk where that 0 was.
function withTaggedFields(b: Buffer, r: Rng): Buffer {
  const clientIdLen = b.length >= 14 ? b.readInt16BE(12) : -1;
  const header = 14 + Math.max(0, clientIdLen);
  const at = r.chance(0.5) && header < b.length && b[header] === 0 ? header : b.length - 1;
  if (at < 8 || b[at] !== 0) return b;
  const fields: number[] = [];
  const n = 1 + r.below(3);
  fields.push(...uvarint(r.chance(0.1) ? r.next() : n));
  for (let i = 0; i < n; i++) {
    const size = r.chance(0.9) ? r.below(17) : r.next();
    fields.push(...uvarint(r.chance(0.7) ? i + r.below(4) : r.next()), ...uvarint(size));
    for (let j = Math.min(size, 16); j > 0; j--) fields.push(r.below(256));
  }
  const out = Buffer.concat([b.subarray(0, at), Buffer.from(fields), b.subarray(at + 1)]);
  out.writeInt32BE(out.length - 4, 0);
  return out;
}

function split(stream: Buffer, r: Rng): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  const n = 1 + r.below(6);
  for (let i = 0; i < n && at < stream.length; i++) {
    const len = i === n - 1 ? stream.length - at : 1 + r.below(Math.max(1, stream.length - at));
    chunks.push(stream.subarray(at, at + len));
    at += len;
  }
  if (at < stream.length) chunks.push(stream.subarray(at));
  return chunks;
}

export interface CaseResult {
  ok: boolean;
  // The input asked the broker about the topic the ACL policy refuses (so the oracle had work).
  namedRefused?: boolean;
  problem?: string;
  input?: Buffer;
}

const requests = CAPTURED.filter((c) => c.isRequest);
const responses = CAPTURED.filter((c) => !c.isRequest);

// One fuzz case on a fresh connection: `seed` decides everything.
export function runCase(host: ProxyWasmHost, policy: string, seed: number): CaseResult {
  const r = new Rng(seed);
  const frames: Buffer[] = [];
  for (let i = 1 + r.below(4); i > 0; i--) {
    const f = requests[r.below(requests.length)].bytes;
    frames.push(r.chance(0.7) ? mutate(f, r) : f);
  }
  const input = Buffer.concat(frames);
  return checkRequests(host, policy, input, split(input, r));
}

const count = (host: ProxyWasmHost, name: string) => Number(host.metric(`kafka_proxy.${name}`) ?? 0n);
// The counters a refusal that closes the connection moves (one of them at least).
const REFUSALS = ["requests_malformed", "requests_unsupported_version", "requests_oversized", "connections_closed_protocol_error"];
const refusals = (host: ProxyWasmHost) => REFUSALS.reduce((n, name) => n + count(host, name), 0);

// APIs whose requests may carry the refused topic's name past the ACLs, as with a broker:
// JoinGroup and SyncGroup only inside the consumer protocol's opaque bytes (the topics are
// checked when the member fetches or commits); AlterReplicaLogDirs, DescribeLogDirs,
// ElectLeaders, AlterPartitionReassignments and ListPartitionReassignments are checked on the
// cluster, which the policy allows.
const NOT_BY_TOPIC = new Set([11, 14, 34, 35, 43, 45, 46]);

// Whether a forwarded request names the topic the ACL policy refuses. A Produce's record sets
// are data (a mutated frame may swallow the next one into them), so for Produce only its topic
// names count.
function namesRefusedTopic(sent: Buffer, ends: number[]): boolean {
  let at = 0;
  for (const end of ends) {
    const frame = sent.subarray(at, end);
    at = end;
    const apiKey = frame.length >= 6 ? frame.readInt16BE(4) : -1;
    if (NOT_BY_TOPIC.has(apiKey)) continue;
    const names = apiKey === 0 ? produceTopicNames(frame) : null;
    if (names === null ? frame.includes("secrets") : names.some((n) => n.includes("secrets"))) return true;
  }
  return false;
}

// The topic names of a Produce request v3-v12 (null when it does not parse as one).
function produceTopicNames(f: Buffer): string[] | null {
  if (f.length < 14) return null;
  const version = f.readInt16BE(6);
  if (version < 3 || version > 12) return null;
  const flexible = version >= 9;
  let p = 12;
  const need = (n: number) => {
    if (p + n > f.length) throw new RangeError("short");
  };
  const uvarint = () => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      need(1);
      const b = f[p++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  };
  const skipTags = () => {
    for (let n = uvarint(); n > 0; n--) {
      uvarint();
      p += uvarint();
    }
  };
  // A string, or a nullable one / bytes (length -1 or compact 0 = null).
  const length = (wide: boolean) => {
    if (flexible) return uvarint() - 1;
    need(wide ? 4 : 2);
    const n = wide ? f.readInt32BE(p) : f.readInt16BE(p);
    p += wide ? 4 : 2;
    return n;
  };
  const text = () => {
    const n = length(false);
    need(Math.max(0, n));
    const t = f.subarray(p, p + Math.max(0, n)).toString("latin1");
    p += Math.max(0, n);
    return t;
  };
  const count = () => {
    if (flexible) return uvarint() - 1;
    need(4);
    p += 4;
    return f.readInt32BE(p - 4);
  };
  try {
    need(2);
    const clientId = f.readInt16BE(p);
    p += 2 + Math.max(0, clientId);
    if (flexible) skipTags();
    text(); // transactional id
    p += 6; // acks, timeout
    const names: string[] = [];
    for (let t = count(); t > 0; t--) {
      names.push(text());
      for (let q = count(); q > 0; q--) {
        p += 4;
        p += Math.max(0, length(true));
        if (flexible) skipTags();
      }
      if (flexible) skipTags();
    }
    return p <= f.length ? names : null;
  } catch {
    return null;
  }
}

// The only changes the pass-through policy makes to a request: bytes after its message are
// stripped (a shorter frame whose size prefix says so, the rest as sent), and an ApiVersions
// request of a version the filter does not know goes up as its ApiVersions v0 stand-in.
function sameRequest(sent: Buffer, input: Buffer): boolean {
  if (sent.equals(input)) return true;
  if (sent.length < input.length && sent.readInt32BE(0) === sent.length - 4 &&
    sent.subarray(4).equals(input.subarray(4, sent.length))) return true;
  const standIn = Buffer.alloc(14);
  standIn.writeInt32BE(10, 0);
  standIn.writeInt16BE(18, 4);
  standIn.writeInt32BE(input.readInt32BE(8), 8);
  standIn.writeInt16BE(-1, 12);
  return input.readInt16BE(4) === 18 && sent.equals(standIn);
}

export function checkRequests(host: ProxyWasmHost, policy: string, input: Buffer, chunks: Buffer[]): CaseResult {
  const active = count(host, "connections_active");
  const forwarded = count(host, "requests_forwarded");
  const refused = refusals(host);
  const c = host.connect();
  // Whether the filter closed the connection (host.close below marks it closed in any case).
  let closedByFilter = false;
  try {
    for (const chunk of chunks) host.downstream(c, chunk);
    closedByFilter = c.closed;
  } catch (e) {
    if (e instanceof Trap) return { ok: false, problem: e.message, input };
    throw e;
  } finally {
    host.close(c);
  }
  if (c.hostErrors.length > 0) return { ok: false, problem: c.hostErrors.join("; "), input };
  if (count(host, "connections_active") !== active) return { ok: false, problem: "connections_active did not return after the close", input };
  const sent = Buffer.concat(c.toUpstream);
  const sentEnds = frameBoundaries(sent);
  if ((sentEnds.at(-1) ?? 0) !== sent.length) return { ok: false, problem: "forwarded bytes are not whole frames", input };
  if ((policy === "acls" || policy === "combined") && namesRefusedTopic(sent, sentEnds)) {
    return { ok: false, problem: "a refused topic reached the broker", input };
  }
  if (policy === "metrics") {
    const inFrames = frames(input);
    const sentFrames = frames(sent);
    if (sentFrames.length > inFrames.length || sentFrames.some((f, i) => !sameRequest(f, inFrames[i]))) {
      return { ok: false, problem: "forwarded bytes differ from the input", input };
    }
    // Not closed: every whole frame went on. Closed: a frame was refused right after what went on.
    if (!closedByFilter && sentFrames.length !== inFrames.length) return { ok: false, problem: "a whole frame was held back without closing", input };
    if (count(host, "requests_forwarded") - forwarded !== sentEnds.length) return { ok: false, problem: "requests_forwarded differs from the frames forwarded", input };
    if (closedByFilter && refusals(host) === refused) return { ok: false, problem: "closed without counting a refusal", input };
  }
  return { ok: true, namedRefused: namesRefusedTopic(input, frameBoundaries(input)) };
}

// Responses: one captured request goes up, then its captured response (its correlation id made
// to match), mutated and split, comes back. Policies that edit responses (hidden or merged
// entries, answers) are held to whole frames; the metrics policy to the exact bytes.
export function runResponseCase(host: ProxyWasmHost, policy: string, seed: number): CaseResult {
  const r = new Rng(seed);
  const resp = responses[r.below(responses.length)];
  const req = requests.find((q) => q.apiKey === resp.apiKey && q.version === resp.version);
  if (!req) return { ok: true };
  const active = count(host, "connections_active");
  const forwarded = count(host, "responses_forwarded");
  const c = host.connect();
  const answer = Buffer.from(resp.bytes);
  answer.writeInt32BE(req.bytes.readInt32BE(8), 4);
  const mutated = r.chance(0.8) ? mutate(answer, r) : answer;
  try {
    host.downstream(c, req.bytes);
    for (const chunk of split(mutated, r)) host.upstream(c, chunk);
  } catch (e) {
    if (e instanceof Trap) return { ok: false, problem: e.message, input: Buffer.concat([req.bytes, mutated]) };
    throw e;
  } finally {
    host.close(c);
  }
  const back = Buffer.concat(c.toDownstream);
  const input = Buffer.concat([req.bytes, mutated]);
  if (c.hostErrors.length > 0) return { ok: false, problem: c.hostErrors.join("; "), input };
  if (count(host, "connections_active") !== active) return { ok: false, problem: "connections_active did not return after the close", input };
  if ((frameBoundaries(back).at(-1) ?? 0) !== back.length) return { ok: false, problem: "forwarded response bytes are not whole frames", input };
  // ApiVersions responses are narrowed to the filter's versions whatever the policy.
  if (policy !== "metrics" || resp.apiKey === 18) return { ok: true };
  const ends = frameBoundaries(mutated);
  if (!mutated.subarray(0, back.length).equals(back) || (back.length > 0 && !ends.includes(back.length))) {
    return { ok: false, problem: "a response was forwarded altered or in part", input };
  }
  if (count(host, "responses_forwarded") - forwarded !== frameBoundaries(back).length) {
    return { ok: false, problem: "responses_forwarded differs from the frames forwarded", input };
  }
  return { ok: true };
}

const str16 = (s: string) => {
  const b = Buffer.alloc(2 + s.length);
  b.writeInt16BE(s.length, 0);
  b.write(s, 2);
  return b;
};

// Resource pressure (issue 12, items 10 and 11), one case on fresh connections:
// - a Metadata request naming the refused topic thousands of times among allowed ones (past
//   5,000 refusals the filter closes the connection; below, none of them reaches the broker);
// - many connections each holding an unfinished frame of a random announced size: the excess is
//   closed, nothing of them is forwarded, and a small request on another connection still passes.
export function runPressureCase(host: ProxyWasmHost, policy: string, seed: number): CaseResult {
  const r = new Rng(seed);
  if (r.chance(0.5)) {
    const n = r.chance(0.7) ? 1 + r.below(3000) : 4000 + r.below(4000);
    const names: Buffer[] = [];
    let refused = 0;
    for (let i = 0; i < n; i++) {
      const deny = r.chance(0.9);
      if (deny) refused++;
      names.push(str16(deny ? "secrets" : r.chance(0.5) ? "capture" : `t${r.below(1000)}`));
    }
    const countBytes = Buffer.alloc(4);
    countBytes.writeInt32BE(n, 0);
    const version = 1 + r.below(8);
    const tail = version >= 4 ? Buffer.from([r.below(2)]) : Buffer.alloc(0);
    const input = requestFrame(3, version, 1, "pressure", Buffer.concat([countBytes, ...names, tail]));
    const closes = count(host, "connections_closed_protocol_error");
    const res = checkRequests(host, policy, input, split(input, r));
    if (!res.ok) return res;
    const denyPolicy = policy === "acls" || policy === "combined";
    if (denyPolicy && refused > 5000 && count(host, "connections_closed_protocol_error") === closes) {
      return { ok: false, problem: "more than 5,000 refused entries were not refused", input };
    }
    return res;
  }
  const active = count(host, "connections_active");
  const hogs = [];
  try {
    for (let k = 2 + r.below(20); k > 0; k--) {
      const c = host.connect();
      const head = Buffer.alloc(4 + r.below(65536));
      head.writeInt32BE(16 + r.below(8 * 1048576 - 16), 0);
      for (const chunk of split(head, r)) host.downstream(c, chunk);
      if (c.toUpstream.length > 0) return { ok: false, problem: "part of an unfinished frame was forwarded", input: head };
      hogs.push(c);
    }
    const probe = host.connect();
    const req = requestFrame(3, 1, 9, "probe", Buffer.from([0, 0, 0, 0]));
    host.downstream(probe, req);
    const passed = !probe.closed && Buffer.concat(probe.toUpstream).equals(req);
    host.close(probe);
    if (!passed) return { ok: false, problem: "a small request was refused while frames were held", input: req };
  } catch (e) {
    if (e instanceof Trap) return { ok: false, problem: e.message };
    throw e;
  } finally {
    for (const c of hogs) host.close(c);
  }
  if (count(host, "connections_active") !== active) return { ok: false, problem: "connections_active did not return after the close" };
  return { ok: true };
}
