// Builds the response a broker would send for a request it refuses: the response schema of
// the request's API version, its arrays mirroring the request's entries (each topic and
// partition asked about gets its entry), key fields copied from the request, every error code
// set, and every other field at its schema default. The mapping is generated (SOURCES, see
// build/codegen/response_sources.ts), so this covers every API without per-API code.
import { ByteBuffer } from "./byte_buffer";
import { ERROR_MESSAGE_ROWS, STRUCTS } from "./generated/schema_tables";
import { fieldAltSource, fieldCol, fieldDefault, fieldSource } from "./field_table";
import { ARRAY, FLEX_NEVER, FieldCol, FieldKind, KIND_MASK, ROLE_MASK, ROLE_SHIFT, Role } from "./layout";
import { isFlexible, messageStruct } from "./api_table";
import { responseHeaderVersion } from "./message_header";
import { MessageTree } from "./message_tree";
import { writeInt16, writeInt32, writeUnsignedVarint } from "./writer";

const FROM_ELEMENT: i16 = -2;

// Which entries of one request array the response answers (the rest are left out): used to
// answer only the denied part of a request whose allowed part goes to the broker. Entries are
// added as the walk meets them, so offsets only grow: membership is a look at the last one when
// adding, and a cursor moving forward when the builder walks the same array in order (a list of
// many refused entries costs linear time, not quadratic).
export class EntryFilter {
  // Request array field row the filter applies to; -1 answers everything.
  row: i32 = -1;
  // Offsets (from the request body) of the entries to answer, in increasing order.
  offsets: ByteBuffer = new ByteBuffer();
  // Per entry, when entries are answered with codes of their own (addWith): the code, the
  // error message (UTF-8 bytes that outlive the answer, e.g. a rule's) as address and length,
  // and a detail (a failing record's index, or -1).
  private codes: ByteBuffer = new ByteBuffer();
  perEntry: bool = false;
  // Set by has(): the entry found.
  hitCode: i16 = 0;
  hitMessage: usize = 0;
  hitMessageLen: i32 = 0;
  hitDetail: i32 = -1;
  // Response array row whose element, for an entry with a detail, is [detail, message] (a
  // Produce partition's record_errors); -1: none.
  detailRow: i32 = -1;
  // When set, buildErrorResponse records, per element of the array enclosing `row` whose
  // `row` array answers any entry: that array's elements (start, end, count), then the
  // enclosing element (start, end), as offsets in the answer.
  spans: ByteBuffer | null = null;
  private cursor: i32 = 0;
  // Set by buildErrorResponse: the response array that answers the entries (its field row, and
  // where its elements are in the answer), so they can be merged into the broker's response.
  answerRow: i32 = -1;
  answerStart: i32 = 0;
  answerEnd: i32 = 0;
  answerCount: i32 = 0;

  reset(row: i32): void {
    this.row = row;
    this.offsets.clear();
    this.codes.clear();
    this.perEntry = false;
    this.cursor = 0;
  }

  release(): void {
    this.offsets.release();
    this.codes.release();
  }

  // Adds the entry at `offset` with its own code and message (false when it was already there).
  addWith(offset: i32, code: i16, message: usize, messageLen: i32, detail: i32 = -1): bool {
    if (!this.add(offset)) return false;
    this.perEntry = true;
    const p = this.codes.reserve(16);
    store<i32>(p, code);
    store<u32>(p, <u32>message, 4);
    store<i32>(p, messageLen, 8);
    store<i32>(p, detail, 12);
    this.codes.len += 16;
    return true;
  }

  // Forgets the last `n` entries added (with addWith).
  dropLast(n: i32): void {
    this.offsets.len -= n * 4;
    this.codes.len -= n * 16;
  }

  // Adds the entry at `offset` unless it is the last one added (an entry refused for two of its
  // names); false when it was already there.
  add(offset: i32): bool {
    const n = this.offsets.len;
    if (n > 0 && load<i32>(this.offsets.ptr + <usize>(n - 4)) >= offset) return false;
    store<i32>(this.offsets.reserve(4), offset);
    this.offsets.len += 4;
    return true;
  }

