// What one walk of a frame tells the stages: every frame is walked once, and this visitor
// collects what any stage needs from it (the walk is the only parse).
import { Visitor } from "../assembly/kafka/walker";
import { Entity, Role } from "../assembly/kafka/layout";
import { countRecords } from "../assembly/kafka/record_batches";
import { LabelEntry } from "../assembly/proxy/label_table";
import { KafkaMetrics } from "./metrics";

const PRODUCE: i16 = 0;
const FETCH: i16 = 1;
const METADATA: i16 = 3;

export class FrameScan extends Visitor {
  apiKey: i16 = 0;
  isRequest: bool = true;
  metrics: KafkaMetrics | null = null;
  // Produce requests: the acks value.
  acksValue: i16 = -1;
  // Responses: the first non-zero error code in wire order, 0 if none.
  firstError: i16 = 0;
  // ApiVersions v3+ requests: the client software name and version.
  softwareNamePtr: usize = 0;
  softwareNameLen: i32 = -1;
  softwareVersionPtr: usize = 0;
  softwareVersionLen: i32 = -1;
  // The topic the record sets that follow belong to (topic names and ids come first in
  // Produce and Fetch topic structs).
  private topic: LabelEntry | null = null;
  // Metadata responses: the topic name just seen, paired with the id that follows it.
  private namePtr: usize = 0;
  private nameLen: i32 = -1;

  start(apiKey: i16, isRequest: bool): void {
    this.apiKey = apiKey;
    this.isRequest = isRequest;
    this.acksValue = -1;
    this.firstError = 0;
    this.softwareNameLen = -1;
    this.softwareVersionLen = -1;
    this.topic = null;
    this.nameLen = -1;
  }

  acks(value: i16): void {
    this.acksValue = value;
  }

  errorCode(code: i16): void {
    if (code != 0 && this.firstError == 0) this.firstError = code;
  }

  text(role: i32, ptr: usize, len: i32): void {
    if (role == Role.ClientSoftwareName) {
      this.softwareNamePtr = ptr;
      this.softwareNameLen = len;
    } else if (role == Role.ClientSoftwareVersion) {
      this.softwareVersionPtr = ptr;
      this.softwareVersionLen = len;
    }
  }

  entity(entity: i32, lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
    if (entity != Entity.TopicName || this.metrics === null) return;
    this.namePtr = valuePtr;
    this.nameLen = len;
    this.topic = len >= 0 && this.tracksRecords() ? this.metrics!.topics.lookup(valuePtr, len) : null;
  }

  topicId(ptr: usize): void {
    const m = this.metrics;
    if (m === null) return;
    if (this.apiKey == METADATA && !this.isRequest) {
      // Metadata v10+ responses pair each topic's name (just seen) with its id.
      if (this.nameLen > 0) m.learnTopicId(ptr, this.namePtr, this.nameLen);
    } else if (this.tracksRecords()) {
      this.topic = m.topicById(ptr);
    }
  }

  records(ptr: usize, len: i32): void {
    if (len <= 0 || this.topic === null || !this.tracksRecords()) return;
    this.metrics!.records(this.topic!, this.isRequest, countRecords(ptr, len), len);
  }

  private tracksRecords(): bool {
    return (this.apiKey == PRODUCE && this.isRequest) || (this.apiKey == FETCH && !this.isRequest);
  }
}
