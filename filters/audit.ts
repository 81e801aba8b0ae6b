// Audit events: one JSON object per line, written through Envoy's own log (proxy_log, info
// level), so that the sidecar's log pipeline collects them. Every line starts with
// `{"kafka_proxy_audit":"<event>",` - the fixed key filters them out of Envoy's other lines.
// Events: refusals (and what dry-run rules would have refused or renamed), administrative
// requests, SASL logins, connection open/close and, when asked for, every answered request
// (sampled). Names come from clients: every string is escaped (quotes, backslashes, control
// characters, invalid UTF-8) and cut at MAX_FIELD_BYTES, so no client can add fields or lines.
// Each worker's VM writes at most `max_events_per_second` events a second; the rest are counted
// (audit.events_dropped). Ordinary frames cost a few field writes: nothing is allocated unless
// an event is written.
import { proxy_log } from "../assembly/proxy/abi";
import { currentTimeNanos, LogLevel } from "../assembly/proxy/host";
import { readProperty } from "../assembly/proxy/host_memory";
import { Counter } from "../assembly/proxy/host_metrics";
import { KafkaFrame, Verdict } from "../assembly/proxy/kafka_frame";
import { ByteBuffer } from "../assembly/kafka/byte_buffer";
import { Entity } from "../assembly/kafka/layout";
import { apiKeyNamed, apiName } from "../assembly/kafka/api_table";
import { MAX_API_KEY } from "../assembly/kafka/generated/schema_tables";
import { AuditConfig } from "../assembly/policy/audit_config";
import { operationName, resourceName, ResourceType } from "../assembly/policy/acl";
import { Principal } from "../assembly/policy/connection_principal";

// Longest string written for one field (client ids may be 32 KB); longer ones are cut.
export const MAX_FIELD_BYTES = 256;
// Entries (refused names, names of an admin request) one event lists; the rest are counted.
export const MAX_EVENT_ENTRIES = 16;
// Admin requests of one connection awaiting their answers with their names kept for the event.
const MAX_PENDING_ADMIN = 8;

const ADMIN_APIS: string[] = [
  "CreateTopics", "DeleteTopics", "DeleteRecords", "CreateAcls", "DeleteAcls", "AlterConfigs", "AlterReplicaLogDirs",
  "CreatePartitions", "CreateDelegationToken", "RenewDelegationToken", "ExpireDelegationToken", "DeleteGroups",
  "ElectLeaders", "IncrementalAlterConfigs", "AlterPartitionReassignments", "OffsetDelete", "AlterClientQuotas",
  "AlterUserScramCredentials", "UpdateFeatures", "UnregisterBroker", "AlterShareGroupOffsets", "DeleteShareGroupOffsets",
];

const HEX = "0123456789abcdef";

// Per VM (Envoy worker): the configuration, the rate cap and the line being written.
export class AuditLog {
  readonly events: Counter = new Counter("audit.events");
  readonly dropped: Counter = new Counter("audit.events_dropped");
  private windowStart: u64 = 0;
  private inWindow: i32 = 0;
  private admin: StaticArray<bool> = new StaticArray<bool>(<i32>MAX_API_KEY + 1);
  private sampled: i32 = 0;
  readonly out: ByteBuffer = new ByteBuffer();

  constructor(readonly config: AuditConfig) {
    for (let i = 0; i < ADMIN_APIS.length; i++) {
      const k = apiKeyNamed(ADMIN_APIS[i]);
      if (k >= 0) this.admin[k] = true;
    }
  }

  isAdmin(apiKey: i16): bool {
    return apiKey >= 0 && apiKey <= MAX_API_KEY && unchecked(this.admin[apiKey]);
  }

  // Whether an answered request is one the request log samples.
  samples(apiKey: i16): bool {
    const c = this.config;
    if (!c.requests) return false;
    const apis = c.requestApis;
    if (apis !== null && (apiKey < 0 || apiKey > MAX_API_KEY || !apis[apiKey])) return false;
    const n = this.sampled;
    this.sampled = n + 1 >= c.sampleEvery ? 0 : n + 1;
    return n == 0;
  }

  // Starts an event when the cap allows one more this second (else counts it dropped).
  begin(event: string, conn: u32, now: u64): bool {
    // Windows are the clock's whole seconds (those of the events' timestamps).
    if (now - this.windowStart >= 1000000000) {
      this.windowStart = now - now % 1000000000;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.config.maxEventsPerSecond) {
      this.dropped.increment(1);
      return false;
    }
    this.inWindow++;
    const o = this.out;
    o.clear();
    this.ascii("{\"kafka_proxy_audit\":\"");
    this.ascii(event);
    this.ascii("\",\"time\":\"");
    this.time(now);
    this.ascii("\",\"connection\":");
    this.ascii(conn.toString());
    return true;
  }

