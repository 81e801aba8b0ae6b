// One proxied Kafka connection: reassembles both directions into frames, decodes their
// headers, pairs responses with requests, and asks the filter stages about every frame.
//
// Forwarding: every data callback sees only bytes Envoy has not forwarded yet. In
// ForwardMode.AfterCheck the callback takes them into the module, replaces Envoy's buffer with
// the whole frames that passed the checks and keeps the unfinished tail for the next call,
// so nothing unchecked ever leaves (Envoy only lets a filter prepend or append, which is what
// "replace everything from offset 0", then "append", is). Edited frames leave as ranges of the
// reassembly buffer around the edited bytes, so record sets are not copied again. In
// ForwardMode.Immediately Envoy's buffer is left alone and frames are checked as they complete. Either way no callback ever pauses: a paused
// upstream cannot be resumed in Envoy.
import { RootContext, log, LogLevelValues } from "@solo-io/proxy-runtime/assembly/index";
import { get_current_time_nanoseconds } from "@solo-io/proxy-runtime/assembly/runtime";
import { Action, BufferType, StreamType, proxy_close_stream } from "./abi";
import { writeToHost } from "./host_memory";
import { NetworkContext } from "./network_context";
import { FrameError, FrameStream } from "./frame_stream";
import { CorrelationQueue } from "./correlation";
import { FrameHandler, KafkaFrame, Verdict } from "./kafka_frame";
import { ForwardMode } from "../policy/config";
import { decodeRequestHeader, decodeResponseHeader } from "./headers";
import { ProxyCounters } from "./counters";
import { Gather } from "../kafka/gather";
import { writeInt16, writeInt32 } from "../kafka/writer";
import { ApiKey } from "../kafka/api_keys";
import { BufferBudget } from "../kafka/byte_buffer";

export class KafkaConnection extends NetworkContext {
  private requests: FrameStream;
  private responses: FrameStream;
  private inFlight: CorrelationQueue = new CorrelationQueue();
  private requestFrame: KafkaFrame = new KafkaFrame();
  private responseFrame: KafkaFrame = new KafkaFrame();
  // The checked bytes of one data callback, when a stage changed a frame: ranges of the
  // reassembly buffer and the bytes the stages made.
  private out: Gather = new Gather();
  private closing: bool = false;
  private finished: bool = false;

  constructor(
    contextId: u32,
    root: RootContext,
    private handler: FrameHandler,
    private forward: ForwardMode,
    maxRequestBytes: i32,
    maxResponseBytes: i32,
    private maxInFlight: i32,
    private counters: ProxyCounters,
  ) {
    super(contextId, root);
    this.requests = new FrameStream(maxRequestBytes);
    this.responses = new FrameStream(maxResponseBytes);
    counters.activeConnections.increment(1);
    counters.sampleMemory();
  }

  downstreamData(size: u32, endOfStream: bool): Action {
    const action = this.data(this.requests, BufferType.DownstreamData, size, true);
    this.counters.flushAbiBytes(this.closing ? 0 : size);
    return action;
  }

  upstreamData(size: u32, endOfStream: bool): Action {
    const action = this.data(this.responses, BufferType.UpstreamData, size, false);
    this.counters.flushAbiBytes(this.closing ? 0 : size);
    return action;
  }

  connectionClosed(): void {
    this.finish();
  }

