// What the network layer knows about the frame it hands to the filter stages: where it is and
// what its header said. One instance per direction and connection, refilled for every frame.
import { ByteBuffer } from "../kafka/byte_buffer";
import { FrameEdits } from "../kafka/frame_edits";
import { Gather } from "../kafka/gather";
import { BatchSummary } from "../kafka/record_batches";

export class KafkaFrame {
  ptr: usize = 0;
  // Whole frame, size prefix included.
  len: i32 = 0;
  // Offset of the message body from `ptr`.
  bodyOffset: i32 = 0;
  apiKey: i16 = 0;
  apiVersion: i16 = 0;
  // Requests only: the version the broker will answer with (differs only per KIP-511).
  responseVersion: i16 = 0;
  correlationId: i32 = 0;
  // Requests only: the header's client id as a byte range (-1 length when null).
  clientIdOffset: i32 = 0;
  clientIdLength: i32 = -1;
  // Requests only: stages clear it for requests the broker will not answer (Produce acks=0).
  expectsResponse: bool = true;
  // Requests: no stage will change the response, so it may go on before its end arrives.
  // Responses: the response went on (or could go on) before its end arrived: no stage may change it.
  streams: bool = false;
  // Requests only: the response may go on before its end arrives if the handler's
  // responseStarts() says so at its start (when only its size is known).
  checksStart: bool = false;
  // Responses only: responseStarts() saw it and counted its size (quotas): not to count again.
  countedAtStart: bool = false;
  // Requests: whom the stages judged the request as (a principal's name, "" for none).
  // Responses: the same, as the request left it: a response is judged as its own requester,
  // whoever the connection's later requests came from (client-id principals change per request).
  requester: string = "";
  // Requests: a stage's bucket for the response (quotas: the rule and fetch bucket of the
  // request's requester and client id). Responses: the same, as the request left it.
  bucketRule: i32 = -1;
  bucket: ArrayBuffer | null = null;
  // Responses only: when the matching request left the proxy.
  requestSentAtNanos: u64 = 0;
  // What a stage puts in the frame's place (Verdict.Replace): the frame with these edits, or
  // when null, `rewritten`.
  edits: FrameEdits | null = null;
  // A frame a stage made (Verdict.Replace without edits), or the answer to the request
  // (Verdict.Answer): a whole frame, size prefix included. Reused for every frame.
  readonly rewritten: ByteBuffer = new ByteBuffer();
  // Requests: what a stage wants back with the request's response (empty for none), e.g. the
  // error entries to merge into it. Responses: that note, as the request left it.
  readonly note: ByteBuffer = new ByteBuffer();

  get bodyPtr(): usize {
    return this.ptr + <usize>this.bodyOffset;
  }

  get bodyLength(): i32 {
    return this.len - this.bodyOffset;
  }

  // Sends what replaces the frame (Verdict.Replace) to `out`; false when the edits do not apply.
  replacement(out: Gather): bool {
    const edits = this.edits;
    if (edits !== null) return edits.emit(this.ptr, this.len, out);
    out.copy(this.rewritten.ptr, this.rewritten.len);
    return true;
  }
}

export const enum Verdict {
  Forward,
  // The frame breaks the protocol or the policy's fail-closed rule: close the connection.
  Reject,
  // Forward the frame's replacement (KafkaFrame.replacement) instead of the frame.
  Replace,
  // Requests only: do not forward it; the client gets `rewritten` as its response, in order.
  Answer,
  // Requests only: do not forward it and expect no response (a refused Produce with acks=0).
  Drop,
}

// The filter's side of the boundary: told about every whole frame, in order.
export abstract class FrameHandler {
  abstract request(frame: KafkaFrame): Verdict;
  abstract response(frame: KafkaFrame): Verdict;
  // Why the last Reject happened, for the log line.
  reason: string = "";
  // Record sets left in Envoy's buffer have their batch headers read only when this is set.
  countsRecords: bool = false;
  // A stage checks the batch headers of requests (guardrails): they are summed up as they are
  // read (WalkSource.lastSummary), and those of a request decided before its last record set
  // arrived are handed to laterBatches as they go by.
  checksBatches: bool = false;
  // A stage reads the records of some requests: wholeRequest() tells whether the request in
  // `frame` (its last record set not here yet: the walk's source is set) waits until it is whole.
  wholeRequests: bool = false;
  wholeRequest(frame: KafkaFrame): bool {
    return false;
  }
  // A response to a request that set checksStart, its end not here yet: whether it may go on
  // as it arrives (no stage will change it). Called once per response, at its start, with only
  // the request's apiKey, apiVersion, requester, bucketRule and bucket and the frame's len (size
  // prefix included) set; it sets countedAtStart when it counted the response's size.
  responseStarts(frame: KafkaFrame): bool {
    return false;
  }
  // The batch headers of the open record set of the request decided last, so far (those seen
  // when it was decided included); false closes the connection before the frame's end goes on.
  laterBatches(summary: BatchSummary): bool {
    return true;
  }
  // Records of a request's last record set counted after the request was decided (it was
  // decided before its end arrived), to add to its counts.
  recordsLater(count: i64): void {}
  // The connection is gone: free what the handler holds outside the GC heap.
  release(): void {}
  // Until when (ms) the client's requests wait in Envoy's buffer, decided (a quota's throttle
  // time, as the broker mutes a throttled client's channel: KIP-219); 0 for no mute.
  muteUntilMs(): i64 {
    return 0;
  }
}
