// Version gating: a client and a broker may only agree on API versions the filter can check (its
// schemas, lowered by the configuration's `api_versions` caps). Both learn each other's ranges
// from ApiVersions alone, so the filter answers ApiVersions versions it does not know itself, as
// an older broker would, and narrows every ApiVersions response to its own ranges: whatever
// release the broker and client are, they settle on versions the filter walks.
import { KafkaFrame } from "../assembly/proxy/kafka_frame";
import { FrameEdits } from "../assembly/kafka/frame_edits";
import { isKnownApi, isValidVersion, lowestVersion } from "../assembly/kafka/api_table";
import { writeInt16, writeInt32 } from "../assembly/kafka/writer";
import { ApiKey } from "../assembly/kafka/api_keys";

const UNSUPPORTED_VERSION: i16 = 35;

@inline function readInt16(ptr: usize): i16 {
  return <i16>bswap<u16>(load<u16>(ptr));
}

export class VersionGate {
  // Per API key, the newest version the filter allows (FilterConfig.maxVersions).
  constructor(private max: StaticArray<i16>) {}

  allows(apiKey: i16, version: i16): bool {
    return isValidVersion(apiKey, version) && version <= unchecked(this.max[apiKey]);
  }

  // KIP-511, as Kafka's broker does it for an ApiVersions request of a version it does not
  // know: a version 0 response (header v0), UNSUPPORTED_VERSION, and the one range the client
  // needs to retry with, ApiVersions' own. The body of such a request is not read, by Kafka
  // either.
  answerUnsupported(f: KafkaFrame): void {
    const out = f.rewritten;
    out.clear();
    writeInt32(out, 16);
    writeInt32(out, f.correlationId);
    writeInt16(out, UNSUPPORTED_VERSION);
    writeInt32(out, 1);
    writeInt16(out, <i16>ApiKey.ApiVersions);
    writeInt16(out, lowestVersion(<i16>ApiKey.ApiVersions));
    writeInt16(out, unchecked(this.max[<i32>ApiKey.ApiVersions]));
  }

  // One ApiKeys entry of an ApiVersions response, walked whole from `ptr` (ApiKey, MinVersion,
  // MaxVersion first in every version): its maximum is capped at the filter's by rewriting the
  // int16 in place; an API the filter does not know, or whose range ends below the broker's
  // minimum, is dropped from the list. Minima stay as the broker sent them: Kafka 4 advertises
  // Produce from v0 although it serves v3+ only, because librdkafka's feature detection looks
  // at the advertised minima (KAFKA-18659); clients pick the newest common version anyway. The
  // features and other tagged fields stay as they are.
  narrow(ptr: usize, edits: FrameEdits): void {
    const key = readInt16(ptr);
    const brokerMax = readInt16(ptr + 4);
    const hi = isKnownApi(key) ? min(brokerMax, unchecked(this.max[key])) : -1;
    if (hi < readInt16(ptr + 2)) {
      edits.dropElement();
      return;
    }
    if (hi != brokerMax) replaceInt16(edits, ptr + 4, hi);
  }
}

function replaceInt16(edits: FrameEdits, at: usize, v: i16): void {
  const mark = edits.bytes.len;
  writeInt16(edits.bytes, v);
  edits.replace(at, at + 2, mark);
}
