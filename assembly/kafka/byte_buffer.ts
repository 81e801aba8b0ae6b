// A growable byte region outside the GC heap, reused for the life of a connection so that
// reassembling frames does not allocate per frame once it has reached its working size (a
// large message's size is given back once it is done: trim()).
//
// Every buffer's capacity counts in one total per VM (BufferBudget): what frames being
// reassembled, their edits and answers hold, for all connections together. The network layer
// refuses a connection that would take it past the configured limit (max_buffered_bytes).
export class BufferBudget {
  // Bytes of capacity all ByteBuffers of this VM hold.
  static held: i32 = 0;
  static limit: i32 = i32.MAX_VALUE;
  // Resizes to or from more than KEEP_BYTES so far (the network layer's garbage collection
  // follows them: proxy/gc.ts).
  static largeResizes: u32 = 0;

  // Whether `more` bytes of capacity may be added. Buffers growing past KEEP_BYTES (large
  // frames) may only use half: the rest stays for the small frames of other connections, which
  // large unfinished frames can then not shut out, and for the allocator's slack.
  @inline static allows(more: i32, large: bool = false): bool {
    const limit = <i64>BufferBudget.limit;
    return <i64>BufferBudget.held + <i64>more <= (large ? limit >> 1 : limit);
  }
}

// Capacity a buffer grown for a large message keeps once done with it (trim): an idle
// connection must not sit on a frame-sized buffer, while small frames still reuse theirs.
export const KEEP_BYTES: i32 = 65536;

export class ByteBuffer {
  ptr: usize = 0;
  cap: i32 = 0;
  len: i32 = 0;

  // Makes room for `extra` more bytes after `len` and returns where they go.
  reserve(extra: i32): usize {
    const need = this.len + extra;
    if (need > this.cap) this.resize(ByteBuffer.grown(this.cap, need));
    return this.ptr + <usize>this.len;
  }

  // The capacity doubling gives for `need` bytes.
  static grown(cap: i32, need: i32): i32 {
    let c = cap < 256 ? 256 : cap;
    while (c < need) c = c > 0x3fffffff ? need : c << 1;
    return c;
  }

  // Sets the capacity to `cap` (at least `len`), counted in BufferBudget.
  @noinline resize(cap: i32): void {
    BufferBudget.held += cap - this.cap;
    if (cap > KEEP_BYTES || this.cap > KEEP_BYTES) BufferBudget.largeResizes++;
    this.ptr = this.ptr == 0 ? heap.alloc(<usize>cap) : heap.realloc(this.ptr, <usize>cap);
    this.cap = cap;
  }

  append(src: usize, n: i32): void {
    memory.copy(this.reserve(n), src, <usize>n);
    this.len += n;
  }

  // Drops the first `n` bytes, keeping the rest at the start.
  discard(n: i32): void {
    if (n <= 0) return;
    const rest = this.len - n;
    if (rest > 0) memory.copy(this.ptr, this.ptr + <usize>n, <usize>rest);
    this.len = rest;
  }

  clear(): void {
    this.len = 0;
  }

  // Empties the buffer and gives back what a large message grew it to past KEEP_BYTES: for
  // buffers that would otherwise stay that size while their connection idles.
  @noinline trim(): void {
    this.len = 0;
    if (this.cap > KEEP_BYTES) this.resize(KEEP_BYTES);
  }

  // Not inlined: every owner of buffers calls it for each of them.
  @noinline release(): void {
    if (this.ptr != 0) heap.free(this.ptr);
    BufferBudget.held -= this.cap;
    this.ptr = 0;
    this.cap = 0;
    this.len = 0;
  }
}
