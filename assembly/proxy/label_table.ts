// Metrics that carry a free-text label (a topic, a client id): one set of host metrics per
// distinct label, looked up by the label's bytes in place so that counting a frame allocates
// nothing once its labels were seen. At most `cap` distinct labels get metrics of their own;
// the rest share the label `other`, which keeps the number of series bounded. Envoy shares
// metrics by name across its workers' VMs, so the bound is the whole Envoy's: each label takes a
// place in the host's shared data once (the first metric's name is its key).
import { MetricId, defineCounter } from "./metric";
import { CLAIM_FULL, CLAIM_NEW, CLAIM_PRESENT, claimShared, setShared } from "./shared_data";

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
function sanitize(ptr: usize, len: i32): string {
  if (len <= 0) return "-";
  const bytes = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    const c = load<u8>(ptr + <usize>i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x2e ||
      c == 0x5f || c == 0x2f;
    bytes[i] = ok ? c : 0x5f;
  }
  return String.UTF8.decode(bytes.buffer);
}

export class LabelTable {
  private slots: Array<LabelEntry | null>;
  private mask: u32;
  private count: i32 = 0;
  private overflow: LabelEntry | null = null;
  // The name of the table's first metric without its label: the key of its count in the shared
  // data, and with a label appended, the key of that label.
  private countKey: string;
  // No place is left in the shared data: every new label is `other`.
  private full: bool = false;

  // Metric names are `kafka_proxy.<stem>.<labelKey>.<label>`.
  constructor(private stems: string[], private labelKey: string, private cap: i32) {
    let size = 16;
    while (size < cap * 2) size <<= 1;
    this.slots = new Array<LabelEntry | null>(size);
    this.mask = <u32>size - 1;
    this.countKey = "kafka_proxy." + stems[0] + "." + labelKey;
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
    if (this.count >= this.cap || this.full) return this.other();
    const label = sanitize(ptr, len);
    if (!this.claim(label)) return this.other();
    const e = this.define(label);
    e.ptr = heap.alloc(<usize>max(len, 1));
    memory.copy(e.ptr, ptr, <usize>len);
    e.len = len;
    e.hash = hash;
    unchecked((this.slots[i] = e));
    this.count++;
    return e;
  }

  other(): LabelEntry {
    if (this.overflow === null) this.overflow = this.define(OVERFLOW_LABEL);
    return this.overflow!;
  }

  // True when the label has metrics (another worker defined them) or may have them now.
  private claim(label: string): bool {
    const key = String.UTF8.encode(this.countKey + "." + label);
    const keyPtr = changetype<usize>(key);
    const countKey = String.UTF8.encode(this.countKey);
    const r = claimShared(keyPtr, key.byteLength, changetype<usize>(countKey), countKey.byteLength, <u32>this.cap);
    // Labels are never removed: once the places are all taken, they stay taken.
    if (r == CLAIM_FULL) this.full = true;
    if (r == CLAIM_NEW) setShared(keyPtr, key.byteLength, keyPtr, 1, 0);
    return r == CLAIM_PRESENT || r == CLAIM_NEW;
  }

  private define(label: string): LabelEntry {
    const e = new LabelEntry(this.stems.length);
    for (let s = 0; s < this.stems.length; s++) {
      e.ids[s] = defineCounter("kafka_proxy." + this.stems[s] + "." + this.labelKey + "." + label);
    }
    return e;
  }
}
