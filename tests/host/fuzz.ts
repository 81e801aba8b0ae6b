// Fuzzing the filter through the test host: real captured frames (both clients, 25 API
// versions), mutated (bytes, size prefixes, versions, API keys, truncation, duplication,
// tagged fields, injected names), pipelined and split at random TCP boundaries, under four policies.
// Oracles, for every case:
// - the module never traps and never asks Envoy for what it cannot do;
// - under the observe-free policy (metrics only), what reaches the broker is exactly the whole
//   frames of the input up to the first one the filter refused, unchanged, and the connection is
//   closed iff a frame was refused; responses likewise towards the client;
// - under the ACL policy nothing naming the refused topic ever reaches the broker;
// - under every policy the forwarded bytes are whole frames, except a Produce request decided
//   before its last record set arrived (issue 14) and a fetch response, which go on as they come;
// - whole requests are held back only while an unfinished one behind them waits in the buffer;
// - the counters agree with the bytes: under the metrics policy requests_forwarded (responses_
//   forwarded) grows by the number of frames that went on, and a close is counted as a refusal;
// - no per-connection state outlives its connection (connections_active back where it was);
// - the module's ABI byte counters (abi_bytes_read, abi_bytes_written) equal the bytes the host
//   copied in proxy_get_buffer_bytes and proxy_set_buffer_bytes, so the copy ratio the bench
//   reports cannot be under-reported (every case, every class).
// Besides, resource pressure (runPressureCase) and the protocol classes of issue 12 (runSaslCase,
// runListsCase, runRegexCase, runSessionCase: valid requests in hostile orders and values, a fake
// broker answering, an oracle each, described with each).
import { FRAME_COUNT, FRAME_HEX, FRAME_INFO } from "../spec/fixtures/captured_frames.ts";
import { type Connection, ProxyWasmHost, Trap } from "./proxy_wasm_host.ts";
import { frameBoundaries, frames, requestFrame, str, uvarint } from "../harness/kafka_bytes.ts";
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from "../harness/kafka_codec.ts";

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

// The module's ABI byte counters against what the host copied for the data buffers (all
// connections since the host started); null when they agree. The module flushes its counts at
// the end of every data callback, so they agree between callbacks.
export function abiCountsProblem(host: ProxyWasmHost): string | null {
  const read = count(host, "abi_bytes_read");
  const written = count(host, "abi_bytes_written");
  if (read === host.abiBytes.read && written === host.abiBytes.written) return null;
  return `abi byte counters (read ${read}, written ${written}) differ from the host's copies (read ${host.abiBytes.read}, written ${host.abiBytes.written})`;
}

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

// Whether the bytes from `at` on are the start of a Produce request (API key 0).
function partOfProduce(sent: Buffer, at: number): boolean {
  return sent.length - at >= 6 && sent.readInt16BE(at + 4) === 0;
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
  const abi = abiCountsProblem(host);
  if (abi !== null) return { ok: false, problem: abi, input };
  const sent = Buffer.concat(c.toUpstream);
  const sentEnds = frameBoundaries(sent);
  // A request that went on in part: a Produce decided before its end (issue 14).
  const partial = (sentEnds.at(-1) ?? 0) !== sent.length;
  if (partial && !partOfProduce(sent, sentEnds.at(-1) ?? 0)) return { ok: false, problem: "forwarded bytes are not whole frames", input };
  if ((policy === "acls" || policy === "combined") && namesRefusedTopic(sent, sentEnds)) {
    return { ok: false, problem: "a refused topic reached the broker", input };
  }
  if (policy === "metrics") {
    const inFrames = frames(input);
    const sentFrames = frames(sent);
    if (sentFrames.length > inFrames.length || sentFrames.some((f, i) => !sameRequest(f, inFrames[i]))) {
      return { ok: false, problem: "forwarded bytes differ from the input", input };
    }
    const inEnds = frameBoundaries(input);
    const inEnd = inEnds.at(-1) ?? 0;
    const partStart = sentFrames.length === 0 ? 0 : inEnds[sentFrames.length - 1];
    const part = sent.subarray(sentEnds.at(-1) ?? 0);
    if (partial && !input.subarray(partStart, partStart + part.length).equals(part)) {
      return { ok: false, problem: "the part of a request that went on differs from the input", input };
    }
    // Not closed: every whole frame went on, unless an unfinished request behind them holds
    // them in the buffer (then the input ends inside a frame). Closed: a frame was refused
    // right after what went on.
    const unfinished = inEnd !== input.length;
    if (!closedByFilter && sentFrames.length !== inFrames.length && !unfinished) return { ok: false, problem: "a whole frame was held back without closing", input };
    // Counted as decided (held ones included); a close drops the callback's count.
    const counted = count(host, "requests_forwarded") - forwarded;
    // Not closed, every whole frame was decided (held ones too), and the unfinished one at the
    // end if part of it went on.
    const decided = inFrames.length + (sent.length > inEnd ? 1 : 0);
    if (closedByFilter ? counted < sentEnds.length : counted !== decided) {
      return { ok: false, problem: "requests_forwarded differs from the frames forwarded", input };
    }
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
  const abi = abiCountsProblem(host);
  if (abi !== null) return { ok: false, problem: abi, input };
  // Fetch responses go on as they arrive (issue 14): one may have gone in part.
  const fetch = resp.apiKey === 1 || resp.apiKey === 78;
  if (!fetch && (frameBoundaries(back).at(-1) ?? 0) !== back.length) return { ok: false, problem: "forwarded response bytes are not whole frames", input };
  // ApiVersions responses are narrowed to the filter's versions whatever the policy.
  if (policy !== "metrics" || resp.apiKey === 18) return { ok: true };
  const ends = frameBoundaries(mutated);
  if (!mutated.subarray(0, back.length).equals(back) || (back.length > 0 && !fetch && !ends.includes(back.length))) {
    return { ok: false, problem: "a response was forwarded altered or in part", input };
  }
  if (count(host, "responses_forwarded") - forwarded !== ends.filter((e) => e <= back.length).length) {
    return { ok: false, problem: "responses_forwarded differs from the frames forwarded", input };
  }
  return { ok: true };
}

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
      names.push(str(deny ? "secrets" : r.chance(0.5) ? "capture" : `t${r.below(1000)}`));
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
  const abi = abiCountsProblem(host);
  if (abi !== null) return { ok: false, problem: abi };
  return { ok: true };
}


