// The quotas stage: produce and fetch bytes/s and requests/s per principal (optionally per client
// id), measured as Kafka's brokers measure theirs and enforced with Kafka's own throttling.
//
// - Measure (Kafka's Rate over a SampledStat): `samples` samples of `sample_seconds` each;
//   the rate is their sum over the time they cover, at least samples-1 whole samples (so a new
//   client's first burst is spread over the window, as on the broker). Produce counts request
//   sizes as they arrive, fetch counts response sizes, requests count one each.
// - Throttle (ClientQuotaManager.throttleTime): over the bound, the time that brings the rate
//   back to it, (rate - bound) / bound * window, at most the whole window. The connection owes
//   it until then, and its Produce (v1+) and Fetch (v1+) responses carry what is left of it in
//   throttle_time_ms (the broker's own value when larger). Clients of KIP-219 versions (Produce
//   v6+, Fetch v8+) stop sending to the broker for that long on their own; older versions
//   treat it as information (the broker itself delayed the response then). As the broker
//   mutes a throttled client's channel, the connection's requests that arrive while it owes
//   throttle time are decided and then wait in Envoy's buffer (Pause) until a tick resumes it
//   (proxy_continue_stream: Envoy hands the buffer to the filters after this one), so a client
//   that ignores throttle_time_ms is slowed all the same. Nothing is refused or dropped.
// - Scope: one Envoy instance. The samples live in Envoy's shared data, so all workers' VMs
//   count into the same rate; only requests and responses of principals with a quota make host
//   calls (the clock and shared data). A bucket per (rule, principal, client id); those of "*"
//   rules are capped at 1,000 across workers, past which new ones share their rule's
//   overflow bucket (a client rotating client ids or principals gains nothing past the cap).
import { Counter } from "../assembly/proxy/host_metrics";
import { callbackTimeNanos } from "../assembly/proxy/host";
import { Status } from "../assembly/proxy/abi";
import { CLAIM_NEW, CLAIM_PRESENT, claimShared, getShared, lastSharedCas, setShared } from "../assembly/proxy/shared_data";
import { KafkaFrame } from "../assembly/proxy/kafka_frame";
import { FrameEdits } from "../assembly/kafka/frame_edits";
import { writeInt32 } from "../assembly/kafka/writer";
import { ApiKey } from "../assembly/kafka/api_keys";
import { MAX_SAMPLES, QUOTA_FETCH, QUOTA_PRODUCE, QUOTA_REQUESTS, Quotas, QuotaRule } from "../assembly/policy/quotas";

// A bucket's samples as shared data: the current sample's index (and a pad), then per sample
// its start (ms) and its value.
const SAMPLES = memory.data(8 + 16 * MAX_SAMPLES);
const CAS_TRIES = 8;
const COUNT_KEY = "kq#";

export class QuotaCounters {
  // Per rule: responses throttled (a dry-run rule's: `would_throttle`) and the time owed.
  throttled: Counter[] = [];
  throttleMs: Counter[] = [];
  // Buckets past the bound (counted into their rule's overflow bucket).
  overflowed: Counter = new Counter("quotas.overflowed");
  // Shared data the host refused or other workers kept changing: the sample was not counted.
  errors: Counter = new Counter("quotas.errors");
  countKey: ArrayBuffer = String.UTF8.encode(COUNT_KEY);

  constructor(q: Quotas) {
    for (let i = 0; i < q.rules.length; i++) {
      const r = q.rules[i];
      const name = "quotas." + r.name;
      this.throttled.push(new Counter(name + (r.dryRun ? ".would_throttle" : ".throttled_responses")));
      this.throttleMs.push(new Counter(name + ".throttle_ms"));
    }
  }
}

// Records `amount` into the bucket `key` at `now` (ms) and returns the throttle time its rate
// asks for (0 within the bound), or -1 when shared data failed.
export function recordRate(key: ArrayBuffer, amount: f64, bound: f64, now: i64, q: Quotas): i32 {
  const n = q.samples;
  const ms = <i64>q.sampleMs;
  const size = 8 + 16 * n;
  const keyPtr = changetype<usize>(key);
  const keyLen = key.byteLength;
  for (let tries = 0; tries < CAS_TRIES; tries++) {
    const got = getShared(keyPtr, keyLen, SAMPLES, size);
    let cas: u32 = 0;
    if (got == size) {
      cas = lastSharedCas();
    } else if (got == -1 || got == 0) {
      // A new bucket: samples from the epoch, which the purge below starts now.
      memory.fill(SAMPLES, 0, <usize>size);
    } else {
      return -1;
    }
    // Samples older than the window count for nothing (SampledStat.purgeObsoleteSamples).
    for (let i = 0; i < n; i++) {
      const at = SAMPLES + 8 + <usize>(i * 16);
      if (now - load<i64>(at) >= ms * <i64>n) {
        store<i64>(at, now);
        store<f64>(at, 0, 8);
      }
    }
    // The current sample, or the next one once it is complete.
    let cur = load<i32>(SAMPLES);
    if (cur < 0 || cur >= n) cur = 0;
    let at = SAMPLES + 8 + <usize>(cur * 16);
    if (now - load<i64>(at) >= ms) {
      cur = (cur + 1) % n;
      at = SAMPLES + 8 + <usize>(cur * 16);
      store<i64>(at, now);
      store<f64>(at, 0, 8);
      store<i32>(SAMPLES, cur);
    }
    store<f64>(at, load<f64>(at, 8) + amount, 8);
    const status = setShared(keyPtr, keyLen, SAMPLES, size, cas);
    if (status == Status.CasMismatch) continue;
    if (status != Status.Ok) return -1;
    // Rate.measure: the sum over the time the samples cover, at least n-1 whole samples.
    let total: f64 = 0;
    let oldest = now;
    for (let i = 0; i < n; i++) {
      const s = SAMPLES + 8 + <usize>(i * 16);
      total += load<f64>(s, 8);
      oldest = min(oldest, load<i64>(s));
    }
    let elapsed = now - oldest;
    const full = elapsed / ms;
    if (full < <i64>(n - 1)) elapsed += (<i64>(n - 1) - full) * ms;
    const rate = total * 1000 / <f64>max(elapsed, 1);
    if (rate <= bound) return 0;
    const throttle = Math.round((rate - bound) / bound * <f64>elapsed);
    return <i32>min(throttle, <f64>(ms * <i64>n));
  }
  return -1;
}

