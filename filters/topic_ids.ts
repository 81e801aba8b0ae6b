// Topic ids learned from Metadata responses (v10+ pair each topic's name with its id; so do
// CreateTopics v7+ and DescribeTopicPartitions responses), so that requests naming topics only
// by id (Produce v13, Fetch v13+) can be authorized, counted and rewritten by name. One table per Wasm VM (Envoy worker), shared by its connections: a client
// fetches metadata before it uses an id, through the same worker when it is one connection.
import { LabelEntry } from "../assembly/proxy/label_table";

export class TopicIdEntry {
  // The metrics stage's label for the topic, taken when records are first counted.
  label: LabelEntry | null = null;
  constructor(public hi: u64, public lo: u64, public namePtr: usize, public nameLen: i32) {}
}

export class TopicIds {
  private entries: Map<u64, TopicIdEntry> = new Map();

  @inline private static key(hi: u64, lo: u64): u64 {
    return hi ^ (lo * 0x9e3779b97f4a7c15);
  }

  learn(idPtr: usize, namePtr: usize, nameLen: i32): void {
    const hi = load<u64>(idPtr);
    const lo = load<u64>(idPtr + 8);
    if ((hi == 0 && lo == 0) || nameLen <= 0) return;
    const key = TopicIds.key(hi, lo);
    if (this.entries.has(key)) return;
    const name = heap.alloc(<usize>nameLen);
    memory.copy(name, namePtr, <usize>nameLen);
    this.entries.set(key, new TopicIdEntry(hi, lo, name, nameLen));
  }

  // The entry of a topic id, or null when it was never seen.
  find(idPtr: usize): TopicIdEntry | null {
    const hi = load<u64>(idPtr);
    const lo = load<u64>(idPtr + 8);
    const key = TopicIds.key(hi, lo);
    if (!this.entries.has(key)) return null;
    const e = this.entries.get(key);
    return e.hi == hi && e.lo == lo ? e : null;
  }
}