// ---------------------------------------------------------------------------------------------
// Protocol classes (issue 12): whole, valid requests in hostile orders and values, a fake broker
// answering what the filter forwards (encoded and decoded by Kafka's schemas,
// tests/harness/kafka_codec.ts), and an oracle per class that looks only at what reached the
// broker and what the client got back.

// The classes' policies. `sasl` keeps the default principal sources (all four), under which
// pipelined requests were once judged by their client id.
export const CLASS_POLICIES: Record<string, object> = {
  sasl: {
    acls: {
      super_users: ["User:admin"],
      rules: [{ principal: "User:alice", permission: "allow", resource: "topic", name: "orders", operations: ["all"] }],
    },
  },
  lists: POLICIES.acls,
  regex: { principal_sources: ["client_id"], rewrite: { tenants: [{ principal: "User:tenantA", prefix: "tenantA." }] } },
  sessions: POLICIES.acls,
};
export const CLASSES = Object.keys(CLASS_POLICIES);

type Request = ReturnType<typeof decodeRequest>;

// The broker's side of one connection: the requests the filter forwarded since the last look,
// and answers to them in order (default: every field zero, empty or null, which also answers the
// filter's ApiVersions v0 stand-in for a request it answers itself).
class FakeBroker {
  private seen = 0;
  constructor(private host: ProxyWasmHost, private c: Connection) {}
  take(): Request[] {
    const all = frames(Buffer.concat(this.c.toUpstream));
    const fresh = all.slice(this.seen).map((f) => decodeRequest(f));
    this.seen = all.length;
    return fresh;
  }
  reply(qs: Request[], answer: (q: Request) => object = () => ({})): void {
    const out = qs.map((q) => encodeResponse(q.apiKey, q.version, q.correlationId, answer(q)));
    if (out.length > 0 && !this.c.closed) this.host.upstream(this.c, Buffer.concat(out));
  }
}

// What the client got back, decoded, by correlation id (`sent`: API key and version per id).
function answers(c: Connection, sent: Map<number, [number, number]>): Map<number, any> {
  const out = new Map<number, any>();
  for (const f of frames(Buffer.concat(c.toDownstream))) {
    const kv = sent.get(f.readInt32BE(4));
    if (kv) out.set(f.readInt32BE(4), decodeResponse(kv[0], kv[1], f).body);
  }
  return out;
}

// Runs `body` on connections it opens through `open`; traps, host errors and per-connection state
// that outlives its connection are failures too. The input of a failure is what the client sent.
function guarded(host: ProxyWasmHost, body: (open: () => Connection) => string | null): CaseResult {
  const active = count(host, "connections_active");
  const conns: Connection[] = [];
  const open = () => {
    const c = host.connect();
    conns.push(c);
    return c;
  };
  let problem: string | null;
  try {
    problem = body(open);
  } catch (e) {
    if (!(e instanceof Trap)) throw e;
    problem = e.message;
  }
  try {
    for (const c of conns) host.close(c);
  } catch (e) {
    if (!(e instanceof Trap)) throw e;
    problem ??= e.message;
  }
  problem ??= conns.flatMap((c) => c.hostErrors).join("; ") || null;
  if (problem === null && count(host, "connections_active") !== active) problem = "connections_active did not return after the close";
  problem ??= abiCountsProblem(host);
  return problem === null ? { ok: true } : { ok: false, problem, input: Buffer.concat(conns.flatMap((c) => sentBy.get(c) ?? [])) };
}
// What each connection's client sent (for the failure's record).
const sentBy = new WeakMap<Connection, Buffer[]>();
function send(host: ProxyWasmHost, c: Connection, bytes: Buffer, r: Rng): void {
  if (!sentBy.has(c)) sentBy.set(c, []);
  sentBy.get(c)!.push(bytes);
  for (const chunk of split(bytes, r)) host.downstream(c, chunk);
}

