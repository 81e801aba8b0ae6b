// The filter's frame handler, one per connection: every whole frame is walked once against the
// schema of its API version (a frame that does not decode exactly is refused: fail-closed), and
// what the walk found feeds the stages the configuration turned on.
import { FrameHandler, KafkaFrame, Verdict } from "../assembly/proxy/kafka_frame";
import { ProxyCounters } from "../assembly/proxy/proxy_counters";
import { Counter } from "../assembly/proxy/host_metrics";
import { LabelEntry } from "../assembly/proxy/label_table";
import { walk, WalkError } from "../assembly/kafka/walker";
import { apiName, isKnownApi, isValidVersion } from "../assembly/kafka/api_table";
import { FrameScan } from "./frame_scan";
import { KafkaMetrics } from "./kafka_metrics";
import { TopicIds } from "./topic_ids";
import { AuthzCounters, AuthzStage } from "./authz";
import { Acl } from "../assembly/policy/acl";
import { Principal } from "../assembly/policy/connection_principal";
import { RewriteRules } from "../assembly/policy/rewrite_rules";
import { RewriteCounters, RewriteStage } from "./rewrite";
import { ApiKey } from "../assembly/kafka/api_keys";
import { FilterConfig } from "../assembly/policy/config";
import { ForwardMode } from "../assembly/proxy/forward_mode";
import { VersionGate } from "./versions";
import { SessionCounters, Sessions } from "./fetch_sessions";
import { GuardCounters, GuardStage } from "./guardrails";
import { Guardrails } from "../assembly/policy/guardrails";
import { Validation } from "../assembly/policy/validation";
import { ValidationCounters, ValidationStage } from "./validation";
import { BatchSummary } from "../assembly/kafka/record_batches";
import { GatewayRules } from "../assembly/policy/gateway";
import { GatewayCounters, GatewayStage, carriesBrokers } from "./gateway";
import { AuditLog, AuditTrail } from "./audit";
import { Lineage } from "./lineage";
import { QuotaCounters, QuotaStage } from "./quotas";
import { Quotas } from "../assembly/policy/quotas";

const UNSUPPORTED_VERSION: i16 = 35;

// What the root hands every connection's pipeline: the per-VM (per Envoy worker) state, the
// configured stages and their counters (not Envoy's shared data: assembly/proxy/shared_data.ts).
export class VmState {
  counters: ProxyCounters;
  metrics: KafkaMetrics | null = null;
  topicIds: TopicIds = new TopicIds();
  acl: Acl | null = null;
  authzCounters: AuthzCounters | null = null;
  rewrite: RewriteRules | null = null;
  rewriteCounters: RewriteCounters | null = null;
  guardrails: Guardrails | null = null;
  guardCounters: GuardCounters | null = null;
  validation: Validation | null = null;
  validationCounters: ValidationCounters | null = null;
  gateway: GatewayRules | null = null;
  gatewayCounters: GatewayCounters | null = null;
  quotas: Quotas | null = null;
  quotaCounters: QuotaCounters | null = null;
  // Made with the first connection's policy stages.
  sessionCounters: SessionCounters | null = null;
  principalSources: StaticArray<i32> = [];
  sasl: SaslCounters = new SaslCounters();
  audit: AuditLog | null = null;
  lineage: Lineage | null = null;
  versions: VersionGate = new VersionGate(new FilterConfig().maxVersions);
  // Frames may be changed before they leave (ForwardMode.AfterCheck).
  canEdit: bool = true;

  constructor(counters: ProxyCounters) {
    this.counters = counters;
  }

  // The stages `c` turns on, counting into `counters`.
  static of(c: FilterConfig, counters: ProxyCounters): VmState {
    const shared = new VmState(counters);
    shared.versions = new VersionGate(c.maxVersions);
    shared.canEdit = c.forward == ForwardMode.AfterCheck;
    if (c.audit.enabled) shared.audit = new AuditLog(c.audit);
    if (c.metrics && c.lineage) shared.lineage = new Lineage(c.maxTopicLabels);
    shared.metrics = c.metrics ? new KafkaMetrics(c.maxTopicLabels, c.maxClientLabels) : null;
    shared.acl = c.acl;
    shared.principalSources = c.principalSources;
    if (c.acl !== null) shared.authzCounters = new AuthzCounters();
    shared.rewrite = c.rewrite;
    if (c.rewrite !== null) shared.rewriteCounters = new RewriteCounters();
    shared.guardrails = c.guardrails;
    if (c.guardrails !== null) shared.guardCounters = new GuardCounters(c.guardrails!);
    shared.validation = c.validation;
    if (c.validation !== null) shared.validationCounters = new ValidationCounters(c.validation!, c.metrics ? c.maxTopicLabels : 0);
    shared.gateway = c.gateway;
    if (c.gateway !== null) shared.gatewayCounters = new GatewayCounters();
    shared.quotas = c.quotas;
    if (c.quotas !== null) shared.quotaCounters = new QuotaCounters(c.quotas!);
    return shared;
  }
}

