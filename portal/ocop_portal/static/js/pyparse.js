// What the reference implementation accepts as "parseable" times, dates and quantities.
//
// docs/format.md §7.4 and §7.6 split refusals into E_FIELD (the text "does not parse", the number is "non-numeric")
// and E_NONCANONICAL (another spelling of a valid value), without saying which spellings parse. The reference
// decides with Python 3.11's datetime.fromisoformat, date.fromisoformat and decimal.Decimal, which accept far more
// than RFC 3339 (any separator character, basic formats, ISO week dates, "Z", fractions of any length; underscores,
// Unicode digits and exponents in numbers). This module reproduces exactly that, so that both implementations give
// the same code; it goes away when the specification defines the grammar (docs/js-verifier.md, the ambiguity list).

import { isPySpace, pyStrip, utf8Bytes } from "./util.js";

// ---- datetime.fromisoformat / date.fromisoformat (CPython 3.11, Modules/_datetimemodule.c) -----------------
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

/** _find_isoformat_datetime_separator: where the date ends. */
function separatorAt(b, len) {
  if (len === 7) return 7;
  if (b[4] === DASH) {
    if (b[5] !== WEEK) return 10;
    if (len < 8) return -1;
    if (len > 8 && b[8] === DASH) {
      if (len === 9) return -1;
      return len > 10 && isDigit(b[10]) ? 8 : 10;
    }
    return 8;
  }
  if (b[4] !== WEEK) return 8;
  let i = 7;
  while (i < len && isDigit(b[i])) i++;
  if (i < 9) return i;
  return i % 2 === 0 ? 7 : 8;
}

/** parse_hh_mm_ss_ff: {rv, values: [h, m, s, us]}, rv < 0 on failure, 1 when something follows. */
function parseClock(b, p, end) {
  const values = [0, 0, 0, 0];
  let sep = true;
  let i = 0;
  for (; i < 3; i++) {
    const v = digits(b, p, 2);
    if (v === null) return { rv: -3 };
    values[i] = v;
    p += 2;
    const c = b[p++] ?? 0;
    if (i === 0) sep = c === 0x3a;
    if (p >= end) return { rv: c !== 0 ? 1 : 0, values };
    if (sep && c === 0x3a) continue;
    if (c === 0x2e || c === 0x2c) break;
    if (!sep) p--;
    else return { rv: -4 };
  }
  const count = Math.min(end - p, 6);
  const us = digits(b, p, count);
  if (us === null) return { rv: -3 };
  values[3] = us * 10 ** (6 - count);
  p += count;
  while (isDigit(b[p] ?? 0)) p++;
  return { rv: (b[p] ?? 0) !== 0 ? 1 : 0, values };
}

/** parse_isoformat_time: {rv, clock, offset: [seconds, microseconds]}, rv < 0 on failure, 1 with an offset. */
function parseTime(b, p, len) {
  const end = p + len;
  let tz = p;
  do {
    const c = b[tz];
    if (c === 0x5a || c === 0x2b || c === DASH) break;
  } while (++tz < end);
  const clock = parseClock(b, p, tz);
  if (clock.rv < 0) return clock;
  if (tz === end) return clock.rv === 1 ? { rv: -5 } : { rv: 0, clock: clock.values };
  if (b[tz] === 0x5a) return (b[tz + 1] ?? 0) !== 0 ? { rv: -5 } : { rv: 1, clock: clock.values, offset: [0, 0] };
  const sign = b[tz] === DASH ? -1 : 1;
  const zone = parseClock(b, tz + 1, end);
  if (zone.rv < 0) return { rv: -5 };
  const [h, m, s, us] = zone.values;
  return zone.rv ? { rv: -5 } : { rv: 1, clock: clock.values, offset: [sign * (h * 3600 + m * 60 + s), sign * us] };
}

/**
 * datetime.fromisoformat(text): null when Python raises ValueError, else {date: [y, m, d], clock: [h, mi, s, us],
 * offset: microseconds east of UTC or null (naive)}.
 */
export function pyDatetime(text) {
  if ([...text].length < 7) return null;
  const bytes = utf8Bytes(text);
  const len = bytes.length;
  const b = new Uint8Array(len + 1);
  b.set(bytes);
  const at = separatorAt(b, len);
  if (at < 0) return null;
  const date = parseDate(b, at);
  if (date === null) return null;
  let time = { rv: 0, clock: [0, 0, 0, 0] };
  if (len > at) {
    const lead = b[at];
    const p = at + (lead < 0x80 ? 1 : (lead & 0xf0) === 0xe0 ? 3 : (lead & 0xf0) === 0xf0 ? 4 : 2);
    time = parseTime(b, p, len - p);
  }
  if (time.rv < 0 || !validDate(date)) return null;
  const [h, mi, s] = time.clock;
  if (h > 23 || mi > 59 || s > 59) return null;
  let offset = null;
  if (time.rv === 1) {
    const [seconds, micro] = time.offset;
    offset = seconds === 0 ? 0 : seconds * 1e6 + micro; // a zero seconds part is UTC, whatever the fraction
    if (Math.abs(offset) >= 86400e6) return null;
  }
  return { date, clock: time.clock, offset };
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
const CONTEXT_EMAX = 999999n;
const CONTEXT_ETINY = -999999n - BigInt(PRECISION) + 1n;
const NUMBER = /^([+-]?)(?:(\d+)\.?(\d*)|\.(\d+))(?:[eE]([+-]?\d+))?$/;
const ND = /^\p{Nd}$/u;

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
 * canonical_quantity's reading of wire text: {ok: true, text} with the canonical spelling Python would write
 * (compared later, E_NONCANONICAL), or {ok: false} when Python refuses the value (E_FIELD).
 */
export function pyQuantity(text) {
  const m = NUMBER.exec(decimalAscii(pyStrip(text))); // NaN and infinities are refused like any other syntax
  if (m === null) return { ok: false };
  const [, sign, whole = "", fraction = "", only, exponent = "0"] = m;
  const fractionDigits = only ?? fraction;
  let coefficient = BigInt((only === undefined ? whole : "") + fractionDigits || "0");
  let exp = BigInt(exponent) - BigInt(fractionDigits.length);
  const length = coefficient === 0n ? 1 : coefficient.toString().length;
  if (exp + BigInt(length) - 1n > MAX_EMAX || exp < MIN_ETINY) return { ok: false };
  if (coefficient === 0n) return { ok: true, text: "0" };
  if (sign === "-") return { ok: false };
  // normalize(): round to the context (subnormal values lose digits at Etiny), then drop trailing zeros.
  if (exp < CONTEXT_ETINY) {
    coefficient = roundHalfEven(coefficient, CONTEXT_ETINY - exp);
    exp = CONTEXT_ETINY;
    if (coefficient === 0n) return { ok: true, text: "0" };
  }
  const excess = coefficient.toString().length - PRECISION;
  if (excess > 0) {
    coefficient = roundHalfEven(coefficient, BigInt(excess));
    exp += BigInt(excess);
  }
  if (exp + BigInt(coefficient.toString().length) - 1n > CONTEXT_EMAX) return { ok: false }; // Python: Overflow
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
  return /^(0|[1-9][0-9]{0,17})(\.[0-9]{0,8}[1-9])?$/.test(out) ? { ok: true, text: out } : { ok: false };
}