  emit(): void {
    this.ascii("}");
    proxy_log(LogLevel.Info, this.out.ptr, <u32>this.out.len);
    this.events.increment(1);
  }

  // ASCII text the module wrote itself (keys, numbers, its own names): no escaping needed.
  ascii(s: string): void {
    const o = this.out;
    const n = s.length;
    const at = o.reserve(n);
    for (let i = 0; i < n; i++) store<u8>(at + <usize>i, <u8>s.charCodeAt(i));
    o.len += n;
  }

  int(key: string, v: i64): void {
    this.ascii(",\"" + key + "\":" + v.toString());
  }

  flag(key: string, v: bool): void {
    this.ascii(",\"" + key + "\":" + (v ? "true" : "false"));
  }

  // `"key":"<escaped bytes>"`; a null name (len < 0) is written as null.
  str(key: string, ptr: usize, len: i32): void {
    this.ascii(",\"" + key + "\":");
    this.value(ptr, len);
  }

  text(key: string, s: string): void {
    const b = String.UTF8.encode(s);
    this.str(key, changetype<usize>(b), b.byteLength);
  }

  // A JSON string of the bytes, cut at MAX_FIELD_BYTES: `"` and `\` escaped, control characters
  // and DEL as \u00XX, bytes that are not valid UTF-8 as U+FFFD. The output holds only what
  // JSON allows in a string, so the line stays one object with the module's own keys.
  value(ptr: usize, len: i32): void {
    const o = this.out;
    if (len < 0) {
      this.ascii("null");
      return;
    }
    const n = min(len, MAX_FIELD_BYTES);
    // At most 6 bytes out per byte in (\u00XX; U+FFFD is 3 bytes for at least 1 in).
    let at = o.reserve(n * 6 + 2);
    store<u8>(at++, 0x22);
    let i = 0;
    while (i < n) {
      const c = <u32>load<u8>(ptr + <usize>i);
      if (c < 0x80) {
        if (c == 0x22 || c == 0x5c) {
          store<u8>(at++, 0x5c);
          store<u8>(at++, <u8>c);
        } else if (c < 0x20 || c == 0x7f) {
          store<u8>(at++, 0x5c);
          store<u8>(at++, 0x75);
          store<u8>(at++, 0x30);
          store<u8>(at++, 0x30);
          store<u8>(at++, <u8>HEX.charCodeAt(c >> 4));
          store<u8>(at++, <u8>HEX.charCodeAt(c & 15));
        } else {
          store<u8>(at++, <u8>c);
        }
        i++;
        continue;
      }
      const size = utf8Size(ptr + <usize>i, n - i);
      if (size > 0) {
        memory.copy(at, ptr + <usize>i, <usize>size);
        at += <usize>size;
        i += size;
      } else {
        store<u8>(at++, 0xef);
        store<u8>(at++, 0xbf);
        store<u8>(at++, 0xbd);
        i++;
      }
    }
    store<u8>(at++, 0x22);
    o.len = <i32>(at - o.ptr);
  }

  hex(key: string, ptr: usize, len: i32): void {
    this.ascii(",\"" + key + "\":\"");
    const o = this.out;
    const at = o.reserve(len * 2);
    for (let i = 0; i < len; i++) {
      const b = <u32>load<u8>(ptr + <usize>i);
      store<u8>(at + <usize>(2 * i), <u8>HEX.charCodeAt(b >> 4));
      store<u8>(at + <usize>(2 * i + 1), <u8>HEX.charCodeAt(b & 15));
    }
    o.len += len * 2;
    this.ascii("\"");
  }

  // ISO 8601, UTC, milliseconds (days to civil date: Howard Hinnant's algorithm).
  private time(nanos: u64): void {
    const ms = <i64>(nanos / 1000000);
    const days = ms / 86400000;
    let rest = ms % 86400000;
    const z = days + 719468;
    const era = z / 146097;
    const doe = z - era * 146097;
    const yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const mp = (5 * doy + 2) / 153;
    const d = doy - (153 * mp + 2) / 5 + 1;
    const m = mp < 10 ? mp + 3 : mp - 9;
    const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
    this.digits(y, 4);
    this.ascii("-");
    this.digits(m, 2);
    this.ascii("-");
    this.digits(d, 2);
    this.ascii("T");
    this.digits(rest / 3600000, 2);
    rest %= 3600000;
    this.ascii(":");
    this.digits(rest / 60000, 2);
    rest %= 60000;
    this.ascii(":");
    this.digits(rest / 1000, 2);
    this.ascii(".");
    this.digits(rest % 1000, 3);
    this.ascii("Z");
  }