// Pipelined SASL legs: SaslHandshake/SaslAuthenticate (PLAIN, naming alice, who may use
// `orders`, the super user admin, or mallory, who may use nothing), DeleteTopics naming `orders`
// and/or `secrets` and Metadata v4 naming no topic, all with client id `admin`, written in random
// groups, in any order; the fake broker follows Kafka's order of legs, accepts or refuses the
// login at random and sometimes answers only after the client's next group.
// Oracle, as the broker sees it: until it accepted a login, no request but ApiVersions/SASL goes
// up while a login it got is unanswered; once a login went up, a forwarded request names
// `secrets` only if the login the broker accepted was admin's, and `orders` only if it was
// admin's or alice's (before any login, the client id `admin` counts).
export function runSaslCase(host: ProxyWasmHost, seed: number): CaseResult {
  const r = new Rng(seed);
  return guarded(host, (open) => {
    const c = open();
    const broker = new FakeBroker(host, c);
    let corr = 0;
    let started = false;
    let accepted: string | null = null;
    let state: "handshake" | "authenticate" | "done" | "failed" = "handshake";
    let pending = 0;
    // The user each forwarded SaslAuthenticate names (by correlation id).
    const users = new Map<number, string>();
    // Forwarded, not answered yet.
    const held: Request[] = [];
    for (let group = 1 + r.below(5); group > 0 && !c.closed; group--) {
      const out: Buffer[] = [];
      const user = () => ["alice", "admin", "mallory"][r.below(3)];
      const authenticate = (name: string) => encodeRequest(36, r.below(3), ++corr, "admin", { AuthBytes: Buffer.from(`\0${name}\0pw`) });
      for (let n = 1 + r.below(3); n > 0; n--) {
        const what = r.below(20);
        if (what < 8) {
          // A login, sometimes with a second leg naming someone else in the same write (issue
          // 12, item 1).
          out.push(encodeRequest(17, 1, ++corr, "admin", { Mechanism: "PLAIN" }), authenticate(user()));
          if (r.chance(0.5)) out.push(authenticate(user()));
        } else if (what < 11) out.push(r.chance(0.5) ? encodeRequest(17, 1, ++corr, "admin", { Mechanism: "PLAIN" }) : authenticate(user()));
        else if (what < 14) {
          // Needs no ACL: goes up for anyone, so only the pipelining rule keeps it back.
          out.push(encodeRequest(3, 4, ++corr, "admin", { Topics: [], AllowAutoTopicCreation: false }));
        } else {
          const names = r.chance(0.5) ? ["secrets"] : r.chance(0.5) ? ["orders"] : ["orders", "secrets"];
          out.push(encodeRequest(20, 1 + r.below(4), ++corr, "admin", { TopicNames: names, TimeoutMs: 1000 }));
        }
      }
      send(host, c, Buffer.concat(out), r);
      const forwarded = broker.take();
      for (const q of forwarded) {
        if (q.apiKey === 17 || q.apiKey === 36) {
          started = true;
          pending++;
          if (q.apiKey === 36) users.set(q.correlationId, q.body.AuthBytes.toString().split("\0")[1]);
          continue;
        }
        if (q.apiKey === 18) continue;
        // Once the broker accepted a login the principal is final (a later login changes nothing;
        // Kafka closes a re-authentication naming anyone else), so only the first login's
        // pipelining matters.
        if (pending > 0 && accepted === null) return `request ${q.correlationId} went up while a login awaited its answer`;
        const principal = started ? accepted : "admin";
        const names: string[] = q.body.TopicNames ?? q.body.Topics?.map((t: any) => t.Name) ?? [];
        if (names.includes("secrets") && principal !== "admin") return `secrets went up as ${principal}`;
        if (names.includes("orders") && principal !== "admin" && principal !== "alice") return `orders went up as ${principal}`;
      }
      // The broker answers now, or only after the client's next group (which then pipelines
      // behind these logins).
      if (group === 1 || r.chance(0.6)) {
        const due = [...held, ...forwarded];
        held.length = 0;
        broker.reply(due, (q) => {
          // Kafka's SaslServerAuthenticator: a handshake, then one PLAIN leg, accepted or not
          // (Kafka then closes; this broker goes on answering, with errors). Anything out of
          // that order is ILLEGAL_SASL_STATE (34); a later handshake cannot change the principal.
          if (q.apiKey === 17) {
            const ok = state === "handshake";
            if (ok) state = "authenticate";
            return { ErrorCode: ok ? 0 : 34, Mechanisms: ["PLAIN"] };
          }
          if (q.apiKey === 20) return { Responses: q.body.TopicNames.map((name: string) => ({ Name: name })) };
          if (q.apiKey !== 36) return {};
          if (state !== "authenticate") return { ErrorCode: 34, ErrorMessage: "Unexpected SaslAuthenticate" };
          const ok = r.chance(0.5);
          state = ok ? "done" : "failed";
          if (ok) accepted = users.get(q.correlationId)!;
          return ok ? { AuthBytes: Buffer.alloc(0) } : { ErrorCode: 58, ErrorMessage: "Authentication failed" };
        });
        pending = 0;
      } else held.push(...forwarded);
    }
    return null;
  });
}

