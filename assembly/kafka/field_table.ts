// One column of a generated field row (FieldCol), from the two tables the generator splits the
// rows into (see build/codegen/generate.ts): callers pass a constant column, so the branches fold.
import { FIELD_BYTES, FIELD_WORDS, SOURCES } from "./generated/schema_tables";
import { BYTE_NEVER, FIELD_WIDTH, FieldCol, NEVER } from "./layout";

const BYTE_COLUMNS = FIELD_WIDTH - 2;

@inline export function fieldCol(row: i32, c: i32): i16 {
  if (c == FieldCol.Packed) return unchecked(FIELD_WORDS[row * 2]);
  if (c == FieldCol.Struct) return unchecked(FIELD_WORDS[row * 2 + 1]);
  const v = <i16>unchecked(FIELD_BYTES[row * BYTE_COLUMNS + c - 1]);
  return v == <i16>BYTE_NEVER ? <i16>NEVER : v;
}

// The request row a response field copies when the filter answers itself, -2 for the request
// array element it stands for, -1 for none (SOURCES holds only the rows that have one).
export function fieldSource(row: i32): i32 {
  let lo = 0;
  let hi = SOURCES.length >> 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const r = <i32>unchecked(SOURCES[mid << 1]);
    if (r == row) return <i32>unchecked(SOURCES[(mid << 1) + 1]);
    if (r < row) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}