// Connections closed over their SASL exchange (principal.ts): a request other than
// ApiVersions/SaslHandshake/SaslAuthenticate before the broker answered the login, or more SASL
// requests awaiting answers than any client sends.
export class SaslCounters {
  pendingRefused: Counter = new Counter("sasl.pending_refused");
}

export class Pipeline extends FrameHandler {
  private scan: FrameScan;
  private counters: ProxyCounters;
  private metrics: KafkaMetrics | null;
  private principal: Principal | null = null;
  private authz: AuthzStage | null = null;
  private rewrite: RewriteStage | null = null;
  private guard: GuardStage | null = null;
  private validation: ValidationStage | null = null;
  private gateway: GatewayStage | null = null;
  private quota: QuotaStage | null = null;
  private sasl: SaslCounters;
  private sessions: Sessions | null = null;
  // The client id label of the connection's latest request, for its responses' bytes.
  private client: LabelEntry | null = null;
  // The metrics label of the connection's principal, looked up again only when it changes.
  private principalLabel: LabelEntry | null = null;
  private labelledPrincipal: string = "";
  private versions: VersionGate;
  private canEdit: bool;
  // Requests: where bytes after the message start (0 when none), stripped before it leaves.
  private trailingPtr: usize = 0;
  // The connection's audit events (audit.ts); `audited`: the request being decided has begun its.
  private audit: AuditTrail | null = null;
  private audited: bool = false;
  private lineage: Lineage | null = null;
  // The workload lineage counts for: the principal's bytes (looked up again when it changes).
  private workloadName: string = "";
  private workloadBytes: ArrayBuffer = new ArrayBuffer(0);

  constructor(shared: VmState) {
    super();
    this.counters = shared.counters;
    this.metrics = shared.metrics;
    this.sasl = shared.sasl;
    this.versions = shared.versions;
    this.canEdit = shared.canEdit;
    this.scan = new FrameScan(shared.topicIds);
    this.scan.metrics = shared.metrics;
    this.lineage = shared.lineage;
    this.scan.lineage = shared.lineage;
    this.countsRecords = shared.metrics !== null;
    if (shared.acl !== null || shared.rewrite !== null || shared.guardrails !== null || shared.validation !== null ||
      shared.quotas !== null) this.policyStages(shared);
    if (shared.gateway !== null) this.gateway = new GatewayStage(shared.gateway!, shared.gatewayCounters!);
    if (shared.audit !== null) {
      const audit = new AuditTrail(shared.audit!, this.principal);
      this.audit = audit;
      this.scan.audit = audit;
      if (this.authz !== null) this.authz!.audit = audit;
      if (this.rewrite !== null) this.rewrite!.audit = audit;
    }
  }

  // The connection's id in audit events.
  set connectionId(id: u32) {
    if (this.audit !== null) this.audit!.connection = id;
  }

  // The stages that need a principal and change frames.
  private policyStages(shared: VmState): void {
    const principal = new Principal(shared.principalSources);
    this.principal = principal;
    this.scan.principal = principal;
    // Stages that change frames need the walk's layout hooks.
    this.scan.wantsLayout = true;
    if (shared.sessionCounters === null) shared.sessionCounters = new SessionCounters();
    this.sessions = new Sessions(shared.sessionCounters!);
    this.scan.sessionCounters = shared.sessionCounters;
    if (shared.rewrite !== null) {
      this.rewrite = new RewriteStage(shared.rewrite!, shared.rewriteCounters!, shared.topicIds);
      this.scan.rewrite = this.rewrite;
    }
    if (shared.acl !== null) {
      const authz = new AuthzStage(shared.acl!, shared.authzCounters!, shared.topicIds);
      authz.rewrite = this.rewrite;
      this.authz = authz;
      this.scan.authz = authz;
    }
    if (shared.quotas !== null) {
      const quota = new QuotaStage(shared.quotas!, shared.quotaCounters!);
      this.quota = quota;
      this.scan.quota = quota;
    }
    const g = shared.guardrails;
    if (g !== null) {
      const guard = new GuardStage(g, shared.guardCounters!);
      this.guard = guard;
      this.scan.guard = guard;
      // Producer checks read every record batch header (as the records go by: never copied).
      if (g.checksBatches) {
        this.countsRecords = true;
        this.checksBatches = true;
      }
    }
    if (shared.validation !== null) this.validationStage(shared);
  }

