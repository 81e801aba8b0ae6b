// Walks a Kafka message in place, driven by the generated schema tables: every field of every
// API version is bounds-checked and skipped, and the fields a stage cares about (entities such
// as topic names, error codes, record sets...) are reported to a Visitor as byte ranges. Nothing
// is copied and nothing is allocated, so it runs on every frame.
import { STRUCTS } from "./generated/schema_tables";
import { fieldCol, fieldShape, shapeCol } from "./field_table";
import {
  ARRAY, ENTITY_MASK, ENTITY_SHIFT, FLEX_NEVER, FieldCol, FieldKind, KIND_MASK, ROLE_MASK,
  ROLE_SHIFT, Role,
} from "./layout";
import { isFlexible, isValidVersion, messageStruct } from "./api_table";
import { WalkSource } from "./walk_source";
import { BatchSummary } from "./record_batches";

export const enum WalkError {
  Truncated = -1,
  // A length or count that is negative where it may not be, or larger than what is left.
  BadLength = -2,
  BadVarint = -3,
  // A null where the schema does not allow one.
  BadNull = -4,
  // A known tagged field whose declared size differs from what its content takes.
  BadTaggedField = -5,
  UnknownVersion = -6,
  // A response decoded but did not use the whole frame.
  TrailingBytes = -7,
  TooDeep = -8,
  // A visitor ended the walk (stopWalk): it has seen enough to refuse the frame.
  Stopped = -9,
  // The walk's source (walk_source.ts) does not have the bytes yet: walk again with more.
  NeedMore = -10,
}

