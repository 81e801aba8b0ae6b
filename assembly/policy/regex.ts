// A small regular expression engine for the guardrails' name patterns (topic names, client ids,
// group ids). Patterns are compiled once, when the configuration is read; matching walks the
// name's bytes in place, allocates nothing and backtracks over a bounded program.
//
// Syntax (a subset of Java's): literals, `.`, classes `[a-z0-9._-]` and `[^...]`, escapes
// `\. \- \\ \d \w \s` (and any other escaped punctuation), groups `( )` and `(?: )`, alternation
// `|`, quantifiers `* + ? {n} {n,} {n,m}` (greedy), anchors `^` (at the start) and `$` (at the
// end). A pattern matches the whole name (Java's `matches()`), anchored or not. Anything else
// (back references, lookaround, lazy quantifiers...) is refused with the offset it was found at.

const enum Op {
  // A byte in a 256-bit set (`set` indexes the pattern's sets).
  Set = 0,
  // A group: its alternatives are node runs (`alt` indexes altFirst/altCount).
  Group = 1,
}

class Node {
  op: Op = Op.Set;
  set: i32 = 0;
  // Group: the index of its first alternative in `alts`, and how many.
  alt: i32 = 0;
  alts: i32 = 0;
  min: i32 = 1;
  max: i32 = 1;
}

// Matching visits at most this many steps per name; past it the name does not match (a
// pathological pattern cannot hold the worker).
const MAX_STEPS: i32 = 100000;
const MAX_REPEAT: i32 = 1000;
// Continuations of the search, on a fixed stack shared by all patterns (one match runs at a
// time): per frame (kind, a, b, next, start). Kind 0: group node `a` again, for its repetition
// `b` (`start`: where that repetition began); kind 1: the rest of alternative `a` from its node
// `b`. `next` is the frame after it (-1: the name must end there).
const MAX_FRAMES = 512;
const FRAMES = new StaticArray<i32>(5 * MAX_FRAMES);

export class Regex {
  // 32 bytes per set.
  private sets: StaticArray<u8>;
  private nodes: StaticArray<Node>;
  // Per alternative: first node and node count.
  private altFirst: StaticArray<i32>;
  private altCount: StaticArray<i32>;
  private top: i32;
  private steps: i32 = 0;
  readonly source: string;

  constructor(source: string, sets: StaticArray<u8>, nodes: StaticArray<Node>, altFirst: StaticArray<i32>,
    altCount: StaticArray<i32>, top: i32) {
    this.source = source;
    this.sets = sets;
    this.nodes = nodes;
    this.altFirst = altFirst;
    this.altCount = altCount;
    this.top = top;
  }

  // Whether the `len` bytes at `ptr` match the whole pattern.
  matches(ptr: usize, len: i32): bool {
    if (len < 0) return false;
    this.steps = 0;
    this.frameTop = 0;
    const t = this.top;
    return this.repeatGroup(t, unchecked(this.nodes[t]), ptr, 0, len, 0, 0, -1);
  }

  matchesString(s: string): bool {
    const b = String.UTF8.encode(s);
    return this.matches(changetype<usize>(b), b.byteLength);
  }

  private inSet(set: i32, c: u8): bool {
    return (unchecked(this.sets[set * 32 + (<i32>c >> 3)]) & (<u8>1 << (c & 7))) != 0;
  }

  private frameTop: i32 = 0;

  private push(kind: i32, a: i32, b: i32, next: i32, start: i32): i32 {
    if (this.frameTop >= MAX_FRAMES) return -1;
    const i = this.frameTop++;
    const f = i * 5;
    unchecked(FRAMES[f] = kind);
    unchecked(FRAMES[f + 1] = a);
    unchecked(FRAMES[f + 2] = b);
    unchecked(FRAMES[f + 3] = next);
    unchecked(FRAMES[f + 4] = start);
    return i;
  }

