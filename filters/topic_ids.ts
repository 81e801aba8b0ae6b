// Topic ids learned from broker responses (Metadata v10+ pairs each topic's name with its id;
// so do CreateTopics v7+ and DescribeTopicPartitions responses), so that requests naming topics
// only by id (Produce v13, Fetch v13+, ...) can be authorized, counted and rewritten by name.
//
// Envoy runs one VM per worker and a client's connections land on any worker: the connection
// that fetched the metadata is rarely the one that produces. So every id learned is also put in
// Envoy's shared data (common to all workers of the VM id), and an id this worker has not seen is
// looked up there before it is called unknown. The local map is a cache of it. Both are bounded.
// What goes into the shared map comes only from broker responses to Metadata and
// DescribeTopicPartitions (which name topics that exist): never from client bytes, and not from
// CreateTopics responses (a validate-only request creates nothing, so its answer need not name a
// real topic: a client with CREATE rights could fill the map with them). An id maps to one name for its whole life (Kafka
// never renames topics and never reuses ids), so an entry is written once and never updated.
import { MetricId, add, defineCounter } from "../assembly/proxy/host_metrics";
import { CLAIM_FULL, CLAIM_NEW, claimShared, getShared, setShared } from "../assembly/proxy/shared_data";
import { LabelEntry } from "../assembly/proxy/label_table";

// Kafka's limit on topic name length.
const MAX_NAME_LENGTH = 249;
// At most this many ids in the shared map: about 300 bytes each (key, name, the host's
// bookkeeping), so under 20 MB for the whole Envoy. Past it, ids are still learned per worker.
const MAX_SHARED_IDS: u32 = 65536;
// The per-worker cache is direct-mapped: this many places (a few MB at most), an id's place
// given by its hash.
const LOCAL_IDS: u32 = 16384;
// Shared-data keys: "kafka_proxy.topic_id:" then an id's 16 bytes (filled in per lookup), and
// "kafka_proxy.topic_ids" for the number of ids shared. Static, so a lookup allocates nothing.
const KEY_PREFIX_LENGTH = 21;
const KEY_LENGTH = KEY_PREFIX_LENGTH + 16;
const KEY = memory.data<u8>([107, 97, 102, 107, 97, 95, 112, 114, 111, 120, 121, 46, 116, 111, 112, 105, 99, 95, 105, 100, 58,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const COUNT_KEY = memory.data<u8>([107, 97, 102, 107, 97, 95, 112, 114, 111, 120, 121, 46, 116, 111, 112, 105, 99, 95, 105, 100, 115]);
const COUNT_KEY_LENGTH = 21;
// A name or count read from the shared map.
const VALUE = memory.data(MAX_NAME_LENGTH);

export class TopicIdEntry {
  // The metrics stage's label for the topic, taken when records are first counted.
  label: LabelEntry | null = null;
  constructor(public hi: u64, public lo: u64, public namePtr: usize, public nameLen: i32) {}
}

export class TopicIds {
  // By place; an id whose place another id holds is looked up in the shared map and takes the
  // place (entries are checked against the whole id).
  private entries: Map<u32, TopicIdEntry> = new Map();
  // Ids this worker had not seen, found in the shared map (learned by another worker); ids left
  // out of the shared map because it was full.
  private sharedHits: MetricId = defineCounter("topic_ids.shared_hits");
  private sharedFull: MetricId = defineCounter("topic_ids.shared_full");

  @inline private static hash(hi: u64, lo: u64): u32 {
    const h = hi ^ (lo * 0x9e3779b97f4a7c15);
    return <u32>(h ^ (h >> 32)) & (LOCAL_IDS - 1);
  }

  // Learns an id from a broker response; `share` puts it in the shared map too.
  learn(idPtr: usize, namePtr: usize, nameLen: i32, share: bool): void {
    const hi = load<u64>(idPtr);
    const lo = load<u64>(idPtr + 8);
    if ((hi == 0 && lo == 0) || nameLen <= 0 || nameLen > MAX_NAME_LENGTH) return;
    if (this.local(hi, lo) !== null) return;
    this.remember(hi, lo, namePtr, nameLen);
    if (share) this.publish(idPtr, namePtr, nameLen);
  }

  // The entry of a topic id, or null when no worker has seen it.
  find(idPtr: usize): TopicIdEntry | null {
    const hi = load<u64>(idPtr);
    const lo = load<u64>(idPtr + 8);
    const e = this.local(hi, lo);
    if (e !== null) return e;
    const n = getShared(keyOf(idPtr), KEY_LENGTH, VALUE, MAX_NAME_LENGTH);
    if (n <= 0) return null;
    add(this.sharedHits, 1);
    return this.remember(hi, lo, VALUE, n);
  }

  private local(hi: u64, lo: u64): TopicIdEntry | null {
    const h = TopicIds.hash(hi, lo);
    if (!this.entries.has(h)) return null;
    const e = this.entries.get(h);
    return e.hi == hi && e.lo == lo ? e : null;
  }

  // Caches an entry. Entries are only held within the walk of one frame.
  private remember(hi: u64, lo: u64, namePtr: usize, nameLen: i32): TopicIdEntry {
    const h = TopicIds.hash(hi, lo);
    // An id with the same hash gives up its place (and its name, held by no one past the walk
    // that looked it up).
    if (this.entries.has(h)) heap.free(this.entries.get(h).namePtr);
    const name = heap.alloc(<usize>nameLen);
    memory.copy(name, namePtr, <usize>nameLen);
    const e = new TopicIdEntry(hi, lo, name, nameLen);
    this.entries.set(h, e);
    return e;
  }

  // Puts an id in the shared map unless it is there or the map is full.
  private publish(idPtr: usize, namePtr: usize, nameLen: i32): void {
    const key = keyOf(idPtr);
    const claim = claimShared(key, KEY_LENGTH, COUNT_KEY, COUNT_KEY_LENGTH, MAX_SHARED_IDS);
    if (claim == CLAIM_NEW) setShared(key, KEY_LENGTH, namePtr, nameLen, 0);
    else if (claim == CLAIM_FULL) add(this.sharedFull, 1);
  }
}

function keyOf(idPtr: usize): usize {
  memory.copy(KEY + KEY_PREFIX_LENGTH, idPtr, 16);
  return KEY;
}
