// Version gating and tolerance through the filter's own Pipeline, as a connection drives it:
// an ApiVersions request of a version the filter does not allow gets the KIP-511 answer from
// the filter, every ApiVersions response is narrowed to the ranges the filter allows (schemas
// and `api_versions` caps), and bytes after a request's message (librdkafka's all-topics
// Metadata) are stripped rather than refused.
import { FrameBuilder, sameBytes } from "./helpers";
import { ByteBuffer } from "../../assembly/kafka/byte_buffer";
import { Gather } from "../../assembly/kafka/gather";
import { highestVersion, lowestVersion } from "../../assembly/kafka/api_table";
import { parseConfig } from "../../assembly/policy/config";
import { KafkaFrame, Verdict } from "../../assembly/proxy/kafka_frame";
import { decodeRequestHeader, decodeResponseHeader } from "../../assembly/proxy/frame_decode";
import { ProxyCounters } from "../../assembly/proxy/proxy_counters";
import { Pipeline, VmState } from "../../filters/pipeline";

const PRODUCE: i16 = 0;
const METADATA: i16 = 3;
const API_VERSIONS: i16 = 18;
const counters = new ProxyCounters();

function pipeline(json: string): Pipeline {
  const parsed = parseConfig(json);
  expect(parsed.error).toBe("");
  return new Pipeline(VmState.of(parsed.config!, counters));
}

function request(p: Pipeline, frame: ByteBuffer, f: KafkaFrame): Verdict {
  f.ptr = frame.ptr;
  f.len = frame.len;
  expect(decodeRequestHeader(f)).toBe(0);
  return p.request(f);
}

// The response to an ApiVersions request of `version`, as the client gets it.
function response(p: Pipeline, version: i16, frame: ByteBuffer, out: ByteBuffer): Verdict {
  const f = new KafkaFrame();
  f.ptr = frame.ptr;
  f.len = frame.len;
  f.apiKey = API_VERSIONS;
  f.apiVersion = version;
  expect(decodeResponseHeader(f)).toBe(0);
  const verdict = p.response(f);
  out.clear();
  if (verdict == Verdict.Forward) out.append(frame.ptr, frame.len);
  else if (verdict == Verdict.Replace) replacement(f, out);
  return verdict;
}

function replacement(f: KafkaFrame, out: ByteBuffer): void {
  const g = new Gather();
  expect(f.replacement(g)).toBe(true);
  out.clear();
  g.writeTo(out);
}

function apiVersionsRequest(version: i16): ByteBuffer {
  // Header v2, then a body the filter must not need to read (Kafka does not read it either).
  return new FrameBuilder().i16(API_VERSIONS).i16(version).i32(42).str("c").uvarint(0).raw("whatever").finish();
}

// ApiVersions v3 response (header v0, flexible body): `ranges` as key, min, max triples, then
// the throttle time and the tagged supported features and finalized features epoch.
function apiVersionsV3(ranges: i16[]): ByteBuffer {
  const b = new FrameBuilder().i32(42).i16(0).uvarint(ranges.length / 3 + 1);
  for (let i = 0; i < ranges.length; i += 3) b.i16(ranges[i]).i16(ranges[i + 1]).i16(ranges[i + 2]).uvarint(0);
  b.i32(0).uvarint(2);
  // tag 0: one supported feature, "metadata.version" 1..30 (int16 ranges the filter leaves alone)
  b.uvarint(0).uvarint(1 + 17 + 2 + 2 + 1).uvarint(2).cstr("metadata.version").i16(1).i16(30).uvarint(0);
  b.uvarint(1).uvarint(8).i32(0).i32(7);
  return b.finish();
}

// ApiVersions v0 response (not flexible): error code and the ranges.
function apiVersionsV0(error: i16, ranges: i16[]): ByteBuffer {
  const b = new FrameBuilder().i32(42).i16(error).i32(ranges.length / 3);
  for (let i = 0; i < ranges.length; i += 3) b.i16(ranges[i]).i16(ranges[i + 1]).i16(ranges[i + 2]);
  return b.finish();
}

