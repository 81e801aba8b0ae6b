// The metrics stage: Kafka-level numbers for Envoy's stats (README: Metrics). One instance per
// Wasm VM (Envoy worker), shared by its connections; every metric is defined the first time
// its labels are seen and only incremented after that.
import { callbackTimeNanos } from "../assembly/proxy/host";
import { KafkaFrame } from "../assembly/proxy/kafka_frame";
import { LabelEntry, LabelTable } from "../assembly/proxy/label_table";
import { MetricId, add, defineCounter, defineHistogram, recordValue } from "../assembly/proxy/host_metrics";
import { apiName } from "../assembly/kafka/api_table";
import { ByteBuffer } from "../assembly/kafka/byte_buffer";
import { TopicIds } from "./topic_ids";

const enum TopicStat {
  ProduceRecords = 0,
  ProduceBytes = 1,
  FetchRecords = 2,
  FetchBytes = 3,
}

const enum ClientStat {
  Requests = 0,
  RequestBytes = 1,
  ResponseBytes = 2,
}

class ApiVersionMetrics {
  requests: MetricId;
  requestBytes: MetricId;
  responseBytes: MetricId;
  latencyMicros: MetricId;
  // Responses by error code, defined as codes appear.
  byError: Map<i16, MetricId> = new Map();

  constructor(private stem: string) {
    this.requests = defineCounter("requests" + stem);
    this.requestBytes = defineCounter("request_bytes" + stem);
    this.responseBytes = defineCounter("response_bytes" + stem);
    this.latencyMicros = defineHistogram("latency_us" + stem);
  }

  responses(errorCode: i16): MetricId {
    if (!this.byError.has(errorCode)) {
      this.byError.set(errorCode, defineCounter("responses" + this.stem + ".error." + errorCode.toString()));
    }
    return this.byError.get(errorCode);
  }
}

export class KafkaMetrics {
  private apis: Map<i32, ApiVersionMetrics> = new Map();
  readonly topics: LabelTable;
  readonly clients: LabelTable;
  private software: LabelTable;
  // Per principal (when the authorization stage names one): requests, and requests refused in
  // whole or in part.
  readonly principals: LabelTable;
  private scratch: ByteBuffer = new ByteBuffer();

  constructor(maxTopics: i32, maxClients: i32) {
    this.topics = new LabelTable(["topic_produce_records", "topic_produce_bytes", "topic_fetch_records", "topic_fetch_bytes"],
      "topic", maxTopics);
    this.clients = new LabelTable(["client_requests", "client_request_bytes", "client_response_bytes"], "client", maxClients);
    this.software = new LabelTable(["client_software_connections"], "software", maxClients);
    this.principals = new LabelTable(["principal_requests", "principal_denied"], "principal", maxClients);
  }

  private api(apiKey: i16, version: i16): ApiVersionMetrics {
    const key = (<i32>apiKey << 16) | <i32>version;
    if (!this.apis.has(key)) {
      this.apis.set(key, new ApiVersionMetrics(".api." + apiName(apiKey) + ".v." + version.toString()));
    }
    return this.apis.get(key);
  }

  request(f: KafkaFrame, client: LabelEntry): void {
    const m = this.api(f.apiKey, f.apiVersion);
    add(m.requests, 1);
    add(m.requestBytes, f.len);
    add(client.ids[ClientStat.Requests], 1);
    add(client.ids[ClientStat.RequestBytes], f.len);
  }

  response(f: KafkaFrame, errorCode: i16, client: LabelEntry | null): void {
    const m = this.api(f.apiKey, f.apiVersion);
    add(m.responses(errorCode), 1);
    add(m.responseBytes, f.len);
    if (client !== null) add(client.ids[ClientStat.ResponseBytes], f.len);
    const now = callbackTimeNanos();
    if (now >= f.requestSentAtNanos) recordValue(m.latencyMicros, (now - f.requestSentAtNanos) / 1000);
  }

  records(topic: LabelEntry, produce: bool, count: i64, bytes: i32): void {
    add(topic.ids[produce ? TopicStat.ProduceRecords : TopicStat.FetchRecords], count);
    add(topic.ids[produce ? TopicStat.ProduceBytes : TopicStat.FetchBytes], bytes);
  }

  // The topic a topic id was last seen with, or the overflow label when it was never seen.
  topicById(ids: TopicIds, idPtr: usize): LabelEntry {
    const e = ids.find(idPtr);
    if (e === null) return this.topics.other();
    if (e.label === null) e.label = this.topics.lookup(e.namePtr, e.nameLen);
    return e.label!;
  }

  // A request from `principal`, refused in whole or in part when `denied`.
  principalRequest(principal: LabelEntry, denied: bool): void {
    add(principal.ids[0], 1);
    if (denied) add(principal.ids[1], 1);
  }

  // ApiVersions v3+ names the client software; counted once per such request (per connection).
  clientSoftware(namePtr: usize, nameLen: i32, versionPtr: usize, versionLen: i32): void {
    const s = this.scratch;
    s.clear();
    if (nameLen > 0) s.append(namePtr, nameLen);
    s.append(SLASH, 1);
    if (versionLen > 0) s.append(versionPtr, versionLen);
    add(this.software.lookup(s.ptr, s.len).ids[0], 1);
  }
}

const SLASH = memory.data<u8>([0x2f]);
