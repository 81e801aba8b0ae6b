// Requests in flight on one connection, oldest first.
//
// A Kafka broker answers the requests of a connection in the order it received them, so a
// FIFO is the whole correlation table: the head must carry the correlation id of the next
// response, and anything else means the stream is out of step. Requests that get no response
// (Produce with acks=0) are never entered. The ring grows to the client's pipelining depth once
// and is reused after that.
import { ByteBuffer } from "../kafka/byte_buffer";

export class InFlight {
  correlationId: i32 = 0;
  apiKey: i16 = 0;
  apiVersion: i16 = 0;
  sentAtNanos: u64 = 0;
  // The response may go on before its end arrives (KafkaFrame.streams).
  streams: bool = false;
  // KafkaFrame.checksStart of the request (cleared once the response's start was checked), and
  // KafkaFrame.countedAtStart of the response.
  checksStart: bool = false;
  countedAtStart: bool = false;
  // KafkaFrame.requester of the request.
  requester: string = "";
  // KafkaFrame.bucketRule and bucket of the request.
  bucketRule: i32 = -1;
  bucket: ArrayBuffer | null = null;
  // Requests the filter answered itself: the answer, sent in place of the broker's response to
  // the stand-in request. Empty otherwise.
  readonly answer: ByteBuffer = new ByteBuffer();
  // The stage's note for the response (KafkaFrame.note).
  readonly note: ByteBuffer = new ByteBuffer();
}

export class CorrelationQueue {
  private ring: InFlight[] = [];
  private head: i32 = 0;
  private count: i32 = 0;

  get size(): i32 {
    return this.count;
  }

  // Returns the new entry, its answer and note empty.
  push(correlationId: i32, apiKey: i16, apiVersion: i16, sentAtNanos: u64): InFlight {
    if (this.count == this.ring.length) this.grow();
    const slot = this.ring[(this.head + this.count) % this.ring.length];
    slot.correlationId = correlationId;
    slot.apiKey = apiKey;
    slot.apiVersion = apiVersion;
    slot.sentAtNanos = sentAtNanos;
    slot.streams = false;
    slot.checksStart = false;
    slot.countedAtStart = false;
    slot.answer.clear();
    slot.note.clear();
    this.count++;
    return slot;
  }

  // Frees the entries' buffers (the connection is gone).
  release(): void {
    for (let i = 0; i < this.ring.length; i++) {
      this.ring[i].answer.release();
      this.ring[i].note.release();
    }
    this.count = 0;
  }

  // The oldest request, or null when none is waiting. Valid until the next push.
  peek(): InFlight | null {
    if (this.count == 0) return null;
    return this.ring[this.head];
  }

  pop(): void {
    if (this.count == 0) return;
    this.head = (this.head + 1) % this.ring.length;
    this.count--;
  }

  private grow(): void {
    const old = this.ring;
    const cap = old.length == 0 ? 8 : old.length * 2;
    const next = new Array<InFlight>(cap);
    for (let i = 0; i < cap; i++) {
      next[i] = i < this.count ? old[(this.head + i) % old.length] : new InFlight();
    }
    this.ring = next;
    this.head = 0;
  }
}