// What the classes' cases did, for the tests to check that each oracle had work: patterns that
// went up and patterns answered 128, Fetches that went up on their own session, Fetches naming a
// foreign session that were answered.
export const classOutcomes = { patternsForwarded: 0, patternsRefused: 0, ownSessionsForwarded: 0, foreignSessionsRefused: 0 };

// Lists that the ACLs empty: Metadata, DescribeTopicPartitions and OffsetFetch (v1-9, one or two
// groups in v8+) naming the refused topic, once or more, sometimes next to an allowed one,
// one to three of them pipelined. An empty or null list means "all topics" in some of them
// (Metadata v0 empty, v1+ null, DescribeTopicPartitions empty, OffsetFetch null), so the
// oracle: what goes up names no refused topic and keeps every list the client gave non-null and
// (but Metadata v1+, where empty asks for none) non-empty, a request whose every name was
// refused gets an answer from the filter, the connection open, and wherever an answer names the
// refused topic it carries an error.
export function runListsCase(host: ProxyWasmHost, seed: number): CaseResult {
  const r = new Rng(seed);
  return guarded(host, (open) => {
    const c = open();
    const broker = new FakeBroker(host, c);
    const names = () => Array.from({ length: 1 + r.below(3) }, () => (r.chance(0.8) ? "secrets" : "capture"));
    const sent = new Map<number, [number, number]>();
    const lists = new Map<number, string[][]>();
    const out: Buffer[] = [];
    for (let id = 1 + r.below(3); id > 0; id--) {
      const kind = r.below(3);
      let frame: Buffer;
      let given: string[][];
      if (kind === 0) {
        const v = r.chance(0.5) ? 0 : r.below(13);
        given = [names()];
        frame = encodeRequest(3, v, id, "fuzz", { Topics: given[0].map((Name) => ({ Name })), AllowAutoTopicCreation: r.chance(0.5) });
        sent.set(id, [3, v]);
      } else if (kind === 1) {
        given = [names()];
        frame = encodeRequest(75, 0, id, "fuzz", { Topics: given[0].map((Name) => ({ Name })), ResponsePartitionLimit: 2000, Cursor: null });
        sent.set(id, [75, 0]);
      } else {
        const v = 1 + r.below(9);
        const topics = (t: string[]) => t.map((Name) => ({ Name, PartitionIndexes: [0] }));
        given = v >= 8 ? Array.from({ length: 1 + r.below(2) }, names) : [names()];
        frame = encodeRequest(9, v, id, "fuzz", v >= 8
          ? { Groups: given.map((t, g) => ({ GroupId: `g${g}`, MemberId: null, MemberEpoch: -1, Topics: topics(t) })) }
          : { GroupId: "g", Topics: topics(given[0]) });
        sent.set(id, [9, v]);
      }
      lists.set(id, given);
      out.push(frame);
    }
    send(host, c, Buffer.concat(out), r);
    const forwarded = broker.take();
    for (const q of forwarded) {
      if (q.apiKey === 18) continue;
      const up: (any[] | null)[] = q.apiKey === 9 && q.version >= 8 ? q.body.Groups.map((g: any) => g.Topics) : [q.body.Topics];
      for (const list of up) {
        if (list === null) return `${q.apiKey} v${q.version} went up with a null list (all topics)`;
        if (list.length === 0 && !(q.apiKey === 3 && q.version >= 1)) return `${q.apiKey} v${q.version} went up with an empty list`;
        if (list.some((t) => t.Name === "secrets")) return `${q.apiKey} v${q.version} went up naming the refused topic`;
      }
    }
    broker.reply(forwarded);
    if (c.closed) return "the connection was closed";
    const got = answers(c, sent);
    for (const [id, given] of lists) {
      if (given.flat().every((n) => n === "secrets") && !got.has(id)) return `request ${id}, all refused, got no answer`;
      // The refused topic, wherever the answer names it, carries an error (topic or partitions).
      const body = got.get(id);
      const topics: any[] = body === undefined ? [] : body.Groups ? body.Groups.flatMap((g: any) => g.Topics ?? []) : body.Topics ?? [];
      for (const t of topics) {
        if (t.Name !== "secrets") continue;
        const errors = t.ErrorCode !== undefined ? [t.ErrorCode] : (t.Partitions ?? []).map((q: any) => q.ErrorCode);
        if (errors.length === 0 || errors.includes(0)) return `request ${id}: the answer lists the refused topic without an error`;
      }
    }
    return null;
  });
}

