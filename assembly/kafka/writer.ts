// Kafka's primitive encodings, appended to a ByteBuffer.
import { ByteBuffer } from "./byte_buffer";

export function writeInt16(out: ByteBuffer, v: i16): void {
  store<u16>(out.reserve(2), bswap<u16>(<u16>v));
  out.len += 2;
}

export function writeInt32(out: ByteBuffer, v: i32): void {
  store<u32>(out.reserve(4), bswap<u32>(<u32>v));
  out.len += 4;
}

export function writeUnsignedVarint(out: ByteBuffer, v: u32): void {
  while (v >= 0x80) {
    store<u8>(out.reserve(1), <u8>(v | 0x80));
    out.len += 1;
    v >>= 7;
  }
  store<u8>(out.reserve(1), <u8>v);
  out.len += 1;
}

export function unsignedVarintSize(v: u32): i32 {
  let n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

// A string's length prefix: compact (length + 1 as an unsigned varint) in flexible versions,
// int16 otherwise; -1 is null.
export function writeStringLength(out: ByteBuffer, len: i32, compact: bool): void {
  if (compact) writeUnsignedVarint(out, <u32>(len + 1));
  else writeInt16(out, <i16>len);
}
