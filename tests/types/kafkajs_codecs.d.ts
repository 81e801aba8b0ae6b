// The untyped pure-JavaScript codecs tests/harness/kafkajs_codecs.ts registers into kafkajs.
declare module "kafkajs-snappy" {
  const codec: () => { compress(encoder: { buffer: Buffer }): Promise<Buffer>; decompress(buffer: Buffer): Promise<Buffer> };
  export default codec;
}
declare module "lz4js" {
  export function compressBound(n: number): number;
  export function compressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, hashTable: Uint32Array): number;
  export function decompress(src: Uint8Array, maxSize?: number): Uint8Array;
}
declare module "lz4js/xxh32.js" {
  export function hash(seed: number, src: Uint8Array, index: number, len: number): number;
}
