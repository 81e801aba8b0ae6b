// The filter's frame handler, one per connection: every whole frame is walked once against the
// schema of its API version (a frame that does not decode exactly is refused: fail-closed), and
// what the walk found feeds the stages the configuration turned on.
import { FrameHandler, KafkaFrame, Verdict } from "../assembly/proxy/kafka_frame";
import { ProxyCounters } from "../assembly/proxy/counters";
import { LabelEntry } from "../assembly/proxy/label_table";
import { walk, WalkError } from "../assembly/kafka/walker";
import { apiName, isValidVersion } from "../assembly/kafka/apis";
import { FrameScan } from "./frame_scan";
import { KafkaMetrics } from "./metrics";
import { TopicIds } from "./topic_ids";
import { AuthzCounters, AuthzStage } from "./authz";
import { Acl } from "../assembly/policy/acl";
import { Principal } from "../assembly/policy/principal";
import { RewriteRules } from "../assembly/policy/rewrite_rules";
import { RewriteCounters, RewriteStage } from "./rewrite";
import { ApiKey } from "../assembly/kafka/api_keys";
import { FilterConfig } from "../assembly/policy/config";

// What the root hands every connection's pipeline.
export class Shared {
  counters: ProxyCounters;
  metrics: KafkaMetrics | null = null;
  topicIds: TopicIds = new TopicIds();
  acl: Acl | null = null;
  authzCounters: AuthzCounters | null = null;
  rewrite: RewriteRules | null = null;
  rewriteCounters: RewriteCounters | null = null;
  principalSources: StaticArray<i32> = [];

  constructor(counters: ProxyCounters) {
    this.counters = counters;
  }

  // The stages `c` turns on, counting into `counters`.
  static of(c: FilterConfig, counters: ProxyCounters): Shared {
    const shared = new Shared(counters);
    shared.metrics = c.metrics ? new KafkaMetrics(c.maxTopicLabels, c.maxClientLabels) : null;
    shared.acl = c.acl;
    shared.principalSources = c.principalSources;
    if (c.acl !== null) shared.authzCounters = new AuthzCounters();
    shared.rewrite = c.rewrite;
    if (c.rewrite !== null) shared.rewriteCounters = new RewriteCounters();
    return shared;
  }
}

export class Pipeline extends FrameHandler {
  private scan: FrameScan;
  private counters: ProxyCounters;
  private metrics: KafkaMetrics | null;
  private principal: Principal | null = null;
  private authz: AuthzStage | null = null;
  private rewrite: RewriteStage | null = null;
  // The client id label of the connection's latest request, for its responses' bytes.
  private client: LabelEntry | null = null;
  // The metrics label of the connection's principal, looked up again only when it changes.
  private principalLabel: LabelEntry | null = null;
  private labelledPrincipal: string = "";

  constructor(shared: Shared) {
    super();
    this.counters = shared.counters;
    this.metrics = shared.metrics;
    this.scan = new FrameScan(shared.topicIds);
    this.scan.metrics = shared.metrics;
    if (shared.acl !== null || shared.rewrite !== null) this.policyStages(shared);
  }

  // The stages that need a principal and change frames.
  private policyStages(shared: Shared): void {
    const principal = new Principal(shared.principalSources);
    this.principal = principal;
    this.scan.principal = principal;
    // Stages that change frames need the walk's layout hooks.
    this.scan.wantsLayout = true;
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
  }

  // The connection ended: its off-heap buffers go back (the GC does not see them).
  release(): void {
    if (this.principal !== null) this.principal!.release();
    this.scan.edits.release();
    if (this.authz !== null) this.authz!.release();
    if (this.rewrite !== null) this.rewrite!.release();
  }

  request(f: KafkaFrame): Verdict {
    f.edits = null;
    if (!isValidVersion(f.apiKey, f.apiVersion)) {
      // KIP-511: clients open with their newest ApiVersions; the broker answers in v0. Its body
      // is not walked, so nothing from the previous frame's scan may be counted for it.
      if (f.apiKey == ApiKey.ApiVersions) {
        this.scan.start(f.apiKey, f.apiVersion, true, f.ptr);
        this.countRequest(f);
        return Verdict.Forward;
      }
      this.counters.requestsUnsupported.increment(1);
      this.reason = "request for unknown API key " + f.apiKey.toString() + " version " + f.apiVersion.toString();
      return Verdict.Reject;
    }
    const authz = this.authz;
    const rewrite = this.rewrite;
    const principal = this.principal !== null ? this.principal!.name(f.ptr + <usize>f.clientIdOffset, f.clientIdLength) : "";
    if (authz !== null) authz.beginRequest(f, principal);
    if (rewrite !== null) rewrite.beginRequest(principal);
    if (!this.scanFrame(f, true)) return Verdict.Reject;
    // Produce with acks=0 is never answered: it must not wait in the correlation table.
    const acksZero = f.apiKey == ApiKey.Produce && this.scan.acksValue == 0;
    if (acksZero) f.expectsResponse = false;
    this.countRequest(f);
    if (this.principal === null) return Verdict.Forward;
    // Authorization first: a refused request is answered, whatever its names would become.
    let verdict = Verdict.Forward;
    if (authz !== null) {
      verdict = authz.finishRequest(f, acksZero, this.scan.edits);
      this.countPrincipal(principal, verdict != Verdict.Forward || authz.refusedEntries);
    }
    if (verdict == Verdict.Forward && rewrite !== null) verdict = rewrite.finishRequest(f);
    if (verdict == Verdict.Reject) this.reason = "could not answer or rewrite a " + apiName(f.apiKey) + " request";
    if (verdict != Verdict.Forward) return verdict;
    return this.applyEdits(f);
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
    if (!edits.changed) return Verdict.Forward;
    f.edits = edits;
    return Verdict.Replace;
  }

  // The one walk of the frame's body; false (counted, with the reason) when it does not decode.
  private scanFrame(f: KafkaFrame, isRequest: bool): bool {
    this.scan.start(f.apiKey, f.apiVersion, isRequest, f.ptr);
    const n = walk(f.apiKey, f.apiVersion, isRequest, f.bodyPtr, f.bodyLength, this.scan);
    if (n >= 0) return true;
    if (n == WalkError.Stopped) {
      // Only the authorization stage stops a walk (MAX_REFUSED_ENTRIES).
      this.reason = "more than 5000 refused entries in one request";
      return false;
    }
    this.counters.malformed(isRequest).increment(1);
    this.reason = apiName(f.apiKey) + " v" + f.apiVersion.toString() + (isRequest ? " request" : " response") +
      " body does not decode (error " + n.toString() + ")";
    return false;
  }

  private countRequest(f: KafkaFrame): void {
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
    if (rewrite !== null) rewrite.beginResponse();
    if (!this.scanFrame(f, false)) return Verdict.Reject;
    if (this.metrics !== null) this.metrics!.response(f, this.scan.firstError, this.client);
    if (f.apiKey == ApiKey.SaslAuthenticate && this.principal !== null) this.principal!.saslResult(this.scan.firstError);
    if (authz !== null && !authz.finishResponse()) {
      this.reason = apiName(f.apiKey) + " response lacks the list to merge the refused entries into";
      return Verdict.Reject;
    }
    if (rewrite !== null && !rewrite.finishResponse()) {
      this.reason = apiName(f.apiKey) + " response names something outside the tenant where it cannot be hidden";
      return Verdict.Reject;
    }
    if (this.principal === null) return Verdict.Forward;
    return this.applyEdits(f);
  }
}