  private resume(k: i32, ptr: usize, pos: i32, len: i32, depth: i32): bool {
    if (k < 0) return pos == len;
    const f = k * 5;
    const a = unchecked(FRAMES[f + 1]);
    const b = unchecked(FRAMES[f + 2]);
    const next = unchecked(FRAMES[f + 3]);
    if (unchecked(FRAMES[f]) == 0) {
      const g = unchecked(this.nodes[a]);
      // A repetition that took nothing would repeat forever: the group is done.
      if (pos == unchecked(FRAMES[f + 4]) && b > g.min) return this.resume(next, ptr, pos, len, depth + 1);
      return this.repeatGroup(a, g, ptr, pos, len, b, depth + 1, next);
    }
    return this.seqFrom(a, b, ptr, pos, len, depth + 1, next);
  }

  // Group node `gi` after `count` repetitions: one more (each alternative), or done, then `k`.
  private repeatGroup(gi: i32, g: Node, ptr: usize, pos: i32, len: i32, count: i32, depth: i32, k: i32): bool {
    if (++this.steps > MAX_STEPS || depth > 400) return false;
    if (count < g.max) {
      for (let a = 0; a < g.alts; a++) {
        const mark = this.frameTop;
        const back = this.push(0, gi, count + 1, k, pos);
        if (back < 0) return false;
        const ok = this.seqFrom(g.alt + a, 0, ptr, pos, len, depth + 1, back);
        this.frameTop = mark;
        if (ok) return true;
      }
    }
    return count >= g.min && this.resume(k, ptr, pos, len, depth + 1);
  }

  // Nodes `i`.. of alternative `alt` at `pos`, then continuation `k`.
  private seqFrom(alt: i32, i: i32, ptr: usize, pos: i32, len: i32, depth: i32, k: i32): bool {
    if (++this.steps > MAX_STEPS || depth > 400) return false;
    const first = unchecked(this.altFirst[alt]);
    const n = unchecked(this.altCount[alt]);
    while (i < n) {
      const node = unchecked(this.nodes[first + i]);
      if (node.op == Op.Group) {
        const mark = this.frameTop;
        const rest = this.push(1, alt, i + 1, k, 0);
        if (rest < 0) return false;
        const ok = this.repeatGroup(first + i, node, ptr, pos, len, 0, depth + 1, rest);
        this.frameTop = mark;
        return ok;
      }
      if (node.min == 1 && node.max == 1) {
        if (pos >= len || !this.inSet(node.set, load<u8>(ptr + <usize>pos))) return false;
        pos++;
        i++;
        continue;
      }
      // A repeated set: take as many as allowed, then give back one at a time.
      let taken = 0;
      while (taken < node.max && pos + taken < len && this.inSet(node.set, load<u8>(ptr + <usize>(pos + taken)))) taken++;
      if (taken < node.min) return false;
      for (let t = taken; t >= node.min; t--) {
        if (this.seqFrom(alt, i + 1, ptr, pos + t, len, depth + 1, k)) return true;
        if (this.steps > MAX_STEPS) return false;
      }
      return false;
    }
    return this.resume(k, ptr, pos, len, depth);
  }
}

export class RegexResult {
  regex: Regex | null = null;
  error: string = "";
}

class Compiler {
  pos: i32 = 0;
  error: string = "";
  sets: u8[] = [];
  nodes: Node[] = [];
  altFirst: i32[] = [];
  altCount: i32[] = [];
  constructor(public src: string) {}

  fail(what: string): void {
    if (this.error.length == 0) this.error = what + " at offset " + this.pos.toString();
  }

  private newSet(): i32 {
    const i = this.sets.length / 32;
    for (let j = 0; j < 32; j++) this.sets.push(0);
    return i;
  }

  private addRange(set: i32, lo: i32, hi: i32): void {
    for (let c = lo; c <= hi; c++) {
      const i = set * 32 + (c >> 3);
      this.sets[i] = this.sets[i] | <u8>(<i32>1 << (c & 7));
    }
  }

  private addClass(set: i32, c: i32): bool {
    // \d \w \s
    if (c == 0x64) this.addRange(set, 0x30, 0x39);
    else if (c == 0x77) {
      this.addRange(set, 0x30, 0x39);
      this.addRange(set, 0x41, 0x5a);
      this.addRange(set, 0x61, 0x7a);
      this.addRange(set, 0x5f, 0x5f);
    } else if (c == 0x73) {
      this.addRange(set, 0x20, 0x20);
      this.addRange(set, 0x09, 0x0d);
    } else return false;
    return true;
  }