  private digits(v: i64, width: i32): void {
    const o = this.out;
    const at = o.reserve(width);
    for (let i = width - 1; i >= 0; i--) {
      store<u8>(at + <usize>i, <u8>(0x30 + <i32>(v % 10)));
      v /= 10;
    }
    o.len += width;
  }
}

// The length of the valid UTF-8 sequence at `ptr` (at most `avail` bytes), 0 when invalid.
function utf8Size(ptr: usize, avail: i32): i32 {
  const c = <u32>load<u8>(ptr);
  let size = 0;
  let low: u32 = 0x80;
  let high: u32 = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) size = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    size = 3;
    if (c == 0xe0) low = 0xa0;
    if (c == 0xed) high = 0x9f; // no surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    size = 4;
    if (c == 0xf0) low = 0x90;
    if (c == 0xf4) high = 0x8f;
  } else return 0;
  if (size > avail) return 0;
  const second = <u32>load<u8>(ptr + 1);
  if (second < low || second > high) return 0;
  for (let i = 2; i < size; i++) {
    const b = <u32>load<u8>(ptr + <usize>i);
    if (b < 0x80 || b > 0xbf) return 0;
  }
  return size;
}

function entityResource(entity: i32): i32 {
  if (entity == Entity.TopicName) return ResourceType.Topic;
  if (entity == Entity.GroupId) return ResourceType.Group;
  if (entity == Entity.TransactionalId) return ResourceType.TransactionalId;
  return ResourceType.None;
}

class PendingAdmin {
  correlationId: i32 = 0;
  // The event's fields from the request (api, names...), to complete with the answer.
  fields: ByteBuffer = new ByteBuffer();
  used: bool = false;
}

// Outcomes of an entry in a refusal event.
export const enum AuditOutcome {
  Denied = 0,
  WouldDeny = 1,
  WouldRename = 2,
}

// Per connection: what its events need, and the entries of the request being judged.
export class AuditTrail {
  connection: u32 = 0;
  private opened: u64 = 0;
  private started: bool = false;
  private bytesIn: i64 = 0;
  private bytesOut: i64 = 0;
  private requests: i64 = 0;
  // The latest request's principal and client id (the close event's).
  private principal: string = "";
  private clientId: ByteBuffer = new ByteBuffer();
  private clientIdNull: bool = true;
  private software: ByteBuffer = new ByteBuffer();
  private peer: string | null = null;
  identity: string | null = null;
  // The request being judged: its refused entries (JSON objects, comma separated).
  private entries: ByteBuffer = new ByteBuffer();
  private entryCount: i32 = 0;
  private omitted: i32 = 0;
  private denied: i32 = 0;
  private firstCode: i16 = 0;
  // Admin requests: the names they carry.
  collectNames: bool = false;
  private names: ByteBuffer = new ByteBuffer();
  private nameCount: i32 = 0;
  private pending: PendingAdmin[] = [];

  constructor(private log: AuditLog, private principalSource: Principal | null) {}

  get config(): AuditConfig {
    return this.log.config;
  }

  release(): void {
    if (this.started && this.log.config.connections && this.log.begin("connection_close", this.connection, currentTimeNanos())) {
      const l = this.log;
      this.connectionFields();
      l.int("requests", this.requests);
      l.int("bytes_in", this.bytesIn);
      l.int("bytes_out", this.bytesOut);
      l.int("duration_ms", <i64>((currentTimeNanos() - this.opened) / 1000000));
      l.emit();
    }
    this.clientId.release();
    this.software.release();
    this.entries.release();
    this.names.release();
    for (let i = 0; i < this.pending.length; i++) this.pending[i].fields.release();
  }

  private connectionFields(): void {
    const l = this.log;
    l.text("principal", this.principal);
    l.str("client_id", this.clientId.ptr, this.clientIdNull ? -1 : this.clientId.len);
    if (this.software.len > 0) l.str("client_software", this.software.ptr, this.software.len);
    if (this.peer !== null) l.text("peer", this.peer!);
    if (this.identity !== null) l.text("mtls_identity", this.identity!);
  }

