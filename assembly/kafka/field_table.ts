// Reading the generated field tables (build/codegen/generate.ts writes them compact: the module
// carries them whole). fieldCol: one column of a field row (FieldCol), from the two tables the
// rows are split into; callers pass a constant column, so the branch folds.
import { ALT_SOURCES, DEFAULTS, FIELD_SHAPE, FIELD_SHAPES, FIELD_STRUCT, SOURCES } from "./generated/schema_tables";
import { FIELD_WIDTH, FieldCol, FieldKind, KIND_MASK } from "./layout";

const SHAPE_COLUMNS = FIELD_WIDTH - 1;
// The tables' addresses as plain numbers: one load per column, no array header or bounds to go
// through (and, under the incremental runtime, no shadow-stack frame for the reading function).
const SHAPES: usize = changetype<usize>(FIELD_SHAPES);
const SHAPE_OF: usize = changetype<usize>(FIELD_SHAPE);
const STRUCT_OF: usize = changetype<usize>(FIELD_STRUCT);

@inline export function fieldCol(row: i32, c: i32): i16 {
  if (c == FieldCol.Struct) return load<i16>(STRUCT_OF + (<usize>row << 1));
  return shapeCol(fieldShape(row), c);
}

// The columns of a field row but its struct, for a caller reading several of them: the row's
// shape once (fieldShape), then each column from it (shapeCol) with a single load.
@inline export function fieldShape(row: i32): usize {
  return SHAPES + (<usize>load<u8>(SHAPE_OF + <usize>row) * SHAPE_COLUMNS << 1);
}

@inline export function shapeCol(shape: usize, c: i32): i16 {
  return load<i16>(shape + (<usize>c << 1));
}

// The second value of the (row, value) pair for `row` in a table of pairs in row order, or
// `none` (SOURCES, ALT_SOURCES and DEFAULTS are sparse: one row in ten, or fewer, has an entry).
function pairValue<T>(table: StaticArray<T>, row: i32, none: i32): i32 {
  let lo = 0;
  let hi = table.length >> 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const r = <i32>unchecked(table[mid << 1]);
    if (r == row) return <i32>unchecked(table[(mid << 1) + 1]);
    if (r < row) lo = mid + 1;
    else hi = mid;
  }
  return none;
}

// The request row a response field copies when the filter answers itself, -2 for the request
// array element it stands for, -1 for none.
export function fieldSource(row: i32): i32 {
  return pairValue<i16>(SOURCES, row, -1);
}

// The source of response field `row` in the versions where fieldSource's request field is
// absent (DeleteTopics: TopicNames up to v5, Topics from v6), -1 for none.
export function fieldAltSource(row: i32): i32 {
  return pairValue<i16>(ALT_SOURCES, row, -1);
}

// A numeric field's schema default (0 unless DEFAULTS says otherwise).
export function fieldDefault(row: i32): i64 {
  const v = pairValue<i32>(DEFAULTS, row, 0);
  if (v == i32.MAX_VALUE && (<i32>fieldCol(row, FieldCol.Packed) & KIND_MASK) == FieldKind.Int64) return i64.MAX_VALUE;
  return v;
}
