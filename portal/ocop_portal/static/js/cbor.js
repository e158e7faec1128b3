// Strict deterministic CBOR (docs/format.md §2): the decoder for untrusted bytes and the encoder.
//
// Decoded values: integers are BigInt, byte strings Uint8Array, text strings string, arrays Array, maps Map (in
// wire order), and true/false/null. Nothing else survives decoding.
//
// Decoding runs in the order of §2.2, which fixes the code reported when several rules fail:
//   1. too long: E_SIZE; empty: E_CBOR;
//   2. read one item: malformed, a tag, an indefinite length, a duplicate map key, invalid UTF-8, too deep: E_CBOR;
//   3. walk it: a float, simple value, integer below -2^63, map key that is neither integer nor text, or text
//      holding a code point Unicode 14.0 does not assign: E_TYPE; map keys out of bytewise order, text not in NFC:
//      E_NONCANONICAL (in wire order, key before value);
//   4. a non-shortest head anywhere: E_NONCANONICAL; bytes after the item: E_TRAILING.
// Step 4 is what re-encoding and comparing (§2.2 step 6) finds: with only definite lengths and the types of
// step 3, the one deterministic encoding differs from the input exactly where a head is not the shortest.
//
// Where format.md is not precise, this follows the reference decoder, cbor2 (docs/js-verifier.md, ambiguities 1-3):
// depth counts the containers around an item (an empty container adds nothing inside it, so `[[]]` passes a depth
// limit of 1), duplicate map keys compare as Python values do (1, 1.0, true and simple(1) can collide), and step 3
// is one walk in wire order.

import { fail } from "./errors.js";
import { firstUnassigned } from "./unicode14.js";
import { compare, utf8, utf8Bytes } from "./util.js";

const MIN_INT = -(2n ** 63n);

/** What step 2 reads but step 3 refuses (E_TYPE): a float, or a simple value other than false/true/null. */
class Unsupported {
  constructor(kind, value) {
    this.kind = kind; // "float" | "simple" | "undefined"
    this.value = value;
  }
}

class Reader {
  constructor(data, maxDepth) {
    this.data = data;
    this.pos = 0;
    this.maxDepth = maxDepth;
    this.nonShortest = false;
  }

  byte() {
    if (this.pos >= this.data.length) fail("E_CBOR", "malformed CBOR: premature end of input");
    return this.data[this.pos++];
  }

  take(n) {
    if (n > this.data.length - this.pos) fail("E_CBOR", "malformed CBOR: premature end of input");
    const out = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The head's argument: a Number, or a BigInt above 2^53 (only 8-byte arguments can be). */
  argument(info) {
    if (info < 24) return info;
    const width = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : 8;
    const b = this.take(width);
    let value;
    if (width === 1) value = b[0];
    else if (width === 2) value = (b[0] << 8) | b[1];
    else if (width === 4) value = ((b[0] << 24) >>> 0) + ((b[1] << 16) | (b[2] << 8) | b[3]);
    else {
      const hi = ((b[0] << 24) >>> 0) + ((b[1] << 16) | (b[2] << 8) | b[3]);
      const lo = ((b[4] << 24) >>> 0) + ((b[5] << 16) | (b[6] << 8) | b[7]);
      value = hi < 0x200000 ? hi * 2 ** 32 + lo : (BigInt(hi) << 32n) | BigInt(lo);
    }
    if (value < (width === 1 ? 24 : 2 ** (4 * width))) this.nonShortest = true;
    return value;
  }

  length(info) {
    const n = this.argument(info);
    if (typeof n === "bigint" || n > this.data.length - this.pos)
      fail("E_CBOR", "malformed CBOR: length beyond the input");
    return n;
  }

  text(raw) {
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] >= 0x80) {
        try {
          return utf8(raw);
        } catch {
          return fail("E_CBOR", "malformed CBOR: invalid UTF-8 in a text string");
        }
      }
    }
    return raw.length < 64 ? String.fromCharCode(...raw) : utf8(raw);
  }

  /** Read one item enclosed by `depth` containers. */
  item(depth) {
    if (depth > this.maxDepth) fail("E_CBOR", `malformed CBOR: nesting deeper than ${this.maxDepth}`);
    const initial = this.byte();
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (info >= 28) {
      fail("E_CBOR", info === 31 ? "indefinite lengths are not allowed" : "malformed CBOR: reserved additional info");
    }
    switch (major) {
      case 0:
        return BigInt(this.argument(info));
      case 1:
        return -1n - BigInt(this.argument(info));
      case 2:
        return this.take(this.length(info)).slice();
      case 3:
        return this.text(this.take(this.length(info)));
      case 4: {
        const n = this.length(info);
        const out = [];
        for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5: {
        const n = this.length(info);
        const out = new Map();
        const seen = new Set();
        for (let i = 0; i < n; i++) {
          const key = this.item(depth + 1);
          if (isDuplicate(key, out, seen)) fail("E_CBOR", "malformed CBOR: duplicate map key");
          out.set(key, this.item(depth + 1));
        }
        return out;
      }
      case 6:
        fail("E_CBOR", "CBOR tags are not allowed here");
        break;
      default:
        return this.simple(info);
    }
    return undefined;
  }

  simple(info) {
    if (info === 20) return false;
    if (info === 21) return true;
    if (info === 22) return null;
    if (info === 23) return new Unsupported("undefined", 23);
    if (info < 20) return new Unsupported("simple", info);
    if (info === 24) {
      const value = this.byte();
      if (value < 32) fail("E_CBOR", "malformed CBOR: simple value in two bytes below 32");
      return new Unsupported("simple", value);
    }
    const bytes = this.take(info === 25 ? 2 : info === 26 ? 4 : 8);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const value = info === 25 ? half(view.getUint16(0)) : info === 26 ? view.getFloat32(0) : view.getFloat64(0);
    return new Unsupported("float", value);
  }
}

