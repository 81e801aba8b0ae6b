// Which codec each record batch the broker stored is in, read with one Fetch (v4) on its DIRECT
// listener (no Envoy, no filter): proof that a client really sent a compressed batch (librdkafka
// sends a batch uncompressed when compressing does not make it smaller) and that the broker took it
// as the codec it names. The batches' bytes are not inflated here: only each batch's attributes are read.
import { RawSession } from "./raw_session.ts";
import { i8, i32, i64, requestFrame, str } from "./kafka_bytes.ts";
import type { KafkaBroker } from "./kafka.ts";

const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"];

export interface StoredBatch {
  baseOffset: number;
  records: number;
  codec: string;
}

// The batches of partition `partition` of `topic` from the one holding `fromOffset` on, as far as
// one Fetch of up to 1 MiB returns them.
export async function storedBatches(kafka: KafkaBroker, topic: string, fromOffset: number, partition = 0): Promise<StoredBatch[]> {
  const [host, port] = [kafka.direct.slice(0, kafka.direct.lastIndexOf(":")), Number(kafka.direct.slice(kafka.direct.lastIndexOf(":") + 1))];
  if (host !== "127.0.0.1" && host !== "localhost") throw new Error(`direct listener not on loopback: ${kafka.direct}`);
  const body = Buffer.concat([
    i32(-1), i32(0), i32(0), i32(1 << 20), i8(0), // replica, max wait, min bytes, max bytes, READ_UNCOMMITTED
    i32(1), str(topic), i32(1), i32(partition), i64(fromOffset), i32(1 << 20),
  ]);
  const session = await RawSession.open(port);
  let frame: Buffer;
  try {
    session.write(requestFrame(1, 4, 1, "stored-batches", body));
    [frame] = await session.read(1);
  } finally {
    session.close();
  }
  if (frame === undefined) throw new Error(`no Fetch response for ${topic}`);
  // size, correlation id, throttle time, one topic (name), one partition.
  let at = 4 + 4 + 4;
  if (frame.readInt32BE(at) !== 1) throw new Error("Fetch response: not one topic");
  at += 4;
  at += 2 + frame.readInt16BE(at);
  if (frame.readInt32BE(at) !== 1) throw new Error("Fetch response: not one partition");
  at += 4 + 4; // count, partition index
  const error = frame.readInt16BE(at);
  if (error !== 0) throw new Error(`Fetch ${topic}-${partition}: error ${error}`);
  at += 2 + 8 + 8; // error, high watermark, last stable offset
  const aborted = frame.readInt32BE(at);
  at += 4 + Math.max(aborted, 0) * 16;
  const size = frame.readInt32BE(at);
  at += 4;
  const records = frame.subarray(at, at + Math.max(size, 0));
  // Batch: base offset (8), length (4), leader epoch (4), magic (1), crc (4), attributes (2),
  // last offset delta (4), ...: the length counts from the leader epoch on.
  const out: StoredBatch[] = [];
  for (let p = 0; p + 12 <= records.length; ) {
    const length = records.readInt32BE(p + 8);
    if (p + 12 + length > records.length) break; // cut by max bytes
    if (records[p + 16] !== 2) throw new Error(`batch at ${p}: magic ${records[p + 16]}`);
    out.push({
      baseOffset: Number(records.readBigInt64BE(p)),
      records: records.readInt32BE(p + 23) + 1,
      codec: CODECS[records.readInt16BE(p + 21) & 7] ?? `codec ${records.readInt16BE(p + 21) & 7}`,
    });
    p += 12 + length;
  }
  return out;
}