// librdkafka 2.16's all-topics Metadata v13: a 4-byte count placeholder it never finalises,
// then the fields it meant; the broker reads null topics, false, false, no tags, and ignores
// the last three bytes.
function librdkafkaMetadata(): ByteBuffer {
  return new FrameBuilder().i16(METADATA).i16(13).i32(5).str("rdkafka").uvarint(0)
    .i8(0).i8(0).i8(0).i8(0).i8(1).i8(0).i8(0).finish();
}

describe("ApiVersions of a version the filter does not allow", () => {
  it("is answered by the filter as an older broker answers it (KIP-511)", () => {
    const f = new KafkaFrame();
    expect(request(pipeline(`{"metrics": false}`), apiVersionsRequest(99), f)).toBe(Verdict.Answer);
    expect(sameBytes(f.rewritten, apiVersionsV0(35, [API_VERSIONS, 0, highestVersion(API_VERSIONS)]))).toBe(true);
  });

  it("is answered with the capped range when the configuration caps ApiVersions", () => {
    const p = pipeline(`{"metrics": false, "api_versions": {"ApiVersions": 3}}`);
    const f = new KafkaFrame();
    expect(request(p, apiVersionsRequest(4), f)).toBe(Verdict.Answer);
    expect(sameBytes(f.rewritten, apiVersionsV0(35, [API_VERSIONS, 0, 3]))).toBe(true);
    expect(request(p, new FrameBuilder().i16(API_VERSIONS).i16(3).i32(1).str("c").uvarint(0)
      .cstr("x").cstr("1").uvarint(0).finish(), f)).toBe(Verdict.Forward);
  });

  it("is forwarded in observe-only mode, which cannot answer", () => {
    const f = new KafkaFrame();
    expect(request(pipeline(`{"forward": "immediately"}`), apiVersionsRequest(99), f)).toBe(Verdict.Forward);
  });
});

describe("ApiVersions responses", () => {
  it("are narrowed to the filter's ranges: newer maxima capped, unknown APIs dropped, minima kept", () => {
    const p = pipeline(`{"metrics": false}`);
    const out = new ByteBuffer();
    // Kafka 4 advertises Produce from v0 (for librdkafka's feature checks): the minimum stays.
    const broker = apiVersionsV3([PRODUCE, 0, 99, 999, 0, 4, METADATA, 0, 13, API_VERSIONS, 0, 7]);
    expect(response(p, 3, broker, out)).toBe(Verdict.Replace);
    const narrowed = apiVersionsV3([PRODUCE, 0, highestVersion(PRODUCE), METADATA, 0, 13,
      API_VERSIONS, 0, highestVersion(API_VERSIONS)]);
    expect(sameBytes(out, narrowed)).toBe(true);
  });

  it("are left alone when the broker's ranges are within the filter's", () => {
    const out = new ByteBuffer();
    const broker = apiVersionsV3([PRODUCE, 0, 9, METADATA, 0, 12]);
    expect(response(pipeline(`{"metrics": false}`), 3, broker, out)).toBe(Verdict.Forward);
  });

  it("apply the configured caps, in the non-flexible v0 too, and drop an API whose range is left empty", () => {
    const p = pipeline(`{"metrics": false, "api_versions": {"Produce": 9, "Metadata": 4}}`);
    const out = new ByteBuffer();
    // A broker whose Produce starts at 10 has no version left in common with the cap.
    expect(response(p, 0, apiVersionsV0(0, [PRODUCE, 10, 13, METADATA, 0, 13, 999, 0, 1]), out)).toBe(Verdict.Replace);
    expect(sameBytes(out, apiVersionsV0(0, [METADATA, 0, 4]))).toBe(true);
    expect(response(p, 0, apiVersionsV0(0, [PRODUCE, 3, 13]), out)).toBe(Verdict.Replace);
    expect(sameBytes(out, apiVersionsV0(0, [PRODUCE, 3, 9]))).toBe(true);
  });

  it("from a broker older than the request are read as KIP-511 v0 bodies, as Kafka's clients read them", () => {
    const p = pipeline(`{"metrics": false}`);
    const out = new ByteBuffer();
    // A Kafka 3.9 broker's answer to ApiVersions v5: v0, UNSUPPORTED_VERSION, its range 0..4.
    const older = apiVersionsV0(35, [API_VERSIONS, 0, 4]);
    expect(response(p, 5, older, out)).toBe(Verdict.Forward);
    expect(sameBytes(out, older)).toBe(true);
    // Without that error code a v0 body is not what the version asked for.
    expect(response(p, 5, apiVersionsV0(0, [API_VERSIONS, 0, 4]), out)).toBe(Verdict.Reject);
  });

  it("apply with the policy stages on too", () => {
    const p = pipeline(`{"metrics": false, "principal_sources": ["client_id"], "acls": {"rules": []}}`);
    const out = new ByteBuffer();
    expect(response(p, 3, apiVersionsV3([PRODUCE, 0, 99]), out)).toBe(Verdict.Replace);
    expect(sameBytes(out, apiVersionsV3([PRODUCE, 0, highestVersion(PRODUCE)]))).toBe(true);
  });
});