  // A request arrives (before the walk).
  requestStart(f: KafkaFrame, principal: string): void {
    this.bytesIn += f.len;
    this.requests++;
    this.principal = principal;
    this.entryCount = 0;
    this.omitted = 0;
    this.denied = 0;
    this.firstCode = 0;
    this.entries.len = 0;
    this.collectNames = this.log.config.admin && this.log.isAdmin(f.apiKey);
    if (this.collectNames) {
      this.names.len = 0;
      this.nameCount = 0;
    }
    if (!this.started) this.open(f);
  }

  private open(f: KafkaFrame): void {
    this.started = true;
    const c = this.log.config;
    if (!c.connections) return;
    this.opened = currentTimeNanos();
    this.clientIdNull = f.clientIdLength < 0;
    if (f.clientIdLength > 0) this.clientId.append(f.ptr + <usize>f.clientIdOffset, min(f.clientIdLength, MAX_FIELD_BYTES));
    this.peer = readProperty("source\0address");
    const p = this.principalSource;
    if (p !== null) this.identity = p.certificateIdentity();
    const l = this.log;
    if (!l.begin("connection_open", this.connection, this.opened)) return;
    this.connectionFields();
    l.emit();
  }

  // ApiVersions v3+ names the client software (kept for the close event).
  clientSoftware(namePtr: usize, nameLen: i32, versionPtr: usize, versionLen: i32): void {
    if (!this.log.config.connections) return;
    const s = this.software;
    s.clear();
    if (nameLen > 0) s.append(namePtr, min(nameLen, MAX_FIELD_BYTES));
    store<u8>(s.reserve(1), 0x2f);
    s.len += 1;
    if (versionLen > 0) s.append(versionPtr, min(versionLen, MAX_FIELD_BYTES));
  }

  // A refused name (`ptr`, `len` as the client named it; the broker's name when a rewrite
  // changed it), or one a dry-run rule would refuse or rename. `idPtr`: a topic id, 0 for none.
  entry(outcome: AuditOutcome, resource: i32, ptr: usize, len: i32, brokerPtr: usize, brokerLen: i32, idPtr: usize,
    op: i32, code: i16): void {
    if (outcome == AuditOutcome.Denied) {
      this.denied++;
      if (this.firstCode == 0) this.firstCode = code;
    }
    if (!this.log.config.refusals) return;
    if (this.entryCount >= MAX_EVENT_ENTRIES) {
      this.omitted++;
      return;
    }
    this.entryCount++;
    // Written into the shared line buffer, then kept with the request.
    const l = this.log;
    const o = l.out;
    o.clear();
    l.ascii(this.entryCount > 1 ? ",{" : "{");
    l.ascii("\"outcome\":\"" + (outcome == AuditOutcome.Denied ? "denied" : outcome == AuditOutcome.WouldDeny ? "would_deny" : "would_rename") + "\"");
    l.ascii(",\"resource\":\"" + resourceName(resource) + "\"");
    if (idPtr != 0) l.hex("topic_id", idPtr, 16);
    if (len >= 0 || idPtr == 0) l.str("name", ptr, len);
    if (brokerLen >= 0) l.str("broker_name", brokerPtr, brokerLen);
    else if (len >= 0) l.str("broker_name", ptr, len);
    if (op > 0) l.ascii(",\"operation\":\"" + operationName(op) + "\"");
    if (outcome != AuditOutcome.WouldRename) l.int("error_code", code);
    l.ascii("}");
    this.entries.append(o.ptr, o.len);
  }

  // A name of an admin request (the walk's entities).
  name(entity: i32, ptr: usize, len: i32, brokerPtr: usize, brokerLen: i32): void {
    const resource = entityResource(entity);
    if (resource == ResourceType.None || len < 0) return;
    if (this.nameCount >= MAX_EVENT_ENTRIES) {
      this.nameCount++;
      return;
    }
    const l = this.log;
    const o = l.out;
    o.clear();
    l.ascii(this.nameCount > 0 ? ",{" : "{");
    l.ascii("\"resource\":\"" + resourceName(resource) + "\"");
    l.str("name", ptr, len);
    l.str("broker_name", brokerPtr, brokerLen);
    l.ascii("}");
    this.names.append(o.ptr, o.len);
    this.nameCount++;
  }

  private requestFields(f: KafkaFrame, principal: string): void {
    const l = this.log;
    l.int("correlation_id", f.correlationId);
    l.ascii(",\"api\":\"" + apiName(f.apiKey) + "\"");
    l.int("api_version", f.apiVersion);
    l.text("principal", principal);
  }