export class QuotaStage {
  // The connection's rule for its latest requester (-1: none), looked up again when the
  // principal (a cached string: identity) or, with client id rules, the client id changes.
  private rule: i32 = -1;
  private principal: string = "";
  private resolved: bool = false;
  private client: ArrayBuffer = new ArrayBuffer(0);
  private clientNull: bool = true;
  // The rule's buckets per quota kind (null: no bound of that kind).
  private keys: StaticArray<ArrayBuffer | null> = new StaticArray<ArrayBuffer | null>(3);
  // Until when (ms) the connection owes throttle time.
  private owedUntil: i64 = 0;
  // The response being walked: the throttle time to set in it (0: none).
  throttleMs: i32 = 0;
  // ...and where its body starts.
  bodyPtr: usize = 0;

  constructor(private q: Quotas, private counters: QuotaCounters) {}

  beginRequest(f: KafkaFrame, principal: string): void {
    this.resolve(principal, f.ptr + <usize>f.clientIdOffset, f.clientIdLength);
    const rule = this.rule;
    // Its response's fetch bytes count under this request's rule and bucket.
    f.bucketRule = rule;
    f.bucket = rule < 0 ? null : unchecked(this.keys[QUOTA_FETCH]);
    if (rule < 0) return;
    const r = unchecked(this.q.rules[rule]);
    const produce = f.apiKey == ApiKey.Produce && r.bounds[QUOTA_PRODUCE] > 0;
    if (!produce && r.bounds[QUOTA_REQUESTS] == 0) return;
    const now = <i64>(callbackTimeNanos() / 1000000);
    let t = 0;
    if (produce) t = this.record(r, QUOTA_PRODUCE, <f64>(f.len - 4), now);
    if (r.bounds[QUOTA_REQUESTS] > 0) t = max(t, this.record(r, QUOTA_REQUESTS, 1, now));
    if (t > 0) this.owe(now + <i64>t);
  }

  // At the start of a response that may stream (FrameHandler.responseStarts: only its size is
  // known): a fetch response's size is counted now (and not again in beginResponse), and the
  // response goes on as it arrives unless it must carry a throttle time (Fetch v1+, time owed,
  // a rule that is not a dry run), which is written once it is whole.
  responseStarts(f: KafkaFrame): bool {
    const rule = f.bucketRule;
    if (rule < 0) return true;
    const r = unchecked(this.q.rules[rule]);
    const key = f.bucket;
    const fetch = f.apiKey == ApiKey.Fetch && key !== null;
    if (!fetch && this.owedUntil == 0) return true;
    const now = <i64>(callbackTimeNanos() / 1000000);
    if (fetch) {
      const t = this.recordIn(key!, r, QUOTA_FETCH, <f64>(f.len - 4), now);
      if (t > 0) this.owe(now + <i64>t);
      f.countedAtStart = true;
    }
    // Time owed (a fetch or request rate over its bound) goes into Fetch v1+ responses.
    return r.dryRun || this.owedUntil <= now || !(f.apiKey == ApiKey.Fetch && f.apiVersion >= 1);
  }

