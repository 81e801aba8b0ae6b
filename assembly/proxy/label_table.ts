// Metrics that carry a free-text label (a topic, a client id): one set of host metrics per
// distinct label, looked up by the label's bytes in place so that counting a frame allocates
// nothing once its labels were seen. At most `cap` distinct labels get metrics of their own;
// the rest share the label `other`, which keeps the number of series bounded. Envoy shares
// metrics by name across its workers' VMs, so the bound is the whole Envoy's: each label takes a
// place in the host's shared data once (the first metric's name is its key). A worker that finds
// the places taken still asks the shared data before it counts a new label as `other`: another
// worker may have claimed it, and the two must count under one name.
import { MetricId, defineCounter } from "./host_metrics";
import { CLAIM_FAILED, CLAIM_FULL, CLAIM_NEW, CLAIM_PRESENT, claimShared, getShared, setShared } from "./shared_data";

export const OVERFLOW_LABEL = "other";
// Longer labels (a client id can be 32 KB) share `other` too: every label becomes part of a
// metric name, kept by Envoy and sent by every stats scrape.
export const MAX_LABEL_BYTES = 256;

export class LabelEntry {
  ptr: usize = 0;
  len: i32 = 0;
  hash: u32 = 0;
  // One counter per stem, in the order the table was given them.
  ids: StaticArray<MetricId>;

  constructor(stems: i32) {
    this.ids = new StaticArray<MetricId>(stems);
  }
}

function fnv1a(ptr: usize, len: i32): u32 {
  let h: u32 = 2166136261;
  for (let i = 0; i < len; i++) h = (h ^ <u32>load<u8>(ptr + <usize>i)) * 16777619;
  return h;
}

// Envoy stat names are dot-separated and Prometheus labels come from them through regexes, so
// a label keeps only characters that are safe in both.
function sanitizedByte(c: u8): u8 {
  const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x2e ||
    c == 0x5f || c == 0x2f;
  return ok ? c : 0x5f;
}

function sanitize(ptr: usize, len: i32): string {
  if (len <= 0) return "-";
  const bytes = new Uint8Array(len);
  for (let i = 0; i < len; i++) bytes[i] = sanitizedByte(load<u8>(ptr + <usize>i));
  return String.UTF8.decode(bytes.buffer);
}

export class LabelTable {
  private slots: Array<LabelEntry | null>;
  private mask: u32;
  private count: i32 = 0;
  // Labels this table knows have no metrics of their own (all places were taken before them):
  // remembered so that they cost no shared-data lookup per frame, at most `cap` of them.
  private misses: i32 = 0;
  private overflow: LabelEntry | null = null;
  // The name of the table's first metric without its label (the key of its count in the shared
  // data), a dot, then room for a sanitized label: the shared-data key of a label is made here,
  // so that looking one up allocates nothing.
  private key: usize;
  private keyPrefix: i32;
  // No place is left in the shared data: a label has metrics only if some worker claimed it.
  private full: bool = false;

  // Metric names are `kafka_proxy.<stem>.<labelKey>.<label>`.
  constructor(private stems: string[], private labelKey: string, private cap: i32) {
    let size = 16;
    // Room for the labels and the remembered misses at a load of at most one half.
    while (size < cap * 4) size <<= 1;
    this.slots = new Array<LabelEntry | null>(size);
    this.mask = <u32>size - 1;
    const prefix = String.UTF8.encode("kafka_proxy." + stems[0] + "." + labelKey + ".");
    this.keyPrefix = prefix.byteLength;
    this.key = heap.alloc(<usize>(this.keyPrefix + MAX_LABEL_BYTES));
    memory.copy(this.key, changetype<usize>(prefix), <usize>this.keyPrefix);
  }

  get size(): i32 {
    return this.count;
  }

  lookup(ptr: usize, len: i32): LabelEntry {
    if (len < 0) len = 0;
    if (len > MAX_LABEL_BYTES) return this.other();
    const hash = fnv1a(ptr, len);
    let i = hash & this.mask;
    while (true) {
      const e = unchecked(this.slots[i]);
      if (e === null) break;
      if (e.hash == hash && e.len == len && memory.compare(e.ptr, ptr, <usize>len) == 0) return e;
      i = (i + 1) & this.mask;
    }
    const keyLen = this.sharedKey(ptr, len);
    let known = false;
    if (!this.full) {
      const r = claimShared(this.key, keyLen, this.key, this.keyPrefix - 1, <u32>this.cap);
      // Labels are never removed: once the places are all taken, they stay taken.
      if (r == CLAIM_FULL) this.full = true;
      if (r == CLAIM_NEW) setShared(this.key, keyLen, this.key, 1, 0);
      // The host refused or other workers kept changing the count: `other` this time only.
      if (r == CLAIM_FAILED) return this.other();
      known = r == CLAIM_PRESENT || r == CLAIM_NEW;
    } else {
      // Another worker's VM may have claimed this label before the places ran out: its metrics
      // are shared by name, so this worker counts under the same label.
      known = getShared(this.key, keyLen, 0, 0) != -1;
    }
    if (!known && this.misses >= this.cap) return this.other();
    const e = known ? this.define(sanitize(ptr, len)) : this.missing();
    e.ptr = heap.alloc(<usize>max(len, 1));
    memory.copy(e.ptr, ptr, <usize>len);
    e.len = len;
    e.hash = hash;
    unchecked((this.slots[i] = e));
    if (known) this.count++;
    else this.misses++;
    return e;
  }

  other(): LabelEntry {
    if (this.overflow === null) this.overflow = this.define(OVERFLOW_LABEL);
    return this.overflow!;
  }

  // A remembered miss: its own bytes, `other`'s metrics.
  private missing(): LabelEntry {
    const e = new LabelEntry(this.stems.length);
    const o = this.other();
    for (let s = 0; s < this.stems.length; s++) e.ids[s] = o.ids[s];
    return e;
  }

  // Writes the label, sanitized, after the key's prefix; returns the key's length.
  private sharedKey(ptr: usize, len: i32): i32 {
    const at = this.key + <usize>this.keyPrefix;
    if (len == 0) {
      store<u8>(at, 0x2d);
      return this.keyPrefix + 1;
    }
    for (let i = 0; i < len; i++) store<u8>(at + <usize>i, sanitizedByte(load<u8>(ptr + <usize>i)));
    return this.keyPrefix + len;
  }

  private define(label: string): LabelEntry {
    const e = new LabelEntry(this.stems.length);
    for (let s = 0; s < this.stems.length; s++) {
      e.ids[s] = defineCounter(this.stems[s] + "." + this.labelKey + "." + label);
    }
    return e;
  }
}