  // The request was decided: its refusal and admin events.
  requestEnd(f: KafkaFrame, verdict: Verdict, principal: string): void {
    const refused = this.entryCount + this.omitted;
    if (refused > 0) {
      const l = this.log;
      if (l.begin(this.denied > 0 ? "refusal" : "dry_run", this.connection, currentTimeNanos())) {
        this.requestFields(f, principal);
        l.str("client_id", f.ptr + <usize>f.clientIdOffset, f.clientIdLength);
        l.ascii(",\"result\":\"" + verdictName(verdict) + "\"");
        if (verdict == Verdict.Answer) l.int("latency_us", 0);
        l.ascii(",\"entries\":[");
        l.out.append(this.entries.ptr, this.entries.len);
        l.ascii("]");
        if (this.omitted > 0) l.int("entries_omitted", this.omitted);
        l.emit();
      }
    }
    if (!this.collectNames) return;
    this.collectNames = false;
    const forwarded = verdict == Verdict.Forward || verdict == Verdict.Replace;
    if (forwarded && f.expectsResponse) {
      // Written with the answer, when its error code and latency are known.
      const p = this.pendingSlot();
      if (p !== null) {
        p.used = true;
        p.correlationId = f.correlationId;
        const l = this.log;
        l.out.clear();
        this.requestFields(f, principal);
        this.adminNames();
        if (this.denied > 0) l.int("refused_entries", this.denied);
        p.fields.clear();
        p.fields.append(l.out.ptr, l.out.len);
        return;
      }
    }
    const l = this.log;
    if (!l.begin("admin", this.connection, currentTimeNanos())) return;
    this.requestFields(f, principal);
    this.adminNames();
    l.flag("allowed", forwarded);
    if (!forwarded) {
      l.int("error_code", this.firstCode);
      l.int("latency_us", 0);
    }
    l.emit();
  }

  private adminNames(): void {
    const l = this.log;
    l.ascii(",\"resources\":[");
    l.out.append(this.names.ptr, this.names.len);
    l.ascii("]");
    if (this.nameCount > MAX_EVENT_ENTRIES) l.int("resources_omitted", this.nameCount - MAX_EVENT_ENTRIES);
  }

  private pendingSlot(): PendingAdmin | null {
    for (let i = 0; i < this.pending.length; i++) if (!this.pending[i].used) return this.pending[i];
    if (this.pending.length >= MAX_PENDING_ADMIN) return null;
    const p = new PendingAdmin();
    this.pending.push(p);
    return p;
  }

  // A response arrives (after its walk): admin and request-log events.
  response(f: KafkaFrame, errorCode: i16): void {
    this.bytesOut += f.len;
    const l = this.log;
    for (let i = 0; i < this.pending.length; i++) {
      const p = unchecked(this.pending[i]);
      if (!p.used || p.correlationId != f.correlationId) continue;
      p.used = false;
      const now = currentTimeNanos();
      if (!l.begin("admin", this.connection, now)) return;
      l.out.append(p.fields.ptr, p.fields.len);
      l.flag("allowed", true);
      l.int("error_code", errorCode);
      l.int("latency_us", <i64>((now - f.requestSentAtNanos) / 1000));
      l.emit();
      return;
    }
    if (!l.samples(f.apiKey)) return;
    const now = currentTimeNanos();
    if (!l.begin("request", this.connection, now)) return;
    this.requestFields(f, f.requester);
    l.int("error_code", errorCode);
    l.int("response_bytes", f.len);
    l.int("latency_us", <i64>((now - f.requestSentAtNanos) / 1000));
    l.emit();
  }

  // The broker's answer to a SaslAuthenticate: a login accepted (`user` set) or refused.
  authentication(mechanism: string, user: string, errorCode: i16, f: KafkaFrame): void {
    const l = this.log;
    if (!l.config.authentication || (errorCode == 0 && user.length == 0)) return;
    if (!l.begin("authentication", this.connection, currentTimeNanos())) return;
    l.int("correlation_id", f.correlationId);
    l.text("mechanism", mechanism);
    l.text("user", user);
    l.ascii(",\"outcome\":\"" + (errorCode == 0 ? "accepted" : "refused") + "\"");
    l.int("error_code", errorCode);
    l.emit();
  }
}

function verdictName(v: Verdict): string {
  if (v == Verdict.Answer) return "answered";
  if (v == Verdict.Drop) return "dropped";
  if (v == Verdict.Reject) return "closed";
  return "forwarded";
}
