// A small JSON reader for the filter's configuration. It runs once per (re)configure, so it
// favours clear error messages over speed; nothing on the data path uses it.

export const enum JsonKind {
  Null,
  Bool,
  Number,
  String,
  Array,
  Object,
}

export class JsonValue {
  kind: JsonKind = JsonKind.Null;
  bool: bool = false;
  num: f64 = 0;
  str: string = "";
  items: JsonValue[] = [];
  keys: string[] = [];

  get(key: string): JsonValue | null {
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i] == key) return this.items[i];
    }
    return null;
  }
}

export class JsonResult {
  value: JsonValue | null = null;
  error: string = "";
}

class Parser {
  pos: i32 = 0;
  error: string = "";
  constructor(public text: string) {}

  fail(what: string): JsonValue {
    if (this.error.length == 0) this.error = what + " at offset " + this.pos.toString();
    return new JsonValue();
  }

  skipSpace(): void {
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
      this.pos++;
    }
  }

  literal(word: string): bool {
    if (this.text.substr(this.pos, word.length) != word) return false;
    this.pos += word.length;
    return true;
  }

  value(depth: i32): JsonValue {
    if (depth > 64) return this.fail("nesting deeper than 64");
    this.skipSpace();
    if (this.pos >= this.text.length) return this.fail("unexpected end of input");
    const c = this.text.charCodeAt(this.pos);
    const v = new JsonValue();
    if (c == 0x7b) return this.object(depth);
    if (c == 0x5b) return this.array(depth);
    if (c == 0x22) {
      v.kind = JsonKind.String;
      v.str = this.string();
      return v;
    }
    if (this.literal("true")) { v.kind = JsonKind.Bool; v.bool = true; return v; }
    if (this.literal("false")) { v.kind = JsonKind.Bool; return v; }
    if (this.literal("null")) return v;
    if (c == 0x2d || isDigit(c)) {
      v.kind = JsonKind.Number;
      v.num = this.number();
      if (isNaN(v.num)) return this.fail("bad number (numbers here are whole, without fraction or exponent)");
      return v;
    }
    return this.fail("unexpected character '" + String.fromCharCode(c) + "'");
  }

  // A JSON number without fraction or exponent (every number the configuration takes is a
  // count), read without the standard library's float parser, a large part of the module.
  // NaN when it is not one.
  number(): f64 {
    const t = this.text;
    const negative = t.charCodeAt(this.pos) == 0x2d;
    if (negative) this.pos++;
    const first = this.pos;
    const v = this.digits();
    if (this.pos == first || (t.charCodeAt(first) == 0x30 && this.pos > first + 1)) return NaN;
    const c = this.pos < t.length ? t.charCodeAt(this.pos) | 0x20 : 0;
    if (c == 0x2e || c == 0x65) return NaN;
    return negative ? -v : v;
  }

  // The digits at `pos` as a number; `pos` moves past them.
  private digits(): f64 {
    let v: f64 = 0;
    while (this.pos < this.text.length && isDigit(this.text.charCodeAt(this.pos))) {
      v = v * 10 + <f64>(this.text.charCodeAt(this.pos++) - 0x30);
    }
    return v;
  }

  string(): string {
    this.pos++; // opening quote
    let out = "";
    let start = this.pos;
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c == 0x22) {
        out += this.text.substring(start, this.pos);
        this.pos++;
        return out;
      }
      if (c == 0x5c) {
        out += this.text.substring(start, this.pos);
        this.pos++;
        const e = this.text.charCodeAt(this.pos);
        if (e == 0x6e) out += "\n";
        else if (e == 0x74) out += "\t";
        else if (e == 0x72) out += "\r";
        else if (e == 0x62) out += "\b";
        else if (e == 0x66) out += "\f";
        else if (e == 0x75) {
          const code = I32.parseInt(this.text.substr(this.pos + 1, 4), 16);
          out += String.fromCharCode(code);
          this.pos += 4;
        } else out += String.fromCharCode(e);
        this.pos++;
        start = this.pos;
        continue;
      }
      this.pos++;
    }
    this.fail("unterminated string");
    return out;
  }

  array(depth: i32): JsonValue {
    const v = new JsonValue();
    v.kind = JsonKind.Array;
    this.pos++;
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) == 0x5d) { this.pos++; return v; }
    while (this.error.length == 0) {
      v.items.push(this.value(depth + 1));
      this.skipSpace();
      const c = this.text.charCodeAt(this.pos);
      this.pos++;
      if (c == 0x5d) return v;
      if (c != 0x2c) { this.pos--; return this.fail("expected ',' or ']'"); }
    }
    return v;
  }

  object(depth: i32): JsonValue {
    const v = new JsonValue();
    v.kind = JsonKind.Object;
    this.pos++;
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) == 0x7d) { this.pos++; return v; }
    while (this.error.length == 0) {
      this.skipSpace();
      if (this.text.charCodeAt(this.pos) != 0x22) return this.fail("expected a quoted key");
      v.keys.push(this.string());
      this.skipSpace();
      if (this.text.charCodeAt(this.pos) != 0x3a) return this.fail("expected ':'");
      this.pos++;
      v.items.push(this.value(depth + 1));
      this.skipSpace();
      const c = this.text.charCodeAt(this.pos);
      this.pos++;
      if (c == 0x7d) return v;
      if (c != 0x2c) { this.pos--; return this.fail("expected ',' or '}'"); }
    }
    return v;
  }
}

export function parseJson(text: string): JsonResult {
  const p = new Parser(text);
  const r = new JsonResult();
  const v = p.value(0);
  p.skipSpace();
  if (p.error.length == 0 && p.pos != text.length) p.fail("trailing characters");
  if (p.error.length > 0) r.error = p.error;
  else r.value = v;
  return r;
}

function isDigit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}
