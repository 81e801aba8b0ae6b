// Quotas (issue 17): configuration mistakes refused with the key named, Kafka's rate over
// samples and its throttle time, and the stage through the filter's own Pipeline: the throttle
// time written into Produce (after its topics) and Fetch (first field) responses, nothing else
// changed, principals without a quota untouched, and the bound on buckets made by clients.
import { FrameBuilder } from "./helpers";
import { Exchange, count, metric } from "./exchange";
import { parseConfig } from "../../assembly/policy/config";
import { parseQuotas } from "../../assembly/policy/quotas";
import { parseJson } from "../../assembly/policy/json";
import { ByteBuffer } from "../../assembly/kafka/byte_buffer";
import { Verdict } from "../../assembly/proxy/kafka_frame";
import { ProxyCounters } from "../../assembly/proxy/proxy_counters";
import { VmState } from "../../filters/pipeline";
import { recordRate } from "../../filters/quotas";

// @ts-ignore: decorator
@external("env", "spec_share_data")
declare function spec_share_data(on: i32): void;

const proxyCounters = new ProxyCounters();

function sharedFor(json: string): VmState {
  const parsed = parseConfig(json);
  expect(parsed.error).toBe("");
  return VmState.of(parsed.config!, proxyCounters);
}

function configError(json: string): string {
  return parseConfig(json).error;
}

// Produce v3 from `client` with `pad` bytes of record set (not walked as batches: a null-sized
// set would do, the size is what counts).
function produceV3(client: string, pad: i32): ByteBuffer {
  const b = new FrameBuilder().i16(0).i16(3).i32(7).str(client).i16(-1).i16(-1).i32(30000).i32(1)
    .str("t").i32(1).i32(0).i32(pad).zeros(pad);
  return b.finish();
}

// The broker's Produce v3 answer: partition 0 written, throttle `throttle`.
function produceV3Response(throttle: i32): ByteBuffer {
  return new FrameBuilder().i32(7).i32(1).str("t").i32(1).i32(0).i16(0).i32(0).i32(42).i32(-1).i32(-1).i32(throttle).finish();
}

function fetchV4(client: string): ByteBuffer {
  return new FrameBuilder().i16(1).i16(4).i32(7).str(client).i32(-1).i32(500).i32(1).i32(1048576).i8(0)
    .i32(1).str("t").i32(1).i32(0).i32(0).i32(0).i32(1048576).finish();
}

// Fetch v4 answer with `pad` bytes of (empty-batch) records.
function fetchV4Response(pad: i32): ByteBuffer {
  return new FrameBuilder().i32(7).i32(0).i32(1).str("t").i32(1).i32(0).i16(0).i32(0).i32(100).i32(0).i32(100).i32(-1)
    .i32(0).finish();
}

function throttleAtEnd(b: ByteBuffer): i32 {
  return bswap<i32>(load<i32>(b.ptr + <usize>b.len - 4));
}

const QUOTA = "{\"principal_sources\": [\"client_id\"], \"quotas\": {\"rules\": [" +
  "{\"name\": \"alice\", \"principal\": \"User:alice\", \"produce_bytes_per_second\": 1000, \"fetch_bytes_per_second\": 10}," +
  "{\"name\": \"dry\", \"principal\": \"User:dry\", \"produce_bytes_per_second\": 1000, \"dry_run\": true}]}}";

