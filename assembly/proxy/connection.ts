// One proxied Kafka connection: finds the frames of both directions, decodes their headers,
// pairs responses with requests, and asks the filter stages about every frame.
//
// Forwarding (ForwardMode.AfterCheck): frames stay in Envoy's buffer. The filter reads what the
// walk needs by range (frame_image.ts: everything but record payloads) and leaves the buffer as
// it is when every frame in it passed; edits and answers replace the buffer's first bytes
// (host_output.ts), the only edit Envoy allows besides appending. A request is never forwarded
// before it is decided: a request whose end has not arrived holds the buffer (Pause, which
// Envoy keeps and hands back whole with the next bytes), unless all that is missing is its last
// record set (it is decided early and the rest goes by as it comes). Responses cannot be held (a
// paused upstream is never resumed): a fetch response goes by as it arrives, its structure read
// as it passes. What cannot stay in Envoy is copied in and reassembled here, as a whole frame
// (see copied()): requests that would hold more than max_held_bytes in Envoy's buffer (Envoy
// stops reading a paused connection at its buffer limit), responses other than fetches that end in a later callback
// (an edit may have to change their size prefix, already gone), and any frame of a connection
// in ForwardMode.Immediately (frames checked as they complete, Envoy's buffer left alone).
import { log, LogLevel, callbackTimeNanos, currentTimeNanos } from "./host";
import { Action, BufferType, StreamType, proxy_close_stream, proxy_continue_stream, proxy_set_effective_context } from "./abi";
import { copyAhead, copyFromHost, prefetch, writeToHost } from "./host_memory";
import { FrameImage, BatchCounter } from "./frame_image";
import { HostOutput } from "./host_output";
import { Visitor, WalkError, useSource, walk } from "../kafka/walker";
import { isValidVersion } from "../kafka/api_table";
import { NetworkContext } from "./network_context";
import { FrameError, FrameStream } from "./frame_stream";
import { CorrelationQueue } from "./correlation";
import { FrameHandler, KafkaFrame, Verdict } from "./kafka_frame";
import { ForwardMode } from "./forward_mode";
import { decodeRequestHeader, decodeResponseHeader } from "./frame_decode";
import { ProxyCounters } from "./proxy_counters";
import { Gather } from "../kafka/gather";
import { writeInt16, writeInt32 } from "../kafka/writer";
import { ApiKey } from "../kafka/api_keys";
import { BufferBudget, ByteBuffer } from "../kafka/byte_buffer";

// goesBy(): a stage refused a batch header of a request decided early.
const LATE_BATCH_REFUSED: i32 = -2;
// Steps over the rest of a request decided early (see Rest).
const MAX_STEPS = 8;
// Walks that only find where a frame's parts are (before the stages see it).
const PLAIN = new Visitor();
// One walk and one output at a time per VM: shared by its connections.
const IMAGE = new FrameImage();
const OUTPUT = new HostOutput();
const EDITED = new Gather();
// The first 8 bytes of a frame (size, API key, version), and other small reads.
const SIZE_PREFIX = memory.data(8);
// A request decided early: the ranges of the host buffer past this callback that its output
// keeps (pairs of start, end), in order.
const KEPT = new StaticArray<i32>(MAX_STEPS * 2);
let keptCount = 0;

// The part of a frame decided before its end arrived, as it goes by in later callbacks: bytes
// to drop (a refused element) and to pass, the record batches of its last record set counted.
class Rest {
  // Steps over the frame's remaining bytes: length, and whether they are dropped.
  steps: StaticArray<i32> = new StaticArray<i32>(MAX_STEPS * 2);
  count: i32 = 0;
  first: i32 = 0;
  // The last record set's start relative to the next callback's buffer.
  setAt: i32 = 0;
  counter: BatchCounter = new BatchCounter();
  reported: i64 = 0;
  // The frame's last bytes, taken as zeros when it was decided: checked as they arrive.
  synthesized: i32 = 0;

  get left(): i32 {
    let n = 0;
    for (let i = this.first; i < this.count; i++) n += unchecked(this.steps[i * 2]);
    return n;
  }

