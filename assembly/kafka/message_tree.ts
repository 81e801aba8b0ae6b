// The layout of one walked message as a tree of byte ranges: a node per field and per array
// element, children in wire order. Only built where a message must be answered or re-shaped
// (denied requests), never on the plain forwarding path. Nodes live in one reused buffer.
import { BufferBudget, ByteBuffer } from "./byte_buffer";
import { Visitor, WalkError, walk } from "./walker";

const NODE_WIDTH = 6; // row (-1 for elements), start, end, first child, next sibling, last child
const MAX_DEPTH = 64;

export class MessageTree extends Visitor {
  private nodes: ByteBuffer = new ByteBuffer();
  private stack: StaticArray<i32> = new StaticArray<i32>(MAX_DEPTH);
  private depth: i32 = 0;
  private overflow: bool = false;
  base: usize = 0;

  constructor() {
    super();
    this.wantsLayout = true;
    this.wantsFields = true;
  }

  // Frees the nodes (off the GC heap) when their connection ends.
  release(): void {
    this.nodes.release();
  }

  // Walks a message body into the tree; returns the walk's result (negative on error).
  build(apiKey: i16, version: i16, isRequest: bool, ptr: usize, len: i32): i32 {
    this.nodes.clear();
    this.base = ptr;
    this.depth = 0;
    this.overflow = false;
    // Node 0 is the message itself.
    this.add(-1, ptr);
    unchecked(this.stack[this.depth++] = 0);
    const n = walk(apiKey, version, isRequest, ptr, len, this);
    this.set(0, 2, len);
    return this.overflow ? WalkError.TooDeep : n;
  }

  fieldStart(row: i32, ptr: usize): void {
    this.open(row, ptr);
  }

  fieldEnd(row: i32, ptr: usize): void {
    this.close(ptr);
  }

  elementStart(ptr: usize): void {
    this.open(-1, ptr);
  }

  elementEnd(ptr: usize): void {
    this.close(ptr);
  }

  // The child of `node` that holds field `row`, or -1 (absent in this version, or no node).
  child(node: i32, row: i32): i32 {
    if (node < 0) return -1;
    for (let c = this.get(node, 3); c >= 0; c = this.get(c, 4)) if (this.get(c, 0) == row) return c;
    return -1;
  }

  // The field row of a field node, -1 for elements and the message.
  row(node: i32): i32 {
    return this.get(node, 0);
  }

  firstChild(node: i32): i32 {
    return this.get(node, 3);
  }

  next(node: i32): i32 {
    return this.get(node, 4);
  }

  start(node: i32): usize {
    return this.base + <usize>this.get(node, 1);
  }

  // Offset of the node's start from the message body.
  offset(node: i32): i32 {
    return this.get(node, 1);
  }

  length(node: i32): i32 {
    return this.get(node, 2) - this.get(node, 1);
  }

  // Empties the tree once its user is done (a large one gives its memory back).
  trim(): void {
    this.nodes.trim();
  }

  private open(row: i32, ptr: usize): void {
    // A node per field and element is many times the message's size (a one-byte element is 24
    // bytes of node): past the VM's buffer budget the build fails like a too-deep message.
    const nodes = this.nodes;
    if (this.depth == MAX_DEPTH || (nodes.len + NODE_WIDTH * 4 > nodes.cap && !BufferBudget.allows(max(nodes.cap, 256)))) {
      this.overflow = true;
      return;
    }
    const parent = unchecked(this.stack[this.depth - 1]);
    const node = this.add(row, ptr);
    const last = this.get(parent, 5);
    if (last < 0) this.set(parent, 3, node);
    else this.set(last, 4, node);
    this.set(parent, 5, node);
    unchecked(this.stack[this.depth++] = node);
  }

  private close(ptr: usize): void {
    if (this.overflow || this.depth <= 1) return;
    const node = unchecked(this.stack[--this.depth]);
    this.set(node, 2, <i32>(ptr - this.base));
  }

  private add(row: i32, ptr: usize): i32 {
    const node = this.nodes.len / (NODE_WIDTH * 4);
    const p = this.nodes.reserve(NODE_WIDTH * 4);
    store<i32>(p, row);
    store<i32>(p, <i32>(ptr - this.base), 4);
    store<i32>(p, <i32>(ptr - this.base), 8);
    store<i32>(p, -1, 12);
    store<i32>(p, -1, 16);
    store<i32>(p, -1, 20);
    this.nodes.len += NODE_WIDTH * 4;
    return node;
  }

  @inline private get(node: i32, c: i32): i32 {
    return load<i32>(this.nodes.ptr + <usize>((node * NODE_WIDTH + c) * 4));
  }

  @inline private set(node: i32, c: i32, v: i32): void {
    store<i32>(this.nodes.ptr + <usize>((node * NODE_WIDTH + c) * 4), v);
  }
}