// Whether `p`, put inside `(?:` `)`, stays one expression there: no `)` that closes more than it
// opened, none left open, no escape that eats the closing `)` or quotes it (`\` at the end, `\Q`),
// no character class left open (it would take the `)` in), and no escape whose extent this reader
// does not know (`\p{..}`, `\x{..}`, octal or `\E`). RE2J's syntax, read independently of the
// filter's validator.
export function staysInGroup(p: string): boolean {
  let depth = 0;
  for (let i = 0; i < p.length; i++) {
    const ch = p[i];
    if (ch === "\\") {
      if (i + 1 >= p.length || /[QEpPx0-9]/.test(p[i + 1])) return false;
      i++;
    } else if (ch === "[") {
      // A class: `]` first (after an optional `^`) is a member; `[:name:]` inside is one unit.
      i++;
      if (p[i] === "^") i++;
      if (p[i] === "]") i++;
      for (; i < p.length && p[i] !== "]"; i++) {
        if (p[i] === "\\") {
          if (i + 1 >= p.length || /[QEpPx0-9]/.test(p[i + 1])) return false;
          i++;
        } else if (p[i] === "[" && p[i + 1] === ":") {
          const end = p.indexOf(":]", i + 2);
          if (end > 0) i = end + 1;
        }
      }
      if (i >= p.length) return false;
    } else if (ch === "(") depth++;
    else if (ch === ")" && --depth < 0) return false;
  }
  return depth === 0;
}

const REGEX_PIECES = [".*)|(.*", ".*", ")", "(", "(?:", "((", "))", "\\Q", "\\E", "\\Q)\\E", "[^a]", "[)]", "[", "]", "[]a]",
  "[^]", "(?i)", "(?i:a)", "(?P<n>a)", "(?<n>a)", "(?=a)", "\\", "\\)", "\\(", "\\.", "\\d+", "\\w", "\\pL", "\\p{Greek}", "\\x{29}",
  "\\051", "a|b", "|", "^", "$", "ord", "orders", "x{2,3}", "[[:alpha:]]", "[a-z]", "[\\]]", "(a(b)c)", "((a)|(b))", "tenantB\\.",
  "*", "+?", "{", "}"];

function randomPattern(r: Rng): string {
  if (r.chance(0.15)) {
    // Random characters, ASCII and beyond (sent as UTF-8).
    return Array.from({ length: 1 + r.below(12) }, () => String.fromCharCode(r.chance(0.9) ? r.below(128) : 128 + r.below(2000))).join("");
  }
  return Array.from({ length: 1 + r.below(4) }, () => REGEX_PIECES[r.below(REGEX_PIECES.length)]).join("");
}

// Regex payloads under a tenant prefix: ConsumerGroupHeartbeat v1 SubscribedTopicRegex and
// ListTransactions v2 TransactionalIdPattern, patterns built from escape attempts and random
// characters, one to three pipelined. Oracle: a forwarded pattern is exactly `tenantA\.(?:P)`
// with P the client's pattern and staysInGroup(P) (or empty or null as sent, ListTransactions'
// "all", filtered by name in the answer); otherwise the client got INVALID_REGULAR_EXPRESSION (128).
// classOutcomes counts the patterns that went up and those answered (a run must see both).
export function runRegexCase(host: ProxyWasmHost, seed: number): CaseResult {
  const r = new Rng(seed);
  return guarded(host, (open) => {
    const c = open();
    const broker = new FakeBroker(host, c);
    const sent = new Map<number, [number, number]>();
    const patterns = new Map<number, string | null>();
    const out: Buffer[] = [];
    for (let id = 1 + r.below(3); id > 0; id--) {
      const heartbeat = r.chance(0.5);
      const p = !heartbeat && r.chance(0.1) ? (r.chance(0.5) ? "" : null) : randomPattern(r);
      patterns.set(id, p);
      if (heartbeat) {
        out.push(encodeRequest(68, 1, id, "tenantA", { GroupId: "g", MemberId: "m", MemberEpoch: 0, RebalanceTimeoutMs: 30000,
          SubscribedTopicNames: null, SubscribedTopicRegex: p, ServerAssignor: null, TopicPartitions: [] }));
        sent.set(id, [68, 1]);
      } else {
        out.push(encodeRequest(66, 2, id, "tenantA", { StateFilters: [], ProducerIdFilters: [], DurationFilter: -1, TransactionalIdPattern: p }));
        sent.set(id, [66, 2]);
      }
    }
    send(host, c, Buffer.concat(out), r);
    const forwarded = broker.take();
    const up = new Set<number>();
    for (const q of forwarded) {
      if (q.apiKey === 18) continue;
      const p = patterns.get(q.correlationId);
      const got: string | null = q.apiKey === 68 ? q.body.SubscribedTopicRegex : q.body.TransactionalIdPattern;
      if (p === undefined || !(q.apiKey === 68 || q.apiKey === 66)) return `unexpected request ${q.apiKey} went up`;
      const fine = p === null || p === "" ? got === p : got === `tenantA\\.(?:${p})` && staysInGroup(p);
      if (!fine) return `pattern ${JSON.stringify(p)} went up as ${JSON.stringify(got)}`;
      up.add(q.correlationId);
    }
    broker.reply(forwarded);
    if (c.closed) return "the connection was closed";
    const got = answers(c, sent);
    for (const id of patterns.keys()) {
      if (up.has(id)) {
        classOutcomes.patternsForwarded++;
        continue;
      }
      classOutcomes.patternsRefused++;
      if (got.get(id)?.ErrorCode !== 128) return `pattern ${JSON.stringify(patterns.get(id))} neither went up nor got 128 (${JSON.stringify(got.get(id))})`;
    }
    return null;
  });
}

