// Kafka's wire primitives for node tests that write frames by hand (the TypeScript twin of the
// specs' frame builder, tests/spec/helpers.ts): big-endian integers, int16-length strings,
// compact (unsigned varint length + 1) strings, varints, and the request frame with its header.
// kafka_codec.ts encodes whole messages from Kafka's schemas; this is for the bytes around them
// and for frames that are wrong on purpose.

export const i8 = (n: number) => Buffer.from([n & 0xff]);

export function i16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
}

export function i32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

export function i64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
}

// Unsigned varint (compact lengths, tagged field tags and sizes).
export function uvarint(n: number): Buffer {
  const out: number[] = [];
  for (n >>>= 0; n >= 0x80; n >>>= 7) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return Buffer.from(out);
}

// Zigzag varint (record fields).
export const varint = (n: number) => uvarint((n << 1) ^ (n >> 31));

// STRING: int16 byte length, then the bytes (a Buffer is taken as the bytes themselves).
export function str(s: string | Buffer): Buffer {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s);
  return Buffer.concat([i16(b.length), b]);
}

// BYTES: int32 length, then the bytes.
export const bytes = (b: Buffer) => Buffer.concat([i32(b.length), b]);

// COMPACT_STRING (flexible versions): unsigned varint of length + 1, 0 for null.
export function compactStr(s: string | null): Buffer {
  if (s === null) return uvarint(0);
  const b = Buffer.from(s);
  return Buffer.concat([uvarint(b.length + 1), b]);
}

// A request frame: size, api key, version, correlation id, int16 client id (then an empty
// tagged-field section for a flexible header), body.
export function requestFrame(apiKey: number, apiVersion: number, correlationId: number, clientId: string, body: Buffer = Buffer.alloc(0), flexibleHeader = false): Buffer {
  const id = Buffer.from(clientId);
  const head = Buffer.alloc(12 + 2);
  head.writeInt16BE(apiKey, 4);
  head.writeInt16BE(apiVersion, 6);
  head.writeInt32BE(correlationId, 8);
  head.writeInt16BE(id.length, 12);
  const tagged = flexibleHeader ? Buffer.from([0]) : Buffer.alloc(0);
  const frame = Buffer.concat([head, id, tagged, body]);
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

// Where the whole frames at the start of a stream end (by their size prefixes; a negative
// size or a frame running past the data stops it).
export function frameBoundaries(data: Buffer): number[] {
  const ends: number[] = [];
  let at = 0;
  while (at + 4 <= data.length) {
    const size = data.readInt32BE(at);
    if (size < 0 || at + 4 + size > data.length) break;
    at += 4 + size;
    ends.push(at);
  }
  return ends;
}

// Splits a stream into its whole frames.
export function frames(data: Buffer): Buffer[] {
  let start = 0;
  return frameBoundaries(data).map((end) => data.subarray(start, (start = end)));
}

// A Fetch v13 (flexible, topics by id) of partition 0 of topic `id` (32 hex digits) from offset 0,
// correlation id 41.
export function fetchByIdFrame(id: string, clientId: string): Buffer {
  const body = Buffer.concat([
    Buffer.from("ffffffff" + "00000000" + "00000001" + "00100000" + "00" + "00000000" + "ffffffff", "hex"),
    Buffer.from([2]), Buffer.from(id, "hex"),
    Buffer.from([2]), Buffer.from("00000000" + "ffffffff" + "0000000000000000" + "ffffffff" + "ffffffffffffffff" + "00100000", "hex"),
    Buffer.from([0, 0]), Buffer.from([1, 1, 0]),
  ]);
  return requestFrame(1, 13, 41, clientId, body, true);
}
