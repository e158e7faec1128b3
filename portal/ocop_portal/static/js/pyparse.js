// What the reference implementation accepts as "parseable" certificate dates and quantities.
//
// docs/format.md §7.2 and §7.6 split refusals into E_FIELD (the text "does not parse", the number is "non-numeric")
// and E_NONCANONICAL (another spelling of a valid value), without saying which spellings parse. The reference
// decides with Python 3.11's date.fromisoformat (certificate dates) and decimal.Decimal (quantities), which accept
// more than the canonical forms (YYYYMMDD and ISO week dates; underscores, Unicode digits, exponents and white space
// in numbers). This module reproduces exactly that, so that both implementations give the same code; it goes when
// the specification defines the grammars (docs/js-verifier.md, the ambiguity list). Event times need none of it:
// the reference reads them with the strict profile of §7.4 (event.js).

import { codePoints, isPySpace, pyStrip, utf8Bytes } from "./util.js";

// ---- date.fromisoformat (CPython 3.11, Modules/_datetimemodule.c) -----------------------------------------
// The C code reads the UTF-8 bytes of the text, NUL-terminated; these functions do the same on a byte array with
// a 0 appended, so every read past a field stops where C stops.

const DASH = 0x2d;
const WEEK = 0x57; // 'W'

function isDigit(c) {
  return c >= 0x30 && c <= 0x39;
}