  // False when the steps do not fit (more edits past the callback than a request has).
  add(len: i32, drop: bool): bool {
    if (len <= 0) return true;
    const i = this.count;
    if (i > 0 && unchecked(this.steps[i * 2 - 1]) == (drop ? 1 : 0)) {
      unchecked(this.steps[i * 2 - 2] += len);
      return true;
    }
    if (i == MAX_STEPS) return false;
    unchecked(this.steps[i * 2] = len);
    unchecked(this.steps[i * 2 + 1] = drop ? 1 : 0);
    this.count++;
    return true;
  }
}

// Connections whose decided requests wait in Envoy's buffer for their mute to end (see
// muted()): resumed on the VM's ticks.
const MUTED: KafkaConnection[] = [];

// Resumes the muted connections whose time is up (a tick, in the root context).
export function resumeMuted(): void {
  if (MUTED.length == 0) return;
  const now = <i64>(currentTimeNanos() / 1000000);
  for (let i = MUTED.length - 1; i >= 0; i--) {
    const c = unchecked(MUTED[i]);
    if (!c.finished && c.mutedUntil > now) continue;
    MUTED.splice(i, 1);
    if (c.finished || !c.mutePaused) continue;
    c.resumed();
    // Envoy hands the buffer, all of it decided, to the filters after this one.
    proxy_set_effective_context(c.context_id);
    proxy_continue_stream(StreamType.Downstream);
  }
}

