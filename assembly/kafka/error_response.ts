// Builds the response a broker would send for a request it refuses: the response schema of
// the request's API version, its arrays mirroring the request's entries (each topic and
// partition asked about gets its entry), key fields copied from the request, every error code
// set, and every other field at its schema default. The mapping is generated (SOURCES, see
// build/codegen/response_sources.ts), so this covers every API without per-API code.
import { ByteBuffer } from "./byte_buffer";
import { ALT_SOURCES, DEFAULTS, SOURCES, STRUCTS } from "./generated/schema_tables";
import { fieldCol } from "./field_table";
import { ARRAY, FLEX_NEVER, FieldCol, FieldKind, KIND_MASK, ROLE_MASK, ROLE_SHIFT, Role } from "./layout";
import { isFlexible, messageStruct } from "./apis";
import { responseHeaderVersion } from "./header";
import { MessageTree } from "./message_tree";
import { writeInt16, writeInt32, writeUnsignedVarint } from "./writer";

const FROM_ELEMENT: i16 = -2;

function defaultValue(row: i32): i64 {
  for (let i = 0; i < DEFAULTS.length; i += 2) if (unchecked(DEFAULTS[i]) == <i64>row) return unchecked(DEFAULTS[i + 1]);
  return 0;
}

// The source of response field `row` in versions where SOURCES' is absent (-1 if none).
function altSource(row: i32): i32 {
  for (let i = 0; i < ALT_SOURCES.length; i += 2) if (<i32>unchecked(ALT_SOURCES[i]) == row) return unchecked(ALT_SOURCES[i + 1]);
  return -1;
}

// Whether response array `row` answers the entries of request array `requestRow`.
export function answers(row: i32, requestRow: i32): bool {
  return <i32>unchecked(SOURCES[row]) == requestRow || altSource(row) == requestRow;
}

// Which entries of one request array the response answers (the rest are left out): used to
// answer only the denied part of a request whose allowed part goes to the broker.
export class EntryFilter {
  // Request array field row the filter applies to; -1 answers everything.
  row: i32 = -1;
  // Offsets (from the request body) of the entries to answer.
  offsets: ByteBuffer = new ByteBuffer();

  reset(row: i32): void {
    this.row = row;
    this.offsets.clear();
  }

  release(): void {
    this.offsets.release();
  }

  add(offset: i32): void {
    store<i32>(this.offsets.reserve(4), offset);
    this.offsets.len += 4;
  }

  get size(): i32 {
    return this.offsets.len / 4;
  }

  has(offset: i32): bool {
    for (let p: i32 = 0; p < this.offsets.len; p += 4) if (load<i32>(this.offsets.ptr + <usize>p) == offset) return true;
    return false;
  }
}

class Builder {
  tree: MessageTree = new MessageTree();
  out: ByteBuffer = new ByteBuffer();
  version: i16 = 0;
  flexible: bool = false;
  code: i16 = 0;
  filter: EntryFilter | null = null;
  // When set, the filter does not select entries: the others get this code instead.
  other: i16 = 0;

  struct(structIndex: i32, req: i32, element: i32): void {
    const first = <i32>unchecked(STRUCTS[structIndex * 2]);
    const last = first + <i32>unchecked(STRUCTS[structIndex * 2 + 1]);
    const v = this.version;
    for (let row = first; row < last; row++) {
      if (v < fieldCol(row, FieldCol.VersionMin) || v > fieldCol(row, FieldCol.VersionMax)) continue;
      // Tagged fields are optional: an answer leaves them out.
      if (fieldCol(row, FieldCol.Tag) >= 0 && v >= fieldCol(row, FieldCol.TaggedMin)) continue;
      this.field(row, req, element);
    }
    if (this.flexible) writeUnsignedVarint(this.out, 0);
  }

  private field(row: i32, req: i32, element: i32): void {
    const packed = <i32>fieldCol(row, FieldCol.Packed);
    const kind = packed & KIND_MASK;
    const compact = this.flexible && (packed & FLEX_NEVER) == 0;
    const nullable = this.version >= fieldCol(row, FieldCol.NullableMin) && this.version <= fieldCol(row, FieldCol.NullableMax);
    let source = <i32>unchecked(SOURCES[row]);
    let from = source >= 0 ? this.tree.child(req, source) : -1;
    if (from < 0 && source >= 0) {
      // The request named these entries another way in this version (DeleteTopics v0-5).
      const alt = altSource(row);
      if (alt != -1) {
        source = alt;
        from = this.tree.child(req, alt);
      }
    }
    if ((packed & ARRAY) != 0) {
      this.array(row, kind, compact, from, source);
      return;
    }
    if (kind == FieldKind.Struct) {
      if (nullable) {
        store<i8>(this.out.reserve(1), -1);
        this.out.len += 1;
        return;
      }
      this.struct(<i32>fieldCol(row, FieldCol.Struct), from, -1);
      return;
    }
    if (((packed >> ROLE_SHIFT) & ROLE_MASK) == Role.ErrorCode) {
      writeInt16(this.out, this.code);
      return;
    }
    const copy = source == FROM_ELEMENT ? element : from;
    if (copy >= 0 && this.copy(copy, kind, nullable, compact)) return;
    this.defaultOf(row, kind, nullable, compact);
  }