// Session reuse: two or three connections fetch (v7-12) with new sessions, no session, their own
// session ids, other connections' ids, and random ids and epochs, one or two pipelined per step;
// the fake broker hands out a fresh session id for every new session. Oracle: a Fetch goes up
// with a session id only on the connection the broker gave that id to; one naming a foreign id is
// answered FETCH_SESSION_ID_NOT_FOUND (70).
export function runSessionCase(host: ProxyWasmHost, seed: number): CaseResult {
  const r = new Rng(seed);
  return guarded(host, (open) => {
    const conns = Array.from({ length: 2 + r.below(2) }, () => {
      const c = open();
      return { c, broker: new FakeBroker(host, c), given: new Set<number>(), sent: new Map<number, [number, number]>(), ids: new Map<number, number>() };
    });
    let corr = 0;
    for (let step = 2 + r.below(8); step > 0; step--) {
      const k = conns[r.below(conns.length)];
      if (k.c.closed) continue;
      const out: Buffer[] = [];
      for (let n = 1 + r.below(2); n > 0; n--) {
        const others = conns.filter((o) => o !== k).flatMap((o) => [...o.given]);
        let id = 0;
        let epoch = -1;
        switch (r.below(5)) {
          case 0: epoch = 0; break; // a new session
          case 1: break; // no session
          case 2: id = [...k.given][r.below(Math.max(1, k.given.size))] ?? 0; epoch = 1 + r.below(5); break;
          case 3: id = others[r.below(Math.max(1, others.length))] ?? r.next() | 0; epoch = r.below(3) === 0 ? -1 : r.below(10); break;
          default: id = r.chance(0.5) ? r.next() | 0 : r.below(4) - 1; epoch = (r.next() | 0) % 20;
        }
        const v = 7 + r.below(6);
        const topics = r.chance(0.5) ? [] : [{ Topic: r.chance(0.8) ? "capture" : "secrets",
          Partitions: [{ Partition: 0, CurrentLeaderEpoch: -1, FetchOffset: 0n, LastFetchedEpoch: -1, LogStartOffset: -1n, PartitionMaxBytes: 1 << 20 }] }];
        const c = ++corr;
        k.sent.set(c, [1, v]);
        k.ids.set(c, id);
        out.push(encodeRequest(1, v, c, "fuzz", { ReplicaId: -1, MaxWaitMs: 0, MinBytes: 1, MaxBytes: 1 << 20, IsolationLevel: 0,
          SessionId: id, SessionEpoch: epoch, Topics: topics, ForgottenTopicsData: [], RackId: "" }));
      }
      send(host, k.c, Buffer.concat(out), r);
      const forwarded = k.broker.take();
      for (const q of forwarded) {
        if (q.apiKey !== 1) continue;
        if (q.body.SessionId === 0) continue;
        if (!k.given.has(q.body.SessionId)) return `a Fetch with foreign session id ${q.body.SessionId} went up`;
        classOutcomes.ownSessionsForwarded++;
      }
      k.broker.reply(forwarded, (q) => {
        if (q.apiKey !== 1) return {};
        if (q.body.SessionId !== 0) return { SessionId: q.body.SessionId };
        if (q.body.SessionEpoch !== 0) return {};
        const fresh = (r.next() | 0) || 1;
        k.given.add(fresh);
        return { SessionId: fresh };
      });
      if (k.c.closed) return "the connection was closed";
      const up = new Set(forwarded.filter((q) => q.apiKey === 1).map((q) => q.correlationId));
      const got = answers(k.c, k.sent);
      for (const [c, id] of k.ids) {
        if (up.has(c) || id === 0 || k.given.has(id)) continue;
        if (got.get(c)?.ErrorCode !== 70) return `Fetch ${c} with foreign session id ${id} got ${JSON.stringify(got.get(c)?.ErrorCode)}, not 70`;
        classOutcomes.foreignSessionsRefused++;
      }
      k.ids.clear();
    }
    return null;
  });
}

// Record validation (issue 19): Produce v3 requests with topics `json` (values must be JSON),
// `hdr` (a header `h` matching ^[a-z]+$, at most 8 headers) and `free` (no rule), their records
// valid or not (broken, truncated or deeply nested JSON, ill-formed UTF-8, a BOM, missing or
// mismatched headers, too many), sometimes in a compressed codec or with the record bytes
// scrambled (lying varints and counts), 1-3 partitions per topic entry (a batch each), split at
// random TCP boundaries.
// Oracle: a partition reaches the broker iff a reference check of its records (the platform's
// fatal UTF-8 decoder and JSON.parse, with the depth limit) passes; scrambled or compressed ones
// are only required not to trap; `free` always goes on. A request whose every partition is
// refused is answered by the filter, naming exactly those partitions, each with INVALID_RECORD.
export const VALIDATION_POLICY = {
  validation: { rules: [{ name: "json", topics: ["json"], json: true }, { name: "hdr", topics: ["hdr"], headers: { h: "^[a-z]+$" }, max_headers: 8 }] },
};
export const validationOutcomes = { forwarded: 0, refused: 0, unchecked: 0 };