function keep(from: i32, to: i32): bool {
  if (keptCount == MAX_STEPS) return false;
  unchecked(KEPT[keptCount * 2] = from);
  unchecked(KEPT[keptCount * 2 + 1] = to);
  keptCount++;
  return true;
}

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
  finished: bool = false;
  // Requests: bytes at the start of Envoy's buffer decided while it was held (Pause).
  decided: i32 = 0;
  // Muted (FrameHandler.muteUntilMs): until when, and whether Envoy holds the decided requests
  // for it (nothing undecided in its buffer: only then may a tick resume it).
  mutedUntil: i64 = 0;
  mutePaused: bool = false;
  // Requests decided before their end: what is left of the frame.
  private rest: Rest | null = null;
  // Responses: the image of a fetch response going by, and where it starts relative to the
  // next callback's buffer (negative: its first bytes have gone).
  private passing: FrameImage | null = null;
  private passingAt: i32 = 0;
  // The size of Envoy's buffer in this callback, and what copied() left of its part of it.
  private hostSize: u32 = 0;
  private emitted: u32 = 0;

  constructor(
    contextId: u32,
    private handler: FrameHandler,
    private forward: ForwardMode,
    maxRequestBytes: i32,
    maxResponseBytes: i32,
    private maxInFlight: i32,
    // Requests wait in Envoy's buffer (paused) while it holds at most this many bytes (below
    // the listener's per_connection_buffer_limit_bytes, past which Envoy stops reading).
    private maxHeld: i32,
    private counters: ProxyCounters,
  ) {
    super(contextId);
    this.requests = new FrameStream(maxRequestBytes);
    this.responses = new FrameStream(maxResponseBytes);
    counters.activeConnections.increment(1);
    counters.sampleMemory();
  }

  // Envoy passes on the held buffer (all of it decided): the next callback's starts afresh.
  resumed(): void {
    this.mutePaused = false;
    if (this.rest !== null) this.rest!.setAt -= this.decided;
    this.decided = 0;
  }

  downstreamData(size: u32, endOfStream: bool): Action {
    this.mutePaused = false;
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
    if (this.rest !== null) this.rest!.counter.release();
    if (this.passing !== null) this.passing!.release();
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
    this.hostSize = size;
    if (this.forward != ForwardMode.AfterCheck) return this.copied(stream, hostBuffer, size, isRequest);
    let start: u32 = 0;
    if (stream.buf.len > 0) {
      // A frame being reassembled here takes what it lacks; the bytes after it stay in Envoy.
      const need = this.lacking(stream, hostBuffer, size);
      const action = this.copied(stream, hostBuffer, need, isRequest);
      if (this.closing || stream.buf.len > 0) return action;
      // A request completed in the module: muted, it waits in Envoy's buffer with what it held.
      if (need == size) return isRequest && this.muted(<i32>this.emitted) ? Action.Pause : action;
      start = this.emitted;
      size = size - need + start;
      this.hostSize = size;
    }
    return this.inPlace(stream, hostBuffer, <i32>size, isRequest, <i32>start);
  }

  // How many of the callback's `size` bytes the frame being reassembled in `stream` lacks.
  // The frame starts at `scanned` (requests held for a mute before it, see holdInModule).
  private lacking(stream: FrameStream, hostBuffer: u32, size: u32): u32 {
    const buf = stream.buf;
    const ptr = buf.ptr + <usize>stream.scanned;
    const have = buf.len - stream.scanned;
    if (have < 4) {
      if (size < <u32>(4 - have)) return size;
      memory.copy(SIZE_PREFIX, ptr, have);
      if (copyFromHost(hostBuffer, 0, 4 - have, SIZE_PREFIX + <usize>have) != 4 - have) return size;
    } else {
      memory.copy(SIZE_PREFIX, ptr, 4);
    }
    const frameSize = bswap<i32>(load<i32>(SIZE_PREFIX));
    // A size the checks refuse: copied() reports it.
    if (frameSize < 0 || frameSize > stream.maxFrameBytes) return size;
    return min(size, <u32>(frameSize + 4 - have));
  }

  // Frames left in Envoy's buffer (see the top of this file).
  private inPlace(stream: FrameStream, hostBuffer: u32, size: i32, isRequest: bool, start: i32): Action {
    const out = OUTPUT;
    out.clear();
    // Bytes already decided: a frame completed in the module (start), requests held (decided).
    let at = start + (isRequest ? this.decided : 0);
    out.host(0, at);
    let passed = 0;
    if (isRequest) {
      const rest = this.rest;
      if (rest !== null && rest.first < rest.count) {
        at = this.goesBy(rest, hostBuffer, at, size);
        if (at == LATE_BATCH_REFUSED) return this.fail(hostBuffer, size, isRequest, this.handler.reason);
        if (at < 0) return this.fail(hostBuffer, size, isRequest, "the end of a request decided early is not the empty tagged fields it was taken for");
      }
    } else if (this.passing !== null && this.passing!.frameLen > 0) {
      at = this.passOn(this.passing!, hostBuffer, size);
      if (at < 0) return Action.Continue;
      if (this.passing!.frameLen == 0) passed++;
    }
    let tail = -1;
    let tailEnd = size;
    while (at < size) {
      const avail = size - at;
      if (avail < 4) {
        tail = at;
        break;
      }
      store<u64>(SIZE_PREFIX, 0);
      prefetch(hostBuffer, <u32>at, <u32>min(avail, 8), <u32>avail);
      copyFromHost(hostBuffer, <u32>at, <u32>min(avail, 8), SIZE_PREFIX);
      const frameSize = bswap<i32>(load<i32>(SIZE_PREFIX));
      if (frameSize < 0) {
        this.counters.malformed(isRequest).increment(1);
        return this.fail(hostBuffer, size, isRequest, "negative frame size " + frameSize.toString());
      }
      if (frameSize > stream.maxFrameBytes) {
        this.counters.oversized(isRequest).increment(1);
        return this.fail(hostBuffer, size, isRequest, "frame of " + frameSize.toString() +
          " bytes is larger than the configured maximum of " + stream.maxFrameBytes.toString());
      }
      if (isRequest && this.inFlight.size >= this.maxInFlight) return this.overBudget(hostBuffer, <u32>size, isRequest);
      const total = frameSize + 4;
      const complete = total <= avail;
      // The window holds the frame's start (or all of it): a frame after a small one may not be
      // in it yet.
      prefetch(hostBuffer, <u32>at, <u32>min(total, avail), <u32>avail);
      tailEnd = max(size, at + total);
      const f = isRequest ? this.requestFrame : this.responseFrame;
      let apiKey: i32 = -1;
      if (isRequest) {
        if (avail < 6 && !complete) {
          tail = at;
          break;
        }
        apiKey = bswap<u16>(load<u16>(SIZE_PREFIX + 4));
      } else {
        const pending = this.inFlight.peek();
        if (pending !== null && pending.answer.len == 0) apiKey = pending.apiKey;
      }
      const records = isRequest ? apiKey == ApiKey.Produce : apiKey == ApiKey.Fetch || apiKey == ApiKey.ShareFetch;
      let image = IMAGE;
      if (!complete && !isRequest && records && this.streams(total)) {
        if (this.passing === null) this.passing = new FrameImage();
        image = this.passing!;
      }
      image.begin(hostBuffer, at, size, total, this.handler.countsRecords, isRequest && this.handler.checksBatches);
      if (!records) {
        // The whole frame in one read: only record sets are worth leaving in Envoy.
        if (!complete || !image.readWhole()) {
          tail = at;
          break;
        }
      } else {
        image.allowSynthesized = isRequest && !complete;
        const n = this.locate(image, f, isRequest);
        // A response is decided once it is all here (its last record set included), and so is
        // a request whose records a stage reads.
        if (n == WalkError.NeedMore || image.open && (!isRequest || this.handler.wholeRequests && this.whole(image, f))) {
          if (image !== IMAGE) {
            // A fetch response going by: its structure is read as it passes.
            out.host(at, size);
            this.passingAt = at - size;
            at = size;
            break;
          }
          tail = at;
          break;
        }
        if (n >= 0 && isRequest && n < f.bodyLength) {
          // Bytes after the message, which the stages strip: the frame as it is in memory.
          if (!complete || !image.readWhole()) {
            tail = at;
            break;
          }
        }
      }
      useSource(image.holeCount > 0 || image.open ? image : null);
      const verdict = isRequest ? this.request(image.ptr, total) : this.response(image.ptr, total);
      useSource(null);
      if (verdict == Verdict.Reject) return this.fail(hostBuffer, size, isRequest, this.handler.reason);
      const end = complete ? at + total : size;
      keptCount = 0;
      if (verdict == Verdict.Forward) {
        out.host(at, end);
        if (!complete) keep(size, at + total);
      } else if (verdict == Verdict.Replace) {
        if (!this.mapped(f, image, end, out)) {
          return this.fail(hostBuffer, size, isRequest, "a stage's edits to the frame could not be applied");
        }
      } else if (verdict == Verdict.Answer) {
        const mark = out.mark();
        KafkaConnection.standIn(out.made, f);
        out.took(mark);
      }
      if (verdict != Verdict.Drop) passed++;
      if (!complete && !this.decidedEarly(image, at + total, size)) {
        return this.fail(hostBuffer, size, isRequest, "a stage's edits to the frame could not be applied");
      }
      at = end;
    }
    if (passed > 0) (isRequest ? this.counters.requestsForwarded : this.counters.responsesForwarded).increment(passed);
    let action = Action.Continue;
    if (tail >= 0) {
      if (isRequest && tailEnd <= this.maxHeld) {
        // The request waits in Envoy's buffer, what is before it decided.
        this.decided = out.emit(hostBuffer, tail);
        action = Action.Pause;
      } else if (isRequest && this.mutedNow()) {
        const e = out.emit(hostBuffer, tail);
        if (!this.holdInModule(stream, hostBuffer, e, e + size - tail)) return Action.Continue;
      } else {
        const pulled = stream.pull(hostBuffer, <u32>tail, <u32>(size - tail));
        if (pulled == FrameError.OverBudget) return this.overBudget(hostBuffer, <u32>size, isRequest);
        if (pulled != 0) return this.fail(hostBuffer, <u32>size, isRequest, "the host refused to hand over the data");
        out.emit(hostBuffer, size);
        if (isRequest) this.decided = 0;
      }
    } else {
      const emitted = out.emit(hostBuffer, size);
      if (isRequest) {
        this.decided = 0;
        if (this.rest !== null) this.rest!.setAt -= size;
        if (this.muted(emitted)) action = Action.Pause;
      }
    }
    this.idle();
    if (!BufferBudget.allows(0)) return this.overBudget(hostBuffer, 0, isRequest);
    return action;
  }

  // Whether the connection owes throttle time (FrameHandler.muteUntilMs), the mute not up yet.
  private mutedNow(): bool {
    const until = this.handler.muteUntilMs();
    return until != 0 && <i64>(callbackTimeNanos() / 1000000) < until;
  }

  // Whether the requests decided in this callback (`emitted` bytes, the whole buffer, all of it
  // decided) wait in Envoy's buffer, muted, until a tick resumes them. The rest of a request
  // decided early waits too: its bytes that arrive are decided (goesBy), so the buffer stays
  // all decided; the next callback finds the set's bytes after the held ones.
  private muted(emitted: i32): bool {
    this.mutePaused = false;
    if (!this.mutedNow()) return false;
    if (!MUTED.includes(this)) MUTED.push(this);
    this.mutedUntil = this.handler.muteUntilMs();
    this.mutePaused = true;
    this.decided = emitted;
    if (this.rest !== null) this.rest!.setAt += emitted;
    return true;
  }

  // Muted, with a request that cannot wait in Envoy (it would hold more than max_held_bytes):
  // Envoy's buffer, `decided` decided bytes then the request's start (`n` in all), moves into
  // the module, the decided ones as checked frames before it (FrameStream.scanned). Envoy's
  // buffer is then empty and keeps reading; they go back to it when the request is complete
  // (copied()), and wait there if the mute is not up (a tick cannot resume bytes not decided).
  // At most max_held_bytes of decided requests move, once per such request: past that the
  // connection is closed.
  private holdInModule(stream: FrameStream, hostBuffer: u32, decided: i32, n: i32): bool {
    this.decided = 0;
    this.hostSize = <u32>n;
    if (decided > this.maxHeld) {
      this.fail(hostBuffer, <u32>n, true, "a muted connection sent past max_held_bytes");
      return false;
    }
    const pulled = stream.pull(hostBuffer, 0, <u32>n);
    if (pulled != 0) {
      if (pulled == FrameError.OverBudget) this.overBudget(hostBuffer, <u32>n, true);
      else this.fail(hostBuffer, <u32>n, true, "the host refused to hand over the data");
      return false;
    }
    stream.scanned = decided;
    writeToHost(hostBuffer, 0, <u32>n, 0, 0);
    return true;
  }

  // Frames a stage may change are all in memory (see inPlace); for the others the stages only
  // count and check. Returns what the plain walk of the frame in `image` returned: its length,
  // a WalkError, or WalkError.NeedMore when its bytes have not all arrived.
  private locate(image: FrameImage, f: KafkaFrame, isRequest: bool): i32 {
    useSource(image);
    let n: i32 = 0;
    for (let tries = 0; tries < 16; tries++) {
      image.rewind();
      f.ptr = image.ptr;
      f.len = image.frameLen;
      if (!image.extend(image.ptr + <usize>min(image.frameLen, 12))) {
        n = WalkError.NeedMore;
      } else if (isRequest) {
        n = decodeRequestHeader(f);
        if (n == 0) n = isValidVersion(f.apiKey, f.apiVersion) ? walk(f.apiKey, f.apiVersion, true, f.bodyPtr, f.bodyLength, PLAIN) : 0;
      } else {
        const pending = this.inFlight.peek()!;
        f.apiKey = pending.apiKey;
        f.apiVersion = pending.apiVersion;
        n = decodeResponseHeader(f);
        if (n == 0) n = walk(f.apiKey, f.apiVersion, false, f.bodyPtr, f.bodyLength, PLAIN);
      }
      if (!image.moved) break;
    }
    useSource(null);
    return n;
  }

  // Whether the request in `image`, whose last record set has not arrived, must wait for it.
  private whole(image: FrameImage, f: KafkaFrame): bool {
    useSource(image);
    image.rewind();
    const whole = this.handler.wholeRequest(f);
    useSource(null);
    return whole;
  }

  // Whether the response to the oldest request (`total` bytes) may go by before its end arrives:
  // only when no stage can change it (an answer or a note to merge means a change). A request
  // that set checksStart has it decided here, once, by the handler (FrameHandler.responseStarts).
  private streams(total: i32): bool {
    const p = this.inFlight.peek();
    if (p === null || p.answer.len != 0 || p.note.len != 0) return false;
    if (p.checksStart) {
      p.checksStart = false;
      const f = this.responseFrame;
      f.ptr = 0;
      f.len = total;
      f.apiKey = p.apiKey;
      f.apiVersion = p.apiVersion;
      f.requester = p.requester;
      f.bucketRule = p.bucketRule;
      f.bucket = p.bucket;
      f.countedAtStart = false;
      p.streams = this.handler.responseStarts(f);
      p.countedAtStart = f.countedAtStart;
    }
    return p.streams;
  }

  // The edited frame in `image` to `out`: made bytes, and the image's untouched ranges as the
  // host buffer's (record sets included). Parts past `end` (a request decided early) are the
  // frame's rest, see decidedEarly.
  private mapped(f: KafkaFrame, image: FrameImage, end: i32, out: HostOutput): bool {
    const edits = f.edits;
    if (edits === null) {
      const mark = out.mark();
      out.made.append(f.rewritten.ptr, f.rewritten.len);
      out.took(mark);
      return true;
    }
    const g = EDITED;
    g.clear();
    if (!edits.emit(image.ptr, image.imageLen, g)) return false;
    const n = g.count;
    let sizeAt = -1;
    let length = 0;
    let future = false;
    for (let i = 0; i < n; i++) {
      const len = g.lenAt(i);
      if (g.isMadeAt(i)) {
        if (future) return false;
        const mark = out.mark();
        out.made.append(g.ptrAt(i), len);
        out.took(mark);
        if (sizeAt < 0) sizeAt = mark;
        length += len;
      } else {
        const a = <i32>(g.ptrAt(i) - image.ptr);
        const from = image.hostAt(a);
        const to = image.hostAt(a + len);
        out.host(from, min(to, end));
        future = to > end;
        if (future && !keep(max(from, end), to)) return false;
        length += to - from;
      }
    }
    if (sizeAt < 0) return false;
    store<i32>(out.made.ptr + <usize>sizeAt, bswap<i32>(length - 4));
    return true;
  }

  // A request decided before its end arrived: what of it the output keeps past this callback
  // (KEPT) passes as it comes, the rest is dropped; its last record set's batches are counted
  // as they go by.
  private decidedEarly(image: FrameImage, frameEnd: i32, size: i32): bool {
    let rest = this.rest;
    if (rest === null) {
      rest = new Rest();
      this.rest = rest;
    }
    rest.count = 0;
    rest.first = 0;
    let cursor = size;
    for (let i = 0; i < keptCount; i++) {
      const from = unchecked(KEPT[i * 2]);
      const to = unchecked(KEPT[i * 2 + 1]);
      if (!rest.add(from - cursor, true) || !rest.add(to - from, false)) return false;
      cursor = to;
    }
    if (!rest.add(frameEnd - cursor, true)) return false;
    rest.counter.copyFrom(image.counter);
    rest.reported = image.counter.count;
    rest.setAt = image.open ? image.openSetAt : 0;
    rest.synthesized = image.synthesized;
    return true;
  }

  // The rest of a request decided early, at the start of a callback.
  private goesBy(rest: Rest, hostBuffer: u32, at: i32, size: i32): i32 {
    rest.counter.feed(hostBuffer, rest.setAt, size);
    // Batch headers a stage checks that arrived after the request was decided: one it refuses
    // closes the connection before the frame's end (in this callback or later) goes on, so the
    // broker never gets the request whole.
    if (this.handler.checksBatches && !this.handler.laterBatches(rest.counter.summary)) return LATE_BATCH_REFUSED;
    const out = OUTPUT;
    while (rest.first < rest.count && at < size) {
      const i = rest.first * 2;
      const left = rest.left;
      const k = min(unchecked(rest.steps[i]), size - at);
      if (unchecked(rest.steps[i + 1]) == 0) {
        out.host(at, at + k);
        // The bytes taken as zeros when the frame was decided must be zeros.
        const zeros = min(left, rest.synthesized) - max(left - k, 0);
        if (zeros > 0 && !this.allZero(hostBuffer, at + k - zeros, zeros, size)) return -1;
      }
      at += k;
      unchecked(rest.steps[i] -= k);
      if (unchecked(rest.steps[i]) == 0) rest.first++;
    }
    if (rest.first == rest.count) {
      this.handler.recordsLater(rest.counter.count - rest.reported);
      rest.count = 0;
      rest.first = 0;
    }
    return at;
  }

  // The frame's last bytes: the next frame's start is usually right behind them (copyAhead).
  private allZero(hostBuffer: u32, at: i32, n: i32, size: i32): bool {
    store<u32>(SIZE_PREFIX, 0xffffffff);
    if (copyAhead(hostBuffer, <u32>at, <u32>n, SIZE_PREFIX, <u32>(size - at)) != n) return false;
    for (let i = 0; i < n; i++) if (load<u8>(SIZE_PREFIX + <usize>i) != 0) return false;
    return true;
  }

  // A fetch response going by, at the start of a callback: its image goes on with these bytes;
  // once its end is here it is decided (only as it was: its first bytes have gone). Returns
  // where it ends in this buffer, `size` while it goes on, or -1 after closing the connection.
  private passOn(image: FrameImage, hostBuffer: u32, size: i32): i32 {
    image.resume(hostBuffer, this.passingAt, size);
    const f = this.responseFrame;
    const out = OUTPUT;
    const n = this.locate(image, f, false);
    if (n == WalkError.NeedMore || image.open) {
      out.host(0, size);
      this.passingAt -= size;
      return size;
    }
    const end = image.frameAt + image.frameLen;
    useSource(image);
    const verdict = this.response(image.ptr, image.frameLen);
    useSource(null);
    image.frameLen = 0;
    image.shrink();
    if (verdict != Verdict.Forward) {
      this.fail(hostBuffer, <u32>size, false, verdict == Verdict.Reject ? this.handler.reason
        : "a fetch response that went on as it arrived would have to change");
      return -1;
    }
    out.host(0, end);
    return end;
  }

  // Gives back what this callback grew the VM's and the connection's buffers to.
  private idle(): void {
    IMAGE.trim();
    OUTPUT.trim();
    EDITED.trim();
    this.requestFrame.rewritten.trim();
    this.requestFrame.note.trim();
    this.responseFrame.rewritten.trim();
    this.responseFrame.note.trim();
  }

  // Frames reassembled in the module: the whole callback's bytes are copied in, and the checked
  // frames written back.
  private copied(stream: FrameStream, hostBuffer: u32, size: u32, isRequest: bool): Action {
    const heldBefore = stream.buf.len;
    const pulled = stream.pull(hostBuffer, 0, size);
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
        if (verdict == Verdict.Answer) {
          const mark = out.mark();
          KafkaConnection.standIn(out.made, frame);
          out.took(mark);
        }
      } else if (edited) {
        out.refer(stream.framePtr(), n);
      }
      if (verdict != Verdict.Drop) passed++;
      stream.scanned += n;
    }
    if (passed > 0) (isRequest ? this.counters.requestsForwarded : this.counters.responsesForwarded).increment(passed);
    this.emitted = size;
    // Requests held for a mute before an unfinished one stay here while the mute lasts.
    const hold = isRequest && this.forward == ForwardMode.AfterCheck && stream.scanned > 0 &&
      stream.scanned < stream.buf.len && this.mutedNow();
    if (hold) {
      writeToHost(hostBuffer, 0, size, 0, 0);
      this.emitted = 0;
    } else if (this.forward == ForwardMode.AfterCheck) {
      if (edited) {
        this.emitted = this.send(hostBuffer, size);
      } else if (heldBefore != 0 || stream.scanned != stream.buf.len) {
        // Untouched when Envoy's buffer already is exactly the checked frames.
        writeToHost(hostBuffer, 0, size, stream.buf.ptr, <u32>stream.scanned);
        this.emitted = <u32>stream.scanned;
      }
    }
    // What is left is the unfinished frame, kept to check it when it completes; an idle
    // connection keeps no buffer.
    if (!hold) stream.compact();
    if (stream.buf.len == 0) stream.buf.release();
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
  private static standIn(made: ByteBuffer, f: KafkaFrame): void {
    writeInt32(made, 10);
    writeInt16(made, <i16>ApiKey.ApiVersions);
    writeInt16(made, 0);
    writeInt32(made, f.correlationId);
    writeInt16(made, -1);
  }

  // Replaces the `size` bytes Envoy holds with `out`'s ranges: the first one in their place, the
  // rest appended (the two edits Envoy allows), so the frames leave without another copy here.
  private send(hostBuffer: u32, size: u32): u32 {
    const out = this.out;
    const n = out.count;
    if (n == 0) {
      writeToHost(hostBuffer, 0, size, 0, 0);
      return 0;
    }
    let sent: u32 = 0;
    if (size < this.hostSize) {
      // Bytes after these stay in Envoy's buffer, so appending is no longer possible: one copy.
      const all = OUTPUT.made;
      all.clear();
      out.writeTo(all);
      writeToHost(hostBuffer, 0, size, all.ptr, <u32>all.len);
      return <u32>all.len;
    }
    for (let i = 0; i < n; i++) {
      const len = <u32>out.lenAt(i);
      writeToHost(hostBuffer, sent, i == 0 ? size : 0, out.ptrAt(i), len);
      sent += len;
    }
    return sent;
  }


  private request(ptr: usize, len: i32): Verdict {
    const f = this.requestFrame;
    f.ptr = ptr;
    f.len = len;
    f.expectsResponse = true;
    f.checksStart = false;
    f.note.clear();
    const err = decodeRequestHeader(f);
    if (err != 0) {
      this.counters.malformed(true).increment(1);
      this.handler.reason = "undecodable request header (" + err.toString() + ")";
      return Verdict.Reject;
    }
    const verdict = this.handler.request(f);
    if (verdict == Verdict.Answer) {
      const entry = this.inFlight.push(f.correlationId, <i16>ApiKey.ApiVersions, 0, callbackTimeNanos());
      entry.streams = false;
      entry.answer.append(f.rewritten.ptr, f.rewritten.len);
    } else if ((verdict == Verdict.Forward || verdict == Verdict.Replace) && f.expectsResponse) {
      const entry = this.inFlight.push(f.correlationId, f.apiKey, f.responseVersion, callbackTimeNanos());
      if (f.note.len > 0) entry.note.append(f.note.ptr, f.note.len);
      entry.streams = f.streams && f.note.len == 0;
      entry.checksStart = !f.streams && f.checksStart && f.note.len == 0;
      entry.requester = f.requester;
      entry.bucketRule = f.bucketRule;
      entry.bucket = f.bucket;
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
    f.requester = pending.requester;
    f.bucketRule = pending.bucketRule;
    f.bucket = pending.bucket;
    f.streams = pending.streams;
    f.countedAtStart = pending.countedAtStart;
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
    log(LogLevel.Warn, "closing connection " + this.context_id.toString() + ": " +
      (isRequest ? "request" : "response") + " stream: " + reason);
    this.counters.protocolCloses.increment(1);
    // All of Envoy's buffer goes, whatever part of it the caller was at.
    if (this.hostSize > 0 && this.forward == ForwardMode.AfterCheck) writeToHost(hostBuffer, 0, this.hostSize, 0, 0);
    this.closing = true;
    this.finish();
    proxy_close_stream(StreamType.Downstream);
    return Action.Continue;
  }
}