  // Releases the connection's buffers and counts it out, once.
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.counters.activeConnections.increment(-1);
    this.counters.sampleMemory();
    this.requests.reset();
    this.responses.reset();
    this.out.release();
    this.inFlight.release();
    this.handler.release();
    this.requestFrame.rewritten.release();
    this.requestFrame.note.release();
    this.responseFrame.rewritten.release();
    this.responseFrame.note.release();
  }

  private data(stream: FrameStream, hostBuffer: u32, size: u32, isRequest: bool): Action {
    if (this.closing) {
      // The connection is being torn down for a protocol error: nothing more goes through.
      if (size > 0) writeToHost(hostBuffer, 0, size, 0, 0);
      return Action.Continue;
    }
    const heldBefore = stream.buf.len;
    const pulled = stream.pull(hostBuffer, size);
    if (pulled == FrameError.OverBudget) return this.overBudget(hostBuffer, size, isRequest);
    if (pulled != 0) return this.fail(hostBuffer, size, isRequest, "the host refused to hand over the data");
    // Frames before `stream.scanned` are checked; once a stage changed one, everything checked
    // goes through `out` instead of straight from the reassembly buffer.
    const out = this.out;
    let edited = false;
    // Counted once the callback ends well: a refusal later in it drops these frames too.
    let passed = 0;
    while (true) {
      const n = stream.next();
      if (n == FrameError.Incomplete) break;
      if (n == FrameError.NegativeLength) {
        this.counters.malformed(isRequest).increment(1);
        return this.fail(hostBuffer, size, isRequest, "negative frame size " + stream.badSize.toString());
      }
      if (n == FrameError.TooLarge) {
        this.counters.oversized(isRequest).increment(1);
        return this.fail(hostBuffer, size, isRequest, "frame of " + stream.badSize.toString() +
          " bytes is larger than the configured maximum of " + stream.maxFrameBytes.toString());
      }
      // Each request waits for its response in an entry on the GC heap, which the buffer budget
      // does not count: how many may wait is capped.
      if (isRequest && this.inFlight.size >= this.maxInFlight) return this.overBudget(hostBuffer, size, isRequest);
      const frame = isRequest ? this.requestFrame : this.responseFrame;
      const verdict = isRequest ? this.request(stream.framePtr(), n) : this.response(stream.framePtr(), n);
      if (verdict == Verdict.Reject) return this.fail(hostBuffer, size, isRequest, this.handler.reason);
      if (verdict != Verdict.Forward) {
        if (this.forward != ForwardMode.AfterCheck) {
          return this.fail(hostBuffer, size, isRequest, "a stage changed a frame that was already forwarded");
        }
        if (!edited) {
          out.clear();
          out.refer(stream.buf.ptr, stream.scanned);
          edited = true;
        }
        if (verdict == Verdict.Replace && !frame.replacement(out)) {
          return this.fail(hostBuffer, size, isRequest, "a stage's edits to the frame could not be applied");
        }
        if (verdict == Verdict.Answer) this.appendStandIn(out, frame);
      } else if (edited) {
        out.refer(stream.framePtr(), n);
      }
      if (verdict != Verdict.Drop) passed++;
      stream.scanned += n;
    }
    if (passed > 0) (isRequest ? this.counters.requestsForwarded : this.counters.responsesForwarded).increment(passed);
    if (this.forward == ForwardMode.AfterCheck) {
      if (edited) {
        this.send(hostBuffer, size);
      } else if (heldBefore != 0 || stream.scanned != stream.buf.len) {
        // Untouched when Envoy's buffer already is exactly the checked frames.
        writeToHost(hostBuffer, 0, size, stream.buf.ptr, <u32>stream.scanned);
      }
    }
    // What is left is the unfinished frame, kept to check it when it completes.
    stream.compact();
    // What this callback's answers grew goes back (the host has copied them).
    out.trim();
    const frame = isRequest ? this.requestFrame : this.responseFrame;
    frame.rewritten.trim();
    frame.note.trim();
    // The frames' walks may have grown other buffers (answers, edits): past the budget, the
    // connection that did it goes. Its frames were checked, so nothing unchecked left.
    if (!BufferBudget.allows(0)) return this.overBudget(hostBuffer, 0, isRequest);
    return Action.Continue;
  }

  private overBudget(hostBuffer: u32, size: u32, isRequest: bool): Action {
    this.counters.overMemoryBudget.increment(1);
    return this.fail(hostBuffer, size, isRequest, "over max_buffered_bytes or max_in_flight_requests");
  }

  // A request the filter answers itself still goes to the broker as an ApiVersions v0 request
  // with its correlation id: the broker's reply keeps the responses in order and gives the
  // filter an upstream data callback to send the answer in (Envoy offers no other way to write
  // to the client).
  private appendStandIn(out: Gather, f: KafkaFrame): void {
    const mark = out.mark();
    writeInt32(out.made, 10);
    writeInt16(out.made, <i16>ApiKey.ApiVersions);
    writeInt16(out.made, 0);
    writeInt32(out.made, f.correlationId);
    writeInt16(out.made, -1);
    out.took(mark);
  }

  // Replaces the `size` bytes Envoy holds with `out`'s ranges: the first one in their place, the
  // rest appended (the two edits Envoy allows), so the frames leave without another copy here.
  private send(hostBuffer: u32, size: u32): void {
    const n = this.out.count;
    if (n == 0) {
      writeToHost(hostBuffer, 0, size, 0, 0);
      return;
    }
    let sent: u32 = 0;
    for (let i = 0; i < n; i++) {
      const len = <u32>this.out.lenAt(i);
      writeToHost(hostBuffer, sent, i == 0 ? size : 0, this.out.ptrAt(i), len);
      sent += len;
    }
  }

  private request(ptr: usize, len: i32): Verdict {
    const f = this.requestFrame;
    f.ptr = ptr;
    f.len = len;
    f.expectsResponse = true;
    f.note.clear();
    const err = decodeRequestHeader(f);
    if (err != 0) {
      this.counters.malformed(true).increment(1);
      this.handler.reason = "undecodable request header (" + err.toString() + ")";
      return Verdict.Reject;
    }
    const verdict = this.handler.request(f);
    if (verdict == Verdict.Answer) {
      const entry = this.inFlight.push(f.correlationId, <i16>ApiKey.ApiVersions, 0, get_current_time_nanoseconds());
      entry.answer.append(f.rewritten.ptr, f.rewritten.len);
    } else if ((verdict == Verdict.Forward || verdict == Verdict.Replace) && f.expectsResponse) {
      const entry = this.inFlight.push(f.correlationId, f.apiKey, f.responseVersion, get_current_time_nanoseconds());
      if (f.note.len > 0) entry.note.append(f.note.ptr, f.note.len);
    }
    return verdict;
  }

  private response(ptr: usize, len: i32): Verdict {
    const f = this.responseFrame;
    f.ptr = ptr;
    f.len = len;
    const pending = this.inFlight.peek();
    if (pending === null) {
      this.counters.malformed(false).increment(1);
      this.handler.reason = "response with no request in flight";
      return Verdict.Reject;
    }
    f.apiKey = pending.apiKey;
    f.apiVersion = pending.apiVersion;
    f.requestSentAtNanos = pending.sentAtNanos;
    const err = decodeResponseHeader(f);
    if (err != 0 || f.correlationId != pending.correlationId) {
      this.counters.malformed(false).increment(1);
      this.handler.reason = err != 0
        ? "undecodable response header (" + err.toString() + ")"
        : "response correlation id " + f.correlationId.toString() + " does not match the oldest request's " +
          pending.correlationId.toString();
      return Verdict.Reject;
    }
    if (pending.answer.len > 0) {
      // The broker's reply to a stand-in: the client gets the filter's answer instead.
      f.edits = null;
      f.rewritten.clear();
      f.rewritten.append(pending.answer.ptr, pending.answer.len);
      this.inFlight.pop();
      return Verdict.Replace;
    }
    f.note.clear();
    if (pending.note.len > 0) f.note.append(pending.note.ptr, pending.note.len);
    this.inFlight.pop();
    return this.handler.response(f);
  }

  // Ends the connection without forwarding anything that was not checked.
  private fail(hostBuffer: u32, size: u32, isRequest: bool, reason: string): Action {
    log(LogLevelValues.warn, "closing connection " + this.context_id.toString() + ": " +
      (isRequest ? "request" : "response") + " stream: " + reason);
    this.counters.protocolCloses.increment(1);
    if (size > 0 && this.forward == ForwardMode.AfterCheck) writeToHost(hostBuffer, 0, size, 0, 0);
    this.closing = true;
    this.finish();
    proxy_close_stream(StreamType.Downstream);
    return Action.Continue;
  }
}
