// kafkajs ships only gzip; its other codecs are registered into CompressionCodecs. Both here are
// pure JavaScript (no native build):
// - Snappy: kafkajs-snappy (snappyjs). It writes one raw snappy block, without the Xerial framing
//   the Java client writes.
// - LZ4: the LZ4 frame (v1.6.x format) that Kafka reads (Lz4BlockInputStream: version 01,
//   independent blocks, header checksum), written here around lz4js's block compressor (lz4js's
//   own frame marks its blocks dependent, which Kafka refuses). The flags are those of
//   kafkajs-lz4's encoder (node lz4): 4 MiB blocks and a content checksum, which the Java client
//   (64 KiB blocks, no content checksum) does not write.
// CompressionCodecs is not among the names Node finds in kafkajs (CommonJS) for an ESM import.
import kafkajs from "kafkajs";
import SnappyCodec from "kafkajs-snappy";
import * as lz4 from "lz4js";
import * as xxh32 from "lz4js/xxh32.js";

const LZ4_MAGIC = 0x184d2204;
const LZ4_FLG = 0x64; // version 01, independent blocks, content checksum
const LZ4_BD = 0x70; // blocks of at most 4 MiB
const LZ4_BLOCK = 4 << 20;
const LZ4_RAW = 0x80000000; // a block stored as it is

export function lz4Frame(data: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(7);
  head.writeUInt32LE(LZ4_MAGIC, 0);
  head[4] = LZ4_FLG;
  head[5] = LZ4_BD;
  // Header checksum: the second byte of xxh32 over the descriptor (FLG, BD).
  head[6] = (xxh32.hash(0, head, 4, 2) >>> 8) & 0xff;
  parts.push(head);
  for (let at = 0; at < data.length; at += LZ4_BLOCK) {
    const src = data.subarray(at, Math.min(at + LZ4_BLOCK, data.length));
    const out = Buffer.alloc(lz4.compressBound(src.length));
    // A fresh hash table each block: no match reaches into the block before.
    const n = lz4.compressBlock(src, out, 0, src.length, new Uint32Array(1 << 16));
    const size = Buffer.alloc(4);
    if (n === 0 || n >= src.length) {
      size.writeUInt32LE((LZ4_RAW | src.length) >>> 0, 0);
      parts.push(size, Buffer.from(src));
    } else {
      size.writeUInt32LE(n, 0);
      parts.push(size, out.subarray(0, n));
    }
  }
  // End mark, then the content checksum (xxh32 of everything inflated).
  const end = Buffer.alloc(8);
  end.writeUInt32LE(xxh32.hash(0, data, 0, data.length), 4);
  parts.push(end);
  return Buffer.concat(parts);
}

const Lz4Codec = () => ({
  async compress(encoder: { buffer: Buffer }): Promise<Buffer> {
    return lz4Frame(encoder.buffer);
  },
  async decompress(buffer: Buffer): Promise<Buffer> {
    return Buffer.from(lz4.decompress(buffer));
  },
});

// Once per process: kafkajs's codec table is global.
export function registerKafkajsCodecs(): void {
  kafkajs.CompressionCodecs[kafkajs.CompressionTypes.Snappy] = SnappyCodec;
  kafkajs.CompressionCodecs[kafkajs.CompressionTypes.LZ4] = Lz4Codec;
}