function half(bits) {
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

// ---- duplicate keys, compared as the reference decoder's Python values compare ---------------------------

function isDuplicate(key, map, seen) {
  if (typeof key === "bigint" || typeof key === "string") {
    if (seen.has(key)) return true; // a Set compares BigInts and strings by value
    seen.add(key);
    if (seen.size === map.size + 1) return false; // every earlier key was an integer or text: none is equal
  }
  for (const other of map.keys()) if (pyEqual(key, other)) return true;
  return false;
}

function integral(v) {
  if (typeof v === "bigint") return v;
  if (typeof v === "boolean") return v ? 1n : 0n;
  if (v instanceof Unsupported && v.kind === "simple") return BigInt(v.value);
  return null;
}

/** Equality of two decoded values as Python's == sees the objects cbor2 returns (for duplicate-key checks). */
function pyEqual(a, b) {
  const ia = integral(a);
  const ib = integral(b);
  const fa = a instanceof Unsupported && a.kind === "float" ? a.value : null;
  const fb = b instanceof Unsupported && b.kind === "float" ? b.value : null;
  const simpleA = a instanceof Unsupported && a.kind === "simple";
  const simpleB = b instanceof Unsupported && b.kind === "simple";
  if (ia !== null && ib !== null) return ia === ib;
  if (fa !== null && fb !== null) return fa === fb;
  if (fa !== null && ib !== null) return !simpleB && Number.isInteger(fa) && BigInt(fa) === ib;
  if (fb !== null && ia !== null) return !simpleA && Number.isInteger(fb) && BigInt(fb) === ia;
  if (a === null || b === null) return a === b;
  if (a instanceof Unsupported || b instanceof Unsupported) {
    return a instanceof Unsupported && b instanceof Unsupported && a.kind === b.kind && a.value === b.value;
  }
  if (typeof a === "string" || typeof b === "string") return a === b;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && compare(a, b) === 0;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => pyEqual(x, b[i]));
  }
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) {
      let found = false;
      for (const [k2, v2] of b) {
        if (pyEqual(k, k2)) {
          found = pyEqual(v, v2);
          break;
        }
      }
      if (!found) return false;
    }
    return true;
  }
  return false;
}

// ---- step 3: the data model and the key order ------------------------------------------------------------

/** Text below U+0300 is always NFC (no combining marks), which saves normalize() on most strings. */
const SIMPLE_TEXT = /^[\u0000-\u02ff]*$/;

export function isNfc(text) {
  return SIMPLE_TEXT.test(text) || text.normalize("NFC") === text;
}

function walk(value) {
  if (value === null || typeof value === "boolean" || value instanceof Uint8Array) return;
  if (typeof value === "bigint") {
    if (value < MIN_INT) fail("E_TYPE", "integer below -2**63 (outside the dCBOR range)");
    return;
  }
  if (typeof value === "string") {
    // Unicode 14.0's repertoire first (§2.1 rule 6): NFC of a later character may differ between versions.
    if (firstUnassigned(value) >= 0) fail("E_TYPE", "text holds a code point Unicode 14.0 does not assign");
    if (!isNfc(value)) fail("E_NONCANONICAL", "text is not NFC-normalised");
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) walk(item);
    return;
  }
  if (value instanceof Map) {
    let previous = null;
    for (const [k, v] of value) {
      if (typeof k !== "bigint" && typeof k !== "string") fail("E_TYPE", "map key is neither an integer nor text");
      walk(k);
      const order = keyOrder(k);
      if (previous !== null && compare(order, previous) <= 0) {
        fail("E_NONCANONICAL", "map keys are not in deterministic order");
      }
      previous = order;
      walk(v);
    }
    return;
  }
  fail("E_TYPE", `unsupported CBOR item (${value.kind})`);
}

/**
 * Decode one deterministic CBOR item from untrusted bytes (docs/format.md §2.2).
 *
 * @param {Uint8Array} data exactly one encoded item
 * @param {{maxSize: number, maxDepth: number}} limits the object's limits (§12)
 */
/**
 * Count the data items of one CBOR item without decoding it, refusing more than `maxItems` (E_SIZE): a walk over
 * the heads only, so a document of millions of tiny items costs in proportion to the budget before it is refused.
 * Malformed input is left to the decoder (the count stops where the bytes run out). The reference's count_items.
 */