  private validationStage(shared: VmState): void {
    const v = new ValidationStage(shared.validation!, shared.validationCounters!, shared.topicIds, this.rewrite);
    this.validation = v;
    this.scan.validation = v;
    // Its records are read whole: no produce request is decided before its end.
    this.wholeRequests = true;
  }

  wholeRequest(f: KafkaFrame): bool {
    // The principal's rewriting tells the broker's names (picked again when the request is decided).
    const rewrite = this.rewrite;
    if (rewrite !== null) {
      const p = this.principal;
      rewrite.beginRequest(p !== null ? p.name(f.ptr + <usize>f.clientIdOffset, f.clientIdLength) : "");
    }
    return this.validation!.wholeRequest(f);
  }

  responseStarts(f: KafkaFrame): bool {
    const quota = this.quota;
    return quota === null || quota.responseStarts(f);
  }

  laterBatches(summary: BatchSummary): bool {
    const guard = this.guard;
    if (guard === null || guard.laterBatches(summary)) return true;
    this.reason = guard.reason;
    return false;
  }

  muteUntilMs(): i64 {
    const quota = this.quota;
    return quota !== null ? quota.muteUntil : 0;
  }

  recordsLater(count: i64): void {
    this.scan.recordsLater(count);
  }

  // The connection ended: its off-heap buffers go back (the GC does not see them).
  release(): void {
    if (this.principal !== null) this.principal!.release();
    if (this.authz !== null) this.authz!.release();
    if (this.rewrite !== null) this.rewrite!.release();
    if (this.guard !== null) this.guard!.release();
    if (this.validation !== null) this.validation!.release();
    if (this.sessions !== null) this.sessions!.release();
    if (this.audit !== null) this.audit!.release();
  }

  request(f: KafkaFrame): Verdict {
    this.audited = false;
    const verdict = this.decide(f);
    if (this.audited) this.audit!.requestEnd(f, verdict, f.requester);
    return verdict;
  }