  private invert(set: i32): void {
    for (let j = 0; j < 32; j++) this.sets[set * 32 + j] = ~this.sets[set * 32 + j];
  }

  private peek(): i32 {
    return this.pos < this.src.length ? this.src.charCodeAt(this.pos) : -1;
  }

  // An escaped character after `\`: a class letter, or punctuation standing for itself.
  private escaped(set: i32): bool {
    const c = this.peek();
    if (c < 0) {
      this.fail("pattern ends in '\\'");
      return false;
    }
    this.pos++;
    if (this.addClass(set, c)) return true;
    const isAlnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (isAlnum || c > 0x7e) {
      this.pos--;
      this.fail("unsupported escape '\\" + String.fromCharCode(c) + "'");
      return false;
    }
    this.addRange(set, c, c);
    return true;
  }

  private bracket(): i32 {
    // After '['.
    const set = this.newSet();
    let negate = false;
    if (this.peek() == 0x5e) {
      negate = true;
      this.pos++;
    }
    let first = true;
    while (true) {
      const c = this.peek();
      if (c < 0) {
        this.fail("unterminated '['");
        return -1;
      }
      if (c == 0x5d && !first) {
        this.pos++;
        break;
      }
      first = false;
      if (c == 0x5b) {
        this.fail("nested '[' is not supported");
        return -1;
      }
      this.pos++;
      let lo = c;
      if (c == 0x5c) {
        const e = this.peek();
        if (e == 0x64 || e == 0x77 || e == 0x73) {
          this.pos++;
          this.addClass(set, e);
          continue;
        }
        if (e < 0 || (e >= 0x30 && e <= 0x39) || (e >= 0x41 && e <= 0x5a) || (e >= 0x61 && e <= 0x7a)) {
          this.fail("unsupported escape in '[...]'");
          return -1;
        }
        this.pos++;
        lo = e;
      }
      if (lo > 0x7f) {
        this.fail("only ASCII is supported in '[...]'");
        return -1;
      }
      if (this.peek() == 0x2d && this.pos + 1 < this.src.length && this.src.charCodeAt(this.pos + 1) != 0x5d) {
        this.pos++;
        let hi = this.peek();
        this.pos++;
        if (hi == 0x5c) {
          hi = this.peek();
          this.pos++;
        }
        if (hi < 0 || hi > 0x7f || hi < lo) {
          this.fail("bad range in '[...]'");
          return -1;
        }
        this.addRange(set, lo, hi);
      } else {
        this.addRange(set, lo, lo);
      }
    }
    if (negate) this.invert(set);
    return set;
  }

  private number(): i32 {
    let n = -1;
    while (this.peek() >= 0x30 && this.peek() <= 0x39) {
      n = (n < 0 ? 0 : n * 10) + (this.peek() - 0x30);
      if (n > MAX_REPEAT) {
        this.fail("repetition over " + MAX_REPEAT.toString());
        return -1;
      }
      this.pos++;
    }
    return n;
  }

