// A growable byte region outside the GC heap, reused for the life of a connection so that
// reassembling frames does not allocate per frame once it has reached its working size.
export class ByteBuffer {
  ptr: usize = 0;
  cap: i32 = 0;
  len: i32 = 0;

  // Makes room for `extra` more bytes after `len` and returns where they go.
  reserve(extra: i32): usize {
    const need = this.len + extra;
    if (need > this.cap) {
      let cap = this.cap < 256 ? 256 : this.cap;
      while (cap < need) cap <<= 1;
      this.ptr = this.ptr == 0 ? heap.alloc(<usize>cap) : heap.realloc(this.ptr, <usize>cap);
      this.cap = cap;
    }
    return this.ptr + <usize>this.len;
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

  release(): void {
    if (this.ptr != 0) heap.free(this.ptr);
    this.ptr = 0;
    this.cap = 0;
    this.len = 0;
  }
}