  private array(row: i32, kind: i32, compact: bool, from: i32, requestRow: i32): void {
    // Response arrays nothing in the request stands for stay empty.
    let count = 0;
    if (from >= 0 && kind == FieldKind.Struct) {
      for (let e = this.tree.firstChild(from); e >= 0; e = this.tree.next(e)) if (this.wanted(from, e)) count++;
    }
    if (compact) writeUnsignedVarint(this.out, <u32>(count + 1));
    else writeInt32(this.out, count);
    if (count == 0) return;
    const elementStruct = <i32>fieldCol(row, FieldCol.Struct);
    const scalars = (fieldCol(requestRow, FieldCol.Packed) & KIND_MASK) != FieldKind.Struct;
    const code = this.code;
    const f = this.filter;
    for (let e = this.tree.firstChild(from); e >= 0; e = this.tree.next(e)) {
      if (!this.wanted(from, e)) continue;
      if (this.other != 0 && f !== null && this.tree.row(from) == f.row && !f.has(this.tree.offset(e))) this.code = this.other;
      if (scalars) this.struct(elementStruct, -1, e);
      else this.struct(elementStruct, e, -1);
      this.code = code;
    }
  }

  private wanted(array: i32, element: i32): bool {
    const f = this.filter;
    if (f === null || f.row < 0 || this.other != 0 || this.tree.row(array) != f.row) return true;
    return f.has(this.tree.offset(element));
  }

  // Copies a request value of the same type; false when it cannot stand in the response as is
  // (a null where the response allows none).
  private copy(node: i32, kind: i32, nullable: bool, compact: bool): bool {
    const ptr = this.tree.start(node);
    const len = this.tree.length(node);
    if (!nullable && (kind == FieldKind.String || kind == FieldKind.Bytes)) {
      const isNull = compact ? load<u8>(ptr) == 0 : (kind == FieldKind.String ? load<i16>(ptr) == -1 : load<i32>(ptr) == -1);
      if (isNull) return false;
    }
    this.out.append(ptr, len);
    return true;
  }

  private defaultOf(row: i32, kind: i32, nullable: bool, compact: bool): void {
    const out = this.out;
    switch (kind) {
      case FieldKind.Int8:
      case FieldKind.Bool: {
        store<i8>(out.reserve(1), <i8>defaultValue(row));
        out.len += 1;
        return;
      }
      case FieldKind.Int16:
      case FieldKind.Uint16: {
        writeInt16(out, <i16>defaultValue(row));
        return;
      }
      case FieldKind.Int32: {
        writeInt32(out, <i32>defaultValue(row));
        return;
      }
      case FieldKind.Int64:
      case FieldKind.Float64: {
        const v = defaultValue(row);
        writeInt32(out, <i32>(v >> 32));
        writeInt32(out, <i32>v);
        return;
      }
      case FieldKind.Uuid: {
        memory.fill(out.reserve(16), 0, 16);
        out.len += 16;
        return;
      }
      default: {
        // Strings, bytes and record sets: null where allowed, else empty.
        if (compact) writeUnsignedVarint(out, nullable ? 0 : 1);
        else if (kind == FieldKind.String) writeInt16(out, nullable ? -1 : 0);
        else writeInt32(out, nullable ? -1 : 0);
      }
    }
  }
}

const builder = new Builder();

// Writes to `out` the whole response frame (size, header, body) refusing the request whose body
// is at `ptr`, with `code` in every error code field. Returns false when the request body does
// not decode. `filter` limits one array to some of its entries, or, with `other`, answers its
// entries with `code` and the rest of that array with `other`.
export function buildErrorResponse(apiKey: i16, version: i16, correlationId: i32, ptr: usize, len: i32, code: i16,
  filter: EntryFilter | null, out: ByteBuffer, other: i16 = 0): bool {
  const b = builder;
  if (b.tree.build(apiKey, version, true, ptr, len) < 0) return false;
  b.out = out;
  b.version = version;
  b.flexible = isFlexible(apiKey, version);
  b.code = code;
  b.filter = filter;
  b.other = other;
  out.clear();
  writeInt32(out, 0);
  writeInt32(out, correlationId);
  if (responseHeaderVersion(apiKey, version) >= 1) writeUnsignedVarint(out, 0);
  b.struct(messageStruct(apiKey, false), 0, -1);
  store<u32>(out.ptr, bswap<u32>(<u32>(out.len - 4)));
  return true;
}
