// Data lineage counters (`"lineage": true`, with the metrics stage): records and bytes per
// (workload, topic, produce|consume), where the workload is the request's principal (or its
// client id when no stage names principals), and offset commits per (consumer group, topic).
// Metric names are `kafka_proxy.lineage_<stat>.principal.<workload>.topic.<topic>` and
// `kafka_proxy.lineage_group_commits.group.<group>.topic.<topic>`, turned into Prometheus
// labels by envoy-config/kafka-stats-tags.json; `kafka-proxy-wasm lineage` draws them. Both
// tables are bounded like every labelled metric (label_table.ts: max_topic_labels pairs, the
// rest under `other`), and a pair seen before costs a hash lookup, no allocation.
import { LabelEntry, LabelTable } from "../assembly/proxy/label_table";
import { add } from "../assembly/proxy/host_metrics";
import { ByteBuffer } from "../assembly/kafka/byte_buffer";

const TOPIC_SEPARATOR = ".topic.";

export class Lineage {
  private flows: LabelTable;
  private groups: LabelTable;
  private key: ByteBuffer = new ByteBuffer();
  // The workload of the frame being walked: bytes owned by the caller, valid during the walk.
  private workloadPtr: usize = 0;
  private workloadLen: i32 = 0;
  // Consumer group of the OffsetCommit being walked.
  private groupPtr: usize = 0;
  private groupLen: i32 = -1;
  // The pair the last record set was counted for (records counted after a request was decided).
  lastFlow: LabelEntry | null = null;

  constructor(maxPairs: i32) {
    this.flows = new LabelTable(["lineage_produce_records", "lineage_produce_bytes", "lineage_consume_records", "lineage_consume_bytes"],
      "principal", maxPairs);
    this.groups = new LabelTable(["lineage_group_commits"], "group", maxPairs);
  }

  workload(ptr: usize, len: i32): void {
    this.workloadPtr = ptr;
    this.workloadLen = len > 0 ? len : 0;
    this.groupLen = -1;
    this.lastFlow = null;
  }

  private pair(leftPtr: usize, leftLen: i32, topicPtr: usize, topicLen: i32): void {
    const k = this.key;
    k.clear();
    if (leftLen > 0) k.append(leftPtr, leftLen);
    else k.append(changetype<usize>(DASH), 1);
    k.append(changetype<usize>(SEPARATOR), SEPARATOR.byteLength);
    if (topicLen > 0) k.append(topicPtr, topicLen);
    else k.append(changetype<usize>(OTHER), OTHER.byteLength);
  }

  // A record set of `topic` (its metrics label: the broker's name) produced or fetched.
  flow(topic: LabelEntry, produce: bool, count: i64, bytes: i32): void {
    this.pair(this.workloadPtr, this.workloadLen, topic.ptr, topic.len);
    const e = this.flows.lookup(this.key.ptr, this.key.len);
    this.lastFlow = e;
    this.count(e, produce, count, bytes);
  }

  count(e: LabelEntry, produce: bool, count: i64, bytes: i32): void {
    add(e.ids[produce ? 0 : 2], count);
    if (bytes > 0) add(e.ids[produce ? 1 : 3], bytes);
  }

  // OffsetCommit: its group id, then each topic it commits offsets of.
  group(ptr: usize, len: i32): void {
    this.groupPtr = ptr;
    this.groupLen = len;
  }

  commit(topicPtr: usize, topicLen: i32): void {
    if (this.groupLen < 0 || topicLen < 0) return;
    this.pair(this.groupPtr, this.groupLen, topicPtr, topicLen);
    add(this.groups.lookup(this.key.ptr, this.key.len).ids[0], 1);
  }
}

const SEPARATOR = String.UTF8.encode(TOPIC_SEPARATOR);
const OTHER = String.UTF8.encode("other");
const DASH = String.UTF8.encode("-");
