import { FrameHandler, KafkaFrame, Verdict } from "../assembly/proxy/kafka_frame";
import { FilterConfig } from "../assembly/policy/config";

export class Pipeline extends FrameHandler {
  constructor(private config: FilterConfig) {
    super();
  }
  request(frame: KafkaFrame): Verdict {
    return Verdict.Forward;
  }
  response(frame: KafkaFrame): Verdict {
    return Verdict.Forward;
  }
}
