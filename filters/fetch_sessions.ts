// Fetch sessions (KIP-227) and share sessions (KIP-932) bound to the connection that opened them.
// The broker keeps a session's topics between requests, so an incremental Fetch naming a session
// id (or a ShareFetch/ShareAcknowledge naming a group and member id) with no topics gets records
// of topics the filter never saw in that request. Sessions are the broker's, not the
// connection's: any client that knows (or guesses) an id would get another principal's or
// tenant's records. So a connection may only use the sessions it opened itself: fetch session ids
// the broker handed out in Fetch responses on this connection, share sessions this connection
// opened (epoch 0). Anything else is answered as the broker answers an unknown session
// (FETCH_SESSION_ID_NOT_FOUND, SHARE_SESSION_NOT_FOUND), on which Kafka's clients drop their
// session and send a full request, which the filter checks entry by entry.
import { Counter } from "../assembly/proxy/host_metrics";
import { KafkaFrame, Verdict } from "../assembly/proxy/kafka_frame";
import { buildErrorResponse, EntryFilter } from "../assembly/kafka/error_response";
import { messageStruct } from "../assembly/kafka/api_table";
import { STRUCTS } from "../assembly/kafka/generated/schema_tables";
import { fieldCol } from "../assembly/kafka/field_table";
import { ARRAY, FieldCol } from "../assembly/kafka/layout";
import { ApiKey } from "../assembly/kafka/api_keys";
import { ByteBuffer } from "../assembly/kafka/byte_buffer";

const FETCH_SESSION_ID_NOT_FOUND: i16 = 70;
// No principal's name ("User:..."): a session whose opener is unknown.
const CONFLICT = "\0";
const SHARE_SESSION_NOT_FOUND: i16 = 122;

// One session of each kind per connection, the newest: Kafka's clients keep one per connection
// (a new one replaces it), and a request naming a replaced one is answered as unknown, on which
// the client opens another.
// Longest group id + member id kept for a share session (member ids are UUIDs); a longer pair is
// not remembered, so its incremental requests are answered as unknown.
const MAX_SHARE_KEY = 1024;

export class SessionCounters {
  // Requests naming a session this connection did not open (answered as an unknown session).
  refused: Counter = new Counter("sessions.refused");
  // Topic entries dropped from Fetch/ShareFetch/ShareAcknowledge responses: topics the
  // requester may not read, another tenant's, or ids never seen in a Metadata response.
  topicsDropped: Counter = new Counter("sessions.response_topics_dropped");
}

// The session fields sit at fixed offsets of the body (tests/codegen/session_layout.test.ts
// checks them against the schemas).
function fetchRequestSessionOffset(version: i16): i32 {
  if (version < 7) return -1;
  // v7-14: ReplicaId, MaxWaitMs, MinBytes, MaxBytes, IsolationLevel; v15+ without ReplicaId.
  return version < 15 ? 17 : 13;
}

// The answer's entry filter, reused (one VM runs one callback at a time).
const NONE = new EntryFilter();

// v7+: ThrottleTimeMs, ErrorCode, then SessionId.
const FETCH_RESPONSE_SESSION_OFFSET = 6;

// The request's first array (Fetch's and ShareFetch's Topics): an answer limited to none of its
// entries has the empty topic list Kafka's session errors carry.
function firstArrayRow(apiKey: i16, version: i16): i32 {
  const s = messageStruct(apiKey, true);
  const first = <i32>unchecked(STRUCTS[s]);
  const end = <i32>unchecked(STRUCTS[s + 1]);
  for (let r = first; r < end; r++) {
    if ((<i32>fieldCol(r, FieldCol.Packed) & ARRAY) == 0) continue;
    if (version >= fieldCol(r, FieldCol.VersionMin) && version <= fieldCol(r, FieldCol.VersionMax)) return r;
  }
  return -1;
}

export class Sessions {
  private fetchId: i32 = 0;
  // Who opened the sessions (the principal may change between requests on one connection, with
  // client-id principals): a response to anyone else may carry topics they may not read.
  private fetchOwner: string = "";
  private fetchOpener: string = "";
  private shareOwner: string = "";
  private opening: bool = false;
  // After request(): the response can only hold topics the requester may read (a new session,
  // or their own), so it needs no checks that would change it (connection.ts streams it).
  owned: bool = false;
  // The share session's GroupId and MemberId as they are on the wire (empty: none).
  private shareKey: ByteBuffer = new ByteBuffer();