  // Alternatives up to ')' or the end; returns the group node's index.
  group(depth: i32): i32 {
    if (depth > 20) {
      this.fail("groups nested deeper than 20");
      return -1;
    }
    const gi = this.nodes.length;
    this.nodes.push(new Node());
    const alts: Node[][] = [[]];
    while (this.error.length == 0) {
      const c = this.peek();
      if (c < 0 || c == 0x29) break;
      this.pos++;
      let node: Node | null = null;
      if (c == 0x7c) {
        alts.push([]);
        continue;
      }
      if (c == 0x5e) {
        if (this.pos != 1) this.fail("'^' only at the start");
        continue;
      }
      if (c == 0x24) {
        if (this.pos != this.src.length) this.fail("'$' only at the end");
        continue;
      }
      if (c == 0x28) {
        if (this.peek() == 0x3f) {
          if (this.pos + 1 < this.src.length && this.src.charCodeAt(this.pos + 1) == 0x3a) this.pos += 2;
          else {
            this.fail("only '(?:' groups are supported");
            break;
          }
        }
        const inner = this.group(depth + 1);
        if (inner < 0) break;
        if (this.peek() != 0x29) {
          this.fail("unterminated '('");
          break;
        }
        this.pos++;
        node = this.nodes[inner];
        // Detach: group nodes live in `nodes` at their own index; the sequence refers to a copy.
        node = this.nodes[inner];
      } else if (c == 0x29) {
        break;
      } else if (c == 0x2a || c == 0x2b || c == 0x3f || c == 0x7b) {
        this.pos--;
        this.fail("nothing to repeat");
        break;
      } else {
        node = new Node();
        node.op = Op.Set;
        const set = this.newSet();
        node.set = set;
        if (c == 0x2e) this.addRange(set, 0, 255);
        else if (c == 0x5b) {
          const s = this.bracket();
          if (s < 0) break;
          node.set = s;
        } else if (c == 0x5c) {
          if (!this.escaped(set)) break;
        } else if (c > 0x7f) {
          this.fail("only ASCII literals are supported");
          break;
        } else this.addRange(set, c, c);
      }
      // Quantifier.
      const q = this.peek();
      if (q == 0x2a || q == 0x2b || q == 0x3f) {
        this.pos++;
        node!.min = q == 0x2b ? 1 : 0;
        node!.max = q == 0x3f ? 1 : i32.MAX_VALUE;
      } else if (q == 0x7b) {
        this.pos++;
        const lo = this.number();
        let hi = lo;
        if (this.peek() == 0x2c) {
          this.pos++;
          hi = this.peek() == 0x7d ? i32.MAX_VALUE : this.number();
        }
        if (lo < 0 || hi < 0 || this.peek() != 0x7d) {
          this.fail("bad '{n,m}'");
          break;
        }
        if (hi < lo) {
          this.fail("'{n,m}' with n > m");
          break;
        }
        this.pos++;
        node!.min = lo;
        node!.max = hi;
      }
      const after = this.peek();
      if (after == 0x2a || after == 0x2b || after == 0x3f || after == 0x7b) {
        this.fail("lazy, possessive or stacked quantifiers are not supported");
        break;
      }
      alts[alts.length - 1].push(node!);
    }
    // The group's alternatives: each a contiguous run of nodes.
    const g = this.nodes[gi];
    g.op = Op.Group;
    g.alt = this.altFirst.length;
    g.alts = alts.length;
    for (let a = 0; a < alts.length; a++) {
      this.altFirst.push(0);
      this.altCount.push(0);
    }
    for (let a = 0; a < alts.length; a++) {
      const run = alts[a];
      this.altFirst[g.alt + a] = this.nodes.length;
      this.altCount[g.alt + a] = run.length;
      for (let i = 0; i < run.length; i++) {
        const n = run[i];
        if (n.op == Op.Group) {
          // A nested group is referred to by a copy carrying its quantifier; its alternatives
          // are the original's.
          const copy = new Node();
          copy.op = Op.Group;
          copy.alt = n.alt;
          copy.alts = n.alts;
          copy.min = n.min;
          copy.max = n.max;
          this.nodes.push(copy);
        } else this.nodes.push(n);
      }
    }
    return gi;
  }
}

// Compiles `source`; the error names the offset of what is wrong.
export function compileRegex(source: string): RegexResult {
  const r = new RegexResult();
  const c = new Compiler(source);
  const top = c.group(0);
  if (c.error.length == 0 && c.pos < source.length) c.fail("unbalanced ')'");
  if (c.error.length > 0) {
    r.error = c.error;
    return r;
  }
  const sets = new StaticArray<u8>(c.sets.length);
  for (let i = 0; i < c.sets.length; i++) sets[i] = c.sets[i];
  const nodes = new StaticArray<Node>(c.nodes.length);
  for (let i = 0; i < c.nodes.length; i++) nodes[i] = c.nodes[i];
  const af = new StaticArray<i32>(c.altFirst.length);
  const ac = new StaticArray<i32>(c.altCount.length);
  for (let i = 0; i < c.altFirst.length; i++) {
    af[i] = c.altFirst[i];
    ac[i] = c.altCount[i];
  }
  r.regex = new Regex(source, sets, nodes, af, ac, top);
  return r;
}
