// Edits to one frame, collected during a walk in wire order: replaced byte ranges (renamed
// names), dropped array elements (denied or hidden topics) and elements appended at an array's
// end (merged error entries). Array counts and the frame size are re-encoded as needed; every
// byte outside an edit is sent from where it is (emit) or copied as is (apply), record sets included.
//
// The owner feeds it the walk's layout hooks (arrayStart, elementStart/End, arrayEnd) and
// decides the edits; nothing here allocates once the buffers have grown to the working size.
import { ByteBuffer } from "./byte_buffer";
import { Gather } from "./gather";
import { writeInt32, writeStringLength, writeUnsignedVarint } from "./writer";

const EDIT_WIDTH = 4; // start, end (offsets in the frame), replacement offset and length in `bytes`
const NO_OP: i32 = -1;
const MAX_OPEN = 64;
// apply()'s list of ranges, reused (one VM runs one callback at a time).
const APPLY_RANGES = new Gather();

class Open {
  isArray: bool = false;
  // A tagged field's value (taggedStart): neither an array nor an element; its size prefix's
  // slot is `slot`.
  isTagged: bool = false;
  row: i32 = 0;
  start: usize = 0;
  // Arrays: the count's slot in the edit table, its value, encoding, and the changes to it.
  slot: i32 = 0;
  count: i32 = 0;
  compact: bool = false;
  dropped: i32 = 0;
  appendedCount: i32 = 0;
  // Arrays: the appended elements; elements: what takes a dropped element's place (offset and
  // length in `bytes`; nothing when 0).
  appendedAt: i32 = 0;
  appendedLen: i32 = 0;
  // Elements: edits recorded before the element (a dropped element discards its own).
  mark: i32 = 0;
  drop: bool = false;
}

// The longest string Kafka's int16 length prefix carries (topic names are limited to 249 bytes by
// the broker; group and transactional ids only by this).
export const MAX_STRING_LENGTH = 0x7fff;

export class FrameEdits {
  // The bytes edits put in place of what they replace.
  readonly bytes: ByteBuffer = new ByteBuffer();
  private table: ByteBuffer = new ByteBuffer();
  private open: StaticArray<Open> = new StaticArray<Open>(MAX_OPEN);
  private depth: i32 = 0;
  private base: usize = 0;
  // Set when the layout was deeper than MAX_OPEN (never for Kafka's schemas) or an edit was
  // out of order: apply() then refuses.
  broken: bool = false;

  constructor() {
    for (let i = 0; i < MAX_OPEN; i++) unchecked(this.open[i] = new Open());
  }

  // Frees the buffers (off the GC heap) when their connection ends.
  release(): void {
    this.bytes.release();
    this.table.release();
  }

  reset(framePtr: usize): void {
    this.base = framePtr;
    this.bytes.clear();
    this.table.clear();
    this.depth = 0;
    this.broken = false;
  }

  get count(): i32 {
    return this.table.len / (EDIT_WIDTH * 4);
  }

  // True once anything would change the frame.
  get changed(): bool {
    const n = this.count;
    for (let i = 0; i < n; i++) if (this.field(i, 3) != NO_OP) return true;
    return false;
  }

  arrayStart(row: i32, countPtr: usize, countEnd: usize, count: i32, compact: bool): void {
    const o = this.push(true, countPtr);
    if (o === null) return;
    o.row = row;
    o.slot = this.count;
    o.count = count;
    o.compact = compact;
    o.dropped = 0;
    o.appendedCount = 0;
    // The count's slot stays a no-op unless elements are dropped or appended.
    this.add(countPtr, countEnd, 0, NO_OP);
  }

  // A known tagged field's value starts: its size prefix, at [sizePtr, sizeEnd), is re-encoded
  // when edits inside change the value's length (taggedEnd).
  taggedStart(sizePtr: usize, sizeEnd: usize): void {
    const o = this.push(false, sizePtr);
    if (o === null) return;
    o.isTagged = true;
    o.slot = this.count;
    this.add(sizePtr, sizeEnd, 0, NO_OP);
  }