/** parse_digits: n ASCII digits at p, or null. */
function digits(b, p, n) {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = b[p + i] ?? 0;
    if (!isDigit(c)) return null;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

function isLeap(y) {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

const DAYS_BEFORE_MONTH = [0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

function daysInMonth(y, m) {
  return m === 2 && isLeap(y) ? 29 : [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m];
}

/** ymd_to_ord (C integer division truncates, as in the C code). */
function ordinal(y, m, d) {
  const p = y - 1;
  return (
    p * 365 +
    Math.trunc(p / 4) -
    Math.trunc(p / 100) +
    Math.trunc(p / 400) +
    DAYS_BEFORE_MONTH[m] +
    (m > 2 && isLeap(y) ? 1 : 0) +
    d
  );
}

function fromOrdinal(n) {
  const t = new Date((n - 719163) * 86400000); // ordinal 719163 is 1970-01-01
  return [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate()];
}

/** iso_to_ymd: an ISO week date as [year, month, day], or null. */
function isoWeekDate(year, week, day) {
  if (week <= 0 || week >= 53) {
    const firstWeekday = (ordinal(year, 1, 1) + 6) % 7;
    if (!(week === 53 && (firstWeekday === 3 || (firstWeekday === 2 && isLeap(year))))) return null;
  }
  if (day <= 0 || day >= 8) return null;
  const first = ordinal(year, 1, 1);
  const firstWeekday = (first + 6) % 7;
  const monday = first - firstWeekday + (firstWeekday > 3 ? 7 : 0);
  return fromOrdinal(monday + (week - 1) * 7 + day - 1);
}

/** parse_isoformat_date: [year, month, day] (not yet range-checked), or null. */
function parseDate(b, len) {
  const year = digits(b, 0, 4);
  if (year === null) return null;
  let p = 4;
  const sep = b[p] === DASH;
  if (sep) p++;
  if (b[p] === WEEK) {
    p++;
    const week = digits(b, p, 2);
    if (week === null) return null;
    p += 2;
    let day = 1;
    if (p < len) {
      if (sep && b[p++] !== DASH) return null;
      day = digits(b, p, 1);
      if (day === null) return null;
    }
    return isoWeekDate(year, week, day);
  }
  const month = digits(b, p, 2);
  if (month === null) return null;
  p += 2;
  if (sep && b[p++] !== DASH) return null;
  const day = digits(b, p, 2);
  return day === null ? null : [year, month, day];
}

function validDate([y, m, d]) {
  return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);
}

/** date.fromisoformat(text): [y, m, d] or null when Python raises ValueError. */
export function pyDate(text) {
  const bytes = utf8Bytes(text);
  if (![7, 8, 10].includes(bytes.length)) return null;
  const b = new Uint8Array(bytes.length + 1);
  b.set(bytes);
  const date = parseDate(b, bytes.length);
  return date !== null && validDate(date) ? date : null;
}

// ---- decimal.Decimal(text.strip()) and its normalisation ----------------------------------------------------

const MAX_EMAX = 999999999999999999n; // libmpdec limits on a decimal's exponent (64-bit build)
const MIN_ETINY = -1999999999999999997n;
const PRECISION = 28; // the default context: normalize() rounds to 28 digits, half to even
const MAX_TEXT = 64; // longer quantity text is refused before it is parsed
const MAX_ADJUSTED = 30n; // and a non-zero value whose adjusted exponent is beyond ±30 once it is
const NUMBER = /^([+-]?)(?:(\d+)\.?(\d*)|\.(\d+))(?:[eE]([+-]?\d+))?$/;
const ND = /^\p{Nd}$/u;
const CANONICAL = /^(0|[1-9][0-9]{0,17})(\.[0-9]{0,8}[1-9])?$/;

/** What Decimal's C constructor reads after stripping: underscores dropped, Unicode spaces and digits as ASCII. */
function decimalAscii(text) {
  let out = "";
  for (const ch of text) {
    const c = ch.codePointAt(0);
    if (ch === "_") continue;
    if (c > 0 && c <= 127) out += ch;
    else if (isPySpace(ch)) out += " ";
    else if (ND.test(ch)) out += String(decimalDigit(c));
    else return "";
  }
  return out;
}

/** The value of a Unicode decimal digit: Nd characters come in runs of ten, 0 to 9 (a Unicode stability rule). */
function decimalDigit(c) {
  let before = 0;
  while (ND.test(String.fromCodePoint(c - before - 1))) before++;
  return before % 10;
}

function roundHalfEven(coefficient, drop) {
  const scale = 10n ** drop;
  let q = coefficient / scale;
  const r = coefficient % scale;
  if (2n * r > scale || (2n * r === scale && q % 2n === 1n)) q += 1n;
  return q;
}

/**
 * The reference's quantity rule (_fields.quantity) on wire text or an integer: {ok: true, text} with the canonical
 * spelling it would write (compared later, E_NONCANONICAL), or {ok: false} when it refuses the value (E_FIELD).
 */
export function pyQuantity(value) {
  if (typeof value === "string" && CANONICAL.test(value)) return { ok: true, text: value };
  if (typeof value === "string" && codePoints(value) > MAX_TEXT) return { ok: false };
  const m = NUMBER.exec(decimalAscii(pyStrip(String(value)))); // NaN and infinities are refused like any syntax
  if (m === null) return { ok: false };
  const [, sign, whole = "", fraction = "", only, exponent = "0"] = m;
  const fractionDigits = only ?? fraction;
  let coefficient = BigInt((only === undefined ? whole : "") + fractionDigits || "0");
  let exp = BigInt(exponent) - BigInt(fractionDigits.length);
  const length = BigInt(coefficient === 0n ? 1 : coefficient.toString().length);
  if (exp + length - 1n > MAX_EMAX || exp < MIN_ETINY) return { ok: false }; // Decimal() itself refuses it
  if (coefficient === 0n) return { ok: true, text: "0" };
  if (sign === "-") return { ok: false };
  const adjusted = exp + length - 1n;
  if (adjusted > MAX_ADJUSTED || adjusted < -MAX_ADJUSTED) return { ok: false };
  // normalize(): round to 28 significant digits, then drop trailing zeros.
  const excess = coefficient.toString().length - PRECISION;
  if (excess > 0) {
    coefficient = roundHalfEven(coefficient, BigInt(excess));
    exp += BigInt(excess);
  }
  while (coefficient % 10n === 0n) {
    coefficient /= 10n;
    exp += 1n;
  }
  const digitsText = coefficient.toString();
  let out;
  if (exp >= 0n) out = digitsText + "0".repeat(Number(exp));
  else {
    const point = digitsText.length + Number(exp);
    out =
      point > 0 ? `${digitsText.slice(0, point)}.${digitsText.slice(point)}` : `0.${"0".repeat(-point)}${digitsText}`;
  }
  return CANONICAL.test(out) ? { ok: true, text: out } : { ok: false };
}