const VALUES = ["{}", "[1,2,{\"a\":null}]", "\"é\"", "-1.5e3", "true", " {\"k\": [\"v\", 0.1, {}]} ", "{\"a\":", "[1,]", "01", "\"\\x\"",
  "nul", "{\"a\" 1}", "[" + "[".repeat(70) + "]".repeat(71), "[".repeat(40) + "]".repeat(40), "\"abc", ""];

function zz(n: number): number[] {
  return [...uvarint(((n << 1) ^ (n >> 31)) >>> 0)];
}
function field(b: Buffer | null): number[] {
  return b === null ? zz(-1) : [...zz(b.length), ...b];
}
function randomValue(r: Rng): Buffer {
  if (r.chance(0.1)) return Buffer.from(Array.from({ length: r.below(20) }, () => r.below(256)));
  let v = Buffer.from(VALUES[r.below(VALUES.length)]);
  if (r.chance(0.1)) v = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), v]);
  if (r.chance(0.1)) v = Buffer.concat([Buffer.from("\""), Buffer.from([[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc3]][r.below(4)]), Buffer.from("\"")]);
  return v;
}
function headerValue(r: Rng): Buffer {
  return Buffer.from(["abc", "x", "", "ab1", "Z", "zz"][r.below(6)]);
}

interface Rec { value: Buffer; headers: [string, Buffer][] }

function jsonOk(v: Buffer): boolean {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(v);
    JSON.parse(text);
  } catch {
    return false;
  }
  // Nesting depth (outside strings) within the default 64.
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === "\"") inString = false;
    } else if (c === "\"") inString = true;
    else if (c === "[" || c === "{") {
      if (++depth > 64) return false;
    } else if (c === "]" || c === "}") depth--;
  }
  return true;
}
function recordsOk(topic: string, recs: Rec[]): boolean {
  if (topic === "json") return recs.every((x) => jsonOk(x.value));
  if (topic === "hdr") {
    return recs.every((x) => {
      const hs = x.headers.filter(([k]) => k === "h");
      return x.headers.length <= 8 && hs.length > 0 && hs.every(([, v]) => /^[a-z]+$/.test(v.toString()));
    });
  }
  return true;
}

function recordBatch(recs: Rec[], codec: number, scramble: Rng | null): Buffer {
  const body: number[] = [];
  recs.forEach((x, i) => {
    const h = x.headers.flatMap(([k, v]) => [...field(Buffer.from(k)), ...field(v)]);
    const rec = [0, ...zz(0), ...zz(i), ...field(Buffer.from("k")), ...field(x.value), ...zz(x.headers.length), ...h];
    body.push(...zz(rec.length), ...rec);
  });
  const records = Buffer.from(body);
  if (scramble !== null) for (let n = 1 + scramble.below(4); n > 0; n--) records[scramble.below(records.length)] = scramble.below(256);
  const head = Buffer.alloc(61);
  head.writeInt32BE(49 + records.length, 8);
  head.writeInt8(2, 16);
  head.writeInt16BE(codec, 21);
  head.writeInt32BE(recs.length - 1, 23);
  head.writeBigInt64BE(-1n, 43);
  head.writeInt16BE(-1, 51);
  head.writeInt32BE(-1, 53);
  head.writeInt32BE(scramble !== null && scramble.chance(0.3) ? scramble.below(1 << 30) : recs.length, 57);
  return Buffer.concat([head, records]);
}

// The partitions ("topic/index") of the Produce v3 requests in `sent`.
function producedPartitions(sent: Buffer): string[] {
  const out: string[] = [];
  for (const f of frames(sent)) {
    // (A request the filter answers itself goes up as an ApiVersions stand-in.)
    if (f.readInt16BE(4) !== 0) continue;
    let at = 4 + 8;
    at += 2 + f.readInt16BE(at); // client id
    const tx = f.readInt16BE(at);
    at += 2 + Math.max(tx, 0) + 6; // transactional id, acks, timeout
    const n = f.readInt32BE(at);
    at += 4;
    for (let i = 0; i < n; i++) {
      const len = f.readInt16BE(at);
      const topic = f.subarray(at + 2, at + 2 + len).toString();
      at += 2 + len;
      const parts = f.readInt32BE(at);
      at += 4;
      for (let p = 0; p < parts; p++) {
        out.push(`${topic}/${f.readInt32BE(at)}`);
        at += 8 + f.readInt32BE(at + 4);
      }
    }
  }
  return out;
}