  private decide(f: KafkaFrame): Verdict {
    f.edits = null;
    f.streams = false;
    f.requester = "";
    if (!this.versions.allows(f.apiKey, f.apiVersion)) {
      // KIP-511: clients open with their newest ApiVersions. One the filter does not know gets
      // the answer an older broker gives, so the client retries with a version the filter
      // reads (the broker may know the newer one: its answer could not be checked).
      if (f.apiKey == ApiKey.ApiVersions && this.canEdit) {
        this.versions.answerUnsupported(f);
        this.counters.apiVersionsAnswered.increment(1);
        return Verdict.Answer;
      }
      // Observe-only mode cannot answer: the broker's KIP-511 v0 answer is expected. The body
      // is not walked, so nothing from the previous frame's scan may be counted for it.
      if (f.apiKey == ApiKey.ApiVersions && !isValidVersion(f.apiKey, f.apiVersion)) {
        this.scan.start(f.apiKey, f.apiVersion, true, f.ptr);
        this.countRequest(f);
        return Verdict.Forward;
      }
      // Only a client that ignored the ranges the filter advertised gets here.
      this.counters.requestsUnsupported.increment(1);
      const api = isKnownApi(f.apiKey) ? apiName(f.apiKey) : "unknown API key " + f.apiKey.toString();
      this.reason = "request for " + api + " version " + f.apiVersion.toString() + ", which the filter does not allow";
      return Verdict.Reject;
    }
    const isSasl = f.apiKey == ApiKey.SaslHandshake || f.apiKey == ApiKey.SaslAuthenticate;
    if (this.principal !== null && this.principal!.refuses(isSasl || f.apiKey == ApiKey.ApiVersions, isSasl)) {
      // Kafka refuses any other request during authentication and closes the connection
      // (SaslServerAuthenticator); pipelined behind the login's last leg, the broker would run
      // it as the user it is about to accept, whom the filter does not know yet. Judging it as
      // anyone else (a client id) would be a guess, holding it would mean buffering: refused.
      this.sasl.pendingRefused.increment(1);
      this.reason = apiName(f.apiKey) + " request while a SASL login awaits its answer";
      return Verdict.Reject;
    }
    const authz = this.authz;
    const rewrite = this.rewrite;
    const principal = this.principal !== null ? this.principal!.name(f.ptr + <usize>f.clientIdOffset, f.clientIdLength) : "";
    f.requester = principal;
    const audit = this.audit;
    if (audit !== null) {
      audit.requestStart(f, principal);
      this.audited = true;
    }
    if (this.lineage !== null) this.lineageWorkload(principal, f.ptr + <usize>f.clientIdOffset, f.clientIdLength);
    if (authz !== null) authz.beginRequest(f, principal);
    if (rewrite !== null) rewrite.beginRequest(principal);
    const guard = this.guard;
    if (guard !== null) guard.beginRequest(f, principal);
    const quota = this.quota;
    if (quota !== null) quota.beginRequest(f, principal);
    const validation = this.validation;
    if (validation !== null) validation.beginRequest(f);
    if (!this.scanFrame(f, true)) return Verdict.Reject;
    // Produce with acks=0 is never answered: it must not wait in the correlation table.
    const acksZero = f.apiKey == ApiKey.Produce && this.scan.acksValue == 0;
    if (acksZero) {
      f.expectsResponse = false;
      if (quota !== null) quota.noResponse();
    }
    this.countRequest(f);
    if (this.principal === null) {
      // Nothing changes responses here but ApiVersions narrowing.
      f.streams = f.apiKey != ApiKey.ApiVersions && !this.rewritesBrokers(f);
      return this.trailingPtr != 0 ? this.applyEdits(f) : Verdict.Forward;
    }
    // A fetch or share session another connection opened holds topics this request never names.
    const session = this.sessions!.request(f, principal);
    if (session != Verdict.Forward) {
      if (session == Verdict.Reject) this.reason = "could not answer a request naming another connection's session";
      return session;
    }
    // Authorization first: a refused request is answered, whatever its names would become.
    let verdict = Verdict.Forward;
    if (authz !== null) {
      verdict = authz.finishRequest(f, acksZero, this.scan.edits);
      this.countPrincipal(principal, verdict != Verdict.Forward || authz.refusedEntries);
    }
    // Guardrails next: the broker checks policies on what an authorized request asks for.
    if (verdict == Verdict.Forward && guard !== null) {
      verdict = guard.finishRequest(f, this.scan.acksValue, acksZero, authz !== null ? authz.refusedCount : 0,
        authz !== null ? authz.entryErrorCode : 0);
      if (verdict == Verdict.Reject) {
        this.reason = guard.reason;
        return verdict;
      }
    }
    // Validation last of the three: records of what the others let through.
    if (verdict == Verdict.Forward && validation !== null) {
      const byAuthz = authz !== null ? authz.refusedCount : 0;
      verdict = validation.finishRequest(f, acksZero, byAuthz + (guard !== null ? guard.refusedCount : 0),
        byAuthz > 0 ? authz!.entryErrorCode : 0);
      if (verdict == Verdict.Reject) {
        this.reason = validation.reason;
        return verdict;
      }
    }
    if (verdict == Verdict.Forward && rewrite !== null) verdict = rewrite.finishRequest(f);
    if (verdict == Verdict.Reject) this.reason = "could not answer or rewrite a " + apiName(f.apiKey) + " request";
    // Only a request the broker gets has an answer the bookkeeping waits for.
    if (isSasl && (verdict == Verdict.Forward || verdict == Verdict.Replace)) {
      this.principal!.saslRequest(f.apiKey == ApiKey.SaslAuthenticate);
    }
    // Fetch responses are the bulk of what consumers read: they go on as they arrive
    // (connection.ts) when no stage can change them: with topic ids (Fetch v13+, share fetches)
    // or without tenant renames, and only topics the requester may read in them (a new
    // session, or one this principal opened; requests naming another's are answered above).
    const k = f.apiKey;
    f.streams = (k == ApiKey.Fetch || k == ApiKey.ShareFetch) && this.sessions!.owned &&
      (rewrite === null || k == ApiKey.ShareFetch || f.apiVersion >= 13) && !this.rewritesBrokers(f);
    // Those to a principal with a quota too, unless they must carry a throttle time: decided at
    // the response's start, from its size (responseStarts).
    if (f.streams && f.bucketRule >= 0) {
      f.streams = false;
      f.checksStart = true;
    }
    if (verdict != Verdict.Forward) return verdict;
    return this.applyEdits(f);
  }