// Receives what the walk finds, in wire order. Pointers are into the walked frame.
export class Visitor {
  // A string naming an entity (`lengthPtr` is where its length prefix starts, `len` is -1 for
  // null), or an int32/int64 one (broker, producer id) with `lengthPtr == valuePtr`.
  entity(entity: i32, lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {}
  // Strings with a role: client id, client software name and version.
  text(role: i32, ptr: usize, len: i32): void {}
  // A regular expression over names (Role.NamePattern), placed like an entity string.
  namePattern(lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {}
  errorCode(code: i16): void {}
  // int8 fields with a role (FindCoordinator's KeyType).
  int8(role: i32, value: i8): void {}
  topicId(ptr: usize): void {}
  acks(value: i16): void {}
  // An AuthorizedOperations int32 at `ptr` (Role.AuthorizedOperations).
  authorizedOperations(ptr: usize): void {}
  // A value the guardrails check (Role.Guarded): its field row, where its value starts and its
  // length (1, 2 or 4 for integers; strings: -1 for null).
  guarded(row: i32, ptr: usize, len: i32): void {}
  // A broker's address in a response (Role.BrokerHost): its Host string, placed like an entity
  // string (its int32 node id is the four bytes before `lengthPtr`), then its int32 Port at `ptr`.
  brokerHost(lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {}
  brokerPort(ptr: usize): void {}
  // A record set (`len` -1 for null); its bytes are not touched. `ptr` is 0 when the bytes
  // stayed with the walk's source (their record count: WalkSource.lastRecords).
  records(ptr: usize, len: i32): void {}
  // Around every struct value, including each element of an array of structs.
  structStart(structIndex: i32, ptr: usize): void {}
  structEnd(structIndex: i32, ptr: usize): void {}
  // The layout hooks below are called only when `wantsLayout` is set (editing, building error
  // responses): they cost a virtual call per array and element, which the plain scan does not pay.
  wantsLayout: bool = false;
  // With `wantsLayout`, also around every field present in the version (row in FIELDS), tagged
  // ones included (building error responses): a virtual call per field more.
  wantsFields: bool = false;
  fieldStart(row: i32, ptr: usize): void {}
  fieldEnd(row: i32, ptr: usize): void {}
  // An array's count prefix at [countPtr, countEnd) (`count` -1 for null), before its elements.
  arrayStart(row: i32, countPtr: usize, countEnd: usize, count: i32, compact: bool): void {}
  // At the end of an array field (after fieldEnd when `wantsFields`).
  arrayEnd(row: i32, ptr: usize): void {}
  // Around each array element, scalar or struct.
  elementStart(ptr: usize): void {}
  elementEnd(ptr: usize): void {}
  // Around a known tagged field's value: its size prefix is at [sizePtr, sizeEnd), the value
  // ends at `ptr` (taggedEnd). An edit inside must re-encode the size (FrameEdits does).
  taggedStart(sizePtr: usize, sizeEnd: usize): void {}
  taggedEnd(ptr: usize): void {}
}

const MAX_DEPTH = 16;
// STRUCTS' address as a plain number (field_table.ts says why).
const STRUCTS_AT: usize = changetype<usize>(STRUCTS);

// The walk's state lives in globals: one walk runs at a time and nothing is allocated per frame.
let pos: usize = 0;
// End of the message as the frame's size says; `filled` is where the bytes in memory end: the
// same, except while a WalkSource brings the bytes in as the walk needs them.
let end: usize = 0;
let filled: usize = 0;
let source: WalkSource | null = null;
// Record set bytes left with the source: the message took that many bytes more than its walk.
let skipped: i32 = 0;
let error: i32 = 0;
let version: i16 = 0;
let flexible: bool = false;
let visitor: Visitor = new Visitor();
// How many tagged fields the walk is inside: a size prefix encloses whatever is read there.
let taggedDepth: i32 = 0;

// For visitors that edit: true while the reported field sits inside a tagged field, whose
// size prefix an edit would have to follow.
export function insideTaggedField(): bool {
  return taggedDepth > 0;
}

// Walks a message body. Returns the bytes the message took, or a negative WalkError. Bytes
// after a request's message are the caller's to handle: Kafka's broker parses the message and
// ignores what follows it in the frame (AbstractRequest.parseRequest), and clients send such
// bytes (librdkafka's all-topics Metadata). A response must end exactly at `len`.
export function walk(apiKey: i16, apiVersion: i16, isRequest: bool, ptr: usize, len: i32, v: Visitor): i32 {
  if (!isValidVersion(apiKey, apiVersion)) return WalkError.UnknownVersion;
  const n = walkStruct(messageStruct(apiKey, isRequest), apiVersion, isFlexible(apiKey, apiVersion), ptr, len, v);
  if (n >= 0 && n != len && !isRequest) return WalkError.TrailingBytes;
  return n;
}

// Walks one struct from `ptr`, not reading past `ptr + len`. Returns the bytes it took, or a
// negative WalkError. When `ptr` is in the active source's image, bytes are brought in as the
// walk needs them and record sets are left where they are.
export function walkStruct(structIndex: i32, ver: i16, flex: bool, ptr: usize, len: i32, v: Visitor): i32 {
  if (len < 0) return WalkError.Truncated;
  pos = ptr;
  end = ptr + <usize>len;
  const s = activeSource;
  source = s !== null && s.holds(ptr) ? s : null;
  if (source !== null) source!.rewind();
  filled = source !== null ? min(end, source!.filled) : end;
  skipped = 0;
  error = 0;
  taggedDepth = 0;
  version = ver;
  flexible = flex;
  visitor = v;
  layoutHooks = v.wantsLayout;
  fieldHooks = layoutHooks && v.wantsFields;
  readStruct(structIndex, 0);
  source = null;
  return error != 0 ? error : <i32>(pos - ptr) + skipped;
}

// The source walks of frames in its image read from; null for frames wholly in memory.
let activeSource: WalkSource | null = null;

export function useSource(s: WalkSource | null): void {
  activeSource = s;
}

// For Visitor.records with `ptr` 0: the record count of the set the source skipped.
export function skippedRecords(): i64 {
  return source !== null ? source!.lastRecords : 0;
}

// For Visitor.records with `ptr` 0: copies `len` bytes at `offset` of the set the source
// skipped to `dest`; false when they cannot be read.
export function readSkipped(offset: i32, len: i32, dest: usize): bool {
  return source !== null && source!.readSkipped(offset, len, dest);
}

// For Visitor.records with `ptr` 0: the batch headers of the set the source skipped.
export function skippedSummary(): BatchSummary | null {
  return source !== null ? source!.lastSummary : null;
}

// The visitor's hooks, called through these so that the walk's own functions hold no managed
// reference: under AssemblyScript's incremental runtime each would cost them a shadow-stack
// frame on every call. The module now builds with the minimal runtime (proxy/gc.ts), which has
// no shadow stack; calling the visitor directly again is left for a change measured on its own.
@noinline function reportEntity(entity: i32, lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
  visitor.entity(entity, lengthPtr, valuePtr, len, compact);
}
@noinline function reportText(role: i32, ptr: usize, len: i32): void {
  visitor.text(role, ptr, len);
}
@noinline function reportNamePattern(lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
  visitor.namePattern(lengthPtr, valuePtr, len, compact);
}
@noinline function reportErrorCode(code: i16): void {
  visitor.errorCode(code);
}
@noinline function reportInt8(role: i32, value: i8): void {
  visitor.int8(role, value);
}
@noinline function reportTopicId(ptr: usize): void {
  visitor.topicId(ptr);
}
@noinline function reportAcks(value: i16): void {
  visitor.acks(value);
}
@noinline function reportAuthorizedOperations(ptr: usize): void {
  visitor.authorizedOperations(ptr);
}
@noinline function reportGuarded(row: i32, ptr: usize, len: i32): void {
  visitor.guarded(row, ptr, len);
}
@noinline function reportBrokerHost(lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
  visitor.brokerHost(lengthPtr, valuePtr, len, compact);
}
@noinline function reportBrokerPort(ptr: usize): void {
  visitor.brokerPort(ptr);
}
@noinline function reportTaggedStart(sizePtr: usize, sizeEnd: usize): void {
  visitor.taggedStart(sizePtr, sizeEnd);
}
@noinline function reportTaggedEnd(ptr: usize): void {
  visitor.taggedEnd(ptr);
}
@noinline function reportRecords(ptr: usize, len: i32): void {
  visitor.records(ptr, len);
}
@noinline function reportStructStart(structIndex: i32, ptr: usize): void {
  visitor.structStart(structIndex, ptr);
}
@noinline function reportStructEnd(structIndex: i32, ptr: usize): void {
  visitor.structEnd(structIndex, ptr);
}
@noinline function reportFieldStart(row: i32, ptr: usize): void {
  visitor.fieldStart(row, ptr);
}
@noinline function reportFieldEnd(row: i32, ptr: usize): void {
  visitor.fieldEnd(row, ptr);
}
@noinline function reportArrayStart(row: i32, countPtr: usize, countEnd: usize, count: i32, compact: bool): void {
  visitor.arrayStart(row, countPtr, countEnd, count, compact);
}
@noinline function reportArrayEnd(row: i32, ptr: usize): void {
  visitor.arrayEnd(row, ptr);
}
@noinline function reportElementStart(ptr: usize): void {
  visitor.elementStart(ptr);
}
@noinline function reportElementEnd(ptr: usize): void {
  visitor.elementEnd(ptr);
}

// For a visitor: ends the walk under way, which then returns WalkError.Stopped.
export function stopWalk(): void {
  fail(WalkError.Stopped);
}

@inline function fail(code: i32): void {
  if (error == 0) error = code;
}

@inline function have(n: usize): bool {
  if (end - pos >= n) return filled - pos >= n || more(n);
  fail(WalkError.Truncated);
  return false;
}

// Asks the source for the bytes up to `pos + n` (within the message: checked by have()).
@noinline function more(n: usize): bool {
  const s = source;
  if (s !== null && s.extend(pos + n)) {
    filled = min(end, s.filled);
    return true;
  }
  fail(s !== null ? WalkError.NeedMore : WalkError.Truncated);
  return false;
}

// Big-endian reads spelled out: the optimizer leaves std's bswap a function call.
@inline function readInt16(): i16 {
  const v = <u32>load<u16>(pos);
  pos += 2;
  return <i16>((v << 8) | (v >> 8));
}

@inline function readInt32(): i32 {
  const v = load<u32>(pos);
  pos += 4;
  return <i32>(rotl<u32>(v & 0xff00ff00, 8) | rotr<u32>(v & 0x00ff00ff, 8));
}

// Kafka's unsigned varint, at most 5 bytes for 32 bits. -1 after an error.
function readUnsignedVarint(): i64 {
  let value: u64 = 0;
  for (let shift: u64 = 0; shift < 35; shift += 7) {
    if (!have(1)) return -1;
    const b = <u64>load<u8>(pos);
    pos += 1;
    value |= (b & 0x7f) << shift;
    if ((b & 0x80) == 0) return value > 0xffffffff ? -1 : <i64>value;
  }
  fail(WalkError.BadVarint);
  return -1;
}

function readStruct(structIndex: i32, depth: i32): void {
  if (depth > MAX_DEPTH) {
    fail(WalkError.TooDeep);
    return;
  }
  reportStructStart(structIndex, pos);
  const first = <i32>load<i16>(STRUCTS_AT + (<usize>structIndex << 1));
  const last = <i32>load<i16>(STRUCTS_AT + (<usize>structIndex << 1), 2);
  for (let row = first; row < last; row++) {
    const shape = fieldShape(row);
    if (version < shapeCol(shape, FieldCol.VersionMin) || version > shapeCol(shape, FieldCol.VersionMax)) continue;
    if (shapeCol(shape, FieldCol.Tag) >= 0 && version >= shapeCol(shape, FieldCol.TaggedMin)) continue;
    readField(row, depth);
    if (error != 0) return;
  }
  if (flexible) readTaggedFields(first, last, depth);
  if (error == 0) reportStructEnd(structIndex, pos);
}

// The tagged-field section of a flexible struct: known tags are decoded within their declared
// size; unknown ones are skipped, as Kafka does.
function readTaggedFields(first: i32, last: i32, depth: i32): void {
  const count = readUnsignedVarint();
  for (let i: i64 = 0; i < count && error == 0; i++) {
    const tag = readUnsignedVarint();
    const sizePtr = pos;
    const size = readUnsignedVarint();
    if (error != 0) return;
    if (<u64>size > <u64>(end - pos)) {
      fail(WalkError.Truncated);
      return;
    }
    const fieldEnd = pos + <usize>size;
    let known = -1;
    for (let row = first; row < last; row++) {
      const shape = fieldShape(row);
      if (<i64>shapeCol(shape, FieldCol.Tag) == tag && version >= shapeCol(shape, FieldCol.TaggedMin) &&
        version <= shapeCol(shape, FieldCol.VersionMax)) {
        known = row;
        break;
      }
    }
    if (known < 0) {
      if (!have(<usize>size)) return;
      pos = fieldEnd;
      continue;
    }
    const outerEnd = end;
    end = fieldEnd;
    taggedDepth++;
    if (layoutHooks) reportTaggedStart(sizePtr, fieldEnd - <usize>size);
    readField(known, depth);
    taggedDepth--;
    end = outerEnd;
    if (error == 0 && pos != fieldEnd) fail(WalkError.BadTaggedField);
    if (error == 0 && layoutHooks) reportTaggedEnd(pos);
  }
}

// Read from the visitor as the walk starts: no managed local in readField (a shadow-stack frame
// per field under the incremental runtime; see the hooks above).
let layoutHooks: bool = false;
let fieldHooks: bool = false;

function readField(row: i32, depth: i32): void {
  const layout = layoutHooks;
  const fields = fieldHooks;
  if (fields) reportFieldStart(row, pos);
  const shape = fieldShape(row);
  const packed = <i32>shapeCol(shape, FieldCol.Packed);
  const kind = packed & KIND_MASK;
  const compact = flexible && (packed & FLEX_NEVER) == 0;
  const nullable = version >= shapeCol(shape, FieldCol.NullableMin) && version <= shapeCol(shape, FieldCol.NullableMax);
  const isArray = (packed & ARRAY) != 0;
  // A scalar field is read as one element with no count (one call site keeps readValue inline).
  let count: i64 = 1;
  if (isArray) {
    const countPtr = pos;
    count = readLength(compact, false, nullable);
    if (count == LENGTH_ERROR) return;
    if (layout) reportArrayStart(row, countPtr, pos, <i32>count, compact);
    // Every element takes at least one byte except structs whose fields are all absent, which
    // Kafka's schemas do not have; this bounds the loop by the frame size. Null (-1): none.
    if (count > 0 && <u64>count > <u64>(end - pos)) {
      fail(WalkError.BadLength);
      return;
    }
  }
  const elements = layout && isArray;
  const elementNullable = nullable && !isArray;
  for (let i: i64 = 0; i < count && error == 0; i++) {
    if (elements) reportElementStart(pos);
    readValue(row, packed, kind, compact, elementNullable, depth);
    if (elements && error == 0) reportElementEnd(pos);
  }
  if (error != 0 || !layout) return;
  if (fields) reportFieldEnd(row, pos);
  if (isArray) reportArrayEnd(row, pos);
}

@inline function readValue(row: i32, packed: i32, kind: i32, compact: bool, nullable: bool, depth: i32): void {
  const role = (packed >> ROLE_SHIFT) & ROLE_MASK;
  const entity = (packed >> ENTITY_SHIFT) & ENTITY_MASK;
  switch (kind) {
    case FieldKind.Int8:
    case FieldKind.Bool: {
      if (!have(1)) return;
      if (role == Role.Guarded) reportGuarded(row, pos, 1);
      else if (role != 0) reportInt8(role, load<i8>(pos));
      pos += 1;
      return;
    }
    case FieldKind.Int16:
    case FieldKind.Uint16: {
      if (!have(2)) return;
      const v = readInt16();
      if (role == Role.ErrorCode) reportErrorCode(v);
      else if (role == Role.Acks) reportAcks(v);
      else if (role == Role.Guarded) reportGuarded(row, pos - 2, 2);
      return;
    }
    case FieldKind.Int32: {
      if (!have(4)) return;
      if (entity != 0) reportEntity(entity, pos, pos, 4, false);
      else if (role == Role.AuthorizedOperations) reportAuthorizedOperations(pos);
      else if (role == Role.Guarded) reportGuarded(row, pos, 4);
      else if (role == Role.BrokerPort) reportBrokerPort(pos);
      pos += 4;
      return;
    }
    case FieldKind.Int64:
    case FieldKind.Float64: {
      if (!have(8)) return;
      if (entity != 0) reportEntity(entity, pos, pos, 8, false);
      pos += 8;
      return;
    }
    case FieldKind.Uuid: {
      if (!have(16)) return;
      if (role == Role.TopicId) reportTopicId(pos);
      pos += 16;
      return;
    }
    case FieldKind.String:
    case FieldKind.Bytes:
    case FieldKind.Records: {
      readBytes(row, kind, role, entity, compact, nullable);
      return;
    }
    case FieldKind.Struct: {
      if (nullable) {
        // A nullable struct is preceded by -1 (null) or 1 (present).
        if (!have(1)) return;
        const marker = load<i8>(pos);
        pos += 1;
        if (marker < 0) return;
        if (marker != 1) {
          fail(WalkError.BadLength);
          return;
        }
      }
      readStruct(<i32>fieldCol(row, FieldCol.Struct), depth + 1);
      return;
    }
    default:
      unreachable();
  }
}

const LENGTH_ERROR: i64 = -2;

// A length or count prefix: an unsigned varint of n + 1 in flexible (compact) encodings, else
// int16 (strings) or int32. Returns n, -1 for an allowed null, or LENGTH_ERROR after failing
// the walk (a null the schema does not allow, another negative value, too few bytes).
function readLength(compact: bool, int16: bool, nullable: bool): i64 {
  let n: i64;
  if (compact) {
    n = readUnsignedVarint() - 1;
  } else if (int16) {
    if (!have(2)) return LENGTH_ERROR;
    n = readInt16();
  } else {
    if (!have(4)) return LENGTH_ERROR;
    n = readInt32();
  }
  if (error != 0) return LENGTH_ERROR;
  if (n < -1) {
    fail(WalkError.BadLength);
    return LENGTH_ERROR;
  }
  if (n == -1 && !nullable) {
    fail(WalkError.BadNull);
    return LENGTH_ERROR;
  }
  return n;
}

// Strings (int16 or compact length) and bytes/records (int32 or compact length).
function readBytes(row: i32, kind: i32, role: i32, entity: i32, compact: bool, nullable: bool): void {
  const lengthPtr = pos;
  const len = readLength(compact, kind == FieldKind.String, nullable);
  if (len == LENGTH_ERROR) return;
  if (len == -1) {
    if (role == Role.Guarded) reportGuarded(row, pos, -1);
    else report(kind, role, entity, lengthPtr, pos, -1, compact);
    return;
  }
  const s = source;
  if (kind == FieldKind.Records && s !== null && taggedDepth == 0 && len > 0) {
    // The record set stays where it is: the source skips it (and counts its batches).
    if (<u64>len > <u64>(end - pos)) {
      fail(WalkError.Truncated);
      return;
    }
    if (!s.skip(pos, <i32>len)) {
      fail(WalkError.NeedMore);
      return;
    }
    end -= <usize>len;
    skipped += <i32>len;
    filled = min(end, s.filled);
    report(kind, role, entity, lengthPtr, 0, <i32>len, compact);
    return;
  }
  if (!have(<usize>len)) return;
  const valuePtr = pos;
  pos += <usize>len;
  if (role == Role.Guarded) reportGuarded(row, valuePtr, <i32>len);
  else report(kind, role, entity, lengthPtr, valuePtr, <i32>len, compact);
}

@inline function report(kind: i32, role: i32, entity: i32, lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
  if (kind == FieldKind.Records) reportRecords(valuePtr, len);
  else if (entity != 0) reportEntity(entity, lengthPtr, valuePtr, len, compact);
  else if (role == Role.NamePattern) reportNamePattern(lengthPtr, valuePtr, len, compact);
  else if (role == Role.BrokerHost) reportBrokerHost(lengthPtr, valuePtr, len, compact);
  else if (role != 0) reportText(role, valuePtr, len);
}