// The partitions ("topic/index=code") a Produce v3 response frame answers.
function answeredPartitions(f: Buffer): string[] {
  const out: string[] = [];
  let at = 8;
  const n = f.readInt32BE(at);
  at += 4;
  for (let i = 0; i < n; i++) {
    const len = f.readInt16BE(at);
    const topic = f.subarray(at + 2, at + 2 + len).toString();
    at += 2 + len;
    const parts = f.readInt32BE(at);
    at += 4;
    for (let p = 0; p < parts; p++, at += 22) out.push(`${topic}/${f.readInt32BE(at)}=${f.readInt16BE(at + 4)}`);
  }
  return out;
}

// A Produce v3 request (acks -1) of topic entries already encoded (`parts`).
function produceV3(correlationId: number, parts: Buffer[], count: number): Buffer {
  const head = Buffer.alloc(4 + 8 + 2 + 4 + 2 + 6 + 4);
  let at = 4;
  head.writeInt16BE(0, at);
  head.writeInt16BE(3, at + 2);
  head.writeInt32BE(correlationId, at + 4);
  at += 8;
  head.writeInt16BE(4, at);
  head.write("fuzz", at + 2);
  at += 6;
  head.writeInt16BE(-1, at); // transactional id
  head.writeInt16BE(-1, at + 2); // acks
  head.writeInt32BE(30000, at + 4);
  head.writeInt32BE(count, at + 8);
  const frame = Buffer.concat([head, ...parts]);
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

// One topic entry (partition 0) holding one batch of `values` (header h=abc on each).
export function validationProduce(topic: string, values: string[]): Buffer {
  const batch = recordBatch(values.map((v) => ({ value: Buffer.from(v), headers: [["h", Buffer.from("abc")]] as [string, Buffer][] })), 0, null);
  const name = Buffer.from(topic);
  const entry = Buffer.alloc(2 + name.length + 12);
  entry.writeInt16BE(name.length, 0);
  name.copy(entry, 2);
  entry.writeInt32BE(1, 2 + name.length);
  entry.writeInt32BE(0, 6 + name.length);
  entry.writeInt32BE(batch.length, 10 + name.length);
  return produceV3(7, [entry, batch], 1);
}

export function runValidationCase(host: ProxyWasmHost, seed: number): CaseResult {
  const r = new Rng(seed);
  return guarded(host, (open) => {
    const c = open();
    const topics = ["json", "hdr", "free"].filter(() => r.chance(0.7));
    if (topics.length === 0) topics.push("json");
    // Per partition ("topic/index"): whether its records pass (null: not checked).
    const expect = new Map<string, boolean | null>();
    const parts: Buffer[] = [];
    for (const t of topics) {
      const name = Buffer.from(t);
      const head = Buffer.alloc(2 + name.length + 4);
      head.writeInt16BE(name.length, 0);
      name.copy(head, 2);
      const count = 1 + r.below(3);
      head.writeInt32BE(count, 2 + name.length);
      parts.push(head);
      for (let p = 0; p < count; p++) {
        const recs: Rec[] = Array.from({ length: 1 + r.below(4) }, () => {
          const headers: [string, Buffer][] = [];
          for (let n = r.chance(0.05) ? 9 + r.below(5) : r.below(3); n > 0; n--) headers.push([r.chance(0.6) ? "h" : "g", headerValue(r)]);
          return { value: r.chance(0.9) ? randomValue(r) : Buffer.from("{\"ok\":1}"), headers };
        });
        const codec = r.chance(0.08) ? 1 + r.below(4) : 0;
        const scramble = r.chance(0.1) ? r : null;
        const batch = recordBatch(recs, codec, scramble);
        expect.set(`${t}/${p}`, t === "free" ? true : codec !== 0 || scramble !== null ? null : recordsOk(t, recs));
        const entry = Buffer.alloc(8);
        entry.writeInt32BE(p, 0);
        entry.writeInt32BE(batch.length, 4);
        parts.push(entry, batch);
      }
    }
    const frame = produceV3(seed & 0x7fffffff, parts, topics.length);
    send(host, c, frame, r);
    if (c.closed) return "the connection was closed";
    const up = producedPartitions(Buffer.concat(c.toUpstream));
    const answers = frames(Buffer.concat(c.toDownstream));
    if (up.length === 0 && answers.length !== 1 && c.toUpstream.length === 0) return "the request was neither forwarded nor answered";
    const answered = answers.length === 1 ? answeredPartitions(answers[0]) : [];
    for (const [tp, ok] of expect) {
      const went = up.includes(tp);
      if (answers.length === 1 && answered.includes(`${tp}=87`) === went) return `${tp} ${went ? "went on and was answered" : "was neither sent nor answered"}`;
      if (ok === null) validationOutcomes.unchecked++;
      else if (ok && !went) return `valid records of ${tp} were refused`;
      else if (!ok && went) return `invalid records of ${tp} reached the broker`;
      else if (ok) validationOutcomes.forwarded++;
      else validationOutcomes.refused++;
    }
    if (answers.length === 1 && answered.length !== expect.size) return `the answer names ${answered.join(" ")}`;
    return null;
  });
}