  // Lineage counts per principal, else per client id.
  private lineageWorkload(principal: string, clientIdPtr: usize, clientIdLen: i32): void {
    if (principal.length == 0) {
      this.lineage!.workload(clientIdPtr, clientIdLen);
      return;
    }
    if (changetype<usize>(principal) != changetype<usize>(this.workloadName)) {
      this.workloadBytes = String.UTF8.encode(principal);
      this.workloadName = principal;
    }
    this.lineage!.workload(changetype<usize>(this.workloadBytes), this.workloadBytes.byteLength);
  }

  // Responses to this request may name brokers the gateway stage must readdress: they are held
  // whole (not streamed) so that they can be changed.
  private rewritesBrokers(f: KafkaFrame): bool {
    return this.gateway !== null && carriesBrokers(f.apiKey, f.apiVersion);
  }

  private countPrincipal(principal: string, denied: bool): void {
    const m = this.metrics;
    if (m === null) return;
    // Principals are cached strings, so identity tells whether it changed.
    if (this.principalLabel === null || changetype<usize>(principal) != changetype<usize>(this.labelledPrincipal)) {
      const bytes = String.UTF8.encode(principal);
      this.principalLabel = m.principals.lookup(changetype<usize>(bytes), bytes.byteLength);
      this.labelledPrincipal = principal;
    }
    m.principalRequest(this.principalLabel!, denied);
  }

  // Forwards the frame, or the frame with the stages' edits when they changed it (the network
  // layer applies them as it sends, so record sets are not copied).
  private applyEdits(f: KafkaFrame): Verdict {
    const edits = this.scan.edits;
    // Last, so the stages' edits stay in wire order before it.
    if (this.trailingPtr != 0) edits.replace(this.trailingPtr, f.ptr + <usize>f.len, edits.bytes.len);
    if (!edits.changed) return Verdict.Forward;
    f.edits = edits;
    return Verdict.Replace;
  }

  // The one walk of the frame's body; false (counted, with the reason) when it does not decode.
  private scanFrame(f: KafkaFrame, isRequest: bool): bool {
    let n = this.walkAs(f, isRequest, f.apiVersion);
    if (n < 0 && !isRequest && f.apiKey == ApiKey.ApiVersions && f.apiVersion > 0) {
      // KIP-511 from the other side: a broker older than the request answers with a v0 body
      // (UNSUPPORTED_VERSION and its ApiVersions range). Kafka's clients read an ApiVersions
      // response that does not decode at its version as v0 (ApiVersionsResponse.parse); the
      // filter takes it only with that error code.
      const v0 = this.walkAs(f, false, 0);
      if (v0 >= 0 && this.scan.firstError == UNSUPPORTED_VERSION) n = v0;
    }
    this.trailingPtr = 0;
    if (n >= 0 && n < f.bodyLength) {
      // Bytes after the request's message (walk()): the broker ignores them, so they are
      // counted and, where frames can still be changed, stripped, so that no byte the filter
      // did not read reaches the broker.
      this.counters.requestsTrailingBytes.increment(1);
      if (this.canEdit) {
        this.trailingPtr = f.bodyPtr + <usize>n;
        if (!this.scan.wantsLayout) this.scan.edits.reset(f.ptr);
      }
    }
    if (n >= 0) return true;
    if (n == WalkError.Stopped) {
      // Only the authorization and validation stages stop a walk (MAX_REFUSED_ENTRIES).
      this.reason = "more than 5000 refused entries in one request";
      return false;
    }
    this.counters.malformed(isRequest).increment(1);
    this.reason = apiName(f.apiKey) + " v" + f.apiVersion.toString() + (isRequest ? " request" : " response") +
      " body does not decode (error " + n.toString() + ")";
    return false;
  }