  taggedEnd(ptr: usize): void {
    if (this.depth == 0) return;
    const o = unchecked(this.open[--this.depth]);
    if (!o.isTagged) {
      this.broken = true;
      return;
    }
    o.isTagged = false;
    const slot = o.slot;
    if (slot >= this.count) return;
    // The edits recorded since are the value's (inner arrays and elements closed already).
    let delta: i32 = 0;
    const n = this.count;
    for (let i = slot + 1; i < n; i++) {
      const replLen = this.field(i, 3);
      if (replLen != NO_OP) delta += replLen - (this.field(i, 1) - this.field(i, 0));
    }
    if (delta == 0) return;
    const size = <i32>(ptr - this.base) - this.field(slot, 1) + delta;
    const at = this.bytes.len;
    writeUnsignedVarint(this.bytes, <u32>size);
    this.setField(slot, 2, at);
    this.setField(slot, 3, this.bytes.len - at);
  }

  elementStart(ptr: usize): void {
    const o = this.push(false, ptr);
    if (o === null) return;
    o.mark = this.count;
    o.drop = false;
    o.appendedLen = 0;
  }

  // Drops the innermost element being walked (false when the walk is not inside an array).
  dropElement(): bool {
    for (let i = this.depth - 1; i >= 0; i--) {
      const o = unchecked(this.open[i]);
      if (!o.isArray && !o.isTagged) {
        o.drop = true;
        return true;
      }
    }
    return false;
  }

  // Whether the element of the outermost array being walked is dropped already (by a stage
  // before the one asking); false outside arrays.
  outerElementDropped(): bool {
    for (let i = 0; i < this.depth; i++) {
      const o = unchecked(this.open[i]);
      if (!o.isArray && !o.isTagged) return o.drop;
    }
    return false;
  }

  // The innermost open array field's row, or -1.
  innermostArrayRow(): i32 {
    for (let i = this.depth - 1; i >= 0; i--) {
      const o = unchecked(this.open[i]);
      if (o.isArray) return o.row;
    }
    return -1;
  }

  // Replaces the element of the outermost array being walked, from anywhere inside it, with
  // the bytes appended to `bytes` since `mark` (a whole group of a listing answered with an
  // error). The walk must be inside an element of a top-level array.
  replaceOuterElement(mark: i32): void {
    if (this.depth < 2 || !unchecked(this.open[0]).isArray) {
      this.broken = true;
      return;
    }
    const o = unchecked(this.open[1]);
    o.drop = true;
    o.appendedAt = mark;
    o.appendedLen = this.bytes.len - mark;
  }

  // Where the innermost element being walked starts (0 outside arrays).
  innermostElementStart(): usize {
    for (let i = this.depth - 1; i >= 0; i--) {
      const o = unchecked(this.open[i]);
      if (!o.isArray && !o.isTagged) return o.start;
    }
    return 0;
  }

  // How many arrays enclose the walk's position.
  arrayDepth(): i32 {
    let n = 0;
    for (let i = 0; i < this.depth; i++) if (unchecked(this.open[i]).isArray) n++;
    return n;
  }

  elementEnd(ptr: usize): void {
    if (this.depth == 0) return;
    const o = unchecked(this.open[--this.depth]);
    if (o.isArray || o.isTagged) {
      this.broken = true;
      return;
    }
    if (!o.drop) return;
    this.table.len = o.mark * EDIT_WIDTH * 4;
    this.add(o.start, ptr, o.appendedAt, o.appendedLen);
    if (o.appendedLen == 0 && this.depth > 0) unchecked(this.open[this.depth - 1]).dropped++;
  }

  // Appends `count` encoded elements (`len` bytes at `src`) to the innermost open array; they
  // go in when the array ends. Calls in a row add up.
  appendElements(src: usize, len: i32, count: i32): void {
    if (this.depth == 0 || !unchecked(this.open[this.depth - 1]).isArray) {
      this.broken = true;
      return;
    }
    const o = unchecked(this.open[this.depth - 1]);
    if (o.appendedCount > 0) {
      // Only right behind the earlier ones: the appended elements are one run of bytes.
      if (o.appendedAt + o.appendedLen != this.bytes.len) {
        this.broken = true;
        return;
      }
      o.appendedLen += len;
      o.appendedCount += count;
      this.bytes.append(src, len);
      return;
    }
    o.appendedAt = this.bytes.len;
    o.appendedLen = len;
    o.appendedCount = count;
    this.bytes.append(src, len);
  }

