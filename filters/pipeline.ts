// The filter's frame handler: every whole frame is decoded here once, against the schema of
// its API version; a frame that does not decode exactly is refused (fail-closed).
import { FrameHandler, KafkaFrame, Verdict } from "../assembly/proxy/kafka_frame";
import { ProxyCounters } from "../assembly/proxy/counters";
import { walk, Visitor } from "../assembly/kafka/walker";
import { apiName, isValidVersion } from "../assembly/kafka/apis";

const API_VERSIONS: i16 = 18;

// What one walk of a request body tells the pipeline.
class RequestFacts extends Visitor {
  acksValue: i16 = -1;

  reset(): void {
    this.acksValue = -1;
  }

  acks(value: i16): void {
    this.acksValue = value;
  }
}

// Responses are walked to prove they decode; nothing is collected yet.
class ResponseCheck extends Visitor {}

export class Pipeline extends FrameHandler {
  private facts: RequestFacts = new RequestFacts();
  private responseCheck: ResponseCheck = new ResponseCheck();

  constructor(private counters: ProxyCounters) {
    super();
  }

  request(f: KafkaFrame): Verdict {
    if (!isValidVersion(f.apiKey, f.apiVersion)) {
      // KIP-511: clients open with their newest ApiVersions; the broker answers in v0.
      if (f.apiKey == API_VERSIONS) return Verdict.Forward;
      this.counters.requestsUnsupported.increment(1);
      this.reason = "request for unknown API key " + f.apiKey.toString() + " version " + f.apiVersion.toString();
      return Verdict.Reject;
    }
    this.facts.reset();
    const n = walk(f.apiKey, f.apiVersion, true, f.bodyPtr, f.bodyLength, this.facts);
    if (n < 0) {
      this.counters.requestsMalformed.increment(1);
      this.reason = apiName(f.apiKey) + " v" + f.apiVersion.toString() + " request body does not decode (error " +
        n.toString() + ")";
      return Verdict.Reject;
    }
    // Produce with acks=0 is never answered: it must not wait in the correlation table.
    if (f.apiKey == 0 && this.facts.acksValue == 0) f.expectsResponse = false;
    return Verdict.Forward;
  }

  response(f: KafkaFrame): Verdict {
    const n = walk(f.apiKey, f.apiVersion, false, f.bodyPtr, f.bodyLength, this.responseCheck);
    if (n < 0) {
      this.counters.responsesMalformed.increment(1);
      this.reason = apiName(f.apiKey) + " v" + f.apiVersion.toString() + " response body does not decode (error " +
        n.toString() + ")";
      return Verdict.Reject;
    }
    return Verdict.Forward;
  }
}