describe("requests of a version advertised away", () => {
  it("are refused (counted, the connection closed)", () => {
    const p = pipeline(`{"metrics": false, "api_versions": {"Metadata": 4}}`);
    const f = new KafkaFrame();
    expect(request(p, new FrameBuilder().i16(METADATA).i16(5).i32(1).str("c").i32(-1).i8(1).finish(), f)).toBe(Verdict.Reject);
    expect(p.reason).toBe("request for Metadata version 5, which the filter does not allow");
    expect(request(p, new FrameBuilder().i16(METADATA).i16(4).i32(1).str("c").i32(-1).i8(1).finish(), f)).toBe(Verdict.Forward);
  });
});

describe("bytes after a request's message", () => {
  it("are stripped before the request leaves, whatever stages are on", () => {
    const configs = [`{"metrics": false}`, `{"principal_sources": ["client_id"], "acls": {"rules": [{"principal": "*", ` +
      `"permission": "allow", "resource": "topic", "name": "*", "operations": ["describe"]}]}}`];
    for (let i = 0; i < configs.length; i++) {
      const f = new KafkaFrame();
      const frame = librdkafkaMetadata();
      expect(request(pipeline(configs[i]), frame, f)).toBe(Verdict.Replace, configs[i]);
      const out = new ByteBuffer();
      replacement(f, out);
      const whole = new ByteBuffer();
      whole.append(frame.ptr, frame.len - 3);
      store<u32>(whole.ptr, bswap<u32>(<u32>(whole.len - 4)));
      expect(sameBytes(out, whole)).toBe(true, configs[i]);
    }
  });

  it("are forwarded as they are in observe-only mode (already on their way)", () => {
    const f = new KafkaFrame();
    expect(request(pipeline(`{"forward": "immediately", "metrics": false}`), librdkafkaMetadata(), f)).toBe(Verdict.Forward);
  });
});

describe("the api_versions configuration", () => {
  it("refuses unknown APIs, versions that are not numbers or below the API's oldest, and observe-only mode", () => {
    expect(parseConfig(`{"api_versions": {"Produkt": 9}}`).error).toBe("config key 'api_versions' names an unknown API 'Produkt'");
    const range = "must be a whole number from " + lowestVersion(PRODUCE).toString() + " to 32767";
    expect(parseConfig(`{"api_versions": {"Produce": -1}}`).error).toBe("config key 'api_versions.Produce' " + range);
    expect(parseConfig(`{"api_versions": {"Produce": "9"}}`).error).toBe("config key 'api_versions.Produce' " + range);
    expect(parseConfig(`{"api_versions": {"Produce": 2}}`).error).toBe("config key 'api_versions.Produce' " + range);
    expect(parseConfig(`{"api_versions": [9]}`).error).toBe("config key 'api_versions' must be an object of API name to newest version");
    expect(parseConfig(`{"forward": "immediately", "api_versions": {"Produce": 9}}`).error)
      .toBe("config key 'forward' must be \"after_check\" when 'acls', 'rewrite', 'guardrails', 'validation', 'gateway', 'quotas' or 'api_versions' is set");
    expect(parseConfig(`{"api_versions": {"Produce": 9}}`).error).toBe("");
  });
});