describe("quotas configuration", () => {
  it("refuses mistakes with the key named", () => {
    expect(configError("{\"quotas\": []}")).toBe("config key 'quotas' must be an object");
    expect(configError("{\"quotas\": {\"rules\": []}}")).toBe("config key 'quotas.rules' must be a non-empty array");
    expect(configError("{\"quotas\": {\"rule\": []}}")).toBe("config key 'quotas.rule' is unknown");
    expect(configError("{\"quotas\": {\"rules\": [{\"name\": \"a\", \"principal\": \"p\"}]}}"))
      .toBe("config key 'quotas.rules[0]' sets no rate");
    expect(configError("{\"quotas\": {\"rules\": [{\"name\": \"a\", \"principal\": \"p\", \"produce_bytes_per_second\": 0}]}}"))
      .toBe("config key 'quotas.rules[0].produce_bytes_per_second' must be a number from 1 to 1e15");
    expect(configError("{\"quotas\": {\"rules\": [{\"name\": \"a\", \"principal\": \"p\", \"requests\": 1}]}}"))
      .toBe("config key 'quotas.rules[0].requests' is unknown");
    expect(configError("{\"quotas\": {\"samples\": 1, \"rules\": [{\"name\": \"a\", \"principal\": \"p\", \"requests_per_second\": 1}]}}"))
      .toBe("config key 'quotas.samples' is unknown");
    expect(configError("{\"quotas\": {\"rules\": [{\"name\": \"\", \"principal\": \"p\", \"requests_per_second\": 1}]}}"))
      .toBe("config key 'quotas.rules[0].name' must be a string of 1 to 64 characters");
    expect(configError("{\"forward\": \"immediately\", \"quotas\": {\"rules\": [{\"name\": \"a\", \"principal\": \"p\", \"requests_per_second\": 1}]}}")
      .includes("must be \"after_check\"")).toBe(true);
    expect(configError(QUOTA)).toBe("");
  });

  it("picks the most specific rule in Kafka's order", () => {
    const q = parseQuotas(parseJson("{\"rules\": [" +
      "{\"name\": \"all\", \"principal\": \"*\", \"requests_per_second\": 1}," +
      "{\"name\": \"each-client\", \"principal\": \"*\", \"client_id\": \"*\", \"requests_per_second\": 1}," +
      "{\"name\": \"bob\", \"principal\": \"bob\", \"requests_per_second\": 1}," +
      "{\"name\": \"bob-app\", \"principal\": \"bob\", \"client_id\": \"app\", \"requests_per_second\": 1}]}").value!).quotas!;
    const app = String.UTF8.encode("app");
    const other = String.UTF8.encode("other");
    expect(q.match("bob", changetype<usize>(app), 3)).toBe(3);
    expect(q.match("bob", changetype<usize>(other), 5)).toBe(2);
    expect(q.match("carol", changetype<usize>(other), 5)).toBe(1);
    expect(q.match("carol", 0, -1)).toBe(1);
  });
});

describe("quotas: Kafka's rate and throttle time", () => {
  it("spreads a first burst over samples-1 whole samples and throttles back to the bound", () => {
    spec_share_data(1);
    const q = parseQuotas(parseJson("{\"rules\": [{\"name\": \"a\", \"principal\": \"p\", \"requests_per_second\": 1}]}").value!).quotas!;
    const key = String.UTF8.encode("spec-rate");
    // 10,000 bytes at t=0 against 1,000 B/s: the rate is 10,000 / 10 s (11 samples of 1 s).
    expect(recordRate(key, 10000, 1000, 1000000, q)).toBe(0);
    // 1,000 more: 1,100 B/s, 10% over: (1100 - 1000) / 1000 * 10 s = 1 s.
    expect(recordRate(key, 1000, 1000, 1000000, q)).toBe(1000);
    // 5 s later, nothing more but 0 bytes: still 11,000 over 10 s.
    expect(recordRate(key, 0, 1000, 1005000, q)).toBe(1000);
    // 12 s later every sample is older than the window: nothing counts.
    expect(recordRate(key, 0, 1000, 1017000, q)).toBe(0);
    // Far over: the throttle time is at most the window (11 s).
    expect(recordRate(key, 1e9, 1000, 1017000, q)).toBe(11000);
    spec_share_data(0);
  });
});

