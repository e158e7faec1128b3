// Byte and text helpers shared by the verifier modules (no dependencies, browser and Node 20).

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Strict UTF-8 decoding: throws a TypeError on invalid input; a leading U+FEFF is kept, never stripped. */
export function utf8(bytes) {
  return utf8Decoder.decode(bytes);
}

export function utf8Bytes(text) {
  return utf8Encoder.encode(text);
}

export function hex(bytes) {
  let out = "";
  for (const b of bytes) out += (b < 16 ? "0" : "") + b.toString(16);
  return out;
}

export function fromHex(text) {
  if (typeof text !== "string" || text.length % 2 || /[^0-9a-fA-F]/.test(text)) {
    throw new TypeError("expected hex text");
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
  return out;
}

export function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function equal(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Bytewise lexicographic comparison: negative, zero or positive. */
export function compare(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

export function startsWith(bytes, prefix) {
  return bytes.length >= prefix.length && equal(bytes.subarray(0, prefix.length), prefix);
}

/** Accepts a Uint8Array, an ArrayBuffer or a view and returns a Uint8Array over the same bytes. */
export function asBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("expected bytes (Uint8Array or ArrayBuffer)");
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** Number of Unicode code points (Python's len of a str). */
export function codePoints(text) {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff || i + 1 === text.length) n++;
    else {
      const d = text.charCodeAt(i + 1);
      n++;
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
  }
  return n;
}

// Python's str.isspace (what str.strip removes): the Unicode White_Space characters plus U+001C..U+001F.
// JavaScript's trim differs (it removes U+FEFF and keeps U+001C..U+001F and U+0085).
const PY_SPACE = /^[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/u;

export function isPySpace(ch) {
  return PY_SPACE.test(ch);
}

/** Python's str.strip() with no argument. */
export function pyStrip(text) {
  if (text === "" || (!isPySpace(text[0]) && !isPySpace(text[text.length - 1]))) return text;
  const chars = Array.from(text);
  let a = 0;
  let b = chars.length;
  while (a < b && isPySpace(chars[a])) a++;
  while (b > a && isPySpace(chars[b - 1])) b--;
  return chars.slice(a, b).join("");
}