export function countItems(data, maxItems) {
  const end = data.length;
  let pos = 0;
  let items = 0;
  let pending = 1; // Numbers: above 2^53 they are approximate, and then only "large" matters
  while (pending > 0 && pos < end) {
    pending -= 1;
    items += 1;
    if (items > maxItems) fail("E_SIZE", `more than ${maxItems} CBOR items`);
    const head = data[pos++];
    const major = head >> 5;
    const info = head & 0x1f;
    let arg = info;
    if (info >= 24 && info <= 27) {
      const width = 1 << (info - 24);
      arg = 0;
      for (let i = pos; i < Math.min(pos + width, end); i++) arg = arg * 256 + data[i];
      pos += width;
    } else if (info > 27) {
      return items; // indefinite or reserved: the decoder names it
    }
    if (major === 2 || major === 3) pos += arg;
    else if (major === 4) pending += arg;
    else if (major === 5) pending += 2 * arg;
    else if (major === 6) pending += 1;
  }
  return items;
}

/**
 * Decode one deterministic CBOR item from untrusted bytes (steps 1-4 above). `maxItems`, if given, is an item
 * budget counted before decoding (countItems).
 */
export function decode(data, { maxSize, maxDepth, maxItems = null }) {
  if (maxItems !== null && data.length <= maxSize) countItems(data, maxItems);
  if (data.length > maxSize) fail("E_SIZE", `${data.length} bytes exceeds the limit of ${maxSize}`);
  if (data.length === 0) fail("E_CBOR", "empty input");
  const reader = new Reader(data, maxDepth);
  const value = reader.item(0);
  walk(value);
  if (reader.nonShortest) fail("E_NONCANONICAL", "not deterministic CBOR (RFC 8949 §4.2.1)");
  if (reader.pos < data.length) fail("E_TRAILING", `${data.length - reader.pos} bytes after the CBOR item`);
  return value;
}

// ---- encoding ----------------------------------------------------------------------------------------------

class Writer {
  constructor() {
    this.buf = new Uint8Array(512);
    this.len = 0;
  }

  room(n) {
    if (this.len + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    bigger.set(this.buf.subarray(0, this.len));
    this.buf = bigger;
  }

  /** A head in its shortest form; `n` is a Number below 2^32 or a BigInt. */
  head(major, n) {
    const m = major << 5;
    const v = typeof n === "bigint" && n <= 0xffffffffn ? Number(n) : n;
    if (typeof v === "bigint") {
      this.bytes([m | 27]);
      for (let shift = 56n; shift >= 0n; shift -= 8n) this.bytes([Number((v >> shift) & 0xffn)]);
    } else if (v < 24) this.bytes([m | v]);
    else if (v < 0x100) this.bytes([m | 24, v]);
    else if (v < 0x10000) this.bytes([m | 25, v >> 8, v & 0xff]);
    else this.bytes([m | 26, v >>> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]);
  }

  bytes(b) {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  done() {
    return this.buf.slice(0, this.len);
  }
}

function write(w, value) {
  if (value === null) w.bytes([0xf6]);
  else if (value === false) w.bytes([0xf4]);
  else if (value === true) w.bytes([0xf5]);
  else if (typeof value === "number") write(w, BigInt(value));
  else if (typeof value === "bigint") {
    if (value >= 0n) w.head(0, value);
    else w.head(1, -1n - value);
  } else if (value instanceof Uint8Array) {
    w.head(2, value.length);
    w.bytes(value);
  } else if (typeof value === "string") {
    const bytes = utf8Bytes(value);
    w.head(3, bytes.length);
    w.bytes(bytes);
  } else if (Array.isArray(value)) {
    w.head(4, value.length);
    for (const item of value) write(w, item);
  } else if (value instanceof Map) {
    const keys = [...value.keys()].map((k) => [keyOrder(k), k]);
    keys.sort((x, y) => compare(x[0], y[0]));
    w.head(5, keys.length);
    for (const [order, k] of keys) {
      w.bytes(order);
      write(w, value.get(k));
    }
  } else throw new TypeError("cannot encode this value as deterministic CBOR");
}

/**
 * The deterministic encoding (RFC 8949 §4.2.1) of a value of the data model above (numbers are accepted as
 * integers). Map keys are sorted bytewise by their encodings.
 */
export function encode(value) {
  const w = new Writer();
  write(w, value);
  return w.done();
}

/** The head of a byte string of `length` bytes (major type 2, shortest form). */
export function bstrHead(length) {
  const w = new Writer();
  w.head(2, length);
  return w.done();
}

// Map keys are few and repeat (labels, data element names): their encodings are kept, in a bounded cache.
const keyOrders = new Map();

/** The sort key of a map key: its deterministic encoding (RFC 8949 §4.2.1). */
function keyOrder(key) {
  let order = keyOrders.get(key);
  if (order === undefined) {
    if (typeof key !== "bigint" && typeof key !== "string") return encode(key);
    const w = new Writer();
    write(w, key);
    order = w.done();
    if (keyOrders.size >= 4096) keyOrders.clear();
    if (order.length <= 72) keyOrders.set(key, order);
  }
  return order;
}