  get size(): i32 {
    return this.offsets.len / 4;
  }

  // Starts a pass over the array's entries in wire order (has() then only moves forward).
  rewind(): void {
    this.cursor = 0;
  }

  has(offset: i32): bool {
    const ptr = this.offsets.ptr;
    const end = this.offsets.len;
    let p = this.cursor;
    while (p < end && load<i32>(ptr + <usize>p) < offset) p += 4;
    this.cursor = p;
    const found = p < end && load<i32>(ptr + <usize>p) == offset;
    if (found && this.perEntry) {
      const c = this.codes.ptr + <usize>(p / 4 * 16);
      this.hitCode = <i16>load<i32>(c);
      this.hitMessage = <usize>load<u32>(c, 4);
      this.hitMessageLen = load<i32>(c, 8);
      this.hitDetail = load<i32>(c, 12);
    }
    return found;
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
  // The error message written where the response has one (none when 0 bytes).
  message: usize = 0;
  messageLen: i32 = 0;
  detail: i32 = -1;

  struct(structIndex: i32, req: i32, element: i32): void {
    const first = <i32>unchecked(STRUCTS[structIndex]);
    const last = <i32>unchecked(STRUCTS[structIndex + 1]);
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
    let source = fieldSource(row);
    let from = source >= 0 ? this.tree.child(req, source) : -1;
    if (from < 0 && source >= 0) {
      // The request named these entries another way in this version (DeleteTopics v0-5).
      const alt = fieldAltSource(row);
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
      // With a filter naming entries, they are what is refused: the message's own error code
      // (a Fetch's, an OffsetFetch's) says nothing else went wrong, as the broker's answer would.
      // A filter naming none (a fetch session refused) keeps the code at the top level.
      const f = this.filter;
      writeInt16(this.out, f !== null && f.row >= 0 && f.size > 0 && req == 0 ? 0 : this.code);
      return;
    }
    if (kind == FieldKind.String && this.messageLen > 0 && this.code != 0 && isMessageRow(row)) {
      if (compact) writeUnsignedVarint(this.out, <u32>(this.messageLen + 1));
      else writeInt16(this.out, <i16>this.messageLen);
      this.out.append(this.message, this.messageLen);
      return;
    }
    const copy = source == FROM_ELEMENT ? element : from;
    if (copy >= 0 && this.copy(copy, kind, nullable, compact)) return;
    this.defaultOf(row, kind, nullable, compact);
  }

  private array(row: i32, kind: i32, compact: bool, from: i32, requestRow: i32): void {
    const f = this.filter;
    if (from < 0 && f !== null && row == f.detailRow && this.detail >= 0) {
      // The entry's detail and message, as one element.
      if (compact) writeUnsignedVarint(this.out, 2);
      else writeInt32(this.out, 1);
      writeInt32(this.out, this.detail);
      if (compact) writeUnsignedVarint(this.out, <u32>(this.messageLen + 1));
      else writeInt16(this.out, <i16>this.messageLen);
      this.out.append(this.message, this.messageLen);
      if (this.flexible) writeUnsignedVarint(this.out, 0);
      return;
    }
    // Response arrays nothing in the request stands for stay empty.
    let count = 0;
    if (from >= 0 && kind == FieldKind.Struct) {
      this.rewind();
      for (let e = this.tree.firstChild(from); e >= 0; e = this.tree.next(e)) if (this.wanted(from, e)) count++;
    }
    if (compact) writeUnsignedVarint(this.out, <u32>(count + 1));
    else writeInt32(this.out, count);
    if (count == 0) return;
    const elementStruct = <i32>fieldCol(row, FieldCol.Struct);
    const scalars = (fieldCol(requestRow, FieldCol.Packed) & KIND_MASK) != FieldKind.Struct;
    const start = this.out.len;
    const code = this.code;
    const message = this.message;
    const messageLen = this.messageLen;
    const spans = f !== null ? f.spans : null;
    this.rewind();
    for (let e = this.tree.firstChild(from); e >= 0; e = this.tree.next(e)) {
      if (!this.wanted(from, e)) continue;
      if (f !== null && (this.other != 0 || f.perEntry) && this.tree.row(from) == f.row) {
        if (!f.has(this.tree.offset(e))) {
          if (this.other != 0) {
            this.code = this.other;
            this.messageLen = 0;
          }
        } else if (f.perEntry) {
          this.code = f.hitCode;
          this.message = f.hitMessage;
          this.messageLen = f.hitMessageLen;
          this.detail = f.hitDetail;
        }
      }
      const spanned = spans !== null ? spans.len : 0;
      const at = this.out.len;
      if (scalars) this.struct(elementStruct, -1, e);
      else this.struct(elementStruct, e, -1);
      if (spans !== null && spans.len == spanned + 12) {
        writeSpan(spans, at);
        writeSpan(spans, this.out.len);
      }
      this.code = code;
      this.message = message;
      this.messageLen = messageLen;
      this.detail = -1;
    }
    if (spans !== null && requestRow == f!.row) {
      writeSpan(spans, start);
      writeSpan(spans, this.out.len);
      writeSpan(spans, count);
    }
    if (f !== null && requestRow == f.row && f.answerRow < 0) {
      f.answerRow = row;
      f.answerStart = start;
      f.answerEnd = this.out.len;
      f.answerCount = count;
    }
  }

  private rewind(): void {
    if (this.filter !== null) this.filter!.rewind();
  }

  // Asked for the elements of one array in wire order, after rewind().
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
        store<i8>(out.reserve(1), <i8>fieldDefault(row));
        out.len += 1;
        return;
      }
      case FieldKind.Int16:
      case FieldKind.Uint16: {
        writeInt16(out, <i16>fieldDefault(row));
        return;
      }
      case FieldKind.Int32: {
        writeInt32(out, <i32>fieldDefault(row));
        return;
      }
      case FieldKind.Int64:
      case FieldKind.Float64: {
        const v = fieldDefault(row);
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

function writeSpan(b: ByteBuffer, v: i32): void {
  store<i32>(b.reserve(4), v);
  b.len += 4;
}

// Whether response field `row` is an error message (ERROR_MESSAGE_ROWS, in row order).
function isMessageRow(row: i32): bool {
  let lo = 0;
  let hi = ERROR_MESSAGE_ROWS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const r = <i32>unchecked(ERROR_MESSAGE_ROWS[mid]);
    if (r == row) return true;
    if (r < row) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

// Writes to `out` the whole response frame (size, header, body) refusing the request whose body
// is at `ptr`, with `code` in every error code field. Returns false when the request body does
// not decode. `filter` limits one array to some of its entries, or, with `other`, answers its
// entries with `code` and the rest of that array with `other`.
export function buildErrorResponse(apiKey: i16, version: i16, correlationId: i32, ptr: usize, len: i32, code: i16,
  filter: EntryFilter | null, out: ByteBuffer, other: i16 = 0, message: usize = 0, messageLen: i32 = 0): bool {
  const b = builder;
  if (b.tree.build(apiKey, version, true, ptr, len) < 0) return false;
  b.out = out;
  b.version = version;
  b.flexible = isFlexible(apiKey, version);
  b.code = code;
  b.filter = filter;
  if (filter !== null) filter.answerRow = -1;
  b.other = other;
  b.message = message;
  b.messageLen = messageLen;
  out.clear();
  writeInt32(out, 0);
  writeInt32(out, correlationId);
  if (responseHeaderVersion(apiKey, version) >= 1) writeUnsignedVarint(out, 0);
  b.struct(messageStruct(apiKey, false), 0, -1);
  store<u32>(out.ptr, bswap<u32>(<u32>(out.len - 4)));
  // The tree is the VM's: a large request's must not stay held between refusals.
  b.tree.trim();
  return true;
}