  constructor(private counters: SessionCounters) {}

  release(): void {
    this.shareKey.release();
  }

  // A request (already walked: its body decodes) that names a session: Verdict.Forward when the
  // session is this connection's, else the unknown-session answer in `f.rewritten`.
  request(f: KafkaFrame, principal: string): Verdict {
    const k = f.apiKey;
    this.owned = false;
    if (k == ApiKey.Fetch) {
      const at = fetchRequestSessionOffset(f.apiVersion);
      this.owned = true;
      if (at < 0) return Verdict.Forward;
      const id = <i32>bswap<u32>(load<u32>(f.bodyPtr + <usize>at));
      // Session id 0: a sessionless or new-session fetch, checked entry by entry.
      if (id == 0) {
        // Two new-session fetches in flight from different principals (client-id principals
        // change per request): whose answer names which session is unknown, so neither owns it.
        this.fetchOpener = this.opening && this.fetchOpener != principal ? CONFLICT : principal;
        this.opening = true;
        return Verdict.Forward;
      }
      this.owned = principal == this.fetchOwner;
      if (id == this.fetchId) return Verdict.Forward;
      return this.refuse(f, FETCH_SESSION_ID_NOT_FOUND);
    }
    if (k != ApiKey.ShareFetch && k != ApiKey.ShareAcknowledge) return Verdict.Forward;
    // GroupId and MemberId (compact nullable strings), then ShareSessionEpoch.
    const body = f.bodyPtr;
    const end = body + <usize>f.bodyLength;
    let p = body;
    for (let i = 0; i < 2; i++) {
      // A compact string: unsigned varint length + 1 (0 for null), then the bytes.
      let n: u32 = 0;
      let shift: u32 = 0;
      let b: u32 = 0x80;
      while ((b & 0x80) != 0) {
        if (p >= end || shift > 28) return Verdict.Reject;
        b = <u32>load<u8>(p++);
        n |= (b & 0x7f) << shift;
        shift += 7;
      }
      if (n > 1) p += <usize>(n - 1);
    }
    if (p + 4 > end) return Verdict.Reject;
    const keyLen = <i32>(p - body);
    const key = this.shareKey;
    const owned = key.len == keyLen && memory.compare(key.ptr, body, <usize>keyLen) == 0;
    // A ShareFetch with epoch 0 opens a session (the broker replaces any with this key);
    // ShareAcknowledge never does.
    if (k == ApiKey.ShareFetch && load<u32>(p) == 0) {
      if (!owned) {
        key.clear();
        if (keyLen <= MAX_SHARE_KEY) key.append(body, keyLen);
      }
      this.shareOwner = principal;
      this.owned = true;
      return Verdict.Forward;
    }
    this.owned = owned && principal == this.shareOwner;
    return owned ? Verdict.Forward : this.refuse(f, SHARE_SESSION_NOT_FOUND);
  }

  // A Fetch response: the session id the broker gave this connection (0: none).
  response(f: KafkaFrame): void {
    if (f.apiKey != ApiKey.Fetch || f.apiVersion < 7 || f.bodyLength < FETCH_RESPONSE_SESSION_OFFSET + 4) return;
    const id = <i32>bswap<u32>(load<u32>(f.bodyPtr + FETCH_RESPONSE_SESSION_OFFSET));
    this.opening = false;
    if (id != 0 && id != this.fetchId) {
      this.fetchId = id;
      this.fetchOwner = this.fetchOpener;
    }
  }

  // Kafka's answer to an unknown session: the error at the top level, no session, no topics.
  private refuse(f: KafkaFrame, code: i16): Verdict {
    this.counters.refused.increment(1);
    NONE.reset(firstArrayRow(f.apiKey, f.apiVersion));
    if (!buildErrorResponse(f.apiKey, f.apiVersion, f.correlationId, f.bodyPtr, f.bodyLength, code, NONE, f.rewritten)) {
      return Verdict.Reject;
    }
    return Verdict.Answer;
  }
}
