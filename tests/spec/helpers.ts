// Byte helpers for the codec tests: frames built by hand or decoded from captured hex.
import { ByteBuffer } from "../../assembly/kafka/byte_buffer";
import { writeInt16, writeInt32, writeUnsignedVarint } from "../../assembly/kafka/writer";

export function fromHex(hex: string): ByteBuffer {
  const out = new ByteBuffer();
  const n = hex.length / 2;
  const p = out.reserve(n);
  for (let i = 0; i < n; i++) store<u8>(p + <usize>i, <u8>I32.parseInt(hex.substr(i * 2, 2), 16));
  out.len = n;
  return out;
}

export function sameBytes(a: ByteBuffer, b: ByteBuffer): bool {
  return a.len == b.len && memory.compare(a.ptr, b.ptr, <usize>a.len) == 0;
}

export function text(ptr: usize, len: i32): string {
  return String.UTF8.decodeUnsafe(ptr, <usize>len);
}

// Builds a frame: size prefix patched by `finish`.
export class FrameBuilder {
  buf: ByteBuffer = new ByteBuffer();

  constructor() {
    writeInt32(this.buf, 0);
  }

  i8(v: i8): FrameBuilder {
    store<i8>(this.buf.reserve(1), v);
    this.buf.len += 1;
    return this;
  }

  i16(v: i16): FrameBuilder {
    writeInt16(this.buf, v);
    return this;
  }

  i32(v: i32): FrameBuilder {
    writeInt32(this.buf, v);
    return this;
  }

  uvarint(v: u32): FrameBuilder {
    writeUnsignedVarint(this.buf, v);
    return this;
  }

  raw(s: string): FrameBuilder {
    const b = String.UTF8.encode(s);
    this.buf.append(changetype<usize>(b), b.byteLength);
    return this;
  }

  zeros(n: i32): FrameBuilder {
    memory.fill(this.buf.reserve(n), 0, <usize>n);
    this.buf.len += n;
    return this;
  }

  // int16-length string.
  str(s: string): FrameBuilder {
    return this.i16(<i16>String.UTF8.byteLength(s)).raw(s);
  }

  // Compact (flexible) string.
  cstr(s: string): FrameBuilder {
    return this.uvarint(<u32>String.UTF8.byteLength(s) + 1).raw(s);
  }

  finish(): ByteBuffer {
    store<u32>(this.buf.ptr, bswap<u32>(<u32>(this.buf.len - 4)));
    return this.buf;
  }
}