  private walkAs(f: KafkaFrame, isRequest: bool, version: i16): i32 {
    this.scan.start(f.apiKey, version, isRequest, f.ptr);
    return walk(f.apiKey, version, isRequest, f.bodyPtr, f.bodyLength, this.scan);
  }

  private countRequest(f: KafkaFrame): void {
    const s = this.scan;
    if (f.apiKey == ApiKey.ApiVersions && s.softwareNameLen >= 0 && this.audit !== null) {
      this.audit!.clientSoftware(s.softwareNamePtr, s.softwareNameLen, s.softwareVersionPtr, s.softwareVersionLen);
    }
    const m = this.metrics;
    if (m !== null) {
      const client = m.clients.lookup(f.ptr + <usize>f.clientIdOffset, f.clientIdLength);
      this.client = client;
      m.request(f, client);
      const s = this.scan;
      if (f.apiKey == ApiKey.ApiVersions && s.softwareNameLen >= 0) {
        m.clientSoftware(s.softwareNamePtr, s.softwareNameLen, s.softwareVersionPtr, s.softwareVersionLen);
      }
    }
  }

  response(f: KafkaFrame): Verdict {
    f.edits = null;
    const authz = this.authz;
    const rewrite = this.rewrite;
    if (authz !== null) authz.beginResponse(f);
    if (rewrite !== null) rewrite.beginResponse(f.requester);
    if (this.lineage !== null) {
      const client = this.client;
      this.lineageWorkload(f.requester, client !== null ? client.ptr : 0, client !== null ? client.len : 0);
    }
    if (this.guard !== null) this.guard!.beginResponse(f);
    if (this.quota !== null) this.quota!.beginResponse(f);
    if (this.validation !== null) this.validation!.beginResponse(f);
    // ApiVersions responses are narrowed to the versions the filter allows (versions.ts), which
    // takes the walk's layout hooks whatever the stages need.
    const narrow = f.apiKey == ApiKey.ApiVersions && this.canEdit;
    const scan = this.scan;
    const layout = scan.wantsLayout;
    if (narrow) {
      scan.wantsLayout = true;
      scan.versions = this.versions;
    }
    // Broker addresses are readdressed where frames can be changed (the gateway needs it).
    const gateway = this.canEdit && carriesBrokers(f.apiKey, f.apiVersion) ? this.gateway : null;
    if (gateway !== null) {
      scan.wantsLayout = true;
      scan.gateway = gateway;
      gateway.beginResponse();
    }
    const decoded = this.scanFrame(f, false);
    scan.wantsLayout = layout;
    scan.versions = null;
    scan.gateway = null;
    if (!decoded) return Verdict.Reject;
    if (this.metrics !== null) this.metrics!.response(f, this.scan.firstError, this.client);
    if ((f.apiKey == ApiKey.SaslHandshake || f.apiKey == ApiKey.SaslAuthenticate) && this.principal !== null) {
      this.principal!.saslAnswer(this.scan.firstError);
      if (f.apiKey == ApiKey.SaslAuthenticate && this.audit !== null) {
        this.audit!.authentication(this.principal!.mechanismName, this.principal!.answeredUser, this.scan.firstError, f);
      }
    }
    if (this.audit !== null) this.audit!.response(f, this.scan.firstError);
    if (authz !== null && !authz.finishResponse()) {
      this.reason = apiName(f.apiKey) + " response lacks the list to merge the refused entries into";
      return Verdict.Reject;
    }
    if (this.guard !== null && !this.guard!.finishResponse()) {
      this.reason = apiName(f.apiKey) + " response lacks the list to merge the guardrails' refused entries into";
      return Verdict.Reject;
    }
    if (this.validation !== null && !this.validation!.finishResponse()) {
      this.reason = "Produce response lacks the list to merge refused records into";
      return Verdict.Reject;
    }
    if (rewrite !== null && !rewrite.finishResponse()) {
      this.reason = apiName(f.apiKey) + " response names something outside the tenant where it cannot be hidden";
      return Verdict.Reject;
    }
    if (gateway !== null && !gateway.finishResponse()) {
      this.reason = apiName(f.apiKey) + " response names broker " + gateway.refusedNode.toString() +
        ", which the gateway has no address for";
      return Verdict.Reject;
    }
    if (this.principal === null && !narrow && gateway === null) return Verdict.Forward;
    if (this.sessions !== null) this.sessions!.response(f);
    return this.applyEdits(f);
  }
}