  // Called at the end of every array field; closes it.
  arrayEnd(row: i32, ptr: usize): void {
    if (this.depth == 0) return;
    const o = unchecked(this.open[this.depth - 1]);
    if (!o.isArray || o.row != row) return;
    this.depth--;
    if (o.appendedCount > 0) this.add(ptr, ptr, o.appendedAt, o.appendedLen);
    if (o.dropped == 0 && o.appendedCount == 0) return;
    const n = o.count - o.dropped + o.appendedCount;
    const at = this.bytes.len;
    if (o.compact) writeUnsignedVarint(this.bytes, <u32>(n + 1));
    else writeInt32(this.bytes, n);
    this.setField(o.slot, 2, at);
    this.setField(o.slot, 3, this.bytes.len - at);
  }

  // Replaces [start, end) with the bytes appended to `bytes` since `mark` (= bytes.len before),
  // in place of an edit already made inside the range (a renamed name; the only edit that can
  // end past `start`, as edits come in wire order). Elements appended at `start` stay.
  replace(start: usize, end: usize, mark: i32): void {
    const last = this.table.len - EDIT_WIDTH * 4;
    if (last >= 0 && load<i32>(this.table.ptr + <usize>last, 4) > <i32>(start - this.base)) this.table.len = last;
    this.add(start, end, mark, this.bytes.len - mark);
  }

  // Puts the `nameLen` bytes at `namePtr` in place of the string whose length prefix starts at
  // `lengthPtr` and whose `len` bytes start at `valuePtr`, the length prefix re-encoded (compact
  // or int16). The one string replacement of the codec (entity renames, tenant prefixes).
  // Returns false, changing nothing, for a name longer than a Kafka string can carry. A string
  // inside a tagged field (whose size prefix would change too) is the caller's to refuse.
  replaceString(lengthPtr: usize, valuePtr: usize, len: i32, compact: bool, namePtr: usize, nameLen: i32): bool {
    if (nameLen > MAX_STRING_LENGTH) return false;
    const mark = this.bytes.len;
    writeStringLength(this.bytes, nameLen, compact);
    this.bytes.append(namePtr, nameLen);
    this.replace(lengthPtr, valuePtr + <usize>len, mark);
    return true;
  }

  // Sends the edited frame (`len` bytes at `ptr`, size prefix first) to `out`: the new size
  // prefix and replacement bytes are copied, everything between them (record sets included) is
  // referred to where it is. Returns false when the edits cannot be applied (then `out` holds
  // part of the frame and must not be sent).
  emit(ptr: usize, len: i32, out: Gather): bool {
    if (this.broken || this.depth != 0 || ptr != this.base) return false;
    // The size prefix, filled in once the edits are summed up.
    const sizeAt = out.mark();
    writeInt32(out.made, 0);
    out.took(sizeAt);
    let copied: i32 = 4;
    let size = len - 4;
    const n = this.count;
    for (let i = 0; i < n; i++) {
      const replLen = this.field(i, 3);
      if (replLen == NO_OP) continue;
      const start = this.field(i, 0);
      const end = this.field(i, 1);
      if (start < copied || end < start || end > len) return false;
      out.refer(ptr + <usize>copied, start - copied);
      out.copy(this.bytes.ptr + <usize>this.field(i, 2), replLen);
      size += replLen - (end - start);
      copied = end;
    }
    out.refer(ptr + <usize>copied, len - copied);
    out.setInt32(sizeAt, size);
    return true;
  }

  // The edited frame as one copy in `out`; false when the edits cannot be applied.
  apply(ptr: usize, len: i32, out: ByteBuffer): bool {
    const g = APPLY_RANGES;
    g.clear();
    if (!this.emit(ptr, len, g)) return false;
    out.clear();
    g.writeTo(out);
    return true;
  }

  private push(isArray: bool, start: usize): Open | null {
    if (this.depth == MAX_OPEN) {
      this.broken = true;
      return null;
    }
    const o = unchecked(this.open[this.depth++]);
    o.isArray = isArray;
    o.isTagged = false;
    o.start = start;
    return o;
  }

  private add(start: usize, end: usize, at: i32, len: i32): void {
    const p = this.table.reserve(EDIT_WIDTH * 4);
    store<i32>(p, <i32>(start - this.base));
    store<i32>(p, <i32>(end - this.base), 4);
    store<i32>(p, at, 8);
    store<i32>(p, len, 12);
    this.table.len += EDIT_WIDTH * 4;
  }

  @inline private field(i: i32, c: i32): i32 {
    return load<i32>(this.table.ptr + <usize>((i * EDIT_WIDTH + c) * 4));
  }

  @inline private setField(i: i32, c: i32, v: i32): void {
    store<i32>(this.table.ptr + <usize>((i * EDIT_WIDTH + c) * 4), v);
  }
}