describe("quotas stage", () => {
  it("writes the throttle time into Produce and Fetch responses of a principal over its quota", () => {
    spec_share_data(1);
    const shared = sharedFor(QUOTA);
    const x = new Exchange(shared);
    const out = new ByteBuffer();
    const before = count(shared.quotaCounters!.throttled[0]);
    // 20,000 bytes against 1,000 B/s: about 1 s over the first 10 s window.
    expect(x.requestOf(produceV3("alice", 20000), out)).toBe(Verdict.Forward);
    const response = produceV3Response(0);
    expect(x.responseTo(0, 3, response, out)).toBe(Verdict.Replace);
    const t = throttleAtEnd(out);
    expect(t).toBeGreaterThan(9000);
    expect(t).toBeLessThanOrEqual(11000);
    expect(out.len).toBe(response.len);
    expect(memory.compare(out.ptr, response.ptr, <usize>out.len - 4)).toBe(0);
    // A broker's larger throttle time stays.
    expect(x.requestOf(produceV3("alice", 10), out)).toBe(Verdict.Forward);
    expect(x.responseTo(0, 3, produceV3Response(60000), out)).toBe(Verdict.Forward);
    // Fetch responses of a principal with a quota are held whole, the throttle time set first.
    expect(x.requestOf(fetchV4("alice"), out)).toBe(Verdict.Forward);
    expect(x.requestFrame.streams).toBe(false);
    const fr = fetchV4Response(0);
    expect(x.responseTo(1, 4, fr, out)).toBe(Verdict.Replace);
    expect(bswap<i32>(load<i32>(out.ptr + 8))).toBeGreaterThan(9000);
    // Three responses throttled (the second carried the broker's longer time).
    expect(count(shared.quotaCounters!.throttled[0]) - before).toBe(3);
    expect(count(shared.quotaCounters!.throttleMs[0])).toBeGreaterThan(18000);
    spec_share_data(0);
  });

  it("leaves principals without a quota alone and only counts dry-run rules", () => {
    spec_share_data(1);
    const shared = sharedFor(QUOTA);
    const x = new Exchange(shared);
    const out = new ByteBuffer();
    expect(x.requestOf(produceV3("bob", 50000), out)).toBe(Verdict.Forward);
    expect(x.responseTo(0, 3, produceV3Response(0), out)).toBe(Verdict.Forward);
    expect(x.requestOf(fetchV4("bob"), out)).toBe(Verdict.Forward);
    expect(x.requestFrame.streams).toBe(true);
    const y = new Exchange(shared);
    const before = count(shared.quotaCounters!.throttled[1]);
    expect(y.requestOf(produceV3("dry", 50000), out)).toBe(Verdict.Forward);
    expect(y.responseTo(0, 3, produceV3Response(0), out)).toBe(Verdict.Forward);
    expect(count(shared.quotaCounters!.throttled[1]) - before).toBe(1);
    spec_share_data(0);
  });

  it("mutes a connection over its request rate after any response (no throttle field to set there)", () => {
    spec_share_data(1);
    const shared = sharedFor("{\"principal_sources\": [\"client_id\"], \"quotas\": {\"rules\": [" +
      "{\"name\": \"chatty\", \"principal\": \"User:chatty\", \"requests_per_second\": 1}]}}");
    const x = new Exchange(shared);
    const out = new ByteBuffer();
    // 12 requests against 1/s over Kafka's first 10 s: 20% over, 2 s owed.
    for (let i = 0; i < 12; i++) {
      expect(x.requestOf(new FrameBuilder().i16(18).i16(0).i32(i).str("chatty").finish(), out)).toBe(Verdict.Forward);
      x.responseTo(18, 0, new FrameBuilder().i32(i).i16(0).i32(0).finish(), out);
      if (i < 10) expect(x.pipeline.muteUntilMs()).toBe(0);
    }
    expect(x.pipeline.muteUntilMs()).toBeGreaterThan(0);
    expect(count(shared.quotaCounters!.throttled[0])).toBeGreaterThan(0);
    spec_share_data(0);
  });

  it("caps the buckets clients make: past the bound they share their rule's overflow bucket", () => {
    spec_share_data(1);
    const shared = sharedFor("{\"principal_sources\": [\"client_id\"], \"quotas\": {\"rules\": [" +
      "{\"name\": \"each\", \"principal\": \"*\", \"produce_bytes_per_second\": 1000}]}}");
    // 1,000 buckets in the filter; 2 here.
    shared.quotas!.maxEntities = 2;
    const out = new ByteBuffer();
    const before = metric("quotas.overflowed");
    for (let i = 0; i < 5; i++) {
      const x = new Exchange(shared);
      expect(x.requestOf(produceV3("c" + i.toString(), 10), out)).toBe(Verdict.Forward);
    }
    expect(metric("quotas.overflowed") - before).toBe(3);
    // The overflow bucket is shared: 3 x 4,000 bytes there exceed 1,000 B/s over 10 s.
    let last = 0;
    for (let i = 2; i < 5; i++) {
      const x = new Exchange(shared);
      x.requestOf(produceV3("c" + i.toString(), 4000), out);
      x.responseTo(0, 3, produceV3Response(0), out);
      last = throttleAtEnd(out);
    }
    expect(last).toBeGreaterThan(0);
    spec_share_data(0);
  });
});