  // Before a response is walked: the throttle time it carries, if any (Produce and Fetch v1+),
  // and the mute that follows it.
  // The rule and bucket are those of the request it answers (KafkaFrame.bucket), not of the
  // connection's latest request (pipelined requests may carry other client ids).
  beginResponse(f: KafkaFrame): void {
    this.throttleMs = 0;
    this.bodyPtr = f.bodyPtr;
    const rule = f.bucketRule;
    if (rule < 0) return;
    const r = unchecked(this.q.rules[rule]);
    const key = f.bucket;
    const fetch = f.apiKey == ApiKey.Fetch && key !== null;
    if (!fetch && this.owedUntil == 0) return;
    const now = <i64>(callbackTimeNanos() / 1000000);
    if (fetch && !f.countedAtStart) {
      const t = this.recordIn(key!, r, QUOTA_FETCH, <f64>(f.len - 4), now);
      if (t > 0) this.owe(now + <i64>t);
    }
    const left = this.owedUntil - now;
    if (left <= 0) {
      this.owedUntil = 0;
      return;
    }
    const ms = <i32>left;
    // Any response mutes the connection (a request rate quota on other APIs too); Produce and
    // Fetch v1+ also carry the time, but for a fetch response that went on as it arrived (none
    // was owed at its start: time a pipelined request ran up since goes with the next one).
    if (!r.dryRun) {
      if (f.apiVersion >= 1 && (f.apiKey == ApiKey.Produce || f.apiKey == ApiKey.Fetch) && !f.streams) this.throttleMs = ms;
      this.muteUntil = this.owedUntil;
    }
    this.counters.throttled[rule].increment(1);
    this.counters.throttleMs[rule].increment(<u32>ms);
  }

  // A request that gets no response (Produce with acks=0): the broker mutes such a channel at
  // once, as there is no response to carry the throttle time; so does the filter.
  noResponse(): void {
    const rule = this.rule;
    if (rule < 0 || this.owedUntil == 0) return;
    const r = unchecked(this.q.rules[rule]);
    const left = this.owedUntil - <i64>(callbackTimeNanos() / 1000000);
    if (left <= 0) return;
    if (!r.dryRun) this.muteUntil = this.owedUntil;
    this.counters.throttled[rule].increment(1);
    this.counters.throttleMs[rule].increment(<u32>left);
  }

  // The response's throttle_time_ms at `ptr`: the larger of the broker's and the owed time.
  setThrottle(ptr: usize, edits: FrameEdits): void {
    const ms = this.throttleMs;
    this.throttleMs = 0;
    if (ms <= bswap<i32>(load<i32>(ptr))) return;
    const mark = edits.bytes.len;
    writeInt32(edits.bytes, ms);
    edits.replace(ptr, ptr + 4, mark);
  }

  // Once a response carried a throttle time, the connection is muted until it is up (as the
  // broker mutes the channel after sending it).
  muteUntil: i64 = 0;

  private owe(until: i64): void {
    if (until > this.owedUntil) this.owedUntil = until;
  }

  private record(r: QuotaRule, kind: i32, amount: f64, now: i64): i32 {
    const key = unchecked(this.keys[kind]);
    return key === null ? 0 : this.recordIn(key, r, kind, amount, now);
  }

  private recordIn(key: ArrayBuffer, r: QuotaRule, kind: i32, amount: f64, now: i64): i32 {
    const t = recordRate(key, amount, r.bounds[kind], now, this.q);
    if (t < 0) {
      this.counters.errors.increment(1);
      return 0;
    }
    return t;
  }

  private resolve(principal: string, clientPtr: usize, clientLen: i32): void {
    const q = this.q;
    if (this.resolved && changetype<usize>(principal) == changetype<usize>(this.principal) &&
      (!q.byClient || this.sameClient(clientPtr, clientLen))) return;
    this.resolved = true;
    this.principal = principal;
    if (q.byClient) {
      this.clientNull = clientLen < 0;
      const n = max(clientLen, 0);
      if (this.client.byteLength != n) this.client = new ArrayBuffer(n);
      memory.copy(changetype<usize>(this.client), clientPtr, <usize>n);
    }
    const rule = q.match(principal, clientPtr, clientLen);
    this.rule = rule;
    for (let k = 0; k < 3; k++) unchecked(this.keys[k] = null);
    if (rule < 0) return;
    const r = unchecked(q.rules[rule]);
    // Bucket names: kind, rule, principal, and the client id when each has its own.
    let entity = "\n" + rule.toString() + "\n" + principal;
    if (r.eachClient) entity += "\n" + (clientLen < 0 ? "" : String.UTF8.decodeUnsafe(clientPtr, <usize>clientLen));
    for (let k = 0; k < 3; k++) {
      if (r.bounds[k] == 0) continue;
      let key = String.UTF8.encode("kq" + k.toString() + entity);
      // Buckets of "*" rules are made by clients: capped across workers.
      if (r.anyPrincipal || r.eachClient) {
        const c = this.counters;
        const claim = claimShared(changetype<usize>(key), key.byteLength, changetype<usize>(c.countKey),
          c.countKey.byteLength, <u32>q.maxEntities);
        if (claim == CLAIM_NEW) {
          setShared(changetype<usize>(key), key.byteLength, 0, 0, 0);
        } else if (claim != CLAIM_PRESENT) {
          c.overflowed.increment(1);
          key = String.UTF8.encode("kq" + k.toString() + "\n" + rule.toString() + "\n*");
        }
      }
      unchecked(this.keys[k] = key);
    }
  }

  private sameClient(ptr: usize, len: i32): bool {
    if (len < 0) return this.clientNull;
    return !this.clientNull && this.client.byteLength == len &&
      memory.compare(changetype<usize>(this.client), ptr, <usize>len) == 0;
  }
}
