// The filter's frame handler, one per connection: every whole frame is walked once against the
// schema of its API version (a frame that does not decode exactly is refused: fail-closed), and
// what the walk found feeds the stages the configuration turned on.
import { FrameHandler, KafkaFrame, Verdict } from "../assembly/proxy/kafka_frame";
import { ProxyCounters } from "../assembly/proxy/counters";
import { LabelEntry } from "../assembly/proxy/label_table";
import { walk } from "../assembly/kafka/walker";
import { apiName, isValidVersion } from "../assembly/kafka/apis";
import { FrameScan } from "./frame_scan";
import { KafkaMetrics } from "./metrics";

const PRODUCE: i16 = 0;
const API_VERSIONS: i16 = 18;

export class Pipeline extends FrameHandler {
  private scan: FrameScan = new FrameScan();
  // The client id label of the connection's latest request, for its responses' bytes.
  private client: LabelEntry | null = null;

  constructor(private counters: ProxyCounters, private metrics: KafkaMetrics | null) {
    super();
    this.scan.metrics = metrics;
  }

  request(f: KafkaFrame): Verdict {
    if (!isValidVersion(f.apiKey, f.apiVersion)) {
      // KIP-511: clients open with their newest ApiVersions; the broker answers in v0. Its body
      // is not walked, so nothing from the previous frame's scan may be counted for it.
      if (f.apiKey == API_VERSIONS) {
        this.scan.start(f.apiKey, true);
        return this.countRequest(f);
      }
      this.counters.requestsUnsupported.increment(1);
      this.reason = "request for unknown API key " + f.apiKey.toString() + " version " + f.apiVersion.toString();
      return Verdict.Reject;
    }
    if (!this.scanFrame(f, true)) return Verdict.Reject;
    // Produce with acks=0 is never answered: it must not wait in the correlation table.
    if (f.apiKey == PRODUCE && this.scan.acksValue == 0) f.expectsResponse = false;
    return this.countRequest(f);
  }

  // The one walk of the frame's body; false (counted, with the reason) when it does not decode.
  private scanFrame(f: KafkaFrame, isRequest: bool): bool {
    this.scan.start(f.apiKey, isRequest);
    const n = walk(f.apiKey, f.apiVersion, isRequest, f.bodyPtr, f.bodyLength, this.scan);
    if (n >= 0) return true;
    this.counters.malformed(isRequest).increment(1);
    this.reason = apiName(f.apiKey) + " v" + f.apiVersion.toString() + (isRequest ? " request" : " response") +
      " body does not decode (error " + n.toString() + ")";
    return false;
  }

  private countRequest(f: KafkaFrame): Verdict {
    const m = this.metrics;
    if (m !== null) {
      const client = m.clients.lookup(f.ptr + <usize>f.clientIdOffset, f.clientIdLength);
      this.client = client;
      m.request(f, client);
      const s = this.scan;
      if (f.apiKey == API_VERSIONS && s.softwareNameLen >= 0) {
        m.clientSoftware(s.softwareNamePtr, s.softwareNameLen, s.softwareVersionPtr, s.softwareVersionLen);
      }
    }
    return Verdict.Forward;
  }

  response(f: KafkaFrame): Verdict {
    if (!this.scanFrame(f, false)) return Verdict.Reject;
    if (this.metrics !== null) this.metrics!.response(f, this.scan.firstError, this.client);
    return Verdict.Forward;
  }
}
